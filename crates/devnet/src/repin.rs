//! `bulwark devnet repin`: which host of share 2, `cosigner-2` or `cosigner-standby`,
//! one of the other cosigners pins. Its config is written again with that host's link
//! key and address, and it is restarted when it runs, so that from then on it refuses
//! the other host's links. This is the devnet's stand-in for the config change and
//! restart an operator's failover config names as the door command of a cosigner's
//! replacement (`bulwark threshold repin` on a real host).

use crate::cosigner::{self, STANDBY, STANDBY_SHARE};
use crate::error::{DevnetError, Result};
use crate::manifest::{self, Manifest, SignerMode};
use crate::process;
use serde::Serialize;
use std::path::Path;
use std::time::Duration;

/// What `repin` did.
#[derive(Debug, Clone, Serialize)]
pub struct RepinReport {
    /// The cosigner whose pin changed.
    pub peer: String,
    /// The host of share 2 it pins now.
    pub pins: String,
    /// The link public key it pins for share 2.
    pub link_public_key: String,
    /// Whether it was running and was restarted to take the change.
    pub restarted: bool,
}

/// Make `peer` pin `to` (`cosigner-2` or `cosigner-standby`) for share 2.
pub fn repin(dir: &Path, peer: &str, to: &str, bulwark: &Path) -> Result<RepinReport> {
    let dir = manifest::absolute(dir);
    let mut m = Manifest::load(&dir)?;
    if m.signer != SignerMode::Threshold {
        return Err(DevnetError::InvalidOption(format!(
            "this devnet's val0 signs with `{}`; repin is for a devnet made with --signer threshold",
            m.signer.as_str()
        )));
    }
    let peers: Vec<String> = cosigner::ids()
        .filter(|i| *i != STANDBY_SHARE)
        .map(cosigner::name)
        .collect();
    if !peers.iter().any(|p| p == peer) {
        return Err(DevnetError::InvalidOption(format!(
            "--peer {peer}: the cosigners that pin share {STANDBY_SHARE}'s host are {}",
            peers.join(" and ")
        )));
    }
    let holders = [cosigner::name(STANDBY_SHARE), STANDBY.to_string()];
    if !holders.iter().any(|h| h == to) {
        return Err(DevnetError::InvalidOption(format!(
            "--to {to}: share {STANDBY_SHARE} is held by {} or {}",
            holders[0], holders[1]
        )));
    }
    m.cosigner_pins
        .get_or_insert_with(Default::default)
        .insert(peer.to_string(), to.to_string());
    m.save(&dir)?;
    cosigner::setup(&dir, &m, bulwark)?;
    let config = cosigner::config_of(&dir, peer);
    let restarted = process::stop(&dir, peer, &config, Duration::from_secs(10));
    if restarted {
        process::start(&dir, &cosigner::spec_of(&dir, peer, bulwark))?;
    }
    let key_path = cosigner::dir_of(&dir, to).join("link.key");
    let key = threshold::link::LinkKey::load(&key_path).map_err(|e| DevnetError::Threshold {
        what: format!("reading {}", key_path.display()),
        reason: e.to_string(),
    })?;
    Ok(RepinReport {
        peer: peer.into(),
        pins: to.into(),
        link_public_key: key.public().to_string(),
        restarted,
    })
}

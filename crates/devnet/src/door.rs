//! `bulwark devnet door`: which of the two devnet signers (`signer`, `signer-backup`) a
//! val0 node lets in. Each side has its own port at the node (and, on `noise://`, its
//! own pinned peer ID), so closing the door to one side means a returning old signer
//! dials a port nobody listens on. This is the devnet's stand-in for the firewall rule
//! or `priv_validator_laddr` change an operator's failover config names as its door
//! command.

use crate::error::{DevnetError, Result};
use crate::manifest::{self, Manifest, SignerMode, SignerSide};
use crate::{signer, topology};
use serde::Serialize;
use std::path::Path;
use std::time::Duration;

/// What `door` did.
#[derive(Debug, Clone, Serialize)]
pub struct DoorReport {
    /// The node.
    pub node: String,
    /// The signer it lets in now.
    pub open_to: String,
    /// Its `priv_validator_laddr` port now.
    pub port: u16,
    /// Whether the node was running and was stopped: it reads the change only at start,
    /// and cannot start before the signer it lets in is up (`bulwark devnet up` starts
    /// that signer first, then the node).
    pub stopped: bool,
}

/// Open `node`'s door to `to` only, and stop the node if it runs (its old port closes
/// with it).
pub fn door(dir: &Path, node: &str, to: SignerSide, bulwark: &Path) -> Result<DoorReport> {
    let dir = manifest::absolute(dir);
    let mut m = Manifest::load(&dir)?;
    if m.signer != SignerMode::Bulwark {
        return Err(DevnetError::InvalidOption(format!(
            "this devnet's val0 signs with `{}`; doors are for a devnet made with --signer bulwark",
            m.signer.as_str()
        )));
    }
    let n = m.node(node)?.clone();
    if !topology::is_operator_node(&n) {
        return Err(DevnetError::InvalidOption(format!(
            "{node} is not one of val0's nodes; only they have a signer door"
        )));
    }
    let mut changed = n.clone();
    changed.door = to;
    let port = changed.door_port().ok_or_else(|| {
        DevnetError::Mismatch(format!(
            "node {node} has no port for {} (this devnet was made before standby signers; destroy and recreate it)",
            to.name()
        ))
    })?;
    if let Some(slot) = m.nodes.iter_mut().find(|x| x.name == node) {
        *slot = changed.clone();
    }
    signer::write_door(&dir, &m, bulwark, &changed)?;
    m.save(&dir)?;
    // A node without its signer is stuck in its own votes and slow to stop cleanly; its
    // WAL makes a kill after a short grace safe.
    let stopped = crate::process::stop_node(&dir, &changed, Duration::from_secs(3));
    Ok(DoorReport {
        node: node.into(),
        open_to: to.name().into(),
        port,
        stopped,
    })
}

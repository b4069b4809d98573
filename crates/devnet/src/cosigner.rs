//! val0's threshold signer when the devnet runs one (`--signer threshold`): val0's key
//! split into 2-of-3 FROST shares, one `bulwark signer` cosigner process per share
//! (`cosigner-1` .. `cosigner-3`), each with its own link key, sign state and config,
//! each serving both val0 nodes. Any two cosigners sign; one can be stopped for drills.

use crate::error::{DevnetError, Result};
use crate::generate::key_path;
use crate::manifest::{Manifest, SignerMode};
use crate::process::{self, Spec};
use crate::topology::{self, OPERATOR};
use signer::config::{
    Addr, ChainConfig, Config, MetricsConfig, NodeConfig, PeerConfig, ThresholdConfig,
};
use std::path::{Path, PathBuf};
use threshold::link::{LinkKey, LinkPublic};

/// Shares needed to sign.
pub const THRESHOLD: u16 = 2;
/// Cosigners (shares).
pub const COSIGNERS: u16 = 3;

/// Process name of cosigner `id` (`run/cosigner-<id>.pid`, `logs/cosigner-<id>.log`).
pub fn name(id: u16) -> String {
    format!("cosigner-{id}")
}

/// The cosigner ids, 1..=3.
pub fn ids() -> impl Iterator<Item = u16> {
    1..=COSIGNERS
}

/// The id of a cosigner process name, if it is one.
pub fn id_of(name: &str) -> Option<u16> {
    let id: u16 = name.strip_prefix("cosigner-")?.parse().ok()?;
    ids().any(|i| i == id).then_some(id)
}

/// Cosigner `id`'s directory.
pub fn cosigner_dir(dir: &Path, id: u16) -> PathBuf {
    dir.join("cosigners").join(name(id))
}

/// Cosigner `id`'s config file.
pub fn config_path(dir: &Path, id: u16) -> PathBuf {
    cosigner_dir(dir, id).join("signer.toml")
}

/// Cosigner `id`'s share of val0's key.
pub fn share_path(dir: &Path, id: u16) -> PathBuf {
    cosigner_dir(dir, id).join("share.json")
}

/// Cosigner `id`'s link key.
pub fn link_key_path(dir: &Path, id: u16) -> PathBuf {
    cosigner_dir(dir, id).join("link.key")
}

/// Cosigner `id`'s sign state for val0's share.
pub fn state_path(dir: &Path, id: u16) -> PathBuf {
    cosigner_dir(dir, id).join("val0.state")
}

fn base_port(manifest: &Manifest) -> u16 {
    manifest.nodes[0].p2p_port
}

/// Port cosigner `id` listens on for its peers.
pub fn listen_port(manifest: &Manifest, id: u16) -> u16 {
    topology::cosigner_port(manifest.validators.len(), base_port(manifest), id)
}

/// Port of cosigner `id`'s `/metrics`.
pub fn metrics_port(manifest: &Manifest, id: u16) -> u16 {
    topology::cosigner_metrics_port(manifest.validators.len(), base_port(manifest), id)
}

/// Whether this devnet runs threshold cosigners for val0.
pub fn runs_cosigners(manifest: &Manifest) -> bool {
    manifest.signer == SignerMode::Threshold
}

fn err(what: impl Into<String>, reason: impl ToString) -> DevnetError {
    DevnetError::Threshold {
        what: what.into(),
        reason: reason.to_string(),
    }
}

/// Make what the cosigners need and is missing: the shares (split from val0's key file,
/// once), a link key each, a sign state each (created with `bulwark`, as for the single
/// signer); then write every config. Safe to run again: nothing existing is replaced
/// but the configs.
pub fn setup(dir: &Path, manifest: &Manifest, bulwark: &Path) -> Result<()> {
    for id in ids() {
        let d = cosigner_dir(dir, id);
        std::fs::create_dir_all(&d).map_err(|e| DevnetError::io(&d, e))?;
    }
    make_shares(dir)?;
    let mut publics = Vec::new();
    for id in ids() {
        let path = link_key_path(dir, id);
        if !path.exists() {
            LinkKey::generate()
                .write_new(&path)
                .map_err(|e| err(format!("writing {}", path.display()), e))?;
        }
        let key =
            LinkKey::load(&path).map_err(|e| err(format!("reading {}", path.display()), e))?;
        publics.push(key.public());
    }
    for id in ids() {
        write_config(dir, manifest, id, &publics)?;
        let state = state_path(dir, id);
        if !state.exists() {
            crate::signer::init_state(bulwark, &manifest.chain_id, &state)?;
        }
    }
    Ok(())
}

/// Split val0's key into the shares, unless all are there already.
fn make_shares(dir: &Path) -> Result<()> {
    let present: Vec<u16> = ids().filter(|id| share_path(dir, *id).exists()).collect();
    if present.len() == usize::from(COSIGNERS) {
        return Ok(());
    }
    if !present.is_empty() {
        return Err(err(
            "shares",
            format!(
                "only some of the share files are in {} (ids {present:?}); a new split would \
                 not match them. Move the cosigners directory away and run `up` again",
                dir.join("cosigners").display()
            ),
        ));
    }
    let key = key_path(dir, OPERATOR);
    let bytes = zeroize::Zeroizing::new(std::fs::read(&key).map_err(|e| DevnetError::io(&key, e))?);
    let shares = threshold::split::split(&bytes, THRESHOLD, COSIGNERS)
        .map_err(|e| err(format!("splitting {}", key.display()), e))?;
    for share in &shares {
        let path = share_path(dir, share.id());
        share
            .write_new(&path)
            .map_err(|e| err(format!("writing {}", path.display()), e))?;
    }
    Ok(())
}

fn write_config(dir: &Path, manifest: &Manifest, id: u16, publics: &[LinkPublic]) -> Result<()> {
    let nodes = manifest
        .nodes
        .iter()
        .filter(|n| topology::is_operator_node(n))
        .map(|n| NodeConfig {
            name: n.name.clone(),
            addr: Addr::Tcp(format!(
                "127.0.0.1:{}",
                n.signer_port.expect("val0 nodes have a signer port")
            )),
        })
        .collect();
    let mut chain = ChainConfig::new(
        &manifest.chain_id,
        share_path(dir, id),
        state_path(dir, id),
        manifest.line,
        nodes,
    );
    chain.key = None;
    chain.share = Some(share_path(dir, id));
    chain.rpc = crate::signer::rpc_urls(manifest);
    let peers = ids()
        .filter(|p| *p != id)
        .map(|p| PeerConfig {
            id: p,
            name: name(p),
            addr: ([127, 0, 0, 1], listen_port(manifest, p)).into(),
            link_public_key: publics[usize::from(p - 1)],
        })
        .collect();
    let config = Config {
        connection_key: None,
        metrics: Some(MetricsConfig {
            listen: ([127, 0, 0, 1], metrics_port(manifest, id)).into(),
        }),
        threshold: Some(ThresholdConfig {
            id,
            listen: ([127, 0, 0, 1], listen_port(manifest, id)).into(),
            link_key: link_key_path(dir, id),
            share_timeout: std::time::Duration::from_millis(1500),
            peers,
        }),
        chains: vec![chain],
        skip_chain_checks: false,
        vault: None,
        audit_log: None,
    };
    let text = format!(
        "# Cosigner {id} of val0's {THRESHOLD}-of-{COSIGNERS} threshold signer, written by \
         `bulwark devnet up`.\n\n{}",
        config.to_toml()
    );
    let cfg = config_path(dir, id);
    std::fs::write(&cfg, text).map_err(|e| DevnetError::io(&cfg, e))
}

/// How to run cosigner `id`.
pub fn spec(dir: &Path, id: u16, bulwark: &Path) -> Spec {
    Spec::bulwark(&name(id), "signer", config_path(dir, id), bulwark)
}

/// Cosigner `id`'s pid when it runs.
pub fn pid(dir: &Path, id: u16) -> Option<u32> {
    process::running_pid(dir, &name(id), &config_path(dir, id))
}

/// Stop cosigner `id` if it runs.
pub fn stop(dir: &Path, id: u16, grace: std::time::Duration) -> bool {
    process::stop(dir, &name(id), &config_path(dir, id), grace)
}

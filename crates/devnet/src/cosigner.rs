//! val0's threshold signer when the devnet runs one (`--signer threshold`): val0's key
//! split into 2-of-3 FROST shares, one `bulwark signer` cosigner process per share
//! (`cosigner-1` .. `cosigner-3`), each with its own link key, sign state and config,
//! each serving both val0 nodes. Any two cosigners sign; one can be stopped for drills.
//! On the v0.40 line the nodes take only authenticated `noise://` signers, each pinned to
//! one peer ID: the cosigners share the primary side's connection key, the one identity
//! the nodes' door lets in, and each pins the nodes' own peer IDs.
//!
//! A fourth process, `cosigner-standby`, is a second host for share 2 with a link key of
//! its own, for drills of a cosigner's replacement. `up` starts it instead of
//! `cosigner-2` once both other cosigners pin it (`bulwark devnet repin`, the devnet's
//! door command for that failover), and starts neither while they disagree.

use crate::error::{DevnetError, Result};
use crate::generate::key_path;
use crate::manifest::{Manifest, SignerMode};
use crate::process::{self, Spec};
use crate::topology::{self, OPERATOR};
use signer::config::{ChainConfig, Config, MetricsConfig, NodeConfig, PeerConfig, ThresholdConfig};
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

/// The standby host of share [`STANDBY_SHARE`].
pub const STANDBY: &str = "cosigner-standby";
/// The share the standby holds a copy of.
pub const STANDBY_SHARE: u16 = 2;

/// Every cosigner process name: `cosigner-1` .. `cosigner-3`, then the standby.
pub fn process_names() -> Vec<String> {
    ids().map(name).chain([STANDBY.to_string()]).collect()
}

/// The share id a cosigner process holds (`cosigner-N` or the standby).
pub fn share_of(process: &str) -> Option<u16> {
    if process == STANDBY {
        Some(STANDBY_SHARE)
    } else {
        id_of(process)
    }
}

/// A cosigner process's directory.
pub fn dir_of(dir: &Path, process: &str) -> PathBuf {
    dir.join("cosigners").join(process)
}

/// Cosigner `id`'s directory.
pub fn cosigner_dir(dir: &Path, id: u16) -> PathBuf {
    dir_of(dir, &name(id))
}

/// A cosigner process's config file.
pub fn config_of(dir: &Path, process: &str) -> PathBuf {
    dir_of(dir, process).join("signer.toml")
}

/// Cosigner `id`'s config file.
pub fn config_path(dir: &Path, id: u16) -> PathBuf {
    config_of(dir, &name(id))
}

/// Cosigner `id`'s share of val0's key.
pub fn share_path(dir: &Path, id: u16) -> PathBuf {
    cosigner_dir(dir, id).join("share.json")
}

/// Cosigner `id`'s link key.
pub fn link_key_path(dir: &Path, id: u16) -> PathBuf {
    cosigner_dir(dir, id).join("link.key")
}

/// A cosigner process's sign state for val0's share.
pub fn state_of(dir: &Path, process: &str) -> PathBuf {
    dir_of(dir, process).join("val0.state")
}

/// Cosigner `id`'s sign state for val0's share.
pub fn state_path(dir: &Path, id: u16) -> PathBuf {
    state_of(dir, &name(id))
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

/// A cosigner process's link port and metrics port.
pub fn ports_of(manifest: &Manifest, process: &str) -> Option<(u16, u16)> {
    if process == STANDBY {
        let (v, b) = (manifest.validators.len(), base_port(manifest));
        return Some((
            topology::standby_cosigner_port(v, b),
            topology::standby_cosigner_metrics_port(v, b),
        ));
    }
    id_of(process).map(|id| (listen_port(manifest, id), metrics_port(manifest, id)))
}

/// The process that holds share `id` for the cosigner `peer`: the standby when `peer`
/// pins it (after `repin`), else `cosigner-<id>`.
pub fn pinned_by(manifest: &Manifest, peer: &str, id: u16) -> String {
    match &manifest.cosigner_pins {
        Some(p) if id == STANDBY_SHARE && p.get(peer).is_some_and(|h| h == STANDBY) => {
            STANDBY.into()
        }
        _ => name(id),
    }
}

/// The process `up` runs for share [`STANDBY_SHARE`]: the one every other cosigner pins,
/// or none while they disagree (a failover half-way).
pub fn slot_holder(manifest: &Manifest) -> Option<String> {
    let mut pins = ids()
        .filter(|i| *i != STANDBY_SHARE)
        .map(|i| pinned_by(manifest, &name(i), STANDBY_SHARE));
    let first = pins.next()?;
    pins.all(|p| p == first).then_some(first)
}

/// The cosigner processes `up` starts, in share order.
pub fn to_start(manifest: &Manifest) -> Vec<String> {
    let holder = slot_holder(manifest);
    ids()
        .filter_map(|i| {
            if i == STANDBY_SHARE {
                holder.clone()
            } else {
                Some(name(i))
            }
        })
        .collect()
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
    let standby = setup_standby(dir)?;
    let connection_key = if crate::signer::noise(manifest) {
        let key = crate::signer::primary_connection_key(dir, bulwark)?;
        for n in manifest
            .nodes
            .iter()
            .filter(|n| topology::is_operator_node(n))
        {
            crate::signer::write_door(dir, manifest, bulwark, n)?;
        }
        Some(key)
    } else {
        None
    };
    let holders = Holders {
        publics: &publics,
        standby,
    };
    for process in process_names() {
        write_config(
            dir,
            manifest,
            bulwark,
            &process,
            &holders,
            connection_key.clone(),
        )?;
        let state = state_of(dir, &process);
        if !state.exists() {
            crate::signer::init_state(bulwark, &manifest.chain_id, &state)?;
        }
    }
    Ok(())
}

/// The standby's directory, its copy of share 2 and its own link key; its public key.
fn setup_standby(dir: &Path) -> Result<LinkPublic> {
    let d = dir_of(dir, STANDBY);
    std::fs::create_dir_all(&d).map_err(|e| DevnetError::io(&d, e))?;
    let share = d.join("share.json");
    if !share.exists() {
        let from = share_path(dir, STANDBY_SHARE);
        let s = threshold::share::Share::load(&from)
            .map_err(|e| err(format!("reading {}", from.display()), e))?;
        s.write_new(&share)
            .map_err(|e| err(format!("writing {}", share.display()), e))?;
    }
    let key = d.join("link.key");
    if !key.exists() {
        LinkKey::generate()
            .write_new(&key)
            .map_err(|e| err(format!("writing {}", key.display()), e))?;
    }
    LinkKey::load(&key)
        .map(|k| k.public())
        .map_err(|e| err(format!("reading {}", key.display()), e))
}

/// The link public keys of the three cosigners and the standby's.
struct Holders<'a> {
    publics: &'a [LinkPublic],
    standby: LinkPublic,
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

fn write_config(
    dir: &Path,
    manifest: &Manifest,
    bulwark: &Path,
    process: &str,
    holders: &Holders<'_>,
    connection_key: Option<PathBuf>,
) -> Result<()> {
    let id = share_of(process).expect("a cosigner process");
    let (listen, metrics) = ports_of(manifest, process).expect("a cosigner process");
    let mut nodes = Vec::new();
    for n in manifest
        .nodes
        .iter()
        .filter(|n| topology::is_operator_node(n))
    {
        let port = n.signer_port.expect("val0 nodes have a signer port");
        nodes.push(NodeConfig {
            name: n.name.clone(),
            addr: crate::signer::node_addr(dir, manifest, bulwark, n, port)?,
        });
    }
    let share = dir_of(dir, process).join("share.json");
    let mut chain = ChainConfig::new(
        &manifest.chain_id,
        share.clone(),
        state_of(dir, process),
        manifest.line,
        nodes,
    );
    chain.key = None;
    chain.share = Some(share);
    chain.rpc = crate::signer::rpc_urls(manifest);
    let peers = ids()
        .filter(|p| *p != id)
        .map(|p| {
            let holder = pinned_by(manifest, process, p);
            let (port, _) = ports_of(manifest, &holder).expect("a cosigner process");
            PeerConfig {
                id: p,
                link_public_key: if holder == STANDBY {
                    holders.standby
                } else {
                    holders.publics[usize::from(p - 1)]
                },
                name: holder,
                addr: ([127, 0, 0, 1], port).into(),
            }
        })
        .collect();
    let config = Config {
        connection_key,
        metrics: Some(MetricsConfig {
            listen: ([127, 0, 0, 1], metrics).into(),
        }),
        threshold: Some(ThresholdConfig {
            id,
            listen: ([127, 0, 0, 1], listen).into(),
            link_key: dir_of(dir, process).join("link.key"),
            share_timeout: std::time::Duration::from_millis(1500),
            peers,
        }),
        chains: vec![chain],
        skip_chain_checks: false,
        vault: None,
        audit_log: None,
    };
    let text = format!(
        "# {process}: share {id} of val0's {THRESHOLD}-of-{COSIGNERS} threshold signer, \
         written by `bulwark devnet up`.\n\n{}",
        config.to_toml()
    );
    let cfg = config_of(dir, process);
    std::fs::write(&cfg, text).map_err(|e| DevnetError::io(&cfg, e))
}

/// How to run cosigner `id`.
pub fn spec(dir: &Path, id: u16, bulwark: &Path) -> Spec {
    spec_of(dir, &name(id), bulwark)
}

/// How to run a cosigner process.
pub fn spec_of(dir: &Path, process: &str, bulwark: &Path) -> Spec {
    Spec::bulwark(process, "signer", config_of(dir, process), bulwark)
}

/// Cosigner `id`'s pid when it runs.
pub fn pid(dir: &Path, id: u16) -> Option<u32> {
    process::running_pid(dir, &name(id), &config_path(dir, id))
}

/// Stop cosigner `id` if it runs.
pub fn stop(dir: &Path, id: u16, grace: std::time::Duration) -> bool {
    process::stop(dir, &name(id), &config_path(dir, id), grace)
}

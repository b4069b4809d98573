//! val0's `bulwark signer` when the devnet runs one (`--signer bulwark`): its config,
//! its sign state, and its process. Both val0 nodes point at it, so val0 keeps signing
//! when either node dies.

use crate::cometbft::Line;
use crate::error::{DevnetError, Result};
use crate::generate::key_path;
use crate::manifest::{Manifest, SignerMode};
use crate::process::{self, Spec};
use crate::topology::{self, OPERATOR};
use signer::config::{Addr, ChainConfig, Config, MetricsConfig, NodeConfig};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Process name of the devnet signer (`run/signer.pid`, `logs/signer.log`).
pub const NAME: &str = "signer";

/// The signer's config file.
pub fn config_path(dir: &Path) -> PathBuf {
    dir.join("signer").join("signer.toml")
}

/// val0's sign-state file.
pub fn state_path(dir: &Path) -> PathBuf {
    dir.join("signer").join("val0.state")
}

/// The signer's connection key (its libp2p identity on `noise://`).
pub fn connection_key_path(dir: &Path) -> PathBuf {
    dir.join("signer").join("connection_key")
}

/// Write the signer config and create val0's sign state with `bulwark`. On v0.40 the
/// nodes and the signer use the authenticated `noise://` transport, each pinned to the
/// other's peer ID.
pub fn setup(dir: &Path, manifest: &Manifest, bulwark: &Path) -> Result<()> {
    let sdir = dir.join("signer");
    std::fs::create_dir_all(&sdir).map_err(|e| DevnetError::io(&sdir, e))?;
    let noise = manifest.line == Line::V0_40;
    let connection_key = noise.then(|| connection_key_path(dir));
    let signer_peer = match &connection_key {
        Some(key) => Some(peer_id(bulwark, key, true)?),
        None => None,
    };
    let mut nodes = Vec::new();
    for n in manifest
        .nodes
        .iter()
        .filter(|n| topology::is_operator_node(n))
    {
        let port = n.signer_port.expect("val0 nodes have a signer port");
        let hostport = format!("127.0.0.1:{port}");
        let addr = match &signer_peer {
            Some(sp) => {
                let peer = peer_id(
                    bulwark,
                    &dir.join(&n.home).join("config/node_key.json"),
                    false,
                )?;
                let laddr = format!("noise://{sp}@{hostport}");
                crate::generate::set_priv_validator_laddr(dir, n, &laddr)?;
                Addr::Noise { peer, hostport }
            }
            None => Addr::Tcp(hostport),
        };
        nodes.push(NodeConfig {
            name: n.name.clone(),
            addr,
        });
    }
    let mut chain = ChainConfig::new(
        &manifest.chain_id,
        key_path(dir, OPERATOR),
        state_path(dir),
        manifest.line,
        nodes,
    );
    chain.rpc = rpc_urls(manifest);
    let config = Config {
        connection_key,
        metrics: manifest.signer_metrics_port.map(|p| MetricsConfig {
            listen: ([127, 0, 0, 1], p).into(),
        }),
        threshold: None,
        chains: vec![chain],
        skip_chain_checks: false,
    };
    let text = format!(
        "# val0's remote signer, written by `bulwark devnet up`.\n\n{}",
        config.to_toml()
    );
    let cfg = config_path(dir);
    std::fs::write(&cfg, text).map_err(|e| DevnetError::io(&cfg, e))?;
    let state = state_path(dir);
    if !state.exists() {
        init_state(bulwark, &manifest.chain_id, &state)?;
    }
    Ok(())
}

/// Create a new sign state for `chain_id` at `state` with `bulwark signer state init`.
pub(crate) fn init_state(bulwark: &Path, chain_id: &str, state: &Path) -> Result<()> {
    run_bulwark(
        bulwark,
        &["signer", "state", "init", "--chain-id", chain_id],
        state,
        &[],
    )
}

/// The chain's RPC for the signer's chain checks, from nodes other than val0's, when the
/// chain can make blocks without val0 (four validators or more: val0 has a quarter of
/// the power or less). With fewer, the chain halts whenever val0's signer is down, so
/// no source would be fresh when it starts again, and no height can be skipped anyway.
pub(crate) fn rpc_urls(manifest: &Manifest) -> Vec<String> {
    if manifest.validators.len() < 4 {
        return Vec::new();
    }
    manifest
        .nodes
        .iter()
        .filter(|n| !topology::is_operator_node(n))
        .take(3)
        .map(|n| n.rpc_url())
        .collect()
}

/// Import a CometBFT `priv_validator_state.json` into val0's sign state (creating or
/// raising it, never lowering).
pub fn import_state(dir: &Path, manifest: &Manifest, bulwark: &Path, from: &Path) -> Result<()> {
    let sdir = dir.join("signer");
    std::fs::create_dir_all(&sdir).map_err(|e| DevnetError::io(&sdir, e))?;
    let args = [
        "signer",
        "state",
        "import",
        "--chain-id",
        &manifest.chain_id,
    ];
    run_bulwark(
        bulwark,
        &args,
        &state_path(dir),
        &["--from".as_ref(), from.as_os_str()],
    )
}

/// The libp2p peer ID of a key file, from `bulwark signer peer-id`.
fn peer_id(bulwark: &Path, key: &Path, generate: bool) -> Result<String> {
    let mut cmd = Command::new(bulwark);
    cmd.args(["signer", "peer-id", "--key"]).arg(key);
    if generate {
        cmd.arg("--generate");
    }
    let out = cmd.output().map_err(|e| DevnetError::io(bulwark, e))?;
    if !out.status.success() {
        return Err(DevnetError::Command {
            command: format!(
                "{} signer peer-id --key {}",
                bulwark.display(),
                key.display()
            ),
            output: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn run_bulwark(
    bulwark: &Path,
    args: &[&str],
    state: &Path,
    extra: &[&std::ffi::OsStr],
) -> Result<()> {
    let out = Command::new(bulwark)
        .args(args)
        .arg("--state")
        .arg(state)
        .args(extra)
        .output()
        .map_err(|e| DevnetError::io(bulwark, e))?;
    if !out.status.success() {
        return Err(DevnetError::Command {
            command: format!("{} {}", bulwark.display(), args.join(" ")),
            output: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(())
}

/// How to run the devnet signer.
pub fn spec(dir: &Path, bulwark: &Path) -> Spec {
    Spec::bulwark(NAME, "signer", config_path(dir), bulwark)
}

/// The signer's pid when it runs.
pub fn pid(dir: &Path) -> Option<u32> {
    process::running_pid(dir, NAME, &config_path(dir))
}

/// Stop the signer if it runs.
pub fn stop(dir: &Path, grace: std::time::Duration) -> bool {
    process::stop(dir, NAME, &config_path(dir), grace)
}

/// val0's signer processes this devnet runs, by name with the config file that marks
/// each: `signer`, or `cosigner-1` .. `cosigner-3`, or none.
pub fn processes(dir: &Path, manifest: &Manifest) -> Vec<(String, PathBuf)> {
    match manifest.signer {
        SignerMode::File => Vec::new(),
        SignerMode::Bulwark => vec![(NAME.to_string(), config_path(dir))],
        SignerMode::Threshold => crate::cosigner::ids()
            .map(|id| {
                (
                    crate::cosigner::name(id),
                    crate::cosigner::config_path(dir, id),
                )
            })
            .collect(),
    }
}

/// Whether this devnet runs its own signer.
pub fn runs_signer(manifest: &Manifest) -> bool {
    manifest.signer == SignerMode::Bulwark
}

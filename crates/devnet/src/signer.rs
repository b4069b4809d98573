//! val0's `bulwark signer` when the devnet runs one (`--signer bulwark`): its config,
//! its sign state, and its process. Both val0 nodes point at it, so val0 keeps signing
//! when either node dies.

use crate::cometbft::Line;
use crate::error::{DevnetError, Result};
use crate::generate::key_path;
use crate::manifest::{Manifest, Node, SignerMode, SignerSide};
use crate::process::{self, Spec};
use crate::topology::{self, OPERATOR};
use signer::config::{Addr, ChainConfig, Config, MetricsConfig, NodeConfig};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Process name of the devnet signer (`run/signer.pid`, `logs/signer.log`).
pub const NAME: &str = "signer";

fn side_dir(dir: &Path, side: SignerSide) -> PathBuf {
    dir.join(side.name())
}

/// The primary signer's config file.
pub fn config_path(dir: &Path) -> PathBuf {
    config_path_of(dir, SignerSide::Primary)
}

/// A signer side's config file (`signer/signer.toml`, `signer-backup/signer.toml`).
pub fn config_path_of(dir: &Path, side: SignerSide) -> PathBuf {
    side_dir(dir, side).join("signer.toml")
}

/// val0's sign-state file of the primary signer.
pub fn state_path(dir: &Path) -> PathBuf {
    state_path_of(dir, SignerSide::Primary)
}

/// val0's sign-state file of a signer side. The standby's is made by a failover.
pub fn state_path_of(dir: &Path, side: SignerSide) -> PathBuf {
    side_dir(dir, side).join("val0.state")
}

/// A signer side's connection key (its libp2p identity on `noise://`).
pub fn connection_key_path(dir: &Path, side: SignerSide) -> PathBuf {
    side_dir(dir, side).join("connection_key")
}

/// Write both signer sides' configs, create the primary's sign state, and point each
/// val0 node at the side its door is open to. On v0.40 the nodes and the signers use
/// the authenticated `noise://` transport, each pinned to the other's peer ID.
pub fn setup(dir: &Path, manifest: &Manifest, bulwark: &Path) -> Result<()> {
    for side in [SignerSide::Primary, SignerSide::Standby] {
        write_side(dir, manifest, bulwark, side)?;
    }
    for n in manifest
        .nodes
        .iter()
        .filter(|n| topology::is_operator_node(n))
    {
        write_door(dir, manifest, bulwark, n)?;
    }
    let state = state_path(dir);
    if !state.exists() {
        init_state(bulwark, &manifest.chain_id, &state)?;
    }
    Ok(())
}

/// True when val0's nodes and their signers talk over `noise://` (the v0.40 line).
pub(crate) fn noise(manifest: &Manifest) -> bool {
    manifest.line == Line::V0_40
}

/// How a signer process reaches `node`'s signer port `port`: plain TCP, or on
/// `noise://` pinned to the node's peer ID.
pub(crate) fn node_addr(
    dir: &Path,
    manifest: &Manifest,
    bulwark: &Path,
    node: &Node,
    port: u16,
) -> Result<Addr> {
    let hostport = format!("127.0.0.1:{port}");
    Ok(if noise(manifest) {
        let peer = peer_id(
            bulwark,
            &dir.join(&node.home).join("config/node_key.json"),
            false,
        )?;
        Addr::Noise { peer, hostport }
    } else {
        Addr::Tcp(hostport)
    })
}

/// The primary side's connection key, made if missing; on `noise://` the nodes' door
/// pins its peer ID. The cosigners share it, as one signer identity toward the nodes.
pub(crate) fn primary_connection_key(dir: &Path, bulwark: &Path) -> Result<PathBuf> {
    let key = connection_key_path(dir, SignerSide::Primary);
    std::fs::create_dir_all(side_dir(dir, SignerSide::Primary))
        .map_err(|e| DevnetError::io(&key, e))?;
    peer_id(bulwark, &key, true)?;
    Ok(key)
}

fn write_side(dir: &Path, manifest: &Manifest, bulwark: &Path, side: SignerSide) -> Result<()> {
    let sdir = side_dir(dir, side);
    std::fs::create_dir_all(&sdir).map_err(|e| DevnetError::io(&sdir, e))?;
    let connection_key = noise(manifest).then(|| connection_key_path(dir, side));
    if let Some(key) = &connection_key {
        peer_id(bulwark, key, true)?;
    }
    let mut nodes = Vec::new();
    for n in manifest
        .nodes
        .iter()
        .filter(|n| topology::is_operator_node(n))
    {
        let port = match side {
            SignerSide::Primary => n.signer_port,
            SignerSide::Standby => n.standby_signer_port,
        };
        let Some(port) = port else {
            return Err(DevnetError::Mismatch(format!(
                "node {} has no port for the {} (this devnet was made before standby signers; destroy and recreate it)",
                n.name,
                side.name()
            )));
        };
        nodes.push(NodeConfig {
            name: n.name.clone(),
            addr: node_addr(dir, manifest, bulwark, n, port)?,
        });
    }
    let mut chain = ChainConfig::new(
        &manifest.chain_id,
        key_path(dir, OPERATOR),
        state_path_of(dir, side),
        manifest.line,
        nodes,
    );
    chain.rpc = rpc_urls(manifest);
    if side == SignerSide::Standby && !chain.rpc.is_empty() {
        // A standby that takes over first watches a few blocks for another live signer.
        chain.doppelganger_blocks = 3;
    }
    let metrics = match side {
        SignerSide::Primary => manifest.signer_metrics_port,
        SignerSide::Standby => manifest.standby_signer_metrics_port,
    };
    let config = Config {
        connection_key,
        metrics: metrics.map(|p| MetricsConfig {
            listen: ([127, 0, 0, 1], p).into(),
        }),
        threshold: None,
        chains: vec![chain],
        skip_chain_checks: false,
        vault: None,
        audit_log: None,
    };
    let what = match side {
        SignerSide::Primary => "val0's remote signer",
        SignerSide::Standby => {
            "val0's standby signer (another host with the same key; started only by a failover)"
        }
    };
    let text = format!(
        "# {what}, written by `bulwark devnet up`.\n\n{}",
        config.to_toml()
    );
    let cfg = config_path_of(dir, side);
    std::fs::write(&cfg, text).map_err(|e| DevnetError::io(&cfg, e))
}

/// Point `node`'s `priv_validator_laddr` at its door: the port of the side it lets in
/// and, on `noise://`, that side's peer ID, so the other side cannot connect.
pub fn write_door(dir: &Path, manifest: &Manifest, bulwark: &Path, node: &Node) -> Result<()> {
    let port = node.door_port().ok_or_else(|| {
        DevnetError::Mismatch(format!(
            "node {} has no port for the {} (this devnet was made before standby signers; destroy and recreate it)",
            node.name,
            node.door.name()
        ))
    })?;
    let laddr = if noise(manifest) {
        let sp = peer_id(bulwark, &connection_key_path(dir, node.door), true)?;
        format!("noise://{sp}@127.0.0.1:{port}")
    } else {
        format!("tcp://127.0.0.1:{port}")
    };
    crate::generate::set_priv_validator_laddr(dir, node, &laddr)
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
pub fn rpc_urls(manifest: &Manifest) -> Vec<String> {
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

/// How to run a devnet signer side.
pub fn spec(dir: &Path, side: SignerSide, bulwark: &Path) -> Spec {
    let mut spec = Spec::bulwark(side.name(), "signer", config_path_of(dir, side), bulwark);
    // Every start of val0's signer goes into the devnet's audit trail.
    spec.args.push("--audit-log".into());
    spec.args.push(audit_log_path(dir).into());
    spec
}

/// The devnet's audit log: signer starts, and the failover drills' plans and steps.
pub fn audit_log_path(dir: &Path) -> PathBuf {
    dir.join("audit.log")
}

/// The signer's pid when it runs.
pub fn pid(dir: &Path) -> Option<u32> {
    process::running_pid(dir, NAME, &config_path(dir))
}

/// Stop the signer if it runs.
pub fn stop(dir: &Path, grace: std::time::Duration) -> bool {
    process::stop(dir, NAME, &config_path(dir), grace)
}

/// val0's signer processes this devnet has, by name with the config file that marks
/// each: `signer` and `signer-backup`, or `cosigner-1` .. `cosigner-3`, or none.
pub fn processes(dir: &Path, manifest: &Manifest) -> Vec<(String, PathBuf)> {
    match manifest.signer {
        SignerMode::File => Vec::new(),
        SignerMode::Bulwark => [SignerSide::Primary, SignerSide::Standby]
            .into_iter()
            .map(|s| (s.name().to_string(), config_path_of(dir, s)))
            .collect(),
        SignerMode::Threshold => crate::cosigner::process_names()
            .into_iter()
            .map(|p| {
                let config = crate::cosigner::config_of(dir, &p);
                (p, config)
            })
            .collect(),
    }
}

/// The signer processes `up` starts: the cosigners the others pin, or the one signer
/// side that val0's nodes let in. When the nodes' doors disagree (a failover stopped
/// half-way), no signer is started, so two can never be live because of `up`; when
/// the cosigners disagree on who holds share 2, neither holder is started.
pub fn to_start(dir: &Path, manifest: &Manifest) -> Result<Vec<(String, PathBuf)>> {
    match manifest.signer {
        SignerMode::File => return Ok(Vec::new()),
        SignerMode::Threshold => {
            return Ok(crate::cosigner::to_start(manifest)
                .into_iter()
                .map(|p| {
                    let config = crate::cosigner::config_of(dir, &p);
                    (p, config)
                })
                .collect())
        }
        SignerMode::Bulwark => {}
    }
    let doors: Vec<&Node> = manifest
        .nodes
        .iter()
        .filter(|n| topology::is_operator_node(n))
        .collect();
    let side = doors.first().map(|n| n.door).unwrap_or_default();
    if doors.iter().any(|n| n.door != side) {
        return Err(DevnetError::Mismatch(format!(
            "val0's nodes let in different signers ({}); no signer is started. Finish the failover, or run `bulwark devnet door --node NODE --to SIGNER` until they agree",
            doors.iter().map(|n| format!("{} -> {}", n.name, n.door.name())).collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(vec![(side.name().to_string(), config_path_of(dir, side))])
}

/// Whether this devnet runs its own signer.
pub fn runs_signer(manifest: &Manifest) -> bool {
    manifest.signer == SignerMode::Bulwark
}

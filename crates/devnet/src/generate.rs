//! Generating a devnet: node homes, keys, one genesis, and configs wired in the sentry pattern.

use crate::cometbft::{Binary, Line};
use crate::error::{DevnetError, Result};
use crate::manifest::{Manifest, Node, SignerMode, Validator};
use crate::topology::{self, OPERATOR};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use toml_edit::{value, DocumentMut};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Chain ID.
    pub chain_id: String,
    /// Number of validators (at least 1).
    pub validators: usize,
    /// First port of the devnet's block.
    pub base_port: u16,
    /// Where val0 signs.
    pub signer: SignerMode,
    /// Height at which vote extensions start (v0.38 and later); `None` leaves them off.
    pub vote_extensions_height: Option<i64>,
    /// Consensus `timeout_commit`, e.g. `500ms`.
    pub timeout_commit: String,
}

/// Power every devnet validator gets.
pub const POWER: u64 = 10;

/// Generate a devnet into `dir` (which must not hold one) and return its manifest.
pub fn generate(dir: &Path, bin: &Binary, spec: &Spec) -> Result<Manifest> {
    let mut nodes = topology::plan(spec.validators, spec.base_port);
    for node in &mut nodes {
        let home = dir.join(&node.home);
        run(bin, &["init", "--home", path_str(&home)?])?;
        let out = run(bin, &["show-node-id", "--home", path_str(&home)?])?;
        node.node_id = out.trim().to_string();
    }

    let mut manifest = Manifest::new(
        spec.chain_id.clone(),
        bin.line,
        bin.version.clone(),
        spec.signer,
    );
    let keys = dir.join("keys");
    for node in nodes
        .iter()
        .filter(|n| n.role == crate::manifest::Role::Validator)
    {
        let name = node
            .validator
            .clone()
            .expect("validator nodes have a validator");
        let key_file = dir.join(&node.home).join("config/priv_validator_key.json");
        let dest = keys.join(&name).join("priv_validator_key.json");
        create_dir(dest.parent().expect("has parent"))?;
        std::fs::rename(&key_file, &dest).map_err(|e| DevnetError::io(&key_file, e))?;
        manifest.validators.push(read_validator(&name, &dest)?);
    }
    manifest.nodes = nodes;
    manifest.signer_metrics_port = Some(topology::signer_metrics_port(
        spec.validators,
        spec.base_port,
    ));
    manifest.standby_signer_metrics_port = Some(topology::standby_signer_metrics_port(
        spec.validators,
        spec.base_port,
    ));

    let genesis = make_genesis(dir, &manifest, spec)?;
    for node in &manifest.nodes {
        let home = dir.join(&node.home);
        write(&home.join("config/genesis.json"), genesis.as_bytes())?;
        write_config(&home, node, &manifest.nodes, spec)?;
        if node.role == crate::manifest::Role::Validator && !topology::is_operator_node(node) {
            install_key(dir, node)?;
        }
    }
    set_signer_mode(dir, &mut manifest, spec.signer)?;
    manifest.save(dir)?;
    Ok(manifest)
}

/// Point val0's nodes at their signature source. This is the one switch between val0
/// signing with its key file on the primary node and a remote signer serving both nodes.
pub fn set_signer_mode(dir: &Path, manifest: &mut Manifest, mode: SignerMode) -> Result<()> {
    for node in manifest
        .nodes
        .iter()
        .filter(|n| topology::is_operator_node(n))
    {
        let home = dir.join(&node.home);
        let laddr = if mode.is_remote() {
            node.signer_laddr().unwrap_or_default()
        } else {
            String::new()
        };
        edit_config(&home, |doc| doc["priv_validator_laddr"] = value(laddr))?;
        let key = home.join("config/priv_validator_key.json");
        let _ = std::fs::remove_file(&key);
        if mode == SignerMode::File && node.role == crate::manifest::Role::Validator {
            install_key(dir, node)?;
        }
        // Otherwise CometBFT makes itself a throw-away key that is not in genesis, so the
        // node never signs with a validator key of its own.
    }
    manifest.signer = mode;
    Ok(())
}

/// Set `priv_validator_laddr` of `node` (empty: the node signs with its key file).
pub fn set_priv_validator_laddr(dir: &Path, node: &Node, laddr: &str) -> Result<()> {
    edit_config(&dir.join(&node.home), |doc| {
        doc["priv_validator_laddr"] = value(laddr)
    })
}

/// Path of a validator's consensus key inside the devnet.
pub fn key_path(dir: &Path, validator: &str) -> PathBuf {
    dir.join("keys")
        .join(validator)
        .join("priv_validator_key.json")
}

fn install_key(dir: &Path, node: &Node) -> Result<()> {
    let name = node.validator.as_deref().unwrap_or(OPERATOR);
    let src = key_path(dir, name);
    let dest = dir.join(&node.home).join("config/priv_validator_key.json");
    std::fs::copy(&src, &dest).map_err(|e| DevnetError::io(&src, e))?;
    Ok(())
}

fn read_validator(name: &str, key_file: &Path) -> Result<Validator> {
    let text = std::fs::read_to_string(key_file).map_err(|e| DevnetError::io(key_file, e))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| DevnetError::Command {
        command: format!("read {}", key_file.display()),
        output: e.to_string(),
    })?;
    let field = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| DevnetError::Command {
                command: format!("read {}", key_file.display()),
                output: format!("missing {p}"),
            })
    };
    Ok(Validator {
        name: name.to_string(),
        address: field("/address")?,
        pub_key: field("/pub_key/value")?,
        power: POWER,
    })
}

fn make_genesis(dir: &Path, manifest: &Manifest, spec: &Spec) -> Result<String> {
    // Start from the genesis CometBFT itself wrote, so each line keeps its own params.
    let base = dir
        .join(&manifest.nodes[0].home)
        .join("config/genesis.json");
    let text = std::fs::read_to_string(&base).map_err(|e| DevnetError::io(&base, e))?;
    let mut g: Value = serde_json::from_str(&text).map_err(|e| DevnetError::Command {
        command: format!("read {}", base.display()),
        output: e.to_string(),
    })?;
    g["chain_id"] = Value::from(manifest.chain_id.clone());
    g["initial_height"] = Value::from("1");
    g["validators"] = manifest
        .validators
        .iter()
        .map(|v| {
            serde_json::json!({
                "address": v.address,
                "pub_key": {"type": "tendermint/PubKeyEd25519", "value": v.pub_key},
                "power": v.power.to_string(),
                "name": v.name,
            })
        })
        .collect();
    if let Some(h) = spec.vote_extensions_height {
        let section = match manifest.line {
            Line::V0_34 | Line::V0_38 => "abci",
            Line::V1_0 | Line::V0_40 => "feature",
        };
        g["consensus_params"][section]["vote_extensions_enable_height"] =
            Value::from(h.to_string());
    }
    Ok(serde_json::to_string_pretty(&g).expect("genesis serializes") + "\n")
}

/// Pause between vote gossip rounds on every devnet node.
const GOSSIP_SLEEP: &str = "10ms";

fn write_config(home: &Path, node: &Node, all: &[Node], spec: &Spec) -> Result<()> {
    let (peers, private) = topology::peers_of(node, all);
    let join = |v: Vec<String>| v.join(",");
    edit_config(home, |doc| {
        doc["moniker"] = value(node.name.clone());
        doc["proxy_app"] = value("persistent_kvstore");
        doc["priv_validator_laddr"] = value("");
        doc["rpc"]["laddr"] = value(format!("tcp://127.0.0.1:{}", node.rpc_port));
        doc["p2p"]["laddr"] = value(format!("tcp://127.0.0.1:{}", node.p2p_port));
        doc["p2p"]["external_address"] = value(format!("127.0.0.1:{}", node.p2p_port));
        doc["p2p"]["persistent_peers"] =
            value(join(peers.iter().map(|p| p.p2p_address()).collect()));
        doc["p2p"]["private_peer_ids"] =
            value(join(private.iter().map(|p| p.node_id.clone()).collect()));
        doc["p2p"]["pex"] = value(!topology::is_operator_node(node));
        doc["p2p"]["addr_book_strict"] = value(false);
        doc["p2p"]["allow_duplicate_ip"] = value(true);
        doc["consensus"]["timeout_commit"] = value(spec.timeout_commit.clone());
        doc["consensus"]["timeout_propose"] = value("2s");
        // CometBFT's 100 ms default between vote gossip rounds is sized for mainnet
        // blocks. At half-second blocks with val0's nodes behind a sentry, a fresh
        // network could lock into a rhythm where val0's nodes saw the others'
        // precommits before their prevotes at val0's own proposals, and precommitted
        // nil there (every fourth height missed until val0's nodes restarted).
        // CometBFT's own test configuration uses a few milliseconds.
        doc["consensus"]["peer_gossip_sleep_duration"] = value(GOSSIP_SLEEP);
        doc["instrumentation"]["prometheus"] = value(true);
        doc["instrumentation"]["prometheus_listen_addr"] =
            value(format!("127.0.0.1:{}", node.metrics_port));
    })
}

fn edit_config(home: &Path, f: impl FnOnce(&mut DocumentMut)) -> Result<()> {
    let path = home.join("config/config.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| DevnetError::io(&path, e))?;
    let mut doc: DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| DevnetError::Command {
                command: format!("parse {}", path.display()),
                output: e.to_string(),
            })?;
    f(&mut doc);
    write(&path, doc.to_string().as_bytes())
}

fn run(bin: &Binary, args: &[&str]) -> Result<String> {
    let out = Command::new(&bin.path)
        .args(args)
        .output()
        .map_err(|e| DevnetError::io(&bin.path, e))?;
    if !out.status.success() {
        return Err(DevnetError::Command {
            command: format!("{} {}", bin.path.display(), args.join(" ")),
            output: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str()
        .ok_or_else(|| DevnetError::InvalidOption(format!("{} is not valid UTF-8", p.display())))
}

fn create_dir(p: &Path) -> Result<()> {
    std::fs::create_dir_all(p).map_err(|e| DevnetError::io(p, e))
}

fn write(p: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(p, bytes).map_err(|e| DevnetError::io(p, e))
}

//! `devnet.json`: what a devnet is made of. Written once by `up`, read by every command.

use crate::cometbft::Line;
use crate::error::{DevnetError, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File name of the manifest inside the devnet directory.
pub const MANIFEST: &str = "devnet.json";
const FORMAT: u32 = 1;

/// What a node does in the network: the watch's roles (the devnet makes validators,
/// val0's backup and a sentry).
pub use watch::config::Role;

/// Where the operator validator (`val0`) gets its signatures from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignerMode {
    /// The primary node signs with its own key file; the backup does not sign.
    File,
    /// The devnet runs a `bulwark signer` for val0; both val0 nodes listen on
    /// `priv_validator_laddr` for it, and neither holds the validator key.
    Bulwark,
    /// The devnet runs three `bulwark signer` cosigners for val0, each holding one share
    /// of a 2-of-3 split of its key; both val0 nodes listen for each of them.
    Threshold,
}

impl SignerMode {
    /// Whether val0's nodes wait for a remote signer.
    pub fn is_remote(self) -> bool {
        !matches!(self, SignerMode::File)
    }

    /// `file`, `bulwark` or `threshold`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignerMode::File => "file",
            SignerMode::Bulwark => "bulwark",
            SignerMode::Threshold => "threshold",
        }
    }
}

/// One of the two `bulwark signer` processes a `--signer bulwark` devnet has for val0:
/// the primary (`signer`) and the standby (`signer-backup`, another "host" with the same
/// key and its own state, started only after a failover). A val0 node's door lets in one
/// of them: each has its own port at the node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignerSide {
    /// `signer`.
    #[default]
    Primary,
    /// `signer-backup`.
    Standby,
}

impl SignerSide {
    /// Its process name: `signer` or `signer-backup`.
    pub fn name(self) -> &'static str {
        match self {
            SignerSide::Primary => "signer",
            SignerSide::Standby => "signer-backup",
        }
    }

    /// The side called `name`.
    pub fn from_name(name: &str) -> Option<SignerSide> {
        [SignerSide::Primary, SignerSide::Standby]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

/// One validator in genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validator {
    /// Name, e.g. `val0`.
    pub name: String,
    /// Consensus address, upper-case hex.
    pub address: String,
    /// Ed25519 public key, base64.
    pub pub_key: String,
    /// Voting power.
    pub power: u64,
}

/// One CometBFT node process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// Name, e.g. `val0`, `val0-backup`, `sentry0`, `val1`.
    pub name: String,
    /// What it does.
    pub role: Role,
    /// The validator whose key it signs (or would sign) with, if any.
    pub validator: Option<String>,
    /// CometBFT home, relative to the devnet directory.
    pub home: PathBuf,
    /// P2P node ID.
    pub node_id: String,
    /// P2P listen port on 127.0.0.1.
    pub p2p_port: u16,
    /// RPC listen port on 127.0.0.1.
    pub rpc_port: u16,
    /// CometBFT Prometheus metrics port on 127.0.0.1.
    pub metrics_port: u16,
    /// Port the node listens on for the devnet signer or the cosigners
    /// (`priv_validator_laddr`), val0 nodes only.
    pub signer_port: Option<u16>,
    /// Port the node listens on instead when its door is open to the standby signer
    /// (`signer-backup`), val0 nodes only.
    #[serde(default)]
    pub standby_signer_port: Option<u16>,
    /// Which devnet signer the node lets in (`bulwark devnet door`).
    #[serde(default)]
    pub door: SignerSide,
}

impl Node {
    /// `http://127.0.0.1:<metrics_port>/metrics`: CometBFT's Prometheus endpoint.
    pub fn metrics_url(&self) -> String {
        format!("http://127.0.0.1:{}/metrics", self.metrics_port)
    }

    /// `http://127.0.0.1:<rpc_port>`.
    pub fn rpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.rpc_port)
    }

    /// `<node_id>@127.0.0.1:<p2p_port>`.
    pub fn p2p_address(&self) -> String {
        format!("{}@127.0.0.1:{}", self.node_id, self.p2p_port)
    }

    /// The port the node listens on for a signer now: its door's.
    pub fn door_port(&self) -> Option<u16> {
        match self.door {
            SignerSide::Primary => self.signer_port,
            SignerSide::Standby => self.standby_signer_port,
        }
    }

    /// `tcp://127.0.0.1:<door port>`, for val0 nodes.
    pub fn signer_laddr(&self) -> Option<String> {
        self.door_port().map(|p| format!("tcp://127.0.0.1:{p}"))
    }
}

/// The whole devnet description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest format version.
    pub format: u32,
    /// Chain ID.
    pub chain_id: String,
    /// CometBFT line.
    pub line: Line,
    /// Exact CometBFT version the devnet was created with.
    pub cometbft_version: String,
    /// Where val0's signatures come from.
    pub signer: SignerMode,
    /// Genesis validators.
    pub validators: Vec<Validator>,
    /// Every node, in start order.
    pub nodes: Vec<Node>,
    /// Port of the devnet signer's `/metrics` (used when `signer` is `bulwark`).
    #[serde(default)]
    pub signer_metrics_port: Option<u16>,
    /// Port of the standby signer's `/metrics`.
    #[serde(default)]
    pub standby_signer_metrics_port: Option<u16>,
    /// With `--signer threshold`: which process each cosigner pins for share 2
    /// (`cosigner-2`, or `cosigner-standby` after `bulwark devnet repin`); absent, all pin
    /// `cosigner-2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cosigner_pins: Option<std::collections::BTreeMap<String, String>>,
}

impl Manifest {
    /// A new manifest (format set to the current one).
    pub fn new(chain_id: String, line: Line, cometbft_version: String, signer: SignerMode) -> Self {
        Self {
            format: FORMAT,
            chain_id,
            line,
            cometbft_version,
            signer,
            validators: Vec::new(),
            nodes: Vec::new(),
            signer_metrics_port: None,
            standby_signer_metrics_port: None,
            cosigner_pins: None,
        }
    }

    /// Read `dir/devnet.json`.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(if dir_has_entries(dir) {
                    DevnetError::NotADevnet {
                        dir: dir.to_path_buf(),
                    }
                } else {
                    DevnetError::NoDevnet {
                        dir: dir.to_path_buf(),
                    }
                });
            }
            Err(e) => return Err(DevnetError::io(path, e)),
        };
        let m: Manifest = serde_json::from_str(&text).map_err(|e| DevnetError::BadManifest {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if m.format != FORMAT {
            return Err(DevnetError::BadManifest {
                path,
                reason: format!("format {} is not the supported format {FORMAT}", m.format),
            });
        }
        Ok(m)
    }

    /// Write `dir/devnet.json`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(MANIFEST);
        let text = serde_json::to_string_pretty(self).expect("manifest serializes");
        std::fs::write(&path, text + "\n").map_err(|e| DevnetError::io(path, e))
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Result<&Node> {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .ok_or_else(|| DevnetError::UnknownNode {
                name: name.to_string(),
                known: self
                    .nodes
                    .iter()
                    .map(|n| n.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The validator called `name`.
    pub fn validator_by_name(&self, name: &str) -> Option<&Validator> {
        self.validators.iter().find(|v| v.name == name)
    }
}

/// True when `dir` exists and holds at least one entry.
pub fn dir_has_entries(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
}

/// Absolute form of `dir` (without requiring it to exist).
pub fn absolute(dir: &Path) -> PathBuf {
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

//! What a plan's checks see: the chain (tip, the key's last signature, whether it is
//! still signing), the validator's nodes (caught up?), and each signer side (key and
//! state files). The same observation is made again at execute and compared.

use crate::config::{ChainConfig, Side, SignerConfig};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use signer::floor::ChainView;
use signer::keys::KeyBackend;
use signer::sources::{Problem, Sources};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

const RPC_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_BLOCK_AGE: Duration = Duration::from_secs(300);

/// A sign state's height, round and step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Hrs {
    /// Height.
    pub height: i64,
    /// Round.
    pub round: i32,
    /// Step: 0 none, 1 propose, 2 prevote, 3 precommit.
    pub step: u8,
}

impl std::fmt::Display for Hrs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let step = ["none", "propose", "prevote", "precommit"]
            .get(usize::from(self.step))
            .unwrap_or(&"?");
        write!(f, "{}/{}/{step}", self.height, self.round)
    }
}

impl Hrs {
    /// The guard's step for this one.
    pub fn guard_step(&self) -> guard::Step {
        match self.step {
            1 => guard::Step::Propose,
            2 => guard::Step::Prevote,
            3 => guard::Step::Precommit,
            _ => guard::Step::Initial,
        }
    }
}

/// One signer side as seen on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideView {
    /// Its name in the failover config.
    pub name: String,
    /// Its host.
    pub host: String,
    /// Its signer config, or `node HOME` for a node signing with its own key file.
    pub config: String,
    /// Its key file.
    pub key_file: Option<String>,
    /// SHA-256 of the key file.
    pub key_sha256: Option<String>,
    /// The public key, hex.
    pub public_key: Option<String>,
    /// Its state file.
    pub state_file: Option<String>,
    /// Its state, when the file exists and reads.
    pub state: Option<Hrs>,
    /// Why something could not be read (a dead host, a missing file).
    pub problem: Option<String>,
    /// For a threshold cosigner: the share id its share file carries (the key file is
    /// then the share file and the public key the group's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_id: Option<u16>,
    /// For a threshold cosigner: its link public key, which its peers pin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_public_key: Option<String>,
}

impl SideView {
    /// Whether this side is a threshold cosigner.
    pub fn is_cosigner(&self) -> bool {
        self.share_id.is_some()
    }
}

/// One of the validator's nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeView {
    /// Name.
    pub name: String,
    /// Its latest height.
    pub height: Option<u64>,
    /// Blocks behind the chain's tip.
    pub lag: Option<u64>,
    /// Whether it is caught up (not syncing, within `max_lag`).
    pub caught_up: bool,
    /// What is wrong with it.
    pub problem: Option<String>,
    /// What else was seen (a node stalled without its signer).
    pub note: Option<String>,
}

/// Everything a plan's checks saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    /// When, RFC 3339.
    pub at: String,
    /// The chain's tip.
    pub tip: u64,
    /// The endpoint that showed it.
    pub tip_source: String,
    /// The validator's consensus address.
    pub address: String,
    /// The last height (within `scan_blocks`) whose commit carries the key's signature.
    pub last_signed: Option<u64>,
    /// A height among the last `silent_blocks` that carries the key's signature (the
    /// validator is live), or None (silent).
    pub signing_at: Option<u64>,
    /// The side the validator moves from.
    pub from: SideView,
    /// The side it moves to.
    pub to: SideView,
    /// The validator's nodes.
    pub nodes: Vec<NodeView>,
    /// For a cosigner's replacement: what the other cosigners pin for its share id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<PeerView>,
}

/// Another cosigner, as its config shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerView {
    /// Its name in the failover config.
    pub name: String,
    /// The link public key it pins for the share id that moves, and the name it gives
    /// that cosigner.
    pub pinned: Option<String>,
    /// Why its config could not be read (or none is given).
    pub problem: Option<String>,
}

impl Observed {
    /// Whether this is the replacement of a threshold cosigner.
    pub fn is_cosigner(&self) -> bool {
        self.from.is_cosigner() || self.to.is_cosigner()
    }
}

/// Why the chain or the sides could not be observed.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    /// The chain cannot be read.
    #[error(
        "cannot read chain {chain}: {reason}. Fix `rpc` in the failover config or the endpoints"
    )]
    Chain {
        /// Chain ID.
        chain: String,
        /// What went wrong.
        reason: String,
    },
    /// Neither side's key could be read, so the validator's address is unknown.
    #[error("neither signer side's key can be read ({from}; {to}), so the validator's address is unknown")]
    NoKey {
        /// The old side's problem.
        from: String,
        /// The new side's problem.
        to: String,
    },
    /// One side is a threshold cosigner and the other is not.
    #[error("{cosigner} is a threshold cosigner and {other} is not; a failover replaces a cosigner with another cosigner of the same share, or moves a key between signers (moving a threshold validator to one key means recombining it, which Bulwark does not do)")]
    Mixed {
        /// The cosigner side.
        cosigner: String,
        /// The other.
        other: String,
    },
    /// The two sides hold different keys.
    #[error("the two sides hold different keys ({from} has {from_key}, {to} has {to_key}); a failover moves one validator's key, so the target's signer config names the wrong key")]
    KeysDiffer {
        /// Old side.
        from: String,
        /// Its public key.
        from_key: String,
        /// New side.
        to: String,
        /// Its public key.
        to_key: String,
    },
}

/// The chain's view through `chain.rpc`.
pub fn view(chain: &ChainConfig) -> ChainView {
    ChainView::new(&chain.id, &chain.rpc, RPC_TIMEOUT, MAX_BLOCK_AGE)
}

/// Observe everything for a move from `from` to `to`.
pub fn observe(
    chain: &ChainConfig,
    from: &SignerConfig,
    to: &SignerConfig,
) -> Result<Observed, ObserveError> {
    let from_v = side(&chain.id, from);
    let to_v = side(&chain.id, to);
    if let (Some(a), Some(b)) = (&from_v.public_key, &to_v.public_key) {
        if a != b {
            return Err(ObserveError::KeysDiffer {
                from: from.name.clone(),
                from_key: a.clone(),
                to: to.name.clone(),
                to_key: b.clone(),
            });
        }
    }
    if from_v.is_cosigner() != to_v.is_cosigner()
        && from_v.public_key.is_some()
        && to_v.public_key.is_some()
    {
        return Err(ObserveError::Mixed {
            cosigner: if from_v.is_cosigner() {
                &from.name
            } else {
                &to.name
            }
            .clone(),
            other: if from_v.is_cosigner() {
                &to.name
            } else {
                &from.name
            }
            .clone(),
        });
    }
    let address = [&from_v, &to_v]
        .iter()
        .find_map(|s| s.public_key.as_deref().and_then(address_of))
        .ok_or_else(|| ObserveError::NoKey {
            from: from_v.problem.clone().unwrap_or_default(),
            to: to_v.problem.clone().unwrap_or_default(),
        })?;
    let chain_err = |reason: String| ObserveError::Chain {
        chain: chain.id.clone(),
        reason,
    };
    let v = view(chain);
    let survey = v.survey().map_err(|e| chain_err(e.to_string()))?;
    let last_signed = v
        .last_signed_height(&survey.best, survey.tip, &address, chain.scan_blocks)
        .map_err(|e| chain_err(e.to_string()))?;
    let signing_at = signing_at(&v, &survey.best, survey.tip, &address, chain.silent_blocks)
        .map_err(chain_err)?;
    let nodes = chain
        .nodes
        .iter()
        .map(|n| {
            node(
                &chain.id,
                &n.name,
                &n.rpc,
                survey.tip,
                chain.max_lag,
                signing_at.is_none(),
            )
        })
        .collect();
    let peers = match from_v.share_id.or(to_v.share_id) {
        Some(id) => chain.peers.iter().map(|p| peer(&chain.id, p, id)).collect(),
        None => Vec::new(),
    };
    Ok(Observed {
        at: now(),
        tip: survey.tip,
        tip_source: survey.best,
        address,
        last_signed,
        signing_at,
        from: from_v,
        to: to_v,
        nodes,
        peers,
    })
}

/// What another cosigner's config pins for share `id` (for chain `chain_id`).
pub fn peer(chain_id: &str, p: &crate::config::PeerConfig, id: u16) -> PeerView {
    let mut v = PeerView {
        name: p.name.clone(),
        pinned: None,
        problem: None,
    };
    let Some(path) = &p.config else {
        v.problem = Some("no config given; its door command is trusted".into());
        return v;
    };
    match pinned(chain_id, path, id) {
        Ok(k) => v.pinned = Some(k),
        Err(e) => v.problem = Some(e),
    }
    v
}

/// The link public key the cosigner config at `path` pins for share `id`.
fn pinned(chain_id: &str, path: &Path, id: u16) -> Result<String, String> {
    let cfg = signer::Config::load(path).map_err(|e| e.to_string())?;
    if !cfg.chains.iter().any(|c| c.id == chain_id) {
        return Err(format!("{} has no [[chain]] {chain_id}", path.display()));
    }
    let t = cfg
        .threshold
        .as_ref()
        .ok_or_else(|| format!("{} has no [threshold]", path.display()))?;
    t.peers
        .iter()
        .find(|p| p.id == id)
        .map(|p| p.link_public_key.to_string())
        .ok_or_else(|| format!("{} pins no cosigner with share id {id}", path.display()))
}

/// The newest height among the `blocks` below the tip whose canonical commit carries
/// `address`'s signature.
pub fn signing_at(
    v: &ChainView,
    url: &str,
    tip: u64,
    address: &str,
    blocks: u64,
) -> Result<Option<u64>, String> {
    let newest = tip.saturating_sub(1);
    let oldest = newest.saturating_sub(blocks.saturating_sub(1)).max(1);
    for h in (oldest..=newest).rev() {
        if v.signed_at(url, h, address).map_err(|e| e.to_string())? {
            return Ok(Some(h));
        }
    }
    Ok(None)
}

/// A node is caught up when it answers for the right chain, is not syncing, and is
/// within `max_lag` of the tip. While the validator's key is silent (`silent`), lag is
/// only noted: a CometBFT node whose remote signer is gone stops at its own votes (each
/// sign request waits out its retries), so it falls behind until a signer connects.
fn node(chain: &str, name: &str, rpc: &str, tip: u64, max_lag: u64, silent: bool) -> NodeView {
    let sources = Sources::new(chain, &[rpc.to_string()], RPC_TIMEOUT, MAX_BLOCK_AGE);
    let url = rpc.trim_end_matches('/');
    let (height, problem) = match sources.tip(url) {
        Ok(t) => (Some(t.height), None),
        Err(Problem::CatchingUp { height }) => (
            Some(height),
            Some(format!("catching up (at height {height})")),
        ),
        Err(p) => (None, Some(p.to_string())),
    };
    let lag = height.map(|h| tip.saturating_sub(h));
    let behind = lag
        .filter(|l| *l > max_lag)
        .map(|l| format!("{l} blocks behind the chain (more than max_lag {max_lag})"));
    let (problem, note) = match (problem, behind) {
        (Some(p), _) => (Some(p), None),
        (None, Some(b)) if silent => (None, Some(format!("{b}: stalled without its signer"))),
        (None, b) => (b, None),
    };
    NodeView {
        name: name.into(),
        height,
        lag,
        caught_up: problem.is_none(),
        problem,
        note,
    }
}

/// One side's key and state, from its signer config or its node's files.
pub fn side(chain_id: &str, s: &SignerConfig) -> SideView {
    let mut v = SideView {
        name: s.name.clone(),
        host: s.host.clone(),
        config: String::new(),
        key_file: None,
        key_sha256: None,
        public_key: None,
        state_file: None,
        state: None,
        problem: None,
        share_id: None,
        link_public_key: None,
    };
    let mut problems = Vec::new();
    let files = match s.side() {
        Side::Signer(config) => {
            v.config = config.display().to_string();
            signer_files(chain_id, config)
        }
        Side::Node { home, staged_key } => {
            v.config = format!("node {}", home.display());
            crate::node_key::files(home).map(|f| SideFiles {
                key: KeyFile::Key(staged_key.to_path_buf()),
                state: f.state,
            })
        }
    };
    let files = match files {
        Ok(f) => f,
        Err(e) => {
            v.problem = Some(e);
            return v;
        }
    };
    v.state_file = Some(files.state.display().to_string());
    let key = match &files.key {
        KeyFile::Key(k) => k,
        KeyFile::Share { share, .. } => share,
    };
    v.key_file = Some(key.display().to_string());
    match std::fs::read(key) {
        Ok(bytes) => v.key_sha256 = Some(hex::encode(Sha256::digest(&bytes))),
        Err(e) => problems.push(format!("key {}: {e}", key.display())),
    }
    match &files.key {
        KeyFile::Key(key) => match signer::keys::SoftKey::load(key) {
            Ok(k) => v.public_key = Some(hex::encode(k.public_key().bytes())),
            Err(e) => problems.push(e.to_string()),
        },
        KeyFile::Share { share, link_key } => {
            match threshold::share::Share::load(share) {
                Ok(sh) => {
                    v.public_key = Some(hex::encode(sh.group_public_key()));
                    v.share_id = Some(sh.id());
                }
                Err(e) => problems.push(e.to_string()),
            }
            match threshold::link::LinkKey::load(link_key) {
                Ok(k) => v.link_public_key = Some(k.public().to_string()),
                Err(e) => problems.push(format!("link key {}: {e}", link_key.display())),
            }
        }
    }
    let state = files.state;
    let read = match s.side() {
        Side::Signer(_) => read_state(&state),
        Side::Node { .. } => crate::node_key::read_state(&state, chain_id),
    };
    match read {
        Ok(st) => v.state = st,
        Err(e) => problems.push(e),
    }
    if !problems.is_empty() {
        v.problem = Some(problems.join("; "));
    }
    v
}

/// What a side signs with.
enum KeyFile {
    /// A key file.
    Key(PathBuf),
    /// A threshold share, and the cosigner's link key.
    Share { share: PathBuf, link_key: PathBuf },
}

/// A side's key (or share) and state file for one chain.
struct SideFiles {
    key: KeyFile,
    state: PathBuf,
}

/// A bulwark signer's key or share, and its state file for `chain_id`.
fn signer_files(chain_id: &str, config: &Path) -> Result<SideFiles, String> {
    let cfg = signer::Config::load(config).map_err(|e| e.to_string())?;
    let ch = cfg
        .chains
        .iter()
        .find(|c| c.id == chain_id)
        .ok_or_else(|| format!("{} has no [[chain]] {chain_id}", config.display()))?;
    let key = match (&ch.key, &ch.share, &cfg.threshold) {
        (Some(k), _, _) => KeyFile::Key(k.clone()),
        (None, Some(share), Some(t)) => KeyFile::Share {
            share: share.clone(),
            link_key: t.link_key.clone(),
        },
        _ => {
            return Err(format!(
                "{}: chain {chain_id} has neither a key file nor a threshold share (a vault or PKCS#11 key does not move by failover)",
                config.display()
            ))
        }
    };
    Ok(SideFiles {
        key,
        state: ch.state.clone(),
    })
}

/// A state file's HRS; None when there is no file.
pub fn read_state(path: &Path) -> Result<Option<Hrs>, String> {
    if !path.exists() {
        return Ok(None);
    }
    let s = signer::state::show(path).map_err(|e| e.to_string())?;
    Ok(Some(Hrs {
        height: s.height,
        round: s.round,
        step: s.step as u8,
    }))
}

fn address_of(public_hex: &str) -> Option<String> {
    let bytes = hex::decode(public_hex).ok()?;
    let key = if bytes.len() == 33 {
        privval::PublicKey::Secp256k1(bytes)
    } else {
        privval::PublicKey::Ed25519(bytes)
    };
    signer::floor::address(&key)
}

/// Now, RFC 3339 UTC.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

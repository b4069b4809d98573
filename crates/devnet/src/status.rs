//! `bulwark devnet status`: what each node is doing. The JSON form is documented in the
//! README and read by other tools and tests; change it only compatibly.

use crate::error::Result;
use crate::manifest::{self, Manifest, Node, Role, SignerSide};
use crate::rpc::{Commit, Rpc, FLAG_COMMIT, FLAG_NIL};
use crate::{cosigner, process, signer, watch};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole devnet's status.
#[derive(Debug, Clone, Serialize)]
pub struct DevnetStatus {
    /// Absolute devnet directory.
    pub dir: PathBuf,
    /// Chain ID.
    pub chain_id: String,
    /// CometBFT version the devnet runs.
    pub cometbft: String,
    /// How val0 signs: `file` (key file on its primary) or `bulwark` (a remote signer).
    pub signer: String,
    /// The devnet's `bulwark signer` process, when `signer` is `bulwark`.
    pub signer_process: Option<SignerProcess>,
    /// The standby signer (`signer-backup`), when `signer` is `bulwark`: started only by
    /// a failover.
    pub standby_signer_process: Option<SignerProcess>,
    /// val0's threshold cosigners, when `signer` is `threshold`.
    pub cosigners: Vec<CosignerProcess>,
    /// The devnet's `bulwark watch` process.
    pub watch_process: WatchProcess,
    /// Genesis validators.
    pub validators: Vec<ValidatorInfo>,
    /// Every node.
    pub nodes: Vec<NodeStatus>,
}

/// The devnet's signer process.
#[derive(Debug, Clone, Serialize)]
pub struct SignerProcess {
    /// Its process name: `signer`, or `signer-backup` for the standby.
    pub name: String,
    /// The val0 nodes whose door is open to it.
    pub let_in_by: Vec<String>,
    /// Whether it runs.
    pub running: bool,
    /// Its pid, when running.
    pub pid: Option<u32>,
    /// Its Prometheus endpoint.
    pub metrics_url: Option<String>,
    /// Its config file.
    pub config: PathBuf,
    /// val0's sign-state file.
    pub state: PathBuf,
}

/// One of val0's threshold cosigners.
#[derive(Debug, Clone, Serialize)]
pub struct CosignerProcess {
    /// Process name, `cosigner-1` .. `cosigner-3`, or `cosigner-standby` (a second host
    /// of share 2) (for `stop`).
    pub name: String,
    /// Its share id.
    pub id: u16,
    /// Whether it runs.
    pub running: bool,
    /// Its pid, when running.
    pub pid: Option<u32>,
    /// Where it listens for the other cosigners.
    pub link_addr: String,
    /// Its Prometheus endpoint.
    pub metrics_url: String,
    /// Its config file.
    pub config: PathBuf,
    /// Its sign-state file.
    pub state: PathBuf,
}

/// The devnet's watch process.
#[derive(Debug, Clone, Serialize)]
pub struct WatchProcess {
    /// Whether it runs.
    pub running: bool,
    /// Its pid, when running.
    pub pid: Option<u32>,
    /// Its status page (`/api/status` for JSON, `/metrics` for Prometheus).
    pub url: String,
    /// Its config file.
    pub config: PathBuf,
}

/// A genesis validator.
#[derive(Debug, Clone, Serialize)]
pub struct ValidatorInfo {
    /// Name.
    pub name: String,
    /// Consensus address (hex).
    pub address: String,
    /// Voting power.
    pub power: u64,
}

/// One node's status.
#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
    /// Node name.
    pub name: String,
    /// `validator`, `backup` or `sentry`.
    pub role: Role,
    /// The validator this node signs for, if any.
    pub validator: Option<String>,
    /// Whether its process runs.
    pub running: bool,
    /// Its pid, when running.
    pub pid: Option<u32>,
    /// RPC URL.
    pub rpc_url: String,
    /// P2P address (`id@host:port`).
    pub p2p_address: String,
    /// CometBFT Prometheus metrics URL.
    pub metrics_url: String,
    /// Remote-signer listen address, for val0's nodes.
    pub signer_laddr: Option<String>,
    /// Latest block height, when the RPC answered.
    pub height: Option<u64>,
    /// Whether the node is syncing, when the RPC answered.
    pub catching_up: Option<bool>,
    /// Number of peers, when the RPC answered.
    pub peers: Option<u64>,
    /// Signatures of the last block the node has committed.
    pub last_commit: Option<CommitSigners>,
    /// Why the RPC could not be read, when it could not.
    pub error: Option<String>,
}

/// Who signed a committed block.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CommitSigners {
    /// Height of the block.
    pub height: u64,
    /// Validators that signed for the block.
    pub signed: Vec<String>,
    /// Validators that voted nil (counted as signed by the Cosmos SDK).
    pub nil: Vec<String>,
    /// Validators whose signature is absent.
    pub absent: Vec<String>,
}

impl DevnetStatus {
    /// The highest height any node reports.
    pub fn best_height(&self) -> Option<u64> {
        self.nodes.iter().filter_map(|n| n.height).max()
    }
}

/// Read the status of every node of the devnet at `dir`.
pub async fn status(dir: &Path) -> Result<DevnetStatus> {
    let dir = manifest::absolute(dir);
    let m = Manifest::load(&dir)?;
    let tasks: Vec<_> = m
        .nodes
        .iter()
        .cloned()
        .map(|node| {
            let dir = dir.clone();
            let m = m.clone();
            tokio::spawn(async move { node_status(&dir, &m, &node).await })
        })
        .collect();
    let mut nodes = Vec::new();
    for t in tasks {
        nodes.push(t.await.expect("status task does not panic"));
    }
    Ok(DevnetStatus {
        dir: dir.clone(),
        chain_id: m.chain_id.clone(),
        cometbft: m.cometbft_version.clone(),
        signer: m.signer.as_str().to_string(),
        signer_process: signer::runs_signer(&m)
            .then(|| signer_process(&dir, &m, SignerSide::Primary)),
        standby_signer_process: signer::runs_signer(&m)
            .then(|| signer_process(&dir, &m, SignerSide::Standby)),
        cosigners: if cosigner::runs_cosigners(&m) {
            cosigner::process_names()
                .into_iter()
                .map(|name| {
                    let config = cosigner::config_of(&dir, &name);
                    let pid = process::running_pid(&dir, &name, &config);
                    let (link, metrics) = cosigner::ports_of(&m, &name).expect("a cosigner");
                    CosignerProcess {
                        id: cosigner::share_of(&name).expect("a cosigner"),
                        running: pid.is_some(),
                        pid,
                        link_addr: format!("127.0.0.1:{link}"),
                        metrics_url: format!("http://127.0.0.1:{metrics}/metrics"),
                        state: cosigner::state_of(&dir, &name),
                        config,
                        name,
                    }
                })
                .collect()
        } else {
            Vec::new()
        },
        watch_process: {
            let pid = watch::pid(&dir);
            WatchProcess {
                running: pid.is_some(),
                pid,
                url: watch::url(&m),
                config: watch::config_path(&dir),
            }
        },
        validators: m
            .validators
            .iter()
            .map(|v| ValidatorInfo {
                name: v.name.clone(),
                address: v.address.clone(),
                power: v.power,
            })
            .collect(),
        nodes,
    })
}

async fn node_status(dir: &Path, m: &Manifest, node: &Node) -> NodeStatus {
    let pid = process::node_pid(dir, node);
    let mut s = NodeStatus {
        name: node.name.clone(),
        role: node.role,
        validator: node.validator.clone(),
        running: pid.is_some(),
        pid,
        rpc_url: node.rpc_url(),
        p2p_address: node.p2p_address(),
        metrics_url: node.metrics_url(),
        signer_laddr: node.signer_laddr(),
        height: None,
        catching_up: None,
        peers: None,
        last_commit: None,
        error: None,
    };
    if pid.is_none() {
        s.error = Some("not running".into());
        return s;
    }
    let rpc = Rpc::new(node.rpc_url(), Duration::from_secs(2));
    let (st, peers) = tokio::join!(rpc.status(), rpc.peer_count());
    match st {
        Ok(st) => {
            s.height = Some(st.height);
            s.catching_up = Some(st.catching_up);
            // The canonical commit of block H is stored with block H+1; the latest one a
            // node has is a commit of its own, holding only the votes it had seen.
            if st.height >= 2 {
                s.last_commit = rpc
                    .commit(Some(st.height - 1))
                    .await
                    .ok()
                    .map(|c| signers(m, &c));
            }
        }
        Err(e) => s.error = Some(e.to_string()),
    }
    s.peers = peers.ok();
    s
}

/// Map a commit's signatures to validator names. Commits list one slot per validator in
/// validator-set order (power descending, then address ascending); absent slots carry no
/// address, so slots are matched by position.
pub fn signers(m: &Manifest, c: &Commit) -> CommitSigners {
    let mut set: Vec<_> = m.validators.iter().collect();
    set.sort_by(|a, b| {
        b.power
            .cmp(&a.power)
            .then_with(|| a.address.cmp(&b.address))
    });
    let mut out = CommitSigners {
        height: c.height,
        signed: vec![],
        nil: vec![],
        absent: vec![],
    };
    for (i, v) in set.iter().enumerate() {
        let flag = c.signatures.get(i).map_or(0, |s| s.flag);
        match flag {
            FLAG_COMMIT => out.signed.push(v.name.clone()),
            FLAG_NIL => out.nil.push(v.name.clone()),
            _ => out.absent.push(v.name.clone()),
        }
    }
    for list in [&mut out.signed, &mut out.nil, &mut out.absent] {
        list.sort_by_key(|n| validator_index(n));
    }
    out
}

fn validator_index(name: &str) -> (usize, String) {
    let n = name.trim_start_matches("val").parse().unwrap_or(usize::MAX);
    (n, name.to_string())
}

fn signer_process(dir: &Path, m: &Manifest, side: SignerSide) -> SignerProcess {
    let config = signer::config_path_of(dir, side);
    let pid = crate::process::running_pid(dir, side.name(), &config);
    let port = match side {
        SignerSide::Primary => m.signer_metrics_port,
        SignerSide::Standby => m.standby_signer_metrics_port,
    };
    SignerProcess {
        name: side.name().into(),
        let_in_by: m
            .nodes
            .iter()
            .filter(|n| crate::topology::is_operator_node(n) && n.door == side)
            .map(|n| n.name.clone())
            .collect(),
        running: pid.is_some(),
        pid,
        metrics_url: port.map(|p| format!("http://127.0.0.1:{p}/metrics")),
        config,
        state: signer::state_path_of(dir, side),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cometbft::Line;
    use crate::manifest::{SignerMode, Validator};

    #[test]
    fn maps_commit_slots_in_validator_set_order() {
        let mut m = Manifest::new("c".into(), Line::V0_38, "v0.38.26".into(), SignerMode::File);
        for (name, addr) in [("val0", "CC"), ("val1", "AA"), ("val2", "BB")] {
            m.validators.push(Validator {
                name: name.into(),
                address: addr.into(),
                pub_key: String::new(),
                power: 10,
            });
        }
        // Set order: AA (val1), BB (val2), CC (val0).
        let sig = |flag, address: &str| comet::Signature {
            flag,
            address: address.into(),
        };
        let c = Commit {
            height: 7,
            round: Some(0),
            signatures: vec![sig(2, "AA"), sig(1, ""), sig(3, "CC")],
        };
        let s = signers(&m, &c);
        assert_eq!(s.height, 7);
        assert_eq!(s.signed, ["val1"]);
        assert_eq!(s.absent, ["val2"]);
        assert_eq!(s.nil, ["val0"]);
    }
}

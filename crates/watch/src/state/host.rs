//! Hosts and signers as observed: filesystems, memory, load; signer connections.

use crate::time::Ts;
use serde::Serialize;

/// One node connection of a signer.
#[derive(Debug, Clone, Serialize)]
pub struct SignerNodeState {
    /// Chain ID.
    pub chain: String,
    /// Node name in the signer's config.
    pub node: String,
    /// Connected now.
    pub connected: bool,
    /// Since when it has been disconnected.
    pub disconnected_since: Option<Ts>,
}

/// A Bulwark signer as its metrics show it.
#[derive(Debug, Clone, Serialize)]
pub struct SignerState {
    /// Signer name.
    pub name: String,
    /// The `[[host]]` it runs on, if its `[[signer]]` names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The metrics endpoint answered.
    pub up: bool,
    /// Why it is not up.
    pub error: Option<String>,
    /// Since when it has been down.
    pub down_since: Option<Ts>,
    /// Node connections.
    pub nodes: Vec<SignerNodeState>,
    /// Requests refused, for one of the counted reasons, in the last 10 minutes.
    pub recent_refusals: u64,
    /// Chains whose key comes from the vault: since when the watch has seen it sealed
    /// (waiting for its custodians), or None while it is open.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub sealed: std::collections::BTreeMap<String, Option<Ts>>,
    /// The cosigner group it belongs to (`cosigners` in its config).
    pub cosigners: Option<String>,
    /// The name the other cosigners know it by.
    pub peer_name: String,
    /// Its threshold figures, when its metrics show it is a cosigner
    /// (`bulwark_threshold_threshold` present); kept from the last answer while down.
    pub threshold: Option<crate::state::CosignerState>,
}

/// One filesystem on a host.
#[derive(Debug, Clone, Serialize)]
pub struct FsState {
    /// Mount point.
    pub mountpoint: String,
    /// Size in bytes.
    pub size_bytes: f64,
    /// Free bytes available to unprivileged users.
    pub avail_bytes: f64,
    /// Used share, 0..1.
    pub used_ratio: f64,
    /// Predicted seconds until full from recent samples; `None` when not filling.
    pub full_in_seconds: Option<f64>,
}

/// A scheduled snapshot job (`bulwark snapshot run`), as its metrics file shows it
/// through the host's node_exporter textfile collector.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotJobState {
    /// The job's name.
    pub job: String,
    /// The chain of its last snapshot, when known.
    pub chain: Option<String>,
    /// When its last snapshot was taken.
    pub last_success: Option<Ts>,
    /// When it last tried.
    pub last_attempt: Option<Ts>,
    /// Its last attempt failed.
    pub last_failed: bool,
}

/// A host as node_exporter shows it.
#[derive(Debug, Clone, Serialize)]
pub struct HostState {
    /// Host name.
    pub name: String,
    /// Whether it is read through a node_exporter (not the watch's own host).
    #[serde(skip)]
    pub remote: bool,
    /// The exporter answered.
    pub up: bool,
    /// Why it is not up.
    pub error: Option<String>,
    /// Since when it has been down.
    pub down_since: Option<Ts>,
    /// Filesystems.
    pub filesystems: Vec<FsState>,
    /// 1-minute load average divided by the number of CPUs.
    pub load_per_cpu: Option<f64>,
    /// Used memory share, 0..1.
    pub memory_used_ratio: Option<f64>,
    /// Scheduled snapshot jobs that report through its node_exporter.
    pub snapshots: Vec<SnapshotJobState>,
}

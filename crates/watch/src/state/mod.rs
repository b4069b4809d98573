//! What the collectors last saw: the input of the rules and of `/api/status`.
//!
//! This room holds the observed data types (chains, nodes, hosts, signers, and a
//! chain's Cosmos SDK data as the watch keeps it) and the values derived from them.
//! Collectors write them, rules and the server read them; nothing here does I/O.

mod chain;
mod channel;
mod cosigner;
mod host;
mod node;
mod production;
mod relayer;
mod sdk;
mod sdk_slow;

pub use crate::time::{now, Ts};
pub use chain::{ChainState, DoubleSign, GridEntry, Sign, SourceState};
#[cfg(test)]
pub(crate) use chain::{CommitRounds, SlowHeight};
pub use channel::ChannelState;
pub use cosigner::{
    groups, CosignerChainState, CosignerGroup, CosignerPeerState, CosignerState, GroupChain,
};
pub use host::{FsState, HostState, SignerNodeState, SignerState, SnapshotJobState};
pub use node::{NodeMetrics, NodeMetricsState, NodeState};
pub use production::Production;
pub use relayer::{HermesBacklog, HermesFigures, HermesState, HermesWallet};
pub use sdk::{assess, refresh, SdkState};
pub use sdk_slow::{CommissionChange, GovProposal, GovState, SlowState, WalletState};
use serde::Serialize;

/// Everything observed, shared between collectors, rules and the HTTP API.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Observed {
    /// Chains in config order.
    pub chains: Vec<ChainState>,
    /// Nodes in config order.
    pub nodes: Vec<NodeState>,
    /// Hosts in config order.
    pub hosts: Vec<HostState>,
    /// Signers in config order.
    pub signers: Vec<SignerState>,
    /// Notification channels in config order, as their deliveries went.
    pub channels: Vec<ChannelState>,
    /// The other watches (`[[peer]]`) in config order.
    pub peers: Vec<PeerState>,
}

/// Another watch, as its `/healthz` answers.
#[derive(Debug, Clone, Serialize)]
pub struct PeerState {
    /// Its name.
    pub name: String,
    /// It answered the last check.
    pub up: bool,
    /// Why it did not.
    pub error: Option<String>,
    /// Since when it has not answered.
    pub down_since: Option<Ts>,
}

impl Observed {
    /// Best height of a chain: the chain's own latest height and every up node's.
    pub fn best_height(&self, chain: &str) -> Option<u64> {
        let chain_h = self
            .chains
            .iter()
            .filter(|c| c.id == chain)
            .filter_map(|c| c.height);
        let node_h = self
            .nodes
            .iter()
            .filter(|n| n.chain == chain && n.up)
            .filter_map(|n| n.height);
        chain_h.chain(node_h).max()
    }
}

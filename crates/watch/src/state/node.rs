//! A node as observed: its RPC health and its own Prometheus metrics.

use crate::config::Role;
use crate::time::Ts;
use serde::Serialize;

/// A node's health.
#[derive(Debug, Clone, Serialize)]
pub struct NodeState {
    /// Node name.
    pub name: String,
    /// Chain ID it should be on.
    pub chain: String,
    /// Its role.
    pub role: Role,
    /// The `[[host]]` it runs on, if its `[[node]]` names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// RPC answered with sane data for the right chain.
    pub up: bool,
    /// Why it is not up.
    pub error: Option<String>,
    /// Since when it has been down.
    pub down_since: Option<Ts>,
    /// Since when it has been catching up.
    pub catching_up_since: Option<Ts>,
    /// Latest height.
    pub height: Option<u64>,
    /// Whether it is syncing.
    pub catching_up: Option<bool>,
    /// Connected peers.
    pub peers: Option<u64>,
    /// When it was last read successfully.
    pub seen_at: Option<Ts>,
    /// How long its last `/status` took to answer.
    pub latency_seconds: Option<f64>,
    /// The oldest block it serves (`earliest_block_height`).
    pub earliest_height: Option<u64>,
    /// The history it must serve (`history` in its `[[node]]`).
    #[serde(skip)]
    pub history: Option<crate::config::History>,
    /// Its Prometheus metrics, when `metrics` is configured.
    pub metrics: Option<crate::state::NodeMetricsState>,
    /// Its Hermes' telemetry, when `hermes` is configured (a relayer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hermes: Option<crate::state::HermesState>,
}

/// The figures read from one scrape.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NodeMetrics {
    /// Consensus round at the current height (0 is normal).
    pub consensus_rounds: Option<u64>,
    /// Share of voting power missing from the last commit, 0..1.
    pub missing_power_ratio: Option<f64>,
    /// Transactions in the mempool.
    pub mempool_txs: Option<u64>,
}

/// A node's metrics endpoint as the collector last read it.
#[derive(Debug, Clone, Serialize)]
pub struct NodeMetricsState {
    /// The URL.
    pub url: String,
    /// The last scrape gave sane figures for the right chain.
    pub up: bool,
    /// Why not.
    pub error: Option<String>,
    /// Since when it has failed.
    pub down_since: Option<Ts>,
    /// The last figures (kept while down, so a rule neither fires nor clears on them).
    pub figures: NodeMetrics,
}

impl NodeMetricsState {
    /// Not read yet.
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_string(),
            up: false,
            error: Some("not read yet".into()),
            down_since: None,
            figures: NodeMetrics::default(),
        }
    }

    /// Record a scrape's outcome at `now`.
    pub fn record(&mut self, res: Result<NodeMetrics, String>, now: Ts) {
        match res {
            Ok(m) => {
                self.up = true;
                self.error = None;
                self.down_since = None;
                self.figures = m;
            }
            Err(e) => {
                if self.up || self.down_since.is_none() {
                    self.down_since = Some(now);
                }
                self.up = false;
                self.error = Some(e);
            }
        }
    }
}

//! Prometheus metrics of block production (`bulwark_watch_*`): the blocks our
//! validator proposed. Part of [`crate::serve::metrics_sdk::SdkMetrics`].

use crate::state::ChainState;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

/// Proposed-block gauges per chain.
#[derive(Debug, Default)]
pub struct ProductionMetrics {
    proposed: Family<Labels, Gauge>,
    empty: Family<Labels, Gauge>,
}

impl ProductionMetrics {
    /// Create the metrics and register them in `r`.
    pub fn register(r: &mut Registry) -> Self {
        let m = Self::default();
        r.register(
            "bulwark_watch_validator_proposed_blocks",
            "Blocks our validator proposed among the chain's last grid_blocks blocks read",
            m.proposed.clone(),
        );
        r.register(
            "bulwark_watch_validator_empty_proposed_blocks",
            "Of those, blocks without transactions",
            m.empty.clone(),
        );
        m
    }

    /// Refresh from chain `c`.
    pub fn update(&self, c: &ChainState) {
        if c.validator_address.is_none() {
            return;
        }
        let l = vec![("chain", c.id.clone())];
        let p = &c.production;
        self.proposed.get_or_create(&l).set(p.proposed() as i64);
        self.empty.get_or_create(&l).set(p.empty() as i64);
    }
}

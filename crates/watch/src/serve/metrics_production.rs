//! Prometheus metrics of block production (`bulwark_watch_*`): the blocks our
//! validator proposed, and the turns it missed. Part of [`crate::serve::metrics_sdk::SdkMetrics`].

use crate::serve::series::{Labels, Retain, Tracked};
use crate::state::ChainState;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Proposed-block gauges per chain.
#[derive(Debug, Default)]
pub struct ProductionMetrics {
    proposed: Tracked<Gauge>,
    empty: Tracked<Gauge>,
    missed: Tracked<Gauge>,
}

impl ProductionMetrics {
    /// Keep only the series whose labels `keep` accepts.
    pub(crate) fn retain(&self, keep: &dyn Fn(&Labels) -> bool) {
        let all: [&dyn Retain; 3] = [&self.proposed, &self.empty, &self.missed];
        for f in all {
            f.retain(keep);
        }
    }
    /// Create the metrics and register them in `r`.
    pub fn register(r: &mut Registry) -> Self {
        let m = Self::default();
        r.register(
            "bulwark_watch_validator_proposed_blocks",
            "Blocks our validator proposed among the chain's last grid_blocks blocks read",
            m.proposed.family(),
        );
        r.register(
            "bulwark_watch_validator_empty_proposed_blocks",
            "Of those, blocks without transactions",
            m.empty.family(),
        );
        r.register(
            "bulwark_watch_validator_missed_proposals",
            "Heights among those where our validator's turn to propose passed to a later round",
            m.missed.family(),
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
        self.missed.get_or_create(&l).set(p.missed() as i64);
    }
}

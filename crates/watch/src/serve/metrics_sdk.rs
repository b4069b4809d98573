//! Prometheus metrics of the Cosmos SDK data (`bulwark_watch_*`), part of [`crate::serve::metrics::Metrics`].

use crate::serve::series::{Labels, Retain, Tracked};
use crate::state::Observed;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

type FGauge = Gauge<f64, AtomicU64>;

/// Slashing, staking and upgrade gauges per chain.
#[derive(Debug, Default)]
pub struct SdkMetrics {
    source_up: Tracked<Gauge>,
    window_blocks: Tracked<Gauge>,
    allowed_missed: Tracked<Gauge>,
    window_missed: Tracked<Gauge>,
    window_missed_ratio: Tracked<FGauge>,
    jail_in_blocks: Tracked<Gauge>,
    jail_in_seconds: Tracked<FGauge>,
    jailed: Tracked<Gauge>,
    tombstoned: Tracked<Gauge>,
    bonded: Tracked<Gauge>,
    block_time: Tracked<FGauge>,
    upgrade_height: Tracked<Gauge>,
    upgrade_blocks: Tracked<Gauge>,
    upgrade_seconds: Tracked<FGauge>,
    oracle_missed: Tracked<Gauge>,
    oracle_allowed: Tracked<Gauge>,
    slow: crate::serve::metrics_slow::SlowMetrics,
    production: crate::serve::metrics_production::ProductionMetrics,
}

impl SdkMetrics {
    /// Keep only the series whose labels `keep` accepts.
    pub(crate) fn retain(&self, keep: &dyn Fn(&Labels) -> bool) {
        let all: [&dyn Retain; 16] = [
            &self.oracle_missed,
            &self.oracle_allowed,
            &self.source_up,
            &self.window_blocks,
            &self.allowed_missed,
            &self.window_missed,
            &self.window_missed_ratio,
            &self.jail_in_blocks,
            &self.jail_in_seconds,
            &self.jailed,
            &self.tombstoned,
            &self.bonded,
            &self.block_time,
            &self.upgrade_height,
            &self.upgrade_blocks,
            &self.upgrade_seconds,
        ];
        for f in all {
            f.retain(keep);
        }
        self.slow.retain(keep);
        self.production.retain(keep);
    }
    /// Create the metrics and register them in `r`.
    pub fn register(r: &mut Registry) -> Self {
        let m = Self {
            slow: crate::serve::metrics_slow::SlowMetrics::register(r),
            production: crate::serve::metrics_production::ProductionMetrics::register(r),
            ..Self::default()
        };
        r.register(
            "bulwark_watch_oracle_missed_votes",
            "Vote periods of the price-oracle module's slash window our validator missed",
            m.oracle_missed.family(),
        );
        r.register(
            "bulwark_watch_oracle_allowed_misses",
            "Misses the price-oracle module's slash window allows before a slash",
            m.oracle_allowed.family(),
        );
        r.register(
            "bulwark_watch_sdk_source_up",
            "1 when the endpoint the chain's Cosmos SDK data is read from (via rest or abci) answers with sane data",
            m.source_up.family(),
        );
        r.register(
            "bulwark_watch_slashing_window_blocks",
            "Blocks in the chain's slashing window (signed_blocks_window)",
            m.window_blocks.family(),
        );
        r.register(
            "bulwark_watch_slashing_allowed_missed_blocks",
            "Missed blocks the chain allows in its window; one more jails the validator",
            m.allowed_missed.family(),
        );
        r.register(
            "bulwark_watch_validator_window_missed_blocks",
            "Our validator's missed blocks in the slashing window (missed_blocks_counter)",
            m.window_missed.family(),
        );
        r.register(
            "bulwark_watch_validator_window_missed_ratio",
            "Our validator's missed blocks over the misses the chain allows (1: the brink of jail)",
            m.window_missed_ratio.family(),
        );
        r.register(
            "bulwark_watch_validator_jail_in_blocks",
            "Projected blocks until our validator is jailed at its current miss rate (absent when not heading there)",
            m.jail_in_blocks.family(),
        );
        r.register(
            "bulwark_watch_validator_jail_in_seconds",
            "Projected seconds until our validator is jailed at its current miss rate (absent when not heading there)",
            m.jail_in_seconds.family(),
        );
        r.register(
            "bulwark_watch_validator_jailed",
            "1 while our validator is jailed",
            m.jailed.family(),
        );
        r.register(
            "bulwark_watch_validator_tombstoned",
            "1 when our validator is tombstoned",
            m.tombstoned.family(),
        );
        r.register(
            "bulwark_watch_validator_bonded",
            "1 while our validator is in the active set (BOND_STATUS_BONDED)",
            m.bonded.family(),
        );
        r.register(
            "bulwark_watch_block_time_seconds",
            "Average time between recent blocks, from block headers",
            m.block_time.family(),
        );
        r.register(
            "bulwark_watch_upgrade_height",
            "Height of the scheduled software upgrade (absent when none)",
            m.upgrade_height.family(),
        );
        r.register(
            "bulwark_watch_upgrade_blocks_remaining",
            "Blocks until the scheduled software upgrade (absent when none)",
            m.upgrade_blocks.family(),
        );
        r.register(
            "bulwark_watch_upgrade_in_seconds",
            "Estimated seconds until the scheduled software upgrade (absent when none)",
            m.upgrade_seconds.family(),
        );
        m
    }

    /// Refresh from what was observed.
    pub fn update(&self, obs: &Observed, now: crate::state::Ts) {
        for c in &obs.chains {
            self.slow.update(c, now);
            self.production.update(c);
            let Some(s) = &c.sdk else {
                continue;
            };
            for src in &s.sources {
                let l = vec![
                    ("chain", c.id.clone()),
                    ("url", src.url.clone()),
                    ("via", s.via.name().to_string()),
                ];
                self.source_up.get_or_create(&l).set(src.healthy as i64);
            }
            let l = vec![("chain", c.id.clone())];
            let a = &s.assessment;
            let int = |f: &Tracked<Gauge>, v: Option<i64>| match v {
                Some(v) => {
                    f.get_or_create(&l).set(v);
                }
                None => {
                    f.remove(&l);
                }
            };
            let float = |f: &Tracked<FGauge>, v: Option<f64>| match v {
                Some(v) => {
                    f.get_or_create(&l).set(v);
                }
                None => {
                    f.remove(&l);
                }
            };
            let o = s.oracle.as_ref();
            int(&self.oracle_missed, o.map(|o| o.miss_counter as i64));
            int(
                &self.oracle_allowed,
                o.and_then(|o| o.params.allowed_misses()).map(|a| a as i64),
            );
            let p = s.slashing_params.as_ref();
            int(
                &self.window_blocks,
                p.map(|p| p.signed_blocks_window as i64),
            );
            int(
                &self.allowed_missed,
                p.map(|p| p.allowed_missed_blocks as i64),
            );
            int(&self.window_missed, a.missed_in_window.map(|v| v as i64));
            float(
                &self.window_missed_ratio,
                a.window_missed_ratio.filter(|r| r.is_finite()),
            );
            int(&self.jail_in_blocks, a.jail_in_blocks.map(|v| v as i64));
            float(&self.jail_in_seconds, a.jail_in_seconds);
            int(&self.jailed, a.jailed.map(i64::from));
            int(&self.tombstoned, a.tombstoned.map(i64::from));
            int(&self.bonded, a.bonded.map(i64::from));
            float(&self.block_time, s.block_time_seconds);
            int(
                &self.upgrade_height,
                s.upgrade_plan.as_ref().map(|p| p.height as i64),
            );
            int(&self.upgrade_blocks, a.upgrade_in_blocks);
            float(&self.upgrade_seconds, a.upgrade_in_seconds);
        }
    }
}

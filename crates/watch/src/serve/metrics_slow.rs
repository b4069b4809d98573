//! Prometheus metrics of the slowly changing Cosmos SDK data (`bulwark_watch_*`):
//! unvoted governance proposals, wallet balances, our validator's standing and
//! commission. Part of [`crate::serve::metrics_sdk::SdkMetrics`].

use crate::serve::series::{Labels, Retain, Tracked};
use crate::state::{ChainState, Ts};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

type FGauge = Gauge<f64, AtomicU64>;

/// Governance, wallet and stake gauges.
#[derive(Debug, Default)]
pub struct SlowMetrics {
    unvoted: Tracked<Gauge>,
    unvoted_ends_in: Tracked<FGauge>,
    wallet_balance: Tracked<FGauge>,
    rank: Tracked<Gauge>,
    tokens: Tracked<FGauge>,
    power_ratio: Tracked<FGauge>,
    bonded_validators: Tracked<Gauge>,
    max_validators: Tracked<Gauge>,
    commission: Tracked<FGauge>,
}

impl SlowMetrics {
    /// Keep only the series whose labels `keep` accepts.
    pub(crate) fn retain(&self, keep: &dyn Fn(&Labels) -> bool) {
        let all: [&dyn Retain; 9] = [
            &self.unvoted,
            &self.unvoted_ends_in,
            &self.wallet_balance,
            &self.rank,
            &self.tokens,
            &self.power_ratio,
            &self.bonded_validators,
            &self.max_validators,
            &self.commission,
        ];
        for f in all {
            f.retain(keep);
        }
    }
    /// Create the metrics and register them in `r`.
    pub fn register(r: &mut Registry) -> Self {
        let m = Self::default();
        r.register(
            "bulwark_watch_gov_unvoted_proposals",
            "Governance proposals in their voting period that our validator has not voted on",
            m.unvoted.family(),
        );
        r.register(
            "bulwark_watch_gov_unvoted_ends_in_seconds",
            "Seconds until the voting period of the soonest-ending proposal our validator has not voted on ends (absent when none)",
            m.unvoted_ends_in.family(),
        );
        r.register(
            "bulwark_watch_wallet_balance",
            "Balance of a [[chain.wallet]] in its denomination's base units",
            m.wallet_balance.family(),
        );
        r.register(
            "bulwark_watch_validator_rank",
            "Our validator's place by bonded tokens among the bonded validators (1: the most; absent when not bonded)",
            m.rank.family(),
        );
        r.register(
            "bulwark_watch_validator_tokens",
            "Our validator's bonded tokens in base units",
            m.tokens.family(),
        );
        r.register(
            "bulwark_watch_validator_power_ratio",
            "Our validator's share of all bonded tokens (its share of the voting power), 0..1",
            m.power_ratio.family(),
        );
        r.register(
            "bulwark_watch_bonded_validators",
            "Validators in the active set now",
            m.bonded_validators.family(),
        );
        r.register(
            "bulwark_watch_max_validators",
            "Size of the chain's active set (staking max_validators)",
            m.max_validators.family(),
        );
        r.register(
            "bulwark_watch_validator_commission_ratio",
            "Our validator's commission rate, 0..1",
            m.commission.family(),
        );
        m
    }

    /// Refresh from chain `c`.
    pub fn update(&self, c: &ChainState, now: Ts) {
        let Some(s) = &c.sdk else {
            return;
        };
        let l = vec![("chain", c.id.clone())];
        let set = |f: &Tracked<FGauge>, v: Option<f64>| match v {
            Some(v) => {
                f.get_or_create(&l).set(v);
            }
            None => {
                f.remove(&l);
            }
        };
        if let Some(g) = &s.slow.gov {
            let open: Vec<f64> = g
                .proposals
                .iter()
                .filter(|p| !p.voted)
                .map(|p| p.proposal.voting_end_time - now)
                .filter(|left| *left > 0.0)
                .collect();
            self.unvoted.get_or_create(&l).set(open.len() as i64);
            set(&self.unvoted_ends_in, open.iter().copied().reduce(f64::min));
        }
        for w in &s.slow.wallets {
            if let Some(a) = w.amount.as_ref().and_then(|a| a.parse::<f64>().ok()) {
                let wl = vec![
                    ("chain", c.id.clone()),
                    ("wallet", w.name.clone()),
                    ("denom", w.denom.clone()),
                ];
                self.wallet_balance.get_or_create(&wl).set(a);
            }
        }
        if let Some(st) = &s.slow.standing {
            match st.rank {
                Some(r) => {
                    self.rank.get_or_create(&l).set(i64::from(r));
                }
                None => {
                    self.rank.remove(&l);
                }
            }
            set(
                &self.tokens,
                st.tokens.as_ref().and_then(|t| t.parse::<f64>().ok()),
            );
            set(&self.power_ratio, st.power_ratio);
            self.bonded_validators
                .get_or_create(&l)
                .set(i64::from(st.bonded_validators));
            self.max_validators
                .get_or_create(&l)
                .set(i64::from(st.max_validators));
        }
        let rate = s
            .validator
            .as_ref()
            .and_then(|v| v.commission_rate.as_ref())
            .and_then(|r| r.parse::<f64>().ok());
        set(&self.commission, rate);
    }
}

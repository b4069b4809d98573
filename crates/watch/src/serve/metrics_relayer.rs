//! Prometheus metrics of relayer nodes' Hermes (`bulwark_watch_relayer_*`): telemetry
//! up, packets waiting per channel end, wallet balances, recent errors and confirmation
//! time. The relayed chains are labelled `relay_chain`: they need not be watched chains.

use crate::serve::series::{Labels, Retain, Tracked};
use crate::state::Observed;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

type FGauge = Gauge<f64, AtomicU64>;

/// The relayer gauges.
#[derive(Debug, Default)]
pub struct RelayerMetrics {
    up: Tracked<Gauge>,
    backlog: Tracked<Gauge>,
    wallet: Tracked<FGauge>,
    errors: Tracked<Gauge>,
    confirm: Tracked<FGauge>,
}

impl RelayerMetrics {
    /// Create the metrics and register them in `r`.
    pub fn register(r: &mut Registry) -> Self {
        let m = Self::default();
        r.register(
            "bulwark_watch_relayer_telemetry_up",
            "Whether the last read of a relayer node's Hermes telemetry worked",
            m.up.family(),
        );
        r.register(
            "bulwark_watch_relayer_backlog_packets",
            "Packets waiting to be relayed on a channel end, as the relayer's Hermes counts them",
            m.backlog.family(),
        );
        r.register(
            "bulwark_watch_relayer_wallet_balance",
            "Balance of a wallet the relayer's Hermes relays with, in base units",
            m.wallet.family(),
        );
        r.register(
            "bulwark_watch_relayer_errors_recent",
            "Errors the relayer's Hermes met broadcasting or simulating transactions in the last 10 minutes",
            m.errors.family(),
        );
        r.register(
            "bulwark_watch_relayer_confirm_seconds",
            "Mean time the relayer's Hermes took to see its transactions confirmed over the last 10 minutes",
            m.confirm.family(),
        );
        m
    }

    /// Keep only the series whose labels `keep` accepts.
    pub(crate) fn retain(&self, keep: &dyn Fn(&Labels) -> bool) {
        let all: [&dyn Retain; 5] = [
            &self.up,
            &self.backlog,
            &self.wallet,
            &self.errors,
            &self.confirm,
        ];
        for f in all {
            f.retain(keep);
        }
    }

    /// Refresh from what was observed.
    pub fn update(&self, obs: &Observed) {
        for n in &obs.nodes {
            let Some(h) = &n.hermes else { continue };
            let l: Labels = vec![("chain", n.chain.clone()), ("node", n.name.clone())];
            self.up.get_or_create(&l).set(i64::from(h.up));
            self.errors.get_or_create(&l).set(h.recent_errors as i64);
            match h.recent_confirm_seconds {
                Some(s) => {
                    self.confirm.get_or_create(&l).set(s);
                }
                None => {
                    self.confirm.remove(&l);
                }
            }
            for b in &h.figures.backlogs {
                let mut bl = l.clone();
                bl.extend([
                    ("relay_chain", b.chain.clone()),
                    ("port", b.port.clone()),
                    ("channel", b.channel.clone()),
                    ("counterparty", b.counterparty.clone()),
                ]);
                self.backlog.get_or_create(&bl).set(b.size as i64);
            }
            for w in &h.figures.wallets {
                let mut wl = l.clone();
                wl.extend([
                    ("relay_chain", w.chain.clone()),
                    ("account", w.account.clone()),
                    ("denom", w.denom.clone()),
                ]);
                self.wallet.get_or_create(&wl).set(w.balance);
            }
        }
    }
}

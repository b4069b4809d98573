//! A relayer node's Hermes, as its telemetry shows it.

use crate::time::Ts;
use serde::Serialize;
use std::collections::VecDeque;

/// Over how long recent errors and the confirmation latency are taken.
pub const RECENT: f64 = 600.0;

/// One wallet Hermes relays with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HermesWallet {
    /// The chain it pays fees on.
    pub chain: String,
    /// Its address.
    pub account: String,
    /// The denomination.
    pub denom: String,
    /// Its balance in base units.
    pub balance: f64,
}

/// The packets waiting on one channel end.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HermesBacklog {
    /// The chain the packets were sent on.
    pub chain: String,
    /// The channel.
    pub channel: String,
    /// The chain they go to.
    pub counterparty: String,
    /// The port.
    pub port: String,
    /// SendPacket events not yet relayed.
    pub size: u64,
    /// The sequence of the oldest of them.
    pub oldest_sequence: Option<u64>,
}

/// The figures of one scrape.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HermesFigures {
    /// Each wallet.
    pub wallets: Vec<HermesWallet>,
    /// Each channel end with a backlog metric.
    pub backlogs: Vec<HermesBacklog>,
    /// Broadcast and simulation errors since Hermes started.
    pub errors_total: f64,
    /// Sum of the confirmation latencies since Hermes started, in milliseconds
    /// (`tx_confirmation = true` only).
    pub confirmed_latency_ms_sum: Option<f64>,
    /// Confirmed transactions since Hermes started.
    pub confirmed_count: Option<f64>,
}

/// A relayer node's Hermes telemetry endpoint as last read.
#[derive(Debug, Clone, Serialize)]
pub struct HermesState {
    /// The URL.
    pub url: String,
    /// The last scrape read.
    pub up: bool,
    /// Why not.
    pub error: Option<String>,
    /// Since when it has failed.
    pub down_since: Option<Ts>,
    /// The last figures (kept while down).
    pub figures: HermesFigures,
    /// Errors in the last 10 minutes (from the growth of the counters; a restart of
    /// Hermes, which resets them, starts over).
    pub recent_errors: u64,
    /// Mean time to confirm a transaction over the last 10 minutes, in seconds.
    pub recent_confirm_seconds: Option<f64>,
    #[serde(skip)]
    history: VecDeque<(Ts, f64, f64, f64)>,
}

impl HermesState {
    /// Not read yet.
    pub fn new(url: &str) -> Self {
        HermesState {
            url: url.to_string(),
            up: false,
            error: Some("not read yet".into()),
            down_since: None,
            figures: HermesFigures::default(),
            recent_errors: 0,
            recent_confirm_seconds: None,
            history: VecDeque::new(),
        }
    }

    /// Record one scrape at `now`.
    pub fn record(&mut self, res: Result<HermesFigures, String>, now: Ts) {
        match res {
            Ok(f) => {
                let point = (
                    now,
                    f.errors_total,
                    f.confirmed_latency_ms_sum.unwrap_or(0.0),
                    f.confirmed_count.unwrap_or(0.0),
                );
                // Counters that went down: Hermes restarted, its history is void.
                if self
                    .history
                    .back()
                    .is_some_and(|l| point.1 < l.1 || point.3 < l.3)
                {
                    self.history.clear();
                }
                self.history.push_back(point);
                // The baseline is the newest point at least RECENT old, so the growth
                // covers the whole window once there is one.
                while self.history.get(1).is_some_and(|p| now - p.0 >= RECENT) {
                    self.history.pop_front();
                }
                let first = self.history.front().copied().unwrap_or(point);
                self.recent_errors = (point.1 - first.1).max(0.0) as u64;
                let confirmed = point.3 - first.3;
                self.recent_confirm_seconds =
                    (confirmed > 0.0).then(|| (point.2 - first.2) / confirmed / 1000.0);
                self.figures = f;
                self.up = true;
                self.error = None;
                self.down_since = None;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(errors: f64, sum: f64, count: f64) -> HermesFigures {
        HermesFigures {
            errors_total: errors,
            confirmed_latency_ms_sum: Some(sum),
            confirmed_count: Some(count),
            ..Default::default()
        }
    }

    #[test]
    fn recent_errors_and_latency_from_the_counters_growth() {
        let mut s = HermesState::new("http://h");
        s.record(Ok(figures(10.0, 1000.0, 1.0)), 0.0);
        assert_eq!((s.recent_errors, s.recent_confirm_seconds), (0, None));
        s.record(Ok(figures(14.0, 13000.0, 4.0)), 300.0);
        assert_eq!(s.recent_errors, 4);
        assert_eq!(s.recent_confirm_seconds, Some(4.0));
        // Ten minutes on, the first point is out of the window: the baseline is the one
        // at 300, the newest at least ten minutes old.
        s.record(Ok(figures(15.0, 13000.0, 4.0)), 1000.0);
        assert_eq!(s.recent_errors, 1);
        assert_eq!(s.recent_confirm_seconds, None);
        // Hermes restarted: its counters start at 0 again.
        s.record(Ok(figures(0.0, 0.0, 0.0)), 1010.0);
        assert_eq!(s.recent_errors, 0);
        s.record(Err("refused".into()), 1020.0);
        assert!(!s.up && s.down_since == Some(1020.0));
        assert_eq!(s.figures.errors_total, 0.0, "kept while down");
    }
}

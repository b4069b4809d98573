//! A threshold cosigner's figures from its `bulwark_threshold_*` metrics: peer links,
//! round trips (the mean of the histogram's growth over the last minutes), thresholds,
//! nonces, signatures and refusals (the counters' growth over the last 10 minutes).

use crate::collect::exporter::Sample;
use crate::state::{CosignerChainState, CosignerPeerState, CosignerState, Ts};
use std::collections::{BTreeMap, VecDeque};

/// Counter growth older than this no longer counts.
const COUNT_WINDOW: f64 = 600.0;
/// Round trips older than this no longer count in the mean.
const ROUND_TRIP_WINDOW: f64 = 300.0;

/// Growth of several counters over a sliding window. A counter that goes down (the
/// cosigner restarted) starts over from its new value; one that appears after the
/// first scrape grew from 0 (prometheus-client shows a labelled counter once it is
/// first counted).
#[derive(Debug, Default)]
struct Growth {
    seeded: bool,
    last: BTreeMap<String, f64>,
    deltas: VecDeque<(Ts, String, f64)>,
}

impl Growth {
    /// Record the counters' current values at `now`, and forget growth older than
    /// `window`.
    fn observe(&mut self, now: Ts, window: f64, values: &BTreeMap<String, f64>) {
        for (k, v) in values {
            let last = self.last.get(k).copied().or(self.seeded.then_some(0.0));
            if let Some(last) = last {
                let d = if *v >= last { v - last } else { *v };
                if d > 0.0 {
                    self.deltas.push_back((now, k.clone(), d));
                }
            }
            self.last.insert(k.clone(), *v);
        }
        self.seeded = true;
        while self
            .deltas
            .front()
            .is_some_and(|(t, _, _)| now - t > window)
        {
            self.deltas.pop_front();
        }
    }

    /// Growth of `key` in the window.
    fn sum(&self, key: &str) -> f64 {
        self.deltas
            .iter()
            .filter(|(_, k, _)| k == key)
            .map(|(_, _, d)| d)
            .sum()
    }
}

/// Follows one cosigner's threshold metrics.
#[derive(Debug, Default)]
pub struct CosignerTracker {
    counts: Growth,
    round_trips: Growth,
}

impl CosignerTracker {
    /// Read `samples`; `None` when they are not a cosigner's (no
    /// `bulwark_threshold_threshold`). `prev` is what was seen before.
    pub fn read(
        &mut self,
        samples: &[Sample],
        prev: Option<&CosignerState>,
        now: Ts,
    ) -> Option<CosignerState> {
        if !samples
            .iter()
            .any(|s| s.name == "bulwark_threshold_threshold")
        {
            return None;
        }
        let mut st = CosignerState::default();
        let mut peer_up: BTreeMap<String, bool> = BTreeMap::new();
        let mut chains: BTreeMap<String, CosignerChainState> = BTreeMap::new();
        let mut counters: BTreeMap<String, f64> = BTreeMap::new();
        let mut trips: BTreeMap<String, f64> = BTreeMap::new();
        let chain_entry = |chains: &mut BTreeMap<String, CosignerChainState>, c: &str| {
            chains
                .entry(c.to_string())
                .or_insert_with(|| CosignerChainState {
                    chain: c.to_string(),
                    threshold: 0,
                    nonces_ready: BTreeMap::new(),
                    recent_signed: 0,
                    recent_failed: 0,
                })
                .chain
                .clone()
        };
        for s in samples {
            let label = |k: &str| s.labels.get(k).cloned().unwrap_or_default();
            let count = s.value.max(0.0) as u64;
            match s.name.as_str() {
                "bulwark_threshold_peers_connected" => st.peers_connected = count,
                "bulwark_threshold_peer_up" => {
                    peer_up.insert(label("peer"), s.value >= 1.0);
                }
                "bulwark_threshold_threshold" => {
                    let c = chain_entry(&mut chains, &label("chain"));
                    chains.get_mut(&c).expect("just added").threshold = count;
                }
                "bulwark_threshold_nonces_ready" => {
                    let c = chain_entry(&mut chains, &label("chain"));
                    let e = chains.get_mut(&c).expect("just added");
                    e.nonces_ready.insert(label("peer"), count);
                }
                "bulwark_threshold_signatures_total" => {
                    let c = chain_entry(&mut chains, &label("chain"));
                    *counters
                        .entry(format!("sig\0{c}\0{}", label("result")))
                        .or_default() += s.value;
                }
                "bulwark_threshold_shares_refused_total" => {
                    *counters
                        .entry(format!("ref\0{}", label("reason")))
                        .or_default() += s.value;
                }
                "bulwark_threshold_peer_refusals_total" if label("reason") == "bad_share" => {
                    *counters.entry("ref\0bad_share".into()).or_default() += s.value;
                }
                "bulwark_threshold_peer_round_trip_seconds_sum" => {
                    trips.insert(format!("sum\0{}", label("peer")), s.value);
                }
                "bulwark_threshold_peer_round_trip_seconds_count" => {
                    trips.insert(format!("count\0{}", label("peer")), s.value);
                }
                _ => {}
            }
        }
        self.counts.observe(now, COUNT_WINDOW, &counters);
        self.round_trips.observe(now, ROUND_TRIP_WINDOW, &trips);
        for c in chains.values_mut() {
            let key = |r: &str| format!("sig\0{}\0{r}", c.chain);
            c.recent_signed = self.counts.sum(&key("signed")) as u64;
            c.recent_failed = self.counts.sum(&key("failed")) as u64;
        }
        // Chains without a threshold are not this cosigner's (a stray label).
        st.chains = chains.into_values().filter(|c| c.threshold > 0).collect();
        let reasons = self
            .counts
            .last
            .keys()
            .filter_map(|k| k.strip_prefix("ref\0"));
        st.recent_refusals = reasons
            .map(|r| (r.to_string(), self.counts.sum(&format!("ref\0{r}")) as u64))
            .collect();
        st.peers = peer_up
            .into_iter()
            .map(|(peer, up)| {
                let before = prev.and_then(|p| p.peers.iter().find(|x| x.peer == peer));
                let down_since = if up {
                    None
                } else {
                    Some(before.and_then(|b| b.down_since).unwrap_or(now))
                };
                let n = self.round_trips.sum(&format!("count\0{peer}"));
                let round_trip_seconds =
                    (n > 0.0).then(|| self.round_trips.sum(&format!("sum\0{peer}")) / n);
                CosignerPeerState {
                    peer,
                    up,
                    down_since,
                    round_trip_seconds,
                }
            })
            .collect();
        Some(st)
    }
}

//! Rules: thresholds, held conditions, and silence when there is no data.

use crate::config::Role;
use crate::config::RulesConfig;
use crate::rules::{evaluate_uniform as evaluate, Outcome};
use crate::state::*;
use crate::Severity;
use std::collections::VecDeque;

fn chain(missed_in_a_row: u64) -> ChainState {
    let grid: VecDeque<GridEntry> = (1..=10)
        .map(|h| GridEntry {
            height: h,
            sign: if h > 10 - missed_in_a_row {
                Sign::Missed
            } else {
                Sign::Signed
            },
        })
        .collect();
    ChainState {
        height: Some(11),
        height_seen_at: Some(1000.0),
        height_observed_at: Some(1000.0),
        checked_height: Some(10),
        missed_in_a_row,
        signed_total: 10 - missed_in_a_row,
        missed_total: missed_in_a_row,
        grid,
        ..ChainState::new(
            "c-1",
            Some("AABBCCDD00112233445566778899AABBCCDDEEFF".into()),
            vec![SourceState {
                url: "http://a".into(),
                healthy: true,
                error: None,
                unhealthy_since: None,
            }],
        )
    }
}

fn node(name: &str, height: Option<u64>, peers: Option<u64>) -> NodeState {
    NodeState {
        hermes: None,
        name: name.into(),
        chain: "c-1".into(),
        role: Role::Sentry,
        host: None,
        up: true,
        error: None,
        down_since: None,
        catching_up_since: None,
        height,
        catching_up: Some(false),
        peers,
        seen_at: Some(1000.0),
        latency_seconds: None,
        earliest_height: None,
        history: None,
        metrics: None,
    }
}

fn find<'a>(out: &'a [Outcome], key: &str) -> Option<&'a Outcome> {
    out.iter().find(|o| match o {
        Outcome::Firing(c) => c.key == key,
        Outcome::Clear(k) => k == key,
    })
}

fn severity(out: &[Outcome], key: &str) -> Option<Severity> {
    match find(out, key) {
        Some(Outcome::Firing(c)) => Some(c.severity),
        _ => None,
    }
}

fn is_clear(out: &[Outcome], key: &str) -> bool {
    matches!(find(out, key), Some(Outcome::Clear(_)))
}

fn with_metrics(name: &str, missing: f64, up: bool) -> NodeState {
    let mut m = crate::state::NodeMetricsState::new(&format!("http://{name}:26660/metrics"));
    m.record(
        Ok(crate::state::NodeMetrics {
            consensus_rounds: Some(0),
            missing_power_ratio: Some(missing),
            mempool_txs: Some(0),
        }),
        900.0,
    );
    if !up {
        m.record(Err("unreachable: Connection refused".into()), 820.0);
    }
    NodeState {
        metrics: Some(m),
        ..node(name, Some(11), Some(8))
    }
}

mod chain;
mod consensus;
mod host_down;
mod nodes;
mod relayer;

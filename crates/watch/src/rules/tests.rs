//! Rules: thresholds, held conditions, and silence when there is no data.

use crate::config::Role;
use crate::config::RulesConfig;
use crate::rules::{evaluate, Outcome};
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
        name: name.into(),
        chain: "c-1".into(),
        role: Role::Sentry,
        up: true,
        error: None,
        down_since: None,
        catching_up_since: None,
        height,
        catching_up: Some(false),
        peers,
        seen_at: Some(1000.0),
        metrics: None,
        peers_low: None,
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

#[test]
fn missed_in_a_row_levels_and_summary() {
    let cfg = RulesConfig::default(); // warning 3, critical 10
    let at = |n| {
        let obs = Observed {
            chains: vec![chain(n)],
            ..Default::default()
        };
        evaluate(&cfg, &obs, 1001.0)
    };
    assert!(is_clear(&at(0), "missed_in_a_row/c-1"));
    assert!(is_clear(&at(2), "missed_in_a_row/c-1"));
    assert_eq!(
        severity(&at(3), "missed_in_a_row/c-1"),
        Some(Severity::Warning)
    );
    assert_eq!(
        severity(&at(10), "missed_in_a_row/c-1"),
        Some(Severity::Critical)
    );
    let out = at(4);
    let Some(Outcome::Firing(c)) = find(&out, "missed_in_a_row/c-1") else {
        panic!()
    };
    assert_eq!(
        c.summary,
        "c-1: our validator AABBCCDD missed 4 blocks in a row (heights 7-10); it is not signing: check the validator node, its signer and the connection between them"
    );
    assert_eq!(c.chain.as_deref(), Some("c-1"));
}

#[test]
fn no_checked_blocks_means_no_missed_block_verdict() {
    let mut c = chain(5);
    c.checked_height = None;
    let obs = Observed {
        chains: vec![c],
        ..Default::default()
    };
    let out = evaluate(&RulesConfig::default(), &obs, 1001.0);
    assert!(find(&out, "missed_in_a_row/c-1").is_none());
}

#[test]
fn chain_stalled_by_block_age_only_while_a_source_answers() {
    let cfg = RulesConfig::default(); // 60s / 180s
    let obs = Observed {
        chains: vec![chain(0)],
        ..Default::default()
    };
    assert!(is_clear(&evaluate(&cfg, &obs, 1030.0), "chain_stalled/c-1"));
    assert_eq!(
        severity(&evaluate(&cfg, &obs, 1061.0), "chain_stalled/c-1"),
        Some(Severity::Warning)
    );
    assert_eq!(
        severity(&evaluate(&cfg, &obs, 1200.0), "chain_stalled/c-1"),
        Some(Severity::Critical)
    );
    // The first block after a halt is old on arrival: no outcome (a firing alert
    // stays) until this watch has also waited the warning time.
    let mut c = chain(0);
    c.height_observed_at = Some(1190.0);
    let obs = Observed {
        chains: vec![c],
        ..Default::default()
    };
    assert!(find(&evaluate(&cfg, &obs, 1200.0), "chain_stalled/c-1").is_none());
    assert_eq!(
        severity(&evaluate(&cfg, &obs, 1251.0), "chain_stalled/c-1"),
        Some(Severity::Critical)
    );
    let mut c = chain(0);
    c.sources[0].healthy = false;
    c.sources[0].unhealthy_since = Some(1000.0);
    let obs = Observed {
        chains: vec![c],
        ..Default::default()
    };
    assert!(find(&evaluate(&cfg, &obs, 1200.0), "chain_stalled/c-1").is_none());
}

#[test]
fn source_unhealthy_is_critical_only_when_no_endpoint_is_left() {
    let cfg = RulesConfig::default(); // 30s / 60s
    let mut c = chain(0);
    c.sources.push(SourceState {
        url: "http://b".into(),
        healthy: false,
        error: Some("garbage response: not JSON".into()),
        unhealthy_since: Some(900.0),
    });
    let obs = Observed {
        chains: vec![c.clone()],
        ..Default::default()
    };
    let out = evaluate(&cfg, &obs, 1000.0);
    assert_eq!(
        severity(&out, "source_unhealthy/c-1/http://b"),
        Some(Severity::Warning)
    );
    assert!(is_clear(&out, "source_unhealthy/c-1/http://a"));
    c.sources[0].healthy = false;
    c.sources[0].unhealthy_since = Some(990.0);
    let obs = Observed {
        chains: vec![c],
        ..Default::default()
    };
    let out = evaluate(&cfg, &obs, 1000.0);
    assert_eq!(
        severity(&out, "source_unhealthy/c-1/http://b"),
        Some(Severity::Critical)
    );
    // Failing for 10s only: held, neither firing nor clear.
    assert!(find(&out, "source_unhealthy/c-1/http://a").is_none());
}

#[test]
fn node_down_catching_up_behind_and_peers() {
    let cfg = RulesConfig::default();
    let mut down = node("s0", None, None);
    down.up = false;
    down.down_since = Some(900.0);
    down.error = Some("unreachable: Connection refused".into());
    let mut fresh_down = node("s1", None, None);
    fresh_down.up = false;
    fresh_down.down_since = Some(995.0);
    let behind = node("s2", Some(100), Some(10));
    let lonely = node("s3", Some(160), Some(0));
    let mut syncing = node("s4", Some(160), Some(5));
    syncing.catching_up = Some(true);
    syncing.catching_up_since = Some(900.0);
    let obs = Observed {
        chains: vec![chain(0)],
        nodes: vec![down, fresh_down, behind, lonely, syncing],
        ..Default::default()
    };
    let out = evaluate(&cfg, &obs, 1000.0);
    assert_eq!(severity(&out, "node_down/s0"), Some(Severity::Warning));
    let Some(Outcome::Firing(c)) = find(&out, "node_down/s0") else {
        panic!()
    };
    assert_eq!(
        c.summary,
        "s0 (sentry, c-1) has been down for 1m 40s: unreachable: Connection refused; check the process and its host"
    );
    assert!(find(&out, "node_down/s1").is_none(), "held, not cleared");
    assert!(
        find(&out, "node_behind/s0").is_none(),
        "no data for a down node"
    );
    assert_eq!(
        severity(&out, "node_behind/s2"),
        Some(Severity::Critical),
        "60 behind the best (160)"
    );
    assert!(is_clear(&out, "node_behind/s3"));
    assert_eq!(severity(&out, "peers_low/s3"), Some(Severity::Critical));
    assert!(is_clear(&out, "peers_low/s2"));
    assert_eq!(
        severity(&out, "node_catching_up/s4"),
        Some(Severity::Warning)
    );
    assert!(is_clear(&out, "node_down/s2"));
}

#[test]
fn disk_memory_and_load() {
    let cfg = RulesConfig::default();
    let host = HostState {
        name: "h".into(),
        up: true,
        error: None,
        down_since: None,
        filesystems: vec![
            FsState {
                mountpoint: "/".into(),
                size_bytes: 100.0,
                avail_bytes: 15.0,
                used_ratio: 0.85,
                full_in_seconds: Some(3.0 * 3600.0),
            },
            FsState {
                mountpoint: "/data".into(),
                size_bytes: 100.0,
                avail_bytes: 50.0,
                used_ratio: 0.5,
                full_in_seconds: None,
            },
        ],
        load_per_cpu: Some(0.5),
        memory_used_ratio: Some(0.98),
    };
    let obs = Observed {
        hosts: vec![host],
        ..Default::default()
    };
    let out = evaluate(&cfg, &obs, 1000.0);
    assert_eq!(severity(&out, "disk_used/h//"), Some(Severity::Warning));
    assert_eq!(severity(&out, "disk_full_in/h//"), Some(Severity::Critical));
    let Some(Outcome::Firing(c)) = find(&out, "disk_full_in/h//") else {
        panic!()
    };
    assert_eq!(
        c.summary,
        "host h: disk / will be full in about 3h at the current rate (85.0% used now); prune or grow it before then"
    );
    assert!(is_clear(&out, "disk_used/h//data"));
    assert!(is_clear(&out, "disk_full_in/h//data"));
    assert_eq!(severity(&out, "memory_used/h"), Some(Severity::Critical));
    assert!(is_clear(&out, "load_per_cpu/h"));
    assert!(is_clear(&out, "exporter_down/h"));
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

#[test]
fn commit_rounds_keep_the_slow_heights_of_the_window() {
    let mut r = CommitRounds::default();
    assert_eq!(r.worst(), None);
    r.record(100, 0, 10);
    r.record(101, 2, 10);
    r.record(102, 1, 10);
    r.record(102, 5, 10); // already read: ignored
    r.record(99, 7, 10); // older: ignored
    assert_eq!(r.to, Some(102));
    assert_eq!(
        r.worst(),
        Some(SlowHeight {
            height: 101,
            round: 2
        })
    );
    r.record(103, 2, 10);
    assert_eq!(
        r.worst(),
        Some(SlowHeight {
            height: 103,
            round: 2
        }),
        "the latest of equals"
    );
    r.record(111, 0, 10);
    assert_eq!(
        r.worst(),
        Some(SlowHeight {
            height: 103,
            round: 2
        })
    );
    r.record(113, 0, 10);
    assert_eq!(r.worst(), None, "out of the window: {r:?}");
    assert_eq!(r.to, Some(113));
}

#[test]
fn consensus_rounds_from_blocks_and_missing_power_from_node_metrics() {
    let cfg = RulesConfig::default(); // rounds 2/4, missing power 10%/25% for 1m
    let at = |rounds: &[(u64, u32)], nodes: Vec<NodeState>| {
        let mut c = chain(0);
        for (h, r) in rounds {
            c.rounds.record(*h, *r, 100);
        }
        let obs = Observed {
            chains: vec![c],
            nodes,
            ..Default::default()
        };
        evaluate(&cfg, &obs, 1000.0)
    };
    // No block read yet, no node metrics: nothing said.
    let out = at(&[], vec![]);
    assert!(find(&out, "consensus_rounds/c-1").is_none());
    assert!(find(&out, "missing_power/c-1").is_none());

    let out = at(
        &[(10, 0), (11, 1)],
        vec![with_metrics("a", 0.0, true), with_metrics("b", 0.0, true)],
    );
    assert!(is_clear(&out, "consensus_rounds/c-1"), "round 1 is below 2");
    assert!(is_clear(&out, "missing_power/c-1"));
    assert!(is_clear(&out, "node_metrics_down/a"));

    // The worst height and the worst node speak for the chain, one alert each.
    let out = at(
        &[(10, 3), (11, 0), (12, 1)],
        vec![with_metrics("a", 0.05, true), with_metrics("b", 0.30, true)],
    );
    let Some(Outcome::Firing(c)) = find(&out, "consensus_rounds/c-1") else {
        panic!("{out:#?}")
    };
    assert_eq!(c.severity, Severity::Warning);
    assert_eq!(c.node, None);
    assert_eq!(
        c.summary,
        "c-1: height 10 needed round 3 to commit, the most of the recent blocks (round 0 is normal): proposers are offline or votes do not gather over 2/3 of the power, and the chain may stall; check the validators and their connectivity"
    );
    let Some(Outcome::Firing(c)) = find(&out, "missing_power/c-1") else {
        panic!("{out:#?}")
    };
    assert_eq!(c.severity, Severity::Critical);
    assert_eq!(c.hold, std::time::Duration::from_secs(60));
    assert_eq!(
        c.summary,
        "c-1: 30.0% of the voting power did not sign the last block (node b); at 33.4% the chain halts: see which validators are missing"
    );
    let out = at(&[(10, 5)], vec![with_metrics("a", 0.12, true)]);
    assert_eq!(
        severity(&out, "consensus_rounds/c-1"),
        Some(Severity::Critical)
    );
    assert_eq!(severity(&out, "missing_power/c-1"), Some(Severity::Warning));

    // A metrics endpoint that fails: its own alert, and its old figures say nothing.
    let out = at(&[(10, 0)], vec![with_metrics("a", 0.9, false)]);
    let Some(Outcome::Firing(c)) = find(&out, "node_metrics_down/a") else {
        panic!("{out:#?}")
    };
    assert_eq!(c.severity, Severity::Warning, "down 3m: warning at 2m");
    assert!(
        c.summary.starts_with("a (sentry, c-1): its metrics at http://a:26660/metrics could not be read for 3m: unreachable: Connection refused;"),
        "{}",
        c.summary
    );
    assert!(find(&out, "missing_power/c-1").is_none());
    // Nodes without metrics configured: no metrics outcome at all.
    let out = at(&[(10, 0)], vec![node("a", Some(11), Some(8))]);
    assert!(find(&out, "node_metrics_down/a").is_none());
    assert!(find(&out, "missing_power/c-1").is_none());
}

#[test]
fn double_sign_evidence_against_us_is_critical_until_it_leaves_the_window() {
    let cfg = RulesConfig::default();
    let at = |read: bool, ds: Option<DoubleSign>| {
        let mut c = chain(0);
        if read {
            c.rounds.record(10, 0, 100);
        }
        c.double_sign = ds;
        let obs = Observed {
            chains: vec![c],
            ..Default::default()
        };
        evaluate(&cfg, &obs, 1000.0)
    };
    assert!(
        find(&at(false, None), "double_sign/c-1").is_none(),
        "no block read yet"
    );
    assert!(is_clear(&at(true, None), "double_sign/c-1"));
    let out = at(
        true,
        Some(DoubleSign {
            height: 7,
            block: 9,
        }),
    );
    let Some(Outcome::Firing(c)) = find(&out, "double_sign/c-1") else {
        panic!("{out:#?}")
    };
    assert_eq!(c.severity, Severity::Critical);
    assert_eq!(
        c.summary,
        "c-1: our validator AABBCCDD SIGNED TWICE at height 7 (the evidence is in block 9): the chain slashes and tombstones it, and it can never sign again; stop every node and signer holding this key now, and find the second signer before starting anything"
    );
}

#[test]
fn a_node_own_peers_low_replaces_the_rule_thresholds() {
    // A validator behind one sentry: one peer is normal, none is critical.
    let own = crate::config::CountRule {
        warning: 1,
        critical: 1,
        for_: std::time::Duration::ZERO,
    };
    let with_peers = |peers, peers_low| NodeState {
        role: Role::Validator,
        peers_low,
        ..node("v0", Some(11), Some(peers))
    };
    let at = |n: NodeState| {
        let obs = Observed {
            chains: vec![chain(0)],
            nodes: vec![n],
            ..Default::default()
        };
        evaluate(&RulesConfig::default(), &obs, 1001.0)
    };
    // The rule's own thresholds (warning below 3, critical below 1) warn at one peer.
    assert_eq!(
        severity(&at(with_peers(1, None)), "peers_low/v0"),
        Some(Severity::Warning)
    );
    assert!(is_clear(&at(with_peers(1, Some(own))), "peers_low/v0"));
    let out = at(with_peers(0, Some(own)));
    assert_eq!(severity(&out, "peers_low/v0"), Some(Severity::Critical));
    let Some(Outcome::Firing(c)) = find(&out, "peers_low/v0") else {
        panic!()
    };
    assert!(
        c.summary.contains("(warning below 1, critical below 1)"),
        "{}",
        c.summary
    );
}

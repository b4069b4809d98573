//! Commit rounds and the voting power missing from the last commit.

use super::*;

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

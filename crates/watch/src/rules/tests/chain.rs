//! The chain rules: missed blocks, stalls, unhealthy sources, double signs.

use super::*;

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

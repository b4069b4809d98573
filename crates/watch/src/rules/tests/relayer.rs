//! A relayer node's Hermes telemetry: down, a backlog that stays, recent errors.

use super::*;

fn relayer(figures: HermesFigures, errors_before: f64) -> NodeState {
    let mut n = node("r0", Some(10), Some(5));
    n.role = Role::Relayer;
    let mut h = HermesState::new("http://r0:3001/metrics");
    h.record(
        Ok(HermesFigures {
            errors_total: errors_before,
            ..Default::default()
        }),
        700.0,
    );
    h.record(Ok(figures), 1000.0);
    n.hermes = Some(h);
    n
}

fn backlog(size: u64) -> HermesBacklog {
    HermesBacklog {
        chain: "osmosis-1".into(),
        channel: "channel-0".into(),
        counterparty: "cosmoshub-4".into(),
        port: "transfer".into(),
        size,
        oldest_sequence: Some(77),
    }
}

const KEY: &str = "relayer_backlog/r0/osmosis-1/transfer/channel-0";

#[test]
fn a_backlog_that_stays_and_recent_errors() {
    let cfg = RulesConfig::default();
    let f = HermesFigures {
        backlogs: vec![backlog(25)],
        errors_total: 16.0,
        ..Default::default()
    };
    let obs = Observed {
        nodes: vec![relayer(f, 10.0)],
        ..Default::default()
    };
    let out = evaluate(&cfg, &obs, 1000.0);
    let Some(Outcome::Firing(c)) = find(&out, KEY) else {
        panic!("{out:#?}")
    };
    assert_eq!(c.severity, Severity::Warning);
    assert_eq!(c.hold, std::time::Duration::from_secs(600), "it must stay");
    assert_eq!(
        c.summary,
        "r0 (relayer, c-1): 25 packets sent on osmosis-1 transfer/channel-0 to cosmoshub-4 wait to be relayed (the oldest is sequence 77); check Hermes' log for errors, its wallet on cosmoshub-4 and the nodes it reads"
    );
    assert_eq!(severity(&out, "relayer_errors/r0"), Some(Severity::Warning));
    assert!(matches!(
        find(&out, "relayer_telemetry_down/r0"),
        Some(Outcome::Clear(_))
    ));

    let drained = HermesFigures {
        backlogs: vec![backlog(3)],
        errors_total: 10.0,
        ..Default::default()
    };
    let obs = Observed {
        nodes: vec![relayer(drained, 10.0)],
        ..Default::default()
    };
    let out = evaluate(&cfg, &obs, 1000.0);
    assert!(matches!(find(&out, KEY), Some(Outcome::Clear(_))));
    assert!(matches!(
        find(&out, "relayer_errors/r0"),
        Some(Outcome::Clear(_))
    ));
}

#[test]
fn telemetry_down_holds_then_fires_and_judges_nothing_else() {
    let cfg = RulesConfig::default();
    let mut n = relayer(
        HermesFigures {
            backlogs: vec![backlog(500)],
            ..Default::default()
        },
        0.0,
    );
    n.hermes
        .as_mut()
        .unwrap()
        .record(Err("unreachable: Connection refused".into()), 1000.0);
    let obs = Observed {
        nodes: vec![n],
        ..Default::default()
    };
    let out = evaluate(&cfg, &obs, 1060.0);
    assert!(find(&out, "relayer_telemetry_down/r0").is_none(), "held");
    assert!(find(&out, KEY).is_none(), "no judgement on old figures");
    let out = evaluate(&cfg, &obs, 1200.0);
    let Some(Outcome::Firing(c)) = find(&out, "relayer_telemetry_down/r0") else {
        panic!("{out:#?}")
    };
    assert_eq!(c.severity, Severity::Warning);
    assert!(
        c.summary.starts_with("r0 (relayer, c-1): its Hermes telemetry at http://r0:3001/metrics could not be read for 3m 20s: unreachable: Connection refused;"),
        "{}",
        c.summary
    );
}

//! Labels, routes on labels and inhibition.

use super::tests_support::{cond, config, engine, labels, outbox};
use crate::config::{InhibitConfig, MatchValue, RouteConfig};
use crate::engine::alert::Kind;
use crate::engine::labels::Labeler;
use crate::rules::Outcome;
use crate::Severity;

#[test]
fn alerts_carry_their_subject_and_the_operators_labels() {
    let l = Labeler::new(&config());
    assert_eq!(
        l.labels(&cond("node_down", "node_down/v1", Severity::Warning)),
        labels(&[
            ("rule", "node_down"),
            ("severity", "warning"),
            ("chain", "c-1"),
            ("node", "v1"),
            ("host", "h1"),
            ("role", "validator"),
            ("env", "mainnet"),
            ("dc", "fra"),
            ("tier", "validator"),
        ])
    );
    // A chain's alerts carry its validator node's host.
    let m = l.labels(&cond(
        "missed_in_a_row",
        "missed_in_a_row/c-1",
        Severity::Critical,
    ));
    assert_eq!(
        (
            m["host"].as_str(),
            m["env"].as_str(),
            m["severity"].as_str()
        ),
        ("h1", "mainnet", "critical")
    );
    let s = l.labels(&cond("signer_down", "signer_down/sig", Severity::Warning));
    assert_eq!((s["signer"].as_str(), s["host"].as_str()), ("sig", "h1"));
    let h = l.labels(&cond("disk_used", "disk_used/h2", Severity::Warning));
    assert_eq!(
        h,
        labels(&[
            ("rule", "disk_used"),
            ("severity", "warning"),
            ("host", "h2"),
            ("dc", "ams")
        ])
    );
    let f = l.labels(&cond(
        "channel_failing",
        "channel_failing/hook",
        Severity::Warning,
    ));
    assert_eq!(f["channel"], "hook");
}

#[test]
fn routes_match_labels_exactly_or_from_a_list() {
    let mut r = RouteConfig::new(&["x"], Severity::Warning);
    r.matchers
        .insert("env".into(), MatchValue::One("mainnet".into()));
    r.matchers.insert(
        "rule".into(),
        MatchValue::Any(vec!["node_down".into(), "host_down".into()]),
    );
    let a = labels(&[("env", "mainnet"), ("rule", "node_down")]);
    assert!(r.accepts(&a, Severity::Warning));
    assert!(!r.accepts(
        &labels(&[("env", "testnet"), ("rule", "node_down")]),
        Severity::Warning
    ));
    assert!(!r.accepts(
        &labels(&[("env", "mainnet"), ("rule", "disk_used")]),
        Severity::Warning
    ));
    assert!(
        !r.accepts(&labels(&[("rule", "node_down")]), Severity::Critical),
        "a missing label does not match"
    );
    r.min_severity = Severity::Critical;
    assert!(!r.accepts(&a, Severity::Warning));
    assert!(r.accepts(&a, Severity::Critical));
}

#[test]
fn an_env_label_picks_the_route_end_to_end_through_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config();
    let mut main = RouteConfig::new(&["main"], Severity::Warning);
    main.matchers
        .insert("env".into(), MatchValue::One("mainnet".into()));
    let mut test = RouteConfig::new(&["test"], Severity::Warning);
    test.matchers
        .insert("env".into(), MatchValue::One("testnet".into()));
    c.routes = vec![main, test];
    let mut e = engine(&dir, &c);
    e.apply(
        vec![Outcome::Firing(cond(
            "node_down",
            "node_down/s1",
            Severity::Warning,
        ))],
        100.0,
    )
    .unwrap();
    assert_eq!(
        outbox(&dir),
        [(
            "main".to_string(),
            vec![("node_down/s1".to_string(), Kind::Firing)]
        )]
    );
}

#[test]
fn host_down_inhibits_what_it_causes_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config();
    c.routes = vec![RouteConfig::new(&["all"], Severity::Warning)];
    let mut e = engine(&dir, &c);
    let caused = [
        cond("node_down", "node_down/v1", Severity::Warning),
        cond("exporter_down", "exporter_down/h1", Severity::Warning),
        cond("missed_in_a_row", "missed_in_a_row/c-1", Severity::Critical),
        cond("signer_down", "signer_down/sig", Severity::Warning),
    ];
    let other = cond("node_down", "node_down/s1", Severity::Warning);
    let mut now: Vec<Outcome> = caused.iter().cloned().map(Outcome::Firing).collect();
    now.push(Outcome::Firing(other.clone()));
    // The cause comes last in the outcomes, and still inhibits the others at once.
    now.push(Outcome::Firing(cond(
        "host_down",
        "host_down/h1",
        Severity::Critical,
    )));
    let sent = e.apply(now.clone(), 100.0).unwrap();
    let keys: Vec<&str> = sent.iter().map(|n| n.alert.key.as_str()).collect();
    assert_eq!(
        keys,
        ["host_down/h1", "node_down/s1"],
        "the sentry on h2 is not inhibited"
    );
    assert_eq!(
        sent[0].inhibits,
        [
            "exporter_down/h1",
            "missed_in_a_row/c-1",
            "node_down/v1",
            "signer_down/sig"
        ]
    );
    for a in e.firing() {
        let want = a.labels.get("host").map(String::as_str) == Some("h1") && a.rule != "host_down";
        assert_eq!(
            a.inhibited_by.as_deref(),
            want.then_some("host_down/h1"),
            "{}",
            a.key
        );
    }
    // The database knows too (the dispatcher's Alertmanager re-sends read it).
    let stored = crate::engine::store::Store::open(&dir.path().join("w.sqlite"))
        .unwrap()
        .firing()
        .unwrap();
    let node = stored.iter().find(|a| a.key == "node_down/v1").unwrap();
    assert_eq!(node.inhibited_by.as_deref(), Some("host_down/h1"));
    // Still firing, still quiet, no repeats of the inhibited critical.
    assert!(e
        .apply(now.clone(), 5000.0)
        .unwrap()
        .iter()
        .all(|n| n.alert.key == "host_down/h1"));
    // The host answers again but the node does not: its alert is told now.
    let mut later: Vec<Outcome> = caused[..1].iter().cloned().map(Outcome::Firing).collect();
    later.push(Outcome::Clear("host_down/h1".into()));
    for k in ["exporter_down/h1", "missed_in_a_row/c-1", "signer_down/sig"] {
        later.push(Outcome::Clear(k.into()));
    }
    let sent = e.apply(later, 6000.0).unwrap();
    let got: Vec<(&str, Kind)> = sent
        .iter()
        .map(|n| (n.alert.key.as_str(), n.kind))
        .collect();
    assert_eq!(
        got,
        [
            ("host_down/h1", Kind::Resolved),
            ("node_down/v1", Kind::Firing)
        ]
    );
    assert_eq!(
        e.firing()
            .find(|a| a.key == "node_down/v1")
            .unwrap()
            .inhibited_by,
        None
    );
}

#[test]
fn a_custom_inhibit_needs_equal_labels() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config();
    c.routes = vec![RouteConfig::new(&["all"], Severity::Warning)];
    c.inhibits = vec![InhibitConfig {
        source: [("rule".to_string(), MatchValue::One("chain_stalled".into()))].into(),
        target: [("rule".to_string(), MatchValue::One("node_down".into()))].into(),
        equal: vec!["chain".into()],
    }];
    let mut e = engine(&dir, &c);
    let sent = e
        .apply(
            vec![
                Outcome::Firing(cond(
                    "chain_stalled",
                    "chain_stalled/c-1",
                    Severity::Warning,
                )),
                Outcome::Firing(cond("node_down", "node_down/s1", Severity::Warning)),
                // host_down is no source now: the configured list replaced the default.
                Outcome::Firing(cond("host_down", "host_down/h1", Severity::Warning)),
                Outcome::Firing(cond("exporter_down", "exporter_down/h1", Severity::Warning)),
            ],
            100.0,
        )
        .unwrap();
    let keys: Vec<&str> = sent.iter().map(|n| n.alert.key.as_str()).collect();
    assert_eq!(
        keys,
        ["chain_stalled/c-1", "host_down/h1", "exporter_down/h1"]
    );
}

#[test]
fn what_can_inhibit_is_found_again_after_a_reload_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut custom = config();
    custom.routes = vec![RouteConfig::new(&["all"], Severity::Warning)];
    custom.inhibits = vec![InhibitConfig {
        source: [("rule".to_string(), MatchValue::One("chain_stalled".into()))].into(),
        target: [("rule".to_string(), MatchValue::One("node_down".into()))].into(),
        equal: vec!["chain".into()],
    }];
    let mut defaults = custom.clone();
    defaults.inhibits = crate::config::default_inhibits();
    let now = || {
        vec![
            Outcome::Firing(cond("host_down", "host_down/h1", Severity::Warning)),
            Outcome::Firing(cond("exporter_down", "exporter_down/h1", Severity::Warning)),
        ]
    };
    let held = |e: &crate::engine::alert::Engine| {
        e.firing()
            .find(|a| a.key == "exporter_down/h1")
            .unwrap()
            .inhibited_by
            .clone()
    };
    let mut e = engine(&dir, &custom);
    e.apply(now(), 100.0).unwrap();
    assert_eq!(
        held(&e),
        None,
        "host_down is no source under the custom list"
    );
    // A reload to the default list: the alert firing already becomes a source, before
    // any outcome about it comes again.
    let exporter_only = || now()[1..].to_vec();
    e.set_routing(crate::engine::routing::Routing::new(&defaults));
    e.apply(exporter_only(), 101.0).unwrap();
    assert_eq!(held(&e).as_deref(), Some("host_down/h1"));
    // A restart picks the firing alerts up from the database, sources included.
    drop(e);
    let mut e = engine(&dir, &defaults);
    assert_eq!(held(&e).as_deref(), Some("host_down/h1"));
    e.apply(exporter_only(), 102.0).unwrap();
    assert_eq!(held(&e).as_deref(), Some("host_down/h1"));
    // Back to the custom list: nothing holds it back any more.
    e.set_routing(crate::engine::routing::Routing::new(&custom));
    e.apply(exporter_only(), 103.0).unwrap();
    assert_eq!(held(&e), None);
}

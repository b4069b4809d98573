//! Labels, routes on labels, inhibition and the channel that keeps failing.

use crate::config::{
    ChainConfig, Config, HostConfig, InhibitConfig, MatchValue, NodeConfig, Role, RouteConfig,
    SignerConfig,
};
use crate::engine::alert::{Engine, Kind};
use crate::engine::labels::Labeler;
use crate::engine::routing::Routing;
use crate::engine::store::Store;
use crate::rules::{Condition, Outcome};
use crate::Severity;
use std::time::Duration;

pub(super) fn labels(pairs: &[(&str, &str)]) -> crate::config::Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Chain c-1 (env mainnet) with validator v1 and sentry s1 (and o1, another
/// operator's validator); v1 and signer sig on host h1 (dc fra), the sentry on h2.
pub(super) fn config() -> Config {
    let mut c = Config::new("unused".into());
    let mut ch = ChainConfig::new("c-1", vec!["http://127.0.0.1:1".into()]);
    ch.labels = labels(&[("env", "mainnet")]);
    c.chains.push(ch);
    for (h, dc) in [("h1", "fra"), ("h2", "ams")] {
        c.hosts.push(HostConfig {
            name: h.into(),
            node_exporter: Some(format!("http://{h}:9100/metrics")),
            mountpoints: vec![],
            labels: labels(&[("dc", dc)]),
        });
    }
    // o1: another operator's validator, watched too, on no host of ours.
    for (n, role, host) in [
        ("v1", Role::Validator, Some("h1")),
        ("s1", Role::Sentry, Some("h2")),
        ("o1", Role::Validator, None),
    ] {
        c.nodes.push(NodeConfig {
            name: n.into(),
            chain: "c-1".into(),
            role,
            rpc: "http://127.0.0.1:1".into(),
            metrics: None,
            peers_low: None,
            host: host.map(str::to_string),
            labels: labels(&[("tier", role.as_str())]),
        });
    }
    let mut s = SignerConfig::new("sig", "http://127.0.0.1:2/metrics");
    s.host = Some("h1".into());
    c.signers.push(s);
    c
}

pub(super) fn cond(rule: &'static str, key: &str, sev: Severity) -> Condition {
    let part = key.split('/').nth(1).unwrap_or("").to_string();
    let (chain, node, host) = match rule {
        "node_down" | "node_metrics_down" => (Some("c-1".to_string()), Some(part), None),
        "missed_in_a_row" | "chain_stalled" => (Some(part), None, None),
        "exporter_down" | "host_down" | "disk_used" => (None, None, Some(part)),
        _ => (None, None, None),
    };
    Condition {
        key: key.into(),
        rule,
        severity: sev,
        chain,
        node,
        host,
        summary: format!("{key} {sev:?}"),
        hold: Duration::ZERO,
    }
}

pub(super) fn engine(dir: &tempfile::TempDir, c: &Config) -> Engine {
    Engine::new(
        Store::open(&dir.path().join("w.sqlite")).unwrap(),
        Routing::new(c),
    )
    .unwrap()
}

/// (channel, [(key, kind)]) of every queued message, oldest first.
pub(super) fn outbox(dir: &tempfile::TempDir) -> Vec<(String, Vec<(String, Kind)>)> {
    let s = Store::open(&dir.path().join("w.sqlite")).unwrap();
    s.due(1e12, 1000)
        .unwrap()
        .into_iter()
        .map(|i| {
            let ns = i.message.notifications.iter();
            (
                i.channel,
                ns.map(|n| (n.alert.key.clone(), n.kind)).collect(),
            )
        })
        .collect()
}

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
fn a_failing_channel_raises_an_alert_that_goes_to_the_fallback() {
    let mut obs = crate::state::Observed::default();
    let mut ch = crate::state::ChannelState::new("hook", "webhook");
    for t in [10.0, 11.0] {
        ch.record(Err("HTTP status 500"), t);
    }
    obs.channels.push(ch.clone());
    let rules = crate::config::RulesConfig::default();
    let firing = |obs: &crate::state::Observed| {
        crate::rules::evaluate(&rules, obs, 20.0)
            .into_iter()
            .find(|o| {
                matches!(o, Outcome::Firing(c) if c.rule == "channel_failing")
                    || matches!(o, Outcome::Clear(k) if k.starts_with("channel_failing/"))
            })
            .unwrap()
    };
    assert_eq!(
        firing(&obs),
        Outcome::Clear("channel_failing/hook".into()),
        "two failures are not three"
    );
    ch.record(Err("HTTP status 500"), 12.0);
    obs.channels[0] = ch.clone();
    let Outcome::Firing(cnd) = firing(&obs) else {
        panic!("not firing")
    };
    assert_eq!(
        (cnd.key.as_str(), cnd.severity),
        ("channel_failing/hook", Severity::Warning)
    );
    assert!(
        cnd.summary.starts_with(
            "channel hook (webhook): 3 deliveries in a row failed over 10s: HTTP status 500;"
        ),
        "{}",
        cnd.summary
    );
    // Routed everywhere but to the failing channel, and to the fallback.
    let dir = tempfile::tempdir().unwrap();
    let mut c = config();
    c.channels = ["hook", "chat", "mail"]
        .iter()
        .map(|n| crate::config::ChannelConfig::Webhook {
            name: n.to_string(),
            url: "http://x".into(),
        })
        .collect();
    c.routes = vec![RouteConfig::new(&["hook", "chat"], Severity::Warning)];
    c.fallback_channel = Some("mail".into());
    let mut e = engine(&dir, &c);
    e.apply(vec![Outcome::Firing(cnd)], 20.0).unwrap();
    let chans: Vec<String> = outbox(&dir).into_iter().map(|(c, _)| c).collect();
    assert_eq!(chans, ["chat", "mail"]);
    // A route's own fallback, for its channels.
    let dir = tempfile::tempdir().unwrap();
    c.fallback_channel = None;
    c.routes[0].fallback = Some("mail".into());
    c.routes
        .push(RouteConfig::new(&["chat"], Severity::Critical));
    c.routes[1].fallback = Some("other".into());
    let mut e = engine(&dir, &c);
    let mut again = cond("channel_failing", "channel_failing/hook", Severity::Warning);
    again.summary = "failing".into();
    e.apply(vec![Outcome::Firing(again)], 20.0).unwrap();
    let chans: Vec<String> = outbox(&dir).into_iter().map(|(c, _)| c).collect();
    assert_eq!(
        chans,
        ["chat", "mail"],
        "not the fallback of a route without hook"
    );
    // A success resets it.
    ch.record(Ok(()), 30.0);
    assert_eq!(
        (
            ch.consecutive_failures,
            ch.failing_since,
            ch.last_success_at
        ),
        (0, None, Some(30.0))
    );
}

//! Alert lifecycle: one alert per key, hold times, repeats, resolves, routing, and a
//! restart from SQLite that neither loses nor repeats an alert.

use crate::config::RouteConfig;
use crate::engine::alert::{Alert, Engine, Kind};
use crate::engine::routing::route;
use crate::engine::store::Store;
use crate::rules::{Condition, Outcome};
use crate::Severity;
use std::time::Duration;

fn cond(key: &str, severity: Severity, hold: u64) -> Outcome {
    Outcome::Firing(Condition {
        key: key.into(),
        rule: "node_down",
        severity,
        chain: Some("c-1".into()),
        node: Some("n".into()),
        host: None,
        summary: format!("{key} is {severity:?}"),
        hold: Duration::from_secs(hold),
    })
}

fn routes() -> Vec<RouteConfig> {
    vec![
        RouteConfig {
            channels: vec!["all".into()],
            min_severity: Severity::Warning,
            ..RouteConfig::new(&[], Severity::Warning)
        },
        RouteConfig {
            channels: vec!["pager".into()],
            min_severity: Severity::Critical,
            matchers: [(
                "chain".to_string(),
                crate::config::MatchValue::One("c-1".into()),
            )]
            .into(),
            ..RouteConfig::new(&[], Severity::Warning)
        },
    ]
}

fn engine(path: &std::path::Path) -> Engine {
    Engine::new(
        Store::open(path).unwrap(),
        crate::engine::routing::Routing::of_routes(routes(), Duration::from_secs(600)),
    )
    .unwrap()
}

#[test]
fn one_alert_per_key_hold_escalate_repeat_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.sqlite");
    let mut e = engine(&db);
    // Held for 10 s before firing.
    assert!(e
        .apply(vec![cond("k", Severity::Warning, 10)], 100.0)
        .unwrap()
        .is_empty());
    assert!(e
        .apply(vec![cond("k", Severity::Warning, 10)], 105.0)
        .unwrap()
        .is_empty());
    let n = e
        .apply(vec![cond("k", Severity::Warning, 10)], 110.0)
        .unwrap();
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].kind, Kind::Firing);
    assert_eq!(n[0].alert.started_at, 110.0);
    // Still firing: no flood.
    for t in 111..200 {
        assert!(e
            .apply(vec![cond("k", Severity::Warning, 10)], t as f64)
            .unwrap()
            .is_empty());
    }
    // Warnings do not repeat.
    assert!(e
        .apply(vec![cond("k", Severity::Warning, 10)], 2000.0)
        .unwrap()
        .is_empty());
    // Escalation is one notification.
    let n = e
        .apply(vec![cond("k", Severity::Critical, 10)], 2001.0)
        .unwrap();
    assert_eq!(
        (n.len(), n[0].kind, n[0].alert.severity),
        (1, Kind::Changed, Severity::Critical)
    );
    assert_eq!(n[0].alert.started_at, 110.0);
    // Criticals repeat every repeat interval (600 s).
    assert!(e
        .apply(vec![cond("k", Severity::Critical, 10)], 2500.0)
        .unwrap()
        .is_empty());
    let n = e
        .apply(vec![cond("k", Severity::Critical, 10)], 2601.0)
        .unwrap();
    assert_eq!(n[0].kind, Kind::Repeat);
    assert!(e
        .apply(vec![cond("k", Severity::Critical, 10)], 2700.0)
        .unwrap()
        .is_empty());
    // Resolve once.
    let n = e.apply(vec![Outcome::Clear("k".into())], 2800.0).unwrap();
    assert_eq!(
        (n.len(), n[0].kind, n[0].resolved_at),
        (1, Kind::Resolved, Some(2800.0))
    );
    assert!(e
        .apply(vec![Outcome::Clear("k".into())], 2801.0)
        .unwrap()
        .is_empty());
    assert_eq!(e.firing().count(), 0);
    // A condition that clears while held never fires.
    assert!(e
        .apply(vec![cond("j", Severity::Warning, 10)], 3000.0)
        .unwrap()
        .is_empty());
    assert!(e
        .apply(vec![Outcome::Clear("j".into())], 3005.0)
        .unwrap()
        .is_empty());
    assert!(
        e.apply(vec![cond("j", Severity::Warning, 10)], 3011.0)
            .unwrap()
            .is_empty(),
        "hold restarts"
    );
    // Outbox: firing, changed, repeat, resolved to "all"; changed, repeat, resolved (critical) to "pager".
    let s = Store::open(&db).unwrap();
    let due = s.due(1e12, 100).unwrap();
    let per = |ch: &str| {
        due.iter()
            .filter(|i| i.channel == ch)
            .map(|i| i.message.notifications[0].kind)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        per("all"),
        [Kind::Firing, Kind::Changed, Kind::Repeat, Kind::Resolved]
    );
    assert_eq!(per("pager"), [Kind::Changed, Kind::Repeat, Kind::Resolved]);
}

#[test]
fn restart_neither_loses_nor_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.sqlite");
    {
        let mut e = engine(&db);
        assert_eq!(
            e.apply(
                vec![
                    cond("a", Severity::Critical, 0),
                    cond("b", Severity::Warning, 0)
                ],
                100.0
            )
            .unwrap()
            .len(),
            2
        );
    }
    // Restarted: both alerts are known, continuing conditions notify nothing.
    let mut e = engine(&db);
    let keys: Vec<_> = e.firing().map(|a| a.key.clone()).collect();
    assert_eq!(keys, ["a", "b"]);
    assert!(e
        .apply(
            vec![
                cond("a", Severity::Critical, 0),
                cond("b", Severity::Warning, 0)
            ],
            200.0
        )
        .unwrap()
        .is_empty());
    // No data yet for "b" (no outcome): it stays firing.
    assert!(e
        .apply(vec![cond("a", Severity::Critical, 0)], 300.0)
        .unwrap()
        .is_empty());
    assert_eq!(e.firing().count(), 2);
    // The repeat is timed from the last notification before the restart.
    assert!(e
        .apply(vec![cond("a", Severity::Critical, 0)], 650.0)
        .unwrap()
        .is_empty());
    assert_eq!(
        e.apply(vec![cond("a", Severity::Critical, 0)], 701.0)
            .unwrap()[0]
            .kind,
        Kind::Repeat
    );
    // A clear after the restart resolves an alert raised before it.
    let n = e.apply(vec![Outcome::Clear("b".into())], 800.0).unwrap();
    assert_eq!((n[0].kind, n[0].alert.started_at), (Kind::Resolved, 100.0));
    drop(e);
    let e = engine(&db);
    assert_eq!(
        e.firing().map(|a| a.key.as_str()).collect::<Vec<_>>(),
        ["a"]
    );
}

#[test]
fn undelivered_notifications_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.sqlite");
    let mut e = engine(&db);
    e.apply(vec![cond("a", Severity::Warning, 0)], 100.0)
        .unwrap();
    drop(e);
    let s = Store::open(&db).unwrap();
    let due = s.due(100.0, 10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].message.notifications[0].alert.key, "a");
    s.retry_at(due[0].id, 160.0).unwrap();
    assert!(s.due(150.0, 10).unwrap().is_empty(), "backoff respected");
    let again = s.due(160.0, 10).unwrap();
    assert_eq!(again[0].attempts, 1);
    s.delivered(again[0].id).unwrap();
    assert_eq!(s.queued().unwrap(), 0);
}

#[test]
fn routing_by_severity_and_chain() {
    let mut a = Alert {
        key: "k".into(),
        rule: "r".into(),
        severity: Severity::Warning,
        chain: Some("c-1".into()),
        node: None,
        host: None,
        summary: "s".into(),
        started_at: 0.0,
        notified_at: 0.0,
        told: true,
        suppressed: false,
        labels: [("chain".to_string(), "c-1".to_string())].into(),
        inhibited_by: None,
    };
    assert_eq!(route(&routes(), &a), ["all"]);
    a.severity = Severity::Critical;
    assert_eq!(route(&routes(), &a), ["all", "pager"]);
    a.labels.insert("chain".into(), "c-2".into());
    assert_eq!(route(&routes(), &a), ["all"]);
    a.labels.remove("chain");
    assert_eq!(
        route(&routes(), &a),
        ["all"],
        "host alerts only match routes without chains"
    );
}

fn silence(node: &str, until: f64) -> crate::engine::silence::Silence {
    crate::engine::silence::Silence {
        id: 0,
        rule: None,
        chain: None,
        node: Some(node.into()),
        host: None,
        key_prefix: None,
        until,
        reason: "maintenance".into(),
        created_at: 0.0,
    }
}

#[test]
fn silences_hold_notifications_until_they_end() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.sqlite");
    let mut e = engine(&db);
    let s = Store::open(&db).unwrap();
    let id = s.add_silence(&silence("n", 500.0)).unwrap();
    assert_eq!(s.silences(100.0).unwrap()[0].id, id);
    assert!(s.silences(500.0).unwrap().is_empty(), "ended");
    // Fires silenced: recorded, nobody told, nothing queued.
    assert!(e
        .apply(vec![cond("k", Severity::Critical, 0)], 100.0)
        .unwrap()
        .is_empty());
    assert_eq!(e.firing().count(), 1);
    assert_eq!(s.queued().unwrap(), 0);
    // No repeats while silenced.
    assert!(e
        .apply(vec![cond("k", Severity::Critical, 0)], 400.0)
        .unwrap()
        .is_empty());
    // Silence over: told once, as a new alert.
    let n = e
        .apply(vec![cond("k", Severity::Critical, 0)], 501.0)
        .unwrap();
    assert_eq!((n.len(), n[0].kind), (1, Kind::Firing));
    assert!(e
        .apply(vec![cond("k", Severity::Critical, 0)], 502.0)
        .unwrap()
        .is_empty());
    // Silenced again after it was told: its resolve is still sent.
    s.add_silence(&silence("n", 2000.0)).unwrap();
    let n = e.apply(vec![Outcome::Clear("k".into())], 600.0).unwrap();
    assert_eq!((n.len(), n[0].kind), (1, Kind::Resolved));
    // Fires and resolves inside a silence: nothing at all.
    assert!(e
        .apply(vec![cond("j", Severity::Warning, 0)], 700.0)
        .unwrap()
        .is_empty());
    assert!(e
        .apply(vec![Outcome::Clear("j".into())], 800.0)
        .unwrap()
        .is_empty());
    // Other subjects are not silenced.
    let mut other = cond("x", Severity::Warning, 0);
    if let Outcome::Firing(c) = &mut other {
        c.node = Some("other".into());
    }
    assert_eq!(e.apply(vec![other], 900.0).unwrap().len(), 1);
    let due = s.due(1e12, 100).unwrap();
    let kinds: Vec<_> = due
        .iter()
        .filter(|i| i.channel == "all")
        .map(|i| {
            (
                i.message.notifications[0].alert.key.clone(),
                i.message.notifications[0].kind,
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("k".to_string(), Kind::Firing),
            ("k".to_string(), Kind::Resolved),
            ("x".to_string(), Kind::Firing)
        ]
    );
    assert!(s.remove_silence(id).unwrap());
    assert!(!s.remove_silence(id).unwrap());
}

#[test]
fn outbox_rows_of_one_notification_from_before_groups_still_decode() {
    use crate::engine::message::Message;
    let old = r#"{"kind":"firing","alert":{"key":"k","rule":"node_down","severity":"warning","chain":null,"node":"n","host":null,"summary":"s","started_at":1.0,"notified_at":1.0,"told":true,"suppressed":false},"resolved_at":null}"#;
    let m = Message::decode(old).unwrap();
    assert_eq!(m.group, None);
    assert_eq!(m.notifications.len(), 1);
    let n = &m.notifications[0];
    assert_eq!((n.kind, n.alert.key.as_str()), (Kind::Firing, "k"));
    assert!(n.alert.labels.is_empty() && n.inhibits.is_empty());
    assert_eq!(n.alert.inhibited_by, None);
    let again = serde_json::to_string(&m).unwrap();
    assert_eq!(Message::decode(&again).unwrap(), m);
}

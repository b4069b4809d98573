//! Grouped and timed routes: group windows, resolves together, inhibition inside a
//! group, quiet hours (fixed clocks), per-route repeats, and a restart.

use super::tests_support::{cond, config, engine, outbox};
use crate::config::{ClockTime, QuietHours, RouteConfig, UtcOffset};
use crate::engine::alert::Kind;
use crate::rules::Outcome;
use crate::Severity;
use std::time::Duration;

fn grouped(channel: &str) -> RouteConfig {
    let mut r = RouteConfig::new(&[channel], Severity::Warning);
    r.group_by = vec!["host".into()];
    r.group_wait = Some(Duration::from_secs(10));
    r.group_interval = Some(Duration::from_secs(30));
    r
}

fn fire(rule: &'static str, key: &str) -> Outcome {
    Outcome::Firing(cond(rule, key, Severity::Warning))
}

fn clear(key: &str) -> Outcome {
    Outcome::Clear(key.into())
}

fn kinds(keys: &[(&str, Kind)]) -> Vec<(String, Kind)> {
    keys.iter()
        .map(|(k, kind)| (k.to_string(), *kind))
        .collect()
}

#[test]
fn alerts_of_a_group_within_the_wait_go_out_as_one_and_resolve_together() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config();
    c.routes = vec![grouped("grp")];
    let mut e = engine(&dir, &c);
    let both = || {
        vec![
            fire("node_down", "node_down/v1"),
            fire("disk_used", "disk_used/h1"),
        ]
    };
    assert!(e
        .apply(vec![fire("node_down", "node_down/v1")], 100.0)
        .unwrap()
        .is_empty());
    assert!(
        e.apply(both(), 105.0).unwrap().is_empty(),
        "waits group_wait"
    );
    // Fires and clears inside the wait: never told.
    e.apply(vec![fire("node_down", "node_down/s1")], 106.0)
        .unwrap();
    e.apply([both(), vec![clear("node_down/s1")]].concat(), 107.0)
        .unwrap();
    assert!(e.apply(both(), 109.9).unwrap().is_empty());
    let sent = e.apply(both(), 110.0).unwrap();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        outbox(&dir),
        [(
            "grp".to_string(),
            kinds(&[
                ("disk_used/h1", Kind::Firing),
                ("node_down/v1", Kind::Firing)
            ])
        )]
    );
    let s = crate::engine::store::Store::open(&dir.path().join("w.sqlite")).unwrap();
    let g = s.due(1e12, 10).unwrap()[0].message.group.clone().unwrap();
    assert_eq!((g.route, g.labels["host"].as_str()), (1, "h1"));
    // Nothing more while nothing changes.
    for t in 111..300 {
        assert!(e.apply(both(), t as f64).unwrap().is_empty());
    }
    // The two resolves, 3 s apart, go out together after the wait.
    e.apply(
        vec![fire("disk_used", "disk_used/h1"), clear("node_down/v1")],
        300.0,
    )
    .unwrap();
    assert!(e
        .apply(vec![clear("disk_used/h1")], 303.0)
        .unwrap()
        .is_empty());
    assert!(e.apply(vec![], 309.0).unwrap().is_empty());
    assert_eq!(e.apply(vec![], 310.0).unwrap().len(), 2);
    let out = outbox(&dir);
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(
        out[1].1,
        kinds(&[
            ("disk_used/h1", Kind::Resolved),
            ("node_down/v1", Kind::Resolved)
        ])
    );
    assert!(
        e.groups.is_empty(),
        "a group with nothing left is forgotten"
    );
}

#[test]
fn another_group_is_another_notification_and_interval_spaces_updates() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config();
    c.routes = vec![grouped("grp")];
    let mut e = engine(&dir, &c);
    e.apply(
        vec![
            fire("node_down", "node_down/v1"),
            fire("node_down", "node_down/s1"),
        ],
        100.0,
    )
    .unwrap();
    assert_eq!(e.apply(vec![], 110.0).unwrap().len(), 2);
    assert_eq!(outbox(&dir).len(), 2, "h1 and h2 apart");
    // A new alert in h1's group soon after: waits for group_interval since the last one.
    e.apply(vec![fire("disk_used", "disk_used/h1")], 115.0)
        .unwrap();
    assert!(e.apply(vec![], 139.0).unwrap().is_empty());
    let sent = e.apply(vec![], 140.0).unwrap();
    assert_eq!(sent.len(), 1, "only what changed");
    assert_eq!(sent[0].alert.key, "disk_used/h1");
}

#[test]
fn in_a_group_the_cause_goes_out_alone_naming_what_it_holds_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config();
    c.routes = vec![grouped("grp")];
    let mut e = engine(&dir, &c);
    // The symptoms come first, the cause a few seconds later, within group_wait.
    let symptoms = vec![
        fire("node_down", "node_down/v1"),
        fire("exporter_down", "exporter_down/h1"),
        fire("signer_down", "signer_down/sig"),
    ];
    e.apply(symptoms.clone(), 100.0).unwrap();
    let all = [symptoms.clone(), vec![fire("host_down", "host_down/h1")]].concat();
    e.apply(all.clone(), 104.0).unwrap();
    let sent = e.apply(all.clone(), 110.0).unwrap();
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0].alert.key, "host_down/h1");
    assert_eq!(
        sent[0].inhibits,
        ["exporter_down/h1", "node_down/v1", "signer_down/sig"]
    );
    assert_eq!(
        outbox(&dir),
        [("grp".to_string(), kinds(&[("host_down/h1", Kind::Firing)]))]
    );
    // Recovery: the node is back first (the cause clears), the exporter a moment
    // later; the exporter's alert, no longer inhibited, clears before the group is
    // due: one notification, the cause's resolve.
    let recovering = vec![
        clear("host_down/h1"),
        clear("node_down/v1"),
        clear("signer_down/sig"),
        fire("exporter_down", "exporter_down/h1"),
    ];
    e.apply(recovering, 500.0).unwrap();
    e.apply(vec![clear("exporter_down/h1")], 503.0).unwrap();
    assert_eq!(e.apply(vec![], 510.0).unwrap().len(), 1);
    let out = outbox(&dir);
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(out[1].1, kinds(&[("host_down/h1", Kind::Resolved)]));
}

/// 2026-01-01T00:00:00Z: 01:00 at +01:00.
const NEW_YEAR: f64 = 1_767_225_600.0;

#[test]
fn quiet_hours_hold_all_but_criticals_until_they_end() {
    let q = QuietHours {
        from: ClockTime::new(22, 0),
        to: ClockTime::new(7, 0),
        utc_offset: UtcOffset::minutes(60),
        time_zone: None,
    };
    let h = 3600.0;
    assert!(q.contains(NEW_YEAR));
    assert!(q.contains(NEW_YEAR - 3.0 * h + 1.0), "22:00:01 local");
    assert!(!q.contains(NEW_YEAR - 3.0 * h - 1.0), "21:59:59 local");
    assert!(!q.contains(NEW_YEAR + 6.0 * h), "07:00 local is the end");
    assert_eq!(q.end_after(NEW_YEAR), NEW_YEAR + 6.0 * h);
    assert_eq!(
        q.end_after(NEW_YEAR + 6.0 * h),
        NEW_YEAR + 30.0 * h,
        "the next day's"
    );
    let day = QuietHours {
        from: ClockTime::new(9, 0),
        to: ClockTime::new(17, 0),
        utc_offset: UtcOffset::default(),
        time_zone: None,
    };
    assert!(day.contains(NEW_YEAR + 9.0 * h) && !day.contains(NEW_YEAR + 17.0 * h));

    let dir = tempfile::tempdir().unwrap();
    let mut c = config();
    let mut r = RouteConfig::new(&["night"], Severity::Warning);
    r.quiet_hours = Some(q);
    c.routes = vec![r];
    // (Criticals go through quiet hours, their repeats too: none in this test.)
    c.repeat_interval = Duration::from_secs(24 * 3600);
    let mut e = engine(&dir, &c);
    let t = NEW_YEAR;
    assert!(
        e.apply(vec![fire("disk_used", "disk_used/h1")], t)
            .unwrap()
            .is_empty(),
        "held"
    );
    let crit = Outcome::Firing(cond("node_down", "node_down/v1", Severity::Critical));
    let sent = e
        .apply(
            vec![crit.clone(), fire("disk_used", "disk_used/h1")],
            t + 60.0,
        )
        .unwrap();
    assert_eq!(sent.len(), 1, "a critical goes through");
    assert_eq!(sent[0].alert.key, "node_down/v1");
    // A warning that fires and clears in quiet hours is still told, at their end.
    e.apply(
        vec![crit.clone(), fire("node_down", "node_down/s1")],
        t + 100.0,
    )
    .unwrap();
    e.apply(vec![crit.clone(), clear("node_down/s1")], t + 200.0)
        .unwrap();
    assert!(e
        .apply(vec![crit.clone()], t + 6.0 * 3600.0 - 1.0)
        .unwrap()
        .is_empty());
    let sent = e
        .apply(
            vec![crit.clone(), fire("disk_used", "disk_used/h1")],
            t + 6.0 * 3600.0,
        )
        .unwrap();
    let got: Vec<(&str, Kind)> = sent
        .iter()
        .map(|n| (n.alert.key.as_str(), n.kind))
        .collect();
    assert_eq!(
        got,
        [
            ("disk_used/h1", Kind::Firing),
            ("node_down/s1", Kind::Resolved)
        ]
    );
}

#[test]
fn a_route_repeats_its_criticals_at_its_own_interval_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config();
    let mut r = RouteConfig::new(&["fast"], Severity::Warning);
    r.repeat_interval = Some(Duration::from_secs(60));
    c.routes = vec![r, RouteConfig::new(&["slow"], Severity::Warning)];
    c.repeat_interval = Duration::from_secs(3600);
    let crit = || {
        vec![Outcome::Firing(cond(
            "node_down",
            "node_down/v1",
            Severity::Critical,
        ))]
    };
    let mut e = engine(&dir, &c);
    e.apply(crit(), 100.0).unwrap();
    e.apply(crit(), 159.0).unwrap();
    drop(e);
    let mut e = engine(&dir, &c);
    e.apply(crit(), 160.0).unwrap();
    e.apply(crit(), 219.0).unwrap();
    e.apply(crit(), 220.0).unwrap();
    let per = |ch: &str| -> Vec<Kind> {
        outbox(&dir)
            .into_iter()
            .filter(|(c, _)| c == ch)
            .flat_map(|(_, ns)| ns.into_iter().map(|n| n.1))
            .collect()
    };
    assert_eq!(per("fast"), [Kind::Firing, Kind::Repeat, Kind::Repeat]);
    assert_eq!(per("slow"), [Kind::Firing]);
}

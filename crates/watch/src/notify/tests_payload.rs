//! Notification payloads, checked exactly, and delivery to a local receiver with
//! retries.

use crate::config::Secret;
use crate::config::{ChannelConfig, RouteConfig};
use crate::engine::alert::{Alert, Kind, Notification};
use crate::engine::store::Store;
use crate::notify::dispatch::{Dispatcher, Sender};
use crate::notify::payload;
use crate::serve::metrics::Metrics;
use crate::Severity;
use prometheus_client::registry::Registry;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use testkit::http::HttpStub;

fn alert() -> Alert {
    Alert {
        key: "node_down/sentry0".into(),
        rule: "node_down".into(),
        severity: Severity::Critical,
        chain: Some("c-1".into()),
        node: Some("sentry0".into()),
        host: None,
        summary: "sentry0 (sentry, c-1) has been down for 2m".into(),
        started_at: 1_767_225_600.0, // 2026-01-01T00:00:00Z
        notified_at: 1_767_225_600.0,
        told: true,
        suppressed: false,
        labels: [
            ("rule", "node_down"),
            ("severity", "critical"),
            ("chain", "c-1"),
            ("node", "sentry0"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        inhibited_by: None,
    }
}

fn firing() -> Notification {
    Notification {
        kind: Kind::Firing,
        alert: alert(),
        resolved_at: None,
        inhibits: Vec::new(),
    }
}

fn resolved() -> Notification {
    Notification {
        kind: Kind::Resolved,
        alert: alert(),
        resolved_at: Some(1_767_225_660.0),
        inhibits: Vec::new(),
    }
}

#[test]
fn payloads_are_exact() {
    assert_eq!(
        payload::webhook(&firing()),
        json!({"source": "bulwark-watch", "status": "firing", "kind": "firing",
               "key": "node_down/sentry0", "rule": "node_down", "severity": "critical",
               "chain": "c-1", "node": "sentry0", "host": null,
               "summary": "sentry0 (sentry, c-1) has been down for 2m",
               "started_at": "2026-01-01T00:00:00Z", "resolved_at": null,
               "labels": {"rule": "node_down", "severity": "critical", "chain": "c-1",
                          "node": "sentry0"},
               "inhibits": []})
    );
    assert_eq!(
        payload::webhook(&resolved())["resolved_at"],
        "2026-01-01T00:01:00Z"
    );
    assert_eq!(payload::webhook(&resolved())["status"], "resolved");
    assert_eq!(
        payload::slack(&firing()),
        json!({"text": "🔥 CRITICAL node_down: sentry0 (sentry, c-1) has been down for 2m"})
    );
    assert_eq!(
        payload::discord(&resolved()),
        json!({"content": "✅ RESOLVED node_down: sentry0 (was: sentry0 (sentry, c-1) has been down for 2m)"})
    );
    assert_eq!(
        payload::telegram(&firing(), "-100"),
        json!({"chat_id": "-100", "text": "🔥 CRITICAL node_down: sentry0 (sentry, c-1) has been down for 2m",
               "disable_web_page_preview": true})
    );
    assert_eq!(
        payload::pagerduty(&firing(), "RK"),
        json!({"routing_key": "RK", "event_action": "trigger", "dedup_key": "node_down/sentry0",
               "payload": {"summary": "sentry0 (sentry, c-1) has been down for 2m", "source": "sentry0",
                           "severity": "critical", "timestamp": "2026-01-01T00:00:00Z",
                           "component": "sentry0", "group": "c-1", "class": "node_down",
                           "custom_details": {"key": "node_down/sentry0", "started_at": "2026-01-01T00:00:00Z"}}})
    );
    assert_eq!(
        payload::pagerduty(&resolved(), "RK"),
        json!({"routing_key": "RK", "event_action": "resolve", "dedup_key": "node_down/sentry0"})
    );
    assert_eq!(
        payload::alertmanager(&alert(), Some(1_767_225_660.0), "http://w/api/status"),
        json!({"labels": {"alertname": "node_down", "severity": "critical", "alert_key": "node_down/sentry0",
                          "source": "bulwark-watch", "chain": "c-1", "node": "sentry0"},
               "annotations": {"summary": "sentry0 (sentry, c-1) has been down for 2m"},
               "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2026-01-01T00:01:00Z",
               "generatorURL": "http://w/api/status"})
    );
    assert!(payload::alertmanager(&alert(), None, "g")
        .get("endsAt")
        .is_none());
}

/// Records every request; answers 500 on paths containing "fail".
fn receiver() -> HttpStub {
    HttpStub::answering(|r| {
        let status = if r.path.contains("fail") {
            "500 Internal Server Error"
        } else {
            "200 OK"
        };
        (status.into(), String::new())
    })
}

#[test]
fn dispatcher_delivers_to_every_kind_and_retries_failures() {
    let hook = receiver();
    let url = &hook.url;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.sqlite");
    let channels = [
        ChannelConfig::Webhook {
            name: "hook".into(),
            url: format!("{url}/hook"),
        },
        ChannelConfig::Webhook {
            name: "broken".into(),
            url: format!("{url}/fail"),
        },
        ChannelConfig::Slack {
            name: "slack".into(),
            webhook_url: Secret::new(format!("{url}/slack")),
        },
        ChannelConfig::Discord {
            name: "discord".into(),
            webhook_url: Secret::new(format!("{url}/discord")),
        },
        ChannelConfig::Telegram {
            name: "tg".into(),
            bot_token: Secret::new("123:ABC"),
            chat_id: "-100".into(),
            api_url: url.clone(),
        },
        ChannelConfig::Pagerduty {
            name: "pd".into(),
            routing_key: Secret::new("RK"),
            url: format!("{url}/pd"),
        },
        ChannelConfig::Alertmanager {
            name: "am".into(),
            url: format!("{url}/am"),
            resend_interval: Duration::from_secs(3600),
        },
    ];
    let routes = vec![RouteConfig {
        channels: channels.iter().map(|c| c.name().to_string()).collect(),
        min_severity: Severity::Warning,
        ..RouteConfig::new(&[], Severity::Warning)
    }];
    let mut engine = crate::engine::alert::Engine::new(
        Store::open(&db).unwrap(),
        crate::engine::routing::Routing::of_routes(routes.clone(), Duration::from_secs(600)),
    )
    .unwrap();
    let now = crate::state::now();
    let cond = crate::rules::Condition {
        key: "node_down/sentry0".into(),
        rule: "node_down",
        severity: Severity::Critical,
        chain: Some("c-1".into()),
        node: Some("sentry0".into()),
        host: None,
        summary: "sentry0 (sentry, c-1) has been down for 2m".into(),
        hold: Duration::ZERO,
    };
    engine
        .apply(vec![crate::rules::Outcome::Firing(cond)], now)
        .unwrap();
    let mut reg = Registry::default();
    let metrics = Arc::new(Metrics::register(&mut reg));
    let mut d = Dispatcher {
        store: Store::open(&db).unwrap(),
        channels: channels
            .iter()
            .map(|c| (c.name().to_string(), c.clone()))
            .collect(),
        routes,
        sender: Sender {
            http: reqwest::Client::new(),
            timeout: Duration::from_secs(2),
            generator_url: "http://w/api/status".into(),
            tls: Default::default(),
        },
        metrics,
        shared: Arc::new(crate::serve::http::Shared::new(
            Registry::default(),
            tokio::sync::mpsc::channel(1).0,
        )),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(d.deliver_due()).unwrap();
    let got: Vec<(String, Value)> = hook.json_requests();
    let by = |p: &str| {
        got.iter()
            .find(|(path, _)| path == p)
            .map(|(_, b)| b.clone())
            .unwrap_or_else(|| panic!("nothing on {p}: {got:#?}"))
    };
    let mut n = firing();
    n.alert.started_at = now;
    n.alert.notified_at = now;
    assert_eq!(by("/hook"), payload::webhook(&n));
    assert_eq!(by("/slack"), payload::slack(&n));
    assert_eq!(by("/discord"), payload::discord(&n));
    assert_eq!(by("/bot123:ABC/sendMessage"), payload::telegram(&n, "-100"));
    assert_eq!(by("/pd"), payload::pagerduty(&n, "RK"));
    assert_eq!(
        by("/am/api/v2/alerts"),
        json!([payload::alertmanager(&n.alert, None, "http://w/api/status")])
    );
    assert_eq!(got.len(), 7);
    // Only the failed delivery stays queued, with a backoff.
    let s = Store::open(&db).unwrap();
    assert_eq!(s.queued().unwrap(), 1);
    assert!(
        s.due(crate::state::now(), 10).unwrap().is_empty(),
        "not retried before its backoff"
    );
    let item = s.due(now + 10.0, 10).unwrap().remove(0);
    assert_eq!((item.channel.as_str(), item.attempts), ("broken", 1));
    let text = crate::serve::metrics::render(&reg);
    assert!(
        text.contains("bulwark_watch_notifications_total{channel=\"broken\",result=\"error\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("bulwark_watch_notifications_total{channel=\"hook\",result=\"ok\"} 1"),
        "{text}"
    );
}

#[test]
fn alertmanager_gets_firing_alerts_resent() {
    let hook = receiver();
    let url = &hook.url;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.sqlite");
    let am = ChannelConfig::Alertmanager {
        name: "am".into(),
        url: format!("{url}/am"),
        resend_interval: Duration::from_millis(200),
    };
    let routes = vec![RouteConfig {
        channels: vec!["am".into()],
        min_severity: Severity::Warning,
        ..RouteConfig::new(&[], Severity::Warning)
    }];
    let mut engine = crate::engine::alert::Engine::new(
        Store::open(&db).unwrap(),
        crate::engine::routing::Routing::of_routes(routes.clone(), Duration::from_secs(600)),
    )
    .unwrap();
    let cond = crate::rules::Condition {
        key: "k".into(),
        rule: "node_down",
        severity: Severity::Warning,
        chain: None,
        node: Some("n".into()),
        host: None,
        summary: "n is down".into(),
        hold: Duration::ZERO,
    };
    engine
        .apply(
            vec![crate::rules::Outcome::Firing(cond)],
            crate::state::now(),
        )
        .unwrap();
    let mut reg = Registry::default();
    let d = Dispatcher {
        store: Store::open(&db).unwrap(),
        channels: [("am".to_string(), am)].into(),
        routes,
        sender: Sender {
            http: reqwest::Client::new(),
            timeout: Duration::from_secs(2),
            generator_url: "g".into(),
            tls: Default::default(),
        },
        metrics: Arc::new(Metrics::register(&mut reg)),
        shared: Arc::new(crate::serve::http::Shared::new(
            Registry::default(),
            tokio::sync::mpsc::channel(1).0,
        )),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let stop = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(d.run(Arc::new(tokio::sync::Notify::new()), stop.clone()));
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while hook.json_requests().len() < 3 {
            assert!(
                std::time::Instant::now() < deadline,
                "no re-sends: {:?}",
                hook.json_requests()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stop.cancel();
        task.await.unwrap().unwrap();
    });
    let got = hook.json_requests();
    for (path, body) in &got {
        assert_eq!(path, "/am/api/v2/alerts");
        assert_eq!(body[0]["labels"]["alert_key"], "k");
        assert!(
            body[0].get("endsAt").is_none(),
            "firing alerts carry no endsAt"
        );
    }
}

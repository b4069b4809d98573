//! A channel whose deliveries keep failing: the dispatcher publishes its health, the
//! `channel_failing` rule fires on it, and the alert reaches the fallback channel and
//! not the failing one.

use crate::config::{ChannelConfig, Config, RouteConfig};
use crate::engine::alert::Engine;
use crate::engine::routing::Routing;
use crate::engine::store::Store;
use crate::engine::tests_support::{cond, config, engine, outbox};
use crate::notify::dispatch::{Dispatcher, Sender};
use crate::rules::{Condition, Outcome};
use crate::serve::http::Shared;
use crate::serve::metrics::Metrics;
use crate::state::{now, ChannelState};
use crate::Severity;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Duration;
use testkit::http::HttpStub;

#[test]
fn a_channel_that_keeps_failing_is_reported_through_the_fallback() {
    let broken = HttpStub::start("500 Internal Server Error", "{}");
    let fallback = HttpStub::start("200 OK", "{}");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.sqlite");
    let mut c = Config::new(db.clone());
    c.channels = vec![
        ChannelConfig::Webhook {
            name: "broken".into(),
            url: format!("{}/hook", broken.url),
        },
        ChannelConfig::Webhook {
            name: "fallback".into(),
            url: format!("{}/hook", fallback.url),
        },
    ];
    c.routes = vec![RouteConfig::new(&["broken"], Severity::Warning)];
    c.fallback_channel = Some("fallback".into());
    let mut engine = Engine::new(Store::open(&db).unwrap(), Routing::new(&c)).unwrap();
    let shared = Arc::new(Shared::new(
        Registry::default(),
        tokio::sync::mpsc::channel(1).0,
    ));
    shared.observed.write().unwrap().channels = c
        .channels
        .iter()
        .map(|ch| ChannelState::new(ch.name(), ch.kind()))
        .collect();
    let mut reg = Registry::default();
    let mut d = Dispatcher {
        store: Store::open(&db).unwrap(),
        channels: c
            .channels
            .iter()
            .map(|ch| (ch.name().to_string(), ch.clone()))
            .collect(),
        routes: c.routes.clone(),
        sender: Sender {
            http: reqwest::Client::new(),
            timeout: Duration::from_secs(2),
            generator_url: "g".into(),
            tls: Default::default(),
        },
        metrics: Arc::new(Metrics::register(&mut reg)),
        shared: shared.clone(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let down = Condition {
        key: "node_down/n".into(),
        rule: "node_down",
        severity: Severity::Warning,
        chain: None,
        node: Some("n".into()),
        host: None,
        summary: "n is down".into(),
        hold: Duration::ZERO,
    };
    engine.apply(vec![Outcome::Firing(down)], now()).unwrap();
    let store = Store::open(&db).unwrap();
    for _ in 0..3 {
        rt.block_on(d.deliver_due()).unwrap();
        // Due again at once, rather than after its backoff.
        let item = store.due(now() + 1e6, 10).unwrap().remove(0);
        store.retry_at(item.id, 0.0).unwrap();
    }
    let obs = shared.observed.read().unwrap().clone();
    let health = &obs.channels[0];
    assert_eq!(
        (health.consecutive_failures, health.last_error.as_deref()),
        (3, Some("HTTP status 500")),
        "{obs:#?}"
    );
    assert_eq!(obs.channels[1].consecutive_failures, 0);
    let outcomes = crate::rules::evaluate_uniform(&c.rules, &obs, now());
    engine.apply(outcomes, now()).unwrap();
    rt.block_on(d.deliver_due()).unwrap();
    let got = fallback.json_bodies();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0]["key"], "channel_failing/broken");
    assert_eq!(got[0]["labels"]["channel"], "broken");
    assert!(
        broken
            .json_bodies()
            .iter()
            .all(|v| v["rule"] != "channel_failing"),
        "the failing channel was told about itself"
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
        crate::rules::evaluate_uniform(&rules, obs, 20.0)
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

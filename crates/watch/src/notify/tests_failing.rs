//! A channel whose deliveries keep failing: the dispatcher publishes its health, the
//! `channel_failing` rule fires on it, and the alert reaches the fallback channel and
//! not the failing one.

use crate::config::{ChannelConfig, Config, RouteConfig};
use crate::engine::alert::Engine;
use crate::engine::routing::Routing;
use crate::engine::store::Store;
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
    let shared = Arc::new(Shared::new(Registry::default()));
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
    let outcomes = crate::rules::evaluate(&c.rules, &obs, now());
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

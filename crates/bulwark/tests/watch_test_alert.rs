//! `bulwark watch test-alert`: a test alert and its resolve reach a webhook (exact
//! payloads), PagerDuty's Events API (a local receiver standing in for the cloud
//! endpoint) and a real Alertmanager; a channel that is down or refuses is named and
//! the exit code is 1; an unknown channel or a config without channels is a usage
//! error; the watch's alert database is not touched.

mod common;

use common::*;
use serde_json::Value;
use std::time::Duration;
use watch::config::{ChainConfig, ChannelConfig, Config, RouteConfig, Secret, Severity};

fn config(state: &str, hook: &str, pd: &str, am: &str, dead: &str) -> String {
    let mut c = Config::new(state.into());
    c.listen = ([127, 0, 0, 1], 9750).into();
    c.request_timeout = Duration::from_secs(2);
    c.chains
        .push(ChainConfig::new("c-1", vec!["http://127.0.0.1:1".into()]));
    let webhook = |name: &str, base: &str| ChannelConfig::Webhook {
        name: name.into(),
        url: format!("{base}/alerts"),
    };
    c.channels.push(webhook("hook", hook));
    c.channels.push(ChannelConfig::Pagerduty {
        name: "pd".into(),
        routing_key: Secret::new("R0UTINGKEY"),
        url: format!("{pd}/v2/enqueue"),
    });
    c.channels.push(ChannelConfig::alertmanager("am", am));
    c.channels.push(webhook("down", dead));
    c.routes.push(RouteConfig {
        channels: ["hook", "pd", "am", "down"].map(String::from).to_vec(),
        ..RouteConfig::new(&[], Severity::Warning)
    });
    c.to_toml().unwrap()
}

/// A counter of Alertmanager's own metrics.
fn am_received(am: &str, status: &str) -> f64 {
    let m = http_body(&format!("{am}/metrics"));
    let series =
        format!("alertmanager_alerts_received_total{{status=\"{status}\",version=\"v2\"}} ");
    m.lines()
        .find_map(|l| l.strip_prefix(&series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn test_alert_fires_and_resolves_through_every_channel_and_names_the_failures() {
    let tmp = tempfile::tempdir().unwrap();
    let hook = HttpStub::start("200 OK", "{}");
    let pd = HttpStub::start("202 Accepted", r#"{"status":"success"}"#);
    let (_am, am) = alertmanager(&tmp.path().join("alertmanager"));
    let dead = format!("http://127.0.0.1:{}", free_port());
    let state = tmp.path().join("watch.sqlite");
    let cfg = tmp.path().join("watch.toml");
    std::fs::write(
        &cfg,
        config(state.to_str().unwrap(), &hook.url, &pd.url, &am, &dead),
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap();

    let o = bulwark().run(&["watch", "test-alert", "--config", cfg, "--json"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "one channel is down: {}",
        text(&o)
    );
    let out: Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    let by_name = |n: &str| {
        out.as_array()
            .unwrap()
            .iter()
            .find(|c| c["channel"] == n)
            .cloned()
            .unwrap_or_else(|| panic!("{n} missing: {out:#}"))
    };
    for (n, kind) in [
        ("hook", "webhook"),
        ("pd", "pagerduty"),
        ("am", "alertmanager"),
    ] {
        let c = by_name(n);
        assert_eq!(c["type"], kind, "{c:#}");
        assert_eq!(c["firing_error"], Value::Null, "{c:#}");
        assert_eq!(c["resolved_error"], Value::Null, "{c:#}");
    }
    let down = by_name("down");
    assert!(
        down["firing_error"]
            .as_str()
            .is_some_and(|e| e.contains("Connection refused")),
        "{down:#}"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("1 of 4 channels did not deliver the test alert: down"),
        "{err}"
    );

    // The webhook got the firing, then the resolve, and nothing else.
    let bodies = hook.json_bodies();
    assert_eq!(bodies.len(), 2, "{bodies:#?}");
    for (b, status) in bodies.iter().zip(["firing", "resolved"]) {
        assert_eq!(b["key"], "test_alert/hook", "{b:#}");
        assert_eq!(b["rule"], "test_alert");
        assert_eq!(b["status"], status);
        assert_eq!(b["severity"], "warning");
        assert_eq!(b["source"], "bulwark-watch");
        assert!(
            b["summary"].as_str().unwrap().starts_with(
                "test alert from bulwark watch through channel hook: nothing is wrong"
            ),
            "{b:#}"
        );
    }
    // PagerDuty: trigger and resolve of one dedup_key.
    let events = pd.json_bodies();
    assert_eq!(events.len(), 2, "{events:#?}");
    assert_eq!(events[0]["event_action"], "trigger");
    assert_eq!(events[1]["event_action"], "resolve");
    assert_eq!(events[0]["routing_key"], "R0UTINGKEY");
    assert_eq!(events[0]["dedup_key"], events[1]["dedup_key"]);
    assert_eq!(events[0]["payload"]["severity"], "warning");
    // Alertmanager took one firing and one resolved alert.
    assert_eq!(am_received(&am, "firing"), 1.0);
    assert_eq!(am_received(&am, "resolved"), 1.0);
    // No alert state was written.
    assert!(
        !state.exists(),
        "test-alert must not touch the alert database"
    );

    // One channel by name: only it is sent to.
    let o = bulwark().run(&["watch", "test-alert", "--config", cfg, "--channel", "hook"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "hook (webhook): firing and resolved delivered"
    );
    assert_eq!(hook.json_bodies().len(), 4);
    assert_eq!(pd.json_bodies().len(), 2);

    // A channel that answers with an error status is a failure too.
    let refusing = HttpStub::start("400 Bad Request", r#"{"status":"invalid event"}"#);
    let bad_cfg = tmp.path().join("bad.toml");
    std::fs::write(
        &bad_cfg,
        config(
            state.to_str().unwrap(),
            &hook.url,
            &refusing.url,
            &am,
            &dead,
        ),
    )
    .unwrap();
    let o = bulwark().run(&[
        "watch",
        "test-alert",
        "--config",
        bad_cfg.to_str().unwrap(),
        "--channel",
        "pd",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "pd (pagerduty): FAILED: HTTP status 400"
    );
    assert_eq!(
        refusing.json_bodies().len(),
        1,
        "no resolve after a failed trigger"
    );

    // Usage errors: an unknown channel, a config without channels.
    let o = bulwark().run(&["watch", "test-alert", "--config", cfg, "--channel", "nope"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(
            "no channel \"nope\" in the watch config; its channels are: hook, pd, am, down"
        ),
        "{}",
        text(&o)
    );
    let bare = tmp.path().join("bare.toml");
    std::fs::write(
        &bare,
        "state_path = \"w.sqlite\"\n[[chain]]\nid = \"c-1\"\nrpc = [\"http://127.0.0.1:1\"]\n",
    )
    .unwrap();
    let o = bulwark().run(&["watch", "test-alert", "--config", bare.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("has no [[channel]]"),
        "{}",
        text(&o)
    );
    assert_eq!(hook.json_bodies().len(), 4, "nothing sent on usage errors");
}

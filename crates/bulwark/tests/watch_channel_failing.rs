//! `bulwark watch` with a channel nobody answers: after three failed deliveries in a
//! row it raises `channel_failing`, which reaches the fallback channel (and only that
//! alert does), and the status API, `watch status` and the page show the channel
//! failing.

mod common;

use common::*;
use std::time::Duration;
use watch::config::{
    ChainConfig, ChannelConfig, Config, CountRule, DurationRule, RouteConfig, Severity,
};

#[test]
fn a_channel_that_keeps_failing_raises_channel_failing_through_the_fallback() {
    let tmp = tempfile::tempdir().unwrap();
    let garbage = HttpStub::start("200 OK", "<html>this is not an RPC</html>");
    let fallback = HttpStub::start("200 OK", "{}");
    let dead = format!("http://127.0.0.1:{}/hook", free_port());
    let port = free_port();
    let mut c = Config::new(tmp.path().join("watch.sqlite"));
    c.listen = ([127, 0, 0, 1], port).into();
    c.poll_interval = Duration::from_millis(300);
    c.request_timeout = Duration::from_secs(2);
    let mut ch = ChainConfig::new("c", vec![garbage.url.clone()]);
    ch.websocket = false;
    c.chains.push(ch);
    c.rules.source_unhealthy = DurationRule {
        warning: Duration::from_secs(1),
        critical: Duration::from_secs(3600),
    };
    c.rules.channel_failing = CountRule {
        warning: 3,
        critical: 100,
        for_: Duration::ZERO,
    };
    c.channels.push(ChannelConfig::Webhook {
        name: "dead".into(),
        url: dead,
    });
    c.channels.push(ChannelConfig::Webhook {
        name: "fb".into(),
        url: format!("{}/hook", fallback.url),
    });
    c.routes
        .push(RouteConfig::new(&["dead"], Severity::Warning));
    c.fallback_channel = Some("fb".into());
    let cfg = tmp.path().join("watch.toml");
    std::fs::write(&cfg, c.to_toml().unwrap()).unwrap();
    let cfg = cfg.to_str().unwrap();
    let mut d = bulwark().daemon(
        &["--log-level", "info", "watch", "run", "--config", cfg],
        &tmp.path().join("watch.log"),
    );
    // The unhealthy source's alert cannot be delivered: 1 + 2 s of backoff later the
    // third attempt has failed too.
    let v = fallback.wait_for(
        "channel_failing at the fallback",
        Duration::from_secs(60),
        |v| is(v, "channel_failing/dead", "firing"),
    );
    assert_eq!(v["rule"], "channel_failing");
    assert_eq!(v["labels"]["channel"], "dead", "{v:#}");
    let summary = v["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("channel dead (webhook): 3 deliveries in a row failed over "),
        "{summary}"
    );
    assert!(
        fallback
            .json_bodies()
            .iter()
            .all(|b| b["rule"] == "channel_failing"),
        "the fallback got what is not its: {:#?}",
        fallback.json_bodies()
    );
    let s = wait_api(port, "the channel shown failing", &d, |s| {
        s["channels"][0]["consecutive_failures"].as_u64() >= Some(3)
    });
    assert_eq!(s["channels"][0]["name"], "dead", "{s:#}");
    assert!(
        s["channels"][0]["failing_since"].as_f64().is_some(),
        "{s:#}"
    );
    assert!(
        s["channels"][0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("Connection refused")),
        "{s:#}"
    );
    assert_eq!(s["channels"][1]["consecutive_failures"], 0, "{s:#}");
    let url = format!("http://127.0.0.1:{port}");
    let o = bulwark().run(&["watch", "status", "--url", &url]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("channel dead FAILING: "), "{}", text(&o));
    let page = http_body(&format!("{url}/"));
    assert!(
        page.contains("<tr><td>dead</td><td>webhook</td><td><span class=bad>failing</span>"),
        "{page}"
    );
    assert_eq!(d.terminate(), Some(0), "{}", d.log_text());
}

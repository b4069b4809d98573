//! `bulwark watch` routing, grouping and inhibition against a real devnet, a real
//! `prometheus-node-exporter` and a real Alertmanager: val0's host (its exporter and
//! both of val0's nodes) goes down, and the receiver of the route grouped by host
//! gets ONE notification, `host_down` (naming the alerts it holds back) with the
//! chain's missing power, not one per symptom; when the host is back, both resolves
//! come as one notification too. The route of another `env` gets nothing.

mod common;

use common::*;
use serde_json::Value;
use std::time::Duration;
use watch::config::{
    ChainConfig, ChannelConfig, Config, CountRule, DurationRule, HostConfig, MatchValue,
    NodeConfig, PercentRule, RouteConfig, Severity, SignerConfig,
};

const MINUTE: Duration = Duration::from_secs(60);
const HOST: &str = "val0-host";
/// How long a group's first change waits for the rest: long enough for val0 to be
/// signing again once its nodes are back.
const GROUP_WAIT: Duration = Duration::from_secs(20);

struct Urls<'a> {
    main: &'a str,
    test: &'a str,
    am: &'a str,
    exporter: &'a str,
}

fn watch_config(status: &Value, port: u16, state: &str, u: &Urls) -> String {
    let chain = status["chain_id"].as_str().unwrap();
    let rpc = |n: &str| node(status, n)["rpc_url"].as_str().unwrap().to_string();
    let secs = Duration::from_secs;
    let count = |warning, critical| CountRule {
        warning,
        critical,
        for_: Duration::ZERO,
    };
    let lasting = |warning, critical| DurationRule { warning, critical };
    let mut c = Config::new(state.into());
    c.listen = ([127, 0, 0, 1], port).into();
    c.poll_interval = Duration::from_millis(300);
    c.request_timeout = secs(2);
    c.repeat_interval = secs(3600);
    let mut ch = ChainConfig::new(chain, vec![rpc("val1"), rpc("val2")]);
    ch.validator_address = Some(validator_address(status, "val0"));
    ch.labels = [("env".to_string(), "mainnet".to_string())].into();
    c.chains.push(ch);
    for n in nodes(status) {
        let name = n["name"].as_str().unwrap();
        c.nodes.push(NodeConfig {
            hermes: None,
            hermes_prefix: None,
            name: name.into(),
            chain: chain.into(),
            role: serde_json::from_value(n["role"].clone()).unwrap(),
            rpc: rpc(name),
            metrics: Some(n["metrics_url"].as_str().unwrap().into()),
            history: None,
            rules: Default::default(),
            host: name.starts_with("val0").then(|| HOST.to_string()),
            labels: Default::default(),
        });
    }
    c.signers.push(SignerConfig::new(
        "signer",
        status["signer_process"]["metrics_url"].as_str().unwrap(),
    ));
    c.hosts.push(HostConfig {
        name: HOST.into(),
        node_exporter: Some(format!("{}/metrics", u.exporter)),
        mountpoints: vec!["/".into()],
        rules: Default::default(),
        // The host's own alerts (host_down) have no chain: the host says its env too.
        labels: [
            ("dc".to_string(), "lab".to_string()),
            ("env".to_string(), "mainnet".to_string()),
        ]
        .into(),
    });
    let r = &mut c.rules;
    r.missed_in_a_row = count(2, 1000);
    r.node_down = lasting(secs(1), secs(3600));
    r.node_metrics_down = lasting(secs(1), secs(3600));
    r.exporter_down = lasting(secs(1), secs(3600));
    r.host_down = lasting(secs(2), secs(3600));
    r.signer_node_disconnected = lasting(secs(1), secs(3600));
    r.source_unhealthy = lasting(secs(1), secs(3600));
    // A quarter of the power goes with val0: an alert about the chain, on val0's host
    // (the chain's validator node's), that host_down does not hold back.
    // Held 5 s, so that one late precommit (a block's commit without one validator)
    // does not fire it; val0's host stays down far longer.
    r.missing_power = PercentRule {
        warning: 20.0,
        critical: 50.0,
        for_: secs(5),
    };
    // The host is this machine: its disk, memory and load are not under test.
    r.disk_used = PercentRule {
        warning: 100.0,
        critical: 100.0,
        for_: secs(3600),
    };
    r.disk_full_in = lasting(secs(0), secs(0));
    r.consensus_rounds = count(1000, 2000);
    r.node_behind = count(1000, 2000);
    // val0 misses its turns to propose while its host is down; that rule's window (not
    // grouping) decides when it clears.
    r.proposals_missed = count(1000, 2000);
    // val0 peers only with its sentry, and has none for a moment as it starts.
    r.peers_low = count(0, 0);
    r.node_catching_up = lasting(secs(600), secs(3600));
    r.chain_stalled = lasting(secs(600), secs(3600));
    for (name, url) in [("main", u.main), ("test", u.test)] {
        c.channels.push(ChannelConfig::Webhook {
            name: name.into(),
            url: format!("{url}/alerts"),
        });
    }
    c.channels.push(ChannelConfig::Alertmanager {
        name: "am".into(),
        url: u.am.into(),
        resend_interval: secs(5),
    });
    let env = |v: &str| [("env".to_string(), MatchValue::One(v.into()))].into();
    let mut main = RouteConfig::new(&["main"], Severity::Warning);
    main.matchers = env("mainnet");
    main.group_by = vec!["host".into()];
    main.group_wait = Some(GROUP_WAIT);
    c.routes.push(main);
    let mut test = RouteConfig::new(&["test"], Severity::Warning);
    test.matchers = env("testnet");
    c.routes.push(test);
    let mut am = RouteConfig::new(&["am"], Severity::Warning);
    am.matchers = env("mainnet");
    am.group_by = vec!["host".into()];
    am.group_wait = Some(GROUP_WAIT);
    c.routes.push(am);
    c.to_toml().unwrap()
}

/// Alerts Alertmanager lists as active: (alert_key, labels).
fn am_active(am: &str) -> Vec<(String, Value)> {
    let body = http_body(&format!("{am}/api/v2/alerts?active=true"));
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| {
                    let key = x["labels"]["alert_key"].as_str()?.to_string();
                    Some((key, x["labels"].clone()))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn firing_keys(s: &Value) -> Vec<(String, Option<String>)> {
    s["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["key"].as_str().unwrap().to_string(),
                a["inhibited_by"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn a_host_going_down_is_one_grouped_notification_naming_what_it_holds_back() {
    let net = bulwark().devnet();
    let up = net.up(&["--validators", "4"]);
    let status = &up["status"];
    let chain = status["chain_id"].as_str().unwrap().to_string();
    net.wait_status("val0 signing", MINUTE, |s| {
        commit_signers(s, 1).is_some_and(|(_, signed)| signed.iter().any(|v| v == "val0"))
    });
    let main = HttpStub::start("200 OK", "{}");
    let test = HttpStub::start("200 OK", "{}");
    let (_am, am) = alertmanager(&net.tmp.path().join("alertmanager"));
    let ne_port = free_port();
    let ne_args = [format!("--web.listen-address=127.0.0.1:{ne_port}")];
    let exporter_proc = spawn("/usr/bin/prometheus-node-exporter", &ne_args);
    let exporter = format!("http://127.0.0.1:{ne_port}");
    let urls = Urls {
        main: &main.url,
        test: &test.url,
        am: &am,
        exporter: &exporter,
    };
    let port = free_port();
    let state = net.tmp.path().join("watch.sqlite");
    let cfg_path = net.tmp.path().join("watch.toml");
    std::fs::write(
        &cfg_path,
        watch_config(status, port, state.to_str().unwrap(), &urls),
    )
    .unwrap();
    let cfg = cfg_path.to_str().unwrap();
    let log = net.tmp.path().join("watch.log");
    let d = bulwark().daemon(
        &["--log-level", "info", "watch", "run", "--config", cfg],
        &log,
    );
    let s = wait_api(port, "the host, val0 and its signatures seen", &d, |s| {
        s["hosts"][0]["up"] == true
            && s["chains"][0]["signed_total"].as_u64() >= Some(2)
            && s["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .all(|n| n["up"] == true)
    });
    assert!(firing_keys(&s).is_empty(), "healthy: {s:#}");
    let val0 = s["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "val0")
        .unwrap();
    assert_eq!(val0["host"], HOST, "{s:#}");
    assert_eq!(s["channels"][0]["name"], "main", "{s:#}");
    assert_eq!(s["channels"][0]["consecutive_failures"], 0, "{s:#}");

    // The host dies: its exporter and both of val0's nodes stop answering.
    drop(exporter_proc);
    for n in ["val0", "val0-backup"] {
        let o = net.cmd("stop", &[n]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let cause = format!("host_down/{HOST}");
    let symptoms = [
        "node_down/val0".to_string(),
        "node_down/val0-backup".to_string(),
        format!("exporter_down/{HOST}"),
        "node_metrics_down/val0".to_string(),
        "node_metrics_down/val0-backup".to_string(),
        format!("missed_in_a_row/{chain}"),
        format!("signer_node_disconnected/signer/{chain}/val0"),
    ];
    // Every symptom fires, each held back by the cause.
    let s = wait_api(port, "the host down and every symptom inhibited", &d, |s| {
        let f = firing_keys(s);
        f.iter().any(|(k, by)| *k == cause && by.is_none())
            && symptoms.iter().all(|k| {
                f.iter()
                    .any(|(fk, by)| fk == k && by.as_deref() == Some(&cause))
            })
    });
    let host_alert = s["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == cause.as_str())
        .unwrap();
    assert_eq!(host_alert["labels"]["dc"], "lab", "{host_alert:#}");
    let page = http_body(&format!("http://127.0.0.1:{port}/"));
    assert!(page.contains(&format!("inhibited by {cause}")), "{page}");
    let v = main.wait_for("the grouped notification", MINUTE, |v| {
        grouped_keys(v).contains(&cause)
    });
    assert_eq!(v["source"], "bulwark-watch");
    assert_eq!(v["status"], "firing");
    assert_eq!(v["group"], serde_json::json!({ "host": HOST }), "{v:#}");
    // One notification for the group: the cause, and the one alert of the host it
    // does not hold back; none of the symptoms.
    let power = format!("missing_power/{chain}");
    assert_eq!(grouped_keys(&v), [cause.as_str(), power.as_str()], "{v:#}");
    assert_eq!(v["alerts"][1]["labels"]["host"], HOST, "{v:#}");
    let a = &v["alerts"][0];
    assert_eq!(a["rule"], "host_down");
    assert_eq!(a["kind"], "firing");
    assert_eq!(a["labels"]["host"], HOST);
    let named: Vec<&str> = a["inhibits"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // The symptoms that had fired when the group went out (the missed blocks may come
    // a block later): all of them there, named by the cause.
    for k in &symptoms[..5] {
        assert!(named.contains(&k.as_str()), "{k} not named: {a:#}");
    }
    assert!(
        a["summary"]
            .as_str()
            .unwrap()
            .starts_with(&format!("host {HOST}: down for ")),
        "{a:#}"
    );
    // Alertmanager has the cause, with the operator's labels, and not the symptoms.
    let deadline = std::time::Instant::now() + MINUTE;
    let active = loop {
        let active = am_active(&am);
        if active.iter().any(|(k, _)| *k == cause) {
            break active;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {cause} in Alertmanager: {active:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let (_, labels) = active.iter().find(|(k, _)| *k == cause).unwrap();
    assert_eq!(
        (labels["env"].as_str(), labels["host"].as_str()),
        (Some("mainnet"), Some(HOST)),
        "{labels:#}"
    );
    assert_eq!(labels["dc"], "lab", "{labels:#}");
    assert!(
        active.iter().all(|(k, _)| !symptoms.contains(k)),
        "inhibited alerts reached Alertmanager: {active:?}"
    );

    // Back up: the nodes first, then the exporter.
    let o = net.cmd("up", &["--json"]);
    if !o.status.success() {
        eprintln!("devnet up failed once, trying again:\n{}", text(&o));
        net.up(&[]);
    }
    let _exporter_proc = spawn("/usr/bin/prometheus-node-exporter", &ne_args);
    let v = main.wait_for("the grouped resolve", 2 * MINUTE, |v| {
        v["status"] == "resolved"
    });
    assert_eq!(v["group"], serde_json::json!({ "host": HOST }), "{v:#}");
    // Both resolves, in one notification.
    assert_eq!(grouped_keys(&v), [cause.as_str(), power.as_str()], "{v:#}");
    assert_eq!(v["alerts"][0]["kind"], "resolved");
    assert_eq!(v["alerts"][1]["kind"], "resolved");
    // Everything about the host clears, and the group's wait passes with nothing more.
    wait_api(port, "every alert of the host resolved", &d, |s| {
        firing_keys(s).is_empty()
    });
    std::thread::sleep(GROUP_WAIT + Duration::from_secs(2));
    let bodies = main.json_bodies();
    assert_eq!(
        bodies.len(),
        2,
        "one notification down, one back up: {bodies:#?}"
    );
    assert!(
        test.requests().is_empty(),
        "the testnet route got mainnet alerts: {:#?}",
        test.json_bodies()
    );
    // The cause is resolved in Alertmanager too.
    let deadline = std::time::Instant::now() + MINUTE;
    while am_active(&am).iter().any(|(k, _)| *k == cause) {
        assert!(
            std::time::Instant::now() < deadline,
            "{cause} still active in Alertmanager"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut d = d;
    assert_eq!(d.terminate(), Some(0), "{}", d.log_text());
}

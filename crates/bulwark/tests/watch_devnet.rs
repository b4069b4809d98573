//! `bulwark watch` against a real CometBFT devnet: missed-block, node-down, stall and
//! unhealthy-source alerts reach a local webhook receiver and resolve, and a
//! restart neither repeats nor loses an alert.

mod common;

use common::*;
use serde_json::Value;
use std::time::Duration;
use watch::config::{
    ChainConfig, ChannelConfig, Config, CountRule, DurationRule, HostConfig, NodeConfig,
    PercentRule, RouteConfig, Severity, SignerConfig,
};

const MINUTE: Duration = Duration::from_secs(60);

/// Alert keys Alertmanager lists as active.
fn am_active(am: &str) -> Vec<String> {
    let body = http_body(&format!("{am}/api/v2/alerts?active=true"));
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["labels"]["alert_key"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn wait_am(am: &str, what: &str, pred: impl Fn(&[String]) -> bool) {
    let deadline = std::time::Instant::now() + MINUTE;
    loop {
        let keys = am_active(am);
        if pred(&keys) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what} in Alertmanager; active: {keys:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

struct Urls<'a> {
    hook: &'a str,
    garbage: &'a str,
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
    let mut ch = ChainConfig::new(chain, vec![u.garbage.into(), rpc("val1"), rpc("val2")]);
    ch.validator_address = Some(validator_address(status, "val0"));
    // A short window, so that a height's second round leaves it soon after val0 is back.
    ch.grid_blocks = 20;
    c.chains.push(ch);
    for n in nodes_of(status) {
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
            host: None,
            labels: Default::default(),
        });
    }
    let r = &mut c.rules;
    r.missed_in_a_row = count(2, 1000);
    r.node_down = lasting(secs(1), secs(3600));
    r.source_unhealthy = lasting(secs(1), secs(3600));
    r.node_behind = count(1000, 2000);
    r.peers_low = count(1, 0);
    r.chain_stalled = lasting(secs(20), secs(3600));
    r.consensus_rounds = count(1, 1000);
    r.proposals_missed = count(1, 1000);
    r.missing_power = PercentRule {
        warning: 20.0,
        critical: 50.0,
        for_: Duration::ZERO,
    };
    r.signer_node_disconnected = lasting(secs(1), secs(3600));
    c.signers.push(SignerConfig::new(
        "signer",
        status["signer_process"]["metrics_url"].as_str().unwrap(),
    ));
    c.hosts.push(HostConfig {
        name: "local".into(),
        node_exporter: Some(format!("{}/metrics", u.exporter)),
        mountpoints: vec!["/".into()],
        rules: Default::default(),
        labels: Default::default(),
    });
    c.channels.push(ChannelConfig::Webhook {
        name: "hook".into(),
        url: format!("{}/alerts", u.hook),
    });
    c.channels.push(ChannelConfig::Alertmanager {
        name: "am".into(),
        url: u.am.into(),
        resend_interval: secs(5),
    });
    c.routes.push(RouteConfig {
        channels: vec!["hook".into(), "am".into()],
        ..RouteConfig::new(&[], Severity::Warning)
    });
    c.to_toml().unwrap()
}

/// `devnet up` on the stopped nodes. A node that exits while starting (seen now and
/// then with CometBFT right after a stop) gets one more try; the watch is not involved.
fn restart_stopped(net: &Devnet) {
    let o = net.cmd("up", &["--json"]);
    if !o.status.success() {
        eprintln!("devnet up failed once, trying again:\n{}", text(&o));
        net.up(&[]);
    }
}

fn nodes_of(status: &Value) -> Vec<Value> {
    nodes(status)
}

/// The exact set of fields of a webhook payload, and the values that are fixed.
fn check_payload(v: &Value, key: &str, rule: &str, status: &str, chain: &str, node: Option<&str>) {
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "chain",
            "host",
            "inhibits",
            "key",
            "kind",
            "labels",
            "node",
            "resolved_at",
            "rule",
            "severity",
            "source",
            "started_at",
            "status",
            "summary"
        ],
        "{v:#}"
    );
    assert_eq!(v["source"], "bulwark-watch");
    assert_eq!(v["key"], key);
    assert_eq!(v["rule"], rule);
    assert_eq!(v["status"], status);
    assert_eq!(
        v["kind"],
        if status == "resolved" {
            "resolved"
        } else {
            "firing"
        }
    );
    assert_eq!(v["severity"], "warning");
    assert_eq!(v["chain"], chain);
    assert_eq!(v["node"], node.map_or(Value::Null, |n| n.into()));
    assert_eq!(v["host"], Value::Null);
    assert_eq!(v["labels"]["rule"], rule, "{v:#}");
    assert_eq!(v["labels"]["chain"], chain, "{v:#}");
    assert_eq!(v["inhibits"], serde_json::json!([]), "{v:#}");
    let started = v["started_at"].as_str().unwrap();
    assert!(started.len() == 20 && started.ends_with('Z'), "{started}");
    if status == "resolved" {
        let r = v["resolved_at"].as_str().expect("resolved_at");
        assert!(r >= started, "{v:#}");
    } else {
        assert_eq!(v["resolved_at"], Value::Null);
    }
}

#[test]
fn watch_alerts_on_missed_blocks_node_down_stall_and_bad_rpc_then_resolves() {
    let net = bulwark().devnet();
    let up = net.up(&["--validators", "4"]);
    let status = &up["status"];
    let chain = status["chain_id"].as_str().unwrap().to_string();
    let addr = validator_address(status, "val0");

    // val0 may miss the very first blocks while its signer connects: start once it signs.
    net.wait_status("val0 signing", MINUTE, |s| {
        commit_signers(s, 1).is_some_and(|(_, signed)| signed.iter().any(|v| v == "val0"))
    });
    let hook = HttpStub::start("200 OK", "{}");
    let garbage = HttpStub::start("200 OK", "<html>this is not an RPC</html>");
    let ne_port = free_port();
    let (_am, am) = alertmanager(&net.tmp.path().join("alertmanager"));
    let _ne = spawn(
        "/usr/bin/prometheus-node-exporter",
        &[format!("--web.listen-address=127.0.0.1:{ne_port}")],
    );
    let exporter = format!("http://127.0.0.1:{ne_port}");
    let urls = Urls {
        hook: &hook.url,
        garbage: &garbage.url,
        am: &am,
        exporter: &exporter,
    };
    let port = free_port();
    let state = net.tmp.path().join("watch.sqlite");
    let cfg_path = net.tmp.path().join("watch.toml");
    let toml = watch_config(status, port, state.to_str().unwrap(), &urls);
    std::fs::write(&cfg_path, toml).unwrap();
    let cfg = cfg_path.to_str().unwrap();
    let log = net.tmp.path().join("watch.log");
    let mut d = bulwark().daemon(
        &["--log-level", "info", "watch", "run", "--config", cfg],
        &log,
    );

    // The garbage endpoint is reported; the chain is still followed through the others.
    let src_key = format!("source_unhealthy/{chain}/{}", garbage.url);
    let v = hook.wait_for("unhealthy source alert", MINUTE, |v| {
        is(v, &src_key, "firing")
    });
    check_payload(&v, &src_key, "source_unhealthy", "firing", &chain, None);
    assert!(
        v["summary"].as_str().unwrap().contains("garbage response"),
        "{v:#}"
    );
    // New blocks come over the websocket of the first endpoint that has one.
    let deadline = std::time::Instant::now() + MINUTE;
    while !d.log_text().contains("subscribed to NewBlock") {
        assert!(
            std::time::Instant::now() < deadline,
            "no websocket subscription; log:\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let s = wait_api(port, "blocks checked with val0 signing", &d, |s| {
        s["chains"][0]["signed_total"].as_u64() >= Some(3)
    });
    assert_eq!(s["chains"][0]["missed_in_a_row"], 0, "{s:#}");
    let s = wait_api(port, "node_exporter scraped", &d, |s| {
        s["hosts"][0]["up"] == true
    });
    assert_eq!(s["hosts"][0]["filesystems"][0]["mountpoint"], "/", "{s:#}");
    assert!(
        s["hosts"][0]["memory_used_ratio"].as_f64().is_some(),
        "{s:#}"
    );
    let missed_key = format!("missed_in_a_row/{chain}");
    assert_eq!(
        count(&hook, &missed_key, "firing"),
        0,
        "a bad source must not look like missed blocks"
    );

    // val0 stops signing: both of its nodes are down.
    for n in ["val0", "val0-backup"] {
        let o = net.cmd("stop", &[n]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let v = hook.wait_for("missed-blocks alert", 2 * MINUTE, |v| {
        is(v, &missed_key, "firing")
    });
    let at_alert = api(port);
    check_payload(&v, &missed_key, "missed_in_a_row", "firing", &chain, None);
    let grid = at_alert["chains"][0]["grid"].as_array().unwrap().clone();
    // The start of the current run of misses (the chain's first blocks may show
    // earlier misses, from before val0's signer connected).
    let first_miss = grid
        .iter()
        .rev()
        .take_while(|e| e["sign"] == "missed")
        .last()
        .and_then(|e| e["height"].as_u64())
        .expect("a run of missed heights at the end of the grid");
    let expected = format!(
        "{chain}: our validator {} missed 2 blocks in a row (heights {first_miss}-{}); it is not signing: check the validator node, its signer and the connection between them",
        &addr[..8],
        first_miss + 1
    );
    assert_eq!(v["summary"], expected.as_str());
    let page = http_body(&format!("http://127.0.0.1:{port}/"));
    assert!(
        page.contains(&missed_key) && page.contains(&format!("<a href='/chain/{chain}'>")),
        "status page:\n{page}"
    );
    let page = http_body(&format!("http://127.0.0.1:{port}/chain/{chain}"));
    assert!(
        page.contains("class=missed") && page.contains(&missed_key),
        "chain page:\n{page}"
    );
    let height_now = at_alert["chains"][0]["height"].as_u64().unwrap();
    eprintln!(
        "missed-blocks alert: first miss {first_miss}, chain at {height_now} when it arrived"
    );
    // The summary above pins the alert to the 2nd miss; this only catches a watch that
    // fell behind the chain (the margin is the test's own polling on a busy machine).
    assert!(
        height_now <= first_miss + 6,
        "alert came late: first miss {first_miss}, chain at {height_now}"
    );
    wait_am(&am, "the missed-blocks alert", |k| k.contains(&missed_key));
    for n in ["val0", "val0-backup"] {
        let key = format!("node_down/{n}");
        let v = hook.wait_for("node-down alert for val0's nodes", MINUTE, |v| {
            is(v, &key, "firing")
        });
        check_payload(&v, &key, "node_down", "firing", &chain, Some(n));
    }

    let sig_key = format!("signer_node_disconnected/signer/{chain}/val0");
    let v = hook.wait_for("signer lost val0", MINUTE, |v| is(v, &sig_key, "firing"));
    check_payload(
        &v,
        &sig_key,
        "signer_node_disconnected",
        "firing",
        &chain,
        Some("val0"),
    );

    // A quarter of the power is missing from the commits (the nodes' own metrics), and
    // the heights val0 should propose need a second round (the blocks' commits).
    let power_key = format!("missing_power/{chain}");
    let rounds_key = format!("consensus_rounds/{chain}");
    for (key, rule, says) in [
        (
            &power_key,
            "missing_power",
            "25.0% of the voting power did not sign the last block (node ",
        ),
        (&rounds_key, "consensus_rounds", "height "),
    ] {
        let v = hook.wait_for(&format!("{rule} alert"), MINUTE, |v| is(v, key, "firing"));
        check_payload(&v, key, rule, "firing", &chain, None);
        let summary = v["summary"].as_str().unwrap();
        assert!(summary.starts_with(&format!("{chain}: {says}")), "{v:#}");
        if rule == "consensus_rounds" {
            assert!(summary.contains(" needed round 1 to commit"), "{v:#}");
        }
    }
    let m = http_body(&format!("http://127.0.0.1:{port}/metrics"));
    let round_max = m.lines().find_map(|l| {
        l.strip_prefix(&format!(
            "bulwark_watch_commit_round_max{{chain=\"{chain}\"}} "
        ))?
        .trim()
        .parse::<f64>()
        .ok()
    });
    assert!(round_max >= Some(1.0), "{m}");

    // val0's turns to propose go to the next round's proposer, told by height; each
    // height named was made in the round the summary says, a later one than 0.
    let turns_key = format!("proposals_missed/{chain}");
    let v = hook.wait_for("proposals_missed alert", 2 * MINUTE, |v| {
        is(v, &turns_key, "firing")
    });
    check_payload(&v, &turns_key, "proposals_missed", "firing", &chain, None);
    let summary = v["summary"].as_str().unwrap().to_string();
    assert!(
        summary.starts_with(&format!(
            "{chain}: our validator missed its turn to propose "
        )),
        "{summary}"
    );
    let named: Vec<(u64, u64)> = summary
        .split("at heights ")
        .nth(1)
        .unwrap()
        .split(": each")
        .next()
        .unwrap()
        .split(", ")
        .map(|t| {
            let (h, r) = t.split_once(" (made in round ").unwrap();
            (h.parse().unwrap(), r.trim_end_matches(')').parse().unwrap())
        })
        .collect();
    assert!(!named.is_empty(), "{summary}");
    for (h, round) in named {
        let c: Value = serde_json::from_str(&http_body(&format!(
            "{}/commit?height={h}",
            node(status, "val1")["rpc_url"].as_str().unwrap()
        )))
        .unwrap();
        assert_eq!(
            c["result"]["signed_header"]["commit"]["round"].as_u64(),
            Some(round),
            "height {h}: {c:#}"
        );
        assert!(round >= 1, "{summary}");
    }

    // Back up: the alerts resolve, each once.
    restart_stopped(&net);
    let v = hook.wait_for("missed-blocks resolve", 2 * MINUTE, |v| {
        is(v, &missed_key, "resolved")
    });
    check_payload(&v, &missed_key, "missed_in_a_row", "resolved", &chain, None);
    let v = hook.wait_for("node-down resolve", MINUTE, |v| {
        is(v, "node_down/val0", "resolved")
    });
    for key in [&power_key, &rounds_key, &turns_key] {
        hook.wait_for(&format!("{key} resolve"), MINUTE, |v| {
            is(v, key, "resolved")
        });
    }
    check_payload(
        &v,
        "node_down/val0",
        "node_down",
        "resolved",
        &chain,
        Some("val0"),
    );
    let v = hook.wait_for("signer reconnected to val0", MINUTE, |v| {
        is(v, &sig_key, "resolved")
    });
    check_payload(
        &v,
        &sig_key,
        "signer_node_disconnected",
        "resolved",
        &chain,
        Some("val0"),
    );
    assert_eq!(
        count(&hook, &missed_key, "firing"),
        1,
        "one alert per key, no flood"
    );
    assert_eq!(count(&hook, &missed_key, "resolved"), 1);

    // The sentry stops: node down.
    let o = net.cmd("stop", &["sentry0"]);
    assert!(o.status.success(), "{}", text(&o));
    let v = hook.wait_for("sentry node-down alert", MINUTE, |v| {
        is(v, "node_down/sentry0", "firing")
    });
    check_payload(
        &v,
        "node_down/sentry0",
        "node_down",
        "firing",
        &chain,
        Some("sentry0"),
    );
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .starts_with(&format!("sentry0 (sentry, {chain}) has been down for")),
        "{v:#}"
    );

    // Metrics and the status command see it too.
    let metrics = http_body(&format!("http://127.0.0.1:{port}/metrics"));
    assert!(
        metrics.contains(&format!(
            "bulwark_watch_validator_missed_blocks_total{{chain=\"{chain}\"}}"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("bulwark_watch_alerts_firing{severity=\"warning\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "bulwark_watch_node_up{{chain=\"{chain}\",node=\"sentry0\",role=\"sentry\"}} 0"
        )),
        "{metrics}"
    );
    let (ok, out) = promtool(&["check", "metrics"], metrics.as_bytes());
    assert!(ok, "promtool check metrics: {out}\n{metrics}");
    let url = format!("http://127.0.0.1:{port}");
    let st = json(&bulwark().run(&["watch", "status", "--url", &url, "--json"]));
    assert!(
        st["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["key"] == "node_down/sentry0"),
        "{st:#}"
    );
    let o = bulwark().run(&["watch", "status", "--url", &url]);
    let out = String::from_utf8_lossy(&o.stdout);
    let line = |n: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("node {n} (")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        o.status.success()
            && line("sentry0").contains("  metrics DOWN (")
            && line("val1").contains("  round ")
            && line("val1").contains("  mempool "),
        "{}",
        text(&o)
    );
    assert!(
        metrics.contains(&format!(
            "bulwark_watch_node_metrics_up{{chain=\"{chain}\",node=\"val1\"}} 1"
        )) && metrics.contains(&format!(
            "bulwark_watch_node_consensus_rounds{{chain=\"{chain}\",node=\"val1\"}} "
        )),
        "{metrics}"
    );

    // Restart the watch while the sentry alert fires: no second firing notification,
    // and the resolve still arrives after the restart.
    assert_eq!(d.terminate(), Some(0), "{}", d.log_text());
    let before = hook.json_bodies().len();
    let mut d = bulwark().daemon(
        &["--log-level", "info", "watch", "run", "--config", cfg],
        &log.with_extension("2.log"),
    );
    wait_api(
        port,
        "restarted watch sees the sentry down for over the warning time",
        &d,
        |s| {
            s["alerts"]
                .as_array()
                .is_some_and(|a| a.iter().any(|a| a["key"] == "node_down/sentry0"))
                && s["nodes"].as_array().unwrap().iter().any(|n| {
                    n["name"] == "sentry0"
                        && n["up"] == false
                        && n["down_since"].as_f64().is_some_and(|t| s_now() - t > 2.0)
                })
        },
    );
    assert_eq!(
        count(&hook, "node_down/sentry0", "firing"),
        1,
        "restart repeated an alert: {:#?}",
        &hook.json_bodies()[before..]
    );
    restart_stopped(&net);
    let v = hook.wait_for("sentry resolve after restart", MINUTE, |v| {
        is(v, "node_down/sentry0", "resolved")
    });
    check_payload(
        &v,
        "node_down/sentry0",
        "node_down",
        "resolved",
        &chain,
        Some("sentry0"),
    );
    assert_eq!(count(&hook, "node_down/sentry0", "resolved"), 1);

    // Half the voting power stops: the chain halts, and comes back.
    let stall_key = format!("chain_stalled/{chain}");
    let stalls: Vec<Value> = hook
        .json_bodies()
        .into_iter()
        .filter(|v| v["key"] == stall_key.as_str())
        .collect();
    assert!(stalls.is_empty(), "no stall while blocks come: {stalls:#?}");
    for n in ["val0", "val0-backup", "val3"] {
        let o = net.cmd("stop", &[n]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let v = hook.wait_for("chain-stalled alert", MINUTE, |v| {
        is(v, &stall_key, "firing")
    });
    check_payload(&v, &stall_key, "chain_stalled", "firing", &chain, None);
    let summary = v["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(&format!("{chain}: no new block for "))
            && summary.contains("(stuck at height "),
        "{v:#}"
    );
    restart_stopped(&net);
    let v = hook.wait_for("chain-stalled resolve", 2 * MINUTE, |v| {
        is(v, &stall_key, "resolved")
    });
    check_payload(&v, &stall_key, "chain_stalled", "resolved", &chain, None);
    let stalls: Vec<Value> = hook
        .json_bodies()
        .into_iter()
        .filter(|v| v["key"] == stall_key.as_str())
        .collect();
    assert_eq!(
        count(&hook, &stall_key, "firing"),
        1,
        "{stalls:#?}\n{:#}",
        api(port)["chains"][0]["sources"]
    );
    assert_eq!(d.terminate(), Some(0), "{}", d.log_text());
}

fn s_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn watch_config_errors_exit_2_and_list_every_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("watch.toml");
    std::fs::write(
        &p,
        r#"state_path = "x.sqlite"
[[chain]]
id = "c"
rpc = ["ftp://nope"]
validator_address = "xyz"
[[node]]
name = "n"
chain = "other"
role = "sentry"
rpc = "http://127.0.0.1:1"
[[route]]
channels = ["missing"]
"#,
    )
    .unwrap();
    let o = bulwark().run(&["watch", "run", "--config", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    for needle in [
        "ftp://nope",
        "validator_address \"xyz\"",
        "chain \"other\"",
        "channel \"missing\"",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    // `watch check` finds the same problems without starting anything.
    let o = bulwark().run(&["watch", "check", "--config", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        err,
        "same report as run"
    );
    std::fs::write(&p, "state_path = \"x\"\nbogus = 1\n").unwrap();
    for verb in ["run", "check"] {
        let o = bulwark().run(&["watch", verb, "--config", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("bogus"),
            "{}",
            text(&o)
        );
    }
    // A valid file: what it watches, and nothing created.
    let state = tmp.path().join("state/w.sqlite");
    std::fs::write(
        &p,
        format!(
            "state_path = {state:?}\n[[chain]]\nid = \"c\"\nrpc = [\"http://127.0.0.1:1\"]\n\
             [[node]]\nname = \"n\"\nchain = \"c\"\nrole = \"sentry\"\nrpc = \"http://127.0.0.1:1\"\n\
             metrics = \"http://127.0.0.1:2/metrics\"\n"
        ),
    )
    .unwrap();
    let o = bulwark().run(&["watch", "check", "--config", p.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("is valid: 1 chain, 1 node (1 with metrics), 0 hosts, 0 signers, 0 channels, 0 routes\n")
            && out.contains("note: no [[channel]]"),
        "{out}"
    );
    let v = json(&bulwark().run(&["watch", "check", "--config", p.to_str().unwrap(), "--json"]));
    assert_eq!(v["valid"], true);
    assert_eq!(v["chains"], serde_json::json!(["c"]));
    assert_eq!(v["nodes_with_metrics"], 1);
    assert!(!state.exists() && !state.parent().unwrap().exists());
}

#[test]
fn watch_silences_are_added_listed_and_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("watch.toml");
    let db = tmp.path().join("w.sqlite");
    std::fs::write(&p, format!("state_path = \"{}\"\n", db.display())).unwrap();
    let cfg = p.to_str().unwrap();
    let add = json(&bulwark().run(&[
        "watch",
        "silence",
        "add",
        "--config",
        cfg,
        "--node",
        "sentry0",
        "--rule",
        "node_down",
        "--for",
        "2h",
        "--reason",
        "kernel upgrade",
        "--json",
    ]));
    let id = add["id"].as_i64().expect("id");
    assert_eq!(add["node"], "sentry0");
    assert_eq!(add["rule"], "node_down");
    assert_eq!(add["reason"], "kernel upgrade");
    let left = add["until"].as_f64().unwrap() - add["created_at"].as_f64().unwrap();
    assert!((left - 7200.0).abs() < 1.0, "{add:#}");
    let list = json(&bulwark().run(&["watch", "silence", "list", "--config", cfg, "--json"]));
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], id);
    let o = bulwark().run(&["watch", "silence", "list", "--config", cfg]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("rule=node_down node=sentry0") && out.contains("(kernel upgrade)"),
        "{}",
        text(&o)
    );
    let id_s = id.to_string();
    let o = bulwark().run(&["watch", "silence", "remove", "--config", cfg, &id_s]);
    assert!(o.status.success(), "{}", text(&o));
    let o = bulwark().run(&["watch", "silence", "remove", "--config", cfg, &id_s]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = bulwark().run(&[
        "watch", "silence", "add", "--config", cfg, "--for", "1h", "--reason", "x",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("give at least one of"),
        "{}",
        text(&o)
    );
    let list = json(&bulwark().run(&["watch", "silence", "list", "--config", cfg, "--json"]));
    assert_eq!(list, serde_json::json!([]));
}

//! `bulwark watch` reads its configuration again on SIGHUP and on `bulwark watch
//! reload`, on a real devnet: a chain added as a file of `chains_dir` is watched, the
//! chain that was already followed keeps its collector (nothing read back again), a
//! firing alert is neither lost nor repeated, the alerts of a node taken out resolve
//! once, and a broken file is refused while the watch goes on as it was.

mod common;

use common::*;
use serde_json::Value;
use std::time::Duration;
use watch::config::{
    ChainConfig, ChannelConfig, Config, DurationRule, NodeConfig, Role, RouteConfig, Severity,
};

const MINUTE: Duration = Duration::from_secs(60);

fn chain_ids(s: &Value) -> Vec<String> {
    s["chains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

fn signed(s: &Value, id: &str) -> u64 {
    s["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .and_then(|c| c["signed_total"].as_u64())
        .unwrap_or(0)
}

#[test]
fn reloads_add_and_remove_chains_and_nodes_without_losing_or_repeating_alerts() {
    let net = bulwark().devnet();
    let up = net.up(&["--validators", "1", "--signer", "file"]);
    let status = &up["status"];
    let chain = status["chain_id"].as_str().unwrap().to_string();
    let hook = HttpStub::start("200 OK", "{}");
    let dead = format!("http://127.0.0.1:{}", free_port());
    let tmp = net.tmp.path();
    let chains_d = tmp.join("chains.d");
    std::fs::create_dir_all(&chains_d).unwrap();

    let port = free_port();
    let mut c = Config::new(tmp.join("watch.sqlite"));
    c.listen = ([127, 0, 0, 1], port).into();
    c.poll_interval = Duration::from_millis(300);
    c.repeat_interval = Duration::from_secs(3600);
    c.chains_dir = Some("chains.d".into());
    let rpc = node(status, "sentry0")["rpc_url"]
        .as_str()
        .unwrap()
        .to_string();
    let mut ch = ChainConfig::new(&chain, vec![rpc.clone()]);
    ch.validator_address = Some(validator_address(status, "val0"));
    ch.websocket = false;
    c.chains.push(ch);
    let node_cfg = |name: &str, chain: &str, rpc: &str| NodeConfig {
        hermes: None,
        hermes_prefix: None,
        name: name.into(),
        chain: chain.into(),
        role: Role::Full,
        rpc: rpc.into(),
        metrics: None,
        history: None,
        host: None,
        labels: Default::default(),
        rules: Default::default(),
    };
    let mut sentry = node_cfg("sentry0", &chain, &rpc);
    sentry.history = Some(watch::config::History::Archive);
    c.nodes.push(sentry);
    c.nodes.push(node_cfg("ghost", &chain, &dead));
    c.rules.node_down = DurationRule {
        warning: Duration::from_secs(1),
        critical: Duration::from_secs(3600),
    };
    c.rules.source_unhealthy = c.rules.node_down;
    c.channels.push(ChannelConfig::Webhook {
        name: "hook".into(),
        url: format!("{}/alerts", hook.url),
    });
    c.routes.push(RouteConfig {
        channels: vec!["hook".into()],
        ..RouteConfig::new(&[], Severity::Warning)
    });
    let cfg = tmp.join("watch.toml");
    std::fs::write(&cfg, c.to_toml().unwrap()).unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let reload = || bulwark().run(&["watch", "reload", "--url", &url, "--json"]);

    let d = bulwark().daemon(
        &[
            "--log-level",
            "info",
            "watch",
            "run",
            "--config",
            cfg.to_str().unwrap(),
        ],
        &tmp.join("watch.log"),
    );
    hook.wait_for("ghost down", MINUTE, |v| is(v, "node_down/ghost", "firing"));
    let s = wait_api(port, "blocks checked", &d, |s| signed(s, &chain) >= 3);
    // The node's history and latency are read from the real node: it keeps every block.
    let sentry = s["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "sentry0")
        .unwrap();
    assert_eq!(sentry["earliest_height"], 1, "{sentry:#}");
    assert!(
        sentry["latency_seconds"].as_f64().is_some_and(|l| l < 2.0),
        "{sentry:#}"
    );
    assert!(
        !s["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["rule"] == "rpc_history"),
        "{s:#}"
    );

    // A second chain arrives as a file; `watch reload` says what changed.
    std::fs::write(
        chains_d.join("other.toml"),
        format!(
            "[[chain]]\nid = \"other-1\"\nrpc = [\"{dead}\"]\nwebsocket = false\n\n[[node]]\nname = \"other-node\"\nchain = \"other-1\"\nrole = \"rpc\"\nrpc = \"{dead}\"\n"
        ),
    )
    .unwrap();
    let before = signed(&api(port), &chain);
    let r = json(&reload());
    assert_eq!(
        r["changes"]["added"],
        serde_json::json!(["chain other-1", "node other-node"]),
        "{r:#}"
    );
    assert_eq!(r["changes"]["restarted"], serde_json::json!([]), "{r:#}");
    assert_eq!(r["changes"]["removed"], serde_json::json!([]), "{r:#}");
    assert_eq!(r["changes"]["kept"], 3, "{r:#}");
    // The chain already followed was not read back again: its counts go on.
    let s = api(port);
    assert_eq!(chain_ids(&s), [chain.clone(), "other-1".into()], "{s:#}");
    assert!(signed(&s, &chain) >= before, "{before} {s:#}");
    hook.wait_for("the new chain's endpoint reported", MINUTE, |v| {
        is(v, &format!("source_unhealthy/other-1/{dead}"), "firing")
    });
    wait_api(port, "other-node down", &d, |s| {
        s["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["key"] == "node_down/other-node")
    });

    // A broken file is refused; nothing changes.
    let good = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        format!("{good}\n[rules.peers_low]\nwarning = \"many\"\n"),
    )
    .unwrap();
    let o = reload();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("refused the reload") && text(&o).contains("peers_low"),
        "{}",
        text(&o)
    );
    assert_eq!(chain_ids(&api(port)).len(), 2);

    // SIGHUP after taking out the ghost node and the other chain's file: their alerts
    // resolve, once each.
    let mut c2 = c.clone();
    c2.nodes.retain(|n| n.name != "ghost");
    std::fs::write(&cfg, c2.to_toml().unwrap()).unwrap();
    std::fs::remove_file(chains_d.join("other.toml")).unwrap();
    d.hangup();
    hook.wait_for("ghost resolved", MINUTE, |v| {
        is(v, "node_down/ghost", "resolved")
    });
    hook.wait_for("other-node resolved", MINUTE, |v| {
        is(v, "node_down/other-node", "resolved")
    });
    let s = wait_api(port, "other chain gone", &d, |s| {
        chain_ids(s) == [chain.clone()]
    });
    assert!(
        !s["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["name"] == "ghost"),
        "{s:#}"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(count(&hook, "node_down/ghost", "firing"), 1, "repeated");
    assert_eq!(count(&hook, "node_down/ghost", "resolved"), 1);
    assert_eq!(count(&hook, "node_down/other-node", "resolved"), 1);
    assert!(
        d.log_text().contains("configuration reloaded"),
        "{}",
        d.log_text()
    );
}

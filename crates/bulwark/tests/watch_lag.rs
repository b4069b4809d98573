//! `bulwark watch` on a real CometBFT devnet where one validator's node is cut off from
//! its peers while its RPC keeps answering: the watch reports it behind and short of
//! peers, stops reading the chain through it (a stuck endpoint would hide misses), and
//! everything resolves when the node is reconnected and catches up.

mod common;

use common::*;
use std::path::Path;
use std::time::Duration;
use watch::config::{
    ChainConfig, ChannelConfig, Config, CountRule, DurationRule, NodeConfig, Role, RouteConfig,
    Severity,
};

const MINUTE: Duration = Duration::from_secs(60);

fn watch_toml(status: &serde_json::Value, port: u16, state: &Path, hook: &str) -> String {
    let chain = status["chain_id"].as_str().unwrap();
    let rpc = |n: &str| node(status, n)["rpc_url"].as_str().unwrap().to_string();
    let secs = Duration::from_secs;
    let mut c = Config::new(state.to_path_buf());
    c.listen = ([127, 0, 0, 1], port).into();
    c.poll_interval = Duration::from_millis(300);
    c.request_timeout = secs(2);
    // The cut-off node first: the watch must not keep reading the chain through it.
    let mut ch = ChainConfig::new(chain, vec![rpc("val3"), rpc("val1"), rpc("val2")]);
    ch.validator_address = Some(validator_address(status, "val0"));
    ch.websocket = false;
    c.chains.push(ch);
    for n in ["val1", "val2", "val3"] {
        c.nodes.push(NodeConfig {
            hermes: None,
            hermes_prefix: None,
            name: n.into(),
            chain: chain.into(),
            role: Role::Validator,
            rpc: rpc(n),
            metrics: None,
            history: None,
            rules: Default::default(),
            host: None,
            labels: Default::default(),
        });
    }
    let count = |warning, critical| CountRule {
        warning,
        critical,
        for_: Duration::ZERO,
    };
    c.rules.node_behind = count(3, 100_000);
    c.rules.peers_low = count(1, 0);
    c.rules.source_unhealthy = DurationRule {
        warning: secs(1),
        critical: secs(3600),
    };
    c.rules.missed_in_a_row = count(3, 1000);
    c.rules.chain_stalled = DurationRule {
        warning: secs(20),
        critical: secs(3600),
    };
    c.channels.push(ChannelConfig::Webhook {
        name: "hook".into(),
        url: format!("{hook}/alerts"),
    });
    c.routes.push(RouteConfig {
        channels: vec!["hook".into()],
        ..RouteConfig::new(&[], Severity::Warning)
    });
    c.to_toml().unwrap()
}

fn up_again(net: &Devnet) {
    let o = net.cmd("up", &["--json"]);
    if !o.status.success() {
        eprintln!("devnet up failed once, trying again:\n{}", text(&o));
        net.up(&[]);
    }
}

#[test]
fn a_node_cut_off_from_its_peers_is_reported_behind_and_not_read_from() {
    let net = bulwark().devnet();
    let up = net.up(&["--validators", "4"]);
    let status = up["status"].clone();
    let chain = status["chain_id"].as_str().unwrap().to_string();
    net.wait_status("val0 signing", MINUTE, |s| {
        commit_signers(s, 1).is_some_and(|(_, signed)| signed.iter().any(|v| v == "val0"))
    });

    // val3 restarts cut off; the other three hold 3/4 of the power and go on.
    let o = net.cmd("stop", &["val3"]);
    assert!(o.status.success(), "{}", text(&o));
    let home = net.dir.join("nodes/val3");
    let original = isolate(&home);
    up_again(&net);
    let val3_rpc = node(&status, "val3")["rpc_url"]
        .as_str()
        .unwrap()
        .to_string();
    net.wait_status("val3 answering", MINUTE, |s| {
        node(s, "val3")["height"].as_u64().is_some()
    });

    let hook = HttpStub::start("200 OK", "{}");
    let port = free_port();
    let cfg = net.tmp.path().join("lag.toml");
    let toml = watch_toml(&status, port, &net.tmp.path().join("lag.sqlite"), &hook.url);
    std::fs::write(&cfg, toml).unwrap();
    let mut d = bulwark().daemon(
        &[
            "--log-level",
            "info",
            "watch",
            "run",
            "--config",
            cfg.to_str().unwrap(),
        ],
        &net.tmp.path().join("lag.log"),
    );

    let behind_key = "node_behind/val3";
    let v = hook.wait_for("val3 behind", 2 * MINUTE, |v| is(v, behind_key, "firing"));
    assert_eq!(v["severity"], "warning", "{v:#}");
    assert_eq!(v["node"], "val3", "{v:#}");
    let summary = v["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(&format!("val3 (validator, {chain}) is "))
            && summary.contains(" blocks behind (height ")
            && summary.ends_with("check its peers, CPU and disk I/O"),
        "{summary}"
    );
    let peers_key = "peers_low/val3";
    let v = hook.wait_for("val3 without peers", MINUTE, |v| is(v, peers_key, "firing"));
    assert!(
        v["summary"].as_str().unwrap().contains("has only 0 peers"),
        "{v:#}"
    );

    // The chain is followed through the live endpoints, and val3's is called stuck.
    let src_key = format!("source_unhealthy/{chain}/{val3_rpc}");
    let v = hook.wait_for("val3's endpoint unhealthy", MINUTE, |v| {
        is(v, &src_key, "firing")
    });
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .contains("behind: at height "),
        "{v:#}"
    );
    let s = wait_api(port, "the chain read past val3's height", &d, |s| {
        let val3_h = s["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == "val3")
            .and_then(|n| n["height"].as_u64())
            .unwrap_or(u64::MAX);
        s["chains"][0]["checked_height"]
            .as_u64()
            .is_some_and(|c| c > val3_h + 5)
    });
    assert_eq!(s["chains"][0]["missed_in_a_row"], 0, "{s:#}");
    for key in [
        format!("chain_stalled/{chain}"),
        format!("missed_in_a_row/{chain}"),
    ] {
        assert_eq!(
            count(&hook, &key, "firing"),
            0,
            "{key}: {:#?}",
            hook.json_bodies()
        );
    }
    let metrics = http_body(&format!("http://127.0.0.1:{port}/metrics"));
    let behind_line = metrics
        .lines()
        .find(|l| l.starts_with("bulwark_watch_node_blocks_behind{") && l.contains("node=\"val3\""))
        .unwrap_or_else(|| panic!("no blocks-behind metric for val3:\n{metrics}"));
    let behind: u64 = behind_line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(behind >= 3, "{behind_line}");

    // Reconnected, val3 catches up and every alert about it resolves, once.
    let o = net.cmd("stop", &["val3"]);
    assert!(o.status.success(), "{}", text(&o));
    std::fs::write(home.join("config/config.toml"), original).unwrap();
    up_again(&net);
    for key in [behind_key, peers_key, src_key.as_str()] {
        hook.wait_for("val3 back", 2 * MINUTE, |v| is(v, key, "resolved"));
        assert_eq!(count(&hook, key, "firing"), 1, "{key}");
        assert_eq!(count(&hook, key, "resolved"), 1, "{key}");
    }
    assert_eq!(d.terminate(), Some(0), "{}", d.log_text());
}

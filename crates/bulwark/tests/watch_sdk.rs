//! `bulwark watch` against a real Cosmos SDK chain (simapp's `simd` v0.46, CometBFT
//! v0.34 underneath): two validators, a big one that keeps the chain alive and "ours"
//! with about 5% of the power, a 20-block slashing window that allows 10 misses.
//!
//! One chain serves every assertion, in order: bad REST endpoints (garbage, unreachable,
//! the RPC port by mistake) raise source_unhealthy while the data comes from the good
//! one; an upgrade passed by governance raises the countdown; "ours" stops, so the
//! window share and the jail projection fire, then the chain jails it, the jailed alert
//! fires, the projection alerts give way and the status shows it out of the active set;
//! a watch left with only bad REST endpoints says so and neither raises nor resolves
//! a jail alert. A second watch reads the same data by ABCI query through the RPC
//! (`abci_query = true`), given only the operator address: it finds the consensus
//! address from the validator's staking record, the REST port given as RPC is reported,
//! and it reads what the REST watch reads and sees the same jail.

mod common;

use common::*;
use serde_json::Value;
use std::time::{Duration, Instant};
use testkit::simd::{SdkChain, SdkOptions};
use watch::config::{
    ChainConfig, ChannelConfig, Config, DurationRule, NodeConfig, PercentRule, Role, RouteConfig,
    Severity,
};

const MINUTE: Duration = Duration::from_secs(60);

/// Index of the first notification matching, in arrival order.
fn position(hook: &HttpStub, pred: impl Fn(&Value) -> bool) -> Option<usize> {
    hook.json_bodies().iter().position(pred)
}

fn config(chain: &SdkChain, port: u16, state: &str, hook: &str, rest: &[String]) -> String {
    rest_config(chain, port, state, hook, rest)
        .to_toml()
        .unwrap()
}

/// The watch reading the Cosmos SDK data from the `rest` endpoints.
fn rest_config(chain: &SdkChain, port: u16, state: &str, hook: &str, rest: &[String]) -> Config {
    let big = chain.node("big");
    let ours = chain.node("ours");
    let secs = Duration::from_secs;
    let mut c = Config::new(state.into());
    c.listen = ([127, 0, 0, 1], port).into();
    c.poll_interval = Duration::from_millis(300);
    c.request_timeout = secs(2);
    c.repeat_interval = secs(3600);
    let mut ch = ChainConfig::new(&chain.chain_id, vec![big.rpc.clone()]);
    ch.validator_address = Some(ours.cons_hex.clone());
    ch.rest = rest.to_vec();
    ch.operator_address = Some(ours.operator.clone());
    ch.sdk_interval = Duration::from_millis(300);
    c.chains.push(ch);
    c.rules.source_unhealthy = DurationRule {
        warning: secs(1),
        critical: secs(3),
    };
    c.rules.window_missed = PercentRule {
        warning: 30.0,
        critical: 60.0,
        for_: Duration::ZERO,
    };
    c.rules.jail_in = DurationRule {
        warning: secs(10 * 60),
        critical: secs(60),
    };
    c.rules.upgrade_in = DurationRule {
        warning: secs(48 * 3600),
        critical: secs(5 * 60),
    };
    c.channels.push(ChannelConfig::Webhook {
        name: "hook".into(),
        url: format!("{hook}/alerts"),
    });
    c.routes.push(RouteConfig {
        channels: vec!["hook".into()],
        ..RouteConfig::new(&[], Severity::Warning)
    });
    c
}

/// The same watch reading the Cosmos SDK data by ABCI query through `rpcs`, and the
/// big validator's node with its CometBFT metrics.
fn abci_config(chain: &SdkChain, port: u16, state: &str, hook: &str, rpcs: &[String]) -> String {
    let mut c = rest_config(chain, port, state, hook, &[]);
    let big = chain.node("big");
    let ch = &mut c.chains[0];
    ch.rpc = rpcs.to_vec();
    ch.abci_query = true;
    // No validator_address: this watch finds it from the validator's staking record.
    ch.validator_address = None;
    c.nodes.push(NodeConfig {
        hermes: None,
        hermes_prefix: None,
        name: "big".into(),
        chain: chain.chain_id.clone(),
        role: Role::Validator,
        rpc: big.rpc.clone(),
        metrics: Some(big.metrics.clone()),
        history: None,
        rules: Default::default(),
        host: None,
        labels: Default::default(),
    });
    c.to_toml().unwrap()
}

#[test]
fn watch_follows_slashing_jailing_and_upgrades_on_a_cosmos_sdk_chain() {
    let started = Instant::now();
    // Another chain, whose REST endpoint is given by mistake.
    let other = std::thread::spawn(|| {
        SdkChain::start(SdkOptions {
            chain_id: "other-1".into(),
            validators: vec![("solo".into(), 1_000_000_000)],
            timeout_commit: "2s".into(),
            ..Default::default()
        })
    });
    let mut chain = SdkChain::start(SdkOptions::default());
    let other = other.join().expect("the other chain starts");
    let id = chain.chain_id.clone();
    let ours = chain.node("ours").operator.clone();

    // An upgrade passed by governance, far enough ahead that the chain keeps going.
    let plan_height = chain.height() + 3000;
    chain.schedule_upgrade("bulwark-v2", plan_height);
    // A clean start: the first window is over and the misses from the start are gone.
    chain.wait("ours at 0 missed blocks", 2 * MINUTE, |c| {
        c.height() > 25 && c.signing_info("big", "ours")["missed_blocks_counter"] == "0"
    });

    let tmp = tempfile::tempdir().unwrap();
    let hook = HttpStub::start("200 OK", "{}");
    let garbage = HttpStub::start("200 OK", "<html>this is not the REST API</html>");
    let dead = format!("http://127.0.0.1:{}", free_port());
    // The RPC port given as REST by mistake.
    let rpc_as_rest = chain.node("big").rpc.clone();
    let good = chain.node("big").rest.clone();
    let other_rest = other.node("solo").rest.clone();
    let rest = [
        garbage.url.clone(),
        dead.clone(),
        rpc_as_rest.clone(),
        other_rest.clone(),
        good.clone(),
    ];
    let port = free_port();
    let state = tmp.path().join("watch.sqlite");
    let cfg_path = tmp.path().join("watch.toml");
    let state_s = state.to_str().unwrap();
    std::fs::write(&cfg_path, config(&chain, port, state_s, &hook.url, &rest)).unwrap();
    let cfg = cfg_path.to_str().unwrap().to_string();
    let mut d = bulwark().daemon(
        &["--log-level", "info", "watch", "run", "--config", &cfg],
        &tmp.path().join("watch.log"),
    );
    // The ABCI watch, with the REST port given as an RPC endpoint by mistake first.
    let abci_hook = HttpStub::start("200 OK", "{}");
    let abci_port = free_port();
    let abci_cfg = tmp.path().join("abci.toml");
    let abci_rpcs = [good.clone(), chain.node("big").rpc.clone()];
    std::fs::write(
        &abci_cfg,
        abci_config(
            &chain,
            abci_port,
            tmp.path().join("abci.sqlite").to_str().unwrap(),
            &abci_hook.url,
            &abci_rpcs,
        ),
    )
    .unwrap();
    let mut abci = bulwark().daemon(
        &[
            "--log-level",
            "info",
            "watch",
            "run",
            "--config",
            abci_cfg.to_str().unwrap(),
        ],
        &tmp.path().join("abci.log"),
    );

    // Each bad REST endpoint is reported as such; one good endpoint is enough.
    for (url, why) in [
        (&garbage.url, "garbage response".to_string()),
        (&dead, "unreachable".into()),
        (
            &rpc_as_rest,
            "does not serve the base tendermint service".into(),
        ),
        (
            &other_rest,
            format!("wrong chain: expected {id}, the endpoint is on other-1"),
        ),
    ] {
        let key = format!("source_unhealthy/{id}/rest/{url}");
        let v = hook.wait_for(&format!("REST source alert for {url}"), MINUTE, |v| {
            is(v, &key, "firing")
        });
        assert_eq!(v["rule"], "source_unhealthy", "{v:#}");
        assert_eq!(v["severity"], "warning", "one endpoint is healthy: {v:#}");
        let s = v["summary"].as_str().unwrap();
        assert!(
            s.starts_with(&format!(
                "{id}: REST endpoint {url} has been unhealthy for "
            )) && s.contains(why.as_str())
                && s.contains("1 of 5 REST endpoints healthy"),
            "{v:#}"
        );
    }
    let s = wait_api(port, "SDK data read and blocks checked", &d, |s| {
        let c = &s["chains"][0];
        c["sdk"]["fresh"] == true
            && c["sdk"]["block_time_seconds"].as_f64().is_some()
            && c["signed_total"].as_u64() >= Some(3)
    });
    let c = &s["chains"][0];
    let sdk = &c["sdk"];
    // The bech32 consensus address the watch derives is the chain's own.
    assert_eq!(
        sdk["consensus_address"],
        chain.consensus_bech32("ours").as_str()
    );
    assert_eq!(sdk["sources"][4]["healthy"], true, "{sdk:#}");
    assert_eq!(sdk["validator"]["status"], "BOND_STATUS_BONDED", "{sdk:#}");
    assert_eq!(sdk["validator"]["moniker"], "ours");
    assert_eq!(sdk["slashing_params"]["signed_blocks_window"], 20);
    assert_eq!(sdk["slashing_params"]["allowed_missed_blocks"], 10);
    assert_eq!(sdk["assessment"]["bonded"], true);
    assert_eq!(sdk["assessment"]["jailed"], false);
    assert_eq!(sdk["assessment"]["tombstoned"], false);
    assert_eq!(sdk["upgrade_plan"]["height"], plan_height);
    let bt = sdk["block_time_seconds"].as_f64().unwrap();
    assert!(bt > 0.2 && bt < 10.0, "block time {bt}");
    // Blocks of a CometBFT v0.34 chain are read: ours signs.
    assert_eq!(c["missed_in_a_row"], 0, "{c:#}");

    // By ABCI query: the REST port is no RPC, and the data read through the RPC is the
    // data read over REST.
    let key = format!("source_unhealthy/{id}/abci/{good}");
    let v = abci_hook.wait_for("ABCI source alert for the REST port", MINUTE, |v| {
        is(v, &key, "firing")
    });
    let s = v["summary"].as_str().unwrap();
    assert!(
        s.starts_with(&format!(
            "{id}: RPC endpoint (ABCI query) {good} has been unhealthy for "
        )) && s.contains("is this the node's CometBFT RPC (usually port 26657)?")
            && s.contains("1 of 2 RPC endpoints (ABCI query) healthy"),
        "{v:#}"
    );
    assert_eq!(v["severity"], "warning", "{v:#}");
    let a = wait_api(abci_port, "SDK data read by ABCI query", &abci, |s| {
        s["chains"][0]["sdk"]["fresh"] == true
            && s["chains"][0]["sdk"]["block_time_seconds"]
                .as_f64()
                .is_some()
            && s["chains"][0]["sdk"]["signing_info"].is_object()
    });
    // Its consensus address, found from operator_address alone, is the one the other
    // watch was given.
    assert_eq!(
        a["chains"][0]["validator_address"],
        chain.node("ours").cons_hex.as_str(),
        "{:#}",
        a["chains"][0]
    );
    let by_abci = &a["chains"][0]["sdk"];
    assert_eq!(by_abci["via"], "abci", "{by_abci:#}");
    assert_eq!(sdk["via"], "rest", "{sdk:#}");
    for field in [
        "consensus_address",
        "slashing_params",
        "validator",
        "upgrade_plan",
    ] {
        assert_eq!(by_abci[field], sdk[field], "{field} by ABCI and by REST");
    }
    for field in ["address", "start_height", "tombstoned", "jailed_until"] {
        assert_eq!(
            by_abci["signing_info"][field], sdk["signing_info"][field],
            "signing_info.{field} by ABCI and by REST"
        );
    }
    assert_eq!(by_abci["sources"][1]["healthy"], true, "{by_abci:#}");
    // CometBFT v0.34's metrics carry the `tendermint_` names.
    let a = wait_api(abci_port, "the v0.34 node's metrics", &abci, |s| {
        s["nodes"][0]["metrics"]["up"] == true
    });
    let f = &a["nodes"][0]["metrics"]["figures"];
    assert!(
        f["consensus_rounds"].is_u64() && f["missing_power_ratio"].is_f64(),
        "{a:#}"
    );

    // The upgrade countdown.
    let up_key = format!("upgrade_in/{id}");
    let v = hook.wait_for("upgrade countdown", MINUTE, |v| is(v, &up_key, "firing"));
    assert_eq!(v["rule"], "upgrade_in");
    assert_eq!(v["severity"], "warning", "{v:#}");
    let s = v["summary"].as_str().unwrap();
    assert!(
        s.starts_with(&format!(
            "{id}: software upgrade \"bulwark-v2\" is scheduled at height {plan_height}, "
        )) && s.contains(" blocks from now: about ")
            && s.contains("the chain halts there until nodes run the new binary"),
        "{v:#}"
    );
    for key in [
        "window_missed",
        "jail_in",
        "validator_jailed",
        "validator_inactive",
        "validator_tombstoned",
        "validator_unknown",
    ] {
        assert_eq!(
            count(&hook, &format!("{key}/{id}"), "firing"),
            0,
            "{key} fired while ours signs: {:#?}",
            hook.json_bodies()
        );
    }

    // Ours stops signing.
    let before_stop = hook.json_bodies().len();
    chain.stop("ours");
    let win_key = format!("window_missed/{id}");
    let v = hook.wait_for("window share alert", MINUTE, |v| is(v, &win_key, "firing"));
    let s = v["summary"].as_str().unwrap();
    assert!(
        s.starts_with(&format!("{id}: our validator ours ({ours}) missed "))
            && s.contains(" of the last 20 blocks, ")
            && s.contains("% of the 10 the chain allows before jailing; "),
        "{v:#}"
    );
    let jail_key = format!("jail_in/{id}");
    let v = hook.wait_for("jail projection alert", MINUTE, |v| {
        is(v, &jail_key, "firing") && v["severity"] == "critical"
    });
    let s = v["summary"].as_str().unwrap();
    assert!(
        s.starts_with(&format!("{id}: our validator ours ({ours}) is jailed in ~"))
            && s.contains(" at its current miss rate (100% of the last ")
            && s.contains(" misses the chain allows are used; get it signing now"),
        "{v:#}"
    );
    let missed_key = format!("missed_in_a_row/{id}");
    hook.wait_for("missed-in-a-row alert", MINUTE, |v| {
        is(v, &missed_key, "firing")
    });

    // The chain jails it.
    let jailed_key = format!("validator_jailed/{id}");
    let v = hook.wait_for("jailed alert", MINUTE, |v| is(v, &jailed_key, "firing"));
    assert_eq!(v["severity"], "critical", "{v:#}");
    assert_eq!(v["rule"], "validator_jailed");
    let s = v["summary"].as_str().unwrap();
    assert!(
        s.starts_with(&format!("{id}: our validator ours ({ours}) is JAILED"))
            && s.contains("tx slashing unjail"),
        "{v:#}"
    );
    let chain_says = chain.rest("big", &format!("/cosmos/staking/v1beta1/validators/{ours}"));
    assert_eq!(chain_says["validator"]["jailed"], true, "{chain_says:#}");
    // Warned before the jail, and the jail alert only after the stop.
    let first = |key: &str| position(&hook, |v| is(v, key, "firing")).unwrap();
    assert!(first(&win_key) >= before_stop && first(&jail_key) >= before_stop);
    assert!(
        first(&win_key) < first(&jailed_key),
        "{:#?}",
        hook.json_bodies()
    );
    assert!(
        first(&jail_key) < first(&jailed_key),
        "{:#?}",
        hook.json_bodies()
    );
    // The projection alerts give way to the jail alert.
    for key in [&win_key, &jail_key] {
        hook.wait_for(&format!("{key} resolved after the jail"), MINUTE, |v| {
            is(v, key, "resolved")
        });
    }
    let s = wait_api(port, "ours out of the active set", &d, |s| {
        s["chains"][0]["sdk"]["validator"]["status"] != "BOND_STATUS_BONDED"
    });
    let sdk = &s["chains"][0]["sdk"];
    assert_eq!(sdk["validator"]["jailed"], true, "{sdk:#}");
    assert_eq!(sdk["assessment"]["bonded"], false);
    assert_eq!(sdk["assessment"]["jailed"], true);
    assert!(sdk["assessment"]["jail_in_blocks"].is_null(), "{sdk:#}");
    let status = sdk["validator"]["status"].as_str().unwrap().to_string();
    assert!(
        s["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["key"] == jailed_key.as_str()),
        "{s:#}"
    );
    // Jailed is not also "inactive", and nothing about a tombstone.
    for key in ["validator_inactive", "validator_tombstoned"] {
        assert_eq!(count(&hook, &format!("{key}/{id}"), "firing"), 0);
    }
    assert_eq!(count(&hook, &jailed_key, "firing"), 1, "one alert per key");
    // The ABCI watch sees the same jail.
    let v = abci_hook.wait_for("jailed alert by ABCI query", MINUTE, |v| {
        is(v, &jailed_key, "firing")
    });
    assert_eq!(v["severity"], "critical", "{v:#}");
    // The validator record and the signing info are separate queries: wait for both.
    let a = wait_api(abci_port, "ours jailed by ABCI query", &abci, |s| {
        let sdk = &s["chains"][0]["sdk"];
        sdk["validator"]["jailed"] == true
            && sdk["signing_info"]["jailed_until"].as_f64() > Some(0.0)
    });
    let by_abci = &a["chains"][0]["sdk"];
    assert_eq!(by_abci["assessment"]["jailed"], true, "{by_abci:#}");
    assert!(
        by_abci["signing_info"]["jailed_until"].as_f64() > Some(0.0),
        "{by_abci:#}"
    );
    let m = http_body(&format!("http://127.0.0.1:{abci_port}/metrics"));
    assert_eq!(
        sample(
            &m,
            &format!("bulwark_watch_sdk_source_up{{chain=\"{id}\",url=\"{good}\",via=\"abci\"}}")
        ),
        Some(0.0),
        "{m}"
    );
    assert_eq!(
        sample(
            &m,
            &format!("bulwark_watch_validator_jailed{{chain=\"{id}\"}}")
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(abci.terminate(), Some(0), "{}", abci.log_text());

    // The chain's status page and the metrics show it.
    let page = http_body(&format!("http://127.0.0.1:{port}/chain/{id}"));
    for needle in [
        "Cosmos SDK: validator ours",
        &status,
        "JAILED",
        &format!("upgrade bulwark-v2 at height {plan_height}"),
        "REST",
    ] {
        assert!(page.contains(needle), "{needle:?} not on the page:\n{page}");
    }
    let m = http_body(&format!("http://127.0.0.1:{port}/metrics"));
    let l = format!("{{chain=\"{id}\"}}");
    for (name, want) in [
        ("bulwark_watch_validator_jailed", 1.0),
        ("bulwark_watch_validator_bonded", 0.0),
        ("bulwark_watch_validator_tombstoned", 0.0),
        ("bulwark_watch_slashing_window_blocks", 20.0),
        ("bulwark_watch_slashing_allowed_missed_blocks", 10.0),
        ("bulwark_watch_upgrade_height", plan_height as f64),
    ] {
        assert_eq!(
            sample(&m, &format!("{name}{l}")),
            Some(want),
            "{name}:\n{m}"
        );
    }
    assert!(
        sample(&m, &format!("bulwark_watch_upgrade_blocks_remaining{l}")).is_some_and(|b| b > 0.0)
    );
    assert!(sample(&m, &format!("bulwark_watch_block_time_seconds{l}")).is_some_and(|b| b > 0.0));
    assert_eq!(
        sample(
            &m,
            &format!(
                "bulwark_watch_sdk_source_up{{chain=\"{id}\",url=\"{}\",via=\"rest\"}}",
                garbage.url
            )
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &m,
            &format!("bulwark_watch_sdk_source_up{{chain=\"{id}\",url=\"{good}\",via=\"rest\"}}")
        ),
        Some(1.0)
    );
    // NewBlock events of CometBFT v0.34 wake the collector.
    assert!(
        sample(&m, &format!("bulwark_watch_websocket_new_blocks_total{l}"))
            .is_some_and(|n| n > 0.0),
        "{m}"
    );
    let (ok, out) = promtool(&["check", "metrics"], m.as_bytes());
    assert!(ok, "promtool check metrics: {out}\n{m}");

    let url = format!("http://127.0.0.1:{port}");
    let o = bulwark().run(&["watch", "status", "--url", &url]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success()
            && out.contains(&format!("  sdk: validator ours {status}; JAILED; missed "))
            && out.contains(&format!("upgrade bulwark-v2 at height {plan_height} ("))
            && out.contains(&format!("  rest {good}: ok")),
        "{}",
        text(&o)
    );

    // Only bad REST endpoints left: the watch says the data is not being checked and
    // the jail alert neither resolves nor repeats.
    assert_eq!(d.terminate(), Some(0), "{}", d.log_text());
    let bad_only = [garbage.url.clone(), dead.clone()];
    std::fs::write(
        &cfg_path,
        config(&chain, port, state_s, &hook.url, &bad_only),
    )
    .unwrap();
    let before_restart = hook.json_bodies().len();
    let d = bulwark().daemon(
        &["--log-level", "info", "watch", "run", "--config", &cfg],
        &tmp.path().join("watch-2.log"),
    );
    let key = format!("source_unhealthy/{id}/rest/{}", garbage.url);
    let v = hook.wait_for("REST source critical with none healthy", MINUTE, |v| {
        is(v, &key, "firing") && v["severity"] == "critical"
    });
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .contains("0 of 2 REST endpoints healthy, so slashing, jail and upgrade data are NOT being checked"),
        "{v:#}"
    );
    let s = wait_api(port, "stale SDK data after the restart", &d, |s| {
        s["chains"][0]["sdk"]["fresh"] == false
    });
    assert!(
        s["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["key"] == jailed_key.as_str()),
        "the jail alert is kept: {s:#}"
    );
    // A few more polls with no data: nothing about the jail, either way.
    std::thread::sleep(Duration::from_secs(2));
    let after: Vec<Value> = hook.json_bodies()[before_restart..].to_vec();
    assert!(
        !after.iter().any(|v| v["key"] == jailed_key.as_str()
            || v["key"] == win_key.as_str()
            || v["key"] == jail_key.as_str()),
        "bad REST must not change jail alerts: {after:#?}"
    );
    for v in hook.json_bodies() {
        eprintln!(
            "{} {} {}: {}",
            v["status"], v["severity"], v["key"], v["summary"]
        );
    }
    eprintln!("watch_sdk took {:?}", started.elapsed());
}

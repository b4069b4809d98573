//! Rule levels per chain on two real chains watched by one `bulwark watch`: the devnet
//! (CometBFT) and the Cosmos SDK `simd` chain. On each, one validator stops, so both
//! show the same miss pattern; the devnet chain warns at `[rules]`' 4 in a row, the
//! simd chain has its own levels (warning at 500) and stays quiet. `watch check
//! --chain` shows each chain's effective levels and where each comes from.

mod common;

use common::*;
use serde_json::Value;
use std::time::Duration;
use testkit::simd::{SdkChain, SdkOptions};
use watch::config::{ChainConfig, Config, CountRule, RuleOverrides};

fn chain_of<'a>(s: &'a Value, id: &str) -> &'a Value {
    s["chains"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no chain {id} in {s:#}"))
}

fn firing(s: &Value, key: &str) -> bool {
    s["alerts"]
        .as_array()
        .is_some_and(|a| a.iter().any(|x| x["key"] == key))
}

fn level<'a>(levels: &'a Value, rule: &str, field: &str) -> &'a Value {
    let r = levels["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule} in {levels:#}"));
    r["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == field)
        .unwrap_or_else(|| panic!("no {rule}.{field} in {r:#}"))
}

#[test]
fn the_same_misses_alert_on_one_chain_and_not_on_the_other() {
    let net = bulwark().devnet();
    let up = net.up(&["--validators", "4"]);
    let status = &up["status"];
    let devnet_id = status["chain_id"].as_str().unwrap().to_string();
    let mut sdk = SdkChain::start(SdkOptions {
        signed_blocks_window: 10_000,
        ..SdkOptions::default()
    });
    let ours_address = sdk.node("ours").cons_hex.clone();

    let port = free_port();
    let mut c = Config::new(net.tmp.path().join("watch.sqlite"));
    c.listen = ([127, 0, 0, 1], port).into();
    c.poll_interval = Duration::from_millis(300);
    c.rules.missed_in_a_row = CountRule {
        warning: 4,
        critical: 100_000,
        for_: Duration::ZERO,
    };
    let mut dn = ChainConfig::new(
        &devnet_id,
        vec![node(status, "val1")["rpc_url"].as_str().unwrap().into()],
    );
    dn.validator_address = Some(validator_address(status, "val3"));
    dn.websocket = false;
    c.chains.push(dn);
    let mut sc = ChainConfig::new(&sdk.chain_id, vec![sdk.node("big").rpc.clone()]);
    sc.validator_address = Some(ours_address);
    sc.websocket = false;
    sc.block_time = Some(Duration::from_secs(1));
    sc.rules =
        RuleOverrides::default().with("missed_in_a_row", &serde_json::json!({ "warning": 500 }));
    c.chains.push(sc);
    let cfg = net.tmp.path().join("watch.toml");
    std::fs::write(&cfg, c.to_toml().unwrap()).unwrap();
    let cfg = cfg.to_str().unwrap();

    // What each chain's levels are, and where they come from.
    let check = |id: &str| {
        json(&bulwark().run(&["watch", "check", "--config", cfg, "--chain", id, "--json"]))
            ["levels"]
            .clone()
    };
    let l = check(&sdk.chain_id);
    assert_eq!(
        level(&l, "missed_in_a_row", "warning")["value"],
        "500",
        "{l:#}"
    );
    assert_eq!(
        level(&l, "missed_in_a_row", "warning")["from"],
        format!("chain {:?} rules", sdk.chain_id)
    );
    assert_eq!(level(&l, "missed_in_a_row", "critical")["value"], "100000");
    assert_eq!(level(&l, "missed_in_a_row", "critical")["from"], "[rules]");
    assert_eq!(level(&l, "node_down", "warning")["from"], "default");
    let l = check(&devnet_id);
    assert_eq!(
        level(&l, "missed_in_a_row", "warning")["value"],
        "4",
        "{l:#}"
    );
    assert_eq!(level(&l, "missed_in_a_row", "warning")["from"], "[rules]");

    let log = net.tmp.path().join("watch.log");
    let d = bulwark().daemon(&["watch", "run", "--config", cfg], &log);
    // Both validators sign at first.
    wait_api(port, "both validators signing", &d, |s| {
        [&devnet_id, &sdk.chain_id]
            .iter()
            .all(|id| chain_of(s, id)["signed_total"].as_u64() >= Some(2))
    });
    assert!(net.cmd("stop", &["val3"]).status.success());
    sdk.stop("ours");
    let s = wait_api(port, "five misses in a row on both chains", &d, |s| {
        [&devnet_id, &sdk.chain_id]
            .iter()
            .all(|id| chain_of(s, id)["missed_in_a_row"].as_u64() >= Some(5))
    });
    let s = if firing(&s, &format!("missed_in_a_row/{devnet_id}")) {
        s
    } else {
        wait_api(port, "the devnet chain's alert", &d, |s| {
            firing(s, &format!("missed_in_a_row/{devnet_id}"))
        })
    };
    assert!(
        !firing(&s, &format!("missed_in_a_row/{}", sdk.chain_id)),
        "the simd chain's own levels were not used: {s:#}"
    );
    assert!(chain_of(&s, &sdk.chain_id)["missed_in_a_row"].as_u64() >= Some(5));
}

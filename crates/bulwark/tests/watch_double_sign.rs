//! A real double sign on the devnet, as a careless failover makes one: val0 signs with
//! its key file, and its backup node is restarted with a copy of that key and a fresh
//! sign state. When the twins sign different things at one height, the other
//! validators commit the evidence, and the devnet's watch raises `double_sign`.

mod common;

use common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

fn alerts(watch_url: &str) -> Vec<Value> {
    let body = http_body(&format!("{watch_url}/api/status"));
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    v["alerts"].as_array().cloned().unwrap_or_default()
}

#[test]
fn a_second_node_with_val0s_key_double_signs_and_the_watch_says_so() {
    let net = bulwark().devnet();
    let up = net.up(&["--validators", "4", "--signer", "file"]);
    let url = up["status"]["watch_process"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let chain = up["status"]["chain_id"].as_str().unwrap().to_string();
    net.wait_status("val0 signing", Duration::from_secs(90), |s| {
        commit_signers(s, 3).is_some_and(|(_, who)| who.iter().any(|w| w == "val0"))
    });
    let key = format!("double_sign/{chain}");
    assert!(
        !alerts(&url).iter().any(|a| a["key"] == key.as_str()),
        "no double sign yet"
    );
    let series = format!("bulwark_watch_validator_double_sign_evidence{{chain=\"{chain}\"}} 0");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http_body(&format!("{url}/metrics")).contains(&series) {
        assert!(Instant::now() < deadline, "no {series}");
        std::thread::sleep(Duration::from_millis(250));
    }

    // The backup node gets val0's key and a sign state that remembers nothing.
    assert!(net.cmd("stop", &["val0-backup"]).status.success());
    let home = net.dir.join("nodes/val0-backup");
    std::fs::copy(
        net.dir.join("keys/val0/priv_validator_key.json"),
        home.join("config/priv_validator_key.json"),
    )
    .unwrap();
    std::fs::write(
        home.join("data/priv_validator_state.json"),
        r#"{"height":"0","round":0,"step":0}"#,
    )
    .unwrap();
    let again = net.up(&[]);
    assert_eq!(
        again["started"],
        serde_json::json!(["val0-backup"]),
        "{again:#}"
    );

    let deadline = Instant::now() + Duration::from_secs(240);
    let alert = loop {
        if let Some(a) = alerts(&url).into_iter().find(|a| a["key"] == key.as_str()) {
            break a;
        }
        assert!(
            Instant::now() < deadline,
            "no double_sign alert; alerts: {:#?}",
            alerts(&url)
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(alert["severity"], "critical", "{alert:#}");
    let summary = alert["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(&format!("{chain}: our validator "))
            && summary.contains(" SIGNED TWICE at height ")
            && summary.contains("stop every node and signer holding this key now"),
        "{alert:#}"
    );
    let m = http_body(&format!("{url}/metrics"));
    assert!(
        m.contains(&format!(
            "bulwark_watch_validator_double_sign_evidence{{chain=\"{chain}\"}} 1"
        )),
        "{m}"
    );
    // The chain agrees: the evidence is in the block the alert names.
    let block: u64 = summary
        .split("the evidence is in block ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|b| b.parse().ok())
        .unwrap_or_else(|| panic!("no block in {summary:?}"));
    let rpc = node(&net.status(), "val1")["rpc_url"]
        .as_str()
        .unwrap()
        .to_string();
    let b = rpc_get(&rpc, &format!("block?height={block}"));
    let evidence = b["block"]["evidence"]["evidence"].as_array().unwrap();
    assert!(
        evidence
            .iter()
            .any(|e| e["type"] == "tendermint/DuplicateVoteEvidence"),
        "{b:#}"
    );
}

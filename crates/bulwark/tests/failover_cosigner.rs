//! A threshold cosigner replaced through the failover, on a real CometBFT devnet with
//! 2-of-3 cosigners: `cosigner-2`'s host dies (SIGKILL), the plan sees the group sign on
//! through the other two, two approvers sign, and execute re-pins share 2 at
//! `cosigner-1` and `cosigner-3` to `cosigner-standby` (the same share on another host,
//! with its own link key), waits blocks past the re-pin, raises the standby's state to
//! the tip and starts it; the standby releases shares. Then the old `cosigner-2` comes
//! back with its old config and state: both peers refuse its link, it signs nothing,
//! and there is no evidence. Before that, a standby with the old host's link key is
//! refused: the peers could not tell the two apart.

mod common;

use common::*;
use std::time::{Duration, Instant};
use testkit::failover::{wait_val0_signs, Failover};

fn pinned_for_share_2(config: &std::path::Path) -> String {
    let c: toml::Value = toml::from_str(&std::fs::read_to_string(config).unwrap()).unwrap();
    c["threshold"]["peer"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"].as_integer() == Some(2))
        .and_then(|p| p["link_public_key"].as_str())
        .unwrap_or_else(|| panic!("{} pins no share 2", config.display()))
        .to_string()
}

fn link_public(net: &Devnet, process: &str) -> String {
    let key = net.dir.join(format!("cosigners/{process}/link.key"));
    threshold::link::LinkKey::load(&key)
        .unwrap()
        .public()
        .to_string()
}

#[test]
fn a_replaced_cosigner_is_shut_out_by_its_peers_and_the_standby_signs() {
    let net = bulwark().devnet();
    net.up(&["--validators", "4", "--signer", "threshold"]);
    wait_val0_signs(&net, 2);
    testkit::failover::wait_val0_nodes_caught_up(&net);
    let (old_key, new_key) = (
        link_public(&net, "cosigner-2"),
        link_public(&net, "cosigner-standby"),
    );
    assert_ne!(old_key, new_key);
    for peer in ["cosigner-1", "cosigner-3"] {
        let cfg = net.dir.join(format!("cosigners/{peer}/signer.toml"));
        assert_eq!(pinned_for_share_2(&cfg), old_key, "{peer} before");
    }

    // A standby that holds the old host's link key is refused at execute: the peers
    // would let the old host in as the new one.
    let standby_key = net.dir.join("cosigners/cosigner-standby/link.key");
    let own = std::fs::read(&standby_key).unwrap();
    std::fs::copy(net.dir.join("cosigners/cosigner-2/link.key"), &standby_key).unwrap();
    let f = Failover::prepare(&net);
    assert_eq!(
        (f.side("from").as_str(), f.side("to").as_str()),
        ("cosigner-2", "cosigner-standby")
    );
    let plan = f.plan();
    let p: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{plan}/plan.json")).unwrap()).unwrap();
    assert_eq!(p["kind"], "cosigner", "{p:#}");
    let check = p["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "new link key")
        .unwrap_or_else(|| panic!("no link key check: {p:#}"));
    assert_eq!(check["ok"], false, "{check:#}");
    f.approve(&plan, "alice", &[]);
    f.approve(&plan, "bob", &[]);
    let o = f.execute(&plan);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("same link key as cosigner-2"),
        "{}",
        text(&o)
    );
    for peer in ["cosigner-1", "cosigner-3"] {
        let cfg = net.dir.join(format!("cosigners/{peer}/signer.toml"));
        assert_eq!(pinned_for_share_2(&cfg), old_key, "{peer} was changed");
    }
    std::fs::write(&standby_key, own).unwrap();

    // The drill: cosigner-2 is killed, and replaced.
    let o = bulwark().run(&[
        "devnet",
        "drill",
        "failover",
        "--dir",
        net.dir_str(),
        "--json",
    ]);
    let r = json(&o);
    assert_eq!(
        (r["from"].as_str(), r["to"].as_str()),
        (Some("cosigner-2"), Some("cosigner-standby")),
        "{r:#}"
    );
    assert_eq!(r["evidence"], 0, "{r:#}");
    let steps: Vec<&str> = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "recheck",
            "stop_old",
            "close_door",
            "silence",
            "carry_state",
            "start_new",
            "signing"
        ]
    );
    let step = |name: &str| {
        r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["step"] == name)
            .unwrap()["detail"]
            .clone()
    };
    // The floor is above the blocks committed after the re-pin, and the standby's first
    // share is above the floor.
    let fenced_at = step("silence")["tip"].as_u64().unwrap();
    let floor = step("carry_state")["after"]["height"].as_u64().unwrap();
    assert!(
        floor >= fenced_at,
        "floor {floor} below the fence's tip {fenced_at}"
    );
    assert!(r["first_signed_after"].as_u64().unwrap() > floor, "{r:#}");
    for peer in ["cosigner-1", "cosigner-3"] {
        let cfg = net.dir.join(format!("cosigners/{peer}/signer.toml"));
        assert_eq!(pinned_for_share_2(&cfg), new_key, "{peer} after");
    }
    let s = net.status();
    let running = |name: &str| {
        s["cosigners"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()["running"]
            .as_bool()
            .unwrap()
    };
    assert!(!running("cosigner-2"), "{s:#}");
    for c in ["cosigner-1", "cosigner-3", "cosigner-standby"] {
        assert!(running(c), "{c} is not running: {s:#}");
    }

    // The old cosigner-2 comes back with its old config and state. Both peers refuse
    // its link; it coordinates nothing and releases nothing.
    let old_cfg = net.dir.join("cosigners/cosigner-2/signer.toml");
    let old_state = net.dir.join("cosigners/cosigner-2/val0.state");
    let state_before = std::fs::read(&old_state).unwrap();
    let metrics = s["cosigners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "cosigner-2")
        .unwrap()["metrics_url"]
        .as_str()
        .unwrap()
        .to_string();
    let mut old = bulwark().daemon(
        &["signer", "run", "--config", old_cfg.to_str().unwrap()],
        &net.tmp.path().join("old-cosigner-2.log"),
    );
    let refused = |peer: &str| {
        std::fs::read_to_string(net.dir.join(format!("logs/{peer}.log")))
            .unwrap_or_default()
            .lines()
            .any(|l| l.contains(&old_key) && l.contains("not among this cosigner's peers"))
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(refused("cosigner-1") && refused("cosigner-3")) {
        assert!(
            Instant::now() < deadline,
            "the peers did not refuse the old cosigner's link; its log:\n{}",
            old.log_text()
        );
        let body = testkit::http::get(&metrics)
            .map(|(_, b)| b)
            .unwrap_or_default();
        if let Some(up) = sample(&body, "bulwark_threshold_peers_connected") {
            assert_eq!(up, 0.0, "the old cosigner has a link up:\n{body}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let tip = best_height(&net.status());
    let last = wait_val0_signs(&net, tip + 3);
    let body = http_body(&metrics);
    assert_eq!(
        sample(&body, "bulwark_threshold_peers_connected"),
        Some(0.0),
        "{body}"
    );
    assert_eq!(
        std::fs::read(&old_state).unwrap(),
        state_before,
        "the old cosigner's share state moved: it released a share"
    );
    old.terminate();
    let rpc = node(&net.status(), "val1")["rpc_url"]
        .as_str()
        .unwrap()
        .to_string();
    let scan = scan_chain(&rpc, &validator_address(&s, "val0"), 1, last);
    assert!(
        scan.evidence.is_empty(),
        "double-sign evidence: {:?}",
        scan.evidence
    );
}

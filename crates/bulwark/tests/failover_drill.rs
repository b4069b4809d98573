//! The failover drill on a real CometBFT devnet, end to end: val0's signer host dies
//! (SIGKILL), the plan sees it silent, two of three approvers sign with keys made by
//! `ssh-keygen`, execute moves val0 to the standby, val0 signs again, no evidence. Then
//! the old signer comes back on its old host with its old state: the closed door keeps
//! it from every node, and nothing is signed twice.

mod common;

use common::*;
use std::time::Duration;
use testkit::failover::wait_val0_signs;
use testkit::ssh::ssh_verify;

#[test]
fn the_drill_moves_val0_and_the_returning_old_signer_is_shut_out() {
    let net = bulwark().devnet();
    net.up(&["--validators", "4", "--signer", "bulwark"]);
    wait_val0_signs(&net, 2);

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
        (Some("signer"), Some("signer-backup")),
        "{r:#}"
    );
    assert_eq!(r["evidence"], 0, "{r:#}");
    let (before, after) = (
        r["last_signed_before"].as_u64().unwrap(),
        r["first_signed_after"].as_u64().unwrap(),
    );
    assert!(after > before, "{r:#}");
    let missed = r["blocks_missed"].as_u64().unwrap();
    assert!(missed > 0 && missed < after - before, "{r:#}");
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

    let s = net.status();
    assert_eq!(s["signer_process"]["running"], false, "{s:#}");
    assert_eq!(s["standby_signer_process"]["running"], true, "{s:#}");
    assert_eq!(
        s["standby_signer_process"]["let_in_by"],
        serde_json::json!(["val0", "val0-backup"])
    );

    // Each approval is checked by OpenSSH itself against the drill's allowed_signers.
    let plan_dir = std::path::PathBuf::from(r["plan_dir"].as_str().unwrap());
    let allowed = plan_dir
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("allowed_signers");
    for who in ["alice", "bob"] {
        let msg = std::fs::read(plan_dir.join(format!("approvals/{who}.txt"))).unwrap();
        let sig =
            std::fs::read_to_string(plan_dir.join(format!("approvals/{who}.txt.sig"))).unwrap();
        let (ok, out) = ssh_verify(&allowed, who, "bulwark-failover", &sig, &msg);
        assert!(ok, "ssh-keygen -Y verify refused {who}'s approval: {out}");
        assert!(String::from_utf8_lossy(&msg)
            .contains(&format!("plan: {}", r["plan"].as_str().unwrap())));
    }

    // The audit trail holds every step, signed, and verifies.
    let log = net.dir.join("audit.log");
    let allowed_s = allowed.to_str().unwrap();
    let v = json(&bulwark().run(&[
        "audit",
        "verify",
        "--log",
        log.to_str().unwrap(),
        "--allowed-signers",
        allowed_s,
        "--json",
    ]));
    assert!(v["signed"].as_u64().unwrap() >= 10, "{v:#}");
    let shown = json(&bulwark().run(&["audit", "show", "--log", log.to_str().unwrap(), "--json"]));
    let actions: Vec<&str> = shown["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for want in [
        "failover.plan",
        "failover.approve",
        "failover.execute",
        "failover.step.close_door",
        "state.carry",
        "signer.start",
        "failover.done",
    ] {
        assert!(actions.contains(&want), "{want} missing from {actions:?}");
    }
    assert_eq!(
        actions.iter().filter(|a| **a == "failover.approve").count(),
        2
    );

    // The door: nothing listens where the old signer dials any more.
    let old_cfg: toml::Value =
        toml::from_str(&std::fs::read_to_string(net.dir.join("signer/signer.toml")).unwrap())
            .unwrap();
    for n in old_cfg["chain"][0]["node"].as_array().unwrap() {
        let addr = n["addr"].as_str().unwrap().trim_start_matches("tcp://");
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "{} still listens at {addr} for the old signer",
            n["name"]
        );
    }

    // The old signer's host comes back: its process restarted with its old config and
    // state. Its door is closed at both nodes: it never connects, never signs.
    let old_state = net.dir.join("signer/val0.state");
    let state_before = std::fs::read(&old_state).unwrap();
    let cfg = net.dir.join("signer/signer.toml");
    let mut old = bulwark().daemon(
        &["signer", "run", "--config", cfg.to_str().unwrap()],
        &net.tmp.path().join("old-signer.log"),
    );
    let metrics = s["signer_process"]["metrics_url"]
        .as_str()
        .unwrap()
        .to_string();
    let tip = best_height(&net.status());
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let mut dial_errors = 0.0;
    while dial_errors < 4.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the old signer never tried its nodes; log:\n{}",
            old.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
        let body = testkit::http::get(&metrics)
            .map(|(_, b)| b)
            .unwrap_or_default();
        dial_errors = ["val0", "val0-backup"]
            .iter()
            .map(|n| {
                sample(
                    &body,
                    &format!(
                        "bulwark_signer_connection_errors_total{{chain=\"{}\",node=\"{n}\"}}",
                        s["chain_id"].as_str().unwrap()
                    ),
                )
                .unwrap_or(0.0)
            })
            .sum();
    }
    let last = wait_val0_signs(&net, tip + 5);
    let body = http_body(&metrics);
    for n in ["val0", "val0-backup"] {
        let c = sample(
            &body,
            &format!(
                "bulwark_signer_connections_total{{chain=\"{}\",node=\"{n}\"}}",
                s["chain_id"].as_str().unwrap()
            ),
        );
        assert_eq!(c.unwrap_or(0.0), 0.0, "the old signer reached {n}:\n{body}");
    }
    assert_eq!(
        std::fs::read(&old_state).unwrap(),
        state_before,
        "the old signer's state moved: it signed"
    );
    old.terminate();
    let rpc = node(&net.status(), "val1")["rpc_url"]
        .as_str()
        .unwrap()
        .to_string();
    let scan = scan_chain(
        &rpc,
        &validator_address(&s, "val0"),
        before.saturating_sub(2).max(1),
        last,
    );
    assert!(
        scan.evidence.is_empty(),
        "double-sign evidence: {:?}",
        scan.evidence
    );
}

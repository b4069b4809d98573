//! `bulwark signer` on a real CometBFT devnet: val0's primary and backup nodes both sign
//! through one Bulwark signer.

mod common;

use common::*;
use std::time::Duration;

fn wait_val0_signs_after(net: &Devnet, height: u64, what: &str) -> u64 {
    let s = net.wait_status(what, Duration::from_secs(90), |s| {
        commit_signers(s, height + 1).is_some_and(|(_, who)| who.iter().any(|n| n == "val0"))
    });
    commit_signers(&s, height + 1).unwrap().0
}

#[test]
fn val0_signs_through_bulwark_survives_kills_and_never_double_signs() {
    let net = bulwark().devnet();
    let up = net.up(&["--validators", "4", "--signer", "bulwark"]);
    assert_eq!(up["status"]["signer"], "bulwark");
    assert_eq!(up["status"]["signer_process"]["running"], true, "{up:#}");
    let s = up["status"].clone();
    let rpc = node(&s, "val1")["rpc_url"].as_str().unwrap().to_string();
    let val0 = validator_address(&s, "val0");
    // The key lives with the signer only.
    assert!(
        !net.dir
            .join("nodes/val0/config/priv_validator_key.json")
            .exists()
            || std::fs::read_to_string(net.dir.join("nodes/val0/config/priv_validator_key.json"))
                .unwrap()
                != std::fs::read_to_string(net.dir.join("keys/val0/priv_validator_key.json"))
                    .unwrap()
    );

    let h = wait_val0_signs_after(&net, 3, "val0 signing through bulwark");

    // kill -9 the signer mid-run, then restart it: signing resumes.
    let o = net.cmd("stop", &["signer", "--kill"]);
    assert!(o.status.success(), "{}", text(&o));
    let killed_at = best_height(&net.status());
    let again = net.up(&[]);
    assert_eq!(again["started"], serde_json::json!(["signer"]), "{again:#}");
    let h2 = wait_val0_signs_after(
        &net,
        killed_at.max(h),
        "val0 signing after the signer restart",
    );

    // The primary node dies: the backup keeps val0 signing.
    let o = net.cmd("stop", &["val0", "--kill"]);
    assert!(o.status.success(), "{}", text(&o));
    let primary_down_at = best_height(&net.status());
    let h3 = wait_val0_signs_after(
        &net,
        primary_down_at + 2,
        "val0 signing through the backup alone",
    );
    assert!(h3 > h2);
    let restarted = net.up(&[]);
    assert_eq!(
        restarted["started"],
        serde_json::json!(["val0"]),
        "{restarted:#}"
    );

    // Both nodes up for 200+ heights.
    let window_start = best_height(&net.status());
    net.wait_status(
        "200 heights with both val0 nodes up",
        Duration::from_secs(600),
        |s| best_height(s) >= window_start + 205,
    );
    let scan = scan_chain(&rpc, &val0, 2, window_start + 200);
    assert!(
        scan.evidence.is_empty(),
        "evidence on chain: {:?}",
        scan.evidence
    );
    let window: Vec<u64> = scan
        .missed
        .iter()
        .copied()
        .filter(|h| *h > window_start + 5)
        .collect();
    assert!(
        window.len() * 10 <= 200,
        "val0 missed {} of 200 heights with both nodes up: {window:?}",
        window.len()
    );

    // The signer's metrics say what it did.
    let metrics_url = net.status()["signer_process"]["metrics_url"]
        .as_str()
        .unwrap()
        .to_string();
    let m = http_body(&metrics_url);
    assert!(m.contains("bulwark_signer_requests_total{"), "{m}");
    assert!(m.contains("result=\"signed\""), "{m}");
    assert!(m.contains("bulwark_signer_node_connected{chain="), "{m}");
    assert!(m.contains("bulwark_signer_last_signed_height{"), "{m}");
    let state = bulwark().state_show(&net.dir.join("signer/val0.state"));
    assert!(
        state["height"].as_u64().unwrap() >= window_start + 200,
        "{state:#}"
    );
}

#[test]
fn v1_v040_and_v037_chains_need_and_get_val0_through_bulwark() {
    // With two validators of equal power, no block commits without val0's signature.
    for line in ["v1.0", "v0.40", "v0.37"] {
        let net = bulwark().devnet();
        let up = net.up(&[
            "--validators",
            "2",
            "--cometbft",
            line,
            "--signer",
            "bulwark",
        ]);
        assert!(
            up["status"]["cometbft"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{line}.")),
            "{:#}",
            up["status"]
        );
        net.wait_status(
            &format!("{line}: height 8 signed by both"),
            Duration::from_secs(120),
            |s| commit_signers(s, 7).is_some_and(|(_, who)| who == ["val0", "val1"]),
        );
        if line == "v0.40" {
            // v0.40 nodes and the signer use the authenticated noise:// transport, each
            // pinned to the other's peer ID.
            let cfg =
                std::fs::read_to_string(net.dir.join("nodes/val0/config/config.toml")).unwrap();
            assert!(
                cfg.contains("priv_validator_laddr = \"noise://12D3KooW"),
                "{cfg}"
            );
            let signer_cfg = std::fs::read_to_string(net.dir.join("signer/signer.toml")).unwrap();
            assert!(
                signer_cfg.contains("addr = \"noise://12D3KooW"),
                "{signer_cfg}"
            );
        }
        assert!(net.cmd("down", &[]).status.success());
        assert!(processes_under(&net.dir).is_empty());
    }
}

#[test]
fn a_file_signing_val0_moves_to_bulwark_with_its_sign_state() {
    let net = bulwark().devnet();
    let up = net.up(&["--validators", "2", "--signer", "file"]);
    assert_eq!(up["status"]["signer"], "file");
    net.wait_status(
        "height 6 with the file signer",
        Duration::from_secs(90),
        |s| best_height(s) >= 6,
    );

    // Moving needs the devnet stopped.
    let o = net.cmd("up", &["--signer", "bulwark"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("needs the devnet stopped"),
        "{}",
        text(&o)
    );
    assert_eq!(net.status()["signer"], "file");
    assert!(net.cmd("down", &[]).status.success());
    let pv: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(net.dir.join("nodes/val0/data/priv_validator_state.json"))
            .unwrap(),
    )
    .unwrap();
    let signed_to: u64 = pv["height"].as_str().unwrap().parse().unwrap();
    assert!(signed_to >= 6);

    let moved = net.up(&["--signer", "bulwark"]);
    assert_eq!(moved["status"]["signer"], "bulwark", "{moved:#}");
    let st = bulwark().state_show(&net.dir.join("signer/val0.state"));
    assert!(
        st["height"].as_u64().unwrap() >= signed_to,
        "imported state {st:#} below {signed_to}"
    );
    let s = net.wait_status(
        "val0 signing through bulwark after the move",
        Duration::from_secs(90),
        |s| commit_signers(s, signed_to + 3).is_some_and(|(_, who)| who == ["val0", "val1"]),
    );
    let rpc = node(&s, "val1")["rpc_url"].as_str().unwrap().to_string();
    let val0 = validator_address(&s, "val0");
    let scan = scan_chain(&rpc, &val0, 2, signed_to + 3);
    assert!(scan.evidence.is_empty(), "evidence: {:?}", scan.evidence);
    // No key file left on the primary that could sign by itself.
    let node_key =
        std::fs::read_to_string(net.dir.join("nodes/val0/config/priv_validator_key.json"))
            .unwrap_or_default();
    let val0_key =
        std::fs::read_to_string(net.dir.join("keys/val0/priv_validator_key.json")).unwrap();
    assert_ne!(node_key, val0_key);
}

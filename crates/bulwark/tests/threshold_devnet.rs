//! val0 signing through a 2-of-3 threshold signer on a real CometBFT devnet
//! (`bulwark devnet up --signer threshold`): it signs with all three cosigners, keeps
//! signing with one killed, stops with two killed, signs again when one comes back, and
//! each one killed in turn costs val0 (almost) nothing, and over the 200+ heights of the
//! run the chain never shows duplicate-vote evidence. On v0.40 the same over `noise://`,
//! and on v0.37 (the v0.34 protocol) signing with one cosigner down.

mod common;

use common::*;
use std::time::Duration;

/// Wait until the chain is at `height` or above; returns the best height.
fn wait_height(net: &Devnet, height: u64, what: &str) -> u64 {
    let s = net.wait_status(what, Duration::from_secs(120), |s| best_height(s) >= height);
    best_height(&s)
}

/// Wait until a commit above `height` carries val0's signature; returns its height.
fn wait_val0_signs_after(net: &Devnet, height: u64, what: &str) -> u64 {
    let s = net.wait_status(what, Duration::from_secs(90), |s| {
        commit_signers(s, height + 1).is_some_and(|(_, who)| who.iter().any(|n| n == "val0"))
    });
    commit_signers(&s, height + 1).unwrap().0
}

fn cosigner<'a>(status: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    status["cosigners"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no {name} in {status:#}"))
}

fn kill(net: &Devnet, name: &str) -> u64 {
    let o = net.cmd("stop", &[name, "--kill"]);
    assert!(o.status.success(), "stop {name}: {}", text(&o));
    let s = net.status();
    assert_eq!(cosigner(&s, name)["running"], false, "{s:#}");
    best_height(&s)
}

/// The last lines of every cosigner's log, for failure messages.
fn cosigner_logs(net: &Devnet) -> String {
    ["cosigner-1", "cosigner-2", "cosigner-3"]
        .iter()
        .map(|name| {
            let o = net.cmd("logs", &[name, "-n", "15"]);
            format!("--- {name}\n{}", text(&o))
        })
        .collect()
}

/// A devnet on `line` with val0 on 2-of-3 cosigners, each checked running and val0's
/// nodes without its key; returns it with val1's RPC, val0's address and the first
/// height val0 signed through the cosigners.
fn start(line: &str) -> (Devnet, String, String, u64) {
    let net = bulwark().devnet();
    let up = net.up(&[
        "--validators",
        "4",
        "--cometbft",
        line,
        "--signer",
        "threshold",
    ]);
    let s = up["status"].clone();
    assert_eq!(s["signer"], "threshold", "{s:#}");
    for name in ["cosigner-1", "cosigner-2", "cosigner-3"] {
        assert_eq!(cosigner(&s, name)["running"], true, "{s:#}");
    }
    assert!(s["signer_process"].is_null(), "{s:#}");
    // val0's nodes do not hold its key: they sign through the cosigners.
    let key = std::fs::read_to_string(net.dir.join("keys/val0/priv_validator_key.json")).unwrap();
    for n in ["val0", "val0-backup"] {
        let path = net
            .dir
            .join(format!("nodes/{n}/config/priv_validator_key.json"));
        assert!(
            std::fs::read_to_string(&path).map_or(true, |k| k != key),
            "{} holds val0's key",
            path.display()
        );
    }
    let rpc = node(&s, "val1")["rpc_url"].as_str().unwrap().to_string();
    let val0 = validator_address(&s, "val0");
    let first = wait_val0_signs_after(&net, 2, "val0 signing through the cosigners");
    (net, rpc, val0, first)
}

/// One cosigner killed: the other two still make val0's signatures (12 of 15 heights at
/// least). Returns the best height at the end.
fn one_down(net: &Devnet, rpc: &str, val0: &str, name: &str) -> u64 {
    let k1 = kill(net, name);
    let end1 = wait_height(net, k1 + 17, &format!("15 heights with {name} down"));
    let one_down = scan_chain(rpc, val0, k1 + 2, k1 + 16);
    assert!(
        one_down.signed.len() >= 12,
        "with {name} down val0 signed {} of 15 heights (missed {:?}); cosigner logs:\n{}",
        one_down.signed.len(),
        one_down.missed,
        cosigner_logs(net)
    );
    end1
}

/// The whole drill on one CometBFT line.
fn drill(line: &str) {
    let (net, rpc, val0, first) = start(line);

    // One cosigner killed: the other two still make val0's signatures.
    let end1 = one_down(&net, &rpc, &val0, "cosigner-2");

    // A second one killed: one share cannot sign.
    let k2 = kill(&net, "cosigner-3").max(end1);
    wait_height(&net, k2 + 12, "10 heights with two cosigners down");
    let two_down = scan_chain(&rpc, &val0, k2 + 2, k2 + 11);
    assert!(
        two_down.signed.is_empty(),
        "val0 signed {:?} with only cosigner-1 up",
        two_down.signed
    );

    // One comes back (run from the config the devnet wrote): two shares again.
    let config = cosigner(&net.status(), "cosigner-2")["config"]
        .as_str()
        .unwrap()
        .to_string();
    let log = net.tmp.path().join("cosigner-2.again.log");
    let mut again = bulwark().daemon(&["signer", "run", "--config", &config], &log);
    let back_at = best_height(&net.status());
    let resumed = wait_val0_signs_after(&net, back_at, "val0 signing after cosigner-2 came back");
    assert!(resumed > first);
    again.terminate();
    drop(again);

    // `up` starts the cosigners that are down, and nothing else.
    let restarted = net.up(&[]);
    let mut started: Vec<String> = restarted["started"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    started.sort();
    assert_eq!(started, ["cosigner-2", "cosigner-3"], "{restarted:#}");
    // The restarted cosigners check the chain and raise their floors before they sign.
    let restarted_at = best_height(&net.status());
    let all_back = wait_val0_signs_after(&net, restarted_at, "val0 signing after `up`");
    let end = wait_height(&net, all_back + 13, "12 heights with every cosigner up");
    let all_up = scan_chain(&rpc, &val0, all_back + 1, all_back + 12);
    assert!(
        all_up.signed.len() >= 10,
        "with every cosigner up val0 signed {} of 12 heights (missed {:?}); cosigner logs:\n{}",
        all_up.signed.len(),
        all_up.missed,
        cosigner_logs(&net)
    );

    // Any one cosigner: each is killed in turn (SIGKILL) for 40 heights, then `up`
    // brings it back.
    let mut end = end;
    for name in ["cosigner-1", "cosigner-3", "cosigner-2"] {
        let k = kill(&net, name).max(end);
        wait_height(&net, k + 42, &format!("40 heights with {name} down"));
        let down = scan_chain(&rpc, &val0, k + 2, k + 41);
        assert!(
            down.signed.len() >= 34,
            "with {name} down val0 signed {} of 40 heights (missed {:?}); cosigner logs:\n{}",
            down.signed.len(),
            down.missed,
            cosigner_logs(&net)
        );
        let back = net.up(&[]);
        assert_eq!(back["started"], serde_json::json!([name]), "{back:#}");
        let at = best_height(&net.status());
        end = wait_val0_signs_after(&net, at, &format!("val0 signing after {name} came back"));
    }
    // At least 200 heights in all, every cosigner up at the end.
    let end = wait_height(&net, end.max(210), "210 heights in all");

    // Never a duplicate vote, over the whole run.
    assert_no_evidence(&rpc, &val0, 2, end - 1);

    // `down` stops every cosigner.
    let down = net.cmd("down", &[]);
    assert!(down.status.success(), "{}", text(&down));
    let after = net.status();
    for name in ["cosigner-1", "cosigner-2", "cosigner-3"] {
        assert_eq!(cosigner(&after, name)["running"], false, "{after:#}");
    }
}

#[test]
fn v038_val0_signs_through_two_of_three_cosigners() {
    drill("v0.38");
}

#[test]
fn v1_val0_signs_through_two_of_three_cosigners() {
    drill("v1.0");
}

/// v0.40's nodes take only `noise://` signers pinned to one peer ID: the cosigners share
/// that identity, sign, keep signing with one killed and resume after `up`, and the
/// chain shows no evidence. (The longer drill runs on v0.38 and v1.0; the signing path
/// past the transport is the same.)
#[test]
fn v040_val0_signs_through_two_of_three_cosigners_over_noise() {
    let (net, rpc, val0, _) = start("v0.40");
    let laddr = std::fs::read_to_string(net.dir.join("nodes/val0/config/config.toml")).unwrap();
    assert!(
        laddr.contains("priv_validator_laddr = \"noise://"),
        "val0 does not take noise:// signers:\n{laddr}"
    );
    one_down(&net, &rpc, &val0, "cosigner-1");
    let back = net.up(&[]);
    assert_eq!(
        back["started"],
        serde_json::json!(["cosigner-1"]),
        "{back:#}"
    );
    let at = best_height(&net.status());
    let again = wait_val0_signs_after(&net, at, "val0 signing after cosigner-1 came back");
    let end = wait_height(&net, again + 5, "5 heights with every cosigner up");
    assert_no_evidence(&rpc, &val0, 2, end - 1);
}

/// The v0.34/v0.37 protocol (a v0.37 node, no vote extensions): the cosigners sign, keep
/// signing with one killed, and the chain shows no evidence.
#[test]
fn v037_val0_signs_through_two_of_three_cosigners() {
    let (net, rpc, val0, _) = start("v0.37");
    assert!(
        net.status()["cometbft"]
            .as_str()
            .unwrap()
            .starts_with("v0.37."),
        "{:#}",
        net.status()
    );
    let end = one_down(&net, &rpc, &val0, "cosigner-3");
    assert_no_evidence(&rpc, &val0, 2, end - 1);
}

/// A cosigner out for more than `max_height_jump` heights rejoins without `rpc`: it
/// confirms the jump from what its peers report of their own sign states. On a
/// 3-validator devnet the cosigners have no `rpc` (the chain halts without val0, so no
/// source would be fresh), and val0's third of the power is needed for every block.
/// cosigner-3 is killed for 15 heights, comes back, and then cosigner-2 is killed, so
/// every signature needs cosigner-3's share: val0 keeps signing and the chain goes on.
#[test]
fn a_cosigner_out_for_long_rejoins_without_rpc_from_its_peers_states() {
    let net = bulwark().devnet();
    let up = net.up(&["--validators", "3", "--signer", "threshold"]);
    let config = cosigner(&up["status"], "cosigner-3")["config"]
        .as_str()
        .unwrap()
        .to_string();
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("rpc = []"),
        "the cosigner has an rpc:\n{text}"
    );
    wait_val0_signs_after(&net, 2, "val0 signing through the cosigners");

    let k = kill(&net, "cosigner-3");
    wait_height(&net, k + 15, "15 heights with cosigner-3 down");
    let back = net.up(&[]);
    assert_eq!(
        back["started"],
        serde_json::json!(["cosigner-3"]),
        "{back:#}"
    );
    // With three validators one failed prevote halts the chain for good (the other two
    // are not more than 2/3), so cosigner-2 goes only once cosigner-1 and cosigner-3
    // hold each other's nonces.
    let s = net.status();
    let chain = s["chain_id"].as_str().unwrap().to_string();
    for (who, peer) in [("cosigner-1", "cosigner-3"), ("cosigner-3", "cosigner-1")] {
        let url = cosigner(&s, who)["metrics_url"]
            .as_str()
            .unwrap()
            .to_string();
        let series = format!("bulwark_threshold_nonces_ready{{chain=\"{chain}\",peer=\"{peer}\"}}");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !testkit::prom::scraped(&url, &series).is_some_and(|n| n > 0.0) {
            assert!(
                std::time::Instant::now() < deadline,
                "{who} has no nonces of {peer} ({series}); cosigner logs:\n{}",
                cosigner_logs(&net)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let at = kill(&net, "cosigner-2");
    let signed = wait_val0_signs_after(
        &net,
        at,
        "val0 signing with cosigner-1 and cosigner-3 (back after 15 heights)",
    );
    let end = wait_height(&net, signed + 10, "10 more heights, each needing val0");
    let log = std::fs::read_to_string(net.dir.join("logs/cosigner-3.log")).unwrap_or_default();
    assert!(
        !log.contains("heights above the last signed height"),
        "cosigner-3 refused a height jump:\n{log}"
    );
    let rpc = node(&net.status(), "val1")["rpc_url"]
        .as_str()
        .unwrap()
        .to_string();
    assert_no_evidence(&rpc, &validator_address(&net.status(), "val0"), 2, end - 1);
}

//! The signer's chain checks against a real CometBFT devnet: the floor from the chain
//! and the doppelganger check.

mod common;

use common::*;
use privval::{Line, Request, Response};
use std::time::Duration;
use testkit::node::*;
use testkit::votes::prevote;

/// A devnet whose val0 signs with its key file, and a second signer holding a copy of
/// val0's key with an empty sign state: the "lost state" accident.
#[test]
fn a_signer_with_lost_state_takes_its_floor_from_the_chain_and_spots_the_live_key() {
    let net = bulwark().devnet();
    // Four validators, so the chain keeps going when val0 stops at the end.
    let up = net.up(&["--validators", "4", "--signer", "file"]);
    let s = net.wait_status("height 8", Duration::from_secs(90), |s| {
        commit_signers(s, 7).is_some_and(|(_, who)| who.iter().any(|w| w == "val0"))
    });
    let chain = s["chain_id"].as_str().unwrap().to_string();
    let rpc = node(&up["status"], "val1")["rpc_url"]
        .as_str()
        .unwrap()
        .to_string();

    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("val0.json");
    std::fs::copy(net.dir.join("keys/val0/priv_validator_key.json"), &key).unwrap();
    let state = tmp.path().join("val0.state");
    bulwark().state_init(&chain, 0, &state);

    // Floor: the chain shows val0 signing and this state knows nothing of it, so nothing
    // at or below the chain's tip + 1 is signed: the tip's precommit and the next height's
    // prevote may exist without being on chain yet.
    let node = FakeNode::listen();
    let config = write_config(
        tmp.path(),
        &chain,
        "v0.38",
        &key,
        &state,
        &[node.port],
        None,
    );
    edit_chain(&config, |c| {
        c.rpc = vec!["http://127.0.0.1:1".into(), rpc.clone()]
    });
    let tip_before = best_height(&net.status()) as i64;
    let signer = bulwark().signer(&config);
    let mut c = node
        .try_accept(Line::V0_38, Duration::from_secs(30))
        .unwrap_or_else(|| panic!("the signer did not dial:\n{}", signer.log_text()));
    let log = signer.log_text();
    let floor = logged_number(&log, "floor raised from the chain", "floor=");
    let chain_tip = logged_number(&log, "floor raised from the chain", "chain_tip=");
    assert_eq!(floor, chain_tip + 2, "{log}");
    assert!(chain_tip >= tip_before, "{log}");
    assert!(
        log.contains("127.0.0.1:1: unreachable") || log.contains("rpc source not used"),
        "{log}"
    );
    for h in [1, chain_tip - 3, chain_tip, chain_tip + 1] {
        match c.call(&prevote(&chain, h, 9, 0)) {
            Response::Error { error, .. } => assert!(
                error.description.contains("below the floor"),
                "{}",
                error.description
            ),
            other => panic!(
                "height {h} signed although it is at or below the chain's tip + 1: {other:?}"
            ),
        }
    }
    match c.call(&prevote(&chain, floor, 9, 0)) {
        Response::SignedVote { .. } => {}
        other => panic!("the floor itself must be signed: {other:?}"),
    }
    // A jump far above the chain's tip is refused: a node (or a man in the middle) could
    // otherwise make every real vote below it unsignable.
    match c.call(&prevote(&chain, floor + 1000, 9, 0)) {
        Response::Error { error, .. } => assert!(
            error
                .description
                .contains("heights above the last signed height"),
            "{}",
            error.description
        ),
        other => panic!("a jump of 1000 heights was signed: {other:?}"),
    }
    match c.call(&prevote(&chain, floor + 1, 9, 0)) {
        Response::SignedVote { .. } => {}
        other => panic!("the next real height must still be signed: {other:?}"),
    }
    drop(c);
    drop(signer);

    // Doppelganger: the file signer is live with the same key, so this one must not start.
    let state2 = tmp.path().join("val0-b.state");
    bulwark().state_init(&chain, 0, &state2);
    let node2 = FakeNode::listen();
    let cfg2 = tmp.path().join("dg");
    std::fs::create_dir_all(&cfg2).unwrap();
    let config2 = write_config(&cfg2, &chain, "v0.38", &key, &state2, &[node2.port], None);
    edit_chain(&config2, |c| {
        c.rpc = vec![rpc.clone()];
        c.doppelganger_blocks = 3;
    });
    let mut dg = bulwark().signer(&config2);
    assert_eq!(
        dg.wait_exit(Duration::from_secs(60)),
        Some(1),
        "{}",
        dg.log_text()
    );
    assert!(dg.log_text().contains("doppelganger"), "{}", dg.log_text());
    assert!(
        node2
            .try_accept(Line::V0_38, Duration::from_millis(300))
            .is_none(),
        "it dialed a node anyway"
    );

    // With val0's file signer stopped, the same check passes and the signer serves.
    assert!(net.cmd("stop", &["val0"]).status.success());
    let mut ok = bulwark().signer(&config2);
    let mut c2 = node2
        .try_accept(Line::V0_38, Duration::from_secs(60))
        .unwrap_or_else(|| {
            panic!(
                "the signer did not dial after val0 stopped:\n{}",
                ok.log_text()
            )
        });
    assert_eq!(c2.call(&Request::Ping), Response::Ping);
    assert_eq!(ok.wait_exit(Duration::from_millis(10)), None);
    assert!(
        ok.log_text().contains("no other signer seen"),
        "{}",
        ok.log_text()
    );
}

/// The number after `key` on the first log line that contains `what`.
fn logged_number(log: &str, what: &str, key: &str) -> i64 {
    let line = log
        .lines()
        .find(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no {what:?} in the log:\n{log}"));
    let at = line
        .find(key)
        .unwrap_or_else(|| panic!("no {key} in {line}"))
        + key.len();
    line[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .unwrap_or_else(|e| panic!("{key} in {line}: {e}"))
}

#[test]
fn an_rpc_of_another_chain_stops_the_signer() {
    let net = bulwark().devnet();
    let up = net.up(&["--validators", "1", "--signer", "file"]);
    let rpc = node(&up["status"], "val0")["rpc_url"]
        .as_str()
        .unwrap()
        .to_string();
    let tmp = tempfile::tempdir().unwrap();
    let (key, _) = write_key(tmp.path());
    let state = tmp.path().join("s.state");
    bulwark().state_init("not-this-one", 0, &state);
    let node = FakeNode::listen();
    let config = write_config(
        tmp.path(),
        "not-this-one",
        "v0.38",
        &key,
        &state,
        &[node.port],
        None,
    );
    edit_chain(&config, |c| c.rpc = vec![rpc.clone()]);
    let mut p = bulwark().signer(&config);
    assert_eq!(
        p.wait_exit(Duration::from_secs(20)),
        Some(1),
        "{}",
        p.log_text()
    );
    assert!(
        p.log_text().contains("not \"not-this-one\""),
        "{}",
        p.log_text()
    );
    assert!(node
        .try_accept(Line::V0_38, Duration::from_millis(300))
        .is_none());
}

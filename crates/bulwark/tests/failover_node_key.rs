//! A failover of a validator that signs with its node's own key file (`--signer file`),
//! on a real CometBFT devnet: val0's node host dies (SIGKILL), two of three approvers
//! sign, execute moves the key aside on the old node, carries the sign state and
//! installs the staged key on val0-backup, which then signs for val0. The old node comes
//! back (the devnet's start command restarts it) with a key of its own, not the
//! validator's: nothing is signed twice. Then a failover back whose old node's home
//! cannot be reached and that has no door to close stops before anything starts.

mod common;

use common::*;
use testkit::failover::{wait_val0_signs, wait_val0_silent, Failover};

/// The public key (base64) in a CometBFT key file.
fn public_of(path: &std::path::Path) -> String {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["pub_key"]["value"].as_str().unwrap().to_string()
}

#[test]
fn a_node_key_moves_to_the_backup_node_and_the_old_node_comes_back_without_it() {
    let net = bulwark().devnet();
    net.up(&["--validators", "4", "--signer", "file"]);
    let start = wait_val0_signs(&net, 2);
    let staged = net.dir.join("keys/val0/priv_validator_key.json");
    let validator = public_of(&staged);

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
        (Some("val0"), Some("val0-backup")),
        "{r:#}"
    );
    assert_eq!(r["evidence"], 0, "{r:#}");
    let after = r["first_signed_after"].as_u64().unwrap();
    let fence = &r["steps"][2]["detail"]["summary"];
    assert!(
        fence
            .as_str()
            .unwrap()
            .contains("the validator key of val0 moved to"),
        "{r:#}"
    );

    // The key is on the backup node now; the old node came back with a key of its own.
    let s = net.status();
    let home = |n: &str| net.dir.join("nodes").join(n).join("config");
    assert_eq!(
        public_of(&home("val0-backup").join("priv_validator_key.json")),
        validator
    );
    assert_eq!(node(&s, "val0")["running"], true, "{s:#}");
    let rpc = |n: &str| node(&s, n)["rpc_url"].as_str().unwrap().to_string();
    let st = rpc_get(&rpc("val0"), "status");
    let old_node_key = st["validator_info"]["pub_key"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(
        old_node_key, validator,
        "the old node came back as the validator"
    );
    let last = wait_val0_signs(&net, after + 5);
    let scan = scan_chain(&rpc("val1"), &validator_address(&s, "val0"), start, last);
    assert!(
        scan.evidence.is_empty(),
        "double-sign evidence: {:?}",
        scan.evidence
    );

    // Back again, but val0's home cannot be reached and no door can shut it out: execute
    // stops at the fence and starts nothing.
    let f = Failover::prepare(&net);
    assert_eq!(
        (f.side("from").as_str(), f.side("to").as_str()),
        ("val0-backup", "val0")
    );
    let text_cfg = std::fs::read_to_string(&f.config).unwrap();
    let gone = net.tmp.path().join("unreachable-host");
    let edited = text_cfg.replace(
        &format!(
            "node_home = \"{}\"",
            net.dir.join("nodes/val0-backup").display()
        ),
        &format!("node_home = \"{}\"", gone.display()),
    );
    assert_ne!(
        edited, text_cfg,
        "the config names val0-backup's home:\n{text_cfg}"
    );
    std::fs::write(&f.config, edited).unwrap();
    assert!(net.cmd("stop", &["val0-backup", "--kill"]).status.success());
    wait_val0_silent(&net, 3);
    let plan = f.plan();
    f.approve(&plan, "alice", &[]);
    f.approve(&plan, "bob", &[]);
    let o = f.execute(&plan);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("cannot fence val0-backup"), "{out}");
    assert!(
        out.contains("no [[chain.node]] has a door command"),
        "{out}"
    );
    // Nothing was started or installed on val0.
    assert_ne!(
        public_of(&home("val0").join("priv_validator_key.json")),
        validator
    );
    let h = best_height(&net.status());
    wait_val0_silent(&net, 3);
    assert!(best_height(&net.status()) > h);
}

//! Every refusal of `bulwark failover`, on a real devnet, each with a clear message and
//! nothing changed: one approval of two; a key not in allowed_signers (and a forged
//! approval file); an approval of another plan; an edited plan; an expired approval; a
//! state on the target side higher than the plan saw; the target's node not caught up;
//! the old signer signing again when execute starts.

mod common;

use common::*;
use std::path::Path;
use std::time::Duration;
use testkit::failover::{wait_val0_silent, Failover};
use testkit::ssh::{keygen, ssh_sign};

/// Refused with exit 2, the message containing `want`, and nothing changed: no journal,
/// both val0 nodes still let in only the primary, the standby not running.
fn refused(f: &Failover<'_>, plan: &str, want: &str) {
    refused_for(f, plan, &[want]);
}

/// As [`refused`], the message containing one of `wants` (a situation that more than
/// one check catches, whichever sees it first).
fn refused_for(f: &Failover<'_>, plan: &str, wants: &[&str]) {
    let o = f.execute(plan);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("refused, nothing was changed") && wants.iter().any(|w| t.contains(w)),
        "wanted one of {wants:?} in:\n{t}"
    );
    assert!(
        !Path::new(plan).join("execution.json").exists(),
        "a journal was written: {t}"
    );
    let s = f.net.status();
    assert_eq!(
        s["signer_process"]["let_in_by"],
        serde_json::json!(["val0", "val0-backup"]),
        "{s:#}"
    );
    assert_eq!(s["standby_signer_process"]["running"], false, "{s:#}");
}

#[test]
fn execute_refuses_and_changes_nothing() {
    let net = bulwark().devnet();
    net.up(&["--validators", "4", "--signer", "bulwark"]);
    testkit::failover::wait_val0_signs(&net, 2);
    testkit::failover::wait_val0_nodes_caught_up(&net);
    let f = Failover::prepare(&net);
    assert!(net.cmd("stop", &["signer", "--kill"]).status.success());
    wait_val0_silent(&net, 3);

    // One approval of two.
    let p1 = f.plan();
    f.approve(&p1, "alice", &[]);
    refused(&f, &p1, "1 valid approval(s) of 2 needed (alice)");

    // A key not in allowed_signers cannot approve, under its own name or another's.
    let mallory = keygen(net.tmp.path(), "mallory", "ed25519");
    let m = mallory.to_str().unwrap();
    for who in ["mallory", "bob"] {
        let o = f.run("approve", &[&p1, "--as", who, "--key", m]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(
            text(&o).contains("not in the allowed signers")
                && text(&o).contains("nothing was signed"),
            "{}",
            text(&o)
        );
        assert!(!Path::new(&p1).join(format!("approvals/{who}.txt")).exists());
    }
    // ... nor by writing the approval files itself: execute does not count them.
    let bob_txt = std::fs::read_to_string(Path::new(&p1).join("approvals/alice.txt"))
        .unwrap()
        .replace("approver: alice", "approver: bob");
    std::fs::write(Path::new(&p1).join("approvals/bob.txt"), &bob_txt).unwrap();
    std::fs::write(
        Path::new(&p1).join("approvals/bob.txt.sig"),
        ssh_sign(&mallory, "bulwark-failover", bob_txt.as_bytes()),
    )
    .unwrap();
    refused(
        &f,
        &p1,
        "bob.txt: bob with this key is not in the allowed signers",
    );

    // An approval of another plan does not count for this one.
    let p2 = f.plan();
    f.approve(&p2, "bob", &[]);
    for ext in ["txt", "txt.sig"] {
        std::fs::copy(
            Path::new(&p2).join(format!("approvals/bob.{ext}")),
            Path::new(&p1).join(format!("approvals/bob.{ext}")),
        )
        .unwrap();
    }
    refused(&f, &p1, "bob.txt: it approves another plan");

    // An edited plan: both approvals stop counting.
    f.approve(&p2, "alice", &[]);
    let plan2 = Path::new(&p2).join("plan.json");
    let edited = std::fs::read_to_string(&plan2)
        .unwrap()
        .replace("signer-host-b", "signer-host-x");
    std::fs::write(&plan2, edited).unwrap();
    refused(&f, &p2, "it approves other plan contents");

    // An expired approval.
    let p3 = f.plan();
    f.approve(&p3, "alice", &[]);
    f.approve(&p3, "bob", &["--ttl", "1s"]);
    std::thread::sleep(Duration::from_secs(2));
    refused(&f, &p3, "bob.txt: it expired at");
    // Longer than the config allows is refused when approving.
    let o = f.run(
        "approve",
        &[
            &p3,
            "--as",
            "carol",
            "--key",
            &f.key("carol"),
            "--ttl",
            "30days",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("longer than approval_ttl"),
        "{}",
        text(&o)
    );

    // A state on the target side higher than the plan saw.
    let p4 = f.plan();
    f.approve(&p4, "alice", &[]);
    f.approve(&p4, "bob", &[]);
    let standby_state = net.dir.join("signer-backup/val0.state");
    let chain = f.prep["chain_id"].as_str().unwrap();
    let o = bulwark().run(&[
        "signer",
        "state",
        "init",
        "--chain-id",
        chain,
        "--state",
        standby_state.to_str().unwrap(),
        "--height",
        "1000000",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    refused(
        &f,
        &p4,
        "higher than the none the plan saw: something signed on the target side since",
    );
    std::fs::remove_file(&standby_state).unwrap();

    // The target's node not caught up (here: stopped, so it does not answer).
    let p5 = f.plan();
    f.approve(&p5, "alice", &[]);
    f.approve(&p5, "bob", &[]);
    assert!(net.cmd("stop", &["val0-backup"]).status.success());
    refused(&f, &p5, "node val0-backup is not caught up");

    // The old signer comes back before execute: the plan saw it silent; now it signs.
    // Its own state file moved on, or the newest block carries its signature: either
    // check refuses, whichever sees it first (a block right after its return may lack
    // the signature).
    let p6 = f.plan();
    f.approve(&p6, "alice", &[]);
    f.approve(&p6, "bob", &[]);
    net.up(&[]);
    let h = best_height(&net.status());
    testkit::failover::wait_val0_signs(&net, h + 1);
    refused_for(
        &f,
        &p6,
        &[
            "the old signer is signing again",
            "the old signer signed since",
        ],
    );

    // `show` explains each approval.
    let shown = text(&f.run("show", &[&p1]));
    assert!(
        shown.contains("approvals 1 of 2 needed") && shown.contains("invalid bob.txt"),
        "{shown}"
    );

    // Every refusal is in the audit trail, and the trail verifies.
    let log = net.dir.join("audit.log");
    let entries =
        json(&bulwark().run(&["audit", "show", "--log", log.to_str().unwrap(), "--json"]));
    let refusals = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "failover.refused")
        .count();
    assert_eq!(refusals, 8, "{entries:#}");
    let allowed = f.dir().join("allowed_signers");
    let o = bulwark().run(&[
        "audit",
        "verify",
        "--log",
        log.to_str().unwrap(),
        "--allowed-signers",
        allowed.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
}

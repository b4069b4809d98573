//! `failover execute` killed (SIGKILL) at the start of every step, then run again: it
//! resumes where it stopped (also once an approval has expired since it began), and
//! through it all no two signers run at once, the standby's state never goes down, val0
//! signs again and nothing is signed twice. The move is a planned one: the old side is
//! live when the plan is made, and execute stops it. Once for a single-key signer moved
//! to its standby, once for a threshold cosigner replaced by another host of its share
//! (never both hosts of the share running at once).

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use testkit::failover::{wait_val0_signs, Failover};

fn state_height(path: &std::path::Path) -> Option<i64> {
    if !path.exists() {
        return None;
    }
    let o = bulwark().run(&[
        "signer",
        "state",
        "show",
        "--state",
        path.to_str().unwrap(),
        "--json",
    ]);
    json(&o)["height"].as_i64()
}

#[test]
fn execute_killed_at_each_step_resumes_safely() {
    resumes_safely("bulwark", "signer", "signer-backup", "still signing");
}

#[test]
fn a_cosigner_replacement_killed_at_each_step_resumes_safely() {
    resumes_safely(
        "threshold",
        "cosigners/cosigner-2",
        "cosigners/cosigner-standby",
        "the other cosigners sign on while one is replaced",
    );
}

/// On a `--signer MODE` devnet, move val0 from the side in `old` to the one in `new`
/// (directories of their configs and states), killing execute at every step; the plan
/// shows `live` about the old side.
fn resumes_safely(mode: &str, old: &str, new: &str, live: &str) {
    let net = bulwark().devnet();
    net.up(&["--validators", "4", "--signer", mode]);
    let start = wait_val0_signs(&net, 2);
    testkit::failover::wait_val0_nodes_caught_up(&net);
    let f = Failover::prepare(&net);
    let plan = f.plan();
    let shown = text(&f.run("show", &[&plan]));
    assert!(shown.contains(live), "{shown}");
    f.approve(&plan, "alice", &[]);
    // carol's approval expires while the execution is under way: a resume is judged by
    // the approvals as they were when it began.
    f.approve(&plan, "carol", &["--ttl", "25s"]);

    // Watch both signer processes the whole time.
    let (primary, standby) = (
        net.dir.join(old).join("signer.toml"),
        net.dir.join(new).join("signer.toml"),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let monitor = {
        let (stop, primary, standby) = (stop.clone(), primary.clone(), standby.clone());
        std::thread::spawn(move || {
            let mut both = 0;
            while !stop.load(Ordering::Relaxed) {
                if !processes_under(&primary).is_empty() && !processes_under(&standby).is_empty() {
                    both += 1;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            both
        })
    };

    let state = net.dir.join(new).join("val0.state");
    let mut highest = None;
    let key = f.key("alice");
    for k in 2..=7 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bulwark"))
            .args([
                "failover", "execute", &plan, "--as", "alice", "--key", &key, "--config", &f.config,
            ])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(net.tmp.path().join(format!("execute-{k}.err"))).unwrap())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let mut seen = Vec::new();
        for line in out.lines() {
            let line = line.unwrap();
            let here = line.starts_with(&format!("[{k}/7]")) && line.ends_with("...");
            if k == 5 && line.starts_with("[4/7]") && line.ends_with("...") {
                // While one execute watches the chain, a second one is turned away.
                let second = f.execute(&plan);
                assert_eq!(second.status.code(), Some(2), "{}", text(&second));
                assert!(
                    text(&second).contains("another `failover execute` of this plan is running"),
                    "{}",
                    text(&second)
                );
            }
            seen.push(line);
            if here {
                child.kill().unwrap();
                break;
            }
        }
        let status = child.wait().unwrap();
        let err = std::fs::read_to_string(net.tmp.path().join(format!("execute-{k}.err")))
            .unwrap_or_default();
        assert!(
            !status.success() && status.code().is_none(),
            "execute ended before step {k} ({status}): {seen:#?}\n{err}"
        );
        if k > 2 {
            assert!(seen[0].starts_with("resuming plan"), "{seen:#?}");
        }
        let h = state_height(&state);
        assert!(
            h >= highest,
            "the standby's state went down after a kill at step {k}: {h:?} < {highest:?}"
        );
        highest = h;
        let journal: serde_json::Value = serde_json::from_slice(
            &std::fs::read(std::path::Path::new(&plan).join("execution.json")).unwrap(),
        )
        .unwrap();
        let done = journal["steps"].as_array().unwrap().len();
        assert!(
            done == k - 1 || done == k,
            "killed at step {k} with {done} steps done"
        );
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    while !text(&f.run("show", &[&plan])).contains("it expired at") {
        assert!(
            std::time::Instant::now() < deadline,
            "carol's approval did not expire"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let o = f.execute(&plan);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("resuming plan"), "{}", text(&o));
    assert!(state_height(&state) >= highest);
    let last = wait_val0_signs(&net, best_height(&net.status()) + 3);
    stop.store(true, Ordering::Relaxed);
    assert_eq!(
        monitor.join().unwrap(),
        0,
        "the primary and the standby ran at the same time"
    );
    assert!(
        processes_under(&primary).is_empty(),
        "the old signer runs again"
    );

    let s = net.status();
    let rpc = node(&s, "val1")["rpc_url"].as_str().unwrap().to_string();
    let scan = scan_chain(&rpc, &validator_address(&s, "val0"), start, last);
    assert!(
        scan.evidence.is_empty(),
        "double-sign evidence: {:?}",
        scan.evidence
    );
    // Execute again: every step is done; it says so and changes nothing.
    let again = f.execute(&plan);
    assert!(
        again.status.success() && text(&again).contains("done before"),
        "{}",
        text(&again)
    );
}

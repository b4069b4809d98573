//! A node that sends conflicting requests in a loop: every refusal is counted in the
//! metrics, but the log gets the first one in full and a summary, not one line each.

mod common;

use common::*;
use privval::{Line, Response};
use std::time::{Duration, Instant};
use testkit::node::*;
use testkit::votes::prevote;

const CHAIN: &str = "log-chain-1";
const REFUSALS: usize = 5_000;

#[test]
fn a_conflict_loop_is_counted_exactly_and_logged_in_a_few_lines() {
    let node = FakeNode::listen();
    let metrics_port = free_port();
    let tmp = tempfile::tempdir().unwrap();
    let (key, _) = write_key(tmp.path());
    let state = tmp.path().join("s.state");
    bulwark().state_init(CHAIN, 0, &state);
    let config = write_config(
        tmp.path(),
        CHAIN,
        "v0.38",
        &key,
        &state,
        &[node.port],
        Some(metrics_port),
    );
    let mut signer = bulwark().signer(&config);
    let mut c = node.accept(Line::V0_38, Duration::from_secs(10));
    assert!(matches!(
        c.call(&prevote(CHAIN, 1, 1, 0)),
        Response::SignedVote { .. }
    ));
    let t = Instant::now();
    for i in 0..REFUSALS {
        match c.call(&prevote(CHAIN, 1, 2, 0)) {
            Response::Error { error, .. } => {
                assert!(error.description.contains("conflicting"), "{i}: {error:?}")
            }
            other => panic!("{i}: expected a refusal, got {other:?}"),
        }
    }
    eprintln!("{REFUSALS} refusals in {:?}", t.elapsed());

    let metrics = http_body(&format!("http://127.0.0.1:{metrics_port}/metrics"));
    assert_eq!(
        sample(
            &metrics,
            &format!(
                "bulwark_signer_refusals_total{{chain=\"{CHAIN}\",reason=\"conflicting_data\"}}"
            )
        ),
        Some(REFUSALS as f64),
        "{metrics}"
    );
    let refusal_lines = |log: &str| -> Vec<String> {
        log.lines()
            .filter(|l| l.contains("refused") && l.contains("conflicting_data"))
            .map(String::from)
            .collect()
    };
    let lines = refusal_lines(&signer.log_text());
    assert!(
        !lines.is_empty() && lines.len() <= 3,
        "{} refusal lines:\n{}",
        lines.len(),
        lines[..lines.len().min(10)].join("\n")
    );
    assert!(lines[0].contains("node0"), "{}", lines[0]);

    // When the session ends, the rest of the window is summed up in one line.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(signer.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(signer.wait_exit(Duration::from_secs(10)), Some(0));
    let log = signer.log_text();
    let lines = refusal_lines(&log);
    assert!(lines.len() <= 3, "{}", lines.join("\n"));
    let summary = lines
        .iter()
        .find(|l| l.contains(&format!("refused {} more", REFUSALS - 1)))
        .unwrap_or_else(|| panic!("no summary line:\n{}", lines.join("\n")));
    assert!(
        summary.contains("node0") && summary.contains("the last: "),
        "{summary}"
    );
}

//! The order of the real `bulwark signer run`'s system calls, seen with strace: the state
//! file is flushed before a reply leaves, on open before the first stored signature goes
//! back, and a failed write or flush (injected below the store) releases nothing.
//!
//! Needs the Debian package strace (scripts/install-deps) and ptrace.

mod common;

use common::*;
use privval::Line;
use std::path::PathBuf;
use std::time::Duration;
use testkit::node::*;
use testkit::strace::{dialed, events, replies, Event, Reply, Traced};
use testkit::votes::*;

const CHAIN: &str = "order-chain-1";
const WAIT: Duration = Duration::from_secs(20);

struct Setup {
    _tmp: tempfile::TempDir,
    config: PathBuf,
    state: PathBuf,
    node: FakeNode,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::fs::canonicalize(tmp.path()).unwrap();
    let (key, _) = write_key(&dir);
    let state = dir.join("chain.state");
    bulwark().state_init(CHAIN, 0, &state);
    let node = FakeNode::listen();
    let config = write_config(&dir, CHAIN, "v0.38", &key, &state, &[node.port], None);
    Setup {
        _tmp: tmp,
        config,
        state,
        node,
    }
}

#[test]
fn every_new_signature_is_flushed_before_its_reply_leaves() {
    let s = setup();
    let signer = Traced::start(&bulwark(), &s.config, &[]);
    let mut c = s.node.accept(Line::V0_38, WAIT);
    // New heights, each followed now and then by the same request again (the stored
    // signature, no new record) and by a re-stamped one (also the stored signature).
    let mut new_signature = Vec::new();
    for height in 1..=30 {
        let sig = vote_signature(c.call(&prevote(CHAIN, height, 1, 0)));
        new_signature.push(true);
        if height % 3 == 0 {
            assert_eq!(vote_signature(c.call(&prevote(CHAIN, height, 1, 0))), sig);
            new_signature.push(false);
            assert_eq!(vote_signature(c.call(&prevote(CHAIN, height, 1, 9))), sig);
            new_signature.push(false);
        }
    }
    drop(c);
    let trace = signer.finish();
    let events = events(&trace, &s.state, &dialed(s.node.port));
    let seen = replies(&events, new_signature.len());
    for (i, (new, seen)) in new_signature.iter().zip(&seen).enumerate() {
        let expected = if *new {
            Reply::NEW_RECORD
        } else {
            Reply::NO_RECORD
        };
        assert_eq!(
            *seen, expected,
            "request {i}: new signature {new}; the state file before the reply: {seen:?}"
        );
    }
    let writes = events.iter().filter(|e| **e == Event::StateWritten).count();
    assert_eq!(writes, 30, "one state write per new signature");
    assert_eq!(bulwark().state_show(&s.state)["height"], 30);
}

#[test]
fn the_state_is_flushed_on_open_before_a_stored_signature_goes_back() {
    let s = setup();
    let stored = {
        let _signer = bulwark().signer(&s.config);
        let mut c = s.node.accept(Line::V0_38, WAIT);
        vote_signature(c.call(&prevote(CHAIN, 5, 1, 0)))
    };
    let signer = Traced::start(&bulwark(), &s.config, &[]);
    let mut c = s.node.accept(Line::V0_38, WAIT);
    assert_eq!(vote_signature(c.call(&prevote(CHAIN, 5, 1, 0))), stored);
    drop(c);
    let trace = signer.finish();
    let events = events(&trace, &s.state, &dialed(s.node.port));
    let first_reply = events
        .iter()
        .position(|e| *e == Event::ReplyBegins)
        .expect("a reply");
    assert!(
        events[..first_reply]
            .iter()
            .any(|e| matches!(e, Event::StateFlushed { call, ok: true } if call == "fsync")),
        "no fsync of the state file before the first reply: {events:?}"
    );
    assert!(
        !events.contains(&Event::StateWritten),
        "nothing new was recorded"
    );
}

/// A signer whose first `call` (a state write or flush) fails with EIO: the node gets an
/// error, never a signature, and every later request is refused too.
fn failed_record(call: &str) -> (Setup, Vec<String>, String) {
    let s = setup();
    let inject = format!("inject={call}:error=EIO:when=1");
    let signer = Traced::start(&bulwark(), &s.config, &["-e", &inject]);
    let mut c = s.node.accept(Line::V0_38, WAIT);
    let mut texts = Vec::new();
    for height in [1, 2, 3] {
        texts.push(error_text(c.call(&prevote(CHAIN, height, 1, 0))));
    }
    drop(c);
    let log = signer.log_text();
    let trace = signer.finish();
    assert!(
        trace.contains("(INJECTED)"),
        "the fault was not injected:\n{trace}"
    );
    (s, texts, log)
}

fn assert_says_what_to_do(texts: &[String], log: &str, what: &str) {
    assert!(texts[0].contains(what), "{}", texts[0]);
    for t in texts {
        for part in [
            "no signature was released",
            "the kernel may already have dropped the cached page",
            "This signer signs nothing more for this chain",
            "Do not just restart",
            "reboot the machine or move the state to a healthy local disk",
            "raise the state from the chain",
        ] {
            assert!(t.contains(part), "{t}\nlacks: {part}");
        }
    }
    for t in &texts[1..] {
        assert!(t.contains("writes stopped after an earlier failure"), "{t}");
    }
    assert!(log.contains(what), "{log}");
}

#[test]
fn a_failed_flush_releases_no_signature_and_stops_signing() {
    let (s, texts, log) = failed_record("fdatasync");
    let what = format!("could not flush sign-state file {}", s.state.display());
    assert_says_what_to_do(&texts, &log, &what);
    // The slot write reached the page cache before the flush failed, so the file may show
    // the new record; it never shows less than the last released signature (none here),
    // and never a later one than the failed request.
    assert!(bulwark().state_show(&s.state)["height"].as_i64().unwrap() <= 1);
}

#[test]
fn a_failed_write_releases_no_signature_and_leaves_the_file_as_it_was() {
    let (s, texts, log) = failed_record("pwrite64");
    let what = format!("could not write sign-state file {}", s.state.display());
    assert_says_what_to_do(&texts, &log, &what);
    let shown = bulwark().state_show(&s.state);
    assert_eq!(
        (shown["height"].as_i64(), shown["sequence"].as_u64()),
        (Some(0), Some(1))
    );
}

#[test]
fn a_failed_flush_on_open_stops_the_signer_before_it_dials() {
    let s = setup();
    let mut signer = Traced::start(
        &bulwark(),
        &s.config,
        &["-e", "inject=fsync:error=EIO:when=1"],
    );
    assert_eq!(signer.wait_exit(), Some(1), "{}", signer.log_text());
    let log = signer.log_text();
    for part in [
        format!(
            "could not flush sign-state file {} to disk when opening it",
            s.state.display()
        )
        .as_str(),
        "The file's cached content may not be on disk",
        "Do not just restart",
        "reboot the machine or move the state to a healthy local disk",
        "raise the state from the chain",
    ] {
        assert!(log.contains(part), "{log}\nlacks: {part}");
    }
    assert!(s
        .node
        .try_accept(Line::V0_38, Duration::from_millis(300))
        .is_none());
}

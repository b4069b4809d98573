//! The order of the real `bulwark signer run`'s system calls, seen with strace: the state
//! file is flushed before a reply leaves, on open before the first stored signature goes
//! back, and a failed write or flush (injected below the store) releases nothing.
//!
//! Needs the Debian package strace (scripts/install-deps) and ptrace.

mod common;

use common::*;
use privval::Line;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use testkit::node::*;
use testkit::votes::*;

const CHAIN: &str = "order-chain-1";
const WAIT: Duration = Duration::from_secs(20);
const STRACE: &str = "/usr/bin/strace";
const SYSCALLS: &str =
    "trace=fsync,fdatasync,pwrite64,write,writev,sendto,sendmsg,read,readv,recvfrom,recvmsg";

/// `bulwark signer run` under strace; the signer is killed on drop.
struct Traced {
    strace: Child,
    trace: PathBuf,
    log: PathBuf,
}

impl Traced {
    fn start(config: &Path, extra: &[&str]) -> Traced {
        assert!(
            Path::new(STRACE).exists(),
            "{STRACE} is missing: run scripts/install-deps"
        );
        let trace = config.with_extension("trace");
        let log = config.with_extension("log");
        let strace = Command::new(STRACE)
            .args(["-f", "-yy", "-qq", "-e", SYSCALLS])
            .args(extra)
            .arg("-o")
            .arg(&trace)
            .arg("--")
            .arg(bulwark().path())
            .args(["--log-level", "debug", "signer", "run", "--config"])
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Traced { strace, trace, log }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The signer's pid: strace's child.
    fn signer_pid(&self) -> Option<i32> {
        let p = self.strace.id();
        let children = std::fs::read_to_string(format!("/proc/{p}/task/{p}/children")).ok()?;
        children.split_whitespace().next()?.parse().ok()
    }

    /// Kill the signer, wait for strace to finish the trace, and return it.
    fn finish(mut self) -> String {
        if let Some(pid) = self.signer_pid() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let deadline = Instant::now() + WAIT;
        while self.strace.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "strace did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::fs::read_to_string(&self.trace).unwrap()
    }

    /// Wait for the signer to exit on its own; strace's exit code is the signer's.
    fn wait_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Some(st) = self.strace.try_wait().unwrap() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Traced {
    fn drop(&mut self) {
        if let Some(pid) = self.signer_pid() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.strace.kill();
        let _ = self.strace.wait();
    }
}

/// What one trace line says, for the events that matter here.
#[derive(Debug, Clone, PartialEq)]
enum Event {
    /// A flush (`fsync` or `fdatasync`) of the state file returned; `ok` when `= 0`.
    StateFlushed { call: String, ok: bool },
    /// A write to the state file returned.
    StateWritten,
    /// A write to the node's socket began.
    ReplyBegins,
    /// A read from the node's socket returned data.
    RequestRead,
}

/// One line of `strace -f -yy` output: pid, then a call, `<unfinished ...>` or
/// `<... call resumed>`. Returns the call name, its first argument (fd with its path) as
/// far as the line shows it, and its result when the line shows the return.
fn parse_line(line: &str) -> Option<(u32, String, Option<String>, Option<String>)> {
    let (pid, rest) = line.split_once(' ')?;
    let pid = pid.parse().ok()?;
    let rest = rest.trim_start();
    let ret = rest
        .rsplit_once(") = ")
        .or_else(|| rest.rsplit_once(" = "))
        .map(|(_, r)| r.to_owned());
    if let Some(resumed) = rest.strip_prefix("<... ") {
        let name = resumed.split(' ').next()?.to_owned();
        return Some((pid, name, None, ret));
    }
    let (name, args) = rest.split_once('(')?;
    let unfinished = rest.ends_with("<unfinished ...>");
    Some((
        pid,
        name.to_owned(),
        Some(args.to_owned()),
        if unfinished { None } else { ret },
    ))
}

/// The first argument when it is a descriptor shown with `-yy`: `9</path/to/x.state>`,
/// `11<TCP:[127.0.0.1:41544->127.0.0.1:38619]>`.
fn fd_arg(args: &str) -> &str {
    let end = [">, ", ">)", "> <unfinished"]
        .iter()
        .filter_map(|end| args.find(end))
        .min()
        .map_or(args.len(), |i| i + 1);
    &args[..end]
}

/// The events of a trace, in order: a call counts when it returns, except a reply, which
/// counts when it begins.
fn events(trace: &str, state: &Path, node_port: u16) -> Vec<Event> {
    let state_fd = format!("<{}>", state.display());
    let socket = format!("->127.0.0.1:{node_port}]>");
    // Calls begun on one line and finished on another: pid -> (call, first argument).
    let mut pending: std::collections::HashMap<u32, (String, String)> = Default::default();
    let mut out = Vec::new();
    for line in trace.lines() {
        let Some((pid, name, args, ret)) = parse_line(line) else {
            continue;
        };
        let args = match args {
            Some(a) => {
                if ret.is_none() {
                    pending.insert(pid, (name.clone(), a.clone()));
                }
                a
            }
            None => match pending.remove(&pid) {
                Some((n, a)) if n == name => a,
                _ => continue,
            },
        };
        let first = fd_arg(&args);
        let is_begin = line.contains('(') && !line.contains("resumed>");
        match name.as_str() {
            "fsync" | "fdatasync" if first.ends_with(&state_fd) => {
                if let Some(r) = ret {
                    out.push(Event::StateFlushed {
                        call: name.clone(),
                        ok: r.trim() == "0",
                    });
                }
            }
            "pwrite64" if first.ends_with(&state_fd) && ret.is_some() => {
                out.push(Event::StateWritten)
            }
            "write" | "writev" | "sendto" | "sendmsg" if first.contains(&socket) && is_begin => {
                out.push(Event::ReplyBegins)
            }
            "read" | "readv" | "recvfrom" | "recvmsg"
                if first.contains(&socket)
                    && ret
                        .as_deref()
                        .is_some_and(|r| r.trim().parse::<i64>().is_ok_and(|n| n > 0)) =>
            {
                out.push(Event::RequestRead)
            }
            _ => {}
        }
    }
    out
}

/// The replies of a trace, last `n` of them (the requests after the handshake): for each,
/// whether a successful flush of the state file came between its request and its first
/// write, and whether one was still to come when the write began.
fn replies(events: &[Event], n: usize) -> Vec<bool> {
    let mut replies = Vec::new();
    let mut flushed_since_request = false;
    let mut in_reply = false;
    for e in events {
        match e {
            Event::RequestRead => {
                in_reply = false;
                flushed_since_request = false;
            }
            Event::StateFlushed { ok: true, .. } => flushed_since_request = true,
            Event::ReplyBegins if !in_reply => {
                in_reply = true;
                replies.push(flushed_since_request);
            }
            _ => {}
        }
    }
    assert!(
        replies.len() >= n,
        "{} replies in the trace, expected {n}",
        replies.len()
    );
    replies.split_off(replies.len() - n)
}

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
    let signer = Traced::start(&s.config, &[]);
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
    let events = events(&trace, &s.state, s.node.port);
    let flushed = replies(&events, new_signature.len());
    for (i, (new, flushed)) in new_signature.iter().zip(&flushed).enumerate() {
        assert_eq!(
            new, flushed,
            "request {i}: new signature {new}, state flushed before the reply {flushed}"
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
    let signer = Traced::start(&s.config, &[]);
    let mut c = s.node.accept(Line::V0_38, WAIT);
    assert_eq!(vote_signature(c.call(&prevote(CHAIN, 5, 1, 0))), stored);
    drop(c);
    let trace = signer.finish();
    let events = events(&trace, &s.state, s.node.port);
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
    let signer = Traced::start(&s.config, &["-e", &inject]);
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
    let mut signer = Traced::start(&s.config, &["-e", "inject=fsync:error=EIO:when=1"]);
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

#[test]
fn the_trace_parser_follows_calls_split_by_other_threads() {
    let state = Path::new("/tmp/x/chain.state");
    let trace = "\
10 read(11<TCP:[127.0.0.1:5->127.0.0.1:7]>, \"a\"..., 1044, 0, NULL, NULL) = 1044
10 pwrite64(9</tmp/x/chain.state>, \"BWKSIGN1\"..., 4096, 4096) = 4096
10 fdatasync(9</tmp/x/chain.state> <unfinished ...>
11 write(2</tmp/x/signer.log>, \"x = 1\", 5) = 5
10 <... fdatasync resumed>)             = 0
10 sendto(11<TCP:[127.0.0.1:5->127.0.0.1:7]>, \"b\"..., 1044, MSG_NOSIGNAL, NULL, 0 <unfinished ...>
11 fsync(9</tmp/x/chain.state>) = -1 EIO (Input/output error) (INJECTED)
10 <... sendto resumed>)                = 1044
10 recvfrom(11<TCP:[127.0.0.1:5->127.0.0.1:7]>,  <unfinished ...>
10 <... recvfrom resumed>\"c\", 1044, 0, NULL, NULL) = 1044
10 fdatasync(9</tmp/x/chain.state> <unfinished ...>
10 write(11<TCP:[127.0.0.1:5->127.0.0.1:7]>, \"d\", 1) = 1
10 <... fdatasync resumed>)             = 0
";
    let ev = events(trace, state, 7);
    let flushed = |ok| Event::StateFlushed {
        call: "fdatasync".into(),
        ok,
    };
    assert_eq!(
        ev,
        vec![
            Event::RequestRead,
            Event::StateWritten,
            flushed(true),
            Event::ReplyBegins,
            Event::StateFlushed {
                call: "fsync".into(),
                ok: false
            },
            Event::RequestRead,
            Event::ReplyBegins,
            flushed(true),
        ]
    );
    // The second reply began before its flush returned: not flushed.
    assert_eq!(replies(&ev, 2), vec![true, false]);
}

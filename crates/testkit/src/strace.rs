//! `bulwark signer run` under strace, and the order of its state-file and socket calls
//! read back from the trace: was the sign state durable before a reply left?
//!
//! strace runs with `-f -yy`: every thread is followed, and every descriptor argument is
//! printed with what it is, a path (`9</tmp/x/chain.state>`) or a socket's endpoints
//! (`11<TCP:[127.0.0.1:41544->127.0.0.1:38619]>`, local first). A socket is picked out by
//! its endpoints, so nothing needs to follow descriptors through `connect` and `accept`:
//! [`dialed`] names the sockets this process connected to a port (a node's; only this
//! process makes those), [`accepted`] the one it accepted on its own listening port from
//! one dialer's port (the test's link, and not any other that reached the port, which on
//! a shared machine can be another test's cosigner dialing a port it takes for its
//! peer's). A descriptor strace could not decode shows no endpoint and matches neither:
//! a test then sees too few replies and fails, never passes by mistake.
//!
//! Needs the Debian package strace (scripts/install-deps) and ptrace.

use crate::process::Bulwark;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const STRACE: &str = "/usr/bin/strace";
const WAIT: Duration = Duration::from_secs(20);
/// The calls traced: flushes and writes of the state file, and the socket reads and
/// writes that carry requests and replies.
const SYSCALLS: &str =
    "trace=fsync,fdatasync,pwrite64,write,writev,sendto,sendmsg,read,readv,recvfrom,recvmsg";

/// `bulwark signer run` under strace; the signer is killed on drop.
#[derive(Debug)]
pub struct Traced {
    strace: Child,
    trace: PathBuf,
    log: PathBuf,
}

impl Traced {
    /// Start `bulwark --log-level debug signer run --config CONFIG` under strace, with
    /// `extra` strace options (e.g. `-e inject=...`). The trace goes to `CONFIG.trace`,
    /// the signer's log to `CONFIG.log`.
    pub fn start(bulwark: &Bulwark, config: &Path, extra: &[&str]) -> Traced {
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
            .arg(bulwark.path())
            .args(["--log-level", "debug", "signer", "run", "--config"])
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("strace runs");
        Traced { strace, trace, log }
    }

    /// The signer's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The signer's pid: strace's child.
    fn signer_pid(&self) -> Option<i32> {
        let p = self.strace.id();
        let children = std::fs::read_to_string(format!("/proc/{p}/task/{p}/children")).ok()?;
        children.split_whitespace().next()?.parse().ok()
    }

    fn kill_signer(&self) {
        if let Some(pid) = self.signer_pid() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }

    /// Kill the signer, wait for strace to finish the trace, and return it.
    pub fn finish(mut self) -> String {
        self.kill_signer();
        let deadline = Instant::now() + WAIT;
        while self.strace.try_wait().expect("strace status").is_none() {
            assert!(Instant::now() < deadline, "strace did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::fs::read_to_string(&self.trace).expect("the trace")
    }

    /// Wait for the signer to exit on its own; strace's exit code is the signer's.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Some(st) = self.strace.try_wait().expect("strace status") {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Traced {
    fn drop(&mut self) {
        self.kill_signer();
        let _ = self.strace.kill();
        let _ = self.strace.wait();
    }
}

/// What one trace line says, for the events that matter here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A flush (`fsync` or `fdatasync`) of the state file returned; `ok` when `= 0`.
    StateFlushed {
        /// `fsync` or `fdatasync`.
        call: String,
        /// It returned 0.
        ok: bool,
    },
    /// A write to the state file returned.
    StateWritten,
    /// A write to the socket began.
    ReplyBegins,
    /// A read from the socket returned data.
    RequestRead,
}

/// The socket this process connected to `port` on 127.0.0.1 (a node it dials).
pub fn dialed(port: u16) -> String {
    format!("->127.0.0.1:{port}]>")
}

/// The socket this process accepted on its listening `port` on 127.0.0.1 from `from`,
/// the dialer's port (a peer's link).
pub fn accepted(port: u16, from: u16) -> String {
    format!("<TCP:[127.0.0.1:{port}->127.0.0.1:{from}]>")
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

/// The events of a trace, in order, for the state file `state` and the sockets whose
/// description contains `socket` ([`dialed`], [`accepted`]): a call counts when it
/// returns, except a reply, which counts when it begins.
pub fn events(trace: &str, state: &Path, socket: &str) -> Vec<Event> {
    let state_fd = format!("<{}>", state.display());
    // Calls begun on one line and finished on another: pid -> (call, first argument).
    let mut pending: HashMap<u32, (String, String)> = HashMap::new();
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
            "write" | "writev" | "sendto" | "sendmsg" if first.contains(socket) && is_begin => {
                out.push(Event::ReplyBegins)
            }
            "read" | "readv" | "recvfrom" | "recvmsg"
                if first.contains(socket)
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

/// What the state file saw between one request and the first write of its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// A write of the state file returned.
    pub written: bool,
    /// A flush of the state file returned successfully after the last of those writes
    /// (after the request, when nothing was written).
    pub durable: bool,
}

impl Reply {
    /// What a reply carrying a new record must show: written, and flushed after the
    /// write, before the reply began.
    pub const NEW_RECORD: Reply = Reply {
        written: true,
        durable: true,
    };
    /// What a reply that needed no new record shows: neither.
    pub const NO_RECORD: Reply = Reply {
        written: false,
        durable: false,
    };
}

/// The replies of a trace, last `n` of them (the requests after any handshake and
/// warm-up), each with what the state file saw between its request and its first write.
pub fn replies(events: &[Event], n: usize) -> Vec<Reply> {
    let mut replies = Vec::new();
    let mut now = Reply::NO_RECORD;
    let mut in_reply = false;
    for e in events {
        match e {
            Event::RequestRead => {
                in_reply = false;
                now = Reply::NO_RECORD;
            }
            Event::StateWritten => {
                now = Reply {
                    written: true,
                    durable: false,
                }
            }
            Event::StateFlushed { ok: true, .. } => now.durable = true,
            Event::ReplyBegins if !in_reply => {
                in_reply = true;
                replies.push(now);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parser_follows_calls_split_by_other_threads() {
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
10 read(11<TCP:[127.0.0.1:5->127.0.0.1:7]>, \"e\", 1) = 1
10 pwrite64(9</tmp/x/chain.state>, \"BWKSIGN1\"..., 4096, 0) = 4096
10 write(11<TCP:[127.0.0.1:5->127.0.0.1:7]>, \"f\", 1) = 1
10 fdatasync(9</tmp/x/chain.state>) = 0
";
        let ev = events(trace, state, &dialed(7));
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
                Event::RequestRead,
                Event::StateWritten,
                Event::ReplyBegins,
                flushed(true),
            ]
        );
        // The second reply began before its flush returned; the third before its
        // write was flushed.
        assert_eq!(
            replies(&ev, 3),
            vec![
                Reply::NEW_RECORD,
                Reply::NO_RECORD,
                Reply {
                    written: true,
                    durable: false
                }
            ]
        );
        // The same socket seen from its other end: accepted on port 5 from port 7, and
        // nothing from another dialer.
        assert_eq!(events(trace, state, &accepted(5, 7)), ev);
        assert!(events(trace, state, &accepted(5, 8))
            .iter()
            .all(|e| !matches!(e, Event::ReplyBegins | Event::RequestRead)));
    }
}

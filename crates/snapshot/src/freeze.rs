//! Pausing a node in place: SIGSTOP while its files are linked and copied aside, SIGCONT
//! right after. The node keeps its connections and does not restart, so it is out for the
//! time of the copy instead of a stop, a start and its start-up. The copy is what a crash
//! of the node at that instant would leave, which CometBFT and its databases recover from
//! on start (the same as a file system snapshot of a running node); stopping the node
//! (`pause::Commands`) gives a clean copy instead.
//!
//! A node left frozen would be a validator down, so a dead-man timer is armed before the
//! node is stopped: a detached `sh` that sends SIGCONT after [`DEAD_MAN`] whatever happens
//! to this process (killed, crashed). SIGCONT to a running process changes nothing.

use crate::create::NodeControl;
use crate::error::SnapshotError;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The longest a node stays frozen if this process dies before it lets it go.
pub const DEAD_MAN: Duration = Duration::from_secs(60);
/// How long every thread of the node has to reach the stopped state.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// A node frozen by signals to its process.
#[derive(Debug)]
pub struct Freeze {
    pid: i32,
    rpc: Option<String>,
    dead_man_after: Duration,
    dead_man: Option<Child>,
}

impl Freeze {
    /// Freeze process `pid` (the node binary itself, not a supervisor such as
    /// cosmovisor: a stopped parent does not stop its child); `rpc` times the downtime
    /// until it answers again.
    pub fn new(pid: i32, rpc: Option<String>) -> Result<Freeze, SnapshotError> {
        if pid <= 1 {
            return Err(SnapshotError::Usage(format!(
                "{pid} is not a node's process id"
            )));
        }
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            return Err(SnapshotError::Node(format!(
                "no process {pid}: give the pid of the running node binary"
            )));
        }
        Ok(Freeze {
            pid,
            rpc,
            dead_man_after: DEAD_MAN,
            dead_man: None,
        })
    }

    fn signal(&self, s: Signal) -> Result<(), SnapshotError> {
        kill(Pid::from_raw(self.pid), s)
            .map_err(|e| SnapshotError::Node(format!("{s} to process {}: {e}", self.pid)))
    }

    fn arm(&mut self) -> Result<(), SnapshotError> {
        let script = format!(
            "sleep {}; kill -CONT {} 2>/dev/null",
            self.dead_man_after.as_secs_f64(),
            self.pid
        );
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: a Ctrl-C to this command does not reach it.
            .process_group(0)
            .spawn()
            .map_err(|e| SnapshotError::Node(format!("cannot arm the dead-man timer: {e}")))?;
        self.dead_man = Some(child);
        Ok(())
    }

    fn disarm(&mut self) {
        if let Some(mut c) = self.dead_man.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The process id `cmd` prints (e.g. `systemctl show -p MainPID --value gaiad`).
pub fn pid_from_cmd(cmd: &str) -> Result<i32, SnapshotError> {
    let printed = crate::pause::sh("pid", cmd);
    match printed.as_deref().map(str::trim).map(str::parse::<i32>) {
        Ok(Ok(pid)) if pid > 1 => Ok(pid),
        _ => Err(SnapshotError::Node(format!(
            "pid command {cmd:?} printed {}, not the running node's process id; nothing was frozen",
            match &printed {
                Ok(out) => format!("{:?}", out.trim()),
                Err(e) => format!("nothing ({e})"),
            }
        ))),
    }
}

/// Whether every thread of `pid` is stopped (`T`, or `t` under a tracer).
pub fn all_threads_stopped(pid: i32) -> Result<bool, SnapshotError> {
    let dir = format!("/proc/{pid}/task");
    let tasks = std::fs::read_dir(&dir)
        .map_err(|e| SnapshotError::Node(format!("process {pid} went away ({dir}: {e})")))?;
    for t in tasks.flatten() {
        let stat = match std::fs::read_to_string(t.path().join("stat")) {
            Ok(s) => s,
            // A thread that exited meanwhile.
            Err(_) => continue,
        };
        // The state follows the command name, which is in parentheses.
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .unwrap_or("");
        if state != "T" && state != "t" {
            return Ok(false);
        }
    }
    Ok(true)
}

impl NodeControl for Freeze {
    fn describe(&self) -> String {
        format!("node process {} frozen in place (SIGSTOP)", self.pid)
    }

    fn in_place(&self) -> bool {
        true
    }

    fn stop(&mut self) -> Result<(), SnapshotError> {
        self.arm()?;
        self.signal(Signal::SIGSTOP)?;
        let deadline = Instant::now() + STOP_WAIT;
        while !all_threads_stopped(self.pid)? {
            if Instant::now() > deadline {
                return Err(SnapshotError::Node(format!(
                    "process {} did not stop within {STOP_WAIT:?} of SIGSTOP; nothing was read",
                    self.pid
                )));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }

    fn start(&mut self) -> Result<(), SnapshotError> {
        let sent = self.signal(Signal::SIGCONT);
        if sent.is_ok() {
            self.disarm();
        }
        sent.map_err(|e| {
            SnapshotError::Node(format!(
                "{e}; THE NODE MAY STILL BE FROZEN: `kill -CONT {}` (the dead-man timer does it within {} s)",
                self.pid,
                self.dead_man_after.as_secs()
            ))
        })?;
        crate::pause::wait_serving(self.rpc.as_deref());
        Ok(())
    }
}

impl Drop for Freeze {
    fn drop(&mut self) {
        if self.dead_man.is_some() {
            // Stopped but never let go (an error or a panic in between).
            let _ = self.signal(Signal::SIGCONT);
            self.disarm();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_is_frozen_and_let_go_and_the_dead_man_is_disarmed() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id() as i32;
        let mut f = Freeze::new(pid, None).unwrap();
        assert!(!all_threads_stopped(pid).unwrap());
        f.stop().unwrap();
        assert!(all_threads_stopped(pid).unwrap());
        let dead_man = f.dead_man.as_ref().unwrap().id() as i32;
        assert!(std::path::Path::new(&format!("/proc/{dead_man}")).exists());
        f.start().unwrap();
        assert!(!all_threads_stopped(pid).unwrap());
        assert!(f.dead_man.is_none());
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn dropping_a_frozen_control_lets_the_process_go() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id() as i32;
        let mut f = Freeze::new(pid, None).unwrap();
        f.stop().unwrap();
        drop(f);
        assert!(!all_threads_stopped(pid).unwrap());
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn the_dead_man_lets_the_process_go_when_this_one_never_does() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id() as i32;
        let mut f = Freeze::new(pid, None).unwrap();
        f.dead_man_after = Duration::from_secs(3);
        f.stop().unwrap();
        // As if this process died: no SIGCONT from it, no Drop.
        std::mem::forget(f);
        assert!(all_threads_stopped(pid).unwrap());
        let deadline = Instant::now() + Duration::from_secs(10);
        while all_threads_stopped(pid).unwrap() {
            assert!(
                Instant::now() < deadline,
                "still frozen 10 s after the dead-man time"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn no_such_process_is_refused() {
        assert!(Freeze::new(1, None).is_err());
        assert!(Freeze::new(i32::MAX, None).is_err());
    }

    #[test]
    fn a_pid_command_prints_one_pid_or_is_refused() {
        assert_eq!(pid_from_cmd("echo ' 4242'").unwrap(), 4242);
        // systemd prints 0 for a unit that is not running.
        for bad in ["echo 0", "echo gaiad", "exit 3", "true"] {
            let e = pid_from_cmd(bad).unwrap_err().to_string();
            assert!(
                e.contains("not the running node's process id"),
                "{bad}: {e}"
            );
        }
    }
}

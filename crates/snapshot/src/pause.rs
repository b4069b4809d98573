//! Pausing a node with the operator's own commands (systemd units, containers).

use crate::create::NodeControl;
use crate::error::SnapshotError;
use std::process::Command;
use std::time::{Duration, Instant};

/// How long a restarted node has to answer on RPC before the downtime clock stops anyway.
pub const SERVE_WAIT: Duration = Duration::from_secs(120);

/// A node stopped and started by shell commands.
#[derive(Debug, Clone)]
pub struct Commands {
    /// Stops the node.
    pub stop: String,
    /// Starts it.
    pub start: String,
    /// Its RPC, to time the downtime until it serves again.
    pub rpc: Option<String>,
}

/// Run `cmd` with `sh -c`; its standard output, or why it failed.
pub(crate) fn sh(what: &str, cmd: &str) -> Result<String, SnapshotError> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| SnapshotError::Node(format!("{what} command {cmd:?}: {e}")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(SnapshotError::Node(format!(
            "{what} command {cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

impl NodeControl for Commands {
    fn describe(&self) -> String {
        format!("node paused by {:?}", self.stop)
    }

    fn stop(&mut self) -> Result<(), SnapshotError> {
        sh("stop", &self.stop).map(drop)
    }

    fn start(&mut self) -> Result<(), SnapshotError> {
        sh("start", &self.start).map_err(|e| {
            SnapshotError::Node(format!("{e}; THE NODE IS STOPPED: start it by hand"))
        })?;
        wait_serving(self.rpc.as_deref());
        Ok(())
    }
}

/// Wait (up to [`SERVE_WAIT`]) until the node's RPC answers `/status` with 200.
pub fn wait_serving(rpc: Option<&str>) {
    let Some(rpc) = rpc else { return };
    let hostport = rpc
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let deadline = Instant::now() + SERVE_WAIT;
    while Instant::now() < deadline {
        if status_answers(&hostport) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    tracing::warn!(
        rpc,
        "the node did not answer on RPC within {SERVE_WAIT:?} of its start"
    );
}

fn status_answers(hostport: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(addrs) = std::net::ToSocketAddrs::to_socket_addrs(hostport) else {
        return false;
    };
    for a in addrs {
        let Ok(mut s) = std::net::TcpStream::connect_timeout(&a, Duration::from_millis(300)) else {
            continue;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let req = format!("GET /status HTTP/1.0\r\nHost: {hostport}\r\n\r\n");
        if s.write_all(req.as_bytes()).is_err() {
            continue;
        }
        let mut head = [0u8; 12];
        if s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
        {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_run_and_failures_say_the_node_is_stopped() {
        let tmp = tempfile::tempdir().unwrap();
        let flag = tmp.path().join("stopped");
        let mut c = Commands {
            stop: format!("touch {}", flag.display()),
            start: "exit 3".into(),
            rpc: None,
        };
        c.stop().unwrap();
        assert!(flag.is_file());
        let e = c.start().unwrap_err().to_string();
        assert!(e.contains("THE NODE IS STOPPED"), "{e}");
    }
}

//! Pausing the node a snapshot reads: a devnet node by name, or the operator's own stop
//! and start commands (systemd units, containers).

use snapshot::{NodeControl, SnapshotError};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// How long a restarted node has to answer on RPC before the downtime clock stops anyway.
const SERVE_WAIT: Duration = Duration::from_secs(120);

/// A node of a devnet made by `bulwark devnet`.
#[derive(Debug)]
pub struct DevnetNode {
    dir: PathBuf,
    node: devnet::Node,
    binary: PathBuf,
}

impl DevnetNode {
    /// Node `name` of the devnet at `dir`.
    pub fn new(dir: PathBuf, name: &str) -> anyhow::Result<DevnetNode> {
        let dir = devnet::manifest::absolute(&dir);
        let manifest = devnet::Manifest::load(&dir)?;
        let node = manifest.node(name)?.clone();
        let binary = devnet::up::binary_for(&manifest, &devnet::cometbft::install_dir())?.path;
        Ok(DevnetNode { dir, node, binary })
    }

    /// The node's home.
    pub fn home(&self) -> PathBuf {
        self.dir.join(&self.node.home)
    }

    /// Its RPC URL.
    pub fn rpc_url(&self) -> String {
        self.node.rpc_url()
    }
}

impl NodeControl for DevnetNode {
    fn describe(&self) -> String {
        format!("devnet node {} ({})", self.node.name, self.dir.display())
    }

    fn stop(&mut self) -> Result<(), SnapshotError> {
        devnet::process::stop_node(&self.dir, &self.node, Duration::from_secs(20));
        Ok(())
    }

    fn start(&mut self) -> Result<(), SnapshotError> {
        let spec = devnet::process::Spec::node(&self.dir, &self.binary, &self.node);
        devnet::process::start(&self.dir, &spec).map_err(|e| {
            SnapshotError::Node(format!(
                "could not start devnet node {} again: {e}; start it with `bulwark devnet up --dir {}`",
                self.node.name,
                self.dir.display()
            ))
        })?;
        wait_serving(Some(&self.rpc_url()));
        Ok(())
    }
}

/// A node stopped and started by shell commands.
#[derive(Debug)]
pub struct Commands {
    /// Stops the node.
    pub stop: String,
    /// Starts it.
    pub start: String,
    /// Its RPC, to time the downtime until it serves again.
    pub rpc: Option<String>,
}

fn sh(what: &str, cmd: &str) -> Result<(), SnapshotError> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .map_err(|e| SnapshotError::Node(format!("{what} command {cmd:?}: {e}")))?;
    if out.status.success() {
        Ok(())
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
        sh("stop", &self.stop)
    }

    fn start(&mut self) -> Result<(), SnapshotError> {
        sh("start", &self.start).map_err(|e| {
            SnapshotError::Node(format!("{e}; THE NODE IS STOPPED: start it by hand"))
        })?;
        wait_serving(self.rpc.as_deref());
        Ok(())
    }
}

/// Wait (a while) until the node's RPC answers `/status`.
fn wait_serving(rpc: Option<&str>) {
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

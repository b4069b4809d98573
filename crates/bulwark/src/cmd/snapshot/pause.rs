//! Pausing a devnet node by name for a snapshot (the operator's own stop and start
//! commands are `snapshot::pause::Commands`).

use snapshot::{NodeControl, SnapshotError};
use std::path::PathBuf;
use std::time::Duration;

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

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<i32> {
        devnet::process::node_pid(&self.dir, &self.node).map(|p| p as i32)
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
        snapshot::pause::wait_serving(Some(&self.rpc_url()));
        Ok(())
    }
}

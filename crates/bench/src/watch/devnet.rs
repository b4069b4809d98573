//! A devnet for the benchmark, driven through the real `bulwark devnet` commands.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A running devnet in a temporary directory; `destroy` removes it.
#[derive(Debug)]
pub struct Devnet {
    /// Its directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: devnet::Manifest,
    bulwark: PathBuf,
}

impl Devnet {
    /// `bulwark devnet up` in a fresh temporary directory (4 validators, val0 signing
    /// through `bulwark signer`).
    pub fn up(bulwark: &Path) -> anyhow::Result<Self> {
        Self::up_with(bulwark, "devnet", &[])
    }

    /// `bulwark devnet up ARGS...` in a fresh temporary directory named after `tag`.
    pub fn up_with(bulwark: &Path, tag: &str, args: &[&str]) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("bulwark-bench-{tag}-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        let mut all = vec!["up"];
        all.extend_from_slice(args);
        let up = run(bulwark, &dir, &all)
            .and_then(|()| devnet::Manifest::load(&dir).context("reading the devnet manifest"));
        match up {
            Ok(manifest) => Ok(Self {
                dir,
                manifest,
                bulwark: bulwark.to_path_buf(),
            }),
            Err(e) => {
                destroy(bulwark, &dir);
                Err(e)
            }
        }
    }

    fn run(&self, args: &[&str]) -> anyhow::Result<()> {
        run(&self.bulwark, &self.dir, args)
    }

    /// `bulwark devnet stop <name>`.
    pub fn stop(&self, name: &str) -> anyhow::Result<()> {
        self.run(&["stop", name])
    }

    /// `bulwark devnet stop <name> --kill`: SIGKILL at once, as when its host dies.
    pub fn kill(&self, name: &str) -> anyhow::Result<()> {
        self.run(&["stop", name, "--kill"])
    }

    /// `bulwark devnet up` again: starts whatever was stopped.
    pub fn start_stopped(&self) -> anyhow::Result<()> {
        self.run(&["up"])
    }

    /// RPC URLs of the nodes that are not val0's own, as the devnet's watch reads them.
    pub fn watch_rpcs(&self) -> Vec<String> {
        self.manifest
            .nodes
            .iter()
            .filter(|n| !devnet::topology::is_operator_node(n))
            .map(|n| n.rpc_url())
            .collect()
    }

    /// The devnet signer's metrics URL (`None` when val0 signs with its own key file).
    pub fn signer_metrics_url(&self) -> Option<String> {
        let port = self.manifest.signer_metrics_port?;
        Some(format!("http://127.0.0.1:{port}/metrics"))
    }

    /// val0's consensus address.
    pub fn val0_address(&self) -> String {
        self.manifest
            .validator_by_name(devnet::topology::OPERATOR)
            .map(|v| v.address.clone())
            .unwrap_or_default()
    }

    /// Stop every process and delete the directory.
    pub fn destroy(&self) {
        destroy(&self.bulwark, &self.dir);
    }
}

fn run(bulwark: &Path, dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new(bulwark)
        .arg("devnet")
        .args(args)
        .arg("--dir")
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} devnet", bulwark.display()))?;
    anyhow::ensure!(
        out.status.success(),
        "`bulwark devnet {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

fn destroy(bulwark: &Path, dir: &Path) {
    if run(bulwark, dir, &["destroy"]).is_err() {
        let _ = run(bulwark, dir, &["down"]);
        let _ = std::fs::remove_dir_all(dir);
    }
}

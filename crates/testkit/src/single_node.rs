//! One real CometBFT validator node (kvstore app, fast blocks) on free 127.0.0.1
//! ports, optionally serving its RPC and websocket over TLS. Killed when dropped.

use crate::port::free_port;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A single-validator CometBFT chain.
#[derive(Debug)]
pub struct SingleNode {
    pub home: PathBuf,
    pub rpc_port: u16,
    pub chain_id: String,
    bin: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl SingleNode {
    /// `cometbft init` in `dir/node` (v0.38 line), configured for 127.0.0.1 and fast
    /// blocks; with `tls` = (certificate, key) PEM files the RPC serves HTTPS/WSS.
    pub fn init(dir: &Path, tls: Option<(&Path, &Path)>) -> Self {
        let install = devnet::cometbft::install_dir();
        let bin = devnet::cometbft::find(devnet::Line::V0_38, &install)
            .unwrap_or_else(|e| panic!("{e} (run scripts/install-deps)"))
            .path;
        let home = dir.join("node");
        cometbft_init(&bin, &home);
        let rpc_port = free_port();
        let p2p_port = free_port();
        let path = home.join("config/config.toml");
        let mut doc: toml_edit::DocumentMut =
            std::fs::read_to_string(&path).unwrap().parse().unwrap();
        doc["proxy_app"] = toml_edit::value("kvstore");
        doc["moniker"] = toml_edit::value("node0");
        doc["rpc"]["laddr"] = toml_edit::value(format!("tcp://127.0.0.1:{rpc_port}"));
        if let Some((cert, key)) = tls {
            doc["rpc"]["tls_cert_file"] = toml_edit::value(cert.to_str().unwrap());
            doc["rpc"]["tls_key_file"] = toml_edit::value(key.to_str().unwrap());
        }
        doc["p2p"]["laddr"] = toml_edit::value(format!("tcp://127.0.0.1:{p2p_port}"));
        doc["p2p"]["pex"] = toml_edit::value(false);
        doc["consensus"]["timeout_propose"] = toml_edit::value("1s");
        doc["consensus"]["timeout_commit"] = toml_edit::value("300ms");
        std::fs::write(&path, doc.to_string()).unwrap();
        let genesis: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(home.join("config/genesis.json")).unwrap(),
        )
        .unwrap();
        let chain_id = genesis["chain_id"].as_str().unwrap().to_string();
        Self {
            log: dir.join("cometbft.log"),
            home,
            rpc_port,
            chain_id,
            bin,
            child: None,
        }
    }

    /// Start the node (its output goes to a log file).
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "already started");
        let log = std::fs::File::create(&self.log).unwrap();
        let child = Command::new(&self.bin)
            .args(["start", "--home"])
            .arg(&self.home)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("cometbft starts");
        self.child = Some(child);
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for SingleNode {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `cometbft init --home HOME` with the binary `bin`; panics with its output on failure.
pub fn cometbft_init(bin: &Path, home: &Path) {
    let out = Command::new(bin)
        .args(["init", "--home"])
        .arg(home)
        .output()
        .expect("cometbft init runs");
    assert!(
        out.status.success(),
        "cometbft init: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

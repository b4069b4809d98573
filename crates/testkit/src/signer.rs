//! `bulwark signer`: key files, configs (written through the signer's own config types),
//! the daemon as a child process, and `signer state`.

use crate::process::{json, text, wait_exit, Bulwark};
use base64::Engine;
use ed25519_dalek::SigningKey;
use serde_json::Value;
use signer::config::{Addr, ChainConfig, Config, MetricsConfig, NodeConfig};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A fresh key file in CometBFT's format, mode 0600, in `dir`.
pub fn write_key(dir: &Path) -> (PathBuf, SigningKey) {
    let key = SigningKey::generate(&mut rand_core::OsRng);
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut pair = key.to_bytes().to_vec();
    pair.extend_from_slice(key.verifying_key().as_bytes());
    let json = serde_json::json!({
        "address": "",
        "pub_key": {"type": "tendermint/PubKeyEd25519", "value": b64.encode(key.verifying_key().as_bytes())},
        "priv_key": {"type": "tendermint/PrivKeyEd25519", "value": b64.encode(&pair)},
    });
    let path = dir.join("priv_validator_key.json");
    std::fs::write(&path, json.to_string()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    (path, key)
}

/// A signer config for one chain with nodes at `addrs` (`tcp://...`, `unix://...`),
/// named node0, node1, ..., and `/metrics` on 127.0.0.1:`metrics`.
pub fn signer_config(
    chain: &str,
    line: &str,
    key: &Path,
    state: &Path,
    addrs: &[String],
    metrics: Option<u16>,
) -> Config {
    let nodes = addrs
        .iter()
        .enumerate()
        .map(|(i, a)| NodeConfig {
            name: format!("node{i}"),
            addr: Addr::parse(a).unwrap_or_else(|e| panic!("{e}")),
        })
        .collect();
    let line = line.parse().unwrap_or_else(|e| panic!("{e}"));
    Config {
        connection_key: None,
        threshold: None,
        metrics: metrics.map(|p| MetricsConfig {
            listen: ([127, 0, 0, 1], p).into(),
        }),
        chains: vec![ChainConfig::new(
            chain,
            key.to_path_buf(),
            state.to_path_buf(),
            line,
            nodes,
        )],
        skip_chain_checks: false,
        vault: None,
        audit_log: None,
    }
}

/// Write `config` as `dir/signer.toml`.
pub fn write_signer_config(dir: &Path, config: &Config) -> PathBuf {
    let path = dir.join("signer.toml");
    std::fs::write(&path, config.to_toml()).unwrap();
    path
}

/// `dir/signer.toml` for one chain whose nodes listen on `ports` (tcp, 127.0.0.1).
pub fn write_config(
    dir: &Path,
    chain: &str,
    line: &str,
    key: &Path,
    state: &Path,
    ports: &[u16],
    metrics: Option<u16>,
) -> PathBuf {
    let addrs: Vec<String> = ports
        .iter()
        .map(|p| format!("tcp://127.0.0.1:{p}"))
        .collect();
    let mut c = signer_config(chain, line, key, state, &addrs, metrics);
    c.chains[0].idle_timeout = Duration::from_secs(30);
    write_signer_config(dir, &c)
}

/// `dir/signer.toml` for one v0.38 chain whose nodes are at `addrs` (`tcp://...`,
/// `unix://...`), named node0, node1, ..., with `edit` applied to the chain.
pub fn write_config_addrs(
    dir: &Path,
    chain: &str,
    key: &Path,
    state: &Path,
    addrs: &[String],
    edit: impl FnOnce(&mut ChainConfig),
    metrics: Option<u16>,
) -> PathBuf {
    let mut c = signer_config(chain, "v0.38", key, state, addrs, metrics);
    edit(&mut c.chains[0]);
    write_signer_config(dir, &c)
}

/// Change the (first) chain of the config at `path` and write it back.
pub fn edit_chain(path: &Path, edit: impl FnOnce(&mut ChainConfig)) {
    let mut c = Config::load(path).unwrap_or_else(|e| panic!("{e}"));
    edit(&mut c.chains[0]);
    std::fs::write(path, c.to_toml()).unwrap();
}

/// Add raw `lines` (TOML) to the `[[chain]]` table of a config made by
/// [`write_config`]: for what the config types cannot express (an unknown key); a
/// setting the types know goes through [`edit_chain`].
pub fn add_to_chain(config: &Path, lines: &str) {
    let text = std::fs::read_to_string(config).unwrap();
    std::fs::write(
        config,
        text.replacen("protocol =", &format!("{lines}\nprotocol ="), 1),
    )
    .unwrap();
}

/// `bulwark signer run` as a child process, killed on drop; stderr goes to a file.
#[derive(Debug)]
pub struct SignerProc {
    pub child: Child,
    pub log: PathBuf,
}

impl SignerProc {
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait for the process to exit; its code, or None after `within`.
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        wait_exit(&mut self.child, within)
    }

    /// SIGKILL it (no chance to drain or flush) and reap it.
    pub fn kill(self) {
        drop(self);
    }
}

impl Drop for SignerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Bulwark {
    /// `bulwark --log-level debug signer run --config CONFIG`, stderr in CONFIG.log.
    pub fn signer(&self, config: &Path) -> SignerProc {
        self.signer_with(config, &["--log-level", "debug"])
    }

    /// Start with global options (`--log-format json`, ...) before `signer run`.
    pub fn signer_with(&self, config: &Path, global: &[&str]) -> SignerProc {
        self.signer_under(&[], config, global)
    }

    /// Start through `prefix` (e.g. `ip netns exec NAME`), with global options.
    pub fn signer_under(&self, prefix: &[String], config: &Path, global: &[&str]) -> SignerProc {
        let log = config.with_extension("log");
        let f = std::fs::File::create(&log).unwrap();
        let mut cmd = match prefix.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(self.path());
                c
            }
            None => Command::new(self.path()),
        };
        let child = cmd
            .args(global)
            .args(["signer", "run", "--config"])
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(f)
            .spawn()
            .unwrap();
        SignerProc { child, log }
    }

    /// `bulwark signer state init --chain-id CHAIN --height H --state PATH`; panics on
    /// failure.
    pub fn state_init(&self, chain: &str, height: i64, path: &Path) {
        let o = self.run(&[
            "signer",
            "state",
            "init",
            "--chain-id",
            chain,
            "--height",
            &height.to_string(),
            "--state",
            path.to_str().expect("utf-8 path"),
        ]);
        assert!(o.status.success(), "{}", text(&o));
    }

    /// `bulwark signer state show --json --state PATH`.
    pub fn state_show(&self, path: &Path) -> Value {
        json(&self.run(&[
            "signer",
            "state",
            "show",
            "--json",
            "--state",
            path.to_str().expect("utf-8 path"),
        ]))
    }
}

//! `bulwark signer`: key files, configs (the one place the kit writes signer TOML by
//! hand), the daemon as a child process, and `signer state`.

use crate::process::{json, text, wait_exit, Bulwark};
use base64::Engine;
use ed25519_dalek::SigningKey;
use serde_json::Value;
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

fn metrics_table(metrics: Option<u16>) -> String {
    metrics.map_or_else(String::new, |p| {
        format!("[metrics]\nlisten = \"127.0.0.1:{p}\"\n\n")
    })
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
    let mut text = metrics_table(metrics);
    text.push_str(&format!(
        "[[chain]]\nid = {chain:?}\nkey = {key:?}\nstate = {state:?}\nprotocol = {line:?}\nidle_timeout = \"30s\"\n"
    ));
    for (i, p) in ports.iter().enumerate() {
        text.push_str(&format!(
            "\n[[chain.node]]\nname = \"node{i}\"\naddr = \"tcp://127.0.0.1:{p}\"\n"
        ));
    }
    let path = dir.join("signer.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `dir/signer.toml` for one v0.38 chain whose nodes are at `addrs` (`tcp://...`,
/// `unix://...`), named node0, node1, ...; `extra` is TOML for the `[[chain]]` table.
pub fn write_config_addrs(
    dir: &Path,
    chain: &str,
    key: &Path,
    state: &Path,
    addrs: &[String],
    extra: &str,
    metrics: Option<u16>,
) -> PathBuf {
    let mut text = metrics_table(metrics);
    text.push_str(&format!(
        "[[chain]]\nid = {chain:?}\nkey = {key:?}\nstate = {state:?}\nprotocol = \"v0.38\"\n{extra}\n"
    ));
    for (i, a) in addrs.iter().enumerate() {
        text.push_str(&format!(
            "\n[[chain.node]]\nname = \"node{i}\"\naddr = {a:?}\n"
        ));
    }
    let path = dir.join("signer.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Add `lines` (TOML) to the `[[chain]]` table of a config made by [`write_config`].
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
        let log = config.with_extension("log");
        let f = std::fs::File::create(&log).unwrap();
        let child = Command::new(self.path())
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

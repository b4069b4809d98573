//! The signers under test, each configured for the same chains and keys.

use anyhow::{bail, Context};
use base64::Engine;
use ed25519_dalek::SigningKey;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Which signer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `bulwark signer run`.
    Bulwark,
    /// `bulwark signer run`, keys in a PKCS#11 token (SoftHSM2).
    BulwarkPkcs11,
    /// `bulwark signer run`, keys from a vault opened by two of three custodians.
    BulwarkVault,
    /// `tmkms start` with softsign.
    Tmkms,
}

impl Kind {
    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Bulwark => "bulwark",
            Kind::BulwarkPkcs11 => "bulwark-pkcs11",
            Kind::BulwarkVault => "bulwark-vault",
            Kind::Tmkms => "tmkms",
        }
    }
}

/// A chain under test: its ID, its consensus key and the port its "node" listens on.
#[derive(Debug)]
pub struct Chain {
    /// Chain ID.
    pub id: String,
    /// Consensus key.
    pub key: SigningKey,
    /// Node port.
    pub port: u16,
}

/// A running signer, killed on drop.
#[derive(Debug)]
pub struct Running {
    child: Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Configure and start `kind` in `dir` for `chains`. Bulwark serves every chain from one
/// process. tmkms softsign allows one consensus key per process, so chains with their own
/// keys get one tmkms process each, as an operator would have to run them.
pub fn start(kind: Kind, exe: &Path, dir: &Path, chains: &[Chain]) -> anyhow::Result<Vec<Running>> {
    match kind {
        Kind::Bulwark | Kind::BulwarkPkcs11 | Kind::BulwarkVault => {
            std::fs::create_dir_all(dir)?;
            let (mut config, keys) = bulwark_config(exe, dir, chains)?;
            let mut c = Command::new(exe);
            let unseal = match kind {
                Kind::BulwarkPkcs11 => {
                    let conf = crate::backends::pkcs11(exe, dir, &mut config, &keys)?;
                    c.env("SOFTHSM2_CONF", conf);
                    None
                }
                Kind::BulwarkVault => Some(crate::backends::vault(exe, dir, &mut config, &keys)?),
                _ => None,
            };
            let path = dir.join("signer.toml");
            std::fs::write(&path, config.to_toml())?;
            c.args(["signer", "run", "--config"]).arg(path);
            let running = spawn(c, &dir.join("bulwark.log"))?;
            if let Some(u) = unseal {
                u.run()?;
            }
            Ok(vec![running])
        }
        Kind::Tmkms => chains
            .iter()
            .map(|chain| {
                let cdir = dir.join(&chain.id);
                std::fs::create_dir_all(&cdir)?;
                let config = tmkms_config(&cdir, std::slice::from_ref(chain))?;
                let mut c = Command::new(exe);
                c.args(["start", "-c"]).arg(config);
                spawn(c, &cdir.join("tmkms.log"))
            })
            .collect(),
    }
}

fn spawn(mut cmd: Command, log: &Path) -> anyhow::Result<Running> {
    let log = std::fs::File::create(log)?;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {:?}", cmd.get_program()))?;
    Ok(Running { child })
}

/// A signer config with one key file per chain; the config and the key files.
fn bulwark_config(
    exe: &Path,
    dir: &Path,
    chains: &[Chain],
) -> anyhow::Result<(signer::Config, Vec<PathBuf>)> {
    use signer::config::{Addr, ChainConfig, Config, NodeConfig};
    let mut config = Config {
        threshold: None,
        connection_key: None,
        metrics: None,
        chains: Vec::new(),
        skip_chain_checks: false,
        vault: None,
        audit_log: None,
    };
    let mut keys = Vec::new();
    for c in chains {
        let key = dir.join(format!("{}.key", c.id));
        write_secret(&key, &b64(&c.key.to_bytes()))?;
        keys.push(key.clone());
        let state = dir.join(format!("{}.state", c.id));
        let out = Command::new(exe)
            .args(["signer", "state", "init", "--chain-id", &c.id, "--state"])
            .arg(&state)
            .output()?;
        if !out.status.success() {
            bail!("state init: {}", String::from_utf8_lossy(&out.stderr));
        }
        let node = NodeConfig {
            name: "node".into(),
            addr: Addr::Tcp(format!("127.0.0.1:{}", c.port)),
        };
        config.chains.push(ChainConfig::new(
            &c.id,
            key,
            state,
            privval::Line::V0_38,
            vec![node],
        ));
    }
    Ok((config, keys))
}

fn tmkms_config(dir: &Path, chains: &[Chain]) -> anyhow::Result<PathBuf> {
    let secret = dir.join("secret_connection.key");
    write_secret(
        &secret,
        &b64(&SigningKey::generate(&mut rand_core::OsRng).to_bytes()),
    )?;
    let mut text = String::new();
    for c in chains {
        let key = dir.join(format!("{}.key", c.id));
        write_secret(&key, &b64(&c.key.to_bytes()))?;
        let state = dir.join(format!("{}-state.json", c.id));
        text.push_str(&format!(
            "[[chain]]\nid = {id:?}\nkey_format = {{ type = \"hex\" }}\nstate_file = {state:?}\n\n\
             [[providers.softsign]]\nchain_ids = [{id:?}]\nkey_type = \"consensus\"\npath = {key:?}\n\n\
             [[validator]]\nchain_id = {id:?}\naddr = \"tcp://127.0.0.1:{port}\"\nsecret_key = {secret:?}\n\
             protocol_version = \"v0.38\"\nreconnect = true\n\n",
            id = c.id,
            port = c.port,
        ));
    }
    let path = dir.join("tmkms.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

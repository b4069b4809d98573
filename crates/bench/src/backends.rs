//! The signer's other key backends for the signer bench: a key in a PKCS#11 token
//! (SoftHSM2) and a key from the vault, opened by two of three custodians before the
//! run. The same chains, keys and request stream as the file key.

use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The SoftHSM2 module the tests and the bench use (Debian package `softhsm2`).
pub use testkit::pkcs11::SOFTHSM;

fn run(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("running {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!(
            "{:?} failed: {}{}",
            cmd.get_program(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A SoftHSM2 token store in `dir`, with each chain's key imported into token `bench`
/// (label = chain ID). Returns the `SOFTHSM2_CONF` path; the signer's config points each
/// chain at its key instead of a key file.
pub fn pkcs11(
    exe: &Path,
    dir: &Path,
    config: &mut signer::Config,
    keys: &[PathBuf],
) -> anyhow::Result<PathBuf> {
    let token = testkit::pkcs11::softhsm_token(dir, "bench");
    let (conf, pin) = (token.conf, token.pin_file);
    for (c, key) in config.chains.iter_mut().zip(keys) {
        run(Command::new(exe)
            .env("SOFTHSM2_CONF", &conf)
            .args([
                "signer",
                "pkcs11",
                "import",
                "--module",
                SOFTHSM,
                "--token",
                "bench",
                "--label",
                &c.id,
                "--pin-file",
            ])
            .arg(&pin)
            .arg("--key")
            .arg(key))?;
        c.key = None;
        c.pkcs11 = Some(signer::keys::pkcs11::Pkcs11Config {
            module: SOFTHSM.into(),
            token: "bench".into(),
            key: c.id.clone(),
            pin_file: Some(pin.clone()),
            pin: None,
        });
    }
    Ok(conf)
}

/// Custodians made with `ssh-keygen`, a 2-of-3 vault holding each chain's key, and a
/// `[vault]` section; the key files are removed. Returns what `unseal` needs.
pub fn vault(
    exe: &Path,
    dir: &Path,
    config: &mut signer::Config,
    keys: &[PathBuf],
) -> anyhow::Result<Unseal> {
    let mut custodians = String::new();
    let mut ids = Vec::new();
    for name in ["alice", "bob", "carol"] {
        let k = dir.join(name);
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(&k))?;
        let public = std::fs::read_to_string(dir.join(format!("{name}.pub")))?;
        custodians.push_str(&format!(
            "[[custodian]]\nname = \"{name}\"\nssh = \"{}\"\n",
            public.trim()
        ));
        ids.push((name.to_string(), k));
    }
    std::fs::write(dir.join("custodians.toml"), custodians)?;
    let file = dir.join("vault.json");
    run(Command::new(exe)
        .args(["vault", "init", "--threshold", "2", "--custodians"])
        .arg(dir.join("custodians.toml"))
        .arg("--out")
        .arg(&file))?;
    for (c, key) in config.chains.iter_mut().zip(keys) {
        run(Command::new(exe)
            .args([
                "vault",
                "add",
                "--remove-plaintext",
                "--chain",
                &c.id,
                "--vault",
            ])
            .arg(&file)
            .arg("--key")
            .arg(key))?;
        c.key = Some(PathBuf::from(format!("vault:{}", c.id)));
    }
    let link_key = dir.join("unseal.key");
    let out = run(Command::new(exe)
        .args(["threshold", "link-key", "--json", "--out"])
        .arg(&link_key))?;
    let public: serde_json::Value = serde_json::from_str(&out)?;
    let addr = format!("127.0.0.1:{}", testkit::port::free_port());
    config.vault = Some(signer::config::VaultConfig {
        file,
        listen: addr.parse()?,
        link_key,
    });
    Ok(Unseal {
        exe: exe.to_path_buf(),
        addr,
        key: public["public_key"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        custodians: ids.into_iter().take(2).collect(),
    })
}

/// Two custodians' unseal of a started vault signer.
#[derive(Debug)]
pub struct Unseal {
    exe: PathBuf,
    addr: String,
    key: String,
    custodians: Vec<(String, PathBuf)>,
}

impl Unseal {
    /// Give both shares, waiting for the signer to listen.
    pub fn run(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(&self.addr).is_err() {
            anyhow::ensure!(
                Instant::now() < deadline,
                "the vault signer does not listen on {}",
                self.addr
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        for (name, id) in &self.custodians {
            run(Command::new(&self.exe)
                .args([
                    "vault",
                    "unseal",
                    "--signer",
                    &self.addr,
                    "--signer-key",
                    &self.key,
                    "--as",
                    name,
                    "--identity",
                ])
                .arg(id))?;
        }
        Ok(())
    }
}

//! `bulwark vault`: make a vault for custodians, put keys and secrets in it, list and
//! check it, open a sealed signer with your share, and change the custodians.

use crate::exit::UsageError;
use crate::output::{OutputArgs, Report};
use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Serialize;
use std::path::{Path, PathBuf};
use vault::{seal, VaultFile};

/// Vault verbs.
#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Make a vault whose data key is split among the custodians of custodians.toml.
    Init(InitArgs),
    /// Put a consensus key (priv_validator_key.json, Ed25519 or secp256k1) in the vault,
    /// as `key = "vault:CHAIN"` for a signer.
    Add(AddArgs),
    /// Put an operational secret (a node key, a relayer or oracle wallet) in the vault.
    AddSecret(AddSecretArgs),
    /// List the vault's entries and custodians (names, key types, public keys and
    /// addresses; never secrets).
    List(FileArgs),
    /// Check the vault file without opening it.
    Verify(FileArgs),
    /// As a custodian, give your share to a sealed signer (or a rekey): decrypted here
    /// with your own key, sent over a channel pinned to the signer's unseal key.
    Unseal(UnsealArgs),
    /// Make a new vault for new custodians or a new threshold: listens for t shares of
    /// the current custodians, then writes the new vault. Nothing secret touches disk.
    Rekey(RekeyArgs),
}

/// The vault file.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// Vault file.
    #[arg(long)]
    vault: PathBuf,
    #[command(flatten)]
    output: OutputArgs,
}

/// Options of `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// custodians.toml: each custodian's name and SSH key or age recipient.
    #[arg(long)]
    custodians: PathBuf,
    /// Shares needed to open the vault.
    #[arg(long)]
    threshold: usize,
    /// Allow a threshold of 1 (any one custodian opens the vault).
    #[arg(long)]
    allow_single_custodian: bool,
    /// The vault file to create (never over an existing one).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    audit: crate::cmd::signer::AuditArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Options of `add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Vault file.
    #[arg(long)]
    vault: PathBuf,
    /// Chain ID (the entry's name).
    #[arg(long)]
    chain: String,
    /// The key file.
    #[arg(long)]
    key: PathBuf,
    /// Overwrite the plaintext key file with zeros, flush and remove it once the vault
    /// is written.
    #[arg(long)]
    remove_plaintext: bool,
    #[command(flatten)]
    audit: crate::cmd::signer::AuditArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Options of `add-secret`.
#[derive(Debug, Args)]
pub struct AddSecretArgs {
    /// Vault file.
    #[arg(long)]
    vault: PathBuf,
    /// The secret's name.
    name: String,
    /// The file holding it.
    file: PathBuf,
    /// Overwrite the plaintext file with zeros, flush and remove it.
    #[arg(long)]
    remove_plaintext: bool,
    #[command(flatten)]
    audit: crate::cmd::signer::AuditArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Options of `unseal`.
#[derive(Debug, Args)]
pub struct UnsealArgs {
    /// The sealed signer's (or rekey's) unseal address.
    #[arg(long)]
    signer: std::net::SocketAddr,
    /// Its unseal link public key (it logs it at start; `bulwark threshold link-key`
    /// printed it).
    #[arg(long)]
    signer_key: threshold::link::LinkPublic,
    /// Your custodian name.
    #[arg(long = "as")]
    name: String,
    /// Your identity: an SSH private key, or an age identity file.
    #[arg(long)]
    identity: PathBuf,
    /// A file holding the passphrase of an encrypted SSH key.
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
}

/// Options of `rekey`.
#[derive(Debug, Args)]
pub struct RekeyArgs {
    /// The current vault file.
    #[arg(long)]
    vault: PathBuf,
    /// The new custodians.toml.
    #[arg(long)]
    custodians: PathBuf,
    /// The new threshold.
    #[arg(long)]
    threshold: usize,
    /// Allow a threshold of 1.
    #[arg(long)]
    allow_single_custodian: bool,
    /// Where the current custodians' `vault unseal` connect.
    #[arg(long)]
    listen: std::net::SocketAddr,
    /// The unseal link key they pin.
    #[arg(long)]
    link_key: PathBuf,
    /// The new vault file (never over an existing one).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    audit: crate::cmd::signer::AuditArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Run a vault verb.
pub fn run(cmd: VaultCommand) -> anyhow::Result<()> {
    match cmd {
        VaultCommand::Init(a) => {
            refuse_existing(&a.out)?;
            let custodians =
                vault::custodians::load(&a.custodians).map_err(|p| UsageError(p.join("; ")))?;
            let v = seal::init(&custodians, a.threshold, a.allow_single_custodian)
                .map_err(|e| UsageError(e.to_string()))?;
            v.save(&a.out)?;
            a.audit.record("vault.init", serde_json::json!({"vault": v.id, "file": a.out, "threshold": v.threshold, "custodians": names(&v)}))?;
            a.output.output().render(&Listed::of(&a.out, &v))
        }
        VaultCommand::Add(a) => {
            let key = signer::keys::SoftKey::load(&a.key)?;
            let pk = signer::keys::KeyBackend::public_key(&key);
            let info = seal::KeyInfo {
                key_type: pk.type_name().to_lowercase(),
                public_key: base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    pk.bytes(),
                ),
                address: signer::floor::address(&pk).unwrap_or_default(),
            };
            let bytes = zeroize::Zeroizing::new(std::fs::read(&a.key)?);
            add(
                &a.vault,
                &a.chain,
                &bytes,
                Some(info),
                &a.key,
                a.remove_plaintext,
                &a.audit,
                a.output,
            )
        }
        VaultCommand::AddSecret(a) => {
            let bytes = zeroize::Zeroizing::new(
                std::fs::read(&a.file).with_context(|| a.file.display().to_string())?,
            );
            add(
                &a.vault,
                &a.name,
                &bytes,
                None,
                &a.file,
                a.remove_plaintext,
                &a.audit,
                a.output,
            )
        }
        VaultCommand::List(a) => {
            let v = VaultFile::load(&a.vault)?;
            a.output.output().render(&Listed::of(&a.vault, &v))
        }
        VaultCommand::Verify(a) => {
            let v = VaultFile::load(&a.vault)?;
            let mut problems = Vec::new();
            for c in &v.custodians {
                let spec = vault::custodians::Custodian {
                    name: c.name.clone(),
                    ssh: (c.kind == "ssh").then(|| c.recipient.clone()),
                    age: (c.kind == "age").then(|| c.recipient.clone()),
                };
                if let Err(e) = spec.check() {
                    problems.push(format!("custodian {}: {e}", c.name));
                }
            }
            if !problems.is_empty() {
                return Err(anyhow::anyhow!(
                    "vault {} does not verify: {}",
                    a.vault.display(),
                    problems.join("; ")
                ));
            }
            a.output.output().render(&Listed::of(&a.vault, &v))
        }
        VaultCommand::Unseal(a) => {
            let passphrase = match &a.passphrase_file {
                Some(p) => Some(age::secrecy::SecretString::from(
                    std::fs::read_to_string(p)
                        .with_context(|| p.display().to_string())?
                        .trim_end_matches('\n')
                        .to_string(),
                )),
                None => None,
            };
            let reply =
                vault::unseal::unseal(a.signer, &a.signer_key, &a.name, &a.identity, passphrase)?;
            let refused = !reply.accepted;
            a.output.output().render(&Unsealed(reply.clone()))?;
            if refused {
                return Err(UsageError(format!(
                    "the share was refused: {}",
                    reply.reason.unwrap_or_default()
                ))
                .into());
            }
            Ok(())
        }
        VaultCommand::Rekey(a) => rekey(&a),
    }
}

fn refuse_existing(out: &Path) -> anyhow::Result<()> {
    if out.symlink_metadata().is_ok() {
        return Err(UsageError(format!(
            "refusing to overwrite {}: it may be the only copy of a vault",
            out.display()
        ))
        .into());
    }
    Ok(())
}

fn names(v: &VaultFile) -> Vec<String> {
    v.custodians.iter().map(|c| c.name.clone()).collect()
}

#[allow(clippy::too_many_arguments)]
fn add(
    path: &Path,
    name: &str,
    secret: &[u8],
    info: Option<seal::KeyInfo>,
    plain: &Path,
    remove: bool,
    audit: &crate::cmd::signer::AuditArgs,
    output: OutputArgs,
) -> anyhow::Result<()> {
    let mut v = VaultFile::load(path)?;
    seal::add(&mut v, name, secret, info).map_err(|e| UsageError(e.to_string()))?;
    v.save(path)?;
    audit.record(
        "vault.add",
        serde_json::json!({"vault": v.id, "entry": name}),
    )?;
    if remove {
        wipe(plain)?;
        eprintln!(
            "overwrote {} with zeros, flushed and removed it (on copy-on-write or flash storage old blocks may survive: keep such disks encrypted)",
            plain.display()
        );
    } else {
        eprintln!("{} is still on disk in the clear; remove it (`--remove-plaintext`) once the vault is backed up", plain.display());
    }
    output.output().render(&Listed::of(path, &v))
}

fn wipe(path: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    let len = std::fs::metadata(path)?.len();
    let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.write_all(&vec![0u8; usize::try_from(len).unwrap_or(0)])?;
    f.sync_all()?;
    std::fs::remove_file(path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn rekey(a: &RekeyArgs) -> anyhow::Result<()> {
    refuse_existing(&a.out)?;
    let v = VaultFile::load(&a.vault)?;
    let custodians =
        vault::custodians::load(&a.custodians).map_err(|p| UsageError(p.join("; ")))?;
    // Refuse a bad new threshold before anyone gives a share.
    seal::init(&custodians, a.threshold, a.allow_single_custodian)
        .map_err(|e| UsageError(e.to_string()))?;
    let key = threshold::link::LinkKey::load(&a.link_key)?;
    let listener =
        std::net::TcpListener::bind(a.listen).with_context(|| format!("listen on {}", a.listen))?;
    eprintln!(
        "rekey: waiting for {} of the current custodians: bulwark vault unseal --signer {} --signer-key {} --as NAME --identity KEY",
        v.threshold,
        a.listen,
        key.public()
    );
    let u = vault::unseal::Unsealer::new(key, vault::Opening::new(v.clone()));
    let opened = loop {
        let (stream, from) = listener.accept()?;
        match u.serve(stream) {
            Ok(o) => {
                eprintln!(
                    "rekey: {} from {from}: {}",
                    o.custodian,
                    if o.reply.accepted {
                        format!("accepted ({} of {})", o.reply.have, o.reply.need)
                    } else {
                        format!("refused: {}", o.reply.reason.clone().unwrap_or_default())
                    }
                );
                a.audit.record(
                    if o.reply.accepted { "vault.share" } else { "vault.share_refused" },
                    serde_json::json!({"vault": v.id, "custodian": o.custodian, "from": from.to_string(), "reason": o.reply.reason}),
                )?;
                if let Some(opened) = o.opened {
                    break opened;
                }
            }
            Err(e) => eprintln!("rekey: a connection from {from} failed: {e}"),
        }
    };
    let next = seal::rekey(&opened, &custodians, a.threshold, a.allow_single_custodian)
        .map_err(|e| UsageError(e.to_string()))?;
    next.save(&a.out)?;
    a.audit.record("vault.rekey", serde_json::json!({"from": v.id, "to": next.id, "threshold": next.threshold, "custodians": names(&next), "file": a.out}))?;
    a.output.output().render(&Listed::of(&a.out, &next))
}

#[derive(Debug, Serialize)]
struct Listed {
    file: PathBuf,
    id: String,
    threshold: usize,
    custodians: Vec<(String, String)>,
    entries: Vec<vault::file::Entry>,
}

impl Listed {
    fn of(file: &Path, v: &VaultFile) -> Listed {
        Listed {
            file: file.to_path_buf(),
            id: v.id.clone(),
            threshold: v.threshold,
            custodians: v
                .custodians
                .iter()
                .map(|c| (c.name.clone(), c.kind.clone()))
                .collect(),
            entries: v
                .entries
                .iter()
                .map(|e| vault::file::Entry {
                    ciphertext: String::new(),
                    ..e.clone()
                })
                .collect(),
        }
    }
}

impl Report for Listed {
    fn text(&self) -> String {
        let mut s = format!(
            "vault {} ({})\nopened by {} of {} custodians: {}\n",
            self.file.display(),
            self.id,
            self.threshold,
            self.custodians.len(),
            self.custodians
                .iter()
                .map(|(n, k)| format!("{n} ({k})"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for e in &self.entries {
            s.push_str(&format!(
                "  {:<24} {:<14} {}{}\n",
                e.name,
                e.kind,
                e.key_type.as_deref().unwrap_or(""),
                e.address
                    .as_deref()
                    .map(|a| format!(" address {a}"))
                    .unwrap_or_default()
            ));
        }
        s
    }
}

#[derive(Debug, Serialize)]
struct Unsealed(vault::unseal::Reply);

impl Report for Unsealed {
    fn text(&self) -> String {
        let r = &self.0;
        if !r.accepted {
            return format!("refused: {}\n", r.reason.clone().unwrap_or_default());
        }
        if r.sealed {
            format!("share accepted; sealed: {} of {} shares\n", r.have, r.need)
        } else {
            "share accepted; the vault is open\n".into()
        }
    }
}

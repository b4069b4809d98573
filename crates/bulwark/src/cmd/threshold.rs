//! `bulwark threshold`: split a validator key into FROST shares for cosigners, make a new
//! one with them (DKG), import a Horcrux key's shards, show a share, and make a
//! cosigner's link key.

mod dkg;
mod import_horcrux;

use crate::exit::UsageError;
use crate::output::{OutputArgs, Report};
use anyhow::Context;
use base64::Engine;
use clap::{Args, Subcommand};
use serde::Serialize;
use std::io::Read;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use threshold::share::Share;
use zeroize::Zeroizing;

/// Threshold verbs.
#[derive(Debug, Subcommand)]
pub enum ThresholdCommand {
    /// Split a CometBFT Ed25519 key (priv_validator_key.json) into t-of-n shares, one per
    /// cosigner, any t of which sign for the key. Leaves the key file in place.
    Split(SplitArgs),
    /// Make a new validator key with the other cosigners (distributed key generation):
    /// each ends with its own share, and the whole key never exists anywhere. Run it on
    /// every cosigner at about the same time.
    Dkg(dkg::DkgArgs),
    /// Print what a share file is for (id, threshold, group key, address), never its secret.
    Show(ShowArgs),
    /// Turn Horcrux shard files ({chain}_shard.json) into share files, and a cosigner's
    /// Horcrux sign state into its guard state. Leaves the Horcrux files in place.
    ImportHorcrux(import_horcrux::ImportHorcruxArgs),
    /// Write a new link key for a cosigner (mode 0600, never over an existing file) and
    /// print its public key, which goes into the other cosigners' `[[threshold.peer]]`.
    LinkKey(LinkKeyArgs),
    /// In a cosigner's config, pin share --id to another host's link key (and name and
    /// address): the door of a cosigner's replacement, run on every other cosigner (then
    /// restart it). The rest of the file stays; the old one is kept as
    /// CONFIG.before-repin.
    Repin(RepinArgs),
}

/// Options of `repin`.
#[derive(Debug, Args)]
pub struct RepinArgs {
    /// The cosigner's `bulwark signer` config.
    #[arg(long)]
    config: PathBuf,
    /// The share id whose host is replaced.
    #[arg(long)]
    id: u16,
    /// The new host's link public key (`bulwark threshold link-key` printed it).
    #[arg(long)]
    link_public_key: threshold::link::LinkPublic,
    /// The new host's name in logs and metrics.
    #[arg(long)]
    name: Option<String>,
    /// The new host's address, ip:port.
    #[arg(long)]
    addr: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
}

/// Options of `link-key`.
#[derive(Debug, Args)]
pub struct LinkKeyArgs {
    /// File for the new link key (must not exist).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    output: OutputArgs,
}

/// Options of `split`.
#[derive(Debug, Args)]
pub struct SplitArgs {
    /// The validator's key file (CometBFT priv_validator_key.json, Ed25519).
    #[arg(long)]
    key: PathBuf,
    /// Shares needed to sign: at least 2, and more than half of --shares.
    #[arg(long)]
    threshold: u16,
    /// Shares to make, one per cosigner (at most 255).
    #[arg(long)]
    shares: u16,
    /// Directory for share-1.json .. share-N.json (created with mode 0700 if missing).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    output: OutputArgs,
}

/// Options of `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Share file.
    #[arg(long)]
    share: PathBuf,
    #[command(flatten)]
    output: OutputArgs,
}

/// Run a threshold verb.
pub fn run(cmd: ThresholdCommand) -> anyhow::Result<()> {
    match cmd {
        ThresholdCommand::Split(a) => a.output.output().render(&split(&a)?),
        ThresholdCommand::Dkg(a) => a.output.output().render(&dkg::dkg(&a)?),
        ThresholdCommand::ImportHorcrux(a) => import_horcrux::run(&a),
        ThresholdCommand::Show(a) => {
            let share = Share::load(&a.share)?;
            a.output.output().render(&ShareView {
                file: a.share.clone(),
                id: share.id(),
                threshold: share.threshold(),
                total: share.total(),
                group_public_key: base64(share.group_public_key()),
                address: address(share.group_public_key()),
                verifying_shares: verifying_shares(&share),
            })
        }
        ThresholdCommand::LinkKey(a) => a.output.output().render(&link_key(&a.out)?),
        ThresholdCommand::Repin(a) => {
            let r = signer::config::repin::repin(
                &a.config,
                a.id,
                a.link_public_key,
                a.name.as_deref(),
                a.addr.as_deref(),
            )
            .map_err(UsageError)?;
            a.output.output().render(&Repinned(r))
        }
    }
}

#[derive(Debug, Serialize)]
struct Repinned(signer::config::repin::Repinned);

impl Report for Repinned {
    fn text(&self) -> String {
        let r = &self.0;
        format!(
            "{}: share {} is {} at {} now, link key {} (was {}); the old file is {}. Restart this cosigner to take it.\n",
            r.config.display(),
            r.id,
            r.name,
            r.addr,
            r.after,
            r.before,
            r.previous.display()
        )
    }
}

/// What `link-key` made.
#[derive(Debug, Serialize)]
struct LinkKeyMade {
    file: PathBuf,
    public_key: String,
}

impl Report for LinkKeyMade {
    fn text(&self) -> String {
        format!(
            "link key     {}\npublic key   {}\n\nPut the public key in every other cosigner's \
             [[threshold.peer]] link_public_key for this cosigner.\n",
            self.file.display(),
            self.public_key
        )
    }

    fn notice(&self) -> Option<String> {
        Some(format!("wrote link key {}", self.file.display()))
    }
}

fn link_key(out: &Path) -> anyhow::Result<LinkKeyMade> {
    if out.symlink_metadata().is_ok() {
        return Err(UsageError(format!(
            "refusing to overwrite {}: it may be a cosigner's only link key. Move it away \
             first, or choose another --out",
            out.display()
        ))
        .into());
    }
    let key = threshold::link::LinkKey::generate();
    key.write_new(out)
        .with_context(|| format!("writing link key {}", out.display()))?;
    Ok(LinkKeyMade {
        file: out.to_path_buf(),
        public_key: key.public().to_string(),
    })
}

/// What `split` made.
#[derive(Debug, Serialize)]
struct Split {
    group_public_key: String,
    address: String,
    threshold: u16,
    total: u16,
    files: Vec<PathBuf>,
    key_file: PathBuf,
    /// What the operator must do next.
    next_step: String,
}

impl Report for Split {
    fn text(&self) -> String {
        let mut out = format!(
            "group public key  {}\naddress           {}\nthreshold         {} of {}\n",
            self.group_public_key, self.address, self.threshold, self.total
        );
        for (i, f) in self.files.iter().enumerate() {
            out.push_str(&format!("share {:<11} {}\n", i + 1, f.display()));
        }
        out.push_str(&format!("\n{}\n", self.next_step));
        out
    }

    fn notice(&self) -> Option<String> {
        Some(format!(
            "split {} into {} shares, any {} of which sign",
            self.key_file.display(),
            self.total,
            self.threshold
        ))
    }
}

/// What `show` prints of a share.
#[derive(Debug, Serialize)]
struct ShareView {
    file: PathBuf,
    id: u16,
    threshold: u16,
    total: u16,
    group_public_key: String,
    address: String,
    /// Each cosigner's public share (hex), by id: the same on every cosigner of one key,
    /// so comparing them across hosts shows the shares belong together.
    verifying_shares: std::collections::BTreeMap<u16, String>,
}

impl Report for ShareView {
    fn text(&self) -> String {
        let mut out = format!(
            "share             {} of {} (any {} sign)\ngroup public key  {}\naddress           {}\n",
            self.id, self.total, self.threshold, self.group_public_key, self.address
        );
        for (id, v) in &self.verifying_shares {
            out.push_str(&format!("public share {id:<4} {v}\n"));
        }
        out
    }
}

/// Each cosigner's verifying share, hex, by share id.
fn verifying_shares(share: &Share) -> std::collections::BTreeMap<u16, String> {
    (1..=share.total())
        .filter_map(|id| {
            let v = share
                .public_key_package()
                .verifying_shares()
                .get(&threshold::share::identifier(id))?;
            Some((id, hex::encode(v.serialize().ok()?)))
        })
        .collect()
}

fn split(a: &SplitArgs) -> anyhow::Result<Split> {
    threshold::split::check_parameters(a.threshold, a.shares)?;
    let files: Vec<PathBuf> = (1..=a.shares)
        .map(|i| a.out.join(format!("share-{i}.json")))
        .collect();
    let existing: Vec<String> = files
        .iter()
        .filter(|f| f.symlink_metadata().is_ok())
        .map(|f| f.display().to_string())
        .collect();
    if !existing.is_empty() {
        return Err(UsageError(format!(
            "refusing to overwrite {}; nothing was written. They may be the only copies of \
             another split's shares: move them away first, or choose another --out",
            existing.join(", ")
        ))
        .into());
    }
    let key = read_secret_file(&a.key)?;
    let shares = threshold::split::split(&key, a.threshold, a.shares)
        .with_context(|| format!("splitting {}", a.key.display()))?;
    drop(key);

    if !a.out.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&a.out)
            .with_context(|| format!("creating {}", a.out.display()))?;
    }
    for (i, (share, file)) in shares.iter().zip(&files).enumerate() {
        if let Err(e) = share.write_new(file) {
            // Leave no partial split behind: remove the shares this run wrote.
            for written in &files[..i] {
                let _ = std::fs::remove_file(written);
            }
            return Err(e.into());
        }
    }
    let group = shares[0].group_public_key();
    Ok(Split {
        group_public_key: base64(group),
        address: address(group),
        threshold: a.threshold,
        total: a.shares,
        files,
        key_file: a.key.clone(),
        next_step: format!(
            "{} still holds the whole key, and bulwark did not delete it. Once each share \
             is on its own cosigner host, move the key file off this host (to offline \
             storage) or destroy it: while it exists anywhere online, one stolen file signs \
             alone, and a signer still using it can double-sign beside the cosigners.",
            a.key.display()
        ),
    })
}

/// A file's bytes in zeroizing memory, read without reallocating.
fn read_secret_file(path: &Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let context = || format!("reading key file {}", path.display());
    let file = std::fs::File::open(path).with_context(context)?;
    let len = file.metadata().with_context(context)?.len();
    if len > 1 << 20 {
        return Err(UsageError(format!(
            "key file {} is {len} bytes, far too big for a priv_validator_key.json",
            path.display()
        ))
        .into());
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(len as usize + 1));
    file.take(1 << 20)
        .read_to_end(&mut bytes)
        .with_context(context)?;
    Ok(bytes)
}

fn base64(key: [u8; 32]) -> String {
    base64::engine::general_purpose::STANDARD.encode(key)
}

/// The CometBFT address of an Ed25519 public key.
fn address(key: [u8; 32]) -> String {
    signer::floor::address(&privval::PublicKey::Ed25519(key.to_vec()))
        .expect("Ed25519 keys have an address")
}

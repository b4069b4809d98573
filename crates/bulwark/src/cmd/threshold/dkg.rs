//! `bulwark threshold dkg`: make a new validator key with the other cosigners, each
//! ending with its own share and no host ever holding the whole key.

use crate::exit::UsageError;
use crate::output::{OutputArgs, Report};
use anyhow::Context;
use clap::Args;
use serde::Serialize;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;
use threshold::link::LinkKey;

/// Options of `dkg`.
#[derive(Debug, Args)]
pub struct DkgArgs {
    /// This cosigner's signer config: its `[threshold]` section gives the id, listen
    /// address, link key and peers.
    #[arg(long)]
    config: PathBuf,
    /// Shares needed to sign: at least 2, and more than half of the cosigners.
    #[arg(long)]
    threshold: u16,
    /// The share file to write (mode 0600); must not exist.
    #[arg(long)]
    out: PathBuf,
    /// How long to wait for the other cosigners' links, and then for each of their
    /// messages.
    #[arg(long, default_value = "120s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    #[command(flatten)]
    pub(super) output: OutputArgs,
}

/// What `dkg` made.
#[derive(Debug, Serialize)]
pub struct Dkg {
    group_public_key: String,
    address: String,
    /// The validator's public key as in `priv_validator_key.json`'s `pub_key`, for
    /// `create-validator`.
    pub_key: PubKey,
    id: u16,
    threshold: u16,
    total: u16,
    share_file: PathBuf,
    peers: Vec<String>,
}

/// A CometBFT public key object.
#[derive(Debug, Serialize)]
struct PubKey {
    #[serde(rename = "type")]
    kind: &'static str,
    value: String,
}

impl Report for Dkg {
    fn text(&self) -> String {
        format!(
            "group public key  {}\naddress           {}\nshare             {} of {} (any {} \
             sign)\nshare file        {}\npub_key           {}\n",
            self.group_public_key,
            self.address,
            self.id,
            self.total,
            self.threshold,
            self.share_file.display(),
            serde_json::to_string(&self.pub_key).expect("a pub_key serializes"),
        )
    }

    fn notice(&self) -> Option<String> {
        Some(format!(
            "made share {} of a new {}-of-{} key with {}",
            self.id,
            self.threshold,
            self.total,
            self.peers.join(", ")
        ))
    }
}

/// Where a share waits until every participant has kept its own: `OUT.pending`.
fn pending_path(out: &Path) -> PathBuf {
    let mut p = out.as_os_str().to_owned();
    p.push(".pending");
    PathBuf::from(p)
}

/// Give the pending share its final name, never over an existing file, durably.
fn promote(pending: &Path, out: &Path) -> anyhow::Result<()> {
    std::fs::hard_link(pending, out).with_context(|| {
        format!(
            "every participant kept its share, but {} could not be named {}; rename it by hand",
            pending.display(),
            out.display()
        )
    })?;
    std::fs::remove_file(pending).with_context(|| {
        format!(
            "removing {} (its share is in {})",
            pending.display(),
            out.display()
        )
    })?;
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))
}

/// Run the DKG as the cosigner of `a.config`, and write its share.
pub fn dkg(a: &DkgArgs) -> anyhow::Result<Dkg> {
    let config = signer::config::Config::load(&a.config)?;
    let Some(t) = config.threshold else {
        return Err(UsageError(format!(
            "{} has no [threshold] section; the DKG needs this cosigner's id, listen \
             address, link key and its peers from it",
            a.config.display()
        ))
        .into());
    };
    if a.out.symlink_metadata().is_ok() {
        return Err(UsageError(format!(
            "{} already exists; refusing to overwrite it (it may be the only copy of a \
             share). Move it away first, or choose another --out",
            a.out.display()
        ))
        .into());
    }
    let pending = pending_path(&a.out);
    if pending.symlink_metadata().is_ok() {
        return Err(UsageError(format!(
            "{} exists: a share kept by a DKG that did not finish. If every other \
             participant finished or holds a pending share of the same group key \
             (`bulwark threshold show --share FILE` prints it), rename it to {}; \
             otherwise delete it, then run the DKG again",
            pending.display(),
            a.out.display()
        ))
        .into());
    }
    let key = LinkKey::load(&t.link_key).map_err(|e| UsageError(e.to_string()))?;
    let settings = threshold::dkg::Settings {
        id: t.id,
        threshold: a.threshold,
        key,
        peers: t
            .peers
            .iter()
            .map(|p| threshold::cosigner::Peer {
                id: p.id,
                name: p.name.clone(),
                addr: p.addr,
                public: p.link_public_key,
            })
            .collect(),
        timeout: a.timeout,
    };
    threshold::dkg::check(&settings)?;
    let listener = TcpListener::bind(t.listen).with_context(|| {
        format!(
            "threshold.listen {}: cannot listen there (is `bulwark signer run` still \
             running with this config? stop it for the DKG)",
            t.listen
        )
    })?;
    let mut kept = false;
    let mut keep = |share: &threshold::share::Share| {
        share.write_new(&pending).map_err(|e| e.to_string())?;
        kept = true;
        Ok(())
    };
    let result = threshold::dkg::run(&listener, &settings, &mut keep);
    drop(listener);
    let share = match result {
        Ok(share) => share,
        Err(e @ threshold::dkg::DkgError::Unconfirmed { .. }) => {
            anyhow::bail!(
                "{e}. This cosigner's share is kept in {}, not in {}. Ask the other \
                 participants: if every one of them finished or also holds a pending share \
                 of this group key, rename it to {}; if any kept nothing, delete it and run \
                 the DKG again",
                pending.display(),
                a.out.display(),
                a.out.display()
            )
        }
        Err(e) => {
            if kept {
                // Another participant aborted after this one kept its share: it holds
                // none, so this one is no use.
                let _ = std::fs::remove_file(&pending);
            }
            return Err(e.into());
        }
    };
    promote(&pending, &a.out)?;
    let group = share.group_public_key();
    let value = super::base64(group);
    Ok(Dkg {
        group_public_key: value.clone(),
        address: super::address(group),
        pub_key: PubKey {
            kind: "tendermint/PubKeyEd25519",
            value,
        },
        id: share.id(),
        threshold: share.threshold(),
        total: share.total(),
        share_file: a.out.clone(),
        peers: t.peers.iter().map(|p| p.name.clone()).collect(),
    })
}

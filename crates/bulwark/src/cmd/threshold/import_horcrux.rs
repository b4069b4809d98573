//! `bulwark threshold import-horcrux`: Horcrux shard files (and a cosigner's Horcrux sign
//! state) into Bulwark share files (and a guard state file).

use super::{address, base64};
use crate::exit::UsageError;
use crate::output::{OutputArgs, Report};
use anyhow::Context;
use clap::Args;
use serde::Serialize;
use std::collections::BTreeMap;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use threshold::horcrux::{self, state::ImportedState};
use threshold::share::Share;

/// Options of `import-horcrux`.
#[derive(Debug, Args)]
pub struct ImportHorcruxArgs {
    /// A Horcrux shard file (`cosigner_N/{chain}_shard.json`); repeat for several. With
    /// all N files the shards are checked against each other and sign a test message; with
    /// one (threshold 2) the others' verifying shares are derived from it and the key.
    #[arg(long = "shard", required = true)]
    shards: Vec<PathBuf>,
    /// Shards needed to sign (Horcrux's `--threshold`).
    #[arg(long)]
    threshold: u16,
    /// Shards the key was split into (Horcrux's `--shards`).
    #[arg(long)]
    shares: u16,
    /// With several --shard: write only the share of this id (to the file --out).
    #[arg(long)]
    id: Option<u16>,
    /// The share file to write (one share), or with several --shard and no --id a
    /// directory for share-<id>.json (created with mode 0700 if missing). Never overwrites.
    #[arg(long)]
    out: PathBuf,
    /// This cosigner's Horcrux state directory (`~/.horcrux/state`): its
    /// {chain}_priv_validator_state.json and {chain}_share_sign_state.json become the
    /// guard state --state (the higher of the two). Needs --state.
    #[arg(long, requires = "state")]
    state_dir: Option<PathBuf>,
    /// The chain ID the state files are named for (default: from the shard file name,
    /// {chain}_shard.json).
    #[arg(long, requires = "state_dir")]
    chain_id: Option<String>,
    /// The guard state file to create for the chain (the signer's `state = ...`). Needs
    /// --state-dir. Never overwrites.
    #[arg(long, requires = "state_dir")]
    state: Option<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
}

/// What `import-horcrux` made.
#[derive(Debug, Serialize)]
struct Imported {
    group_public_key: String,
    address: String,
    threshold: u16,
    total: u16,
    /// The shares written: id and file.
    shares: Vec<Written>,
    /// Every cosigner's verifying share, hex (public): identical on every cosigner of
    /// one key.
    verifying_shares: BTreeMap<u16, String>,
    /// How the verifying shares were found: `all_shards`, `from_shards`, or `derived`
    /// (from t-1 shards and the key, unchecked against the others).
    verifying_shares_from: &'static str,
    /// Groups of t shares that signed the self-check message (0 when derived).
    signed_groups: usize,
    state: Option<StateWritten>,
    next_step: String,
}

#[derive(Debug, Serialize)]
struct Written {
    id: u16,
    file: PathBuf,
    shard: PathBuf,
}

#[derive(Debug, Serialize)]
struct StateWritten {
    file: PathBuf,
    chain_id: String,
    height: i64,
    round: i32,
    step: String,
    /// Whether the state holds the sign bytes of its step (then the same data can be
    /// signed again there; otherwise nothing more is signed at that step).
    sign_bytes: bool,
    sources: Vec<StateSource>,
}

#[derive(Debug, Serialize)]
struct StateSource {
    file: PathBuf,
    height: i64,
    round: i32,
    step: String,
    sign_bytes: bool,
}

impl Report for Imported {
    fn text(&self) -> String {
        let mut out = format!(
            "group public key  {}\naddress           {}\nthreshold         {} of {}\n",
            self.group_public_key, self.address, self.threshold, self.total
        );
        for w in &self.shares {
            out.push_str(&format!(
                "share {:<11} {} (from {})\n",
                w.id,
                w.file.display(),
                w.shard.display()
            ));
        }
        let how = match self.verifying_shares_from {
            "derived" => {
                "derived from the shard and the key (not checked against the others)".to_string()
            }
            _ => format!(
                "checked; {} groups signed a test message",
                self.signed_groups
            ),
        };
        out.push_str(&format!("verifying shares  {how}\n"));
        for (id, v) in &self.verifying_shares {
            out.push_str(&format!("  {id:<15} {v}\n"));
        }
        if let Some(s) = &self.state {
            out.push_str(&format!(
                "state             {}: height {} round {} step {}{}\n",
                s.file.display(),
                s.height,
                s.round,
                s.step,
                if s.sign_bytes {
                    " (with its sign bytes)"
                } else {
                    ""
                }
            ));
            for src in &s.sources {
                out.push_str(&format!(
                    "  from            {}: height {} round {} step {}\n",
                    src.file.display(),
                    src.height,
                    src.round,
                    src.step
                ));
            }
        }
        out.push_str(&format!("\n{}\n", self.next_step));
        out
    }

    fn notice(&self) -> Option<String> {
        Some(format!(
            "imported {} Horcrux shard(s) of {} as Bulwark shares",
            self.shares.len(),
            self.address
        ))
    }
}

/// Run `import-horcrux`.
pub fn run(a: &ImportHorcruxArgs) -> anyhow::Result<()> {
    a.output.output().render(&import(a)?)
}

fn import(a: &ImportHorcruxArgs) -> anyhow::Result<Imported> {
    let mut shards = Vec::with_capacity(a.shards.len());
    for path in &a.shards {
        shards.push((path.clone(), horcrux::load(path)?));
    }
    let imported = horcrux::import(&shards, a.threshold, a.shares)?;
    let shares = &imported.shares;
    let by_shard: BTreeMap<u16, &Path> = shards.iter().map(|(p, s)| (s.id, p.as_path())).collect();

    // Which shares go where.
    let chosen: Vec<&Share> = match a.id {
        Some(id) => vec![shares.iter().find(|s| s.id() == id).ok_or_else(|| {
            UsageError(format!(
                "--id {id} is none of the shards given (ids {:?})",
                shares.iter().map(Share::id).collect::<Vec<_>>()
            ))
        })?],
        None => shares.iter().collect(),
    };
    let single = chosen.len() == 1;
    let files: Vec<PathBuf> = if single {
        vec![a.out.clone()]
    } else {
        chosen
            .iter()
            .map(|s| a.out.join(format!("share-{}.json", s.id())))
            .collect()
    };
    let mut in_the_way: Vec<String> = files
        .iter()
        .filter(|f| f.symlink_metadata().is_ok())
        .map(|f| f.display().to_string())
        .collect();

    // The state, read and checked before anything is written.
    let state = match (&a.state_dir, &a.state) {
        (Some(dir), Some(out)) => {
            let chain_id = match &a.chain_id {
                Some(c) => c.clone(),
                None => chain_from_shard_name(&a.shards).ok_or_else(|| {
                    UsageError(
                        "pass --chain-id: the shard file names do not say the chain \
                         (Horcrux names them {chain}_shard.json)"
                            .into(),
                    )
                })?,
            };
            if out.symlink_metadata().is_ok() {
                in_the_way.push(out.display().to_string());
            }
            Some((
                out.clone(),
                chain_id.clone(),
                horcrux::state::import_state_dir(dir, &chain_id)?,
            ))
        }
        _ => None,
    };
    if !in_the_way.is_empty() {
        return Err(UsageError(format!(
            "refusing to overwrite {}; nothing was written. A share file may be the only \
             copy of a share, a state file the only record of what was signed: move them \
             away first, or choose another --out / --state",
            in_the_way.join(", ")
        ))
        .into());
    }

    if !single && !a.out.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&a.out)
            .with_context(|| format!("creating {}", a.out.display()))?;
    }
    let mut written: Vec<PathBuf> = Vec::new();
    let undo = |written: &[PathBuf]| {
        for f in written {
            let _ = std::fs::remove_file(f);
        }
    };
    for (share, file) in chosen.iter().zip(&files) {
        if let Err(e) = share.write_new(file) {
            undo(&written);
            return Err(e.into());
        }
        written.push(file.clone());
    }
    let state_written = match state {
        Some((out, chain_id, st)) => match write_state(&out, &chain_id, &st) {
            Ok(v) => Some(v),
            Err(e) => {
                undo(&written);
                return Err(e);
            }
        },
        None => None,
    };

    let group = shares[0].group_public_key();
    let verifying_shares = shares[0]
        .public_key_package()
        .verifying_shares()
        .iter()
        .filter_map(|(ident, v)| {
            let id = (1..=a.shares).find(|i| threshold::share::identifier(*i) == *ident)?;
            Some((id, hex::encode(v.serialize().ok()?)))
        })
        .collect();
    let from = if imported.derived {
        "derived"
    } else if shares.len() == usize::from(a.shares) {
        "all_shards"
    } else {
        "from_shards"
    };
    let mut next_step = String::from(
        "Stop Horcrux on this host before a Bulwark cosigner starts with this share, and keep \
         the shard files offline: a Horcrux cosigner and a Bulwark cosigner of one shard \
         each release a share, so together they can make conflicting signatures.",
    );
    if imported.derived {
        next_step.push_str(
            " The verifying shares were derived from this shard alone: check that the \
             import on every cosigner printed the same ones, or import once with all \
             shard files.",
        );
    }
    if state_written.is_none() {
        next_step.push_str(
            " No sign state was imported: give each cosigner's chain a state raised above \
             the last height Horcrux signed (--state-dir, or `bulwark signer state`).",
        );
    }
    Ok(Imported {
        group_public_key: base64(group),
        address: address(group),
        threshold: a.threshold,
        total: a.shares,
        shares: chosen
            .iter()
            .zip(files)
            .map(|(s, file)| Written {
                id: s.id(),
                file,
                shard: by_shard[&s.id()].to_path_buf(),
            })
            .collect(),
        verifying_shares,
        verifying_shares_from: from,
        signed_groups: imported.signed_groups,
        state: state_written,
        next_step,
    })
}

fn write_state(out: &Path, chain_id: &str, st: &ImportedState) -> anyhow::Result<StateWritten> {
    guard::StateStore::create(out, &st.state)
        .with_context(|| format!("creating the state file {}", out.display()))?;
    let s = &st.state;
    Ok(StateWritten {
        file: out.to_path_buf(),
        chain_id: chain_id.to_string(),
        height: s.height,
        round: s.round,
        step: s.step.to_string(),
        sign_bytes: !s.sign_bytes.is_empty(),
        sources: st
            .sources
            .iter()
            .map(|src| StateSource {
                file: src.path.clone(),
                height: src.state.height,
                round: src.state.round,
                step: src.state.step.to_string(),
                sign_bytes: !src.state.sign_bytes.is_empty(),
            })
            .collect(),
    })
}

/// The chain of Horcrux's `{chain}_shard.json` names, when all the files agree on one.
fn chain_from_shard_name(files: &[PathBuf]) -> Option<String> {
    let mut chains = files.iter().map(|f| {
        f.file_name()?
            .to_str()?
            .strip_suffix("_shard.json")
            .filter(|c| !c.is_empty())
            .map(str::to_string)
    });
    let first = chains.next()??;
    chains
        .all(|c| c.as_deref() == Some(&first))
        .then_some(first)
}

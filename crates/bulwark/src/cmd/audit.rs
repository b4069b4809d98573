//! `bulwark audit`: check and list the hash-chained audit log.

use crate::exit::UsageError;
use crate::output::{OutputArgs, Report};
use audit::{AllowedSigners, AuditLog, Entry, Verified};
use clap::{Args, Subcommand};
use serde::Serialize;
use std::path::PathBuf;

/// Audit verbs.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the whole log: hashes, order, signatures, and that nothing was removed.
    Verify(VerifyArgs),
    /// List the entries.
    Show(ShowArgs),
}

/// Options of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The audit log.
    #[arg(long)]
    log: PathBuf,
    /// Also check that each signed entry's key belongs to its actor.
    #[arg(long)]
    allowed_signers: Option<PathBuf>,
    /// A head kept elsewhere (SEQ:HASH from an earlier verify), which must be in the log.
    #[arg(long)]
    head: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
}

/// Options of `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The audit log.
    #[arg(long)]
    log: PathBuf,
    #[command(flatten)]
    output: OutputArgs,
}

/// Run an audit verb.
pub fn run(cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Verify(a) => {
            let allowed = match &a.allowed_signers {
                Some(p) => Some(AllowedSigners::load(p)?),
                None => None,
            };
            let log = AuditLog::new(&a.log);
            match log.verify(allowed.as_ref(), a.head.as_deref()) {
                Ok(v) => a.output.output().render(&Good(v)),
                Err(problems) => Err(anyhow::anyhow!(
                    "audit log {} does not verify:\n  {}",
                    a.log.display(),
                    problems.join("\n  ")
                )),
            }
        }
        AuditCommand::Show(a) => {
            if !a.log.exists() {
                return Err(UsageError(format!("no audit log at {}", a.log.display())).into());
            }
            let entries = AuditLog::new(&a.log).entries()?;
            a.output.output().render(&Listed { entries })
        }
    }
}

#[derive(Debug, Serialize)]
struct Good(Verified);

impl Report for Good {
    fn text(&self) -> String {
        format!(
            "ok: {} entries ({} signed), head {}\n",
            self.0.entries, self.0.signed, self.0.head
        )
    }
}

#[derive(Debug, Serialize)]
struct Listed {
    entries: Vec<Entry>,
}

impl Report for Listed {
    fn text(&self) -> String {
        self.entries
            .iter()
            .map(|e| {
                format!(
                    "{:>5} {} {:<12} {:<28} {}{}\n",
                    e.seq,
                    e.time,
                    e.actor,
                    e.action,
                    e.detail.get("plan").and_then(|p| p.as_str()).unwrap_or(""),
                    if e.sig.is_some() { "  (signed)" } else { "" }
                )
            })
            .collect()
    }
}

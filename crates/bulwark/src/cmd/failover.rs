//! `bulwark failover`: plan a signer move, approve it with your SSH key, show it, and
//! execute it once enough people approved. Never switches on its own.

use crate::exit::UsageError;
use crate::output::{OutputArgs, Report};
use audit::Identity;
use clap::{Args, Subcommand};
use failover::approve::{self, Approval, Quorum};
use failover::journal::Journal;
use failover::{plan, Config, Plan};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Failover verbs.
#[derive(Debug, Subcommand)]
pub enum FailoverCommand {
    /// Check the chain, the nodes and both signer sides, and write a plan to move a
    /// validator's signer from one side to the other. Changes nothing else.
    Plan(PlanArgs),
    /// Approve a plan: sign its digest with your SSH key (sshsig, namespace
    /// bulwark-failover). A private key file, or a .pub file for a key in your agent.
    Approve(ApproveArgs),
    /// Show a plan, its approvals (checked) and how far its execution got.
    Show(ShowArgs),
    /// Execute an approved plan: re-check, fence the old signer, carry the state, start
    /// the new one and see it sign. Resumes an interrupted execution.
    Execute(ExecuteArgs),
}

/// The options every verb has.
#[derive(Debug, Args)]
pub struct Common {
    /// failover.toml.
    #[arg(long, env = "BULWARK_FAILOVER_CONFIG")]
    config: PathBuf,
    #[command(flatten)]
    output: OutputArgs,
}

/// Options of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Chain ID.
    #[arg(long)]
    chain: String,
    /// The signer side the validator moves from.
    #[arg(long)]
    from: String,
    /// The signer side it moves to.
    #[arg(long)]
    to: String,
    /// Who proposes it (your principal in allowed_signers).
    #[arg(long = "as")]
    actor: String,
    /// Your SSH key, to sign the audit entry.
    #[arg(long)]
    key: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

/// Options of `approve`.
#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// Plan directory, or plan ID in the config's plan directory.
    plan: String,
    /// Your principal in allowed_signers.
    #[arg(long = "as")]
    actor: String,
    /// Your SSH key: a private key file, or a public key (.pub) whose private key is in
    /// your agent or on a token.
    #[arg(long)]
    key: PathBuf,
    /// How long the approval counts (at most approval_ttl).
    #[arg(long, value_parser = humantime::parse_duration)]
    ttl: Option<Duration>,
    #[command(flatten)]
    common: Common,
}

/// Options of `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Plan directory, or plan ID.
    plan: String,
    #[command(flatten)]
    common: Common,
}

/// Options of `execute`.
#[derive(Debug, Args)]
pub struct ExecuteArgs {
    /// Plan directory, or plan ID.
    plan: String,
    /// Who executes it (your principal).
    #[arg(long = "as")]
    actor: String,
    /// Your SSH key, to sign the audit entries.
    #[arg(long)]
    key: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

/// Run a failover verb.
pub fn run(cmd: FailoverCommand) -> anyhow::Result<()> {
    match cmd {
        FailoverCommand::Plan(a) => {
            let cfg = Config::load(&a.common.config)?;
            let id = identity(a.key.as_deref())?;
            let (p, dir) = plan::make(&cfg, &a.chain, &a.from, &a.to, &a.actor, id.as_ref())
                .map_err(plan_error)?;
            a.common.output.output().render(&PlanMade { dir, plan: p })
        }
        FailoverCommand::Approve(a) => {
            let cfg = Config::load(&a.common.config)?;
            let dir = plan::resolve(&cfg.plans, &a.plan);
            let id = Identity::load(&a.key)?;
            let (approval, txt, sig) =
                approve::approve(&cfg, &dir, &a.actor, &id, a.ttl).map_err(approve_error)?;
            a.common.output.output().render(&Approved {
                approval,
                message: txt,
                signature: sig,
                allowed_signers: cfg.allowed_signers,
            })
        }
        FailoverCommand::Show(a) => {
            let cfg = Config::load(&a.common.config)?;
            let dir = plan::resolve(&cfg.plans, &a.plan);
            let (p, bytes) = plan::load(&dir).map_err(plan_error)?;
            let quorum = approve::quorum(&cfg, &dir, &p, &bytes, std::time::SystemTime::now())
                .map_err(approve_error)?;
            let journal = Journal::load(&dir, &plan::digest(&bytes)).ok();
            a.common.output.output().render(&Shown {
                digest: plan::digest(&bytes),
                plan: p,
                quorum,
                journal,
            })
        }
        FailoverCommand::Execute(a) => {
            let cfg = Config::load(&a.common.config)?;
            let dir = plan::resolve(&cfg.plans, &a.plan);
            let id = identity(a.key.as_deref())?;
            let actor = failover::Actor {
                name: &a.actor,
                identity: id.as_ref(),
            };
            let json = matches!(a.common.output.output(), crate::output::Output::Json);
            let mut say = |line: &str| {
                if json {
                    eprintln!("{line}");
                } else {
                    println!("{line}");
                }
            };
            match failover::execute(&cfg, &dir, &actor, &mut say) {
                Ok(r) => a.common.output.output().render(&Executed(r)),
                Err(e) if e.is_refusal() => Err(UsageError(e.to_string()).into()),
                Err(e) => Err(e.into()),
            }
        }
    }
}

fn identity(key: Option<&Path>) -> anyhow::Result<Option<Identity>> {
    Ok(match key {
        Some(k) => Some(Identity::load(k)?),
        None => None,
    })
}

fn plan_error(e: plan::PlanError) -> anyhow::Error {
    match e {
        plan::PlanError::Usage(m) => UsageError(m).into(),
        other => other.into(),
    }
}

fn approve_error(e: approve::ApproveError) -> anyhow::Error {
    match e {
        approve::ApproveError::Refused(m) => UsageError(m).into(),
        approve::ApproveError::Plan(p) => plan_error(p),
        other => other.into(),
    }
}

#[derive(Debug, Serialize)]
struct PlanMade {
    dir: PathBuf,
    plan: Plan,
}

impl Report for PlanMade {
    fn text(&self) -> String {
        let p = &self.plan;
        let mut s = format!(
            "plan      {}\nmoves     {} of chain {} from {} ({}) to {} ({})\nby        {} at {}\n\nchecks\n",
            p.id, p.observed.address, p.chain_id, p.from, p.observed.from.host, p.to, p.observed.to.host, p.proposer, p.created
        );
        for c in &p.checks {
            s.push_str(&format!(
                "  [{}] {}: {}\n",
                if c.ok { "ok" } else { "FAIL" },
                c.name,
                c.evidence
            ));
        }
        s.push_str("\nexecute needs\n");
        for r in &p.requires {
            s.push_str(&format!("  - {r}\n"));
        }
        s.push_str(&format!(
            "\nNext: approvers run `bulwark failover approve {} --as NAME --key KEY`.\n",
            self.dir.display()
        ));
        s
    }

    fn notice(&self) -> Option<String> {
        Some(format!(
            "wrote plan {}",
            self.dir.join(plan::PLAN_FILE).display()
        ))
    }
}

#[derive(Debug, Serialize)]
struct Approved {
    approval: Approval,
    message: PathBuf,
    signature: PathBuf,
    allowed_signers: PathBuf,
}

impl Report for Approved {
    fn text(&self) -> String {
        format!(
            "approved  {} (sha256:{})\nby        {} until {}\n\nAnyone can check it with OpenSSH:\n  ssh-keygen -Y verify -f {} -I {} -n {} -s {} < {}\n",
            self.approval.plan,
            self.approval.digest,
            self.approval.approver,
            self.approval.expires,
            self.allowed_signers.display(),
            self.approval.approver,
            approve::NAMESPACE,
            self.signature.display(),
            self.message.display()
        )
    }
}

#[derive(Debug, Serialize)]
struct Shown {
    plan: Plan,
    digest: String,
    quorum: Quorum,
    journal: Option<Journal>,
}

impl Report for Shown {
    fn text(&self) -> String {
        let mut s = PlanMade {
            dir: PathBuf::new(),
            plan: self.plan.clone(),
        }
        .text();
        s.truncate(s.rfind("\nNext:").unwrap_or(s.len()));
        s.push_str(&format!(
            "\ndigest    sha256:{}\napprovals {} of {} needed{}\n",
            self.digest,
            self.quorum.valid.len(),
            self.quorum.needed,
            if self.quorum.reached() {
                " (quorum reached)"
            } else {
                ""
            }
        ));
        for v in &self.quorum.valid {
            s.push_str(&format!(
                "  valid   {} ({}) until {}\n",
                v.approver, v.key, v.expires
            ));
        }
        for i in &self.quorum.invalid {
            s.push_str(&format!("  invalid {i}\n"));
        }
        match &self.journal {
            Some(j) if !j.steps.is_empty() => {
                s.push_str("execution\n");
                for d in &j.steps {
                    s.push_str(&format!(
                        "  {} done at {} ({:.1} s)\n",
                        d.step.name(),
                        d.at,
                        d.seconds
                    ));
                }
            }
            _ => s.push_str("execution not started\n"),
        }
        s
    }
}

#[derive(Debug, Serialize)]
struct Executed(failover::Report);

impl Report for Executed {
    fn text(&self) -> String {
        let r = &self.0;
        format!(
            "\nplan {} executed. Last signature from the old side: {}; first from the new side: {}.\n",
            r.plan,
            r.last_signed_before.map_or("none seen".into(), |h| format!("block {h}")),
            r.first_signed_after.map_or("none".into(), |h| format!("block {h}"))
        )
    }
}

//! A plan: what moves, what was checked when it was made (each check with its
//! evidence), and what execute needs before it goes ahead. Its bytes are what people
//! approve: `plan.json` is never rewritten once made.

use crate::config::{ChainConfig, Config};
use crate::observe::{self, Observed};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

const FORMAT: u32 = 1;
/// The plan file inside a plan's directory.
pub const PLAN_FILE: &str = "plan.json";

/// One check with what it saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// What is checked.
    pub name: String,
    /// Whether it holds.
    pub ok: bool,
    /// What was seen.
    pub evidence: String,
}

/// A failover plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// File format.
    pub format: u32,
    /// Plan ID (its directory's name).
    pub id: String,
    /// What moves: `signer` (a single-key signer from one host to another).
    pub kind: String,
    /// Chain ID.
    pub chain_id: String,
    /// The signer side it moves from.
    pub from: String,
    /// The signer side it moves to.
    pub to: String,
    /// Who made the plan.
    pub proposer: String,
    /// When.
    pub created: String,
    /// What the checks saw.
    pub observed: Observed,
    /// The checks.
    pub checks: Vec<Check>,
    /// What execute needs before the new signer starts.
    pub requires: Vec<String>,
}

/// Why a plan could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A usage problem (unknown chain or side, bad name).
    #[error("{0}")]
    Usage(String),
    /// The observation failed.
    #[error(transparent)]
    Observe(#[from] observe::ObserveError),
    /// A file problem.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

/// The chain config and the two sides of a move, or a usage error naming what exists.
pub fn sides<'a>(
    cfg: &'a Config,
    chain: &str,
    from: &str,
    to: &str,
) -> Result<&'a ChainConfig, PlanError> {
    let known = || {
        cfg.chains
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let c = cfg.chain(chain).ok_or_else(|| {
        PlanError::Usage(format!(
            "no chain {chain} in the failover config (it has: {})",
            known()
        ))
    })?;
    let names = || {
        c.signers
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for s in [from, to] {
        if c.signer(s).is_none() {
            return Err(PlanError::Usage(format!(
                "chain {chain} has no signer side {s} (it has: {})",
                names()
            )));
        }
    }
    if from == to {
        return Err(PlanError::Usage(format!("--from and --to are both {from}")));
    }
    Ok(c)
}

/// Observe and write a new plan into `cfg.plans`.
pub fn make(
    cfg: &Config,
    chain: &str,
    from: &str,
    to: &str,
    proposer: &str,
    identity: Option<&audit::Identity>,
) -> Result<(Plan, PathBuf), PlanError> {
    crate::approve::check_principal(proposer).map_err(PlanError::Usage)?;
    let c = sides(cfg, chain, from, to)?;
    let (fs, ts) = (
        c.signer(from).expect("checked"),
        c.signer(to).expect("checked"),
    );
    let obs = observe::observe(c, fs, ts)?;
    let stamp: String = obs
        .at
        .chars()
        .filter(|ch| ch.is_ascii_alphanumeric())
        .collect();
    let base = format!("{chain}-{from}-to-{to}-{stamp}");
    // Two plans in one second get -2, -3, ...: a plan directory is never reused.
    let id = (1..)
        .map(|n| {
            if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            }
        })
        .find(|id| !cfg.plans.join(id).exists())
        .expect("a free plan ID");
    let plan = Plan {
        format: FORMAT,
        checks: checks(c, &obs),
        requires: requires(c, &obs),
        id: id.clone(),
        kind: "signer".into(),
        chain_id: chain.into(),
        from: from.into(),
        to: to.into(),
        proposer: proposer.into(),
        created: obs.at.clone(),
        observed: obs,
    };
    let dir = cfg.plans.join(&id);
    let bytes = write_new(&dir, &plan)?;
    audit::AuditLog::new(&cfg.audit_log)
        .append(
            proposer,
            "failover.plan",
            serde_json::json!({"plan": plan.id, "digest": digest(&bytes), "chain": plan.chain_id, "from": plan.from, "to": plan.to}),
            identity,
        )
        .map_err(|e| PlanError::File {
            path: cfg.audit_log.display().to_string(),
            reason: e.to_string(),
        })?;
    Ok((plan, dir))
}

fn checks(c: &ChainConfig, o: &Observed) -> Vec<Check> {
    let mut v = Vec::new();
    let mut add = |name: &str, ok: bool, evidence: String| {
        v.push(Check {
            name: name.into(),
            ok,
            evidence,
        })
    };
    add(
        "last signature on chain",
        true,
        match o.last_signed {
            Some(h) => format!(
                "block {h}'s commit carries {}'s signature (tip {}, from {})",
                o.address, o.tip, o.tip_source
            ),
            None => format!(
                "no signature by {} in the last {} blocks (tip {})",
                o.address, c.scan_blocks, o.tip
            ),
        },
    );
    add(
        "old signer silent on chain",
        true,
        match o.signing_at {
            None => format!("no signature by {} in blocks {}..{}", o.address, o.tip.saturating_sub(c.silent_blocks), o.tip.saturating_sub(1)),
            Some(h) => format!("still signing: block {h} carries its signature; execute stops it and closes its door first"),
        },
    );
    let lagging: Vec<String> = o
        .nodes
        .iter()
        .filter(|n| !n.caught_up)
        .map(|n| format!("{}: {}", n.name, n.problem.clone().unwrap_or_default()))
        .collect();
    add(
        "validator nodes caught up",
        lagging.is_empty(),
        if lagging.is_empty() {
            o.nodes
                .iter()
                .map(|n| {
                    format!(
                        "{} at {} ({} behind)",
                        n.name,
                        n.height.unwrap_or(0),
                        n.lag.unwrap_or(0)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            lagging.join("; ")
        },
    );
    add(
        "target key",
        o.to.public_key.is_some(),
        match (&o.to.public_key, &o.to.problem) {
            (Some(k), _) => format!(
                "{} holds public key {k} (file sha256 {})",
                o.to.name,
                o.to.key_sha256.clone().unwrap_or_default()
            ),
            (None, p) => format!("{}: {}", o.to.name, p.clone().unwrap_or_default()),
        },
    );
    add(
        "same key on both sides",
        true,
        match (&o.from.public_key, &o.from.problem) {
            (Some(_), _) => format!("{} and {} hold the same public key", o.from.name, o.to.name),
            (None, p) => format!(
                "{}'s key cannot be read ({}); the target's key is used",
                o.from.name,
                p.clone().unwrap_or_default()
            ),
        },
    );
    for s in [&o.from, &o.to] {
        add(
            &format!("state of {}", s.name),
            true,
            match (&s.state, &s.state_file) {
                (Some(h), Some(f)) => format!("{f} at {h}"),
                (None, Some(f)) if s.problem.is_none() => format!("{f} does not exist yet"),
                _ => format!("cannot be read: {}", s.problem.clone().unwrap_or_default()),
            },
        );
    }
    v
}

fn requires(c: &ChainConfig, o: &Observed) -> Vec<String> {
    let nodes: Vec<&str> = c.nodes.iter().map(|n| n.name.as_str()).collect();
    vec![
        format!("every check above still holds, and nothing it saw has changed"),
        format!("{} stopped with its stop command ({} on {})", o.from.name, c.signer(&o.from.name).map(|s| s.stop.join(" ")).unwrap_or_default(), o.from.host),
        format!("the door closed at {} to every signer but {}", nodes.join(", "), o.to.name),
        format!("{}'s key silent on chain for {} blocks after the doors closed", o.address, c.silent_blocks),
        format!("{}'s state set to the highest of both sides' states and the chain's tip + 1, never lower", o.to.name),
    ]
}

/// SHA-256 of a plan file's bytes, hex: what approvals sign.
pub fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A plan directory given as a path, or as an ID inside `plans`.
pub fn resolve(plans: &Path, plan: &str) -> PathBuf {
    let p = PathBuf::from(plan);
    if p.join(PLAN_FILE).exists() {
        p
    } else if p.file_name().is_some_and(|n| n == PLAN_FILE) {
        p.parent().map(Path::to_path_buf).unwrap_or(p)
    } else {
        plans.join(plan)
    }
}

/// Read a plan and its exact bytes.
pub fn load(dir: &Path) -> Result<(Plan, Vec<u8>), PlanError> {
    let path = dir.join(PLAN_FILE);
    let file_err = |reason: String| PlanError::File {
        path: path.display().to_string(),
        reason,
    };
    let bytes = std::fs::read(&path).map_err(|e| {
        file_err(format!(
            "{e}; is this a plan directory (made by `bulwark failover plan`)?"
        ))
    })?;
    let plan: Plan = serde_json::from_slice(&bytes)
        .map_err(|e| file_err(format!("not a failover plan: {e}")))?;
    if plan.format != FORMAT {
        return Err(file_err(format!(
            "plan format {} is not {FORMAT}",
            plan.format
        )));
    }
    Ok((plan, bytes))
}

fn write_new(dir: &Path, plan: &Plan) -> Result<Vec<u8>, PlanError> {
    let err = |reason: String| PlanError::File {
        path: dir.display().to_string(),
        reason,
    };
    std::fs::create_dir_all(dir.parent().unwrap_or(Path::new(".")))
        .map_err(|e| err(e.to_string()))?;
    std::fs::create_dir(dir).map_err(|e| {
        err(format!(
            "{e} (a plan with this ID exists; plans are never rewritten)"
        ))
    })?;
    let mut text = serde_json::to_string_pretty(plan).expect("a plan serializes");
    text.push('\n');
    crate::journal::write_durable(&dir.join(PLAN_FILE), text.as_bytes())
        .map_err(|e| err(e.to_string()))?;
    Ok(text.into_bytes())
}

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
    /// What moves: `signer` (a single-key signer or a node's key file, from one host
    /// to another) or `cosigner` (a threshold cosigner replaced by another holding the
    /// same share, with its own link key).
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
        kind: if obs.is_cosigner() {
            "cosigner"
        } else {
            "signer"
        }
        .into(),
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
    if o.is_cosigner() {
        return cosigner_checks(c, o);
    }
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
    let nodes = nodes_check(o);
    add(&nodes.name, nodes.ok, nodes.evidence);
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
    v.extend(state_checks(o));
    v
}

fn state_checks(o: &Observed) -> Vec<Check> {
    [&o.from, &o.to]
        .into_iter()
        .map(|s| Check {
            name: format!("state of {}", s.name),
            ok: true,
            evidence: match (&s.state, &s.state_file) {
                (Some(h), Some(f)) => format!("{f} at {h}"),
                (None, Some(f)) if s.problem.is_none() => format!("{f} does not exist yet"),
                _ => format!("cannot be read: {}", s.problem.clone().unwrap_or_default()),
            },
        })
        .collect()
}

/// Whether every validator node is caught up, with each one's height and lag.
fn nodes_check(o: &Observed) -> Check {
    let lagging: Vec<String> = o
        .nodes
        .iter()
        .filter(|n| !n.caught_up)
        .map(|n| format!("{}: {}", n.name, n.problem.clone().unwrap_or_default()))
        .collect();
    Check {
        name: "validator nodes caught up".into(),
        ok: lagging.is_empty(),
        evidence: if lagging.is_empty() {
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
    }
}

/// The checks of a cosigner's replacement: the group still signs through the others,
/// the new cosigner holds the same share under a link key of its own, and what every
/// other cosigner pins now.
fn cosigner_checks(c: &ChainConfig, o: &Observed) -> Vec<Check> {
    let mut v = Vec::new();
    let mut add = |name: &str, ok: bool, evidence: String| {
        v.push(Check {
            name: name.into(),
            ok,
            evidence,
        })
    };
    add(
        "group signing on chain",
        true,
        match (o.signing_at, o.last_signed) {
            (Some(h), _) => format!("block {h} carries the group key's signature ({}): the other cosigners sign on while one is replaced", o.address),
            (None, Some(h)) => format!("the group key ({}) last signed block {h}, not in the last {} blocks: fewer than the threshold of cosigners sign now", o.address, c.silent_blocks),
            (None, None) => format!("no signature by the group key ({}) in the last {} blocks", o.address, c.scan_blocks),
        },
    );
    let nodes = nodes_check(o);
    add(&nodes.name, nodes.ok, nodes.evidence);
    add(
        "target share",
        o.to.share_id.is_some() && o.to.public_key.is_some(),
        match (&o.to.share_id, &o.to.public_key) {
            (Some(id), Some(k)) => format!(
                "{} holds share {id} of group key {k} (file sha256 {})",
                o.to.name,
                o.to.key_sha256.clone().unwrap_or_default()
            ),
            _ => format!(
                "{}: {}",
                o.to.name,
                o.to.problem.clone().unwrap_or_default()
            ),
        },
    );
    add(
        "same share on both sides",
        o.from.share_id.is_none() || o.from.share_id == o.to.share_id,
        match (o.from.share_id, o.to.share_id) {
            (Some(a), Some(b)) if a == b => format!(
                "{} and {} hold share {a} of the same group key",
                o.from.name, o.to.name
            ),
            (Some(a), b) => format!(
                "{} holds share {a}, {} share {}: a replacement takes over the same share",
                o.from.name,
                o.to.name,
                b.map(|b| b.to_string()).unwrap_or_else(|| "none".into())
            ),
            (None, _) => format!(
                "{}'s share cannot be read ({}); the target's share id is used",
                o.from.name,
                o.from.problem.clone().unwrap_or_default()
            ),
        },
    );
    let old_key = o.from.link_public_key.clone().or_else(|| {
        // A dead host's key cannot be read; its peers say what they pin.
        o.peers.iter().find_map(|p| p.pinned.clone())
    });
    let new_key = o.to.link_public_key.clone();
    add(
        "new link key",
        new_key.is_some() && new_key != old_key,
        match (&new_key, &old_key) {
            (None, _) => format!("{}'s link key cannot be read: {}", o.to.name, o.to.problem.clone().unwrap_or_default()),
            (Some(n), Some(old)) if n == old => format!("{} has the same link key as {} ({n}); the peers could not tell a returning old cosigner from the new one. Give it a key of its own (`bulwark threshold link-key --out`)", o.to.name, o.from.name),
            (Some(n), Some(old)) => format!("{} has link key {n}; {} had {old}", o.to.name, o.from.name),
            (Some(n), None) => format!("{} has link key {n}; {}'s is unknown", o.to.name, o.from.name),
        },
    );
    let peers: Vec<String> = o
        .peers
        .iter()
        .map(|p| match (&p.pinned, &p.problem) {
            (Some(k), _) => format!("{} pins {k}", p.name),
            (None, why) => format!("{}: {}", p.name, why.clone().unwrap_or_default()),
        })
        .collect();
    add(
        "peers",
        !o.peers.is_empty(),
        if peers.is_empty() {
            "no [[chain.peer]]: nobody would stop trusting the old cosigner".into()
        } else {
            peers.join("; ")
        },
    );
    v.extend(state_checks(o));
    v
}

fn requires(c: &ChainConfig, o: &Observed) -> Vec<String> {
    if o.is_cosigner() {
        let share = o.to.share_id.map(|i| i.to_string()).unwrap_or_default();
        return vec![
            "every check above still holds, and nothing it saw has changed".to_string(),
            format!(
                "{} stopped with its stop command, or its host unreachable ({} on {}): the re-pin fences it either way",
                o.from.name,
                c.signer(&o.from.name).map(|s| s.stop.join(" ")).unwrap_or_default(),
                o.from.host
            ),
            format!(
                "every other cosigner ({}) re-pinned: share {share} is {}'s link key {}, no longer {}'s",
                c.peers.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", "),
                o.to.name,
                o.to.link_public_key.clone().unwrap_or_default(),
                o.from.name
            ),
            format!(
                "{} blocks committed after the re-pin, so that everything {} helped sign is below the tip",
                c.silent_blocks, o.from.name
            ),
            format!(
                "{}'s state set to the highest of both sides' states and the chain's tip, never lower",
                o.to.name
            ),
            format!("{} started, and its state rising above that (its shares released)", o.to.name),
        ];
    }
    let nodes: Vec<&str> = c
        .nodes
        .iter()
        .filter(|n| !n.door.is_empty())
        .map(|n| n.name.as_str())
        .collect();
    let is_node = |name: &str| c.signer(name).is_some_and(|s| s.is_node());
    let mut r = vec![
        "every check above still holds, and nothing it saw has changed".to_string(),
        format!(
            "{} stopped with its stop command ({} on {})",
            o.from.name,
            c.signer(&o.from.name)
                .map(|s| s.stop.join(" "))
                .unwrap_or_default(),
            o.from.host
        ),
    ];
    if is_node(&o.from.name) {
        r.push(format!("the validator key moved aside on {} (a node that comes back makes itself a new key), or, where its host cannot be reached, a door command shuts it out", o.from.name));
    }
    if !nodes.is_empty() {
        r.push(format!(
            "the door closed at {} to every signer but {}",
            nodes.join(", "),
            o.to.name
        ));
    }
    r.push(format!(
        "{}'s key silent on chain for {} blocks after the fence",
        o.address, c.silent_blocks
    ));
    if is_node(&o.to.name) {
        r.push(format!("{} stopped, its state set to the highest of both sides' states and the chain's tip, never lower, and the staged key installed, before it starts", o.to.name));
    } else {
        r.push(format!("{}'s state set to the highest of both sides' states and the chain's tip + 1, never lower", o.to.name));
    }
    r
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
    confkit::file::write_durable(&dir.join(PLAN_FILE), text.as_bytes())
        .map_err(|e| err(e.to_string()))?;
    Ok(text.into_bytes())
}

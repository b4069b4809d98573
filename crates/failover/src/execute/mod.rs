//! Execute an approved plan: check the quorum, re-run the checks, fence the old signer
//! (stop it, close the door at the nodes, see its key silent on chain), carry the state
//! over, start the new signer and see it sign. Every step is journaled and audited; an
//! interrupted execute resumes after the last finished step. Nothing here runs on its
//! own: only a person running `bulwark failover execute` gets here.

use crate::approve::{self, Quorum};
use crate::config::{ChainConfig, Config, Side, SignerConfig};
use crate::journal::{Done, Journal, Step};
use crate::node_key;
use crate::observe::{self, Hrs, Observed};
use crate::plan::{self, Plan};
use audit::{AuditLog, Identity};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

mod cosigner;

/// Why execute did not go (on).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// Refused before anything changed.
    #[error("refused, nothing was changed: {0}")]
    Refused(String),
    /// Stopped at a safe point after some steps.
    #[error("stopped at step {step} ({what}): {reason}\n{next}")]
    Stopped {
        /// The step's name.
        step: String,
        /// What it does.
        what: String,
        /// What went wrong.
        reason: String,
        /// How to resume or roll back.
        next: String,
    },
}

impl ExecError {
    /// Refusals are the operator's to fix (exit 2); a stop mid-way is a failure (exit 1).
    pub fn is_refusal(&self) -> bool {
        matches!(self, ExecError::Refused(_))
    }
}

/// What an execution did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// Plan ID.
    pub plan: String,
    /// The approvals that counted.
    pub quorum: Quorum,
    /// Every step, with how long it took.
    pub steps: Vec<Done>,
    /// The last height the old side signed, as the plan saw it.
    pub last_signed_before: Option<u64>,
    /// The first height the new side signed.
    pub first_signed_after: Option<u64>,
}

/// Who runs execute.
#[derive(Debug)]
pub struct Actor<'a> {
    /// Their principal.
    pub name: &'a str,
    /// Their key, to sign the audit entries.
    pub identity: Option<&'a Identity>,
}

/// Execute the plan in `dir`. `say` gets one line per step as it happens.
pub fn execute(
    cfg: &Config,
    dir: &Path,
    actor: &Actor<'_>,
    say: &mut dyn FnMut(&str),
) -> Result<Report, ExecError> {
    let (plan, bytes) = plan::load(dir).map_err(|e| ExecError::Refused(e.to_string()))?;
    let chain = plan::sides(cfg, &plan.chain_id, &plan.from, &plan.to)
        .map_err(|e| ExecError::Refused(e.to_string()))?;
    let log = AuditLog::new(&cfg.audit_log);
    // One execute of a plan at a time: a second one (another operator, a second
    // terminal) is refused while the first holds the lock.
    let _lock = lock(dir)?;
    let digest = plan::digest(&bytes);
    let mut journal = Journal::load(dir, &digest).map_err(ExecError::Refused)?;
    // A resumed execution is judged by the approvals as they were when it began: an
    // approval that expires half-way through must not strand a fenced validator. The
    // signatures are checked again all the same.
    let as_of = journal
        .steps
        .first()
        .and_then(|d| humantime::parse_rfc3339(&d.at).ok())
        .unwrap_or_else(SystemTime::now);
    let quorum = approve::quorum(cfg, dir, &plan, &bytes, as_of)
        .map_err(|e| ExecError::Refused(e.to_string()))?;
    if !quorum.reached() {
        let why = format!(
            "{} valid approval(s) of {} needed ({}){}",
            quorum.valid.len(),
            quorum.needed,
            quorum
                .valid
                .iter()
                .map(|v| v.approver.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            if quorum.invalid.is_empty() {
                String::new()
            } else {
                format!("; not counted: {}", quorum.invalid.join("; "))
            }
        );
        audit_refusal(&log, actor, &plan, &why);
        return Err(ExecError::Refused(why));
    }
    let run = Run {
        chain,
        plan: &plan,
        log: &log,
        actor,
        from: chain.signer(&plan.from).expect("checked by sides"),
        to: chain.signer(&plan.to).expect("checked by sides"),
    };
    if journal.steps.is_empty() {
        run.audit(
            "failover.execute",
            json!({"plan": plan.id, "digest": digest, "approvals": quorum.valid}),
        );
    } else {
        say(&format!(
            "resuming plan {} after step {}",
            plan.id,
            journal
                .steps
                .last()
                .map(|d| d.step.name())
                .unwrap_or_default()
        ));
    }
    let total = Step::ALL.len();
    for (i, step) in Step::ALL.into_iter().enumerate() {
        if journal.is_done(step) {
            say(&format!(
                "[{}/{total}] {}: done before",
                i + 1,
                step.describe()
            ));
            continue;
        }
        say(&format!("[{}/{total}] {} ...", i + 1, step.describe()));
        let begin = Instant::now();
        let detail = match run.step(step, &journal) {
            Ok(d) => d,
            Err(Fail::Refuse(why)) => {
                audit_refusal(&log, actor, &plan, &why);
                return Err(ExecError::Refused(why));
            }
            Err(Fail::Stop(reason)) => {
                run.audit(
                    "failover.stopped",
                    json!({"plan": plan.id, "step": step.name(), "reason": reason}),
                );
                return Err(ExecError::Stopped {
                    step: step.name(),
                    what: step.describe().into(),
                    reason,
                    next: next_steps(&plan, dir, step),
                });
            }
        };
        let done = Done {
            step,
            at: observe::now(),
            seconds: begin.elapsed().as_secs_f64(),
            detail,
        };
        say(&format!(
            "[{}/{total}] {}: done in {:.1} s{}",
            i + 1,
            step.describe(),
            done.seconds,
            summary(&done.detail)
        ));
        run.audit(
            &format!("failover.step.{}", step.name()),
            json!({"plan": plan.id, "seconds": done.seconds, "detail": done.detail}),
        );
        journal.record(dir, done).map_err(|e| ExecError::Stopped {
            step: step.name(),
            what: step.describe().into(),
            reason: format!("cannot write the journal: {e}"),
            next: next_steps(&plan, dir, step),
        })?;
    }
    let first = journal
        .get(Step::Signing)
        .and_then(|d| d.detail["height"].as_u64());
    run.audit(
        "failover.done",
        json!({"plan": plan.id, "first_signed_after": first}),
    );
    Ok(Report {
        plan: plan.id.clone(),
        quorum,
        steps: journal.steps.clone(),
        last_signed_before: plan.observed.last_signed,
        first_signed_after: first,
    })
}

fn lock(dir: &Path) -> Result<nix::fcntl::Flock<std::fs::File>, ExecError> {
    let path = dir.join("execution.lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| ExecError::Refused(format!("{}: {e}", path.display())))?;
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusiveNonblock).map_err(|_| {
        ExecError::Refused(format!(
            "another `failover execute` of this plan is running ({} is locked); wait for it, or stop it and run execute again to resume",
            path.display()
        ))
    })
}

fn summary(detail: &serde_json::Value) -> String {
    detail
        .get("summary")
        .and_then(|s| s.as_str())
        .map(|s| format!(": {s}"))
        .unwrap_or_default()
}

fn audit_refusal(log: &AuditLog, actor: &Actor<'_>, plan: &Plan, why: &str) {
    if let Err(e) = log.append(
        actor.name,
        "failover.refused",
        json!({"plan": plan.id, "reason": why}),
        actor.identity,
    ) {
        tracing_line(&format!("cannot append the refusal to the audit log: {e}"));
    }
}

fn tracing_line(s: &str) {
    eprintln!("warning: {s}");
}

fn next_steps(plan: &Plan, dir: &Path, step: Step) -> String {
    let fenced = matches!(
        step,
        Step::Silence | Step::CarryState | Step::StartNew | Step::Signing
    );
    let mut s = format!(
        "Fix what is named above, then run `bulwark failover execute {}` again: it resumes at this step (finished steps are in {}).",
        dir.display(),
        dir.join(crate::journal::JOURNAL).display()
    );
    if fenced || step == Step::CloseDoor {
        s.push_str(&format!(
            " To roll back instead, make and approve a plan from {} to {}: never start {} by hand while a door is closed to it.",
            plan.to, plan.from, plan.from
        ));
    } else {
        s.push_str(" Nothing is fenced yet: the old signer may still be running as before.");
    }
    s
}

enum Fail {
    /// Nothing changed yet; refuse.
    Refuse(String),
    /// Stop at a safe point.
    Stop(String),
}

struct Run<'a> {
    chain: &'a ChainConfig,
    plan: &'a Plan,
    log: &'a AuditLog,
    actor: &'a Actor<'a>,
    from: &'a SignerConfig,
    to: &'a SignerConfig,
}

impl Run<'_> {
    fn audit(&self, action: &str, detail: serde_json::Value) {
        if let Err(e) = self
            .log
            .append(self.actor.name, action, detail, self.actor.identity)
        {
            tracing_line(&format!("cannot append {action} to the audit log: {e}"));
        }
    }

    fn step(&self, step: Step, journal: &Journal) -> Result<serde_json::Value, Fail> {
        match step {
            Step::Recheck => self.recheck(),
            Step::StopOld => self.stop_old(),
            Step::CloseDoor => self.close_door(),
            Step::Silence => self.silence(),
            Step::CarryState => self.carry(),
            Step::StartNew => self.start_new(),
            Step::Signing => self.signing(journal),
        }
    }

    fn recheck(&self) -> Result<serde_json::Value, Fail> {
        let now = observe::observe(self.chain, self.from, self.to)
            .map_err(|e| Fail::Refuse(e.to_string()))?;
        let changes = changes(&self.plan.observed, &now);
        if !changes.is_empty() {
            return Err(Fail::Refuse(format!(
                "what the approvers saw has changed: {}. Make a new plan (`bulwark failover plan`) and have it approved",
                changes.join("; ")
            )));
        }
        let failed: Vec<String> = self
            .plan
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{}: {}", c.name, c.evidence))
            .collect();
        if !failed.is_empty() {
            return Err(Fail::Refuse(format!(
                "the plan's checks failed when it was made: {}",
                failed.join("; ")
            )));
        }
        Ok(
            json!({"summary": format!("tip {}, nothing changed since the plan", now.tip), "observed": now}),
        )
    }

    fn stop_old(&self) -> Result<serde_json::Value, Fail> {
        match run_command(&self.from.stop, &[]) {
            Ok(out) => Ok(json!({"summary": format!("{} stopped", self.from.name), "output": out})),
            Err(e) if self.plan.observed.is_cosigner() => Ok(json!({
                "summary": format!("the stop command failed ({e}); the re-pin at every other cosigner fences {} (its host presumed dead)", self.from.name),
                "stop_failed": e,
            })),
            Err(e) if self.plan.observed.signing_at.is_none() => Ok(json!({
                "summary": format!("the stop command failed ({e}); the plan saw {} silent on chain (its host presumed dead), so the door and the silence on chain fence it", self.from.name),
                "stop_failed": e,
            })),
            Err(e) => Err(Fail::Stop(format!(
                "the stop command of {} failed: {e}. It was signing when the plan was made; stop it by other means, then resume",
                self.from.name
            ))),
        }
    }

    fn close_door(&self) -> Result<serde_json::Value, Fail> {
        if self.plan.observed.is_cosigner() {
            return self.repin();
        }
        // A node signing with its own key: its key file goes aside, so that the node, if
        // it comes back, is no longer the validator.
        let fenced = match self.from.side() {
            Side::Node { home, .. } => {
                let o = &self.plan.observed;
                let public = o.to.public_key.as_deref().or(o.from.public_key.as_deref());
                Some(node_key::fence(home, public, &self.plan.id))
            }
            Side::Signer(_) => None,
        };
        let doors: Vec<_> = self
            .chain
            .nodes
            .iter()
            .filter(|n| !n.door.is_empty())
            .collect();
        if let Some(Err(e)) = &fenced {
            if doors.is_empty() {
                return Err(Fail::Stop(format!(
                    "cannot fence {}: {e}, and no [[chain.node]] has a door command. A node that comes back with the validator's key signs again: make its home reachable, or add a door command that shuts it out (a firewall rule at the sentries), then resume",
                    self.from.name
                )));
            }
        }
        let mut done = Vec::new();
        for n in doors {
            let vars = [
                ("{node}", n.name.as_str()),
                ("{from}", self.from.name.as_str()),
                ("{to}", self.to.name.as_str()),
            ];
            run_command(&n.door, &vars).map_err(|e| {
                Fail::Stop(format!(
                    "the door command of node {} failed: {e}; the nodes before it ({}) are closed",
                    n.name,
                    done.join(", ")
                ))
            })?;
            done.push(n.name.clone());
        }
        let key = match &fenced {
            None => None,
            Some(Ok(Some(aside))) => Some(format!(
                "the validator key of {} moved to {}",
                self.from.name,
                aside.display()
            )),
            Some(Ok(None)) => Some(format!("no validator key left on {}", self.from.name)),
            Some(Err(e)) => Some(format!(
                "the key of {} could not be moved ({e}); the doors shut it out",
                self.from.name
            )),
        };
        let summary = match (&key, done.is_empty()) {
            (Some(k), true) => k.clone(),
            (Some(k), false) => format!(
                "{k}; only {} may connect to {}",
                self.to.name,
                done.join(", ")
            ),
            (None, _) => format!("only {} may connect to {}", self.to.name, done.join(", ")),
        };
        Ok(json!({"summary": summary, "nodes": done, "key": key}))
    }

    fn silence(&self) -> Result<serde_json::Value, Fail> {
        if self.plan.observed.is_cosigner() {
            return self.blocks_past_fence();
        }
        let v = observe::view(self.chain);
        let survey = v.survey().map_err(|e| Fail::Stop(e.to_string()))?;
        let begin = survey.tip;
        v.doppelganger_check(
            &survey.best,
            &self.plan.observed.address,
            self.chain.silent_blocks,
            self.chain.wait,
            &|| false,
        )
        .map_err(|e| match e {
            signer::floor::FloorError::Doppelganger { height, .. } => Fail::Stop(format!(
                "the fence failed: block {height} carries {}'s signature after the doors closed, so the old signer still reaches a node. Nothing was started. Find and stop it, then resume",
                self.plan.observed.address
            )),
            other => Fail::Stop(other.to_string()),
        })?;
        let tip = v.survey().map(|s| s.tip).unwrap_or(begin);
        Ok(json!({
            "summary": format!("no signature by {} in {} blocks after height {}", self.plan.observed.address, self.chain.silent_blocks, begin + 1),
            "from_tip": begin,
            "tip": tip,
        }))
    }

    fn carry(&self) -> Result<serde_json::Value, Fail> {
        let to_view = observe::side(&self.plan.chain_id, self.to);
        let from_view = observe::side(&self.plan.chain_id, self.from);
        let state = to_view.state_file.clone().ok_or_else(|| {
            Fail::Stop(format!(
                "{}'s state file is unknown: {}",
                self.to.name,
                to_view.problem.clone().unwrap_or_default()
            ))
        })?;
        let state = PathBuf::from(state);
        let survey = observe::view(self.chain)
            .survey()
            .map_err(|e| Fail::Stop(e.to_string()))?;
        // The doors are closed and the key was silent for `silent_blocks` blocks since,
        // so nothing at or below the tip can have been signed by the old side after the
        // doors closed, and everything it signed before is below the tip.
        let floor = Hrs {
            height: i64::try_from(survey.tip).unwrap_or(i64::MAX),
            round: 0,
            step: 3,
        };
        let sources = [
            ("chain tip", Some(floor)),
            ("old side", from_view.state),
            ("new side", to_view.state),
            ("plan's old side", self.plan.observed.from.state),
        ];
        let (src, target) = sources
            .iter()
            .filter_map(|(n, h)| h.map(|h| (*n, h)))
            .max_by_key(|(_, h)| *h)
            .expect("the floor is always there");
        let chain = &self.plan.chain_id;
        let (before, after, key) = match self.to.side() {
            Side::Signer(_) => {
                if !state.exists() {
                    signer::state::init(&state, chain, 0).map_err(|e| Fail::Stop(e.to_string()))?;
                }
                let before = observe::read_state(&state).map_err(Fail::Stop)?;
                if before.is_none_or(|b| b < target) {
                    signer::state::set(
                        &state,
                        chain,
                        target.height,
                        target.round,
                        target.guard_step(),
                        false,
                    )
                    .map_err(|e| Fail::Stop(format!("cannot set {}: {e}", state.display())))?;
                }
                (
                    before,
                    observe::read_state(&state).map_err(Fail::Stop)?,
                    None,
                )
            }
            Side::Node { home, staged_key } => {
                // The node is stopped first, so that nothing it holds in memory writes
                // over the state, and so that it loads the key when it starts.
                run_command(&self.to.stop, &[]).map_err(|e| {
                    Fail::Stop(format!("the stop command of {} failed: {e}", self.to.name))
                })?;
                let read = |p: &Path| node_key::read_state(p, chain).map_err(Fail::Stop);
                let before = read(&state)?;
                if before.is_none_or(|b| b < target) {
                    node_key::write_state(&state, target).map_err(Fail::Stop)?;
                }
                let installed =
                    node_key::install(home, staged_key, &self.plan.id).map_err(|e| {
                        Fail::Stop(format!("cannot install the key on {}: {e}", self.to.name))
                    })?;
                let key = format!(
                    "{} {} as {}'s key",
                    staged_key.display(),
                    if installed {
                        "installed"
                    } else {
                        "already installed"
                    },
                    self.to.name
                );
                (before, read(&state)?, Some(key))
            }
        };
        let detail = json!({
            "summary": format!("{} at {} (the highest: {src}){}", state.display(), after.map(|h| h.to_string()).unwrap_or_default(), key.as_ref().map(|k| format!("; {k}")).unwrap_or_default()),
            "state": state,
            "before": before,
            "after": after,
            "key": key,
            "sources": sources.iter().map(|(n, h)| json!({"source": n, "state": h})).collect::<Vec<_>>(),
        });
        self.audit("state.carry", detail.clone());
        Ok(detail)
    }

    fn start_new(&self) -> Result<serde_json::Value, Fail> {
        let out = run_command(&self.to.start, &[]).map_err(|e| {
            Fail::Stop(format!("the start command of {} failed: {e}", self.to.name))
        })?;
        self.audit(
            "signer.start",
            json!({"plan": self.plan.id, "signer": self.to.name, "host": self.to.host}),
        );
        Ok(
            json!({"summary": format!("{} started on {}", self.to.name, self.to.host), "output": out}),
        )
    }

    fn signing(&self, journal: &Journal) -> Result<serde_json::Value, Fail> {
        let after = journal
            .get(Step::CarryState)
            .and_then(|d| d.detail["after"]["height"].as_u64())
            .unwrap_or(0);
        if self.plan.observed.is_cosigner() {
            return self.cosigner_signing(after);
        }
        let v = observe::view(self.chain);
        let deadline = Instant::now() + self.chain.wait;
        let mut checked = after;
        loop {
            let s = v.survey().map_err(|e| Fail::Stop(e.to_string()))?;
            while checked + 1 < s.tip {
                checked += 1;
                if v.signed_at(&s.best, checked, &self.plan.observed.address)
                    .map_err(|e| Fail::Stop(e.to_string()))?
                {
                    return Ok(json!({
                        "summary": format!("block {checked} carries {}'s signature from {}", self.plan.observed.address, self.to.name),
                        "height": checked,
                        "missed_since_plan": self.plan.observed.last_signed.map(|l| checked.saturating_sub(l + 1)),
                    }));
                }
            }
            if Instant::now() > deadline {
                return Err(Fail::Stop(format!(
                    "{} has not signed within {} (checked up to block {checked}); look at its log. The old signer stays fenced: do not start it",
                    self.to.name,
                    humantime::format_duration(self.chain.wait)
                )));
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

/// What differs between the plan's observation and now, in the ways that matter.
pub fn changes(plan: &Observed, now: &Observed) -> Vec<String> {
    let mut c = Vec::new();
    if plan.address != now.address {
        c.push(format!(
            "the validator address is {} now, {} in the plan",
            now.address, plan.address
        ));
    }
    for (name, a, b) in [
        ("target key", &plan.to.public_key, &now.to.public_key),
        ("target key file", &plan.to.key_sha256, &now.to.key_sha256),
        (
            "target link key",
            &plan.to.link_public_key,
            &now.to.link_public_key,
        ),
    ] {
        if a != b {
            c.push(format!(
                "the {name} changed ({} in the plan, {} now)",
                a.as_deref().unwrap_or("none"),
                b.as_deref().unwrap_or("none")
            ));
        }
    }
    if plan.from.public_key.is_some()
        && now.from.public_key.is_some()
        && plan.from.key_sha256 != now.from.key_sha256
    {
        c.push("the old side's key file changed".into());
    }
    let hrs = |h: &Option<Hrs>| h.map(|h| h.to_string()).unwrap_or_else(|| "none".into());
    if now.to.state > plan.to.state {
        c.push(format!(
            "{}'s state is {} now, higher than the {} the plan saw: something signed on the target side since",
            now.to.name,
            hrs(&now.to.state),
            hrs(&plan.to.state)
        ));
    }
    // A signer the plan saw live moves on; one it saw silent must not have.
    let silent = plan.signing_at.is_none();
    if silent
        && plan.from.state.is_some()
        && now.from.state.is_some()
        && now.from.state != plan.from.state
    {
        c.push(format!(
            "{}'s state is {} now, {} in the plan: the old signer signed since",
            now.from.name,
            hrs(&now.from.state),
            hrs(&plan.from.state)
        ));
    }
    if plan.signing_at.is_none() {
        if let Some(h) = now.signing_at {
            c.push(format!("the old signer is signing again: block {h} carries {}'s signature, but the plan saw it silent", now.address));
        }
    }
    if now.last_signed > plan.last_signed && plan.signing_at.is_none() && now.signing_at.is_none() {
        c.push(format!(
            "the key signed block {} after the plan was made",
            now.last_signed.unwrap_or(0)
        ));
    }
    for n in &now.nodes {
        if !n.caught_up {
            c.push(format!(
                "node {} is not caught up: {}",
                n.name,
                n.problem.clone().unwrap_or_default()
            ));
        }
    }
    c
}

/// Run `argv` with `{name}` replacements; its output, or why it failed.
fn run_command(argv: &[String], vars: &[(&str, &str)]) -> Result<String, String> {
    let args: Vec<String> = argv
        .iter()
        .map(|a| vars.iter().fold(a.clone(), |s, (k, v)| s.replace(k, v)))
        .collect();
    let (prog, rest) = args.split_first().ok_or("the command is empty")?;
    let out = Command::new(prog)
        .args(rest)
        .output()
        .map_err(|e| format!("cannot run {prog}: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text.trim().to_string())
    } else {
        Err(format!(
            "`{}` exited with {}: {}",
            args.join(" "),
            out.status,
            text.trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::{NodeView, SideView};

    fn side(name: &str, state: Option<i64>) -> SideView {
        SideView {
            name: name.into(),
            host: "h".into(),
            config: "c".into(),
            key_file: Some("k".into()),
            key_sha256: Some("aa".into()),
            public_key: Some("bb".into()),
            state_file: Some("s".into()),
            state: state.map(|height| Hrs {
                height,
                round: 0,
                step: 3,
            }),
            problem: None,
            share_id: None,
            link_public_key: None,
        }
    }

    fn observed(signing_at: Option<u64>, from: Option<i64>, to: Option<i64>) -> Observed {
        Observed {
            at: "t".into(),
            tip: 100,
            tip_source: "u".into(),
            address: "A".into(),
            last_signed: Some(90),
            signing_at,
            from: side("primary", from),
            to: side("standby", to),
            nodes: vec![NodeView {
                name: "n".into(),
                height: Some(100),
                lag: Some(0),
                caught_up: true,
                problem: None,
                note: None,
            }],
            peers: Vec::new(),
        }
    }

    #[test]
    fn what_the_approvers_saw_must_not_change() {
        let plan = observed(None, Some(90), Some(10));
        assert!(changes(&plan, &plan.clone()).is_empty());
        let c = changes(&plan, &observed(None, Some(90), Some(11)));
        assert!(
            c[0].contains("higher than the 10/0/precommit the plan saw"),
            "{c:?}"
        );
        let c = changes(&plan, &observed(Some(99), Some(91), Some(10)));
        assert!(
            c.iter().any(|x| x.contains("old signer signed since")),
            "{c:?}"
        );
        assert!(c.iter().any(|x| x.contains("signing again")), "{c:?}");
        let mut other = plan.clone();
        other.to.key_sha256 = Some("cc".into());
        assert!(changes(&plan, &other)[0].contains("target key file changed"));
        // A lower target state, or an old side gone quiet, is not a change that matters.
        assert!(changes(&plan, &observed(None, None, Some(10))).is_empty());
        // A live old signer moves on before execute stops it.
        let live = observed(Some(99), Some(90), None);
        assert!(changes(&live, &observed(Some(100), Some(95), None)).is_empty());
    }
}

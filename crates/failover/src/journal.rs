//! The execution journal (`execution.json` in the plan's directory): which steps are
//! done, so that an interrupted execute resumes after the last finished one. It is
//! flushed after every step, and names the plan digest it belongs to.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// The journal file inside a plan's directory.
pub const JOURNAL: &str = "execution.json";

/// The steps of an execution, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Re-run the plan's checks and compare.
    Recheck,
    /// Stop the old signer.
    StopOld,
    /// Close the door at the validator's nodes.
    CloseDoor,
    /// Watch the key stay silent on chain.
    Silence,
    /// Carry the sign state over.
    CarryState,
    /// Start the new signer.
    StartNew,
    /// See the new signer's signature on chain.
    Signing,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 7] = [
        Step::Recheck,
        Step::StopOld,
        Step::CloseDoor,
        Step::Silence,
        Step::CarryState,
        Step::StartNew,
        Step::Signing,
    ];

    /// What it does, for progress lines.
    pub fn describe(self) -> &'static str {
        match self {
            Step::Recheck => "re-run the plan's checks",
            Step::StopOld => "stop the old signer",
            Step::CloseDoor => "fence the old signer (door at nodes or peers, or key aside)",
            Step::Silence => "wait on chain past the fence",
            Step::CarryState => "carry the sign state over",
            Step::StartNew => "start the new signer",
            Step::Signing => "see the new signer sign",
        }
    }

    /// Its snake_case name.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

/// One finished step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Done {
    /// Which.
    pub step: Step,
    /// When it finished.
    pub at: String,
    /// How long it took.
    pub seconds: f64,
    /// What it did.
    pub detail: serde_json::Value,
}

/// The journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Journal {
    /// The digest of the plan it executes.
    pub plan_digest: String,
    /// The steps done so far.
    pub steps: Vec<Done>,
}

impl Journal {
    /// The journal of the plan in `dir` (empty when execute never ran), or why it does
    /// not belong to this plan.
    pub fn load(dir: &Path, digest: &str) -> Result<Journal, String> {
        let path = dir.join(JOURNAL);
        match std::fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Journal {
                plan_digest: digest.into(),
                steps: Vec::new(),
            }),
            Err(e) => Err(format!("{}: {e}", path.display())),
            Ok(bytes) => {
                let j: Journal = serde_json::from_slice(&bytes).map_err(|e| {
                    format!(
                        "{} is damaged ({e}); look at it and the audit log before going on",
                        path.display()
                    )
                })?;
                if j.plan_digest != digest {
                    return Err(format!(
                        "{} belongs to other plan contents (digest {}); the plan was changed after execute began",
                        path.display(),
                        j.plan_digest
                    ));
                }
                Ok(j)
            }
        }
    }

    /// Whether `step` is done.
    pub fn is_done(&self, step: Step) -> bool {
        self.steps.iter().any(|d| d.step == step)
    }

    /// The record of a finished step.
    pub fn get(&self, step: Step) -> Option<&Done> {
        self.steps.iter().find(|d| d.step == step)
    }

    /// Record `done` and flush the journal.
    pub fn record(&mut self, dir: &Path, done: Done) -> std::io::Result<()> {
        self.steps.push(done);
        let mut text = serde_json::to_vec_pretty(self).expect("a journal serializes");
        text.push(b'\n');
        confkit::file::write_durable(&dir.join(JOURNAL), &text)
    }
}

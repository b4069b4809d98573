//! Operator commands on sign-state files: show, init, import, set, repair.
//!
//! None of these ever lowers a state unless the operator asks for it explicitly.

use guard::{SignState, StateStore, Step, StoreError};
use serde::Serialize;
use std::path::Path;

/// Why a state command failed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The store refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The file holds no valid record.
    #[error("{path}: {reason}")]
    Corrupt {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The import source cannot be read.
    #[error("{path}: {source}")]
    Import {
        /// The source file.
        path: String,
        /// The error.
        source: guard::ImportError,
    },
    /// The request would lower the state.
    #[error(
        "{path} is at height {current_height} (round {current_round}, step {current_step:?}); \
         setting it lower to {height}/{round}/{step:?} could let this key sign twice. Pass \
         --allow-lower only if you know no signature above that exists"
    )]
    WouldLower {
        /// The file.
        path: String,
        /// Current height.
        current_height: i64,
        /// Current round.
        current_round: i32,
        /// Current step.
        current_step: Step,
        /// Requested height.
        height: i64,
        /// Requested round.
        round: i32,
        /// Requested step.
        step: Step,
    },
}

impl StateError {
    /// True when the operator's request is refused rather than something failing (the
    /// CLI exits with 2 for these).
    pub fn is_usage(&self) -> bool {
        matches!(self, Self::WouldLower { .. })
    }
}

/// A state as shown to operators (no signature bytes).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StateView {
    /// Chain ID.
    pub chain_id: String,
    /// Last signed height.
    pub height: i64,
    /// Its round.
    pub round: i32,
    /// Its step.
    pub step: Step,
    /// Whether the record carries the signature (so the same step can be re-signed).
    pub has_signature: bool,
    /// Record sequence number.
    pub sequence: u64,
    /// Anything the operator should know about the file.
    pub warnings: Vec<String>,
    /// The damaged slot beside the record, if any, and what it means.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damage: Option<String>,
}

/// What `repair` would do: keep the record of one slot and rewrite the other.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RepairPlan {
    /// The record that is kept.
    pub state: StateView,
    /// The slot holding it ('A' or 'B').
    pub kept_slot: char,
    /// The damaged slot that is rewritten.
    pub damaged_slot: char,
    /// What is wrong with the damaged slot.
    pub reason: String,
}

/// Read a state file without locking it (works while a signer runs, and on a
/// damaged file so an operator can look).
pub fn show(path: &Path) -> Result<StateView, StateError> {
    Ok(view(path, &parse(path)?))
}

fn parse(path: &Path) -> Result<guard::ParsedStateFile, StateError> {
    let bytes = std::fs::read(path).map_err(|source| StateError::Io {
        path: path.display().to_string(),
        source,
    })?;
    guard::parse_state_file(&bytes).map_err(|e| StateError::Corrupt {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn view(path: &Path, parsed: &guard::ParsedStateFile) -> StateView {
    let damage = parsed.damage.as_ref().map(|d| {
        let (bad, good) = (slot_name(d.slot), slot_name(parsed.slot));
        if d.zeroed {
            format!(
                "slot {bad} is all zero beside slot {good} (sequence {}): something zeroed it and the \
                 newest record may be lost; the signer refuses this file until \
                 `bulwark signer state repair --state {} --chain-id {}` keeps the record above",
                parsed.seq,
                path.display(),
                parsed.state.chain_id
            )
        } else {
            format!(
                "slot {bad} is damaged ({}); the record above is from slot {good}; the next write, or \
                 `bulwark signer state repair`, rewrites slot {bad}",
                d.reason
            )
        }
    });
    StateView {
        chain_id: parsed.state.chain_id.clone(),
        height: parsed.state.height,
        round: parsed.state.round,
        step: parsed.state.step,
        has_signature: parsed.state.has_signature(),
        sequence: parsed.seq,
        warnings: parsed.warnings.clone(),
        damage,
    }
}

fn slot_name(slot: usize) -> char {
    guard::slots::slot_name(slot)
}

/// What `repair` would do to the file at `path`, read without locking; None
/// when both slots are healthy.
pub fn repair_plan(path: &Path, chain_id: &str) -> Result<Option<RepairPlan>, StateError> {
    let parsed = parse(path)?;
    if parsed.state.chain_id != chain_id {
        return Err(StoreError::WrongChain {
            path: path.to_path_buf(),
            expected: chain_id.to_owned(),
            found: parsed.state.chain_id,
        }
        .into());
    }
    Ok(parsed.damage.as_ref().map(|d| RepairPlan {
        state: view(path, &parsed),
        kept_slot: slot_name(parsed.slot),
        damaged_slot: slot_name(d.slot),
        reason: d.reason.clone(),
    }))
}

/// Rewrite the damaged slot of `path` with the record of sequence `seq` (the
/// one the operator confirmed), so both slots are healthy again.
pub fn repair(path: &Path, chain_id: &str, seq: u64) -> Result<StateView, StateError> {
    drop(StateStore::repair(path, chain_id, seq)?);
    show(path)
}

/// Create a new state that allows signing from `height` on (0: a new chain).
pub fn init(path: &Path, chain_id: &str, height: i64) -> Result<StateView, StateError> {
    StateStore::create(path, &SignState::floor(chain_id, height))?;
    show(path)
}

/// Source formats for `import`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// CometBFT `priv_validator_state.json`.
    Cometbft,
    /// tmkms consensus state JSON.
    Tmkms,
}

/// What `import` did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportOutcome {
    /// `created`, `raised`, or `kept` (the existing state was already as high or higher).
    pub action: String,
    /// The state after the import.
    pub state: StateView,
}

/// Import another signer's state into `path`: create it, or raise it when the imported
/// state is higher. Never lowers.
pub fn import(
    path: &Path,
    chain_id: &str,
    from: &Path,
    format: ImportFormat,
) -> Result<ImportOutcome, StateError> {
    let bytes = std::fs::read(from).map_err(|source| StateError::Io {
        path: from.display().to_string(),
        source,
    })?;
    let parse = match format {
        ImportFormat::Cometbft => guard::import_cometbft_state,
        ImportFormat::Tmkms => guard::import_tmkms_state,
    };
    let mut imported = parse(&bytes, chain_id).map_err(|source| StateError::Import {
        path: from.display().to_string(),
        source,
    })?;
    // With the sign bytes known, fill in their unstamped form so a restarted node can
    // get the stored signature back for a re-stamped request.
    if !imported.sign_bytes.is_empty() && imported.unstamped.is_empty() {
        if let Ok(u) = privval::unstamped_sign_bytes(&imported.sign_bytes) {
            imported.unstamped = u.unstamped;
        }
    }
    let action = if path.exists() {
        let (mut store, _) = StateStore::open(path, chain_id)?;
        if imported.hrs() > store.state().hrs() {
            store.persist(&imported)?;
            "raised"
        } else {
            "kept"
        }
    } else {
        StateStore::create(path, &imported)?;
        "created"
    };
    Ok(ImportOutcome {
        action: action.into(),
        state: show(path)?,
    })
}

/// Set the state to `height`/`round`/`step`. Raising is always allowed; lowering needs
/// `allow_lower` (the CLI also asks the operator to type the chain ID).
pub fn set(
    path: &Path,
    chain_id: &str,
    height: i64,
    round: i32,
    step: Step,
    allow_lower: bool,
) -> Result<StateView, StateError> {
    let (mut store, _) = StateStore::open(path, chain_id)?;
    let target = SignState {
        chain_id: chain_id.to_string(),
        height,
        round,
        step,
        sign_bytes: Vec::new(),
        signature: Vec::new(),
        unstamped: Vec::new(),
    };
    let current = store.state().clone();
    if target.hrs() < current.hrs() {
        if !allow_lower {
            return Err(StateError::WouldLower {
                path: path.display().to_string(),
                current_height: current.height,
                current_round: current.round,
                current_step: current.step,
                height,
                round,
                step,
            });
        }
        store.set_allow_lower(&target)?;
    } else if target.hrs() > current.hrs() {
        store.persist(&target)?;
    }
    drop(store);
    show(path)
}

//! The double-sign rules as pure functions: no IO, no clock, no globals.
//!
//! [`decide`] takes the last signed record for one key on one chain and a
//! sign request and says whether to sign, to hand back the stored signature,
//! or to refuse. The rules follow CometBFT's FilePV: height, round and step
//! never go back; the same height/round/step with identical sign bytes, or
//! with sign bytes that differ only in the timestamp, gets the stored
//! signature back; anything else at the same height/round/step is refused.
//!
//! A signature is only released after the new state is durable. The types
//! make that order the natural one: [`Decision::Sign`] carries a
//! [`SignPermit`], which turns into the new [`SignState`] only together with
//! the signature ([`SignPermit::into_state`]); the store's
//! `StateStore::record` persists that state and only then hands the
//! signature back.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A consensus step. Within one height and round CometBFT signs
/// propose < prevote < precommit, and this order is the derived `Ord`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    /// Nothing signed yet at this height and round (CometBFT's `stepNone`,
    /// 0). Only meaningful in a stored state; a request for it is malformed.
    Initial = 0,
    /// A proposal (CometBFT step 1).
    Propose = 1,
    /// A prevote (CometBFT step 2).
    Prevote = 2,
    /// A precommit (CometBFT step 3).
    Precommit = 3,
}

impl Step {
    /// The step for CometBFT's numbering in `priv_validator_state.json`
    /// (0 none, 1 propose, 2 prevote, 3 precommit).
    pub fn from_cometbft(n: i64) -> Option<Step> {
        match n {
            0 => Some(Step::Initial),
            1 => Some(Step::Propose),
            2 => Some(Step::Prevote),
            3 => Some(Step::Precommit),
            _ => None,
        }
    }

    /// CometBFT's number for this step.
    pub fn as_cometbft(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Initial => "none",
            Step::Propose => "propose",
            Step::Prevote => "prevote",
            Step::Precommit => "precommit",
        })
    }
}

/// A height, round and step. Ordered lexicographically, as CometBFT does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hrs {
    /// Block height; requests need at least 1.
    pub height: i64,
    /// Consensus round, 0 or more.
    pub round: i32,
    /// Consensus step.
    pub step: Step,
}

impl Hrs {
    /// Shorthand constructor.
    pub fn new(height: i64, round: i32, step: Step) -> Hrs {
        Hrs {
            height,
            round,
            step,
        }
    }
}

impl fmt::Display for Hrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "height {} round {} step {}",
            self.height, self.round, self.step
        )
    }
}

/// Limits set by the operator or raised from the chain, applied before the
/// height/round/step rules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// Requests below this height are refused (for example one above the
    /// last height at which the chain shows this validator's signature).
    pub floor_height: Option<i64>,
    /// Requests above this height are refused (a planned stop, for example
    /// before a migration to another signer).
    pub max_height: Option<i64>,
    /// The most a request may be above the last signed height (None: no
    /// bound). A request further up is refused unless [`Limits::chain_tip`]
    /// shows the chain is really there.
    pub max_height_jump: Option<i64>,
    /// The highest latest-block height a fresh chain source has shown (None:
    /// unknown). A request up to `chain_tip + max_height_jump` passes the
    /// jump bound.
    pub chain_tip: Option<i64>,
}

/// The last signed record for one key on one chain.
///
/// `height == 0` means nothing has been signed yet. A state imported from a
/// file may carry empty `sign_bytes`, `signature` and `unstamped`: then
/// nothing more can be signed at exactly its height/round/step, because
/// nobody can prove a request there is the data signed before.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignState {
    /// Chain ID the record belongs to.
    pub chain_id: String,
    /// Height of the last signature (0: none yet).
    pub height: i64,
    /// Round of the last signature.
    pub round: i32,
    /// Step of the last signature.
    pub step: Step,
    /// Full canonical sign bytes last signed (may be empty when imported).
    pub sign_bytes: Vec<u8>,
    /// The signature over `sign_bytes` (may be empty when imported).
    pub signature: Vec<u8>,
    /// `sign_bytes` with the timestamp zeroed, as computed by the caller
    /// that understands the message encoding; equal to `sign_bytes` for
    /// messages without a timestamp. While empty, only identical sign bytes
    /// get the stored signature back.
    pub unstamped: Vec<u8>,
}

impl SignState {
    /// The state of a key that has signed nothing on `chain_id` yet.
    pub fn initial(chain_id: impl Into<String>) -> SignState {
        SignState::floor(chain_id, 0)
    }

    /// A state that allows any request at `height` or above and refuses
    /// everything below it (height `height`, round 0, step none).
    pub fn floor(chain_id: impl Into<String>, height: i64) -> SignState {
        SignState {
            chain_id: chain_id.into(),
            height,
            round: 0,
            step: Step::Initial,
            sign_bytes: Vec::new(),
            signature: Vec::new(),
            unstamped: Vec::new(),
        }
    }

    /// The state after signing `req` with `signature`. Persist it before the
    /// signature leaves the process.
    pub fn signed(req: &Request<'_>, signature: Vec<u8>) -> SignState {
        SignState {
            chain_id: req.chain_id.to_owned(),
            height: req.hrs.height,
            round: req.hrs.round,
            step: req.hrs.step,
            sign_bytes: req.sign_bytes.to_vec(),
            signature,
            unstamped: req.unstamped.to_vec(),
        }
    }

    /// Height, round and step of the record.
    pub fn hrs(&self) -> Hrs {
        Hrs::new(self.height, self.round, self.step)
    }

    /// Whether the record holds both a signature and the bytes it signed.
    pub fn has_signature(&self) -> bool {
        !self.signature.is_empty() && !self.sign_bytes.is_empty()
    }

    /// Checks the fields that do not depend on the request: a non-empty
    /// chain ID, height and round not negative.
    pub fn validate(&self) -> Result<(), String> {
        if self.chain_id.is_empty() {
            return Err("the chain ID is empty".into());
        }
        if self.height < 0 {
            return Err(format!("height {} is negative", self.height));
        }
        if self.round < 0 {
            return Err(format!("round {} is negative", self.round));
        }
        Ok(())
    }
}

/// One sign request, as the guard sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// Chain ID from the request.
    pub chain_id: &'a str,
    /// Height, round and step of the message.
    pub hrs: Hrs,
    /// The canonical sign bytes to sign.
    pub sign_bytes: &'a [u8],
    /// `sign_bytes` with the timestamp zeroed (equal to `sign_bytes` when
    /// the message has no timestamp).
    pub unstamped: &'a [u8],
}

/// Permission to sign one request. Sign [`SignPermit::sign_bytes`], then
/// turn the permit and the signature into the new state with
/// [`SignPermit::into_state`] and persist it before releasing the
/// signature.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "a permit does nothing until its state is persisted"]
pub struct SignPermit {
    chain_id: String,
    hrs: Hrs,
    sign_bytes: Vec<u8>,
    unstamped: Vec<u8>,
}

impl SignPermit {
    /// The bytes to sign.
    pub fn sign_bytes(&self) -> &[u8] {
        &self.sign_bytes
    }

    /// Height, round and step being signed.
    pub fn hrs(&self) -> Hrs {
        self.hrs
    }

    /// Chain ID being signed for.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// The new state recording `signature`. Persist it before the signature
    /// leaves the process.
    pub fn into_state(self, signature: Vec<u8>) -> SignState {
        SignState {
            chain_id: self.chain_id,
            height: self.hrs.height,
            round: self.hrs.round,
            step: self.hrs.step,
            sign_bytes: self.sign_bytes,
            signature,
            unstamped: self.unstamped,
        }
    }
}

/// What to do with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Sign, persist the new state, then release the signature.
    Sign(SignPermit),
    /// The same message was signed before: give the node this signature and
    /// these sign bytes (which carry the stored timestamp). No new signature
    /// is made, so this can never produce a double-sign.
    ReturnStored {
        /// The stored signature.
        signature: Vec<u8>,
        /// The stored sign bytes the signature is over.
        sign_bytes: Vec<u8>,
    },
    /// Do not sign; tell the node why.
    Refuse(Refusal),
}

/// Why a request was refused. The text says why and what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The request is not a valid signing request.
    #[error("refusing malformed sign request: {reason}; this is a bug in the node or a corrupted message, check the node version")]
    Malformed {
        /// What is wrong with it.
        reason: String,
    },
    /// The request is for another chain than this state.
    #[error("refusing to sign for chain `{got}`: this signer state belongs to chain `{expected}`; check the signer configuration for this node")]
    WrongChain {
        /// Chain of the state.
        expected: String,
        /// Chain in the request.
        got: String,
    },
    /// The request is below the configured or chain-derived floor.
    #[error("refusing to sign at height {requested}: below the floor height {floor} (this validator may already have signed there); wait for the node to catch up past the floor")]
    BelowFloor {
        /// The floor height.
        floor: i64,
        /// The requested height.
        requested: i64,
    },
    /// The request is above the configured stop height.
    #[error("refusing to sign at height {requested}: above the configured stop height {max}; raise or remove max_height to keep signing")]
    AboveMaxHeight {
        /// The stop height.
        max: i64,
        /// The requested height.
        requested: i64,
    },
    /// The request is further above the last signed height than the bound,
    /// and no chain tip confirms the chain is there.
    #[error("refusing to sign at height {requested}: it is {} heights above the last signed height {last}, more than the bound of {max_jump}{}. A broken node, or a man in the middle on tcp://, may send such a request; signing it would block every real vote until that height. Configure `rpc` for this chain so the signer can confirm the chain's tip, or, if the chain really is there, raise the state with `bulwark signer state set --height H`", .requested.saturating_sub(*.last), tip_text(.chain_tip))]
    HeightJump {
        /// Last signed height.
        last: i64,
        /// Requested height.
        requested: i64,
        /// The bound.
        max_jump: i64,
        /// The chain tip known when the request came, if any.
        chain_tip: Option<i64>,
    },
    /// The requested height is below the last signed height.
    #[error("refusing to sign at height {requested}: already signed at height {last}; heights never go back. If the node was restored from a snapshot, let it catch up")]
    HeightRegression {
        /// Last signed height.
        last: i64,
        /// Requested height.
        requested: i64,
    },
    /// The requested round is below the last signed round at this height.
    #[error("refusing to sign at height {height} round {requested}: already signed round {last} at this height; rounds never go back")]
    RoundRegression {
        /// The height.
        height: i64,
        /// Last signed round.
        last: i32,
        /// Requested round.
        requested: i32,
    },
    /// The requested step is below the last signed step in this round.
    #[error("refusing to sign {requested} at height {height} round {round}: already signed {last} in this round; steps never go back")]
    StepRegression {
        /// The height.
        height: i64,
        /// The round.
        round: i32,
        /// Last signed step.
        last: Step,
        /// Requested step.
        requested: Step,
    },
    /// The same height/round/step was signed over different data.
    #[error("refusing to sign conflicting data at height {} round {} step {}: already signed different data; this would be a double-sign. Check whether another node or signer is using this key", .hrs.height, .hrs.round, .hrs.step)]
    ConflictingData {
        /// Where.
        hrs: Hrs,
    },
    /// The stored state has this exact height/round/step but no signature
    /// (it was imported or set by an operator), so the request cannot be
    /// proven to be the same data.
    #[error("refusing to sign at {hrs}: the imported sign state has no signature for that exact step, so this request cannot be proven to be the data signed before; wait for the next step or round")]
    NoStoredSignature {
        /// Where.
        hrs: Hrs,
    },
}

impl Refusal {
    /// A short, stable code for metrics labels and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Malformed { .. } => "malformed",
            Refusal::WrongChain { .. } => "wrong_chain",
            Refusal::BelowFloor { .. } => "below_floor",
            Refusal::AboveMaxHeight { .. } => "above_max_height",
            Refusal::HeightJump { .. } => "height_jump",
            Refusal::HeightRegression { .. } => "height_regression",
            Refusal::RoundRegression { .. } => "round_regression",
            Refusal::StepRegression { .. } => "step_regression",
            Refusal::ConflictingData { .. } => "conflicting_data",
            Refusal::NoStoredSignature { .. } => "no_stored_signature",
        }
    }
}

/// Decides what to do with `req` given the last signed `state` and the
/// `limits`. Pure: the same inputs always give the same decision.
pub fn decide(state: &SignState, limits: &Limits, req: &Request<'_>) -> Decision {
    match check(state, limits, req) {
        Ok(decision) => decision,
        Err(refusal) => Decision::Refuse(refusal),
    }
}

/// The rules for one share of a threshold key. A cosigner records what it accepted
/// before its share leaves, but never learns the final signature of a share it gave to
/// another cosigner, so its record at a height/round/step often holds sign bytes and no
/// signature. [`decide`] refuses the same step then; this accepts it when the request is
/// the same data (identical, or only the timestamp differs), with
/// `Decision::ReturnStored` whose `signature` may be empty. Another share over the same
/// data is safe: two signatures over one block ID are not a double-sign. Everything else
/// is exactly [`decide`].
pub fn decide_share(state: &SignState, limits: &Limits, req: &Request<'_>) -> Decision {
    let share_record = !state.sign_bytes.is_empty() && state.signature.is_empty();
    if share_record && req.hrs == state.hrs() && req.chain_id == state.chain_id {
        if let Err(r) = malformed(req) {
            return Decision::Refuse(r);
        }
        return match same_data(state, req) {
            true => Decision::ReturnStored {
                signature: Vec::new(),
                sign_bytes: state.sign_bytes.clone(),
            },
            false => Decision::Refuse(Refusal::ConflictingData { hrs: req.hrs }),
        };
    }
    decide(state, limits, req)
}

fn check(state: &SignState, limits: &Limits, req: &Request<'_>) -> Result<Decision, Refusal> {
    malformed(req)?;
    if req.chain_id != state.chain_id {
        return Err(Refusal::WrongChain {
            expected: state.chain_id.clone(),
            got: req.chain_id.to_owned(),
        });
    }
    let requested = req.hrs.height;
    if let Some(floor) = limits.floor_height.filter(|floor| requested < *floor) {
        return Err(Refusal::BelowFloor { floor, requested });
    }
    if let Some(max) = limits.max_height.filter(|max| requested > *max) {
        return Err(Refusal::AboveMaxHeight { max, requested });
    }
    height_jump(state, limits, requested)?;
    let last = state.hrs();
    match req.hrs.cmp(&last) {
        Ordering::Greater => Ok(Decision::Sign(SignPermit {
            chain_id: req.chain_id.to_owned(),
            hrs: req.hrs,
            sign_bytes: req.sign_bytes.to_vec(),
            unstamped: req.unstamped.to_vec(),
        })),
        Ordering::Less => Err(regression(last, req.hrs)),
        Ordering::Equal => same_step(state, req),
    }
}

/// The height-jump rule alone: whether a request at `requested` is more than
/// `max_height_jump` above the last signed height with no chain tip near it. Part of
/// [`decide`]; callers use it on its own to learn, without building a permit, whether
/// the chain's tip is worth asking for.
pub fn height_jump(state: &SignState, limits: &Limits, requested: i64) -> Result<(), Refusal> {
    let Some(max_jump) = limits.max_height_jump else {
        return Ok(());
    };
    let within = |base: i64| requested <= base.saturating_add(max_jump);
    if within(state.height) || limits.chain_tip.is_some_and(within) {
        return Ok(());
    }
    Err(Refusal::HeightJump {
        last: state.height,
        requested,
        max_jump,
        chain_tip: limits.chain_tip,
    })
}

fn tip_text(chain_tip: &Option<i64>) -> String {
    match chain_tip {
        Some(tip) => format!(" and the chain's tip is only at height {tip}"),
        None => " and the chain's tip is unknown".into(),
    }
}

fn malformed(req: &Request<'_>) -> Result<(), Refusal> {
    let reason = if req.hrs.height < 1 {
        format!("height {} is below 1", req.hrs.height)
    } else if req.hrs.round < 0 {
        format!("round {} is negative", req.hrs.round)
    } else if req.hrs.step == Step::Initial {
        "the step is none; only propose, prevote and precommit are signed".into()
    } else if req.sign_bytes.is_empty() {
        "the sign bytes are empty".into()
    } else if req.unstamped.is_empty() {
        "the sign bytes without timestamp are empty".into()
    } else {
        return Ok(());
    };
    Err(Refusal::Malformed { reason })
}

fn regression(last: Hrs, requested: Hrs) -> Refusal {
    if requested.height < last.height {
        Refusal::HeightRegression {
            last: last.height,
            requested: requested.height,
        }
    } else if requested.round < last.round {
        Refusal::RoundRegression {
            height: last.height,
            last: last.round,
            requested: requested.round,
        }
    } else {
        Refusal::StepRegression {
            height: last.height,
            round: last.round,
            last: last.step,
            requested: requested.step,
        }
    }
}

fn same_step(state: &SignState, req: &Request<'_>) -> Result<Decision, Refusal> {
    if !state.has_signature() {
        return Err(Refusal::NoStoredSignature { hrs: req.hrs });
    }
    if same_data(state, req) {
        Ok(Decision::ReturnStored {
            signature: state.signature.clone(),
            sign_bytes: state.sign_bytes.clone(),
        })
    } else {
        Err(Refusal::ConflictingData { hrs: req.hrs })
    }
}

/// Whether `req` is the data `state` recorded: identical sign bytes, or only the
/// timestamp differs.
fn same_data(state: &SignState, req: &Request<'_>) -> bool {
    let identical = req.sign_bytes == state.sign_bytes.as_slice();
    let only_timestamp_differs =
        !state.unstamped.is_empty() && req.unstamped == state.unstamped.as_slice();
    identical || only_timestamp_differs
}

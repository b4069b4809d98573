//! Importing the sign state of other signers.
//!
//! * CometBFT FilePV `priv_validator_state.json`:
//!   `{"height":"123","round":0,"step":3,"signature":"<base64>","signbytes":"<hex>"}`.
//!   The height is a string (int64 in CometBFT JSON), the round a number,
//!   the step a number: 0 none, 1 propose, 2 prevote, 3 precommit.
//!   `signature` and `signbytes` are optional.
//! * tmkms `<chain>_priv_validator_state.json` (the `consensus::State` of
//!   the `tendermint` crate): `{"height":"123","round":"0","step":2,"block_id":...}`.
//!   Height and round are strings, the step a number: 0 proposal,
//!   1 prevote, 2 precommit. `block_id` is ignored: it is not the signed
//!   data, so it cannot be used to hand a stored signature back.
//!
//! Integers are accepted as JSON numbers or decimal strings, unknown fields
//! are ignored, and `null` counts as missing. Imported states never carry
//! `unstamped` bytes: computing them needs the message encoding, which the
//! caller may fill in. Without them only identical sign bytes get the stored
//! signature back.

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::rules::{SignState, Step};

/// Name of the CometBFT format in messages.
pub const COMETBFT: &str = "CometBFT priv_validator_state.json";
/// Name of the tmkms format in messages.
pub const TMKMS: &str = "tmkms state file";

/// Why a state file could not be imported.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The file is not a JSON object.
    #[error("{format}: {reason}; check that this is the right file")]
    NotAnObject {
        /// The file format.
        format: &'static str,
        /// What was found.
        reason: String,
    },
    /// A field is missing or has a bad value.
    #[error("{format}: field `{field}` {problem}; fix the file, or create the state with `bulwark signer state init --height H`")]
    Field {
        /// The file format.
        format: &'static str,
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The chain ID given for the import is empty.
    #[error("the chain ID to import the state for is empty; pass the chain ID of the validator")]
    EmptyChainId,
}

/// Parses a CometBFT `priv_validator_state.json` into the state of
/// `chain_id`. A step of 0 means nothing was signed yet at that height and
/// round, as in CometBFT.
pub fn import_cometbft_state(json: &[u8], chain_id: &str) -> Result<SignState, ImportError> {
    let fields = Fields::parse(COMETBFT, json, chain_id)?;
    let height = fields.int("height", true)?.unwrap_or(0);
    let round = fields.int("round", false)?.unwrap_or(0);
    let step = fields.int("step", false)?.unwrap_or(0);
    let step = Step::from_cometbft(step).ok_or_else(|| {
        fields.error(
            "step",
            format!("is {step}, expected 0 (none), 1 (propose), 2 (prevote) or 3 (precommit)"),
        )
    })?;
    let signature = match fields.text("signature")? {
        Some(text) => base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| fields.error("signature", format!("is not base64: {e}")))?,
        None => Vec::new(),
    };
    let sign_bytes = match fields.text("signbytes")? {
        Some(text) => hex::decode(text.trim())
            .map_err(|e| fields.error("signbytes", format!("is not hex: {e}")))?,
        None => Vec::new(),
    };
    fields.build(height, round, step, sign_bytes, signature)
}

/// Parses a tmkms state file into the state of `chain_id`.
///
/// tmkms numbers steps 0 proposal, 1 prevote, 2 precommit. Larger values
/// (written by old releases) are read as precommit, the highest step, so
/// nothing more is signed at that height and round. A file at height 0 is
/// tmkms's initial state: nothing signed.
pub fn import_tmkms_state(json: &[u8], chain_id: &str) -> Result<SignState, ImportError> {
    let fields = Fields::parse(TMKMS, json, chain_id)?;
    let height = fields.int("height", true)?.unwrap_or(0);
    let round = fields.int("round", false)?.unwrap_or(0);
    let step = fields.int("step", false)?.unwrap_or(0);
    let step = match step {
        _ if height == 0 => Step::Initial,
        0 => Step::Propose,
        1 => Step::Prevote,
        2.. => Step::Precommit,
        _ => {
            return Err(fields.error(
                "step",
                format!("is {step}, expected 0 (proposal), 1 (prevote) or 2 (precommit)"),
            ))
        }
    };
    fields.build(height, round, step, Vec::new(), Vec::new())
}

/// The top-level object of a state file being imported.
struct Fields<'a> {
    format: &'static str,
    chain_id: &'a str,
    map: Map<String, Value>,
}

impl<'a> Fields<'a> {
    fn parse(
        format: &'static str,
        json: &[u8],
        chain_id: &'a str,
    ) -> Result<Fields<'a>, ImportError> {
        if chain_id.is_empty() {
            return Err(ImportError::EmptyChainId);
        }
        let value: Value = serde_json::from_slice(json).map_err(|e| ImportError::NotAnObject {
            format,
            reason: format!("the file is not valid JSON ({e})"),
        })?;
        match value {
            Value::Object(map) => Ok(Fields {
                format,
                chain_id,
                map,
            }),
            other => Err(ImportError::NotAnObject {
                format,
                reason: format!("expected a JSON object, found {}", kind(&other)),
            }),
        }
    }

    fn error(&self, field: &'static str, problem: String) -> ImportError {
        ImportError::Field {
            format: self.format,
            field,
            problem,
        }
    }

    fn get(&self, field: &str) -> Option<&Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    /// A non-negative integer given as a number or a decimal string.
    fn int(&self, field: &'static str, required: bool) -> Result<Option<i64>, ImportError> {
        let Some(value) = self.get(field) else {
            return if required {
                Err(self.error(field, "is missing".into()))
            } else {
                Ok(None)
            };
        };
        let parsed = match value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.parse::<i64>().ok()
            }
            _ => None,
        };
        match parsed {
            Some(n) if n >= 0 => Ok(Some(n)),
            _ => Err(self.error(
                field,
                format!("is {value}, expected a non-negative integer"),
            )),
        }
    }

    /// An optional string; empty counts as missing.
    fn text(&self, field: &'static str) -> Result<Option<&str>, ImportError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.error(field, format!("is {}, expected a string", kind(other)))),
        }
    }

    fn build(
        &self,
        height: i64,
        round: i64,
        step: Step,
        sign_bytes: Vec<u8>,
        signature: Vec<u8>,
    ) -> Result<SignState, ImportError> {
        let round = i32::try_from(round)
            .map_err(|_| self.error("round", format!("is {round}, larger than a round can be")))?;
        Ok(SignState {
            chain_id: self.chain_id.to_owned(),
            height,
            round,
            step,
            sign_bytes,
            signature,
            unstamped: Vec::new(),
        })
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

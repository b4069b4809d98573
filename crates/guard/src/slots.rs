//! The on-disk format of a sign-state file, as pure functions.
//!
//! A state file is exactly [`FILE_SIZE`] bytes: two slots of [`SLOT_SIZE`]
//! bytes (A at offset 0, B at offset [`SLOT_SIZE`]). A slot is
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `BWKSIGN1` |
//! | 8 | 4 | format version, u32 little-endian (1) |
//! | 12 | 8 | sequence number, u64 little-endian (1 for the first record) |
//! | 20 | 4 | payload length, u32 little-endian |
//! | 24 | 32 | SHA-256 over bytes 0..24 followed by the payload |
//! | 56 | len | payload: the record as JSON (bytes as lowercase hex) |
//! | 56+len | rest | zero padding |
//!
//! Each write goes to the slot that does not hold the newest record, with
//! the next sequence number, so a torn write only damages the slot being
//! written and the other slot keeps the previous record. A slot that is all
//! zero was never written.
//!
//! Slot A carries the odd sequence numbers and B the even ones, and a new
//! file holds sequence 1 in A with B all zero. So an all-zero slot beside a
//! valid record with sequence 2 or more was written once and then zeroed by
//! something else (a disk fault, a file system repair, a manual edit): that
//! is damage ([`SlotDamage::zeroed`]), not a file that is merely young.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::rules::{SignState, Step};

/// Size of one slot in bytes.
pub const SLOT_SIZE: usize = 4096;
/// Size of a whole state file in bytes (two slots).
pub const FILE_SIZE: usize = 2 * SLOT_SIZE;
/// The first eight bytes of every written slot.
pub const MAGIC: [u8; 8] = *b"BWKSIGN1";
/// The slot format version this code reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// Size of the slot header before the payload.
pub const HEADER_SIZE: usize = 56;
/// The largest payload that fits in a slot.
pub const MAX_PAYLOAD: usize = SLOT_SIZE - HEADER_SIZE;

/// The newest valid record of a state file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedStateFile {
    /// The record.
    pub state: SignState,
    /// Its sequence number.
    pub seq: u64,
    /// The slot holding it (0 for A, 1 for B).
    pub slot: usize,
    /// Things the operator should know, for example that the other slot is
    /// damaged.
    pub warnings: Vec<String>,
    /// The other slot, when it does not hold a valid record although it
    /// should.
    pub damage: Option<SlotDamage>,
}

/// A slot without a valid record beside the slot that holds one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotDamage {
    /// The damaged slot (0 for A, 1 for B).
    pub slot: usize,
    /// True when it is all zero although the valid record's sequence number
    /// shows it was written before. A store refuses to open such a file
    /// until an operator confirms the kept record (`state repair`).
    pub zeroed: bool,
    /// What is wrong with it.
    pub reason: String,
}

/// Why a state file holds no usable record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorruptFile {
    /// A description of the damage.
    pub reason: String,
}

impl fmt::Display for CorruptFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// The JSON payload of a slot.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    chain_id: String,
    height: i64,
    round: i32,
    step: Step,
    sign_bytes: String,
    signature: String,
    unstamped: String,
}

/// Encodes `state` as the JSON payload of a slot.
pub fn encode_payload(state: &SignState) -> Vec<u8> {
    let record = Record {
        chain_id: state.chain_id.clone(),
        height: state.height,
        round: state.round,
        step: state.step,
        sign_bytes: hex::encode(&state.sign_bytes),
        signature: hex::encode(&state.signature),
        unstamped: hex::encode(&state.unstamped),
    };
    // A struct of strings and integers always serializes.
    serde_json::to_vec(&record).unwrap_or_default()
}

/// Decodes and validates the JSON payload of a slot.
pub fn decode_payload(bytes: &[u8]) -> Result<SignState, String> {
    let record: Record =
        serde_json::from_slice(bytes).map_err(|e| format!("the record is not valid JSON: {e}"))?;
    let bytes_field = |name: &str, text: &str| {
        hex::decode(text).map_err(|e| format!("field `{name}` is not hex: {e}"))
    };
    let state = SignState {
        sign_bytes: bytes_field("sign_bytes", &record.sign_bytes)?,
        signature: bytes_field("signature", &record.signature)?,
        unstamped: bytes_field("unstamped", &record.unstamped)?,
        chain_id: record.chain_id,
        height: record.height,
        round: record.round,
        step: record.step,
    };
    state.validate()?;
    Ok(state)
}

/// Encodes one slot holding `state` with sequence number `seq`.
///
/// Fails with the payload size when the record does not fit in a slot.
pub fn encode_slot(seq: u64, state: &SignState) -> Result<Vec<u8>, usize> {
    let payload = encode_payload(state);
    if payload.len() > MAX_PAYLOAD {
        return Err(payload.len());
    }
    let mut slot = vec![0u8; SLOT_SIZE];
    slot[0..8].copy_from_slice(&MAGIC);
    slot[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    slot[12..20].copy_from_slice(&seq.to_le_bytes());
    // MAX_PAYLOAD is far below u32::MAX.
    slot[20..24].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    let digest = checksum(&slot[0..24], &payload);
    slot[24..56].copy_from_slice(&digest);
    slot[HEADER_SIZE..HEADER_SIZE + payload.len()].copy_from_slice(&payload);
    Ok(slot)
}

fn checksum(header: &[u8], payload: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(header);
    hasher.update(payload);
    hasher.finalize().into()
}

/// What one slot holds.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Slot {
    /// All zero: never written.
    Empty,
    Valid {
        seq: u64,
        state: SignState,
    },
    Damaged(String),
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut buf = [0u8; 4];
    buf.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(buf)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut buf = [0u8; 8];
    buf.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(buf)
}

/// Reads one slot; `bytes` must be exactly [`SLOT_SIZE`] long.
fn read_slot(bytes: &[u8]) -> Slot {
    if bytes.iter().all(|b| *b == 0) {
        return Slot::Empty;
    }
    if bytes[0..8] != MAGIC {
        return Slot::Damaged("it does not start with the state-file magic".into());
    }
    let version = u32_at(bytes, 8);
    if version != FORMAT_VERSION {
        return Slot::Damaged(format!(
            "it has format version {version}, this signer reads version {FORMAT_VERSION} (was it written by a newer release?)"
        ));
    }
    let seq = u64_at(bytes, 12);
    let len = u32_at(bytes, 20) as usize;
    if len > MAX_PAYLOAD {
        return Slot::Damaged(format!("its payload length {len} exceeds the slot size"));
    }
    let payload = &bytes[HEADER_SIZE..HEADER_SIZE + len];
    if checksum(&bytes[0..24], payload)[..] != bytes[24..56] {
        return Slot::Damaged("its checksum does not match (torn or damaged write)".into());
    }
    if seq == 0 {
        return Slot::Damaged("its sequence number is 0".into());
    }
    match decode_payload(payload) {
        Ok(state) => Slot::Valid { seq, state },
        Err(reason) => Slot::Damaged(reason),
    }
}

/// The operator's name of a slot: 'A' for 0, 'B' for 1.
pub fn slot_name(slot: usize) -> char {
    if slot == 0 {
        'A'
    } else {
        'B'
    }
}

/// Parses a whole state file and returns its newest valid record.
///
/// The file must be exactly [`FILE_SIZE`] bytes; anything else, or a file
/// where neither slot holds a valid record, is corrupt. When one slot is
/// valid and the other damaged (not merely never written), the valid one is
/// used and a warning explains the risk.
pub fn parse_state_file(bytes: &[u8]) -> Result<ParsedStateFile, CorruptFile> {
    if bytes.len() != FILE_SIZE {
        let what = if bytes.is_empty() {
            "the file is empty".to_owned()
        } else {
            format!(
                "the file is {} bytes long, expected {FILE_SIZE}",
                bytes.len()
            )
        };
        return Err(CorruptFile { reason: what });
    }
    let slots = [
        read_slot(&bytes[..SLOT_SIZE]),
        read_slot(&bytes[SLOT_SIZE..]),
    ];
    let mut warnings = Vec::new();
    let mut damage = None;
    let chosen = match (&slots[0], &slots[1]) {
        (Slot::Valid { seq: a, state: sa }, Slot::Valid { seq: b, state: sb }) => {
            if a == b {
                let pick = if sb.hrs() > sa.hrs() { 1 } else { 0 };
                warnings.push(format!(
                    "both slots carry sequence number {a}; using slot {}, the one with the higher height/round/step",
                    slot_name(pick)
                ));
                pick
            } else if b > a {
                1
            } else {
                0
            }
        }
        (Slot::Valid { .. }, other) | (other, Slot::Valid { .. }) => {
            let good = if matches!(slots[0], Slot::Valid { .. }) {
                0
            } else {
                1
            };
            match other {
                Slot::Damaged(reason) => {
                    warnings.push(damaged_warning(good, reason, &slots[good]));
                    damage = Some(SlotDamage {
                        slot: 1 - good,
                        zeroed: false,
                        reason: reason.clone(),
                    });
                }
                Slot::Empty if matches!(slots[good], Slot::Valid { seq, .. } if seq >= 2) => {
                    damage = Some(SlotDamage {
                        slot: 1 - good,
                        zeroed: true,
                        reason: "it is all zero, but the other slot's sequence number shows it was written before".into(),
                    });
                }
                _ => {}
            }
            good
        }
        (a, b) => {
            return Err(CorruptFile {
                reason: format!(
                    "no valid record: slot A {}; slot B {}",
                    describe(a),
                    describe(b)
                ),
            })
        }
    };
    match &slots[chosen] {
        Slot::Valid { seq, state } => Ok(ParsedStateFile {
            state: state.clone(),
            seq: *seq,
            slot: chosen,
            warnings,
            damage,
        }),
        // `chosen` always points at a valid slot.
        _ => Err(CorruptFile {
            reason: "internal error: chose a slot without a valid record".into(),
        }),
    }
}

fn describe(slot: &Slot) -> String {
    match slot {
        Slot::Empty => "was never written".into(),
        Slot::Valid { seq, .. } => format!("is valid (sequence {seq})"),
        Slot::Damaged(reason) => format!("is damaged: {reason}"),
    }
}

fn damaged_warning(good: usize, reason: &str, slot: &Slot) -> String {
    let (seq, hrs) = match slot {
        Slot::Valid { seq, state } => (*seq, state.hrs().to_string()),
        _ => (0, String::new()),
    };
    format!(
        "slot {} is damaged ({reason}); using slot {} (sequence {seq}, {hrs}). \
         This is expected after a crash during a write: the signature being recorded \
         was never released, so the older record is exact. If the damage has another \
         cause (disk fault, manual edit), the record of the newest signature may be \
         lost: check the last height this validator signed on chain and raise the \
         floor above it before signing",
        slot_name(1 - good),
        slot_name(good)
    )
}

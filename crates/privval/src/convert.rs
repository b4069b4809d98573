//! Conversions between the line-independent types and the protobuf structs.
//!
//! Go writes every non-nullable message field, even when it holds the zero
//! value, and reads an absent one as the zero value. The `to_*` functions
//! therefore always fill those fields and the `from_*` functions map an
//! absent field to the Go zero value, so a message decoded from Go bytes
//! encodes back to the same bytes.

use crate::error::{DecodeError, EncodeError};
use crate::line::Line;
use crate::proto::{common as pc, v0_34, v0_38};
use crate::types::{
    BlockId, PartSetHeader, Proposal, PublicKey, RemoteSignerError, SignedMsgType, Timestamp, Vote,
};

/// The timestamp on the wire; errors like Go for an invalid one.
pub(crate) fn timestamp_to_proto(ts: Timestamp) -> Result<pc::Timestamp, EncodeError> {
    if !ts.is_valid() {
        return Err(EncodeError::InvalidTimestamp {
            seconds: ts.seconds,
            nanos: ts.nanos,
        });
    }
    Ok(timestamp_to_proto_unchecked(ts))
}

/// The timestamp on the wire, whatever its value (for sign bytes).
pub(crate) fn timestamp_to_proto_unchecked(ts: Timestamp) -> pc::Timestamp {
    pc::Timestamp {
        seconds: ts.seconds,
        nanos: ts.nanos,
    }
}

/// The timestamp from the wire: absent is Go's zero time.
pub(crate) fn timestamp_from_proto(
    ts: Option<pc::Timestamp>,
    line: Line,
    message: &'static str,
) -> Result<Timestamp, DecodeError> {
    let ts = match ts {
        None => return Ok(Timestamp::GO_ZERO),
        Some(ts) => Timestamp {
            seconds: ts.seconds,
            nanos: ts.nanos,
        },
    };
    if !ts.is_valid() {
        return Err(DecodeError::InvalidTimestamp {
            line,
            message,
            seconds: ts.seconds,
            nanos: ts.nanos,
        });
    }
    Ok(ts)
}

pub(crate) fn block_id_to_proto(b: &BlockId) -> pc::BlockId {
    pc::BlockId {
        hash: b.hash.clone(),
        part_set_header: Some(pc::PartSetHeader {
            total: b.part_set_header.total,
            hash: b.part_set_header.hash.clone(),
        }),
    }
}

pub(crate) fn block_id_from_proto(b: Option<pc::BlockId>) -> BlockId {
    let b = b.unwrap_or_default();
    let psh = b.part_set_header.unwrap_or_default();
    BlockId {
        hash: b.hash,
        part_set_header: PartSetHeader {
            total: psh.total,
            hash: psh.hash,
        },
    }
}

pub(crate) fn error_to_proto(e: &RemoteSignerError) -> pc::RemoteSignerError {
    pc::RemoteSignerError {
        code: e.code,
        description: e.description.clone(),
    }
}

pub(crate) fn error_from_proto(e: pc::RemoteSignerError) -> RemoteSignerError {
    RemoteSignerError {
        code: e.code,
        description: e.description,
    }
}

pub(crate) fn proposal_to_proto(p: &Proposal) -> Result<pc::Proposal, EncodeError> {
    Ok(pc::Proposal {
        r#type: p.msg_type.code(),
        height: p.height,
        round: p.round,
        pol_round: p.pol_round,
        block_id: Some(block_id_to_proto(&p.block_id)),
        timestamp: Some(timestamp_to_proto(p.timestamp)?),
        signature: p.signature.clone(),
    })
}

pub(crate) fn proposal_from_proto(
    p: pc::Proposal,
    line: Line,
    message: &'static str,
) -> Result<Proposal, DecodeError> {
    Ok(Proposal {
        msg_type: SignedMsgType::from_code(p.r#type),
        height: p.height,
        round: p.round,
        pol_round: p.pol_round,
        block_id: block_id_from_proto(p.block_id),
        timestamp: timestamp_from_proto(p.timestamp, line, message)?,
        signature: p.signature,
    })
}

/// A v0.34 vote; extension fields do not exist there.
pub(crate) fn vote_to_v0_34(v: &Vote, line: Line) -> Result<v0_34::Vote, EncodeError> {
    if !v.extension.is_empty() || !v.extension_signature.is_empty() {
        return Err(EncodeError::NotInLine {
            line,
            what: "a vote extension or extension signature",
            lines: "v0.38 and later",
        });
    }
    Ok(v0_34::Vote {
        r#type: v.msg_type.code(),
        height: v.height,
        round: v.round,
        block_id: Some(block_id_to_proto(&v.block_id)),
        timestamp: Some(timestamp_to_proto(v.timestamp)?),
        validator_address: v.validator_address.clone(),
        validator_index: v.validator_index,
        signature: v.signature.clone(),
    })
}

pub(crate) fn vote_from_v0_34(
    v: v0_34::Vote,
    line: Line,
    message: &'static str,
) -> Result<Vote, DecodeError> {
    Ok(Vote {
        msg_type: SignedMsgType::from_code(v.r#type),
        height: v.height,
        round: v.round,
        block_id: block_id_from_proto(v.block_id),
        timestamp: timestamp_from_proto(v.timestamp, line, message)?,
        validator_address: v.validator_address,
        validator_index: v.validator_index,
        signature: v.signature,
        extension: Vec::new(),
        extension_signature: Vec::new(),
    })
}

/// A vote of v0.38 and later (also v1.0's).
pub(crate) fn vote_to_v0_38(v: &Vote) -> Result<v0_38::Vote, EncodeError> {
    Ok(v0_38::Vote {
        r#type: v.msg_type.code(),
        height: v.height,
        round: v.round,
        block_id: Some(block_id_to_proto(&v.block_id)),
        timestamp: Some(timestamp_to_proto(v.timestamp)?),
        validator_address: v.validator_address.clone(),
        validator_index: v.validator_index,
        signature: v.signature.clone(),
        extension: v.extension.clone(),
        extension_signature: v.extension_signature.clone(),
    })
}

pub(crate) fn vote_from_v0_38(
    v: v0_38::Vote,
    line: Line,
    message: &'static str,
) -> Result<Vote, DecodeError> {
    Ok(Vote {
        msg_type: SignedMsgType::from_code(v.r#type),
        height: v.height,
        round: v.round,
        block_id: block_id_from_proto(v.block_id),
        timestamp: timestamp_from_proto(v.timestamp, line, message)?,
        validator_address: v.validator_address,
        validator_index: v.validator_index,
        signature: v.signature,
        extension: v.extension,
        extension_signature: v.extension_signature,
    })
}

/// A `crypto.PublicKey` for a v0.x line.
pub(crate) fn public_key_to_proto(k: &PublicKey, line: Line) -> Result<pc::PublicKey, EncodeError> {
    use pc::public_key::Sum;
    if !k.supported_in(line) {
        return Err(EncodeError::NotInLine {
            line,
            what: key_what(k),
            lines: k.lines(),
        });
    }
    let sum = match k.clone() {
        PublicKey::Ed25519(b) => Sum::Ed25519(b),
        PublicKey::Secp256k1(b) => Sum::Secp256k1(b),
        PublicKey::Bls12381(b) => Sum::Bls12381(b),
        PublicKey::MlDsa65(b) => Sum::Mldsa65(b),
        PublicKey::Secp256k1Eth(b) => Sum::Secp256k1eth(b),
    };
    Ok(pc::PublicKey { sum: Some(sum) })
}

fn key_what(k: &PublicKey) -> &'static str {
    match k {
        PublicKey::Ed25519(_) => "an Ed25519 public key",
        PublicKey::Secp256k1(_) => "a secp256k1 public key",
        PublicKey::Bls12381(_) => "a BLS12-381 public key",
        PublicKey::MlDsa65(_) => "an ML-DSA-65 public key",
        PublicKey::Secp256k1Eth(_) => "a secp256k1eth public key",
    }
}

/// The key of a v0.x `PubKeyResponse` without error.
pub(crate) fn public_key_from_proto(
    k: Option<pc::PublicKey>,
    line: Line,
) -> Result<PublicKey, DecodeError> {
    use pc::public_key::Sum;
    let key = match k.and_then(|k| k.sum) {
        None => {
            return Err(DecodeError::MissingField {
                line,
                message: "PubKeyResponse",
                field: "public key and no error",
                hint: "a signer speaking CometBFT v1.0 sends pub_key_bytes/pub_key_type instead: set the line to the node's CometBFT version",
            })
        }
        Some(Sum::Ed25519(b)) => PublicKey::Ed25519(b),
        Some(Sum::Secp256k1(b)) => PublicKey::Secp256k1(b),
        Some(Sum::Bls12381(b)) => PublicKey::Bls12381(b),
        Some(Sum::Mldsa65(b)) => PublicKey::MlDsa65(b),
        Some(Sum::Secp256k1eth(b)) => PublicKey::Secp256k1Eth(b),
    };
    if !key.supported_in(line) {
        return Err(DecodeError::KeyTypeNotInLine {
            line,
            key_type: key.type_name(),
            lines: key.lines(),
        });
    }
    Ok(key)
}

/// The v1.0 `pub_key_type` and `pub_key_bytes` of a key.
pub(crate) fn public_key_to_v1(k: &PublicKey) -> Result<(String, Vec<u8>), EncodeError> {
    match k.v1_type() {
        Some(t) => Ok((t.to_owned(), k.bytes().to_vec())),
        None => Err(EncodeError::NotInLine {
            line: Line::V1_0,
            what: key_what(k),
            lines: k.lines(),
        }),
    }
}

/// The key of a v1.0 `PubKeyResponse` without error.
pub(crate) fn public_key_from_v1(
    key_type: String,
    bytes: Vec<u8>,
) -> Result<PublicKey, DecodeError> {
    if key_type.is_empty() {
        return Err(DecodeError::MissingField {
            line: Line::V1_0,
            message: "PubKeyResponse",
            field: "pub_key_type and no error",
            hint: "a signer speaking CometBFT v0.x sends the key in the old pub_key field: set the line to the node's CometBFT version",
        });
    }
    PublicKey::from_v1_type(&key_type, bytes).ok_or(DecodeError::UnknownKeyType { key_type })
}

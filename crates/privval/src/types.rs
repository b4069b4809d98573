//! Line-independent consensus types: votes, proposals, block IDs, keys.
//!
//! These mirror CometBFT's Go structs (`cmtproto.Vote`, `cmtproto.Proposal`,
//! ...) including their zero values, so that encoding a default value gives
//! the same bytes as the Go zero value.

use std::fmt;

use crate::line::Line;

/// Seconds of Go's zero `time.Time` (0001-01-01T00:00:00Z) since the Unix
/// epoch; also the smallest valid protobuf timestamp.
pub const GO_ZERO_TIME_SECONDS: i64 = -62_135_596_800;

/// Seconds of 10000-01-01T00:00:00Z since the Unix epoch: the first
/// second a protobuf timestamp cannot hold.
pub const TIMESTAMP_END_SECONDS: i64 = 253_402_300_800;

/// A point in time as protobuf's `google.protobuf.Timestamp`.
///
/// The [`Default`] is Go's zero `time.Time` (0001-01-01T00:00:00Z), not the
/// Unix epoch: CometBFT encodes its `time.Time` fields always, so a vote
/// whose timestamp was never set goes over the wire and into the sign bytes
/// as `seconds = -62135596800`. A message whose timestamp field is absent
/// decodes to that value too, as it does in Go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub seconds: i64,
    /// Nanoseconds within the second, `0..1_000_000_000`.
    pub nanos: i32,
}

impl Timestamp {
    /// Go's zero `time.Time`, 0001-01-01T00:00:00Z.
    pub const GO_ZERO: Timestamp = Timestamp {
        seconds: GO_ZERO_TIME_SECONDS,
        nanos: 0,
    };

    /// 1970-01-01T00:00:00Z; encodes as an empty message.
    pub const UNIX_EPOCH: Timestamp = Timestamp {
        seconds: 0,
        nanos: 0,
    };

    /// Whether Go's protobuf time conversion accepts it: from year 1 to
    /// year 9999, nanos in `0..1e9`. Messages with other values fail to
    /// decode in CometBFT, and here.
    pub fn is_valid(&self) -> bool {
        (GO_ZERO_TIME_SECONDS..TIMESTAMP_END_SECONDS).contains(&self.seconds)
            && (0..1_000_000_000).contains(&self.nanos)
    }
}

impl Default for Timestamp {
    fn default() -> Timestamp {
        Timestamp::GO_ZERO
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s+{}ns since 1970", self.seconds, self.nanos)
    }
}

/// The type of a signed consensus message (`SignedMsgType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SignedMsgType {
    /// 0: not set.
    #[default]
    Unknown,
    /// 1: a prevote.
    Prevote,
    /// 2: a precommit.
    Precommit,
    /// 32: a proposal.
    Proposal,
    /// Any other value; protobuf enums are open, so it is kept as sent.
    Other(i32),
}

impl SignedMsgType {
    /// The value for a wire code.
    pub fn from_code(code: i32) -> SignedMsgType {
        match code {
            0 => SignedMsgType::Unknown,
            1 => SignedMsgType::Prevote,
            2 => SignedMsgType::Precommit,
            32 => SignedMsgType::Proposal,
            other => SignedMsgType::Other(other),
        }
    }

    /// The wire code.
    pub fn code(self) -> i32 {
        match self {
            SignedMsgType::Unknown => 0,
            SignedMsgType::Prevote => 1,
            SignedMsgType::Precommit => 2,
            SignedMsgType::Proposal => 32,
            SignedMsgType::Other(code) => code,
        }
    }
}

impl fmt::Display for SignedMsgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignedMsgType::Unknown => f.write_str("unknown (0)"),
            SignedMsgType::Prevote => f.write_str("prevote (1)"),
            SignedMsgType::Precommit => f.write_str("precommit (2)"),
            SignedMsgType::Proposal => f.write_str("proposal (32)"),
            SignedMsgType::Other(code) => write!(f, "unknown type ({code})"),
        }
    }
}

/// The header of a block's part set.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct PartSetHeader {
    /// Number of parts.
    pub total: u32,
    /// Merkle root of the parts.
    pub hash: Vec<u8>,
}

impl PartSetHeader {
    /// Zero total and empty hash.
    pub fn is_zero(&self) -> bool {
        self.total == 0 && self.hash.is_empty()
    }
}

/// A block ID. The zero value (empty hash, zero part set header) stands for
/// "no block": a vote for nil.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct BlockId {
    /// Block hash (32 bytes, or empty).
    pub hash: Vec<u8>,
    /// Part set header.
    pub part_set_header: PartSetHeader,
}

/// Size of CometBFT hashes (SHA-256).
pub const HASH_SIZE: usize = 32;

impl BlockId {
    /// Whether this is the nil block ID (CometBFT's `IsZero`/`IsNil`): the
    /// sign bytes then carry no block ID at all.
    pub fn is_nil(&self) -> bool {
        self.hash.is_empty() && self.part_set_header.is_zero()
    }

    /// CometBFT's `BlockID.ValidateBasic`: each hash is empty or 32 bytes.
    /// CometBFT panics computing sign bytes for a block ID that fails this,
    /// so a signer should refuse such a request.
    pub fn validate(&self) -> Result<(), String> {
        if !self.hash.is_empty() && self.hash.len() != HASH_SIZE {
            return Err(format!(
                "block ID hash has {} bytes, expected {HASH_SIZE} or none",
                self.hash.len()
            ));
        }
        let psh = &self.part_set_header.hash;
        if !psh.is_empty() && psh.len() != HASH_SIZE {
            return Err(format!(
                "part set header hash has {} bytes, expected {HASH_SIZE} or none",
                psh.len()
            ));
        }
        Ok(())
    }
}

/// A prevote or precommit (`types.Vote`).
///
/// `extension` and `extension_signature` exist on the wire from v0.38 on;
/// in v0.34 they must stay empty.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Vote {
    /// Prevote or precommit.
    pub msg_type: SignedMsgType,
    /// Block height.
    pub height: i64,
    /// Consensus round.
    pub round: i32,
    /// The block voted for; nil ([`BlockId::is_nil`]) for a nil vote.
    pub block_id: BlockId,
    /// Vote time.
    pub timestamp: Timestamp,
    /// Address of the validator.
    pub validator_address: Vec<u8>,
    /// Index of the validator in the validator set.
    pub validator_index: i32,
    /// Signature over the canonical vote.
    pub signature: Vec<u8>,
    /// Vote extension from the application (non-nil precommits, v0.38+).
    pub extension: Vec<u8>,
    /// Signature over the canonical vote extension (v0.38+).
    pub extension_signature: Vec<u8>,
}

impl Vote {
    /// Whether CometBFT's signers sign the vote extension of this vote: a
    /// precommit for a non-nil block, even with an empty extension (lines
    /// with extensions; in v1.0 unless the request sets
    /// `skip_extension_signing`). FilePV refuses a vote that carries an
    /// extension without being such a precommit.
    pub fn signs_extension(&self) -> bool {
        self.msg_type == SignedMsgType::Precommit && !self.block_id.is_nil()
    }
}

/// A block proposal (`types.Proposal`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Proposal {
    /// Always [`SignedMsgType::Proposal`] from a correct node; the sign
    /// bytes use 32 whatever this says.
    pub msg_type: SignedMsgType,
    /// Block height.
    pub height: i64,
    /// Consensus round.
    pub round: i32,
    /// Proof-of-lock round, -1 when none.
    pub pol_round: i32,
    /// The proposed block.
    pub block_id: BlockId,
    /// Proposal time.
    pub timestamp: Timestamp,
    /// Signature over the canonical proposal.
    pub signature: Vec<u8>,
}

/// A consensus public key. Which types a line can carry is given by
/// [`PublicKey::supported_in`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum PublicKey {
    /// Ed25519, 32 bytes.
    Ed25519(Vec<u8>),
    /// secp256k1, 33 bytes compressed.
    Secp256k1(Vec<u8>),
    /// BLS12-381.
    Bls12381(Vec<u8>),
    /// ML-DSA-65.
    MlDsa65(Vec<u8>),
    /// secp256k1 with Ethereum addresses.
    Secp256k1Eth(Vec<u8>),
}

impl PublicKey {
    /// The raw key bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            PublicKey::Ed25519(b)
            | PublicKey::Secp256k1(b)
            | PublicKey::Bls12381(b)
            | PublicKey::MlDsa65(b)
            | PublicKey::Secp256k1Eth(b) => b,
        }
    }

    /// A short human name of the key type.
    pub fn type_name(&self) -> &'static str {
        match self {
            PublicKey::Ed25519(_) => "Ed25519",
            PublicKey::Secp256k1(_) => "secp256k1",
            PublicKey::Bls12381(_) => "BLS12-381",
            PublicKey::MlDsa65(_) => "ML-DSA-65",
            PublicKey::Secp256k1Eth(_) => "secp256k1eth",
        }
    }

    /// Whether `line` can carry this key type in `PubKeyResponse`.
    ///
    /// v0.34/v0.37 know Ed25519 and secp256k1. The v0.38 line adds ML-DSA-65
    /// (v0.38.26's `crypto.PublicKey`) and BLS12-381 (v0.39); a given patch
    /// release may know only some of them. v0.40 knows all five. v1.0 names
    /// the type by string and knows `ed25519`, `secp256k1` and `bls12_381`.
    pub fn supported_in(&self, line: Line) -> bool {
        match self {
            PublicKey::Ed25519(_) | PublicKey::Secp256k1(_) => true,
            PublicKey::Bls12381(_) => matches!(line, Line::V0_38 | Line::V0_40 | Line::V1_0),
            PublicKey::MlDsa65(_) => matches!(line, Line::V0_38 | Line::V0_40),
            PublicKey::Secp256k1Eth(_) => line == Line::V0_40,
        }
    }

    /// The lines that can carry this key type, for error messages.
    pub fn lines(&self) -> &'static str {
        match self {
            PublicKey::Ed25519(_) | PublicKey::Secp256k1(_) => "all lines",
            PublicKey::Bls12381(_) => "v0.39, v0.40 and v1.0",
            PublicKey::MlDsa65(_) => "v0.38.26+ and v0.40",
            PublicKey::Secp256k1Eth(_) => "v0.40",
        }
    }

    /// The v1.0 `pub_key_type` string, for the types v1.0 knows.
    pub fn v1_type(&self) -> Option<&'static str> {
        match self {
            PublicKey::Ed25519(_) => Some("ed25519"),
            PublicKey::Secp256k1(_) => Some("secp256k1"),
            PublicKey::Bls12381(_) => Some("bls12_381"),
            PublicKey::MlDsa65(_) | PublicKey::Secp256k1Eth(_) => None,
        }
    }

    /// The key for a v1.0 `pub_key_type` string and bytes.
    pub fn from_v1_type(key_type: &str, bytes: Vec<u8>) -> Option<PublicKey> {
        match key_type {
            "ed25519" => Some(PublicKey::Ed25519(bytes)),
            "secp256k1" => Some(PublicKey::Secp256k1(bytes)),
            "bls12_381" => Some(PublicKey::Bls12381(bytes)),
            _ => None,
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.type_name())?;
        for b in self.bytes() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// An error reported by the signer inside a response
/// (`privval.RemoteSignerError`). The node logs it and keeps the connection.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct RemoteSignerError {
    /// Error code; CometBFT's own signer always sends 0.
    pub code: i32,
    /// Human-readable reason.
    pub description: String,
}

impl RemoteSignerError {
    /// An error with code 0, as CometBFT's signer sends.
    pub fn new(description: impl Into<String>) -> RemoteSignerError {
        RemoteSignerError {
            code: 0,
            description: description.into(),
        }
    }
}

/// Height, round and step: the double-sign guard's types, so a request's position
/// and a stored record's are one type.
pub use guard::{Hrs, Step};

/// The step of a vote type: prevote or precommit, nothing else.
pub fn vote_step(msg_type: SignedMsgType) -> Option<Step> {
    match msg_type {
        SignedMsgType::Prevote => Some(Step::Prevote),
        SignedMsgType::Precommit => Some(Step::Precommit),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msg_type_codes_round_trip() {
        for code in [-5, 0, 1, 2, 3, 31, 32, 33, i32::MAX, i32::MIN] {
            assert_eq!(SignedMsgType::from_code(code).code(), code);
        }
        assert_eq!(SignedMsgType::Prevote.code(), 1);
        assert_eq!(SignedMsgType::Precommit.code(), 2);
        assert_eq!(SignedMsgType::Proposal.code(), 32);
    }

    #[test]
    fn timestamp_validity_matches_go() {
        assert!(Timestamp::GO_ZERO.is_valid());
        assert!(Timestamp::UNIX_EPOCH.is_valid());
        assert!(!Timestamp {
            seconds: GO_ZERO_TIME_SECONDS - 1,
            nanos: 0
        }
        .is_valid());
        assert!(!Timestamp {
            seconds: TIMESTAMP_END_SECONDS,
            nanos: 0
        }
        .is_valid());
        assert!(Timestamp {
            seconds: TIMESTAMP_END_SECONDS - 1,
            nanos: 999_999_999
        }
        .is_valid());
        assert!(!Timestamp {
            seconds: 0,
            nanos: -1
        }
        .is_valid());
        assert!(!Timestamp {
            seconds: 0,
            nanos: 1_000_000_000
        }
        .is_valid());
    }

    #[test]
    fn nil_block_id() {
        assert!(BlockId::default().is_nil());
        let hash_only = BlockId {
            hash: vec![1; 32],
            ..BlockId::default()
        };
        assert!(!hash_only.is_nil());
        let parts_only = BlockId {
            part_set_header: PartSetHeader {
                total: 1,
                hash: Vec::new(),
            },
            ..BlockId::default()
        };
        assert!(!parts_only.is_nil());
        assert!(BlockId {
            hash: vec![0; 31],
            ..BlockId::default()
        }
        .validate()
        .is_err());
    }

    #[test]
    fn steps_are_ordered_like_filepv() {
        assert!(Step::Propose < Step::Prevote && Step::Prevote < Step::Precommit);
        assert_eq!(Step::Precommit.as_cometbft(), 3);
        assert_eq!(vote_step(SignedMsgType::Proposal), None);
    }
}

//! Canonical messages that are signed (`types/canonical.proto`); the same
//! in every line, `CanonicalVoteExtension` from v0.38 on.

use super::common::Timestamp;

/// `types.CanonicalPartSetHeader`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct CanonicalPartSetHeader {
    /// Number of parts.
    #[prost(uint32, tag = "1")]
    pub total: u32,
    /// Merkle root of the parts.
    #[prost(bytes = "vec", tag = "2")]
    pub hash: Vec<u8>,
}

/// `types.CanonicalBlockID`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct CanonicalBlockId {
    /// Block hash.
    #[prost(bytes = "vec", tag = "1")]
    pub hash: Vec<u8>,
    /// Non-nullable in Go.
    #[prost(message, optional, tag = "2")]
    pub part_set_header: Option<CanonicalPartSetHeader>,
}

/// `types.CanonicalVote`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct CanonicalVote {
    /// `SignedMsgType`.
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    /// Height, fixed width.
    #[prost(sfixed64, tag = "2")]
    pub height: i64,
    /// Round, fixed width.
    #[prost(sfixed64, tag = "3")]
    pub round: i64,
    /// Absent for a nil vote.
    #[prost(message, optional, tag = "4")]
    pub block_id: Option<CanonicalBlockId>,
    /// Non-nullable in Go.
    #[prost(message, optional, tag = "5")]
    pub timestamp: Option<Timestamp>,
    /// Chain ID.
    #[prost(string, tag = "6")]
    pub chain_id: String,
}

/// `types.CanonicalProposal`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct CanonicalProposal {
    /// `SignedMsgType`, always 32.
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    /// Height, fixed width.
    #[prost(sfixed64, tag = "2")]
    pub height: i64,
    /// Round, fixed width.
    #[prost(sfixed64, tag = "3")]
    pub round: i64,
    /// Proof-of-lock round, varint.
    #[prost(int64, tag = "4")]
    pub pol_round: i64,
    /// Absent for a nil block ID.
    #[prost(message, optional, tag = "5")]
    pub block_id: Option<CanonicalBlockId>,
    /// Non-nullable in Go.
    #[prost(message, optional, tag = "6")]
    pub timestamp: Option<Timestamp>,
    /// Chain ID.
    #[prost(string, tag = "7")]
    pub chain_id: String,
}

/// `types.CanonicalVoteExtension` (v0.38+).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct CanonicalVoteExtension {
    /// The extension.
    #[prost(bytes = "vec", tag = "1")]
    pub extension: Vec<u8>,
    /// Height, fixed width.
    #[prost(sfixed64, tag = "2")]
    pub height: i64,
    /// Round, fixed width.
    #[prost(sfixed64, tag = "3")]
    pub round: i64,
    /// Chain ID.
    #[prost(string, tag = "4")]
    pub chain_id: String,
}

//! Messages shared by every line (`tendermint.types`, `tendermint.crypto`,
//! `tendermint.privval` in v0.x; `cometbft.*.v1` in v1.0: same fields).

/// `google.protobuf.Timestamp`.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds within the second.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// `types.PartSetHeader`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PartSetHeader {
    /// Number of parts.
    #[prost(uint32, tag = "1")]
    pub total: u32,
    /// Merkle root of the parts.
    #[prost(bytes = "vec", tag = "2")]
    pub hash: Vec<u8>,
}

/// `types.BlockID`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct BlockId {
    /// Block hash.
    #[prost(bytes = "vec", tag = "1")]
    pub hash: Vec<u8>,
    /// Non-nullable in Go.
    #[prost(message, optional, tag = "2")]
    pub part_set_header: Option<PartSetHeader>,
}

/// `types.Proposal` (the same in every line).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Proposal {
    /// `SignedMsgType`.
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    /// Height.
    #[prost(int64, tag = "2")]
    pub height: i64,
    /// Round.
    #[prost(int32, tag = "3")]
    pub round: i32,
    /// Proof-of-lock round.
    #[prost(int32, tag = "4")]
    pub pol_round: i32,
    /// Non-nullable in Go.
    #[prost(message, optional, tag = "5")]
    pub block_id: Option<BlockId>,
    /// Non-nullable in Go.
    #[prost(message, optional, tag = "6")]
    pub timestamp: Option<Timestamp>,
    /// Signature.
    #[prost(bytes = "vec", tag = "7")]
    pub signature: Vec<u8>,
}

/// `crypto.PublicKey`: the union of the key types of every v0.x line
/// (v0.34: 1, 2; v0.38.26: 1, 2, 4; v0.39: 1, 2, 3; v0.40: 1-5).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PublicKey {
    /// The key.
    #[prost(oneof = "public_key::Sum", tags = "1, 2, 3, 4, 5")]
    pub sum: Option<public_key::Sum>,
}

/// The oneof of [`PublicKey`].
pub mod public_key {
    /// `crypto.PublicKey.sum`.
    #[derive(Clone, PartialEq, Eq, prost::Oneof)]
    pub enum Sum {
        /// Ed25519.
        #[prost(bytes, tag = "1")]
        Ed25519(Vec<u8>),
        /// secp256k1.
        #[prost(bytes, tag = "2")]
        Secp256k1(Vec<u8>),
        /// BLS12-381.
        #[prost(bytes, tag = "3")]
        Bls12381(Vec<u8>),
        /// ML-DSA-65.
        #[prost(bytes, tag = "4")]
        Mldsa65(Vec<u8>),
        /// secp256k1eth.
        #[prost(bytes, tag = "5")]
        Secp256k1eth(Vec<u8>),
    }
}

/// `privval.RemoteSignerError`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct RemoteSignerError {
    /// Code.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// Description.
    #[prost(string, tag = "2")]
    pub description: String,
}

/// `privval.PubKeyRequest`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PubKeyRequest {
    /// Chain ID.
    #[prost(string, tag = "1")]
    pub chain_id: String,
}

/// `privval.PubKeyResponse` of the v0.x lines.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PubKeyResponse {
    /// Non-nullable in Go.
    #[prost(message, optional, tag = "1")]
    pub pub_key: Option<PublicKey>,
    /// Set on failure.
    #[prost(message, optional, tag = "2")]
    pub error: Option<RemoteSignerError>,
}

/// `privval.SignProposalRequest`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SignProposalRequest {
    /// Nullable in Go; a correct node always sets it.
    #[prost(message, optional, tag = "1")]
    pub proposal: Option<Proposal>,
    /// Chain ID.
    #[prost(string, tag = "2")]
    pub chain_id: String,
}

/// `privval.SignedProposalResponse`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SignedProposalResponse {
    /// Non-nullable in Go.
    #[prost(message, optional, tag = "1")]
    pub proposal: Option<Proposal>,
    /// Set on failure.
    #[prost(message, optional, tag = "2")]
    pub error: Option<RemoteSignerError>,
}

/// `privval.PingRequest`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PingRequest {}

/// `privval.PingResponse`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PingResponse {}

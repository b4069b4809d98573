//! `tendermint.privval` of CometBFT v0.34 and v0.37 (identical protos).

use super::common::{
    BlockId, PingRequest, PingResponse, PubKeyRequest, PubKeyResponse, RemoteSignerError,
    SignProposalRequest, SignedProposalResponse, Timestamp,
};

/// `types.Vote` without vote extensions (fields 1-8).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Vote {
    /// `SignedMsgType`.
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    /// Height.
    #[prost(int64, tag = "2")]
    pub height: i64,
    /// Round.
    #[prost(int32, tag = "3")]
    pub round: i32,
    /// Non-nullable in Go.
    #[prost(message, optional, tag = "4")]
    pub block_id: Option<BlockId>,
    /// Non-nullable in Go.
    #[prost(message, optional, tag = "5")]
    pub timestamp: Option<Timestamp>,
    /// Validator address.
    #[prost(bytes = "vec", tag = "6")]
    pub validator_address: Vec<u8>,
    /// Validator index.
    #[prost(int32, tag = "7")]
    pub validator_index: i32,
    /// Signature.
    #[prost(bytes = "vec", tag = "8")]
    pub signature: Vec<u8>,
}

/// `privval.SignVoteRequest`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SignVoteRequest {
    /// Nullable in Go; a correct node always sets it.
    #[prost(message, optional, tag = "1")]
    pub vote: Option<Vote>,
    /// Chain ID.
    #[prost(string, tag = "2")]
    pub chain_id: String,
}

/// `privval.SignedVoteResponse`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SignedVoteResponse {
    /// Non-nullable in Go.
    #[prost(message, optional, tag = "1")]
    pub vote: Option<Vote>,
    /// Set on failure.
    #[prost(message, optional, tag = "2")]
    pub error: Option<RemoteSignerError>,
}

/// `privval.Message`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Message {
    /// The message.
    #[prost(oneof = "Sum", tags = "1, 2, 3, 4, 5, 6, 7, 8")]
    pub sum: Option<Sum>,
}

/// `privval.Message.sum`.
#[derive(Clone, PartialEq, Eq, prost::Oneof)]
pub enum Sum {
    /// Tag 1.
    #[prost(message, tag = "1")]
    PubKeyRequest(PubKeyRequest),
    /// Tag 2.
    #[prost(message, tag = "2")]
    PubKeyResponse(PubKeyResponse),
    /// Tag 3.
    #[prost(message, tag = "3")]
    SignVoteRequest(SignVoteRequest),
    /// Tag 4.
    #[prost(message, tag = "4")]
    SignedVoteResponse(SignedVoteResponse),
    /// Tag 5.
    #[prost(message, tag = "5")]
    SignProposalRequest(SignProposalRequest),
    /// Tag 6.
    #[prost(message, tag = "6")]
    SignedProposalResponse(SignedProposalResponse),
    /// Tag 7.
    #[prost(message, tag = "7")]
    PingRequest(PingRequest),
    /// Tag 8.
    #[prost(message, tag = "8")]
    PingResponse(PingResponse),
}

//! `cometbft.privval.v1` of CometBFT v1.0.

use super::common::{
    PingRequest, PingResponse, PubKeyRequest, RemoteSignerError, SignProposalRequest,
    SignedProposalResponse,
};
pub use super::v0_38::{SignedVoteResponse, Vote};

/// `privval.v1.PubKeyResponse`: the key as type name and bytes; field 1
/// (the old `pub_key`) is reserved.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PubKeyResponse {
    /// Set on failure.
    #[prost(message, optional, tag = "2")]
    pub error: Option<RemoteSignerError>,
    /// Raw key bytes.
    #[prost(bytes = "vec", tag = "3")]
    pub pub_key_bytes: Vec<u8>,
    /// Key type name (`ed25519`, `secp256k1`, `bls12_381`).
    #[prost(string, tag = "4")]
    pub pub_key_type: String,
}

/// `privval.v1.SignVoteRequest`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SignVoteRequest {
    /// Nullable in Go; a correct node always sets it.
    #[prost(message, optional, tag = "1")]
    pub vote: Option<Vote>,
    /// Chain ID.
    #[prost(string, tag = "2")]
    pub chain_id: String,
    /// When true the signer may leave the extension unsigned.
    #[prost(bool, tag = "3")]
    pub skip_extension_signing: bool,
}

/// `privval.v1.SignBytesRequest`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SignBytesRequest {
    /// Bytes to sign as they are.
    #[prost(bytes = "vec", tag = "1")]
    pub value: Vec<u8>,
}

/// `privval.v1.SignBytesResponse`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SignBytesResponse {
    /// The signature.
    #[prost(bytes = "vec", tag = "1")]
    pub signature: Vec<u8>,
    /// Set on failure.
    #[prost(message, optional, tag = "2")]
    pub error: Option<RemoteSignerError>,
}

/// `privval.v1.Message`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Message {
    /// The message.
    #[prost(oneof = "Sum", tags = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10")]
    pub sum: Option<Sum>,
}

/// `privval.v1.Message.sum`.
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
    /// Tag 9.
    #[prost(message, tag = "9")]
    SignBytesRequest(SignBytesRequest),
    /// Tag 10.
    #[prost(message, tag = "10")]
    SignBytesResponse(SignBytesResponse),
}

//! The line-independent request/response API.
//!
//! A signer decodes what the node sends with [`decode_request`] and answers
//! with [`encode_response`]; a test or benchmark acting as the node uses
//! [`encode_request`] and [`decode_response`]. The byte slices are single
//! `privval.Message`s without the length prefix; see [`crate::frame`] for
//! framing, or [`encode_request_frame`]/[`encode_response_frame`].

use crate::codec::{self, Message};
use crate::error::{DecodeError, Direction, EncodeError};
use crate::frame::encode_frame;
use crate::line::Line;
use crate::sign_bytes::{
    proposal_sign_bytes, unstamped_proposal_sign_bytes, unstamped_vote_sign_bytes, vote_sign_bytes,
};
use crate::types::{Hrs, Proposal, PublicKey, RemoteSignerError, SignedMsgType, Step, Vote};

/// What the node asks of the signer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// The validator's public key (`PubKeyRequest`).
    PubKey {
        /// Chain the node runs.
        chain_id: String,
    },
    /// Sign a prevote or precommit (`SignVoteRequest`).
    SignVote {
        /// Chain the vote is for.
        chain_id: String,
        /// The vote, usually without signatures.
        vote: Vote,
        /// v1.0 only: the signer may leave the vote extension unsigned.
        /// Always `false` in older lines.
        skip_extension_signing: bool,
    },
    /// Sign a proposal (`SignProposalRequest`).
    SignProposal {
        /// Chain the proposal is for.
        chain_id: String,
        /// The proposal, usually without signature.
        proposal: Proposal,
    },
    /// v1.0 only: sign arbitrary bytes (`SignBytesRequest`).
    SignBytes {
        /// The bytes to sign as they are.
        value: Vec<u8>,
    },
    /// Keep-alive (`PingRequest`).
    Ping,
}

/// The kinds of response that can carry a [`RemoteSignerError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResponseKind {
    /// `PubKeyResponse`.
    PubKey,
    /// `SignedVoteResponse`.
    SignedVote,
    /// `SignedProposalResponse`.
    SignedProposal,
    /// `SignBytesResponse` (v1.0).
    SignBytes,
}

impl ResponseKind {
    /// The protobuf message name.
    pub fn message_name(self) -> &'static str {
        match self {
            ResponseKind::PubKey => "PubKeyResponse",
            ResponseKind::SignedVote => "SignedVoteResponse",
            ResponseKind::SignedProposal => "SignedProposalResponse",
            ResponseKind::SignBytes => "SignBytesResponse",
        }
    }
}

/// What the signer answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// The public key.
    PubKey {
        /// The key; which types a line can carry: [`PublicKey::supported_in`].
        pub_key: PublicKey,
    },
    /// The vote with `signature` (and `extension_signature`) filled in.
    SignedVote {
        /// The signed vote.
        vote: Vote,
    },
    /// The proposal with `signature` filled in.
    SignedProposal {
        /// The signed proposal.
        proposal: Proposal,
    },
    /// v1.0 only: the signature over a [`Request::SignBytes`] value.
    SignBytes {
        /// The signature.
        signature: Vec<u8>,
    },
    /// Keep-alive answer.
    Ping,
    /// A refusal or failure; the node logs it and keeps the connection.
    Error {
        /// Which response carries the error.
        kind: ResponseKind,
        /// Code and description.
        error: RemoteSignerError,
    },
}

/// The bytes a consensus request asks to sign, and the same with the
/// timestamp zeroed, for a double-sign guard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signable {
    /// Height, round and step.
    pub hrs: Hrs,
    /// Canonical sign bytes (length-prefixed canonical encoding).
    pub sign_bytes: Vec<u8>,
    /// `sign_bytes` with the timestamp set to the Unix epoch: two requests
    /// whose `unstamped` bytes are equal differ at most in their timestamp.
    pub unstamped: Vec<u8>,
}

/// A vote whose type is neither prevote nor precommit: CometBFT's FilePV
/// panics on it, a signer must refuse it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("vote type {msg_type} is neither prevote (1) nor precommit (2); refusing it: the node is broken or not CometBFT")]
pub struct InvalidVoteType {
    /// The type received.
    pub msg_type: SignedMsgType,
}

impl Request {
    /// The protobuf message name.
    pub fn message_name(&self) -> &'static str {
        match self {
            Request::PubKey { .. } => "PubKeyRequest",
            Request::SignVote { .. } => "SignVoteRequest",
            Request::SignProposal { .. } => "SignProposalRequest",
            Request::SignBytes { .. } => "SignBytesRequest",
            Request::Ping => "PingRequest",
        }
    }

    /// The chain ID the request names, if it has one.
    pub fn chain_id(&self) -> Option<&str> {
        match self {
            Request::PubKey { chain_id }
            | Request::SignVote { chain_id, .. }
            | Request::SignProposal { chain_id, .. } => Some(chain_id),
            Request::SignBytes { .. } | Request::Ping => None,
        }
    }

    /// The kind of response that answers this request; `None` for ping,
    /// whose response cannot carry an error.
    pub fn response_kind(&self) -> Option<ResponseKind> {
        match self {
            Request::PubKey { .. } => Some(ResponseKind::PubKey),
            Request::SignVote { .. } => Some(ResponseKind::SignedVote),
            Request::SignProposal { .. } => Some(ResponseKind::SignedProposal),
            Request::SignBytes { .. } => Some(ResponseKind::SignBytes),
            Request::Ping => None,
        }
    }

    /// An error response to this request; `None` for ping.
    pub fn error_response(&self, error: RemoteSignerError) -> Option<Response> {
        self.response_kind()
            .map(|kind| Response::Error { kind, error })
    }

    /// Height, round and step of a consensus request (`Ok(None)` for
    /// requests that sign nothing at a height: pub key, sign bytes, ping).
    /// A vote that is not a prevote or precommit is an error.
    pub fn hrs(&self) -> Result<Option<Hrs>, InvalidVoteType> {
        match self {
            Request::SignVote { vote, .. } => {
                let step = crate::types::vote_step(vote.msg_type).ok_or(InvalidVoteType {
                    msg_type: vote.msg_type,
                })?;
                Ok(Some(Hrs {
                    height: vote.height,
                    round: vote.round,
                    step,
                }))
            }
            Request::SignProposal { proposal, .. } => Ok(Some(Hrs {
                height: proposal.height,
                round: proposal.round,
                step: Step::Propose,
            })),
            Request::PubKey { .. } | Request::SignBytes { .. } | Request::Ping => Ok(None),
        }
    }

    /// HRS, sign bytes and unstamped sign bytes of a vote or proposal
    /// request (`Ok(None)` for other requests).
    pub fn signable(&self) -> Result<Option<Signable>, InvalidVoteType> {
        let Some(hrs) = self.hrs()? else {
            return Ok(None);
        };
        let (sign_bytes, unstamped) = match self {
            Request::SignVote { chain_id, vote, .. } => (
                vote_sign_bytes(chain_id, vote),
                unstamped_vote_sign_bytes(chain_id, vote),
            ),
            Request::SignProposal { chain_id, proposal } => (
                proposal_sign_bytes(chain_id, proposal),
                unstamped_proposal_sign_bytes(chain_id, proposal),
            ),
            Request::PubKey { .. } | Request::SignBytes { .. } | Request::Ping => return Ok(None),
        };
        Ok(Some(Signable {
            hrs,
            sign_bytes,
            unstamped,
        }))
    }
}

impl Response {
    /// The protobuf message name.
    pub fn message_name(&self) -> &'static str {
        match self {
            Response::PubKey { .. } => "PubKeyResponse",
            Response::SignedVote { .. } => "SignedVoteResponse",
            Response::SignedProposal { .. } => "SignedProposalResponse",
            Response::SignBytes { .. } => "SignBytesResponse",
            Response::Ping => "PingResponse",
            Response::Error { kind, .. } => kind.message_name(),
        }
    }
}

/// Decodes a message from the node (without length prefix).
pub fn decode_request(line: Line, bytes: &[u8]) -> Result<Request, DecodeError> {
    match codec::decode(line, bytes)? {
        Message::Request(req) => Ok(req),
        Message::Response(resp) => Err(DecodeError::WrongDirection {
            line,
            name: resp.message_name(),
            expected: Direction::Request,
        }),
    }
}

/// Decodes a message from the signer (without length prefix).
pub fn decode_response(line: Line, bytes: &[u8]) -> Result<Response, DecodeError> {
    match codec::decode(line, bytes)? {
        Message::Response(resp) => Ok(resp),
        Message::Request(req) => Err(DecodeError::WrongDirection {
            line,
            name: req.message_name(),
            expected: Direction::Response,
        }),
    }
}

/// Encodes a request as the node of `line` does (without length prefix).
pub fn encode_request(line: Line, req: &Request) -> Result<Vec<u8>, EncodeError> {
    codec::encode_request(line, req)
}

/// Encodes a response as CometBFT's own signer of `line` does (without
/// length prefix). Error responses carry the zero vote, proposal or key
/// beside the error, as Go sends them.
pub fn encode_response(line: Line, resp: &Response) -> Result<Vec<u8>, EncodeError> {
    codec::encode_response(line, resp)
}

/// [`encode_request`], length-prefixed, refusing messages over the line's
/// frame limit.
pub fn encode_request_frame(line: Line, req: &Request) -> Result<Vec<u8>, EncodeError> {
    frame_checked(line, encode_request(line, req)?)
}

/// [`encode_response`], length-prefixed, refusing messages over the line's
/// frame limit.
pub fn encode_response_frame(line: Line, resp: &Response) -> Result<Vec<u8>, EncodeError> {
    frame_checked(line, encode_response(line, resp)?)
}

fn frame_checked(line: Line, message: Vec<u8>) -> Result<Vec<u8>, EncodeError> {
    let max = line.max_frame_size();
    if message.len() > max {
        return Err(EncodeError::TooLarge {
            line,
            size: message.len(),
            max,
        });
    }
    Ok(encode_frame(&message))
}

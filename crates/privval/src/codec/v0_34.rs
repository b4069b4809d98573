//! Encoding and decoding for the v0.34 line (v0.34, v0.37).

use prost::Message as _;

use super::Message;
use crate::api::{Request, Response, ResponseKind};
use crate::convert::{
    error_from_proto, error_to_proto, proposal_from_proto, proposal_to_proto,
    public_key_from_proto, public_key_to_proto, vote_from_v0_34, vote_to_v0_34,
};
use crate::error::{DecodeError, EncodeError};
use crate::line::Line;
use crate::proto::common as pc;
use crate::proto::v0_34::{Message as Wire, SignVoteRequest, SignedVoteResponse, Sum};
use crate::types::{Proposal, Vote};

const LINE: Line = Line::V0_34;

/// Decodes one message; `None` when no oneof field of this line is set.
pub(crate) fn decode(bytes: &[u8]) -> Result<Option<Message>, DecodeError> {
    let wire = Wire::decode(bytes).map_err(|e| DecodeError::Protobuf {
        line: LINE,
        reason: e.to_string(),
    })?;
    let Some(sum) = wire.sum else {
        return Ok(None);
    };
    let msg = match sum {
        Sum::PubKeyRequest(r) => Message::Request(Request::PubKey {
            chain_id: r.chain_id,
        }),
        Sum::SignVoteRequest(r) => {
            let vote = r.vote.ok_or(DecodeError::MissingField {
                line: LINE,
                message: "SignVoteRequest",
                field: "vote",
                hint: "the node sent nothing to sign; check the node version",
            })?;
            Message::Request(Request::SignVote {
                chain_id: r.chain_id,
                vote: vote_from_v0_34(vote, LINE, "SignVoteRequest")?,
                skip_extension_signing: false,
            })
        }
        Sum::SignProposalRequest(r) => {
            let proposal = r.proposal.ok_or(DecodeError::MissingField {
                line: LINE,
                message: "SignProposalRequest",
                field: "proposal",
                hint: "the node sent nothing to sign; check the node version",
            })?;
            Message::Request(Request::SignProposal {
                chain_id: r.chain_id,
                proposal: proposal_from_proto(proposal, LINE, "SignProposalRequest")?,
            })
        }
        Sum::PingRequest(_) => Message::Request(Request::Ping),
        Sum::PubKeyResponse(r) => Message::Response(match r.error {
            Some(e) => Response::Error {
                kind: ResponseKind::PubKey,
                error: error_from_proto(e),
            },
            None => Response::PubKey {
                pub_key: public_key_from_proto(r.pub_key, LINE)?,
            },
        }),
        Sum::SignedVoteResponse(r) => Message::Response(match r.error {
            Some(e) => Response::Error {
                kind: ResponseKind::SignedVote,
                error: error_from_proto(e),
            },
            None => Response::SignedVote {
                vote: vote_from_v0_34(r.vote.unwrap_or_default(), LINE, "SignedVoteResponse")?,
            },
        }),
        Sum::SignedProposalResponse(r) => Message::Response(match r.error {
            Some(e) => Response::Error {
                kind: ResponseKind::SignedProposal,
                error: error_from_proto(e),
            },
            None => Response::SignedProposal {
                proposal: proposal_from_proto(
                    r.proposal.unwrap_or_default(),
                    LINE,
                    "SignedProposalResponse",
                )?,
            },
        }),
        Sum::PingResponse(_) => Message::Response(Response::Ping),
    };
    Ok(Some(msg))
}

pub(crate) fn encode_request(req: &Request) -> Result<Vec<u8>, EncodeError> {
    let sum = match req {
        Request::PubKey { chain_id } => Sum::PubKeyRequest(pc::PubKeyRequest {
            chain_id: chain_id.clone(),
        }),
        Request::SignVote {
            chain_id,
            vote,
            skip_extension_signing,
        } => {
            super::check_no_skip(LINE, *skip_extension_signing)?;
            Sum::SignVoteRequest(SignVoteRequest {
                vote: Some(vote_to_v0_34(vote, LINE)?),
                chain_id: chain_id.clone(),
            })
        }
        Request::SignProposal { chain_id, proposal } => {
            Sum::SignProposalRequest(pc::SignProposalRequest {
                proposal: Some(proposal_to_proto(proposal)?),
                chain_id: chain_id.clone(),
            })
        }
        Request::SignBytes { .. } => return Err(super::no_sign_bytes(LINE, "SignBytesRequest")),
        Request::Ping => Sum::PingRequest(pc::PingRequest {}),
    };
    Ok(Wire { sum: Some(sum) }.encode_to_vec())
}

pub(crate) fn encode_response(resp: &Response) -> Result<Vec<u8>, EncodeError> {
    let sum = match resp {
        Response::PubKey { pub_key } => Sum::PubKeyResponse(pc::PubKeyResponse {
            pub_key: Some(public_key_to_proto(pub_key, LINE)?),
            error: None,
        }),
        Response::SignedVote { vote } => Sum::SignedVoteResponse(SignedVoteResponse {
            vote: Some(vote_to_v0_34(vote, LINE)?),
            error: None,
        }),
        Response::SignedProposal { proposal } => {
            Sum::SignedProposalResponse(pc::SignedProposalResponse {
                proposal: Some(proposal_to_proto(proposal)?),
                error: None,
            })
        }
        Response::SignBytes { .. } => return Err(super::no_sign_bytes(LINE, "SignBytesResponse")),
        Response::Ping => Sum::PingResponse(pc::PingResponse {}),
        Response::Error { kind, error } => {
            let error = Some(error_to_proto(error));
            match kind {
                ResponseKind::PubKey => Sum::PubKeyResponse(pc::PubKeyResponse {
                    pub_key: Some(pc::PublicKey::default()),
                    error,
                }),
                ResponseKind::SignedVote => Sum::SignedVoteResponse(SignedVoteResponse {
                    vote: Some(vote_to_v0_34(&Vote::default(), LINE)?),
                    error,
                }),
                ResponseKind::SignedProposal => {
                    Sum::SignedProposalResponse(pc::SignedProposalResponse {
                        proposal: Some(proposal_to_proto(&Proposal::default())?),
                        error,
                    })
                }
                ResponseKind::SignBytes => {
                    return Err(super::no_sign_bytes(LINE, "SignBytesResponse"))
                }
            }
        }
    };
    Ok(Wire { sum: Some(sum) }.encode_to_vec())
}

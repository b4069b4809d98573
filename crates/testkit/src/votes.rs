//! Requests a node sends (votes, proposals) and what a test reads from the answers.

use privval::{
    BlockId, PartSetHeader, Proposal, Request, Response, SignedMsgType, Timestamp, Vote,
};

/// A block ID made of `n`: hash `[n; 32]`, part set hash `[n ^ 0xff; 32]`.
pub fn block(n: u8) -> BlockId {
    block_parts(n, n ^ 0xff)
}

/// A block ID with hash `[hash; 32]` and part set hash `[parts; 32]` (one part).
pub fn block_parts(hash: u8, parts: u8) -> BlockId {
    BlockId {
        hash: vec![hash; 32],
        part_set_header: PartSetHeader {
            total: 1,
            hash: vec![parts; 32],
        },
    }
}

/// `seconds` after a fixed time (1_800_000_000, in 2027).
pub fn ts(seconds: i64) -> Timestamp {
    Timestamp {
        seconds: 1_800_000_000 + seconds,
        nanos: 0,
    }
}

/// A vote of `kind` at `height`, round 0, for nil, unstamped, from validator
/// `[1; 20]` at index 0; set the rest on the value.
pub fn vote(kind: SignedMsgType, height: i64) -> Vote {
    Vote {
        msg_type: kind,
        height,
        round: 0,
        validator_address: vec![1; 20],
        validator_index: 0,
        ..Vote::default()
    }
}

/// A vote of `kind` at `height` and `round` for `block` (nil when `None`), stamped
/// `at` seconds after a fixed time.
pub fn vote_at(
    kind: SignedMsgType,
    height: i64,
    round: i32,
    block: Option<BlockId>,
    at: i64,
) -> Vote {
    Vote {
        round,
        block_id: block.unwrap_or_default(),
        timestamp: ts(at),
        ..vote(kind, height)
    }
}

/// A proposal at `height` and `round` for `block` (no POL round), stamped `at` seconds
/// after a fixed time.
pub fn proposal(height: i64, round: i32, block: BlockId, at: i64) -> Proposal {
    Proposal {
        msg_type: SignedMsgType::Proposal,
        height,
        round,
        pol_round: -1,
        block_id: block,
        timestamp: ts(at),
        signature: vec![],
    }
}

/// A `SignVoteRequest` for `vote` on `chain`.
pub fn sign_vote(chain: &str, vote: Vote) -> Request {
    Request::SignVote {
        chain_id: chain.into(),
        vote,
        skip_extension_signing: false,
    }
}

/// A `SignProposalRequest` for `proposal` on `chain`.
pub fn sign_proposal(chain: &str, proposal: Proposal) -> Request {
    Request::SignProposal {
        chain_id: chain.into(),
        proposal,
    }
}

/// A prevote for block `n` at `height` round 0, stamped `at` seconds after a fixed time.
pub fn prevote(chain: &str, height: i64, n: u8, at: i64) -> Request {
    sign_vote(
        chain,
        Vote {
            block_id: block(n),
            timestamp: ts(at),
            ..vote(SignedMsgType::Prevote, height)
        },
    )
}

/// The signed vote of an answer; panics on anything else.
pub fn signed_vote(r: Response) -> Vote {
    match r {
        Response::SignedVote { vote } => vote,
        other => panic!("expected a signed vote, got {other:?}"),
    }
}

/// The signature of a signed vote; panics on anything else.
pub fn vote_signature(r: Response) -> Vec<u8> {
    signed_vote(r).signature
}

/// The description of an error response; panics on anything else.
pub fn error_text(r: Response) -> String {
    match r {
        Response::Error { error, .. } => error.description,
        other => panic!("expected an error response, got {other:?}"),
    }
}

//! Votes and their answers, for tests that drive `bulwark signer run` through a FakeNode.

use privval::{BlockId, PartSetHeader, Request, Response, SignedMsgType, Timestamp, Vote};

/// A block ID made of `n`.
pub fn block(n: u8) -> BlockId {
    BlockId {
        hash: vec![n; 32],
        part_set_header: PartSetHeader {
            total: 1,
            hash: vec![n ^ 0xff; 32],
        },
    }
}

/// A prevote for block `n` at `height` round 0, stamped `at` seconds after a fixed time.
pub fn prevote(chain: &str, height: i64, n: u8, at: i64) -> Request {
    Request::SignVote {
        chain_id: chain.into(),
        vote: Vote {
            msg_type: SignedMsgType::Prevote,
            height,
            round: 0,
            block_id: block(n),
            timestamp: Timestamp {
                seconds: 1_800_000_000 + at,
                nanos: 0,
            },
            validator_address: vec![1; 20],
            validator_index: 0,
            ..Vote::default()
        },
        skip_extension_signing: false,
    }
}

/// The signature of a signed vote; panics on anything else.
pub fn vote_signature(r: Response) -> Vec<u8> {
    match r {
        Response::SignedVote { vote } => vote.signature,
        other => panic!("expected a signed vote, got {other:?}"),
    }
}

/// The description of an error response; panics on anything else.
pub fn error_text(r: Response) -> String {
    match r {
        Response::Error { error, .. } => error.description,
        other => panic!("expected an error response, got {other:?}"),
    }
}

//! Canonical sign bytes: what a validator key actually signs.
//!
//! Each is the protobuf encoding of a canonical message, prefixed with its
//! length as an unsigned varint (CometBFT's `protoio.MarshalDelimited`):
//!
//! * `CanonicalVote`: type, height and round as `sfixed64`, the block ID as
//!   `CanonicalBlockID` (absent for a nil vote), timestamp, chain ID;
//! * `CanonicalProposal`: type (always 32), height, round, `pol_round` as
//!   a varint, block ID (absent when nil), timestamp, chain ID;
//! * `CanonicalVoteExtension` (v0.38+): extension, height, round, chain ID.
//!
//! Zero scalars are left out, the timestamp is always written. The
//! functions accept any value; CometBFT panics for a block ID that fails
//! [`BlockId::validate`] or a timestamp that fails
//! [`Timestamp::is_valid`], so check those before signing.

use prost::Message;

use crate::convert::timestamp_to_proto_unchecked;
use crate::proto::canonical::{
    CanonicalBlockId, CanonicalPartSetHeader, CanonicalProposal, CanonicalVote,
    CanonicalVoteExtension,
};
use crate::proto::common as pc;
use crate::types::{vote_step, BlockId, Hrs, Proposal, SignedMsgType, Step, Timestamp, Vote};

/// The canonical block ID, or `None` for the nil block ID
/// (`CanonicalizeBlockID`).
fn canonical_block_id(b: &BlockId) -> Option<CanonicalBlockId> {
    if b.is_nil() {
        return None;
    }
    Some(CanonicalBlockId {
        hash: b.hash.clone(),
        part_set_header: Some(CanonicalPartSetHeader {
            total: b.part_set_header.total,
            hash: b.part_set_header.hash.clone(),
        }),
    })
}

fn canonical_vote(chain_id: &str, vote: &Vote, timestamp: Timestamp) -> CanonicalVote {
    CanonicalVote {
        r#type: vote.msg_type.code(),
        height: vote.height,
        round: i64::from(vote.round),
        block_id: canonical_block_id(&vote.block_id),
        timestamp: Some(timestamp_to_proto_unchecked(timestamp)),
        chain_id: chain_id.to_owned(),
    }
}

fn canonical_proposal(chain_id: &str, p: &Proposal, timestamp: Timestamp) -> CanonicalProposal {
    CanonicalProposal {
        r#type: SignedMsgType::Proposal.code(),
        height: p.height,
        round: i64::from(p.round),
        pol_round: i64::from(p.pol_round),
        block_id: canonical_block_id(&p.block_id),
        timestamp: Some(timestamp_to_proto_unchecked(timestamp)),
        chain_id: chain_id.to_owned(),
    }
}

/// Sign bytes of a vote (`types.VoteSignBytes`). Extension fields,
/// validator address and index, and signatures are not part of them.
pub fn vote_sign_bytes(chain_id: &str, vote: &Vote) -> Vec<u8> {
    canonical_vote(chain_id, vote, vote.timestamp).encode_length_delimited_to_vec()
}

/// Sign bytes of a proposal (`types.ProposalSignBytes`). The type is
/// always 32, whatever `proposal.msg_type` says.
pub fn proposal_sign_bytes(chain_id: &str, proposal: &Proposal) -> Vec<u8> {
    canonical_proposal(chain_id, proposal, proposal.timestamp).encode_length_delimited_to_vec()
}

/// Sign bytes of a vote's extension (`types.VoteExtensionSignBytes`,
/// v0.38+). CometBFT signs them for every non-nil precommit, even when the
/// extension is empty.
pub fn vote_extension_sign_bytes(chain_id: &str, vote: &Vote) -> Vec<u8> {
    CanonicalVoteExtension {
        extension: vote.extension.clone(),
        height: vote.height,
        round: i64::from(vote.round),
        chain_id: chain_id.to_owned(),
    }
    .encode_length_delimited_to_vec()
}

/// [`vote_sign_bytes`] with the timestamp set to the Unix epoch. Two votes
/// with equal unstamped bytes differ at most in their timestamp, which is
/// the case where CometBFT's FilePV hands back the stored signature.
pub fn unstamped_vote_sign_bytes(chain_id: &str, vote: &Vote) -> Vec<u8> {
    canonical_vote(chain_id, vote, Timestamp::UNIX_EPOCH).encode_length_delimited_to_vec()
}

/// [`proposal_sign_bytes`] with the timestamp set to the Unix epoch.
pub fn unstamped_proposal_sign_bytes(chain_id: &str, proposal: &Proposal) -> Vec<u8> {
    canonical_proposal(chain_id, proposal, Timestamp::UNIX_EPOCH).encode_length_delimited_to_vec()
}

/// Stored sign bytes split into their timestamp and the rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unstamped {
    /// [`SignedMsgType::Proposal`] for a canonical proposal, otherwise the
    /// vote type.
    pub msg_type: SignedMsgType,
    /// The sign bytes with the timestamp set to the Unix epoch, as
    /// [`unstamped_vote_sign_bytes`] and [`unstamped_proposal_sign_bytes`]
    /// compute them.
    pub unstamped: Vec<u8>,
    /// The timestamp the sign bytes carry.
    pub timestamp: Timestamp,
}

/// Bytes that are not length-prefixed canonical vote or proposal.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("sign bytes are not a length-prefixed CanonicalVote or CanonicalProposal: {reason}; the stored sign state may be corrupt, restore it or re-import it from the node")]
pub struct SignBytesError {
    /// What is wrong.
    pub reason: String,
}

/// Only field 1 of a canonical message, to tell votes from proposals.
#[derive(Clone, PartialEq, prost::Message)]
struct TypeOnly {
    #[prost(int32, tag = "1")]
    r#type: i32,
}

/// Splits vote or proposal sign bytes (for example the ones a guard
/// stored) into their timestamp and their unstamped form. Messages of
/// type 32 are read as `CanonicalProposal`, all others as `CanonicalVote`.
///
/// FilePV compares stored and new sign bytes with their timestamps set
/// equal; comparing the `unstamped` bytes of both does the same.
pub fn unstamped_sign_bytes(sign_bytes: &[u8]) -> Result<Unstamped, SignBytesError> {
    let body = strip_length_prefix(sign_bytes)?;
    let err = |e: prost::DecodeError| SignBytesError {
        reason: e.to_string(),
    };
    let msg_type = SignedMsgType::from_code(TypeOnly::decode(body).map_err(err)?.r#type);
    let epoch = Some(timestamp_to_proto_unchecked(Timestamp::UNIX_EPOCH));
    let (stamp, unstamped) = if msg_type == SignedMsgType::Proposal {
        let mut p = CanonicalProposal::decode(body).map_err(err)?;
        let stamp = std::mem::replace(&mut p.timestamp, epoch);
        (stamp, p.encode_length_delimited_to_vec())
    } else {
        let mut v = CanonicalVote::decode(body).map_err(err)?;
        let stamp = std::mem::replace(&mut v.timestamp, epoch);
        (stamp, v.encode_length_delimited_to_vec())
    };
    Ok(Unstamped {
        msg_type,
        unstamped,
        timestamp: stamp.map_or(Timestamp::GO_ZERO, |t: pc::Timestamp| Timestamp {
            seconds: t.seconds,
            nanos: t.nanos,
        }),
    })
}

/// Reads `bytes` as the sign bytes of a vote extension: `Some` when they are exactly what
/// [`vote_extension_sign_bytes`] (and CometBFT's `VoteExtensionSignBytes`) makes for some
/// extension, height, round and chain ID. Verifiers rebuild these bytes from the vote, so
/// only this canonical encoding can pass for an extension signature; a signer that signs
/// arbitrary bytes must refuse these.
pub fn vote_extension_from_sign_bytes(bytes: &[u8]) -> Option<CanonicalVoteExtension> {
    let body = strip_length_prefix(bytes).ok()?;
    let ext = CanonicalVoteExtension::decode(body).ok()?;
    (ext.encode_length_delimited_to_vec() == bytes).then_some(ext)
}

/// What canonical vote or proposal sign bytes commit to, read back from the bytes alone:
/// what a cosigner that is sent sign bytes (not the node's request) checks before it
/// releases its share of a signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsensusSignBytes {
    /// The chain ID inside the bytes.
    pub chain_id: String,
    /// Height, round and step.
    pub hrs: Hrs,
    /// Prevote, precommit or proposal.
    pub msg_type: SignedMsgType,
    /// Whether the message is for a block (a non-nil block ID).
    pub for_block: bool,
    /// The bytes with the timestamp set to the Unix epoch, as [`unstamped_sign_bytes`]
    /// makes them.
    pub unstamped: Vec<u8>,
}

/// Reads `bytes` as canonical vote or proposal sign bytes. Only the exact canonical
/// encoding passes (decoding and encoding again must give the same bytes), so what the
/// caller checks is exactly what would be signed.
pub fn read_consensus_sign_bytes(bytes: &[u8]) -> Result<ConsensusSignBytes, SignBytesError> {
    let body = strip_length_prefix(bytes)?;
    let bad = |reason: String| SignBytesError { reason };
    let err = |e: prost::DecodeError| bad(e.to_string());
    let msg_type = SignedMsgType::from_code(TypeOnly::decode(body).map_err(err)?.r#type);
    let (chain_id, height, round, step, for_block, again) = if msg_type == SignedMsgType::Proposal {
        let p = CanonicalProposal::decode(body).map_err(err)?;
        let again = p.encode_length_delimited_to_vec();
        (
            p.chain_id,
            p.height,
            p.round,
            Step::Propose,
            p.block_id.is_some(),
            again,
        )
    } else {
        let v = CanonicalVote::decode(body).map_err(err)?;
        let step = vote_step(msg_type).ok_or_else(|| {
            bad(format!(
                "message type {} is not a vote or proposal",
                v.r#type
            ))
        })?;
        let again = v.encode_length_delimited_to_vec();
        (
            v.chain_id,
            v.height,
            v.round,
            step,
            v.block_id.is_some(),
            again,
        )
    };
    if again != bytes {
        return Err(bad("not the canonical encoding".into()));
    }
    let round = i32::try_from(round).map_err(|_| bad(format!("round {round} is out of range")))?;
    let unstamped = unstamped_sign_bytes(bytes)?.unstamped;
    Ok(ConsensusSignBytes {
        chain_id,
        hrs: Hrs {
            height,
            round,
            step,
        },
        msg_type,
        for_block,
        unstamped,
    })
}

/// The message after the varint length prefix, which must cover exactly
/// the rest of the bytes.
fn strip_length_prefix(bytes: &[u8]) -> Result<&[u8], SignBytesError> {
    let mut rest = bytes;
    let len = prost::encoding::decode_varint(&mut rest).map_err(|e| SignBytesError {
        reason: format!("bad length prefix: {e}"),
    })?;
    if usize::try_from(len).ok() != Some(rest.len()) {
        return Err(SignBytesError {
            reason: format!("length prefix says {len} bytes but {} follow", rest.len()),
        });
    }
    Ok(rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::PartSetHeader;

    fn vote() -> Vote {
        Vote {
            msg_type: SignedMsgType::Precommit,
            height: 10,
            round: 2,
            block_id: BlockId {
                hash: vec![7; 32],
                part_set_header: PartSetHeader {
                    total: 1,
                    hash: vec![8; 32],
                },
            },
            timestamp: Timestamp {
                seconds: 1_700_000_000,
                nanos: 5,
            },
            ..Vote::default()
        }
    }

    #[test]
    fn consensus_sign_bytes_read_back() {
        let v = vote();
        let r = read_consensus_sign_bytes(&vote_sign_bytes("chain-a", &v)).unwrap();
        assert_eq!(r.chain_id, "chain-a");
        assert_eq!(
            r.hrs,
            Hrs {
                height: 10,
                round: 2,
                step: Step::Precommit
            }
        );
        assert!(r.for_block);
        assert_eq!(r.unstamped, unstamped_vote_sign_bytes("chain-a", &v));
        let nil = Vote {
            block_id: BlockId::default(),
            ..vote()
        };
        assert!(
            !read_consensus_sign_bytes(&vote_sign_bytes("c", &nil))
                .unwrap()
                .for_block
        );
        let p = Proposal {
            height: 4,
            round: 1,
            block_id: v.block_id.clone(),
            ..Proposal::default()
        };
        let r = read_consensus_sign_bytes(&proposal_sign_bytes("c", &p)).unwrap();
        assert_eq!(
            r.hrs,
            Hrs {
                height: 4,
                round: 1,
                step: Step::Propose
            }
        );
        // A non-canonical encoding (a field repeated) and extension bytes are refused.
        let mut body = strip_length_prefix(&vote_sign_bytes("c", &v))
            .unwrap()
            .to_vec();
        body.extend_from_slice(&[0x11, 9, 0, 0, 0, 0, 0, 0, 0]);
        let mut twice = Vec::new();
        prost::encoding::encode_varint(body.len() as u64, &mut twice);
        twice.extend_from_slice(&body);
        let e = read_consensus_sign_bytes(&twice).unwrap_err();
        assert!(e.reason.contains("canonical"), "{e}");
        assert!(read_consensus_sign_bytes(&vote_extension_sign_bytes("c", &v)).is_err());
    }

    #[test]
    fn nil_vote_has_no_block_id() {
        let v = Vote {
            block_id: BlockId::default(),
            ..vote()
        };
        let bytes = vote_sign_bytes("c", &v);
        let body = strip_length_prefix(&bytes).unwrap();
        assert_eq!(CanonicalVote::decode(body).unwrap().block_id, None);
    }

    #[test]
    fn unstamp_matches_direct_computation() {
        let v = vote();
        let u = unstamped_sign_bytes(&vote_sign_bytes("chain", &v)).unwrap();
        assert_eq!(u.unstamped, unstamped_vote_sign_bytes("chain", &v));
        assert_eq!(u.timestamp, v.timestamp);
        assert_eq!(u.msg_type, SignedMsgType::Precommit);

        let later = Vote {
            timestamp: Timestamp {
                seconds: 1_800_000_000,
                nanos: 0,
            },
            ..v.clone()
        };
        assert_ne!(
            vote_sign_bytes("chain", &later),
            vote_sign_bytes("chain", &v)
        );
        assert_eq!(
            unstamped_vote_sign_bytes("chain", &later),
            unstamped_vote_sign_bytes("chain", &v)
        );

        let p = Proposal {
            height: 3,
            pol_round: -1,
            timestamp: Timestamp::GO_ZERO,
            ..Proposal::default()
        };
        let u = unstamped_sign_bytes(&proposal_sign_bytes("chain", &p)).unwrap();
        assert_eq!(u.unstamped, unstamped_proposal_sign_bytes("chain", &p));
        assert_eq!(u.timestamp, Timestamp::GO_ZERO);
        assert_eq!(u.msg_type, SignedMsgType::Proposal);
    }

    #[test]
    fn vote_extension_sign_bytes_are_recognized_exactly() {
        let v = Vote {
            extension: b"ext".to_vec(),
            height: 5,
            round: 1,
            ..vote()
        };
        // extension = 1 (bytes), height = 2 and round = 3 (sfixed64), chain_id = 4.
        let want: &[u8] = &[
            26, 0x0a, 3, b'e', b'x', b't', 0x11, 5, 0, 0, 0, 0, 0, 0, 0, 0x19, 1, 0, 0, 0, 0, 0, 0,
            0, 0x22, 1, b'c',
        ];
        let bytes = vote_extension_sign_bytes("c", &v);
        assert_eq!(bytes, want);
        let ext = vote_extension_from_sign_bytes(&bytes).expect("recognized");
        assert_eq!(
            (ext.extension, ext.height, ext.round, ext.chain_id.as_str()),
            (b"ext".to_vec(), 5, 1, "c")
        );
        // An empty extension at round 0 leaves fields out; still recognized.
        let empty = Vote {
            extension: vec![],
            round: 0,
            ..v.clone()
        };
        let bytes = vote_extension_sign_bytes("chain-1", &empty);
        assert_eq!(&bytes[..2], &[18, 0x11]);
        assert!(vote_extension_from_sign_bytes(&bytes).is_some());

        // Not extension sign bytes: other messages, a broken prefix, trailing bytes,
        // fields out of canonical order.
        assert!(vote_extension_from_sign_bytes(b"oracle price 42").is_none());
        assert!(vote_extension_from_sign_bytes(&vote_sign_bytes("c", &vote())).is_none());
        assert!(vote_extension_from_sign_bytes(&want[1..]).is_none());
        let mut longer = want.to_vec();
        longer.push(0);
        assert!(vote_extension_from_sign_bytes(&longer).is_none());
        let mut swapped = vec![26, 0x22, 1, b'c'];
        swapped.extend_from_slice(&want[1..24]);
        assert!(vote_extension_from_sign_bytes(&swapped).is_none());
    }

    #[test]
    fn unstamp_rejects_garbage() {
        assert!(unstamped_sign_bytes(&[]).is_err());
        assert!(unstamped_sign_bytes(&[5, 1, 2]).is_err());
        assert!(unstamped_sign_bytes(&[0xff; 11]).is_err());
        let mut bytes = vote_sign_bytes("c", &vote());
        bytes.push(0);
        assert!(unstamped_sign_bytes(&bytes).is_err());
    }
}

//! Checks against vectors computed by CometBFT's Go code (`tools/vectors`):
//! sign bytes, and every privval frame decoded and encoded back byte for
//! byte, per line.

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use privval::{
    decode_request, decode_response, encode_request, encode_request_frame, encode_response,
    encode_response_frame, proposal_sign_bytes, unstamped_sign_bytes,
    vote_extension_from_sign_bytes, vote_extension_sign_bytes, vote_sign_bytes, BlockId,
    DecodeError, FrameDecoder, Line, PartSetHeader, Proposal, PublicKey, Request, Response,
    ResponseKind, SignedMsgType, Timestamp, Vote,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vectors {
    line: String,
    cometbft: String,
    max_frame_size: usize,
    chain_id: String,
    pub_key_type: String,
    pub_key: String,
    votes: Vec<VoteVector>,
    proposals: Vec<ProposalVector>,
    messages: Vec<MessageVector>,
}

#[derive(Deserialize)]
struct JsonTimestamp {
    seconds: i64,
    nanos: i32,
}

#[derive(Deserialize)]
struct JsonPartSetHeader {
    total: u32,
    hash: String,
}

#[derive(Deserialize)]
struct JsonBlockId {
    hash: String,
    part_set_header: JsonPartSetHeader,
}

#[derive(Deserialize)]
struct JsonVote {
    r#type: i32,
    height: i64,
    round: i32,
    block_id: JsonBlockId,
    timestamp: JsonTimestamp,
    validator_address: String,
    validator_index: i32,
    signature: String,
    #[serde(default)]
    extension: String,
    #[serde(default)]
    extension_signature: String,
}

#[derive(Deserialize)]
struct JsonProposal {
    r#type: i32,
    height: i64,
    round: i32,
    pol_round: i32,
    block_id: JsonBlockId,
    timestamp: JsonTimestamp,
    signature: String,
}

#[derive(Deserialize)]
struct VoteVector {
    name: String,
    chain_id: String,
    vote: JsonVote,
    sign_bytes: String,
    #[serde(default)]
    extension_sign_bytes: String,
}

#[derive(Deserialize)]
struct ProposalVector {
    name: String,
    chain_id: String,
    proposal: JsonProposal,
    sign_bytes: String,
}

#[derive(Deserialize)]
struct MessageVector {
    name: String,
    kind: String,
    frame: String,
    #[serde(default)]
    vote: String,
    #[serde(default)]
    proposal: String,
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("vector hex")
}

fn block_id(b: &JsonBlockId) -> BlockId {
    BlockId {
        hash: unhex(&b.hash),
        part_set_header: PartSetHeader {
            total: b.part_set_header.total,
            hash: unhex(&b.part_set_header.hash),
        },
    }
}

fn timestamp(t: &JsonTimestamp) -> Timestamp {
    Timestamp {
        seconds: t.seconds,
        nanos: t.nanos,
    }
}

fn vote(v: &JsonVote) -> Vote {
    Vote {
        msg_type: SignedMsgType::from_code(v.r#type),
        height: v.height,
        round: v.round,
        block_id: block_id(&v.block_id),
        timestamp: timestamp(&v.timestamp),
        validator_address: unhex(&v.validator_address),
        validator_index: v.validator_index,
        signature: unhex(&v.signature),
        extension: unhex(&v.extension),
        extension_signature: unhex(&v.extension_signature),
    }
}

fn proposal(p: &JsonProposal) -> Proposal {
    Proposal {
        msg_type: SignedMsgType::from_code(p.r#type),
        height: p.height,
        round: p.round,
        pol_round: p.pol_round,
        block_id: block_id(&p.block_id),
        timestamp: timestamp(&p.timestamp),
        signature: unhex(&p.signature),
    }
}

const FILES: [(&str, &str); 4] = [
    ("v0_34", include_str!("vectors/v0_34.json")),
    ("v0_38", include_str!("vectors/v0_38.json")),
    ("v0_40", include_str!("vectors/v0_40.json")),
    ("v1_0", include_str!("vectors/v1_0.json")),
];

fn load(file: &str, json: &str) -> (Line, Vectors) {
    let v: Vectors = serde_json::from_str(json).unwrap_or_else(|e| panic!("{file}: {e}"));
    let line: Line = v.line.parse().expect("line");
    assert_eq!(line, v.cometbft.parse().expect("version"), "{file}");
    (line, v)
}

struct Ctx<'a> {
    line: Line,
    v: &'a Vectors,
    key: VerifyingKey,
}

impl Ctx<'_> {
    fn vote(&self, name: &str) -> Vote {
        let vv = self.v.votes.iter().find(|x| x.name == name);
        vote(&vv.unwrap_or_else(|| panic!("no vote {name}")).vote)
    }

    fn proposal(&self, name: &str) -> Proposal {
        let pv = self.v.proposals.iter().find(|x| x.name == name);
        proposal(&pv.unwrap_or_else(|| panic!("no proposal {name}")).proposal)
    }

    fn verify(&self, what: &str, msg: &[u8], sig: &[u8]) {
        let sig = Signature::from_slice(sig).unwrap_or_else(|e| panic!("{what}: {e}"));
        self.key
            .verify(msg, &sig)
            .unwrap_or_else(|e| panic!("{what}: signature does not verify: {e}"));
    }
}

#[test]
fn frame_limits_match_cometbft() {
    for (file, json) in FILES {
        let (line, v) = load(file, json);
        assert_eq!(line.max_frame_size(), v.max_frame_size, "{file}");
    }
}

#[test]
fn vote_sign_bytes_match_cometbft() {
    for (file, json) in FILES {
        let (line, v) = load(file, json);
        assert!(!v.votes.is_empty());
        for vv in &v.votes {
            let vote = vote(&vv.vote);
            let what = format!("{file} {}", vv.name);
            assert_eq!(
                hex::encode(vote_sign_bytes(&vv.chain_id, &vote)),
                vv.sign_bytes,
                "{what}"
            );
            if line.has_vote_extensions() {
                assert_eq!(
                    hex::encode(vote_extension_sign_bytes(&vv.chain_id, &vote)),
                    vv.extension_sign_bytes,
                    "{what}"
                );
                // CometBFT's own extension sign bytes are recognized, its vote sign
                // bytes are not.
                let ext =
                    vote_extension_from_sign_bytes(&unhex(&vv.extension_sign_bytes)).expect(&what);
                assert_eq!(
                    (ext.height, ext.chain_id.as_str()),
                    (vote.height, &*vv.chain_id)
                );
                assert!(vote_extension_from_sign_bytes(&unhex(&vv.sign_bytes)).is_none());
            }
            let u = unstamped_sign_bytes(&unhex(&vv.sign_bytes)).expect(&what);
            assert_eq!(u.timestamp, vote.timestamp, "{what}");
            assert_eq!(u.msg_type, vote.msg_type, "{what}");
        }
    }
}

#[test]
fn proposal_sign_bytes_match_cometbft() {
    for (file, json) in FILES {
        let (_, v) = load(file, json);
        assert!(!v.proposals.is_empty());
        for pv in &v.proposals {
            let p = proposal(&pv.proposal);
            let what = format!("{file} {}", pv.name);
            assert_eq!(
                hex::encode(proposal_sign_bytes(&pv.chain_id, &p)),
                pv.sign_bytes,
                "{what}"
            );
            let u = unstamped_sign_bytes(&unhex(&pv.sign_bytes)).expect(&what);
            assert_eq!(u.timestamp, p.timestamp, "{what}");
            assert_eq!(u.msg_type, SignedMsgType::Proposal, "{what}");
        }
    }
}

#[test]
fn frames_decode_and_encode_back_byte_for_byte() {
    for (file, json) in FILES {
        let (line, v) = load(file, json);
        assert_eq!(v.pub_key_type, "ed25519");
        let key_bytes: [u8; 32] = unhex(&v.pub_key).try_into().expect("key length");
        let ctx = Ctx {
            line,
            v: &v,
            key: VerifyingKey::from_bytes(&key_bytes).expect("key"),
        };
        for m in &v.messages {
            let what = format!("{file} {}", m.name);
            let frame = unhex(&m.frame);
            let mut dec = FrameDecoder::for_line(line);
            dec.push(&frame).expect(&what);
            let msg = dec.pop().expect(&what);
            assert!(dec.pop().is_none() && !dec.has_partial_frame(), "{what}");
            match m.kind.as_str() {
                "request" => {
                    let req = decode_request(line, &msg).expect(&what);
                    check_request(&ctx, m, &req);
                    assert_eq!(encode_request(line, &req).expect(&what), msg, "{what}");
                    assert_eq!(
                        encode_request_frame(line, &req).expect(&what),
                        frame,
                        "{what}"
                    );
                    assert!(matches!(
                        decode_response(line, &msg),
                        Err(DecodeError::WrongDirection { .. })
                    ));
                }
                "response" => {
                    let resp = decode_response(line, &msg).expect(&what);
                    check_response(&ctx, m, &resp);
                    assert_eq!(encode_response(line, &resp).expect(&what), msg, "{what}");
                    assert_eq!(
                        encode_response_frame(line, &resp).expect(&what),
                        frame,
                        "{what}"
                    );
                    assert!(matches!(
                        decode_request(line, &msg),
                        Err(DecodeError::WrongDirection { .. })
                    ));
                }
                other => panic!("{what}: unknown kind {other}"),
            }
        }
    }
}

fn check_request(ctx: &Ctx<'_>, m: &MessageVector, req: &Request) {
    let what = &m.name;
    let chain_id = ctx.v.chain_id.clone();
    let expected = if !m.vote.is_empty() {
        Request::SignVote {
            chain_id,
            vote: ctx.vote(&m.vote),
            skip_extension_signing: m.name.contains("skip_extension"),
        }
    } else if !m.proposal.is_empty() {
        Request::SignProposal {
            chain_id,
            proposal: ctx.proposal(&m.proposal),
        }
    } else {
        match what.as_str() {
            "pub_key_request" => Request::PubKey { chain_id },
            "ping_request" => Request::Ping,
            "sign_bytes_request" => Request::SignBytes {
                value: b"arbitrary bytes to sign".to_vec(),
            },
            other => panic!("no expectation for request {other}"),
        }
    };
    assert_eq!(req, &expected, "{what}");
}

fn check_response(ctx: &Ctx<'_>, m: &MessageVector, resp: &Response) {
    let what = &m.name;
    let chain_id = &ctx.v.chain_id;
    if let Some(kind) = error_kind(what) {
        let Response::Error { kind: got, error } = resp else {
            panic!("{what}: expected an error response, got {resp:?}");
        };
        assert_eq!(*got, kind, "{what}");
        assert!(!error.description.is_empty(), "{what}");
        return;
    }
    match resp {
        Response::SignedVote { vote } => {
            let expected = ctx.vote(&m.vote);
            let unsigned = Vote {
                signature: Vec::new(),
                extension_signature: Vec::new(),
                ..vote.clone()
            };
            assert_eq!(unsigned, expected, "{what}");
            ctx.verify(what, &vote_sign_bytes(chain_id, vote), &vote.signature);
            let signs_extension = vote.signs_extension()
                && ctx.line.has_vote_extensions()
                && !what.contains("skip_extension");
            if signs_extension {
                let ext = vote_extension_sign_bytes(chain_id, vote);
                ctx.verify(what, &ext, &vote.extension_signature);
            } else {
                assert!(vote.extension_signature.is_empty(), "{what}");
            }
        }
        Response::SignedProposal { proposal } => {
            let expected = ctx.proposal(&m.proposal);
            let unsigned = Proposal {
                signature: Vec::new(),
                ..proposal.clone()
            };
            assert_eq!(unsigned, expected, "{what}");
            ctx.verify(
                what,
                &proposal_sign_bytes(chain_id, proposal),
                &proposal.signature,
            );
        }
        Response::PubKey { pub_key } => match what.as_str() {
            "pub_key_response" => {
                assert_eq!(pub_key, &PublicKey::Ed25519(ctx.key.to_bytes().to_vec()))
            }
            "pub_key_response_secp256k1" => {
                assert!(matches!(pub_key, PublicKey::Secp256k1(b) if b.len() == 33))
            }
            "pub_key_response_mldsa65" => {
                assert!(matches!(pub_key, PublicKey::MlDsa65(b) if b.len() == 1952))
            }
            other => panic!("no expectation for {other}"),
        },
        Response::SignBytes { signature } => {
            ctx.verify(what, b"arbitrary bytes to sign", signature);
        }
        Response::Ping => assert_eq!(what, "ping_response"),
        Response::Error { .. } => panic!("{what}: unexpected error response {resp:?}"),
    }
}

fn error_kind(name: &str) -> Option<ResponseKind> {
    let kind = match name.split('/').next()? {
        "pub_key_response_error" => ResponseKind::PubKey,
        "signed_vote_response_error" => ResponseKind::SignedVote,
        "signed_proposal_response_error" => ResponseKind::SignedProposal,
        "sign_bytes_response_error" => ResponseKind::SignBytes,
        _ => return None,
    };
    Some(kind)
}

/// A v1.0 frame on a v0.x connection, and the reverse: the error names the
/// message and the lines that have it.
#[test]
fn messages_of_other_lines_are_named() {
    let (_, v1) = load("v1_0", FILES[3].1);
    let sign_bytes = v1
        .messages
        .iter()
        .find(|m| m.name == "sign_bytes_request")
        .expect("vector");
    let frame = unhex(&sign_bytes.frame);
    for line in [Line::V0_34, Line::V0_38, Line::V0_40] {
        let err = decode_request(line, &frame[1..]).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::NotInLine {
                    tag: 9,
                    name: "SignBytesRequest",
                    ..
                }
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("v1.0") && msg.contains(line.as_str()), "{msg}");
    }

    // A v0.38 PubKeyResponse read as v1.0 (and the reverse) is refused with
    // a hint about the line.
    let (_, v038) = load("v0_38", FILES[1].1);
    let old = v038
        .messages
        .iter()
        .find(|m| m.name == "pub_key_response")
        .expect("vector");
    let err = decode_response(Line::V1_0, &unhex(&old.frame)[1..]).unwrap_err();
    assert!(matches!(err, DecodeError::MissingField { .. }), "{err:?}");
    let new = v1
        .messages
        .iter()
        .find(|m| m.name == "pub_key_response")
        .expect("vector");
    let err = decode_response(Line::V0_38, &unhex(&new.frame)[1..]).unwrap_err();
    assert!(matches!(err, DecodeError::MissingField { .. }), "{err:?}");
    assert!(err.to_string().contains("v1.0"), "{err}");
}

//! Property tests: every request and response a line can carry survives
//! encode + decode, decoding arbitrary bytes never panics, and sign bytes
//! behave as a double-sign guard needs.

use privval::{
    decode_request, decode_response, encode_request, encode_response, proposal_sign_bytes,
    unstamped_proposal_sign_bytes, unstamped_sign_bytes, unstamped_vote_sign_bytes,
    vote_sign_bytes, BlockId, Line, PartSetHeader, Proposal, PublicKey, RemoteSignerError, Request,
    Response, ResponseKind, SignedMsgType, Timestamp, Vote,
};
use proptest::prelude::*;

const GO_ZERO: i64 = -62_135_596_800;
const YEAR_10000: i64 = 253_402_300_800;

fn line() -> impl Strategy<Value = Line> {
    prop::sample::select(Line::ALL.to_vec())
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..=max)
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    prop_oneof![
        Just(Timestamp::GO_ZERO),
        Just(Timestamp::UNIX_EPOCH),
        (GO_ZERO..YEAR_10000, 0..1_000_000_000i32)
            .prop_map(|(seconds, nanos)| Timestamp { seconds, nanos }),
    ]
}

fn msg_type() -> impl Strategy<Value = SignedMsgType> {
    prop_oneof![
        Just(SignedMsgType::Prevote),
        Just(SignedMsgType::Precommit),
        Just(SignedMsgType::Proposal),
        any::<i32>().prop_map(SignedMsgType::from_code),
    ]
}

fn hash() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![Just(Vec::new()), prop::collection::vec(any::<u8>(), 32)]
}

fn block_id() -> impl Strategy<Value = BlockId> {
    prop_oneof![
        Just(BlockId::default()),
        (hash(), any::<u32>(), hash()).prop_map(|(hash, total, psh)| BlockId {
            hash,
            part_set_header: PartSetHeader { total, hash: psh },
        }),
    ]
}

fn vote(line: Line) -> impl Strategy<Value = Vote> {
    let ext = line.has_vote_extensions();
    (
        msg_type(),
        any::<i64>(),
        any::<i32>(),
        block_id(),
        timestamp(),
        bytes(20),
        any::<i32>(),
        bytes(64),
        bytes(if ext { 100 } else { 0 }),
        bytes(if ext { 64 } else { 0 }),
    )
        .prop_map(
            |(msg_type, height, round, block_id, timestamp, addr, index, sig, ext, ext_sig)| Vote {
                msg_type,
                height,
                round,
                block_id,
                timestamp,
                validator_address: addr,
                validator_index: index,
                signature: sig,
                extension: ext,
                extension_signature: ext_sig,
            },
        )
}

fn proposal() -> impl Strategy<Value = Proposal> {
    (
        msg_type(),
        any::<i64>(),
        any::<i32>(),
        any::<i32>(),
        block_id(),
        timestamp(),
        bytes(64),
    )
        .prop_map(
            |(msg_type, height, round, pol_round, block_id, timestamp, signature)| Proposal {
                msg_type,
                height,
                round,
                pol_round,
                block_id,
                timestamp,
                signature,
            },
        )
}

fn chain_id() -> impl Strategy<Value = String> {
    "[a-z0-9-]{0,20}"
}

fn request(line: Line) -> impl Strategy<Value = Request> {
    let skip = if line.has_skip_extension_signing() {
        any::<bool>().boxed()
    } else {
        Just(false).boxed()
    };
    let mut options = vec![
        chain_id()
            .prop_map(|chain_id| Request::PubKey { chain_id })
            .boxed(),
        (chain_id(), vote(line), skip)
            .prop_map(
                |(chain_id, vote, skip_extension_signing)| Request::SignVote {
                    chain_id,
                    vote,
                    skip_extension_signing,
                },
            )
            .boxed(),
        (chain_id(), proposal())
            .prop_map(|(chain_id, proposal)| Request::SignProposal { chain_id, proposal })
            .boxed(),
        Just(Request::Ping).boxed(),
    ];
    if line.has_sign_bytes() {
        options.push(
            bytes(200)
                .prop_map(|value| Request::SignBytes { value })
                .boxed(),
        );
    }
    prop::strategy::Union::new(options)
}

fn public_key(line: Line) -> impl Strategy<Value = PublicKey> {
    (0..5u8, bytes(64))
        .prop_map(|(kind, b)| match kind {
            0 => PublicKey::Ed25519(b),
            1 => PublicKey::Secp256k1(b),
            2 => PublicKey::Bls12381(b),
            3 => PublicKey::MlDsa65(b),
            _ => PublicKey::Secp256k1Eth(b),
        })
        .prop_filter("key type of the line", move |k| k.supported_in(line))
}

fn response(line: Line) -> impl Strategy<Value = Response> {
    let mut kinds = vec![
        ResponseKind::PubKey,
        ResponseKind::SignedVote,
        ResponseKind::SignedProposal,
    ];
    if line.has_sign_bytes() {
        kinds.push(ResponseKind::SignBytes);
    }
    let error = (prop::sample::select(kinds), any::<i32>(), ".{0,40}").prop_map(
        |(kind, code, description)| Response::Error {
            kind,
            error: RemoteSignerError { code, description },
        },
    );
    let mut options = vec![
        public_key(line)
            .prop_map(|pub_key| Response::PubKey { pub_key })
            .boxed(),
        vote(line)
            .prop_map(|vote| Response::SignedVote { vote })
            .boxed(),
        proposal()
            .prop_map(|proposal| Response::SignedProposal { proposal })
            .boxed(),
        Just(Response::Ping).boxed(),
        error.boxed(),
    ];
    if line.has_sign_bytes() {
        options.push(
            bytes(64)
                .prop_map(|signature| Response::SignBytes { signature })
                .boxed(),
        );
    }
    prop::strategy::Union::new(options)
}

fn line_and_request() -> impl Strategy<Value = (Line, Request)> {
    line().prop_flat_map(|l| (Just(l), request(l)))
}

fn line_and_response() -> impl Strategy<Value = (Line, Response)> {
    line().prop_flat_map(|l| (Just(l), response(l)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn requests_round_trip((line, req) in line_and_request()) {
        let bytes = encode_request(line, &req).unwrap();
        prop_assert_eq!(decode_request(line, &bytes).unwrap(), req.clone());
        // Encoding is deterministic.
        prop_assert_eq!(encode_request(line, &req).unwrap(), bytes);
    }

    #[test]
    fn responses_round_trip((line, resp) in line_and_response()) {
        let bytes = encode_response(line, &resp).unwrap();
        prop_assert_eq!(decode_response(line, &bytes).unwrap(), resp);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(line in line(), data in bytes(300)) {
        let _ = decode_request(line, &data);
        let _ = decode_response(line, &data);
        let _ = unstamped_sign_bytes(&data);
    }

    #[test]
    fn decoding_mutated_messages_never_panics(
        (line, req) in line_and_request(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = encode_request(line, &req).unwrap();
        for (i, b) in flips {
            if !bytes.is_empty() {
                let at = i.index(bytes.len());
                bytes[at] = b;
            }
        }
        let _ = decode_request(line, &bytes);
        let _ = decode_response(line, &bytes);
    }

    /// Two votes that differ only in their timestamp have the same
    /// unstamped sign bytes, and splitting stored sign bytes gives back
    /// the timestamp and the unstamped form.
    #[test]
    fn unstamped_vote_ignores_only_the_timestamp(
        v in vote(Line::V0_38).prop_filter("a vote type", |v| v.msg_type != SignedMsgType::Proposal),
        other in timestamp(),
        chain in chain_id(),
    ) {
        let restamped = Vote { timestamp: other, ..v.clone() };
        prop_assert_eq!(
            unstamped_vote_sign_bytes(&chain, &v),
            unstamped_vote_sign_bytes(&chain, &restamped)
        );
        let split = unstamped_sign_bytes(&vote_sign_bytes(&chain, &v)).unwrap();
        prop_assert_eq!(split.timestamp, v.timestamp);
        prop_assert_eq!(split.unstamped, unstamped_vote_sign_bytes(&chain, &v));

        let moved = Vote { round: v.round.wrapping_add(1), ..v.clone() };
        prop_assert_ne!(
            unstamped_vote_sign_bytes(&chain, &v),
            unstamped_vote_sign_bytes(&chain, &moved)
        );
    }

    #[test]
    fn unstamped_proposal_ignores_only_the_timestamp(
        p in proposal(),
        other in timestamp(),
        chain in chain_id(),
    ) {
        let restamped = Proposal { timestamp: other, ..p.clone() };
        prop_assert_eq!(
            unstamped_proposal_sign_bytes(&chain, &p),
            unstamped_proposal_sign_bytes(&chain, &restamped)
        );
        let split = unstamped_sign_bytes(&proposal_sign_bytes(&chain, &p)).unwrap();
        prop_assert_eq!(split.msg_type, SignedMsgType::Proposal);
        prop_assert_eq!(split.timestamp, p.timestamp);
        prop_assert_eq!(split.unstamped, unstamped_proposal_sign_bytes(&chain, &p));
    }
}

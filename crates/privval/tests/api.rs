//! Line differences, error cases and the guard helpers of the API.

use privval::{
    decode_request, decode_response, encode_frame, encode_request, encode_response,
    encode_response_frame, unstamped_vote_sign_bytes, vote_sign_bytes, BlockId, DecodeError,
    EncodeError, Hrs, Line, PartSetHeader, Proposal, PublicKey, RemoteSignerError, Request,
    Response, ResponseKind, SignedMsgType, Step, Timestamp, Vote,
};

fn precommit() -> Vote {
    Vote {
        msg_type: SignedMsgType::Precommit,
        height: 42,
        round: 1,
        block_id: BlockId {
            hash: vec![1; 32],
            part_set_header: PartSetHeader {
                total: 2,
                hash: vec![2; 32],
            },
        },
        timestamp: Timestamp {
            seconds: 1_700_000_000,
            nanos: 1,
        },
        ..Vote::default()
    }
}

fn sign_vote(vote: Vote) -> Request {
    Request::SignVote {
        chain_id: "test-chain".into(),
        vote,
        skip_extension_signing: false,
    }
}

#[test]
fn sign_bytes_exist_only_in_v1() {
    let req = Request::SignBytes { value: vec![1] };
    let resp = Response::SignBytes { signature: vec![2] };
    let err_resp = Response::Error {
        kind: ResponseKind::SignBytes,
        error: RemoteSignerError::new("no"),
    };
    for line in [Line::V0_34, Line::V0_38, Line::V0_40] {
        for err in [
            encode_request(line, &req).unwrap_err(),
            encode_response(line, &resp).unwrap_err(),
            encode_response(line, &err_resp).unwrap_err(),
        ] {
            assert!(
                matches!(err, EncodeError::NotInLine { lines: "v1.0", .. }),
                "{err:?}"
            );
            assert!(err.to_string().contains(line.as_str()), "{err}");
        }
    }
    assert!(encode_request(Line::V1_0, &req).is_ok());
}

#[test]
fn extensions_do_not_exist_in_v0_34() {
    let vote = Vote {
        extension: b"ext".to_vec(),
        ..precommit()
    };
    let err = encode_request(Line::V0_34, &sign_vote(vote.clone())).unwrap_err();
    assert!(err.to_string().contains("v0.38"), "{err}");
    let err = encode_response(Line::V0_34, &Response::SignedVote { vote: vote.clone() });
    assert!(err.is_err());
    for line in [Line::V0_38, Line::V0_40, Line::V1_0] {
        let bytes = encode_request(line, &sign_vote(vote.clone())).unwrap();
        assert_eq!(
            decode_request(line, &bytes).unwrap(),
            sign_vote(vote.clone())
        );
    }
    // A v0.34 node ignores the extension fields of a newer peer.
    let newer = encode_request(Line::V0_38, &sign_vote(vote)).unwrap();
    assert_eq!(
        decode_request(Line::V0_34, &newer).unwrap(),
        sign_vote(precommit())
    );
}

#[test]
fn skip_extension_signing_exists_only_in_v1() {
    let req = Request::SignVote {
        chain_id: "c".into(),
        vote: precommit(),
        skip_extension_signing: true,
    };
    for line in [Line::V0_34, Line::V0_38, Line::V0_40] {
        let err = encode_request(line, &req).unwrap_err();
        assert!(err.to_string().contains("skip_extension_signing"), "{err}");
    }
    let bytes = encode_request(Line::V1_0, &req).unwrap();
    assert_eq!(decode_request(Line::V1_0, &bytes).unwrap(), req);
}

#[test]
fn public_key_types_per_line() {
    let ed = PublicKey::Ed25519(vec![1; 32]);
    let mldsa = PublicKey::MlDsa65(vec![2; 1952]);
    let bls = PublicKey::Bls12381(vec![3; 96]);
    let eth = PublicKey::Secp256k1Eth(vec![4; 33]);
    let cases = [
        (Line::V0_34, &ed, true),
        (Line::V0_34, &mldsa, false),
        (Line::V0_34, &bls, false),
        (Line::V0_38, &mldsa, true),
        (Line::V0_38, &eth, false),
        (Line::V0_40, &eth, true),
        (Line::V1_0, &bls, true),
        (Line::V1_0, &mldsa, false),
    ];
    for (line, key, ok) in cases {
        let resp = Response::PubKey {
            pub_key: key.clone(),
        };
        let encoded = encode_response(line, &resp);
        assert_eq!(encoded.is_ok(), ok, "{line} {key:?}");
        if let Ok(bytes) = encoded {
            assert_eq!(decode_response(line, &bytes).unwrap(), resp);
        }
    }
    // A v0.40 ML-DSA key read on a v0.34 connection names the lines.
    let bytes = encode_response(Line::V0_40, &Response::PubKey { pub_key: mldsa }).unwrap();
    let err = decode_response(Line::V0_34, &bytes).unwrap_err();
    assert!(
        matches!(err, DecodeError::KeyTypeNotInLine { .. }),
        "{err:?}"
    );
}

#[test]
fn unknown_and_empty_messages() {
    for line in Line::ALL {
        // Oneof tag 11, an empty message.
        let err = decode_request(line, &[0x5a, 0x00]).unwrap_err();
        assert_eq!(err, DecodeError::UnknownMessage { line, tag: 11 });
        assert!(err.to_string().contains("tag 11"), "{err}");
        assert_eq!(
            decode_response(line, &[]).unwrap_err(),
            DecodeError::Empty { line }
        );
        let err = decode_request(line, &[0x0a, 0x05, 0x01]).unwrap_err();
        assert!(matches!(err, DecodeError::Protobuf { .. }), "{err:?}");
    }
}

#[test]
fn sign_request_without_payload_is_refused() {
    // SignVoteRequest{chain_id: "c"} without a vote.
    let msg = [0x1a, 0x03, 0x12, 0x01, b'c'];
    for line in Line::ALL {
        let err = decode_request(line, &msg).unwrap_err();
        assert!(
            matches!(err, DecodeError::MissingField { field: "vote", .. }),
            "{err:?}"
        );
    }
}

#[test]
fn invalid_timestamps_are_refused_both_ways() {
    let vote = Vote {
        timestamp: Timestamp {
            seconds: 0,
            nanos: -1,
        },
        ..precommit()
    };
    for line in Line::ALL {
        let err = encode_request(line, &sign_vote(vote.clone())).unwrap_err();
        assert!(
            matches!(err, EncodeError::InvalidTimestamp { .. }),
            "{err:?}"
        );
    }
    // SignVoteRequest{vote: {timestamp: {seconds: -62135596801}}}.
    let mut ts = vec![0x08];
    prost::encoding::encode_varint((-62_135_596_801i64) as u64, &mut ts);
    let mut vote_msg = vec![0x2a, ts.len() as u8];
    vote_msg.extend(ts);
    let mut req = vec![0x0a, vote_msg.len() as u8];
    req.extend(vote_msg);
    let mut msg = vec![0x1a, req.len() as u8];
    msg.extend(req);
    let err = decode_request(Line::V0_38, &msg).unwrap_err();
    assert!(
        matches!(err, DecodeError::InvalidTimestamp { .. }),
        "{err:?}"
    );
}

#[test]
fn absent_timestamp_is_go_zero_time() {
    // SignVoteRequest{vote: {type: 1, height: 5}} without timestamp field.
    let msg = [0x1a, 0x06, 0x0a, 0x04, 0x08, 0x01, 0x10, 0x05];
    let Request::SignVote { vote, .. } = decode_request(Line::V0_38, &msg).unwrap() else {
        panic!("not a vote request");
    };
    assert_eq!(vote.timestamp, Timestamp::GO_ZERO);
    assert_eq!(Timestamp::default(), Timestamp::GO_ZERO);
}

#[test]
fn too_large_responses_are_refused() {
    let vote = Vote {
        extension: vec![0; 20_000],
        ..precommit()
    };
    let resp = Response::SignedVote { vote };
    let err = encode_response_frame(Line::V0_38, &resp).unwrap_err();
    assert!(
        matches!(err, EncodeError::TooLarge { max: 10_240, .. }),
        "{err:?}"
    );
    let frame = encode_response_frame(Line::V0_40, &resp).unwrap();
    assert_eq!(
        frame,
        encode_frame(&encode_response(Line::V0_40, &resp).unwrap())
    );
}

#[test]
fn hrs_of_requests() {
    let req = sign_vote(precommit());
    assert_eq!(
        req.hrs().unwrap(),
        Some(Hrs {
            height: 42,
            round: 1,
            step: Step::Precommit
        })
    );
    let prevote = sign_vote(Vote {
        msg_type: SignedMsgType::Prevote,
        ..precommit()
    });
    assert_eq!(prevote.hrs().unwrap().unwrap().step, Step::Prevote);
    let proposal = Request::SignProposal {
        chain_id: "c".into(),
        proposal: Proposal {
            height: 7,
            round: 3,
            ..Proposal::default()
        },
    };
    assert_eq!(
        proposal.hrs().unwrap(),
        Some(Hrs {
            height: 7,
            round: 3,
            step: Step::Propose
        })
    );
    assert_eq!(Request::Ping.hrs().unwrap(), None);
    let bad = sign_vote(Vote {
        msg_type: SignedMsgType::Proposal,
        ..precommit()
    });
    let err = bad.hrs().unwrap_err();
    assert!(err.to_string().contains("proposal (32)"), "{err}");
    assert!(bad.signable().is_err());
}

#[test]
fn signable_gives_sign_bytes_and_unstamped_form() {
    let vote = precommit();
    let s = sign_vote(vote.clone()).signable().unwrap().unwrap();
    assert_eq!(s.sign_bytes, vote_sign_bytes("test-chain", &vote));
    assert_eq!(s.unstamped, unstamped_vote_sign_bytes("test-chain", &vote));
    assert_eq!(s.hrs.step, Step::Precommit);
    assert_eq!(
        Request::PubKey {
            chain_id: "c".into()
        }
        .signable()
        .unwrap(),
        None
    );
}

#[test]
fn error_responses_per_request() {
    let req = sign_vote(precommit());
    let resp = req
        .error_response(RemoteSignerError::new("conflicting data"))
        .unwrap();
    assert_eq!(resp.message_name(), "SignedVoteResponse");
    for line in Line::ALL {
        let bytes = encode_response(line, &resp).unwrap();
        assert_eq!(decode_response(line, &bytes).unwrap(), resp);
    }
    assert_eq!(
        Request::Ping.error_response(RemoteSignerError::new("x")),
        None
    );
}

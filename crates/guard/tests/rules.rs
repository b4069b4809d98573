//! Every rule and every refusal of `guard::decide`.

use guard::{decide, Decision, Hrs, Limits, Refusal, Request, SignState, Step};

const CHAIN: &str = "test-chain-1";

/// Sign bytes of a fake message: data plus timestamp; `unstamped` zeroes the
/// timestamp.
fn msg(data: u8, ts: u8) -> (Vec<u8>, Vec<u8>) {
    (vec![0xAA, data, ts], vec![0xAA, data, 0])
}

fn req<'a>(hrs: Hrs, m: &'a (Vec<u8>, Vec<u8>)) -> Request<'a> {
    Request {
        chain_id: CHAIN,
        hrs,
        sign_bytes: &m.0,
        unstamped: &m.1,
    }
}

fn hrs(height: i64, round: i32, step: Step) -> Hrs {
    Hrs::new(height, round, step)
}

/// A state that signed message `m` at `at`.
fn signed_at(at: Hrs, m: &(Vec<u8>, Vec<u8>)) -> SignState {
    SignState::signed(&req(at, m), b"sig".to_vec())
}

fn refusal(d: Decision) -> Refusal {
    match d {
        Decision::Refuse(r) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn none() -> Limits {
    Limits::default()
}

#[test]
fn initial_state_signs_first_request() {
    let m = msg(1, 1);
    let state = SignState::initial(CHAIN);
    let d = decide(&state, &none(), &req(hrs(1, 0, Step::Propose), &m));
    let Decision::Sign(permit) = d else {
        panic!("expected Sign, got {d:?}")
    };
    assert_eq!(permit.sign_bytes(), m.0.as_slice());
    assert_eq!(permit.hrs(), hrs(1, 0, Step::Propose));
    assert_eq!(permit.chain_id(), CHAIN);
    let new = permit.into_state(b"s1".to_vec());
    assert_eq!(new.hrs(), hrs(1, 0, Step::Propose));
    assert_eq!(new.signature, b"s1");
    assert_eq!(new.sign_bytes, m.0);
    assert_eq!(new.unstamped, m.1);
    assert_eq!(
        new,
        SignState::signed(&req(hrs(1, 0, Step::Propose), &m), b"s1".to_vec())
    );
}

#[test]
fn higher_step_round_and_height_sign() {
    let m = msg(1, 1);
    let state = signed_at(hrs(5, 1, Step::Prevote), &m);
    for next in [
        hrs(5, 1, Step::Precommit),
        hrs(5, 2, Step::Propose),
        hrs(6, 0, Step::Propose),
        hrs(100, 0, Step::Prevote),
    ] {
        let other = msg(9, 9);
        assert!(
            matches!(
                decide(&state, &none(), &req(next, &other)),
                Decision::Sign(_)
            ),
            "{next} should be signed"
        );
    }
}

#[test]
fn step_order_is_propose_prevote_precommit() {
    assert!(Step::Initial < Step::Propose);
    assert!(Step::Propose < Step::Prevote);
    assert!(Step::Prevote < Step::Precommit);
    assert!(hrs(1, 0, Step::Precommit) < hrs(1, 1, Step::Propose));
    assert!(hrs(1, 5, Step::Precommit) < hrs(2, 0, Step::Propose));
    assert_eq!(Step::from_cometbft(3), Some(Step::Precommit));
    assert_eq!(Step::from_cometbft(4), None);
    assert_eq!(Step::Prevote.as_cometbft(), 2);
}

#[test]
fn identical_request_returns_stored_signature() {
    let m = msg(1, 1);
    let at = hrs(5, 0, Step::Prevote);
    let state = signed_at(at, &m);
    let d = decide(&state, &none(), &req(at, &m));
    assert_eq!(
        d,
        Decision::ReturnStored {
            signature: b"sig".to_vec(),
            sign_bytes: m.0.clone()
        }
    );
}

#[test]
fn timestamp_only_difference_returns_stored_signature_and_sign_bytes() {
    let first = msg(1, 1);
    let later = msg(1, 2);
    let at = hrs(5, 0, Step::Precommit);
    let state = signed_at(at, &first);
    let d = decide(&state, &none(), &req(at, &later));
    assert_eq!(
        d,
        Decision::ReturnStored {
            signature: b"sig".to_vec(),
            sign_bytes: first.0.clone(),
        },
        "the stored sign bytes carry the stored timestamp"
    );
}

#[test]
fn same_step_different_data_is_conflicting() {
    let at = hrs(5, 0, Step::Prevote);
    let state = signed_at(at, &msg(1, 1));
    let r = refusal(decide(&state, &none(), &req(at, &msg(2, 1))));
    assert_eq!(r, Refusal::ConflictingData { hrs: at });
    let text = r.to_string();
    assert!(text.contains("refusing to sign conflicting data at height 5 round 0 step prevote"));
    assert!(text.contains("double-sign"), "{text}");
    assert_eq!(r.code(), "conflicting_data");
}

#[test]
fn same_step_without_stored_unstamped_only_returns_on_identical_bytes() {
    let at = hrs(5, 0, Step::Prevote);
    let first = msg(1, 1);
    let mut state = signed_at(at, &first);
    state.unstamped.clear();
    assert!(matches!(
        decide(&state, &none(), &req(at, &first)),
        Decision::ReturnStored { .. }
    ));
    let r = refusal(decide(&state, &none(), &req(at, &msg(1, 2))));
    assert_eq!(r, Refusal::ConflictingData { hrs: at });
}

#[test]
fn imported_state_without_signature_refuses_same_step() {
    let at = hrs(7, 1, Step::Precommit);
    let state = SignState {
        chain_id: CHAIN.into(),
        height: 7,
        round: 1,
        step: Step::Precommit,
        sign_bytes: vec![],
        signature: vec![],
        unstamped: vec![],
    };
    let r = refusal(decide(&state, &none(), &req(at, &msg(1, 1))));
    assert_eq!(r, Refusal::NoStoredSignature { hrs: at });
    assert!(r
        .to_string()
        .contains("imported sign state has no signature"));
    // Sign bytes without a signature are no proof either.
    let mut half = state.clone();
    half.sign_bytes = msg(1, 1).0;
    let r = refusal(decide(&half, &none(), &req(at, &msg(1, 1))));
    assert_eq!(r, Refusal::NoStoredSignature { hrs: at });
    // The next step is fine.
    assert!(matches!(
        decide(&state, &none(), &req(hrs(7, 2, Step::Propose), &msg(1, 1))),
        Decision::Sign(_)
    ));
}

#[test]
fn floor_state_allows_its_height() {
    let state = SignState::floor(CHAIN, 50);
    assert!(matches!(
        decide(&state, &none(), &req(hrs(50, 0, Step::Propose), &msg(1, 1))),
        Decision::Sign(_)
    ));
    let r = refusal(decide(
        &state,
        &none(),
        &req(hrs(49, 3, Step::Precommit), &msg(1, 1)),
    ));
    assert_eq!(
        r,
        Refusal::HeightRegression {
            last: 50,
            requested: 49
        }
    );
}

#[test]
fn height_regression_is_refused() {
    let state = signed_at(hrs(10, 0, Step::Propose), &msg(1, 1));
    let r = refusal(decide(
        &state,
        &none(),
        &req(hrs(9, 5, Step::Precommit), &msg(1, 1)),
    ));
    assert_eq!(
        r,
        Refusal::HeightRegression {
            last: 10,
            requested: 9
        }
    );
    assert!(r.to_string().contains("already signed at height 10"));
    assert_eq!(r.code(), "height_regression");
}

#[test]
fn round_regression_is_refused() {
    let state = signed_at(hrs(10, 3, Step::Propose), &msg(1, 1));
    let r = refusal(decide(
        &state,
        &none(),
        &req(hrs(10, 2, Step::Precommit), &msg(1, 1)),
    ));
    assert_eq!(
        r,
        Refusal::RoundRegression {
            height: 10,
            last: 3,
            requested: 2
        }
    );
    assert!(r.to_string().contains("already signed round 3"));
}

#[test]
fn step_regression_is_refused() {
    let state = signed_at(hrs(10, 3, Step::Precommit), &msg(1, 1));
    let r = refusal(decide(
        &state,
        &none(),
        &req(hrs(10, 3, Step::Prevote), &msg(1, 1)),
    ));
    assert_eq!(
        r,
        Refusal::StepRegression {
            height: 10,
            round: 3,
            last: Step::Precommit,
            requested: Step::Prevote
        }
    );
    assert!(r.to_string().contains("already signed precommit"));
}

#[test]
fn wrong_chain_is_refused() {
    let state = SignState::initial(CHAIN);
    let m = msg(1, 1);
    let request = Request {
        chain_id: "other-chain",
        ..req(hrs(1, 0, Step::Propose), &m)
    };
    let r = refusal(decide(&state, &none(), &request));
    assert_eq!(
        r,
        Refusal::WrongChain {
            expected: CHAIN.into(),
            got: "other-chain".into()
        }
    );
    assert!(r.to_string().contains("belongs to chain `test-chain-1`"));
}

#[test]
fn below_floor_is_refused_and_floor_itself_is_allowed() {
    let state = SignState::initial(CHAIN);
    let limits = Limits {
        floor_height: Some(100),
        max_height: None,
        max_height_jump: None,
        chain_tip: None,
    };
    let r = refusal(decide(
        &state,
        &limits,
        &req(hrs(99, 0, Step::Propose), &msg(1, 1)),
    ));
    assert_eq!(
        r,
        Refusal::BelowFloor {
            floor: 100,
            requested: 99
        }
    );
    assert!(r.to_string().contains("below the floor height 100"));
    assert!(matches!(
        decide(
            &state,
            &limits,
            &req(hrs(100, 0, Step::Propose), &msg(1, 1))
        ),
        Decision::Sign(_)
    ));
}

#[test]
fn above_max_height_is_refused() {
    let m = msg(1, 1);
    let at = hrs(201, 0, Step::Prevote);
    let state = signed_at(at, &m);
    let limits = Limits {
        floor_height: None,
        max_height: Some(200),
        max_height_jump: None,
        chain_tip: None,
    };
    // Also a repeat of the stored message: the stop applies to everything.
    let r = refusal(decide(&state, &limits, &req(at, &m)));
    assert_eq!(
        r,
        Refusal::AboveMaxHeight {
            max: 200,
            requested: 201
        }
    );
    assert!(r.to_string().contains("stop height 200"));
    assert!(matches!(
        decide(
            &SignState::initial(CHAIN),
            &limits,
            &req(hrs(200, 0, Step::Propose), &m)
        ),
        Decision::Sign(_)
    ));
}

#[test]
fn malformed_requests_are_refused() {
    let state = SignState::initial(CHAIN);
    let m = msg(1, 1);
    let empty: (Vec<u8>, Vec<u8>) = (vec![], vec![]);
    let no_unstamped: (Vec<u8>, Vec<u8>) = (vec![1], vec![]);
    let cases = [
        (req(hrs(0, 0, Step::Propose), &m), "height 0 is below 1"),
        (req(hrs(-3, 0, Step::Propose), &m), "height -3 is below 1"),
        (req(hrs(1, -1, Step::Propose), &m), "round -1 is negative"),
        (req(hrs(1, 0, Step::Initial), &m), "the step is none"),
        (
            req(hrs(1, 0, Step::Propose), &empty),
            "sign bytes are empty",
        ),
        (
            req(hrs(1, 0, Step::Propose), &no_unstamped),
            "without timestamp are empty",
        ),
    ];
    for (request, expected) in cases {
        let r = refusal(decide(&state, &none(), &request));
        assert!(matches!(r, Refusal::Malformed { .. }), "{r:?}");
        assert!(r.to_string().contains(expected), "{r} lacks {expected}");
        assert_eq!(r.code(), "malformed");
    }
}

#[test]
fn refusal_codes_are_distinct() {
    let at = hrs(1, 0, Step::Propose);
    let all = [
        Refusal::Malformed { reason: "x".into() },
        Refusal::WrongChain {
            expected: "a".into(),
            got: "b".into(),
        },
        Refusal::BelowFloor {
            floor: 2,
            requested: 1,
        },
        Refusal::AboveMaxHeight {
            max: 1,
            requested: 2,
        },
        Refusal::HeightRegression {
            last: 2,
            requested: 1,
        },
        Refusal::RoundRegression {
            height: 1,
            last: 2,
            requested: 1,
        },
        Refusal::StepRegression {
            height: 1,
            round: 0,
            last: Step::Precommit,
            requested: Step::Propose,
        },
        Refusal::ConflictingData { hrs: at },
        Refusal::NoStoredSignature { hrs: at },
    ];
    let mut codes: Vec<_> = all.iter().map(Refusal::code).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), all.len());
}

#[test]
fn sign_state_validate_reports_problems() {
    assert!(SignState::initial(CHAIN).validate().is_ok());
    assert!(SignState::initial("").validate().is_err());
    assert!(SignState::floor(CHAIN, -1).validate().is_err());
    let mut s = SignState::initial(CHAIN);
    s.round = -1;
    assert!(s.validate().unwrap_err().contains("round -1"));
}

fn jump(max_height_jump: i64, chain_tip: Option<i64>) -> Limits {
    Limits {
        max_height_jump: Some(max_height_jump),
        chain_tip,
        ..Limits::default()
    }
}

#[test]
fn a_height_jump_above_the_bound_is_refused_without_a_chain_tip() {
    let m = msg(1, 1);
    let state = signed_at(hrs(100, 0, Step::Precommit), &m);
    let other = msg(2, 1);
    // Exactly at the bound: allowed.
    assert!(matches!(
        decide(
            &state,
            &jump(10, None),
            &req(hrs(110, 0, Step::Prevote), &other)
        ),
        Decision::Sign(_)
    ));
    let r = refusal(decide(
        &state,
        &jump(10, None),
        &req(hrs(111, 0, Step::Prevote), &other),
    ));
    assert_eq!(
        r,
        Refusal::HeightJump {
            last: 100,
            requested: 111,
            max_jump: 10,
            chain_tip: None
        }
    );
    assert_eq!(r.code(), "height_jump");
    let text = r.to_string();
    for part in [
        "refusing to sign at height 111",
        "11 heights above the last signed height 100",
        "the chain's tip is unknown",
        "man in the middle on tcp://",
        "block every real vote until that height",
        "Configure `rpc` for this chain",
        "bulwark signer state set",
    ] {
        assert!(text.contains(part), "{text} lacks {part}");
    }
    // No bound configured: the same request is signed.
    assert!(matches!(
        decide(&state, &none(), &req(hrs(111, 0, Step::Prevote), &other)),
        Decision::Sign(_)
    ));
}

#[test]
fn a_chain_tip_allows_a_jump_up_to_tip_plus_the_bound() {
    let state = SignState::floor(CHAIN, 100);
    let m = msg(1, 1);
    let limits = jump(10, Some(5_000));
    for h in [111, 4_000, 5_010] {
        assert!(
            matches!(
                decide(&state, &limits, &req(hrs(h, 0, Step::Propose), &m)),
                Decision::Sign(_)
            ),
            "{h} is within tip + bound"
        );
    }
    let r = refusal(decide(
        &state,
        &limits,
        &req(hrs(5_011, 0, Step::Propose), &m),
    ));
    assert_eq!(
        r,
        Refusal::HeightJump {
            last: 100,
            requested: 5_011,
            max_jump: 10,
            chain_tip: Some(5_000)
        }
    );
    assert!(
        r.to_string()
            .contains("the chain's tip is only at height 5000"),
        "{r}"
    );
    // A tip below the state does not narrow the bound from the state.
    assert!(matches!(
        decide(
            &state,
            &jump(10, Some(3)),
            &req(hrs(110, 0, Step::Propose), &m)
        ),
        Decision::Sign(_)
    ));
}

#[test]
fn the_jump_rule_comes_after_the_floor_and_stop_height_and_before_the_steps() {
    let state = SignState::floor(CHAIN, 100);
    let m = msg(1, 1);
    let limits = Limits {
        floor_height: Some(1_000),
        max_height: Some(2_000),
        max_height_jump: Some(10),
        chain_tip: None,
    };
    assert!(matches!(
        refusal(decide(
            &state,
            &limits,
            &req(hrs(999, 0, Step::Propose), &m)
        )),
        Refusal::BelowFloor { .. }
    ));
    assert!(matches!(
        refusal(decide(
            &state,
            &limits,
            &req(hrs(2_001, 0, Step::Propose), &m)
        )),
        Refusal::AboveMaxHeight { .. }
    ));
    assert!(matches!(
        refusal(decide(
            &state,
            &limits,
            &req(hrs(1_500, 0, Step::Propose), &m)
        )),
        Refusal::HeightJump { .. }
    ));
    // A repeat of the stored step is never a jump.
    let signed = signed_at(hrs(100, 0, Step::Prevote), &m);
    assert!(matches!(
        decide(
            &signed,
            &jump(0, None),
            &req(hrs(100, 0, Step::Prevote), &m)
        ),
        Decision::ReturnStored { .. }
    ));
    // Bounds near i64::MAX do not overflow.
    assert!(matches!(
        decide(
            &state,
            &jump(i64::MAX, Some(i64::MAX)),
            &req(hrs(i64::MAX, 0, Step::Propose), &m)
        ),
        Decision::Sign(_)
    ));
}

/// A cosigner's record of a share it released: sign bytes, no signature.
fn share_record(at: Hrs, m: &(Vec<u8>, Vec<u8>)) -> SignState {
    SignState::signed(&req(at, m), Vec::new())
}

#[test]
fn share_rules_accept_the_same_data_again_and_nothing_else() {
    use guard::decide_share;
    let at = hrs(7, 1, Step::Prevote);
    let m = msg(1, 1);
    let state = share_record(at, &m);
    // The plain rules cannot prove the data without a signature.
    assert_eq!(
        refusal(decide(&state, &none(), &req(at, &m))),
        Refusal::NoStoredSignature { hrs: at }
    );
    // The share rules match it by its sign bytes, exactly or but for the timestamp.
    for again in [msg(1, 1), msg(1, 9)] {
        let d = decide_share(&state, &none(), &req(at, &again));
        assert_eq!(
            d,
            Decision::ReturnStored {
                signature: vec![],
                sign_bytes: m.0.clone()
            }
        );
    }
    // Other data at the same step is a double-sign.
    assert_eq!(
        refusal(decide_share(&state, &none(), &req(at, &msg(2, 1)))),
        Refusal::ConflictingData { hrs: at }
    );
    // Everything else is the plain rules: regressions, floors, the next step.
    assert!(matches!(
        refusal(decide_share(
            &state,
            &none(),
            &req(hrs(7, 0, Step::Precommit), &m)
        )),
        Refusal::RoundRegression { .. }
    ));
    let floor = Limits {
        floor_height: Some(8),
        ..none()
    };
    assert!(matches!(
        refusal(decide_share(
            &state,
            &floor,
            &req(hrs(7, 2, Step::Propose), &m)
        )),
        Refusal::BelowFloor { .. }
    ));
    assert!(matches!(
        decide_share(
            &state,
            &none(),
            &req(hrs(7, 1, Step::Precommit), &msg(2, 1))
        ),
        Decision::Sign(_)
    ));
    // An imported state without sign bytes proves nothing, for shares too.
    let bare = SignState {
        sign_bytes: vec![],
        unstamped: vec![],
        ..state.clone()
    };
    assert_eq!(
        refusal(decide_share(&bare, &none(), &req(at, &m))),
        Refusal::NoStoredSignature { hrs: at }
    );
    // A record with a signature behaves as under the plain rules.
    let full = signed_at(at, &m);
    assert_eq!(
        decide_share(&full, &none(), &req(at, &m)),
        decide(&full, &none(), &req(at, &m))
    );
    // Another chain is refused.
    let other = Request {
        chain_id: "other",
        ..req(at, &m)
    };
    assert!(matches!(
        refusal(decide_share(&state, &none(), &other)),
        Refusal::WrongChain { .. }
    ));
}

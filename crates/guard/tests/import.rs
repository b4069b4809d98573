//! Importing CometBFT and tmkms state files.

use guard::{import_cometbft_state, import_tmkms_state, ImportError, SignState, Step};

const CHAIN: &str = "cosmoshub-4";

/// A CometBFT `priv_validator_state.json` after a precommit.
const COMETBFT_PRECOMMIT: &str = r#"{
  "height": "21034117",
  "round": 0,
  "step": 3,
  "signature": "3q2+7w==",
  "signbytes": "7A080211A5F4410100000000"
}"#;

/// A fresh CometBFT state.
const COMETBFT_FRESH: &str = r#"{
  "height": "0",
  "round": 0,
  "step": 0
}"#;

/// A tmkms state after a prevote (block_id as the tendermint crate writes it).
const TMKMS_PREVOTE: &str = r#"{
  "height": "21034117",
  "round": "2",
  "step": 1,
  "block_id": {
    "hash": "26C0A41F3243C6BCD7AD2DFF8A8D83A71D29D307B5326C227F734A1A512FE47D",
    "part_set_header": {"total": 1, "hash": "2470A41F3243C6BCD7AD2DFF8A8D83A71D29D307B5326C227F734A1A512FE47D"}
  }
}"#;

/// A fresh tmkms state.
const TMKMS_FRESH: &str = r#"{"height":"0","round":"0","step":0,"block_id":null}"#;

fn field_error(err: ImportError) -> (&'static str, String) {
    let text = err.to_string();
    match err {
        ImportError::Field { field, .. } => (field, text),
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn cometbft_precommit_with_signature() {
    let s = import_cometbft_state(COMETBFT_PRECOMMIT.as_bytes(), CHAIN).unwrap();
    assert_eq!(
        s,
        SignState {
            chain_id: CHAIN.into(),
            height: 21_034_117,
            round: 0,
            step: Step::Precommit,
            sign_bytes: vec![0x7A, 0x08, 0x02, 0x11, 0xA5, 0xF4, 0x41, 0x01, 0, 0, 0, 0],
            signature: vec![0xDE, 0xAD, 0xBE, 0xEF],
            unstamped: vec![],
        }
    );
    assert!(s.has_signature());
}

#[test]
fn cometbft_fresh_state_is_initial() {
    let s = import_cometbft_state(COMETBFT_FRESH.as_bytes(), CHAIN).unwrap();
    assert_eq!(s, SignState::initial(CHAIN));
}

#[test]
fn cometbft_optional_fields_may_be_missing_null_or_empty() {
    let s = import_cometbft_state(br#"{"height":"12","round":1,"step":2}"#, CHAIN).unwrap();
    assert_eq!((s.height, s.round, s.step), (12, 1, Step::Prevote));
    assert!(s.signature.is_empty() && s.sign_bytes.is_empty());
    let s = import_cometbft_state(
        br#"{"height":"12","round":1,"step":1,"signature":null,"signbytes":"","extra":true}"#,
        CHAIN,
    )
    .unwrap();
    assert_eq!(s.step, Step::Propose);
    assert!(!s.has_signature());
    // Height as a number is accepted too.
    let s = import_cometbft_state(br#"{"height":12}"#, CHAIN).unwrap();
    assert_eq!(s, SignState::floor(CHAIN, 12));
}

#[test]
fn cometbft_step_zero_keeps_the_height() {
    let s = import_cometbft_state(br#"{"height":"500","round":0,"step":0}"#, CHAIN).unwrap();
    assert_eq!(s, SignState::floor(CHAIN, 500));
}

#[test]
fn cometbft_malformed_fields_are_named() {
    let cases: &[(&str, &str, &str)] = &[
        (r#"{"round":0,"step":3}"#, "height", "is missing"),
        (r#"{"height":"12a"}"#, "height", "non-negative integer"),
        (r#"{"height":"-5"}"#, "height", "non-negative integer"),
        (r#"{"height":true}"#, "height", "non-negative integer"),
        (
            r#"{"height":"99999999999999999999"}"#,
            "height",
            "non-negative integer",
        ),
        (
            r#"{"height":"1","round":-1}"#,
            "round",
            "non-negative integer",
        ),
        (
            r#"{"height":"1","round":3000000000}"#,
            "round",
            "larger than a round",
        ),
        (r#"{"height":"1","step":4}"#, "step", "expected 0 (none)"),
        (
            r#"{"height":"1","step":1.5}"#,
            "step",
            "non-negative integer",
        ),
        (
            r#"{"height":"1","signature":"not base64!"}"#,
            "signature",
            "not base64",
        ),
        (
            r#"{"height":"1","signature":12}"#,
            "signature",
            "expected a string",
        ),
        (
            r#"{"height":"1","signbytes":"XYZ"}"#,
            "signbytes",
            "not hex",
        ),
    ];
    for (json, field, fragment) in cases {
        let (got, text) = field_error(import_cometbft_state(json.as_bytes(), CHAIN).unwrap_err());
        assert_eq!(got, *field, "{json}");
        assert!(text.contains(fragment), "{text} lacks {fragment}");
        assert!(text.contains("priv_validator_state.json"), "{text}");
        assert!(text.contains("bulwark signer state init"), "{text}");
    }
}

#[test]
fn non_objects_are_refused() {
    for json in ["", "not json", "[1,2]", "\"height\"", "null", "{"] {
        let err = import_cometbft_state(json.as_bytes(), CHAIN).unwrap_err();
        assert!(
            matches!(err, ImportError::NotAnObject { .. }),
            "{json}: {err:?}"
        );
        let err = import_tmkms_state(json.as_bytes(), CHAIN).unwrap_err();
        assert!(
            matches!(err, ImportError::NotAnObject { .. }),
            "{json}: {err:?}"
        );
        assert!(err.to_string().contains("tmkms state file"));
    }
}

#[test]
fn empty_chain_id_is_refused() {
    assert_eq!(
        import_cometbft_state(COMETBFT_FRESH.as_bytes(), "").unwrap_err(),
        ImportError::EmptyChainId
    );
    assert_eq!(
        import_tmkms_state(TMKMS_FRESH.as_bytes(), "").unwrap_err(),
        ImportError::EmptyChainId
    );
}

#[test]
fn tmkms_prevote() {
    let s = import_tmkms_state(TMKMS_PREVOTE.as_bytes(), CHAIN).unwrap();
    assert_eq!((s.height, s.round, s.step), (21_034_117, 2, Step::Prevote));
    assert!(!s.has_signature());
    assert_eq!(s.chain_id, CHAIN);
}

#[test]
fn tmkms_steps_map_to_proposal_prevote_precommit() {
    for (n, step) in [
        (0, Step::Propose),
        (1, Step::Prevote),
        (2, Step::Precommit),
        (3, Step::Precommit),
        (6, Step::Precommit),
    ] {
        let json = format!(r#"{{"height":"7","round":"0","step":{n},"block_id":null}}"#);
        let s = import_tmkms_state(json.as_bytes(), CHAIN).unwrap();
        assert_eq!(s.step, step, "tmkms step {n}");
    }
}

#[test]
fn tmkms_fresh_state_is_initial() {
    let s = import_tmkms_state(TMKMS_FRESH.as_bytes(), CHAIN).unwrap();
    assert_eq!(s, SignState::initial(CHAIN));
}

#[test]
fn tmkms_tolerates_missing_optional_fields_and_numbers() {
    let s = import_tmkms_state(br#"{"height":"9"}"#, CHAIN).unwrap();
    assert_eq!((s.height, s.round, s.step), (9, 0, Step::Propose));
    let s =
        import_tmkms_state(br#"{"height":9,"round":1,"step":2,"block_id":"AB"}"#, CHAIN).unwrap();
    assert_eq!((s.height, s.round, s.step), (9, 1, Step::Precommit));
}

#[test]
fn tmkms_malformed_fields_are_named() {
    let cases: &[(&str, &str)] = &[
        (r#"{"round":"0"}"#, "height"),
        (r#"{"height":"x"}"#, "height"),
        (r#"{"height":"1","round":"zero"}"#, "round"),
        (r#"{"height":"1","round":"-2"}"#, "round"),
        (r#"{"height":"1","step":-1}"#, "step"),
        (r#"{"height":"1","step":"two"}"#, "step"),
    ];
    for (json, field) in cases {
        let (got, text) = field_error(import_tmkms_state(json.as_bytes(), CHAIN).unwrap_err());
        assert_eq!(got, *field, "{json}");
        assert!(text.contains("tmkms state file"), "{text}");
    }
}

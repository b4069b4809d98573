//! Bech32, the misses a window allows, and the parsers of the SDK's answers.

use super::*;

#[test]
fn bech32_matches_the_chain_and_rejects_typos() {
    let bytes = bech32::hex_bytes(CONS_HEX).unwrap();
    assert_eq!(bech32::encode("cosmosvalcons", &bytes), CONS);
    let (hrp, data) = bech32::decode(CONS).unwrap();
    assert_eq!((hrp.as_str(), data), ("cosmosvalcons", bytes));
    // Operator and account address carry the same 20 bytes.
    let (hrp, op) = bech32::decode(VALOPER).unwrap();
    assert_eq!(hrp, "cosmosvaloper");
    assert_eq!(bech32::decode(ACCOUNT).unwrap().1, op);
    let counting: Vec<u8> = (1..=20).collect();
    assert_eq!(
        bech32::encode("cosmosvaloper", &counting),
        "cosmosvaloper1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc56kct20"
    );
    assert_eq!(
        bech32::encode("cosmosvalcons", &counting),
        "cosmosvalcons1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5w9thxw"
    );
    // BIP-173 vectors.
    for ok in [
        "A12UEL5L",
        "a12uel5l",
        "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
        "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
    ] {
        assert!(bech32::decode(ok).is_ok(), "{ok}");
    }
    assert_eq!(
        bech32::decode("cosmosvaloper1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc56kct2q"),
        Err(bech32::Bech32Error::Checksum)
    );
    assert_eq!(
        bech32::decode("Cosmos1q374dg5e2z2w05kpxn4vueh9wmvnvhlprdr2wm"),
        Err(bech32::Bech32Error::MixedCase)
    );
    assert_eq!(
        bech32::decode("pzry9x0s0muk"),
        Err(bech32::Bech32Error::NoSeparator)
    );
    assert_eq!(
        bech32::decode("1pzry9x0s0muk"),
        Err(bech32::Bech32Error::NoSeparator)
    );
    assert_eq!(
        bech32::decode("x1b4n0q5v"),
        Err(bech32::Bech32Error::BadChar('b'))
    );
    assert_eq!(
        bech32::decode("li1dgmt3"),
        Err(bech32::Bech32Error::TooShort)
    );
    assert!(bech32::hex_bytes("abc").is_none());
    assert!(bech32::hex_bytes("zz").is_none());
}

#[test]
fn allowed_misses_round_like_the_chain() {
    assert_eq!(allowed_missed(20, "0.500000000000000000"), Some(10));
    // The Cosmos Hub: sign 5% of 10000 blocks, so 9500 may be missed.
    assert_eq!(allowed_missed(10000, "0.050000000000000000"), Some(9500));
    assert_eq!(allowed_missed(10000, "0.950000000000000000"), Some(500));
    assert_eq!(allowed_missed(100, "0.05"), Some(95));
    // Half rounds to even: 2.5 -> 2 signed, 3.5 -> 4 signed.
    assert_eq!(allowed_missed(5, "0.5"), Some(3));
    assert_eq!(allowed_missed(7, "0.5"), Some(3));
    assert_eq!(allowed_missed(10, "1"), Some(0));
    assert_eq!(allowed_missed(10, "0"), Some(10));
    for bad in ["1.5", "abc", "-0.1", "", ".5", "0.1234567890123456789"] {
        assert_eq!(allowed_missed(10, bad), None, "{bad:?}");
    }
}

#[test]
fn replies_are_sorted_into_data_not_served_not_found_and_errors() {
    let p = "/x";
    assert_eq!(
        sdk_rest::classify(p, 200, br#"{"a":1}"#),
        Ok(Reply::Data(json!({"a": 1})))
    );
    let e = sdk_rest::classify(p, 200, b"<html>hello</html>").unwrap_err();
    assert!(matches!(e, SdkError::Garbage { .. }), "{e:?}");
    assert!(e.to_string().contains("port 1317"), "{e}");
    assert!(sdk_rest::classify(p, 200, b"[1,2]").is_err());
    // What the gateway sends for a route it does not have (a module not in the app).
    assert_eq!(
        sdk_rest::classify(
            p,
            501,
            br#"{"code": 12, "message": "Not Implemented", "details": []}"#
        ),
        Ok(Reply::Unavailable)
    );
    assert_eq!(
        sdk_rest::classify(p, 404, b"404 page not found"),
        Ok(Reply::Unavailable)
    );
    assert_eq!(
        sdk_rest::classify(
            p,
            404,
            br#"{"code": 5, "message": "validator x not found", "details": []}"#
        ),
        Ok(Reply::NotFound("validator x not found".into()))
    );
    let e = sdk_rest::classify(
        p,
        500,
        br#"{"code": 2, "message": "decoding bech32 failed"}"#,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "HTTP status 500 on /x: decoding bech32 failed"
    );
    assert!(matches!(
        sdk_rest::classify(p, 502, b"bad gateway"),
        Err(SdkError::Http { status: 502, .. })
    ));
}

#[test]
fn parsers_read_what_the_sdk_sends_and_refuse_the_rest() {
    let p = "/p";
    let sp =
        sdk_rest::parse_slashing_params(p, &params_json(10000, "0.050000000000000000")).unwrap();
    assert_eq!(sp.signed_blocks_window, 10000);
    assert_eq!(sp.allowed_missed_blocks, 9500);
    assert_eq!(sp.downtime_jail_duration, "600s");
    assert!(sdk_rest::parse_slashing_params(p, &params_json(0, "0.5")).is_err());
    assert!(sdk_rest::parse_slashing_params(p, &params_json(100, "2.0")).is_err());
    assert!(sdk_rest::parse_slashing_params(p, &json!({"params": {}})).is_err());

    let si = sdk_rest::parse_signing_info(
        p,
        &signing_json(CONS, 4, "1970-01-01T00:00:00Z", false),
        CONS,
    )
    .unwrap();
    assert_eq!(si.missed_blocks_counter, 4);
    assert_eq!(si.jailed_until, None);
    assert!(!si.tombstoned);
    let si = sdk_rest::parse_signing_info(
        p,
        &signing_json(CONS, 0, "2026-11-25T19:20:51.052973163Z", true),
        CONS,
    )
    .unwrap();
    assert!((si.jailed_until.unwrap() - 1_795_634_451.05).abs() < 0.01);
    assert!(si.tombstoned);
    // Another validator's info, a counter that is not a number, a broken time.
    let e = sdk_rest::parse_signing_info(
        p,
        &signing_json("cosmosvalcons1other", 1, "1970-01-01T00:00:00Z", false),
        CONS,
    )
    .unwrap_err();
    assert!(e.to_string().contains("not cosmosvalcons1"), "{e}");
    let mut bad = signing_json(CONS, 1, "1970-01-01T00:00:00Z", false);
    bad["val_signing_info"]["missed_blocks_counter"] = json!("many");
    assert!(sdk_rest::parse_signing_info(p, &bad, CONS).is_err());
    let bad = signing_json(CONS, 1, "yesterday", false);
    assert!(sdk_rest::parse_signing_info(p, &bad, CONS).is_err());

    let v = sdk_rest::parse_validator(
        p,
        &validator_json(VALOPER, "BOND_STATUS_BONDED", false),
        VALOPER,
    )
    .unwrap();
    assert!(v.bonded() && !v.jailed);
    assert_eq!(v.moniker, "ours");
    let v = sdk_rest::parse_validator(
        p,
        &validator_json(VALOPER, "BOND_STATUS_UNBONDING", true),
        VALOPER,
    )
    .unwrap();
    assert!(!v.bonded() && v.jailed);
    assert!(
        sdk_rest::parse_validator(p, &validator_json(VALOPER, "ACTIVE", false), VALOPER).is_err()
    );
    assert!(sdk_rest::parse_validator(
        p,
        &validator_json("cosmosvaloper1x", "BOND_STATUS_BONDED", false),
        VALOPER
    )
    .is_err());

    assert_eq!(
        sdk_rest::parse_upgrade_plan(p, &json!({"plan": null})).unwrap(),
        None
    );
    let plan = sdk_rest::parse_upgrade_plan(
        p,
        &json!({"plan": {"name": "v2", "time": "0001-01-01T00:00:00Z", "height": "548", "info": "", "upgraded_client_state": null}}),
    )
    .unwrap()
    .unwrap();
    assert_eq!((plan.name.as_str(), plan.height), ("v2", 548));
    assert!(sdk_rest::parse_upgrade_plan(p, &json!({})).is_err());
    assert!(sdk_rest::parse_upgrade_plan(p, &json!({"plan": {"name": "v2"}})).is_err());

    let h =
        sdk_rest::parse_head(p, &head_json("c-1", 239, "2026-11-25T19:19:31.052973163Z")).unwrap();
    assert_eq!((h.chain_id.as_str(), h.height), ("c-1", 239));
    assert!(sdk_rest::parse_head(p, &json!({"block": {"header": {"height": "1"}}})).is_err());
}

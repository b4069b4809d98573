//! Cosmos SDK data by ABCI query, without a chain: the protobuf answers (written here
//! byte by byte, as the SDK encodes them) read into the same values as the REST
//! answers, bad bytes refused, the `abci_query` response sorted into data, "not served",
//! "not found" and errors, and the `abci_query` setting checked.

use crate::collect::sdk::abci::classify;
use crate::collect::sdk::proto as sdk_proto;
use crate::collect::sdk::rest as sdk_rest;
use crate::collect::sdk::source::{Reply, SdkError};
use crate::config::ChainConfig;
use crate::sdk::Via;
use crate::sdk::{self, UpgradePlan};
use crate::{Config, ConfigError};
use serde_json::json;
use std::time::Duration;

const CONS_HEX: &str = "526390D81982CB39ABEF62660942948340CB9C56";
const CONS: &str = "cosmosvalcons12f3epkqest9nn2l0vfnqjs55sdqvh8zkey7h42";
const VALOPER: &str = "cosmosvaloper1q374dg5e2z2w05kpxn4vueh9wmvnvhlpxehlzg";

fn varint(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// A varint field (int64, int32, bool, enum); negative numbers as Go writes them.
fn int(tag: u64, v: i64) -> Vec<u8> {
    let mut o = Vec::new();
    varint(tag << 3, &mut o);
    varint(v as u64, &mut o);
    o
}

/// A length-delimited field (string, bytes, message).
fn bytes(tag: u64, b: &[u8]) -> Vec<u8> {
    let mut o = Vec::new();
    varint((tag << 3) | 2, &mut o);
    varint(b.len() as u64, &mut o);
    o.extend_from_slice(b);
    o
}

fn msg(fields: &[Vec<u8>]) -> Vec<u8> {
    fields.concat()
}

/// simd's slashing params in a `QueryParamsResponse`.
fn params_bytes(window: i64, min: &str) -> Vec<u8> {
    bytes(
        1,
        &msg(&[
            int(1, window),
            bytes(2, min.as_bytes()),
            bytes(3, &int(1, 60)),
            bytes(4, b"50000000000000000"),
            bytes(5, b"10000000000000000"),
        ]),
    )
}

#[test]
fn slashing_params_read_as_over_rest() {
    let by_abci = sdk_proto::slashing_params(&params_bytes(20, "500000000000000000")).unwrap();
    let rest = json!({"params": {
        "signed_blocks_window": "20",
        "min_signed_per_window": "0.500000000000000000",
        "downtime_jail_duration": "60s",
        "slash_fraction_double_sign": "0.050000000000000000",
        "slash_fraction_downtime": "0.010000000000000000"
    }});
    let by_rest = sdk_rest::parse_slashing_params("/p", &rest).unwrap();
    assert_eq!(by_abci, by_rest);
    assert_eq!(by_abci.allowed_missed_blocks, 10);

    for (bad, why) in [
        (
            params_bytes(0, "500000000000000000"),
            "signed_blocks_window is 0",
        ),
        (params_bytes(-5, "500000000000000000"), "negative"),
        (
            params_bytes(20, "2000000000000000000"),
            "not a decimal between 0 and 1",
        ),
        (params_bytes(20, "0.5"), "is not a decimal"),
        (vec![0x0a, 0x05, 0x08], "not a slashing QueryParamsResponse"),
        (vec![], "no params"),
    ] {
        let e = sdk_proto::slashing_params(&bad).unwrap_err();
        assert!(e.contains(why), "{e:?} should say {why:?}");
    }
}

#[test]
fn decimals_are_written_as_the_rest_api_writes_them() {
    for (raw, text) in [
        ("500000000000000000", "0.500000000000000000"),
        ("1000000000000000000", "1.000000000000000000"),
        ("12345000000000000000", "12.345000000000000000"),
        ("5", "0.000000000000000005"),
        ("0", "0.000000000000000000"),
        ("", "0.000000000000000000"),
        ("-5", "-0.000000000000000005"),
    ] {
        assert_eq!(
            sdk_proto::legacy_dec(raw.as_bytes(), "d").as_deref(),
            Ok(text)
        );
    }
    for bad in ["1.5", "-", "1e18", " 5"] {
        assert!(
            sdk_proto::legacy_dec(bad.as_bytes(), "d").is_err(),
            "{bad:?}"
        );
    }
    assert!(sdk_proto::legacy_dec(&[0xff, 0x30], "d").is_err());
}

fn signing_bytes(addr: &str, until_seconds: i64, missed: i64) -> Vec<u8> {
    bytes(
        1,
        &msg(&[
            bytes(1, addr.as_bytes()),
            int(2, 7),
            int(3, 42),
            bytes(4, &int(1, until_seconds)),
            int(5, 0),
            int(6, missed),
        ]),
    )
}

#[test]
fn signing_info_is_ours_or_refused() {
    // Go's zero time, year 1: never jailed.
    let i = sdk_proto::signing_info(&signing_bytes(CONS, -62_135_596_800, 3), CONS).unwrap();
    assert_eq!(i.address, CONS);
    assert_eq!(i.start_height, 7);
    assert_eq!(i.missed_blocks_counter, 3);
    assert_eq!(i.jailed_until, None);
    assert!(!i.tombstoned);
    let i = sdk_proto::signing_info(&signing_bytes(CONS, 1_780_000_000, 0), CONS).unwrap();
    assert_eq!(i.jailed_until, Some(1_780_000_000.0));
    let other = "cosmosvalcons1qqqsyqcyq5rqwzqfpg9scrgwpugpzysnzs23v5";
    let e = sdk_proto::signing_info(&signing_bytes(other, 0, 0), CONS).unwrap_err();
    assert!(e.contains("not cosmosvalcons12f3"), "{e}");
    let e = sdk_proto::signing_info(&signing_bytes(CONS, 0, -1), CONS).unwrap_err();
    assert!(e.contains("missed_blocks_counter is negative"), "{e}");
    assert!(sdk_proto::signing_info(&[], CONS).is_err());
}

fn validator_bytes(op: &str, status: i64, tokens: &str) -> Vec<u8> {
    // consensus_pubkey (an Any) and commission are read; the rest is skipped.
    let any = msg(&[
        bytes(1, b"/cosmos.crypto.ed25519.PubKey"),
        bytes(2, &bytes(1, &[7; 32])),
    ]);
    bytes(
        1,
        &msg(&[
            bytes(1, op.as_bytes()),
            bytes(2, &any),
            int(3, 1),
            int(4, status),
            bytes(5, tokens.as_bytes()),
            bytes(6, b"1000000000000000000000000"),
            bytes(7, &msg(&[bytes(1, b"ours"), bytes(3, b"https://x")])),
            int(8, 12),
            bytes(10, &bytes(1, &bytes(1, b"100000000000000000"))),
        ]),
    )
}

#[test]
fn validator_is_ours_with_a_known_status() {
    let v = sdk_proto::validator(&validator_bytes(VALOPER, 2, "1000000"), VALOPER).unwrap();
    assert_eq!(v.operator_address, VALOPER);
    assert_eq!(v.moniker, "ours");
    assert_eq!(v.status, "BOND_STATUS_UNBONDING");
    assert!(v.jailed);
    assert_eq!(v.tokens, "1000000");
    let key = v.consensus_pubkey.clone().unwrap();
    assert_eq!(key.kind, "/cosmos.crypto.ed25519.PubKey");
    assert_eq!(
        key.address().unwrap(),
        crate::config::ed25519_address(&base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            [7u8; 32]
        ))
        .unwrap()
    );
    let v = sdk_proto::validator(&validator_bytes(VALOPER, 3, "5"), VALOPER).unwrap();
    assert!(v.bonded());
    for (b, why) in [
        (validator_bytes(VALOPER, 0, "5"), "unknown bond status 0"),
        (validator_bytes(VALOPER, 9, "5"), "unknown bond status 9"),
        (validator_bytes(VALOPER, 3, "5x"), "is not an amount"),
        (
            validator_bytes("cosmosvaloper1other", 3, "5"),
            "not cosmosvaloper1q374",
        ),
    ] {
        let e = sdk_proto::validator(&b, VALOPER).unwrap_err();
        assert!(e.contains(why), "{e:?} should say {why:?}");
    }
}

#[test]
fn upgrade_plan_or_nothing_scheduled() {
    assert_eq!(sdk_proto::upgrade_plan(&[]), Ok(None));
    let plan = bytes(
        1,
        &msg(&[
            bytes(1, b"v2"),
            bytes(2, &int(1, 0)),
            int(3, 3000),
            bytes(4, b"{\"binaries\":{}}"),
        ]),
    );
    assert_eq!(
        sdk_proto::upgrade_plan(&plan),
        Ok(Some(UpgradePlan {
            name: "v2".into(),
            height: 3000,
            info: "{\"binaries\":{}}".into(),
        }))
    );
    assert!(sdk_proto::upgrade_plan(&bytes(1, &int(3, -1))).is_err());
    assert!(sdk_proto::upgrade_plan(&[0x0a, 0x09]).is_err());
}

#[test]
fn query_responses_are_sorted_like_rest_replies() {
    let p = "/cosmos.slashing.v1beta1.Query/Params";
    // What CometBFT sends: code and value left out when empty.
    assert_eq!(
        classify(
            p,
            &json!({"code": 0, "log": "", "value": "CAE=", "height": "9"})
        ),
        Ok(Reply::Data(vec![8, 1]))
    );
    assert_eq!(
        classify(p, &json!({"log": "", "height": "9"})),
        Ok(Reply::Data(vec![]))
    );
    assert_eq!(
        classify(
            p,
            &json!({"code": 22, "codespace": "sdk", "log": "rpc error: code = NotFound desc = validator x not found: key not found"})
        ),
        Ok(Reply::NotFound(
            "rpc error: code = NotFound desc = validator x not found: key not found".into()
        ))
    );
    assert_eq!(
        classify(
            p,
            &json!({"code": 6, "codespace": "sdk", "log": "unknown query path: unknown request"})
        ),
        Ok(Reply::Unavailable)
    );
    let e = classify(
        p,
        &json!({"code": 18, "codespace": "sdk", "log": "invalid request"}),
    )
    .unwrap_err();
    assert!(matches!(e, SdkError::Refused { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("code 18 in codespace \"sdk\": invalid request"),
        "{e}"
    );
    // Another module's code 22 is not "not found".
    assert!(classify(p, &json!({"code": 22, "codespace": "wasm", "log": "x"})).is_err());
    for bad in [
        json!({"code": "zero"}),
        json!({"code": -1}),
        json!({"value": "not base64!"}),
        json!({"value": 5}),
    ] {
        let e = classify(p, &bad).unwrap_err();
        assert!(matches!(e, SdkError::Garbage { .. }), "{bad}: {e:?}");
    }
}

fn problems(chain: &str) -> Vec<String> {
    let text = format!(
        "state_path = \"w.sqlite\"\n[[chain]]\nid = \"c-1\"\nrpc = [\"http://127.0.0.1:26657\"]\n{chain}"
    );
    match Config::parse(&text) {
        Err(ConfigError::Invalid(p)) => p,
        other => panic!("expected problems, got {other:?}"),
    }
}

fn chain(text: &str) -> ChainConfig {
    let c = Config::parse(&format!(
        "state_path = \"w.sqlite\"\n[[chain]]\nid = \"c-1\"\nrpc = [\"http://a:26657\", \"http://b:26657\"]\n{text}"
    ))
    .unwrap();
    c.chains[0].clone()
}

#[test]
fn abci_query_reads_through_the_chains_rpc_endpoints() {
    let http = reqwest::Client::new();
    let t = Duration::from_secs(1);
    let c = chain(&format!(
        "validator_address = \"{CONS_HEX}\"\noperator_address = \"{VALOPER}\"\nabci_query = true\n"
    ));
    assert_eq!(sdk::consensus_address(&c).as_deref(), Some(CONS));
    let (via, sources) = crate::collect::sdk::sources(&c, &http, t).unwrap();
    assert_eq!(via, Via::Abci);
    let urls: Vec<&str> = sources.iter().map(|s| s.url()).collect();
    assert_eq!(urls, ["http://a:26657", "http://b:26657"]);

    let c = chain("rest = [\"http://r:1317\"]\nbech32_prefix = \"cosmos\"\n");
    let (via, sources) = crate::collect::sdk::sources(&c, &http, t).unwrap();
    assert_eq!((via, sources.len()), (Via::Rest, 1));
    assert!(crate::collect::sdk::sources(&chain(""), &http, t).is_none());

    let p = problems(&format!(
        "validator_address = \"{CONS_HEX}\"\nabci_query = true\nrest = [\"http://r:1317\"]\n"
    ))
    .join("\n");
    assert!(
        p.contains("set either rest (read the Cosmos SDK data over REST) or abci_query = true"),
        "{p}"
    );
    assert!(
        p.contains("give operator_address (or bech32_prefix)"),
        "{p}"
    );
    let p = problems("operator_address = \"cosmosvaloper1x\"\n").join("\n");
    assert!(
        p.contains("or abci_query = true to read it through rpc"),
        "{p}"
    );
}

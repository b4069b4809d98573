//! Cosmos SDK monitoring without a chain: bech32 addresses, the REST parsers on the
//! shapes the SDK sends (and on garbage), the REST collector against a scripted
//! endpoint on loopback (failover, wrong chain, modules not served), the derived
//! window share and jail projection, the rules and the configuration checks.

use crate::bech32;
use crate::collect::sdk::collector::SdkCollector;
use crate::collect::sdk::rest::{self as sdk_rest, Rest};
use crate::collect::sdk::source::{Reply, SdkError, Source};
use crate::config::ChainConfig;
use crate::config::RulesConfig;
use crate::rules::{evaluate, Outcome};
use crate::sdk::*;
use crate::state::*;
use crate::{Config, ConfigError, Severity};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// Addresses as simd v0.46 prints them for the same keys (`simd debug addr`,
// `simd tendermint show-address`).
const CONS_HEX: &str = "526390D81982CB39ABEF62660942948340CB9C56";
const CONS: &str = "cosmosvalcons12f3epkqest9nn2l0vfnqjs55sdqvh8zkey7h42";
const VALOPER: &str = "cosmosvaloper1q374dg5e2z2w05kpxn4vueh9wmvnvhlpxehlzg";
const ACCOUNT: &str = "cosmos1q374dg5e2z2w05kpxn4vueh9wmvnvhlprdr2wm";
/// The chain's height in the rule tests: well past the first window.
const H: u64 = 50_000;

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

fn params_json(window: u64, min: &str) -> Value {
    json!({"params": {"signed_blocks_window": window.to_string(), "min_signed_per_window": min,
        "downtime_jail_duration": "600s", "slash_fraction_double_sign": "0.050000000000000000",
        "slash_fraction_downtime": "0.010000000000000000"}})
}

fn signing_json(addr: &str, missed: u64, until: &str, tombstoned: bool) -> Value {
    json!({"val_signing_info": {"address": addr, "start_height": "0", "index_offset": "38",
        "jailed_until": until, "tombstoned": tombstoned, "missed_blocks_counter": missed.to_string()}})
}

fn validator_json(op: &str, status: &str, jailed: bool) -> Value {
    json!({"validator": {"operator_address": op,
        "consensus_pubkey": {"@type": "/cosmos.crypto.ed25519.PubKey", "key": "stOsS/B66IFoEUdtKIJaE7Q1kINaBQTiSIXk2VWn/dc="},
        "jailed": jailed, "status": status, "tokens": "5000000000",
        "delegator_shares": "5000000000.000000000000000000",
        "description": {"moniker": "ours", "identity": "", "website": "", "security_contact": "", "details": ""},
        "unbonding_height": "0", "unbonding_time": "1970-01-01T00:00:00Z", "min_self_delegation": "1"}})
}

fn head_json(chain: &str, height: u64, time: &str) -> Value {
    json!({"block_id": {"hash": "aGFzaA=="},
        "block": {"header": {"chain_id": chain, "height": height.to_string(), "time": time}},
        "sdk_block": {"header": {"chain_id": chain, "height": height.to_string(), "time": time}}})
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

// ---------------------------------------------------------------------------
// A scripted REST endpoint.

#[derive(Clone)]
struct Fake {
    chain: String,
    height: u64,
    missed: u64,
    jailed: bool,
    status: &'static str,
    tombstoned: bool,
    plan: Option<(String, u64)>,
    /// Modules the "app" does not have.
    without: Vec<&'static str>,
    /// Our validator does not exist.
    unknown_validator: bool,
    /// Every module answer is this body with status 200.
    garbage: Option<&'static str>,
}

impl Default for Fake {
    fn default() -> Self {
        Self {
            chain: "c-1".into(),
            height: 500,
            missed: 0,
            jailed: false,
            status: "BOND_STATUS_BONDED",
            tombstoned: false,
            plan: None,
            without: vec![],
            unknown_validator: false,
            garbage: None,
        }
    }
}

/// Block `h` is made `h` seconds after 2026-01-01T00:00:00Z, so blocks are 1 s apart.
fn block_time(h: u64) -> String {
    let t = std::time::UNIX_EPOCH + Duration::from_secs(1_767_225_600 + h);
    humantime::format_rfc3339_nanos(t).to_string()
}

fn answer(f: &Fake, path: &str) -> (u16, String) {
    let not_implemented = (
        501,
        json!({"code": 12, "message": "Not Implemented", "details": []}).to_string(),
    );
    if let Some(h) = path.strip_prefix("/cosmos/base/tendermint/v1beta1/blocks/") {
        let h = if h == "latest" {
            f.height
        } else {
            h.parse().unwrap_or(0)
        };
        return (200, head_json(&f.chain, h, &block_time(h)).to_string());
    }
    let module = path.split('/').nth(2).unwrap_or("");
    if f.without.contains(&module) {
        return not_implemented;
    }
    if let Some(g) = f.garbage {
        return (200, g.to_string());
    }
    let body = if path == "/cosmos/slashing/v1beta1/params" {
        params_json(100, "0.500000000000000000")
    } else if let Some(a) = path.strip_prefix("/cosmos/slashing/v1beta1/signing_infos/") {
        let until = if f.jailed {
            "2099-01-01T00:00:00Z"
        } else {
            "1970-01-01T00:00:00Z"
        };
        signing_json(a, f.missed, until, f.tombstoned)
    } else if let Some(op) = path.strip_prefix("/cosmos/staking/v1beta1/validators/") {
        if f.unknown_validator {
            return (
                404,
                json!({"code": 5, "message": format!("validator {op} not found"), "details": []})
                    .to_string(),
            );
        }
        validator_json(op, f.status, f.jailed)
    } else if path == "/cosmos/upgrade/v1beta1/current_plan" {
        match &f.plan {
            None => json!({"plan": null}),
            Some((n, h)) => {
                json!({"plan": {"name": n, "height": h.to_string(), "info": "", "time": "0001-01-01T00:00:00Z"}})
            }
        }
    } else {
        return not_implemented;
    };
    (200, body.to_string())
}

fn serve(fake: Arc<Mutex<Fake>>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let _ = reply(s, &fake);
        }
    });
    url
}

fn reply(mut s: TcpStream, fake: &Mutex<Fake>) -> std::io::Result<()> {
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf)?;
    let head = String::from_utf8_lossy(&buf[..n]).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let (status, body) = answer(&fake.lock().unwrap(), &path);
    write!(s, "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
}

/// A port nothing listens on.
fn dead_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    url
}

fn chain_cfg(rest: &[String]) -> ChainConfig {
    ChainConfig {
        id: "c-1".into(),
        validator_address: Some(CONS_HEX.to_lowercase()),
        rpc: vec!["http://127.0.0.1:1".into()],
        grid_blocks: 100,
        max_backfill: 50,
        websocket: false,
        rest: rest.to_vec(),
        operator_address: Some(VALOPER.into()),
        bech32_prefix: None,
        abci_query: false,
        sdk_interval: Duration::from_secs(1),
    }
}

fn collector(urls: &[String]) -> SdkCollector {
    let http = reqwest::Client::new();
    let rests = urls
        .iter()
        .map(|u| Source::Rest(Rest::new(http.clone(), u, Duration::from_millis(500))))
        .collect();
    SdkCollector::new(&chain_cfg(urls), Via::Rest, rests)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn collector_reads_everything_and_measures_block_time() {
    let f = Arc::new(Mutex::new(Fake {
        missed: 30,
        plan: Some(("v2".into(), 800)),
        ..Default::default()
    }));
    let url = serve(f.clone());
    let mut col = collector(std::slice::from_ref(&url));
    assert_eq!(col.state.consensus_address.as_deref(), Some(CONS));
    rt().block_on(col.poll(1000.0));
    let s = &col.state;
    assert!(s.fresh && s.sources[0].healthy, "{:?}", s.sources);
    assert_eq!(s.height, Some(500));
    assert_eq!(
        s.slashing_params.as_ref().unwrap().allowed_missed_blocks,
        50
    );
    assert_eq!(s.signing_info.as_ref().unwrap().missed_blocks_counter, 30);
    assert_eq!(s.validator.as_ref().unwrap().moniker, "ours");
    assert_eq!(s.upgrade_plan.as_ref().unwrap().height, 800);
    // One older header gives the block time at once.
    assert!((s.block_time_seconds.unwrap() - 1.0).abs() < 1e-6, "{s:?}");
    assert!(s.unavailable.is_empty() && s.not_found.is_empty());
    assert_eq!(s.inactive_since, None);

    // The counter grows by 5 in 10 blocks: half the blocks are missed.
    {
        let mut f = f.lock().unwrap();
        f.height = 510;
        f.missed = 35;
    }
    rt().block_on(col.poll(1010.0));
    assert_eq!(col.state.counter_miss_rate, Some(0.5));

    // Out of the active set without a jail: the time is kept across polls.
    {
        let mut f = f.lock().unwrap();
        f.status = "BOND_STATUS_UNBONDED";
        f.height = 511;
    }
    rt().block_on(col.poll(1011.0));
    rt().block_on(col.poll(1012.0));
    assert_eq!(col.state.inactive_since, Some(1011.0));
}

#[test]
fn garbage_wrong_chain_and_unreachable_endpoints_fail_over_without_data_from_them() {
    let good = Arc::new(Mutex::new(Fake {
        missed: 3,
        ..Default::default()
    }));
    let garbage = Arc::new(Mutex::new(Fake {
        garbage: Some("<html>not the api</html>"),
        missed: 99,
        ..Default::default()
    }));
    let other = Arc::new(Mutex::new(Fake {
        chain: "other-1".into(),
        jailed: true,
        ..Default::default()
    }));
    let dead = dead_url();
    let urls = [serve(garbage), dead.clone(), serve(other), serve(good)];
    let mut col = collector(&urls);
    rt().block_on(col.poll(1000.0));
    let s = &col.state;
    let err = |i: usize| s.sources[i].error.clone().unwrap_or_default();
    assert!(
        !s.sources[0].healthy && err(0).contains("garbage response"),
        "{}",
        err(0)
    );
    assert!(
        !s.sources[1].healthy && err(1).contains("unreachable"),
        "{}",
        err(1)
    );
    assert!(
        !s.sources[2].healthy
            && err(2).contains("wrong chain: expected c-1, the endpoint is on other-1"),
        "{}",
        err(2)
    );
    assert!(s.sources[3].healthy);
    assert!(s.fresh);
    // The data came from the good endpoint only.
    assert_eq!(s.signing_info.as_ref().unwrap().missed_blocks_counter, 3);
    assert!(!s.validator.as_ref().unwrap().jailed);
    for i in 0..3 {
        assert_eq!(s.sources[i].unhealthy_since, Some(1000.0));
    }
}

#[test]
fn nothing_healthy_leaves_the_data_stale_not_changed() {
    let f = Arc::new(Mutex::new(Fake {
        missed: 3,
        ..Default::default()
    }));
    let url = serve(f.clone());
    let mut col = collector(std::slice::from_ref(&url));
    rt().block_on(col.poll(1000.0));
    assert!(col.state.fresh);
    // The endpoint starts answering garbage: the old data stays, marked not fresh.
    f.lock().unwrap().garbage = Some("{\"unexpected\": true}");
    rt().block_on(col.poll(1001.0));
    let s = &col.state;
    assert!(!s.fresh && !s.sources[0].healthy);
    assert!(s.sources[0]
        .error
        .as_deref()
        .unwrap()
        .contains("missing or malformed /params"));
    assert_eq!(s.updated_at, Some(1000.0));
    assert_eq!(s.signing_info.as_ref().unwrap().missed_blocks_counter, 3);
}

#[test]
fn modules_not_served_and_unknown_validator_are_reported_not_errors() {
    let f = Arc::new(Mutex::new(Fake {
        without: vec!["upgrade"],
        unknown_validator: true,
        ..Default::default()
    }));
    let url = serve(f);
    let mut col = collector(std::slice::from_ref(&url));
    rt().block_on(col.poll(1000.0));
    let s = &col.state;
    assert!(s.fresh && s.sources[0].healthy, "{:?}", s.sources);
    assert_eq!(s.unavailable, ["upgrade"]);
    assert_eq!(s.not_found.len(), 1);
    assert!(s.not_found[0].contains("not found"), "{:?}", s.not_found);
    assert!(s.validator.is_none() && s.upgrade_plan.is_none());
    assert!(s.signing_info.is_some());
}

#[test]
fn an_endpoint_far_behind_is_not_read() {
    let ahead = Arc::new(Mutex::new(Fake {
        height: 600,
        missed: 7,
        ..Default::default()
    }));
    let behind = Arc::new(Mutex::new(Fake {
        height: 500,
        missed: 1,
        ..Default::default()
    }));
    let urls = [serve(behind), serve(ahead)];
    let mut col = collector(&urls);
    rt().block_on(col.poll(1000.0));
    let s = &col.state;
    assert!(!s.sources[0].healthy);
    assert!(
        s.sources[0]
            .error
            .as_deref()
            .unwrap()
            .starts_with("100 blocks behind"),
        "{:?}",
        s.sources[0]
    );
    assert_eq!(s.signing_info.as_ref().unwrap().missed_blocks_counter, 7);
}

// ---------------------------------------------------------------------------
// Derived values and rules.

fn chain_with(sdk: SdkState, grid: &[Sign]) -> ChainState {
    let grid: VecDeque<GridEntry> = grid
        .iter()
        .enumerate()
        .map(|(i, s)| GridEntry {
            height: H - 100 + i as u64,
            sign: *s,
        })
        .collect();
    ChainState {
        height: Some(H),
        height_seen_at: Some(1000.0),
        height_observed_at: Some(1000.0),
        checked_height: Some(H - 1),
        grid,
        sdk: Some(Box::new(sdk)),
        ..ChainState::new("c-1", Some(CONS_HEX.into()), vec![])
    }
}

fn sdk(missed: u64) -> SdkState {
    let mut s = SdkState::new(
        Via::Rest,
        &["http://rest".into()],
        Some(VALOPER.into()),
        Some(CONS.into()),
    );
    s.sources[0].healthy = true;
    s.sources[0].error = None;
    s.fresh = true;
    s.updated_at = Some(1000.0);
    s.height = Some(H);
    s.block_time_seconds = Some(6.0);
    s.slashing_params = Some(SlashingParams {
        signed_blocks_window: 10000,
        min_signed_per_window: "0.950000000000000000".into(),
        allowed_missed_blocks: 500,
        downtime_jail_duration: "600s".into(),
        slash_fraction_downtime: "0.01".into(),
    });
    s.signing_info = Some(SigningInfo {
        address: CONS.into(),
        start_height: 0,
        missed_blocks_counter: missed,
        jailed_until: None,
        tombstoned: false,
    });
    s.validator = Some(Validator {
        operator_address: VALOPER.into(),
        moniker: "ours".into(),
        status: "BOND_STATUS_BONDED".into(),
        jailed: false,
        tokens: "5000000000".into(),
    });
    s
}

fn signing(n: usize) -> Vec<Sign> {
    vec![Sign::Signed; n]
}

fn missing(n: usize) -> Vec<Sign> {
    vec![Sign::Missed; n]
}

fn find<'a>(out: &'a [Outcome], key: &str) -> Option<&'a Outcome> {
    out.iter().find(|o| match o {
        Outcome::Firing(c) => c.key == key,
        Outcome::Clear(k) => k == key,
    })
}

fn firing<'a>(out: &'a [Outcome], key: &str) -> &'a crate::rules::Condition {
    match find(out, key) {
        Some(Outcome::Firing(c)) => c,
        other => panic!("{key} not firing: {other:?}\n{out:#?}"),
    }
}

fn cleared(out: &[Outcome], key: &str) -> bool {
    matches!(find(out, key), Some(Outcome::Clear(_)))
}

fn eval(c: ChainState, now: f64) -> Vec<Outcome> {
    let obs = Observed {
        chains: vec![c],
        ..Default::default()
    };
    evaluate(&RulesConfig::default(), &obs, now)
}

#[test]
fn window_share_and_projection_from_the_watchs_own_blocks() {
    // 412 of 500 allowed used, and the last 10 blocks all missed: jailed in 89 blocks.
    let mut grid = signing(90);
    grid.extend(missing(10));
    let c = chain_with(sdk(412), &grid);
    let a = assess(&c).unwrap();
    assert_eq!(a.allowed_missed, Some(500));
    assert!((a.window_missed_ratio.unwrap() - 0.824).abs() < 1e-9);
    assert_eq!((a.miss_rate, a.miss_rate_blocks), (Some(1.0), Some(10)));
    assert_eq!(a.jail_in_blocks, Some(89));
    assert_eq!(a.jail_in_seconds, Some(534.0));
    let out = eval(c, 1000.0);
    let w = firing(&out, "window_missed/c-1");
    assert_eq!(w.severity, Severity::Critical);
    assert_eq!(
        w.summary,
        format!("c-1: our validator ours ({VALOPER}) missed 412 of the last 10000 blocks, 82% of the 500 the chain allows before jailing; at the current miss rate it is jailed in ~89 blocks (~8m 54s); check the validator node and its signer")
    );
    let j = firing(&out, "jail_in/c-1");
    assert_eq!(j.severity, Severity::Critical);
    assert!(
        j.summary.starts_with(&format!("c-1: our validator ours ({VALOPER}) is jailed in ~89 blocks (~8m 54s) at its current miss rate (100% of the last 10 blocks): 412 of the 500 misses")),
        "{}",
        j.summary
    );
    assert!(cleared(&out, "validator_jailed/c-1"));
    assert!(cleared(&out, "validator_tombstoned/c-1"));
    assert!(cleared(&out, "validator_inactive/c-1"));
    assert!(cleared(&out, "validator_unknown/c-1"));

    // Scattered misses that stay below what the chain allows: no projection, and a
    // share below the warning level clears.
    let mut grid = signing(95);
    grid.extend([Sign::Missed; 2]);
    grid.extend(signing(3));
    let c = chain_with(sdk(100), &grid);
    let a = assess(&c).unwrap();
    assert_eq!((a.miss_rate, a.miss_rate_blocks), (Some(0.02), Some(100)));
    assert_eq!(a.jail_in_blocks, None);
    let out = eval(c, 1000.0);
    assert!(cleared(&out, "window_missed/c-1"));
    assert!(cleared(&out, "jail_in/c-1"));
    // The same misses with 300 of 500 used: a warning that says what the worst case is.
    let out = eval(chain_with(sdk(300), &grid), 1000.0);
    let w = firing(&out, "window_missed/c-1");
    assert_eq!(w.severity, Severity::Warning);
    assert!(
        w.summary.ends_with("missed 300 of the last 10000 blocks, 60% of the 500 the chain allows before jailing; at its recent miss rate (2% of the last 100 blocks) it stays below the limit; missing every block from now, it would be jailed in ~201 blocks (~20m 6s); check the validator node and its signer"),
        "{}",
        w.summary
    );

    // One block in ten missed where the chain allows one in twenty: jailed, slowly.
    let mut grid = signing(100);
    for i in 0..10 {
        grid[i * 10] = Sign::Missed;
    }
    let c = chain_with(sdk(400), &grid);
    let a = assess(&c).unwrap();
    assert_eq!((a.miss_rate, a.miss_rate_blocks), (Some(0.1), Some(100)));
    assert_eq!(a.jail_in_blocks, Some(1010));
    let out = eval(c, 1000.0);
    let j = firing(&out, "jail_in/c-1");
    assert_eq!(j.severity, Severity::Warning, "{}", j.summary);
    assert!(
        j.summary
            .contains("(~1h 41m) at its current miss rate (10% of the last 100 blocks)"),
        "{}",
        j.summary
    );
    let w = firing(&out, "window_missed/c-1");
    assert_eq!(w.severity, Severity::Critical);

    // A short run of misses is scattered noise; five in a row mean it is down now.
    let mut grid = signing(96);
    grid.extend(missing(4));
    let a = assess(&chain_with(sdk(0), &grid)).unwrap();
    assert_eq!(a.miss_rate, Some(0.04));
    grid.push(Sign::Missed);
    let a = assess(&chain_with(sdk(0), &grid)).unwrap();
    assert_eq!((a.miss_rate, a.miss_rate_blocks), (Some(1.0), Some(5)));
    assert_eq!(a.jail_in_blocks, Some(501));
}

#[test]
fn without_blocks_of_its_own_the_counter_gives_the_rate() {
    let mut s = sdk(300);
    s.counter_miss_rate = Some(1.0);
    let mut c = chain_with(s, &[]);
    c.validator_address = None;
    let a = assess(&c).unwrap();
    assert_eq!((a.miss_rate, a.miss_rate_blocks), (Some(1.0), Some(0)));
    assert_eq!(a.jail_in_blocks, Some(201));
    let out = eval(c, 1000.0);
    assert!(firing(&out, "jail_in/c-1")
        .summary
        .contains("from the chain's missed-blocks counter"));
}

#[test]
fn jailed_tombstoned_inactive_and_unknown() {
    let mut s = sdk(0);
    s.validator.as_mut().unwrap().jailed = true;
    s.validator.as_mut().unwrap().status = "BOND_STATUS_UNBONDING".into();
    s.signing_info.as_mut().unwrap().jailed_until = Some(1600.0);
    let c = chain_with(s.clone(), &missing(20));
    let out = eval(c, 1000.0);
    let j = firing(&out, "validator_jailed/c-1");
    assert_eq!(j.severity, Severity::Critical);
    assert!(
        j.summary.starts_with(&format!("c-1: our validator ours ({VALOPER}) is JAILED (status BOND_STATUS_UNBONDING): it signs no blocks and earns no rewards; fix the cause")),
        "{}",
        j.summary
    );
    assert!(j.summary.contains("(in 10m)"), "{}", j.summary);
    // Jailed: not also "inactive", and no projection towards a jail it is already in.
    assert!(cleared(&out, "validator_inactive/c-1"));
    assert!(cleared(&out, "jail_in/c-1"));
    assert!(cleared(&out, "window_missed/c-1"));

    // The jail time is over.
    let out = eval(chain_with(s.clone(), &[]), 2000.0);
    assert!(firing(&out, "validator_jailed/c-1")
        .summary
        .contains("the jail time is over"));

    // Tombstoned.
    let mut t = s.clone();
    t.signing_info.as_mut().unwrap().tombstoned = true;
    let out = eval(chain_with(t, &[]), 1000.0);
    assert_eq!(
        firing(&out, "validator_tombstoned/c-1").severity,
        Severity::Critical
    );
    assert!(firing(&out, "validator_jailed/c-1")
        .summary
        .contains("can never be unjailed"));

    // Out of the active set without a jail: warning at once, critical after 30 minutes.
    let mut i = sdk(0);
    i.validator.as_mut().unwrap().status = "BOND_STATUS_UNBONDED".into();
    i.inactive_since = Some(1000.0);
    let out = eval(chain_with(i.clone(), &[]), 1060.0);
    let c = firing(&out, "validator_inactive/c-1");
    assert_eq!(c.severity, Severity::Warning);
    assert!(
        c.summary
            .contains("out of the active set for 1m (BOND_STATUS_UNBONDED, not jailed)"),
        "{}",
        c.summary
    );
    assert!(cleared(&out, "validator_jailed/c-1"));
    let out = eval(chain_with(i, &[]), 1000.0 + 1801.0);
    assert_eq!(
        firing(&out, "validator_inactive/c-1").severity,
        Severity::Critical
    );

    // The chain does not know the operator address.
    let mut u = sdk(0);
    u.validator = None;
    u.not_found = vec![format!("validator: validator {VALOPER} not found")];
    let out = eval(chain_with(u, &[]), 1000.0);
    let c = firing(&out, "validator_unknown/c-1");
    assert_eq!(c.severity, Severity::Warning);
    assert!(
        c.summary.contains("check operator_address"),
        "{}",
        c.summary
    );
}

#[test]
fn upgrade_countdown_by_block_time() {
    let mut s = sdk(0);
    s.upgrade_plan = Some(UpgradePlan {
        name: "v2".into(),
        height: H + 3600,
        info: String::new(),
    });
    // 3600 blocks of 6 s: 6 hours, within the 48 h warning.
    let out = eval(chain_with(s.clone(), &[]), 1000.0);
    let c = firing(&out, "upgrade_in/c-1");
    assert_eq!(c.severity, Severity::Warning);
    assert!(
        c.summary.starts_with("c-1: software upgrade \"v2\" is scheduled at height 53600, 3600 blocks from now: about 6h at the current 6.0s block time (around 1970-01-01T06:16:40Z)"),
        "{}",
        c.summary
    );
    // 500 blocks: 50 minutes, within the 1 h critical level.
    s.upgrade_plan.as_mut().unwrap().height = H + 500;
    let out = eval(chain_with(s.clone(), &[]), 1000.0);
    assert_eq!(firing(&out, "upgrade_in/c-1").severity, Severity::Critical);
    // The height is reached: the chain halts there.
    s.upgrade_plan.as_mut().unwrap().height = H;
    let out = eval(chain_with(s.clone(), &[]), 1000.0);
    let c = firing(&out, "upgrade_in/c-1");
    assert_eq!(c.severity, Severity::Critical);
    assert!(c.summary.contains("is reached"), "{}", c.summary);
    // Far away: nothing; no plan: cleared; module not served: nothing said.
    s.upgrade_plan.as_mut().unwrap().height = H + 100_000;
    assert!(cleared(
        &eval(chain_with(s.clone(), &[]), 1000.0),
        "upgrade_in/c-1"
    ));
    s.upgrade_plan = None;
    assert!(cleared(
        &eval(chain_with(s.clone(), &[]), 1000.0),
        "upgrade_in/c-1"
    ));
    s.unavailable = vec!["upgrade".into()];
    assert!(find(&eval(chain_with(s, &[]), 1000.0), "upgrade_in/c-1").is_none());
}

#[test]
fn bad_rest_gives_source_unhealthy_and_no_data_alerts() {
    // Jailed data from before, but the endpoint now fails: only the source alert.
    let mut s = sdk(450);
    s.validator.as_mut().unwrap().jailed = true;
    s.fresh = false;
    s.sources[0].healthy = false;
    s.sources[0].error =
        Some("garbage response on /cosmos/slashing/v1beta1/params: not a JSON object".into());
    s.sources[0].unhealthy_since = Some(900.0);
    let out = eval(chain_with(s.clone(), &missing(20)), 1000.0);
    let c = firing(&out, "source_unhealthy/c-1/rest/http://rest");
    assert_eq!(c.rule, "source_unhealthy");
    assert_eq!(c.severity, Severity::Critical);
    assert_eq!(
        c.summary,
        "c-1: REST endpoint http://rest has been unhealthy for 1m 40s: garbage response on /cosmos/slashing/v1beta1/params: not a JSON object; 0 of 1 REST endpoints healthy, so slashing, jail and upgrade data are NOT being checked: fix or add an endpoint"
    );
    for key in [
        "validator_jailed/c-1",
        "window_missed/c-1",
        "jail_in/c-1",
        "validator_inactive/c-1",
        "upgrade_in/c-1",
        "validator_unknown/c-1",
    ] {
        assert!(
            find(&out, key).is_none(),
            "{key} spoke without current data: {out:#?}"
        );
    }
    // With another endpoint healthy it is a warning.
    s.sources.push(SourceState {
        url: "http://rest2".into(),
        healthy: true,
        error: None,
        unhealthy_since: None,
    });
    let out = eval(chain_with(s, &[]), 1000.0);
    assert_eq!(
        firing(&out, "source_unhealthy/c-1/rest/http://rest").severity,
        Severity::Warning
    );
    assert!(cleared(&out, "source_unhealthy/c-1/rest/http://rest2"));
}

// ---------------------------------------------------------------------------
// Configuration.

fn cfg_problems(chain: &str) -> Vec<String> {
    let text = format!("state_path = \"w.sqlite\"\n[[chain]]\nid = \"c-1\"\nrpc = [\"http://127.0.0.1:26657\"]\n{chain}");
    match Config::parse(&text) {
        Err(ConfigError::Invalid(p)) => p,
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn chain_sdk_settings_are_checked_all_at_once() {
    let c = Config::parse(&format!(
        "state_path = \"w.sqlite\"\n[[chain]]\nid = \"c-1\"\nrpc = [\"http://127.0.0.1:26657\"]\nvalidator_address = \"{CONS_HEX}\"\nrest = [\"http://127.0.0.1:1317\"]\noperator_address = \"{VALOPER}\"\n"
    ))
    .unwrap();
    assert_eq!(consensus_address(&c.chains[0]).as_deref(), Some(CONS));
    assert_eq!(c.chains[0].sdk_interval, Duration::from_secs(6));
    let c = Config::parse(&format!(
        "state_path = \"w.sqlite\"\n[[chain]]\nid = \"c-1\"\nrpc = [\"http://127.0.0.1:26657\"]\nvalidator_address = \"{CONS_HEX}\"\nrest = [\"http://127.0.0.1:1317\"]\nbech32_prefix = \"cosmos\"\n"
    ))
    .unwrap();
    assert_eq!(consensus_address(&c.chains[0]).as_deref(), Some(CONS));

    let p = cfg_problems(&format!(
        "validator_address = \"{CONS_HEX}\"\nrest = [\"ftp://x\"]\noperator_address = \"{ACCOUNT}\"\nbech32_prefix = \"Osmo\"\nsdk_interval = \"0s\"\n"
    ));
    let all = p.join("\n");
    for needle in [
        "rest: \"ftp://x\" is not an http:// or https:// URL",
        "sdk_interval must be above 0s",
        "is not a validator operator address",
        "bech32_prefix \"Osmo\" must be the lower-case account prefix",
    ] {
        assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
    }
    let p = cfg_problems(
        "operator_address = \"cosmosvaloper1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc56kct2q\"\n",
    );
    let all = p.join("\n");
    assert!(all.contains("has a wrong checksum"), "{all}");
    assert!(all.contains("add rest = ["), "{all}");
    let p = cfg_problems(&format!(
        "operator_address = \"{VALOPER}\"\nbech32_prefix = \"osmo\"\nrest = [\"http://r\"]\n"
    ));
    assert!(
        p.join("\n")
            .contains("does not match operator_address, whose prefix is \"cosmos\""),
        "{p:?}"
    );
    let p = cfg_problems(&format!(
        "validator_address = \"{CONS_HEX}\"\nrest = [\"http://r\"]\n"
    ));
    assert!(
        p.join("\n")
            .contains("give operator_address (or bech32_prefix)"),
        "{p:?}"
    );
    let text = "state_path = \"w.sqlite\"\n[rules.jail_in]\nwarning = \"10m\"\ncritical = \"1h\"\n[rules.window_missed]\nwarning = 90.0\ncritical = 120.0\n";
    match Config::parse(text) {
        Err(ConfigError::Invalid(p)) => {
            let all = p.join("\n");
            assert!(
                all.contains("rules.jail_in: critical (3600) must not be above warning (600)"),
                "{all}"
            );
            assert!(
                all.contains("rules.window_missed: 120 is not a percentage"),
                "{all}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn example_file_documents_the_sdk_settings() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/watch.example.toml");
    let c = Config::load(std::path::Path::new(path)).expect("example parses");
    let chain = &c.chains[0];
    assert_eq!(chain.rest.len(), 2);
    assert_eq!(chain.operator_address.as_deref(), Some(VALOPER));
    assert_eq!(chain.sdk_interval, Duration::from_secs(6));
    assert!(consensus_address(chain)
        .unwrap()
        .starts_with("cosmosvalcons1"));
    assert_eq!(c.rules.window_missed.critical, 75.0);
    assert_eq!(c.rules.jail_in.critical, Duration::from_secs(1800));
    assert_eq!(
        c.rules.validator_inactive.critical,
        Duration::from_secs(1800)
    );
    assert_eq!(c.rules.upgrade_in.warning, Duration::from_secs(48 * 3600));
}

#[test]
fn status_page_shows_the_sdk_data_escaped() {
    let mut s = sdk(412);
    s.validator.as_mut().unwrap().moniker = "<b>ours</b>".into();
    s.validator.as_mut().unwrap().jailed = true;
    s.validator.as_mut().unwrap().status = "BOND_STATUS_UNBONDING".into();
    s.upgrade_plan = Some(UpgradePlan {
        name: "v2".into(),
        height: H + 10,
        info: String::new(),
    });
    s.sources.push(SourceState {
        url: "http://rest2".into(),
        healthy: false,
        error: Some("unreachable: <refused>".into()),
        unhealthy_since: Some(1.0),
    });
    let mut c = chain_with(s, &missing(10));
    refresh(&mut c);
    let a = &c.sdk.as_ref().unwrap().assessment;
    assert_eq!(a.jailed, Some(true));
    assert_eq!(a.upgrade_in_blocks, Some(10));
    let doc = crate::serve::http::StatusDoc {
        generated_at: "2026-01-01T00:00:00Z".into(),
        observed: Observed {
            chains: vec![c],
            ..Default::default()
        },
        alerts: vec![],
    };
    let html = crate::serve::page::render(&doc);
    for needle in [
        "Cosmos SDK: validator &lt;b&gt;ours&lt;/b&gt; <span class=bad>BOND_STATUS_UNBONDING</span>",
        "<span class=bad>JAILED</span>",
        "missed 412 in the 10000-block window, 82% of the 500 allowed",
        "upgrade v2 at height 50010 (10 blocks, ~1m)",
        "<tr><td>http://rest2</td><td><span class=bad>down</span> unreachable: &lt;refused&gt;</td></tr>",
    ] {
        assert!(html.contains(needle), "{needle:?} not in:\n{html}");
    }
    assert!(!html.contains("<b>ours"));
    // The JSON API carries the same.
    let json = serde_json::to_value(&doc).unwrap();
    let sdk = &json["chains"][0]["sdk"];
    assert_eq!(sdk["assessment"]["window_missed_ratio"], 0.824);
    assert_eq!(sdk["validator"]["jailed"], true);
    assert_eq!(sdk["consensus_address"], CONS);
}

#[test]
fn without_staking_data_a_running_jail_shows_from_the_signing_info() {
    let mut s = sdk(0);
    s.validator = None;
    s.operator_address = None;
    s.signing_info.as_mut().unwrap().jailed_until = Some(1600.0);
    let out = eval(chain_with(s.clone(), &[]), 1000.0);
    let j = firing(&out, "validator_jailed/c-1");
    assert!(
        j.summary
            .starts_with(&format!("c-1: our validator {CONS} is JAILED: ")),
        "{}",
        j.summary
    );
    // Once the jail time is over the signing info cannot tell: nothing is said.
    s.updated_at = Some(1700.0);
    assert!(find(&eval(chain_with(s, &[]), 1700.0), "validator_jailed/c-1").is_none());
}

#[test]
fn rest_data_far_behind_the_chain_is_not_judged() {
    // The REST node is stuck 50 blocks back, where our validator was not jailed yet.
    let mut s = sdk(450);
    s.height = Some(H - 50);
    let mut grid = signing(90);
    grid.extend(missing(10));
    let out = eval(chain_with(s.clone(), &grid), 1000.0);
    let c = firing(&out, "sdk_behind/c-1");
    assert_eq!(c.severity, Severity::Warning);
    assert_eq!(
        c.summary,
        format!("c-1: the Cosmos SDK data is at height {}, 50 blocks behind the chain (at {H}): the node of its REST endpoints is stuck or syncing, so slashing, jail and upgrade data are NOT current; fix it or add an endpoint", H - 50)
    );
    for key in ["validator_jailed/c-1", "window_missed/c-1", "jail_in/c-1"] {
        assert!(find(&out, key).is_none(), "{key} judged from old data");
    }
    s.height = Some(H - 500);
    let out = eval(chain_with(s.clone(), &grid), 1000.0);
    assert_eq!(firing(&out, "sdk_behind/c-1").severity, Severity::Critical);
    // Caught up: cleared, and the data speaks again.
    s.height = Some(H - 2);
    let out = eval(chain_with(s, &grid), 1000.0);
    assert!(cleared(&out, "sdk_behind/c-1"));
    assert!(matches!(
        find(&out, "window_missed/c-1"),
        Some(Outcome::Firing(_))
    ));
}

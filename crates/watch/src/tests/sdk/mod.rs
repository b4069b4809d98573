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
use crate::rules::{evaluate_uniform as evaluate, Outcome};
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
    /// Our validator's commission rate.
    commission: &'static str,
    /// Our validator's miss counter in an Umee-style oracle module (`/umee/oracle/v1`).
    oracle_miss: u64,
    /// Every path asked for, in order.
    paths: Vec<String>,
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
            commission: "0.100000000000000000",
            oracle_miss: 0,
            paths: vec![],
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
        let mut v = validator_json(op, f.status, f.jailed);
        v["validator"]["commission"] = json!({"commission_rates": {"rate": f.commission,
            "max_rate": "0.200000000000000000", "max_change_rate": "0.010000000000000000"},
            "update_time": "2026-01-01T00:00:00Z"});
        v
    } else if path == "/umee/oracle/v1/params" {
        // As Umee's gateway writes them (uint64 as strings), mainnet's values.
        json!({"params": {"vote_period": "5", "vote_threshold": "0.500000000000000000",
            "reward_band": "0.020000000000000000", "reward_distribution_window": "5256000",
            "accept_list": [{"base_denom": "uumee", "symbol_denom": "UMEE", "exponent": 6}],
            "slash_fraction": "0.000100000000000000", "slash_window": "201600",
            "min_valid_per_window": "0.050000000000000000", "historic_stamp_period": "14400",
            "median_stamp_period": "100800", "maximum_price_stamps": "60",
            "maximum_median_stamps": "24"}})
    } else if let Some(rest) = path.strip_prefix("/umee/oracle/v1/validators/") {
        if rest.strip_suffix("/miss") != Some(VALOPER) {
            return not_implemented;
        }
        json!({"miss_counter": f.oracle_miss.to_string()})
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
    let (status, body) = {
        let mut f = fake.lock().unwrap();
        f.paths.push(path.clone());
        answer(&f, &path)
    };
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
        validator_pubkey: None,
        rpc: vec!["http://127.0.0.1:1".into()],
        grid_blocks: 100,
        max_backfill: 50,
        websocket: false,
        rest: rest.to_vec(),
        operator_address: Some(VALOPER.into()),
        bech32_prefix: None,
        abci_query: false,
        sdk_interval: Duration::from_secs(1),
        ..ChainConfig::new("c-1", vec![])
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
        commission_rate: None,
        consensus_pubkey: None,
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

// ---------------------------------------------------------------------------
// Configuration.

fn cfg_problems(chain: &str) -> Vec<String> {
    let text = format!("state_path = \"w.sqlite\"\n[[chain]]\nid = \"c-1\"\nrpc = [\"http://127.0.0.1:26657\"]\n{chain}");
    match Config::parse(&text) {
        Err(ConfigError::Invalid(p)) => p,
        other => panic!("expected problems, got {other:?}"),
    }
}

mod collector;
mod config;
mod parse;
mod rules;
mod slow;
mod slow_rules;

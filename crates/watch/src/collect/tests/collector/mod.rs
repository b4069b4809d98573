//! The chain collector against a scripted CometBFT RPC on loopback: signatures
//! (commit, nil, absent), backfill, failover, and sources that lie or hang.

use crate::collect::chain::ChainCollector;
use crate::collect::nodes::NodeCollector;
use crate::collect::rpc::Rpc;
use crate::config::{ChainConfig, NodeConfig, Role};
use crate::state::Sign;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const OURS: &str = "AA00000000000000000000000000000000000000";
const V1: &str = "BB00000000000000000000000000000000000000";
const V2: &str = "CC00000000000000000000000000000000000000";

/// How our validator appears in the commit of a height.
#[derive(Clone, Copy)]
enum Vote {
    Commit,
    Nil,
    Absent,
}

#[derive(Default)]
struct Chain {
    id: String,
    latest: u64,
    ours: HashMap<u64, Vote>,
    in_set: bool,
    validator_calls: u64,
    /// Every /block answer is broken in this way.
    break_blocks: Option<&'static str>,
    /// Blocks carrying evidence, as (block, validator that signed twice, its height).
    evidence: Vec<(u64, &'static str, u64)>,
}

fn sig(addr: &str, v: Vote) -> Value {
    match v {
        Vote::Commit => json!({"block_id_flag": 2, "validator_address": addr, "signature": "c2ln"}),
        Vote::Nil => json!({"block_id_flag": 3, "validator_address": addr, "signature": "c2ln"}),
        Vote::Absent => json!({"block_id_flag": 1, "validator_address": "", "signature": null}),
    }
}

fn answer(c: &mut Chain, path: &str) -> String {
    let q = |k: &str| -> u64 {
        path.split(['?', '&'])
            .find_map(|p| p.strip_prefix(&format!("{k}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let result = if path.starts_with("/status") {
        json!({"node_info": {"network": c.id},
               "sync_info": {"latest_block_height": c.latest.to_string(), "catching_up": false,
                             "latest_block_time": "2026-01-01T00:00:00.123456789Z"}})
    } else if path.starts_with("/net_info") {
        json!({"n_peers": "4", "peers": []})
    } else if path.starts_with("/validators") {
        c.validator_calls += 1;
        let mut vals = vec![V1, V2];
        if c.in_set {
            vals.insert(0, OURS);
        }
        let list: Vec<Value> = vals
            .iter()
            .map(|a| json!({"address": a, "voting_power": "10", "proposer_priority": "0"}))
            .collect();
        json!({"block_height": q("height").to_string(), "validators": list, "count": list.len().to_string(), "total": list.len().to_string()})
    } else if path.starts_with("/block") {
        let h = q("height");
        if c.break_blocks == Some("height") {
            return json!({"jsonrpc": "2.0", "id": -1, "result": {"block": {"header": {"height": (h + 7).to_string()}}}}).to_string();
        }
        let mut sigs = vec![];
        if c.in_set {
            sigs.push(sig(
                OURS,
                c.ours.get(&(h - 1)).copied().unwrap_or(Vote::Commit),
            ));
        }
        sigs.push(sig(V1, Vote::Commit));
        sigs.push(sig(V2, Vote::Commit));
        if c.break_blocks == Some("flag") {
            sigs[0]["block_id_flag"] = json!(7);
        }
        // Evidence as CometBFT writes it; a light-client attack names other validators.
        let evidence: Vec<Value> = c
            .evidence
            .iter()
            .filter(|(b, _, _)| *b == h)
            .flat_map(|(_, who, at)| {
                let vote = json!({"type": 1, "height": at.to_string(), "round": 0,
                                  "validator_address": who.to_ascii_lowercase()});
                [
                    json!({"type": "tendermint/DuplicateVoteEvidence",
                           "value": {"vote_a": vote, "vote_b": vote, "TotalVotingPower": "40",
                                     "ValidatorPower": "10", "Timestamp": "2026-01-01T00:00:00Z"}}),
                    json!({"type": "tendermint/LightClientAttackEvidence",
                           "value": {"CommonHeight": "2", "ByzantineValidators": [{"address": V2}]}}),
                    json!({"type": "tendermint/SomethingNew", "value": {}}),
                ]
            })
            .collect();
        json!({"block": {"header": {"height": h.to_string(), "chain_id": c.id, "validators_hash": "H1"},
                         "last_commit": {"height": (h - 1).to_string(),
                                         "round": if h == 7 { 2 } else { 0 },
                                         "signatures": sigs},
                         "evidence": {"evidence": evidence}}})
    } else {
        return json!({"jsonrpc": "2.0", "id": -1, "error": {"code": -32601, "message": "Method not found"}}).to_string();
    };
    json!({"jsonrpc": "2.0", "id": -1, "result": result}).to_string()
}

/// Serve `handler` on loopback; returns the base URL.
fn serve(handler: impl Fn(&str) -> Option<String> + Send + 'static) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let _ = reply(s, &handler);
        }
    });
    url
}

fn reply(mut s: TcpStream, handler: &dyn Fn(&str) -> Option<String>) -> std::io::Result<()> {
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf)?;
    let head = String::from_utf8_lossy(&buf[..n]).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let Some(body) = handler(&path) else {
        // Hang: keep the connection open without answering.
        std::thread::sleep(Duration::from_secs(5));
        return Ok(());
    };
    write!(s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
}

fn fake(chain: Arc<Mutex<Chain>>) -> String {
    serve(move |p| Some(answer(&mut chain.lock().unwrap(), p)))
}

fn chain(id: &str, in_set: bool) -> Arc<Mutex<Chain>> {
    Arc::new(Mutex::new(Chain {
        id: id.into(),
        latest: 10,
        in_set,
        ..Default::default()
    }))
}

fn collector(urls: &[String]) -> ChainCollector {
    let cfg = ChainConfig {
        id: "c-1".into(),
        validator_address: Some(OURS.to_lowercase()),
        validator_pubkey: None,
        rpc: urls.to_vec(),
        grid_blocks: 100,
        max_backfill: 50,
        websocket: false,
        rest: vec![],
        operator_address: None,
        bech32_prefix: None,
        abci_query: false,
        sdk_interval: Duration::from_secs(6),
        ..ChainConfig::new("c-1", vec![])
    };
    let http = reqwest::Client::new();
    let rpcs = urls
        .iter()
        .map(|u| Rpc::new(http.clone(), u, Duration::from_millis(500)))
        .collect();
    ChainCollector::new(cfg, rpcs)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Block `h` of `c` as a `NewBlock` event carries it.
fn event_block(c: &Arc<Mutex<Chain>>, h: u64) -> crate::collect::rpc::Block {
    let body: Value = serde_json::from_str(&answer(
        &mut c.lock().unwrap(),
        &format!("/block?height={h}"),
    ))
    .unwrap();
    comet::parse_event_block(&body["result"]).unwrap()
}

mod chain;
mod nodes;
mod sources;

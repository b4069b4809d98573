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
            .map(|a| json!({"address": a, "voting_power": "10"}))
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
        rpc: urls.to_vec(),
        grid_blocks: 100,
        max_backfill: 50,
        websocket: false,
        rest: vec![],
        operator_address: None,
        bech32_prefix: None,
        abci_query: false,
        sdk_interval: Duration::from_secs(6),
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

#[test]
fn commits_nil_and_absent_votes_with_backfill() {
    let c = chain("c-1", true);
    {
        let mut g = c.lock().unwrap();
        g.ours.insert(4, Vote::Nil);
        g.evidence = vec![(9, OURS, 5), (8, V1, 7)];
        for h in [6, 7, 12, 13, 14] {
            g.ours.insert(h, Vote::Absent);
        }
    }
    let mut col = collector(&[fake(c.clone())]);
    rt().block_on(async {
        col.poll(1000.0).await;
        let s = &col.state;
        assert_eq!(s.height, Some(10));
        assert_eq!(
            s.checked_height,
            Some(9),
            "block 10 carries the commit of 9"
        );
        // Block 9 carries evidence that we signed twice at height 5.
        assert_eq!(
            s.double_sign,
            Some(crate::state::DoubleSign {
                height: 5,
                block: 9
            })
        );
        // Height 6 was committed in round 2 (block 7's commit says so).
        assert_eq!(s.rounds.to, Some(9));
        assert_eq!(
            s.rounds.worst(),
            Some(crate::state::SlowHeight {
                height: 6,
                round: 2
            })
        );
        let grid: Vec<_> = s.grid.iter().map(|e| (e.height, e.sign)).collect();
        assert_eq!(grid.len(), 9);
        assert_eq!(grid[3], (4, Sign::Signed), "nil counts as signed");
        assert_eq!(grid[5], (6, Sign::Missed));
        assert_eq!(grid[6], (7, Sign::Missed));
        assert_eq!(
            (s.signed_total, s.missed_total, s.missed_in_a_row),
            (7, 2, 0)
        );
        // Ten heights later in one poll: all backfilled.
        c.lock().unwrap().latest = 20;
        col.poll(1001.0).await;
        let s = &col.state;
        assert_eq!(s.checked_height, Some(19));
        assert_eq!(s.grid.len(), 19);
        assert_eq!((s.signed_total, s.missed_total), (14, 5));
        assert_eq!(s.missed_in_a_row, 0, "signed 15..19 after missing 12..14");
        c.lock()
            .unwrap()
            .ours
            .extend([(20, Vote::Absent), (21, Vote::Absent)]);
        c.lock().unwrap().latest = 22;
        col.poll(1002.0).await;
        assert_eq!(col.state.missed_in_a_row, 2);
        assert!(col.state.sources[0].healthy);
    });
    assert!(
        c.lock().unwrap().validator_calls <= 1,
        "validator set cached by hash"
    );
}

#[test]
fn a_validator_outside_the_set_is_not_missing() {
    let c = chain("c-1", false);
    let mut col = collector(&[fake(c)]);
    rt().block_on(col.poll(1000.0));
    assert!(col.state.grid.iter().all(|e| e.sign == Sign::NotInSet));
    assert_eq!((col.state.missed_total, col.state.missed_in_a_row), (0, 0));
}

#[test]
fn bad_sources_fail_over_and_never_count_as_misses() {
    let garbage = serve(|_| Some("<html>oops</html>".into()));
    let wrong = fake(chain("other-chain", true));
    let hang = serve(|_| None);
    let good = fake(chain("c-1", true));
    let mut col = collector(&[garbage, wrong, hang, good]);
    rt().block_on(col.poll(1000.0));
    let s = &col.state;
    let errs: Vec<_> = s
        .sources
        .iter()
        .map(|x| x.error.clone().unwrap_or_default())
        .collect();
    assert!(
        errs[0].starts_with("garbage response: not JSON"),
        "{errs:?}"
    );
    assert_eq!(
        errs[1],
        "wrong chain: expected c-1, the node is on other-chain"
    );
    assert!(errs[2].starts_with("timed out"), "{errs:?}");
    assert!(s.sources[3].healthy);
    assert!(s.sources[..3]
        .iter()
        .all(|x| !x.healthy && x.unhealthy_since == Some(1000.0)));
    assert_eq!(s.checked_height, Some(9));
    assert_eq!(s.missed_total, 0);
}

#[test]
fn only_lying_sources_give_no_verdict_at_all() {
    for how in ["height", "flag"] {
        let c = chain("c-1", true);
        c.lock().unwrap().break_blocks = Some(how);
        let mut col = collector(&[fake(c)]);
        rt().block_on(col.poll(1000.0));
        let s = &col.state;
        assert_eq!(s.checked_height, None, "{how}");
        assert_eq!(s.missed_total, 0);
        assert!(!s.sources[0].healthy);
        assert!(
            s.sources[0]
                .error
                .as_deref()
                .unwrap()
                .starts_with("garbage response"),
            "{:?}",
            s.sources[0].error
        );
    }
    let wrong = fake(chain("other", true));
    let mut col = collector(&[wrong]);
    rt().block_on(col.poll(1000.0));
    assert_eq!((col.state.height, col.state.checked_height), (None, None));
}

#[test]
fn node_status_peers_and_wrong_chain() {
    let url = fake(chain("c-1", true));
    let cfg = NodeConfig {
        name: "s0".into(),
        chain: "c-1".into(),
        role: Role::Sentry,
        rpc: url.clone(),
        metrics: None,
        peers_low: None,
    };
    let mut n = NodeCollector::new(
        &cfg,
        Rpc::new(reqwest::Client::new(), &url, Duration::from_secs(1)),
        reqwest::Client::new(),
        Duration::from_secs(1),
    );
    rt().block_on(n.poll(5.0));
    assert!(n.state.up);
    assert_eq!(
        (n.state.height, n.state.peers, n.state.catching_up),
        (Some(10), Some(4), Some(false))
    );
    let cfg = NodeConfig {
        chain: "c-2".into(),
        ..cfg
    };
    let mut n = NodeCollector::new(
        &cfg,
        Rpc::new(reqwest::Client::new(), &url, Duration::from_secs(1)),
        reqwest::Client::new(),
        Duration::from_secs(1),
    );
    rt().block_on(n.poll(5.0));
    assert!(!n.state.up);
    assert_eq!(n.state.down_since, Some(5.0));
    assert_eq!(
        n.state.error.as_deref(),
        Some("wrong chain: expected c-2, the node is on c-1")
    );
}

#[test]
fn a_source_with_good_status_but_bad_blocks_stays_unhealthy() {
    let c = chain("c-1", true);
    c.lock().unwrap().break_blocks = Some("flag");
    let good = fake(chain("c-1", true));
    let (bad, good_chain) = (fake(c.clone()), good);
    let mut col = collector(&[bad, good_chain]);
    let rt = rt();
    rt.block_on(col.poll(1000.0));
    c.lock().unwrap().latest = 11;
    rt.block_on(col.poll(1005.0));
    let s = &col.state;
    assert!(!s.sources[0].healthy);
    assert_eq!(
        s.sources[0].unhealthy_since,
        Some(1000.0),
        "not reset by a good /status"
    );
    assert!(s.sources[1].healthy && s.sources[1].unhealthy_since.is_none());
    assert_eq!(
        (s.checked_height, s.missed_total),
        (Some(9), 0),
        "blocks read from the other source"
    );
}

#[test]
fn a_source_claiming_a_height_far_ahead_does_not_skip_real_blocks() {
    let liar = serve(|p| {
        let c = Arc::new(Mutex::new(Chain {
            id: "c-1".into(),
            latest: 1_000_000,
            in_set: true,
            ..Default::default()
        }));
        if p.starts_with("/block") {
            Some(json!({"jsonrpc": "2.0", "id": -1, "error": {"code": -32603, "message": "height must be less than or equal to the current blockchain height"}}).to_string())
        } else {
            Some(answer(&mut c.lock().unwrap(), p))
        }
    });
    let real = chain("c-1", true);
    let mut col = collector(&[liar, fake(real)]);
    let rt = rt();
    rt.block_on(col.poll(1000.0));
    let s = &col.state;
    let err = s.sources[0].error.as_deref().unwrap();
    assert!(err.starts_with("RPC error"), "{err}");
    assert!(!s.sources[0].healthy && s.sources[1].healthy);
    assert_eq!(
        (s.height, s.checked_height),
        (Some(10), Some(9)),
        "the real chain is read"
    );
}

#[test]
fn a_stuck_source_is_left_for_one_well_ahead_and_reported_behind() {
    let stuck = chain("c-1", true);
    let live = chain("c-1", true);
    let mut col = collector(&[fake(stuck.clone()), fake(live.clone())]);
    let rt = rt();
    rt.block_on(col.poll(1000.0));
    assert_eq!(col.state.checked_height, Some(9));
    assert!(col.state.sources.iter().all(|s| s.healthy));

    // A few blocks apart is normal between nodes: the first source stays in use.
    live.lock().unwrap().latest = 14;
    stuck.lock().unwrap().latest = 11;
    rt.block_on(col.poll(1001.0));
    assert_eq!(col.state.height, Some(11));
    assert!(col.state.sources.iter().all(|s| s.healthy));

    // The live chain moves on and our validator misses a block there.
    {
        let mut l = live.lock().unwrap();
        l.latest = 30;
        l.ours.insert(25, Vote::Absent);
    }
    rt.block_on(col.poll(1002.0));
    let s = &col.state;
    assert_eq!((s.height, s.checked_height), (Some(30), Some(29)));
    assert_eq!(s.missed_total, 1, "the miss on the live chain is seen");
    assert!(!s.sources[0].healthy && s.sources[1].healthy);
    assert_eq!(s.sources[0].unhealthy_since, Some(1002.0));
    assert_eq!(
        s.sources[0].error.as_deref(),
        Some("behind: at height 11 while another endpoint is at 30; it is stuck or has lost its peers, so it is not used")
    );

    // Still stuck a poll later: unhealthy since the first time, not reset.
    live.lock().unwrap().latest = 31;
    rt.block_on(col.poll(1003.0));
    assert_eq!(col.state.sources[0].unhealthy_since, Some(1002.0));
    assert_eq!(col.state.checked_height, Some(30));

    // It catches up: healthy again.
    stuck.lock().unwrap().latest = 31;
    rt.block_on(col.poll(1004.0));
    assert!(col
        .state
        .sources
        .iter()
        .all(|s| s.healthy && s.unhealthy_since.is_none()));
}

/// Block `h` of `c` as a `NewBlock` event carries it.
fn event_block(c: &Arc<Mutex<Chain>>, h: u64) -> crate::collect::rpc::Block {
    let body: Value = serde_json::from_str(&answer(
        &mut c.lock().unwrap(),
        &format!("/block?height={h}"),
    ))
    .unwrap();
    crate::collect::rpc::parse_event_block(&body["result"]).unwrap()
}

#[test]
fn blocks_pushed_by_the_websocket_are_read_in_order_and_anything_else_needs_a_poll() {
    let c = chain("c-1", true);
    let mut col = collector(&[fake(c.clone())]);
    let rt = rt();
    // Nothing read yet: the feed cannot be used.
    let b = event_block(&c, 10);
    assert!(!rt.block_on(col.take_fed(vec![b], 1000.0)));
    rt.block_on(col.poll(1000.0));
    assert_eq!(col.state.checked_height, Some(9));

    // The next heights, one with our validator absent, already-known ones ignored.
    c.lock().unwrap().ours.insert(11, Vote::Absent);
    let fed = vec![
        event_block(&c, 10),
        event_block(&c, 11),
        event_block(&c, 12),
    ];
    assert!(rt.block_on(col.take_fed(fed, 1001.0)));
    let s = &col.state;
    assert_eq!((s.height, s.checked_height), (Some(12), Some(11)));
    assert_eq!((s.missed_total, s.missed_in_a_row), (1, 1));
    assert_eq!(s.height_observed_at, Some(1001.0));
    assert_eq!(
        s.grid.back().map(|g| (g.height, g.sign)),
        Some((11, Sign::Missed))
    );

    // A gap, another chain, a block carrying the wrong commit: poll instead.
    assert!(!rt.block_on(col.take_fed(vec![event_block(&c, 14)], 1002.0)));
    let other = chain("c-2", true);
    assert!(!rt.block_on(col.take_fed(vec![event_block(&other, 13)], 1002.0)));
    let mut wrong = event_block(&c, 13);
    wrong.commit_height = 5;
    assert!(!rt.block_on(col.take_fed(vec![wrong], 1002.0)));
    assert!(
        !rt.block_on(col.take_fed(vec![], 1002.0)),
        "an event without a block"
    );
    assert_eq!(col.state.checked_height, Some(11), "nothing was counted");
    assert_eq!(col.state.missed_total, 1);
}

#[test]
fn node_metrics_are_read_beside_the_rpc_and_their_failures_kept_apart() {
    let rpc = fake(chain("c-1", true));
    let metrics = serve(|p| {
        (p == "/metrics").then(|| {
            "cometbft_consensus_rounds{chain_id=\"c-1\"} 1\n\
             cometbft_consensus_missing_validators_power{chain_id=\"c-1\"} 0\n\
             cometbft_consensus_validators_power{chain_id=\"c-1\"} 40\n\
             cometbft_mempool_size{chain_id=\"c-1\"} 7\n"
                .to_string()
        })
    });
    let hang = serve(|_| None);
    let node = |m: String| {
        let cfg = NodeConfig {
            name: "v0".into(),
            chain: "c-1".into(),
            role: Role::Validator,
            rpc: rpc.clone(),
            metrics: Some(m),
            peers_low: None,
        };
        NodeCollector::new(
            &cfg,
            Rpc::new(reqwest::Client::new(), &rpc, Duration::from_secs(1)),
            reqwest::Client::new(),
            Duration::from_millis(500),
        )
    };
    let mut n = node(format!("{metrics}/metrics"));
    rt().block_on(n.poll(5.0));
    assert!(n.state.up);
    let m = n.state.metrics.as_ref().unwrap();
    assert!(m.up, "{m:?}");
    assert_eq!(m.figures.consensus_rounds, Some(1));
    assert_eq!(m.figures.missing_power_ratio, Some(0.0));
    assert_eq!(m.figures.mempool_txs, Some(7));

    // A metrics endpoint that hangs, or the RPC port given by mistake: the metrics are
    // down with a reason, and the node's RPC is read all the same.
    for (url, why) in [
        (format!("{hang}/metrics"), "timed out"),
        (format!("{rpc}/metrics"), "no CometBFT consensus metrics"),
    ] {
        let mut n = node(url.clone());
        rt().block_on(n.poll(7.0));
        assert!(n.state.up, "{url}");
        assert_eq!(n.state.height, Some(10));
        let m = n.state.metrics.as_ref().unwrap();
        assert!(!m.up);
        assert_eq!(m.down_since, Some(7.0));
        let e = m.error.as_deref().unwrap();
        assert!(e.contains(why), "{url}: {e}");
    }
}

//! The replay server: many CometBFT chains on loopback, one port each, made from one
//! recorded fixture. Each chain makes a block every `block_time` (chains are staggered
//! across the interval) and serves what a monitor reads: `/status`, `/block`,
//! `/validators`, `/net_info`, `/health` as GET or JSON-RPC POST, `abci_query` for the
//! two slashing queries, and `/websocket` with `NewBlock` and `Vote` subscriptions; and,
//! on a second port, the chain's Cosmos SDK REST API ([`super::rest`]).

use super::cosmos;
use super::fixture::{Clock, Fixture};
use super::http::{self, Request, Response, Service, Session};
use super::rest::{RestPort, SdkChain, Unserved};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

/// Requests and messages served, by kind.
#[derive(Debug, Default)]
pub struct Counters {
    /// `/status`.
    pub status: AtomicU64,
    /// `/block`.
    pub block: AtomicU64,
    /// `/validators` pages.
    pub validators: AtomicU64,
    /// `/net_info`.
    pub net_info: AtomicU64,
    /// `abci_query`.
    pub abci_query: AtomicU64,
    /// Anything else.
    pub other: AtomicU64,
    /// Websocket event messages sent.
    pub ws_events: AtomicU64,
    /// Open `NewBlock` subscriptions.
    pub new_block_subscribers: AtomicU64,
    /// Cosmos SDK REST requests.
    pub rest: AtomicU64,
    /// ... of them, the slow reads (governance, balances, the bonded set).
    pub rest_slow: AtomicU64,
    /// ... of them, balance reads of our wallet.
    pub wallet_reads: AtomicU64,
    /// ... of them, requests the replay does not serve.
    pub rest_unserved: AtomicU64,
}

/// A snapshot of [`Counters`] summed over chains.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Served {
    /// `/status`.
    pub status: u64,
    /// `/block`.
    pub block: u64,
    /// `/validators` pages.
    pub validators: u64,
    /// `/net_info`.
    pub net_info: u64,
    /// `abci_query`.
    pub abci_query: u64,
    /// Anything else.
    pub other: u64,
    /// Websocket event messages.
    pub ws_events: u64,
    /// Cosmos SDK REST requests.
    pub rest: u64,
    /// ... of them, the slow reads.
    pub rest_slow: u64,
    /// ... of them, requests not served.
    pub rest_unserved: u64,
}

impl Served {
    /// Per second over `secs`, from `before` to `self`.
    pub fn rate_since(&self, before: &Served, secs: f64) -> serde_json::Value {
        let r = |a: u64, b: u64| ((a - b) as f64 / secs * 10.0).round() / 10.0;
        json!({
            "status": r(self.status, before.status),
            "block": r(self.block, before.block),
            "validators": r(self.validators, before.validators),
            "net_info": r(self.net_info, before.net_info),
            "abci_query": r(self.abci_query, before.abci_query),
            "other": r(self.other, before.other),
            "ws_events": r(self.ws_events, before.ws_events),
            "rest": r(self.rest, before.rest),
            "rest_slow": r(self.rest_slow, before.rest_slow),
            "rest_unserved": r(self.rest_unserved, before.rest_unserved),
        })
    }
}

/// One replayed chain.
#[derive(Debug)]
pub struct Chain {
    pub(super) clock: Clock,
    pub(super) fixture: Arc<Fixture>,
    valcons: String,
    pub(super) height: AtomicU64,
    blocks: broadcast::Sender<u64>,
    /// What it served.
    pub counters: Counters,
    /// Its Cosmos SDK modules.
    pub sdk: SdkChain,
    pub(super) unserved: Arc<Unserved>,
}

/// A running replay server.
#[derive(Debug)]
pub struct Replay {
    /// The chains, in order.
    pub chains: Vec<Arc<Chain>>,
    /// Each chain's RPC URL (`http://127.0.0.1:<port>`).
    pub urls: Vec<String>,
    /// Each chain's Cosmos SDK REST API URL (another port).
    pub rest_urls: Vec<String>,
    /// REST requests not served, over all chains.
    pub unserved: Arc<Unserved>,
    shutdown: CancellationToken,
}

/// Chain ID of replayed chain `i`.
pub fn chain_id(i: usize) -> String {
    format!("replay-{i:03}")
}

impl Replay {
    /// Start `n` chains making a block every `block_time`.
    pub async fn start(
        fixture: Arc<Fixture>,
        n: usize,
        block_time: Duration,
    ) -> anyhow::Result<Self> {
        let shutdown = CancellationToken::new();
        let base_sys = SystemTime::now();
        let base = Instant::now();
        let valcons = cosmos::valcons(&fixture.meta.validator_address);
        let mut chains = Vec::new();
        let mut urls = Vec::new();
        let mut rest_urls = Vec::new();
        let unserved = Arc::new(Unserved::default());
        for i in 0..n {
            let offset = block_time.mul_f64(i as f64 / n as f64);
            let start_height = 1_000_000 + 7_919 * i as u64;
            let chain = Arc::new(Chain {
                clock: Clock {
                    chain_id: chain_id(i),
                    start_height,
                    base: base_sys + offset,
                    block_time,
                },
                fixture: fixture.clone(),
                valcons: valcons.clone(),
                height: AtomicU64::new(start_height),
                blocks: broadcast::channel(16).0,
                counters: Counters::default(),
                sdk: SdkChain::new(&chain_id(i), i, &fixture, base_sys),
                unserved: unserved.clone(),
            });
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            urls.push(format!("http://{}", listener.local_addr()?));
            tokio::spawn(http::serve(listener, chain.clone(), shutdown.clone()));
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            rest_urls.push(format!("http://{}", listener.local_addr()?));
            let rest = Arc::new(RestPort(chain.clone()));
            tokio::spawn(http::serve(listener, rest, shutdown.clone()));
            let (c, sd) = (chain.clone(), shutdown.clone());
            tokio::spawn(async move {
                let mut every = tokio::time::interval_at((base + offset).into(), block_time);
                loop {
                    tokio::select! {
                        _ = sd.cancelled() => return,
                        _ = every.tick() => {
                            let h = c.height.fetch_add(1, Ordering::SeqCst) + 1;
                            let _ = c.blocks.send(h);
                        }
                    }
                }
            });
            chains.push(chain);
        }
        Ok(Self {
            chains,
            urls,
            rest_urls,
            unserved,
            shutdown,
        })
    }

    /// Chains with at least one open `NewBlock` subscription.
    pub fn subscribed(&self) -> usize {
        self.chains
            .iter()
            .filter(|c| c.counters.new_block_subscribers.load(Ordering::Relaxed) > 0)
            .count()
    }

    /// What all chains served so far.
    pub fn served(&self) -> Served {
        let mut s = Served::default();
        for c in &self.chains {
            let k = &c.counters;
            let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
            s.status += l(&k.status);
            s.block += l(&k.block);
            s.validators += l(&k.validators);
            s.net_info += l(&k.net_info);
            s.abci_query += l(&k.abci_query);
            s.other += l(&k.other);
            s.ws_events += l(&k.ws_events);
            s.rest += l(&k.rest);
            s.rest_slow += l(&k.rest_slow);
            s.rest_unserved += l(&k.rest_unserved);
        }
        s
    }

    /// Each chain's count of wallet balance reads so far.
    pub fn wallet_reads(&self) -> Vec<u64> {
        self.chains
            .iter()
            .map(|c| c.counters.wallet_reads.load(Ordering::Relaxed))
            .collect()
    }

    /// Each chain's current height.
    pub fn heights(&self) -> Vec<u64> {
        self.chains
            .iter()
            .map(|c| c.height.load(Ordering::SeqCst))
            .collect()
    }

    /// Stop serving.
    pub fn stop(&self) {
        self.shutdown.cancel();
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn envelope(id: &Value, result: Result<Value, (i64, String, String)>) -> (u16, Vec<u8>) {
    match result {
        Ok(r) => (
            200,
            serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": id, "result": r})).unwrap_or_default(),
        ),
        Err((code, message, data)) => (
            500,
            serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message, "data": data}}))
                .unwrap_or_default(),
        ),
    }
}

fn internal(data: String) -> (i64, String, String) {
    (-32603, "Internal error".into(), data)
}

fn param_u64(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

impl Chain {
    fn call(
        &self,
        method: &str,
        params: &dyn Fn(&str) -> Option<Value>,
    ) -> Result<Value, (i64, String, String)> {
        let f = &self.fixture;
        let k = &self.counters;
        let latest = self.height.load(Ordering::SeqCst);
        let height = |name: &str| -> Result<u64, (i64, String, String)> {
            match param_u64(params(name).as_ref()) {
                None => Ok(latest),
                Some(0) => Err(internal("height must be greater than 0, but got 0".into())),
                Some(h) if h > latest => Err(internal(format!(
                    "height {h} must be less than or equal to the current blockchain height {latest}"
                ))),
                Some(h) => Ok(h),
            }
        };
        match method {
            "status" => {
                k.status.fetch_add(1, Ordering::Relaxed);
                Ok(f.status(&self.clock, latest))
            }
            "block" => {
                k.block.fetch_add(1, Ordering::Relaxed);
                Ok(f.block(&self.clock, height("height")?))
            }
            "validators" => {
                k.validators.fetch_add(1, Ordering::Relaxed);
                let h = height("height")?;
                match param_u64(params("page").as_ref()) {
                    None | Some(1) => Ok(f.validators(h)),
                    Some(p) => Err(internal(format!(
                        "page should be within [1, 1] range, given {p}"
                    ))),
                }
            }
            "net_info" => {
                k.net_info.fetch_add(1, Ordering::Relaxed);
                Ok(f.net_info())
            }
            "health" => {
                k.other.fetch_add(1, Ordering::Relaxed);
                Ok(json!({}))
            }
            "abci_query" => {
                k.abci_query.fetch_add(1, Ordering::Relaxed);
                let path = params("path")
                    .and_then(|p| p.as_str().map(str::to_string))
                    .unwrap_or_default();
                let (code, value, log) = match path.trim_matches('"') {
                    "/cosmos.slashing.v1beta1.Query/SigningInfo" => {
                        (0, Some(cosmos::signing_info(&self.valcons)), "")
                    }
                    "/cosmos.slashing.v1beta1.Query/Params" => {
                        (0, Some(cosmos::slashing_params()), "")
                    }
                    _ => (6, None, "unknown query path"),
                };
                use base64::Engine;
                let value = value.map(|v| base64::engine::general_purpose::STANDARD.encode(v));
                Ok(json!({"response": {
                    "code": code, "log": log, "info": "", "index": "0", "key": null,
                    "value": value, "proofOps": null, "height": latest.to_string(), "codespace": ""
                }}))
            }
            other => {
                k.other.fetch_add(1, Ordering::Relaxed);
                Err((-32601, "Method not found".into(), other.to_string()))
            }
        }
    }

    async fn session(self: Arc<Self>, ws: WebSocketStream<TcpStream>) {
        let (mut tx, mut rx) = ws.split();
        let mut blocks = self.blocks.subscribe();
        let mut new_block: Option<Value> = None;
        let mut votes: Option<Value> = None;
        let mut counted = CountGuard(&self.counters.new_block_subscribers, false);
        loop {
            tokio::select! {
                m = rx.next() => {
                    let text = match m {
                        Some(Ok(Message::Text(t))) => t,
                        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                        Some(Ok(_)) => continue,
                    };
                    let Ok(req) = serde_json::from_str::<Value>(&text) else { continue };
                    let id = req.get("id").cloned().unwrap_or(Value::Null);
                    let query = req.pointer("/params/query").and_then(Value::as_str).unwrap_or("");
                    let reply = match req.get("method").and_then(Value::as_str) {
                        Some("subscribe") if query.contains("NewBlock") && !query.contains("Header") => {
                            new_block = Some(id.clone());
                            counted.set();
                            json!({"jsonrpc": "2.0", "id": id, "result": {}})
                        }
                        Some("subscribe") if query.contains("'Vote'") => {
                            votes = Some(id.clone());
                            json!({"jsonrpc": "2.0", "id": id, "result": {}})
                        }
                        Some(m) => {
                            let p = req.get("params").cloned().unwrap_or(Value::Null);
                            let r = self.call(m, &|k| p.get(k).cloned());
                            match r {
                                Ok(r) => json!({"jsonrpc": "2.0", "id": id, "result": r}),
                                Err((code, message, data)) => json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message, "data": data}}),
                            }
                        }
                        None => continue,
                    };
                    if tx.send(Message::text(reply.to_string())).await.is_err() {
                        return;
                    }
                }
                h = blocks.recv() => {
                    let h = match h {
                        Ok(h) => h,
                        Err(broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(broadcast::error::RecvError::Closed) => return,
                    };
                    let mut out = Vec::new();
                    if let Some(id) = &new_block {
                        out.push(self.fixture.new_block_event(&self.clock, h, id));
                    }
                    if let Some(id) = &votes {
                        out.extend(self.fixture.vote_events(&self.clock, h, id));
                    }
                    for e in out {
                        self.counters.ws_events.fetch_add(1, Ordering::Relaxed);
                        if tx.send(Message::text(e.to_string())).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// Counts an open `NewBlock` subscription until the session ends.
struct CountGuard<'a>(&'a AtomicU64, bool);

impl CountGuard<'_> {
    fn set(&mut self) {
        if !self.1 {
            self.1 = true;
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Drop for CountGuard<'_> {
    fn drop(&mut self) {
        if self.1 {
            self.0.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Service for Chain {
    fn handle(&self, req: &Request) -> Response {
        if req.method == "POST" {
            let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
                let (s, b) = envelope(
                    &Value::Null,
                    Err((-32700, "Parse error".into(), String::new())),
                );
                return Response::json(s, b);
            };
            let id = body.get("id").cloned().unwrap_or(Value::Null);
            let method = body.get("method").and_then(Value::as_str).unwrap_or("");
            let params = body.get("params").cloned().unwrap_or(Value::Null);
            let (s, b) = envelope(&id, self.call(method, &|k| params.get(k).cloned()));
            return Response::json(s, b);
        }
        let method = req.path().trim_start_matches('/');
        let method = if method.is_empty() { "health" } else { method };
        let (s, b) = envelope(
            &json!(-1),
            self.call(method, &|k| {
                req.query(k).map(|v| Value::String(v.to_string()))
            }),
        );
        Response::json(s, b)
    }

    fn websocket(self: Arc<Self>, ws: WebSocketStream<TcpStream>) -> Option<Session> {
        Some(Box::pin(self.session(ws)))
    }
}

/// Serve `n` chains until Ctrl-C, printing their URLs (for trying a monitor by hand).
pub async fn serve_forever(
    fixture: Arc<Fixture>,
    n: usize,
    block_time: Duration,
) -> anyhow::Result<()> {
    let replay = Replay::start(fixture, n, block_time).await?;
    for (i, u) in replay.urls.iter().enumerate() {
        println!("{} {u} rest {}", chain_id(i), replay.rest_urls[i]);
    }
    eprintln!("serving {n} chain(s), a block every {block_time:?}; Ctrl-C stops");
    tokio::signal::ctrl_c().await?;
    replay.stop();
    Ok(())
}

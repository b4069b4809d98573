//! CometBFT websocket `NewBlock` subscription (`ws://`, or `wss://` over rustls with
//! the watch's trusted certificates). Each event's block goes to the chain collector
//! through a [`Feed`], which reads it without another request when it is the next
//! height; anything else (a gap, a block that does not parse) makes the collector poll
//! and backfill, which stays the source of truth, so a dropped socket or a missed event
//! costs latency, never a block.

use crate::collect::rpc::Block;
use crate::net::tls::Trust;
use futures_util::{SinkExt, StreamExt};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::Connector;
use tokio_util::sync::CancellationToken;

type Labels = Vec<(&'static str, String)>;

/// Blocks kept for the collector at most; older ones are dropped (it backfills).
const FEED_MAX: usize = 32;

/// New blocks from the websocket, and the wake-up for the chain's collector.
#[derive(Debug, Default)]
pub struct Feed {
    wake: Notify,
    blocks: Mutex<VecDeque<Block>>,
}

impl Feed {
    /// An event arrived: keep its block when it parsed, and wake the collector.
    pub fn push(&self, block: Option<Block>) {
        if let Some(b) = block {
            let mut q = self.blocks.lock().unwrap_or_else(|p| p.into_inner());
            q.push_back(b);
            while q.len() > FEED_MAX {
                q.pop_front();
            }
        }
        self.wake.notify_one();
    }

    /// Wait for the next event.
    pub async fn notified(&self) {
        self.wake.notified().await
    }

    /// The blocks received since the last call, oldest first.
    pub fn take(&self) -> Vec<Block> {
        let mut q = self.blocks.lock().unwrap_or_else(|p| p.into_inner());
        q.drain(..).collect()
    }
}

/// `bulwark_watch_websocket_connected{chain}` and
/// `bulwark_watch_websocket_new_blocks_total{chain}`.
#[derive(Debug, Clone, Default)]
pub struct WsMetrics {
    connected: Family<Labels, Gauge>,
    new_blocks: Family<Labels, Counter>,
}

impl WsMetrics {
    /// Create the metrics and register them in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "bulwark_watch_websocket_connected",
            "1 while a NewBlock websocket subscription to the chain is open",
            m.connected.clone(),
        );
        registry.register(
            "bulwark_watch_websocket_new_blocks",
            "NewBlock events received over the chain's websocket",
            m.new_blocks.clone(),
        );
        m
    }
}

/// What one chain's follower connects to and reports into.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// RPC URLs (`http://` or `https://`), tried in order.
    pub rpcs: Vec<String>,
    /// Certificates trusted for `wss://`.
    pub trust: Trust,
    /// 1 while subscribed.
    pub connected: Gauge,
    /// NewBlock events received.
    pub new_blocks: Counter,
}

impl Subscription {
    /// A subscription to `rpcs` whose metrics are not registered anywhere.
    pub fn new(rpcs: Vec<String>, trust: Trust) -> Self {
        Self {
            rpcs,
            trust,
            connected: Gauge::default(),
            new_blocks: Counter::default(),
        }
    }

    /// Report into `metrics` under `chain`.
    pub fn with_metrics(mut self, metrics: &WsMetrics, chain: &str) -> Self {
        let l = vec![("chain", chain.to_string())];
        self.connected = metrics.connected.get_or_create(&l).clone();
        self.new_blocks = metrics.new_blocks.get_or_create(&l).clone();
        self
    }
}

/// The subscription request CometBFT expects.
pub const SUBSCRIBE: &str =
    r#"{"jsonrpc":"2.0","method":"subscribe","id":1,"params":{"query":"tm.event='NewBlock'"}}"#;

/// How long connecting and subscribing may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// `ws://host:port/websocket` for an `http://host:port` RPC URL (`wss://` for `https://`).
pub fn websocket_url(rpc: &str) -> String {
    let base = rpc.trim_end_matches('/');
    let base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_string()
    };
    format!("{base}/websocket")
}

/// Keep a `NewBlock` subscription open until `shutdown`, feeding every event to `feed`
/// (trusting the Mozilla root set for `wss://`).
#[cfg(test)]
pub async fn follow_new_blocks(rpcs: Vec<String>, feed: Arc<Feed>, shutdown: CancellationToken) {
    follow(Subscription::new(rpcs, Trust::system()), feed, shutdown).await
}

/// Keep a `NewBlock` subscription open until `shutdown`, feeding every event to `feed`.
/// Tries the endpoints in order, moving to the next one when a
/// connection fails or drops, with a backoff (1 s to 30 s) after a full round. A new
/// kind of failure (a refused connection, a certificate the watch does not trust) is
/// logged as a warning once, repeats of it at debug level.
pub async fn follow(sub: Subscription, feed: Arc<Feed>, shutdown: CancellationToken) {
    let rpcs = &sub.rpcs;
    if rpcs.is_empty() {
        return;
    }
    let tls = sub.trust.client_config();
    let mut backoff = Duration::from_secs(1);
    let mut last_errors: Vec<Option<String>> = vec![None; rpcs.len()];
    for turn in 0usize.. {
        let at = turn % rpcs.len();
        let url = websocket_url(&rpcs[at]);
        let subscribed = AtomicBool::new(false);
        let session = async {
            let connect = async {
                let (mut ws, _) = tokio_tungstenite::connect_async_tls_with_config(
                    url.as_str(),
                    None,
                    false,
                    Some(Connector::Rustls(tls.clone())),
                )
                .await
                .map_err(|e| crate::net::root_cause(&e))?;
                ws.send(Message::text(SUBSCRIBE))
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>(ws)
            };
            let mut ws = tokio::time::timeout(CONNECT_TIMEOUT, connect)
                .await
                .map_err(|_| format!("no answer in {CONNECT_TIMEOUT:?}"))??;
            tracing::info!(%url, "subscribed to NewBlock");
            subscribed.store(true, Ordering::Relaxed);
            sub.connected.set(1);
            while let Some(msg) = ws.next().await {
                match msg.map_err(|e| e.to_string())? {
                    Message::Text(t) if t.contains("NewBlock") => {
                        sub.new_blocks.inc();
                        feed.push(event_block(&t));
                    }
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            Ok::<(), String>(())
        };
        let result = tokio::select! {
            _ = shutdown.cancelled() => None,
            r = session => Some(r),
        };
        sub.connected.set(0);
        match result {
            None => return,
            Some(Ok(())) => tracing::debug!(%url, "websocket closed; reconnecting"),
            Some(Err(e)) => {
                let text = format!("websocket {url}: {e}; polling continues, reconnecting");
                if last_errors[at].as_deref() != Some(e.as_str()) {
                    tracing::warn!("{text}");
                } else {
                    tracing::debug!("{text}");
                }
                last_errors[at] = Some(e);
            }
        }
        if subscribed.load(Ordering::Relaxed) {
            backoff = Duration::from_secs(1);
            last_errors[at] = None;
        }
        if (turn + 1) % rpcs.len() == 0 {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }
}

/// The block a `NewBlock` event message carries, if it parses.
fn event_block(text: &str) -> Option<Block> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    comet::parse_event_block(v.pointer("/result/data/value")?).ok()
}

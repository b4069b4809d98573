//! CometBFT websocket `NewBlock` subscription. It only wakes the chain collector
//! early: polling with backfill stays the source of truth, so a dropped socket or a
//! missed event costs latency, never a block.

use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// The subscription request CometBFT expects.
pub const SUBSCRIBE: &str =
    r#"{"jsonrpc":"2.0","method":"subscribe","id":1,"params":{"query":"tm.event='NewBlock'"}}"#;

/// How long connecting and subscribing may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// `ws://host:port/websocket` for an `http://host:port` RPC URL.
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

/// Keep a `NewBlock` subscription open until `shutdown`, calling `wake.notify_one()`
/// for every event. Tries the endpoints in order, moving to the next one when a
/// connection fails or drops, with a backoff (1 s to 30 s) after a full round.
pub async fn follow_new_blocks(rpcs: Vec<String>, wake: Arc<Notify>, shutdown: CancellationToken) {
    if rpcs.is_empty() {
        return;
    }
    let mut backoff = Duration::from_secs(1);
    for turn in 0usize.. {
        let url = websocket_url(&rpcs[turn % rpcs.len()]);
        let subscribed = AtomicBool::new(false);
        let session = async {
            let connect = async {
                let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
                    .await
                    .map_err(|e| e.to_string())?;
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
            while let Some(msg) = ws.next().await {
                match msg.map_err(|e| e.to_string())? {
                    Message::Text(t) if t.contains("NewBlock") => wake.notify_one(),
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            Ok::<(), String>(())
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            r = session => match r {
                Ok(()) => tracing::debug!(%url, "websocket closed; reconnecting"),
                Err(e) => tracing::debug!(%url, "websocket: {e}; polling continues, reconnecting in {backoff:?}"),
            }
        }
        if subscribed.load(Ordering::Relaxed) {
            backoff = Duration::from_secs(1);
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

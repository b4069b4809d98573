//! The `NewBlock` websocket subscription against a local websocket server: it
//! subscribes with CometBFT's query, wakes the collector per event, and reconnects.

use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use watch::ws::{follow_new_blocks, websocket_url, SUBSCRIBE};

#[test]
fn urls() {
    assert_eq!(
        websocket_url("http://127.0.0.1:26657"),
        "ws://127.0.0.1:26657/websocket"
    );
    assert_eq!(
        websocket_url("https://rpc.example/"),
        "wss://rpc.example/websocket"
    );
}

#[test]
fn subscribes_wakes_and_reconnects() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        // The first endpoint refuses connections: the follower moves on.
        let dead = format!("http://127.0.0.1:{}", {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        });
        let wake = Arc::new(Notify::new());
        let stop = CancellationToken::new();
        let task = tokio::spawn(follow_new_blocks(vec![dead, url], wake.clone(), stop.clone()));
        for round in 0..2 {
            let (tcp, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
                .await
                .unwrap_or_else(|_| panic!("no connection in round {round}"))
                .unwrap();
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            let sub = ws.next().await.unwrap().unwrap();
            assert_eq!(sub, Message::text(SUBSCRIBE));
            ws.send(Message::text(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#)).await.unwrap();
            ws.send(Message::text(
                r#"{"jsonrpc":"2.0","id":1,"result":{"query":"tm.event='NewBlock'","data":{"type":"tendermint/event/NewBlock","value":{}}}}"#,
            ))
            .await
            .unwrap();
            tokio::time::timeout(Duration::from_secs(10), wake.notified())
                .await
                .unwrap_or_else(|_| panic!("not woken in round {round}"));
            // Drop the socket: the follower must come back.
            drop(ws);
        }
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), task).await.expect("stops").unwrap();
    });
}

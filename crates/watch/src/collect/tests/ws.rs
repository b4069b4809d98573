//! The `NewBlock` websocket subscription against a local websocket server: it
//! subscribes with CometBFT's query, wakes the collector per event, and reconnects;
//! over `wss://` it trusts a private CA given as `tls_ca_file` and nothing else.

use crate::collect::ws::{follow_new_blocks, websocket_url, Feed, SUBSCRIBE};
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

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
        let wake = Arc::new(Feed::default());
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

#[test]
fn wss_trusts_the_private_ca_and_nothing_else() {
    use crate::collect::ws::{follow, Subscription, WsMetrics};
    use crate::net::tls::Trust;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let dir = tempfile::tempdir().unwrap();
    let ca = testkit::ca::test_ca(dir.path(), "ws");
    let other = testkit::ca::test_ca(dir.path(), "other");
    let certs = CertificateDer::pem_file_iter(&ca.cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&ca.key).unwrap();
    let server = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        assert_eq!(websocket_url(&url), format!("wss://{}/websocket", &url[8..]));

        // Without the CA, and with another CA, the handshake fails on our side.
        for trust in [Trust::system(), Trust::from_pem_file(&other.ca).unwrap()] {
            let wake = Arc::new(Feed::default());
            let stop = CancellationToken::new();
            let task = tokio::spawn(follow(
                Subscription::new(vec![url.clone()], trust),
                wake,
                stop.clone(),
            ));
            let (tcp, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
                .await
                .expect("the follower connects")
                .unwrap();
            let err = acceptor
                .accept(tcp)
                .await
                .map(|_| ())
                .expect_err("the handshake fails");
            assert!(err.to_string().contains("UnknownCA"), "{err}");
            stop.cancel();
            task.await.unwrap();
        }

        // With the CA: subscribed over TLS, events counted and waking the collector.
        let mut registry = prometheus_client::registry::Registry::default();
        let metrics = WsMetrics::register(&mut registry);
        let wake = Arc::new(Feed::default());
        let stop = CancellationToken::new();
        let sub = Subscription::new(vec![url.clone()], Trust::from_pem_file(&ca.ca).unwrap())
            .with_metrics(&metrics, "c-1");
        let task = tokio::spawn(follow(sub, wake.clone(), stop.clone()));
        let (tcp, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
            .await
            .expect("the follower connects")
            .unwrap();
        let tls = acceptor.accept(tcp).await.expect("the follower trusts the CA");
        let mut ws = tokio_tungstenite::accept_async(tls).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text(SUBSCRIBE));
        for _ in 0..2 {
            ws.send(Message::text(
                r#"{"jsonrpc":"2.0","id":1,"result":{"query":"tm.event='NewBlock'","data":{"type":"tendermint/event/NewBlock","value":{}}}}"#,
            ))
            .await
            .unwrap();
            tokio::time::timeout(Duration::from_secs(10), wake.notified())
                .await
                .expect("woken by the event");
        }
        let text = crate::serve::metrics::render(&registry);
        assert!(
            text.contains("bulwark_watch_websocket_connected{chain=\"c-1\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("bulwark_watch_websocket_new_blocks_total{chain=\"c-1\"} 2"),
            "{text}"
        );
        // The socket drops: the gauge goes back to 0.
        drop(ws);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !crate::serve::metrics::render(&registry)
            .contains("bulwark_watch_websocket_connected{chain=\"c-1\"} 0")
        {
            assert!(std::time::Instant::now() < deadline, "still connected");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), task).await.expect("stops").unwrap();
    });
}

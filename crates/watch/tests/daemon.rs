//! The daemon in-process: heartbeat, HTTP API, shutdown, and startup errors.

use std::net::TcpListener;
use std::time::{Duration, Instant};
use testkit::http::HttpStub;
use testkit::port::free_port;
use tokio_util::sync::CancellationToken;
use watch::{Config, WatchError};

#[test]
fn heartbeat_status_api_and_clean_shutdown() {
    let hook = HttpStub::start("200 OK", "ok");
    let url = &hook.url;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let text = format!(
        "state_path = \"{}\"\nlisten = \"127.0.0.1:{port}\"\npoll_interval = \"100ms\"\n[heartbeat]\nurl = \"{url}/ping\"\ninterval = \"100ms\"\n",
        dir.path().join("sub/w.sqlite").display()
    );
    let config = Config::parse(&text).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let stop = CancellationToken::new();
        let task = tokio::spawn(watch::run(config, stop.clone()));
        let deadline = Instant::now() + Duration::from_secs(20);
        while hook.requests().len() < 3 {
            assert!(
                Instant::now() < deadline,
                "heartbeats: {:?}",
                hook.requests()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            hook.requests()
                .iter()
                .all(|r| r.line == "GET /ping HTTP/1.1"),
            "{:?}",
            hook.requests()
        );
        let doc = loop {
            match watch::fetch_status(&format!("http://127.0.0.1:{port}"), Duration::from_secs(2))
                .await
            {
                Ok(d) => break d,
                Err(e) => {
                    assert!(Instant::now() < deadline, "{e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        assert_eq!(doc["chains"], serde_json::json!([]));
        assert_eq!(doc["alerts"], serde_json::json!([]));
        assert!(doc["generated_at"].as_str().unwrap().ends_with('Z'));
        let metrics = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains("bulwark_watch_heartbeats_total{result=\"ok\"}"),
            "{metrics}"
        );
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("stops")
            .unwrap()
            .unwrap();
    });
    assert!(
        dir.path().join("sub/w.sqlite").exists(),
        "state directory created"
    );
}

#[test]
fn a_taken_listen_address_is_a_clear_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "state_path = \"{}\"\nlisten = \"{}\"\n",
        dir.path().join("w.sqlite").display(),
        taken.local_addr().unwrap()
    );
    let config = Config::parse(&text).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let e = rt
        .block_on(watch::run(config, CancellationToken::new()))
        .unwrap_err();
    assert!(matches!(e, WatchError::Bind { .. }), "{e}");
    assert!(e.to_string().contains("pick a free address"), "{e}");
}

#[test]
fn status_of_a_watch_that_is_not_running_says_what_to_check() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = format!("http://127.0.0.1:{}", free_port());
    let e = rt
        .block_on(watch::fetch_status(&url, Duration::from_secs(1)))
        .unwrap_err();
    assert!(
        e.to_string().contains("is `bulwark watch run` running"),
        "{e}"
    );
}

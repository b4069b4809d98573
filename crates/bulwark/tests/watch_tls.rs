//! `bulwark watch` against a real CometBFT node that serves its RPC and websocket over
//! TLS with a certificate from a private CA: with `tls_ca_file` the watch follows the
//! chain over `https://` and `wss://`; without the CA, or with another CA, the endpoint
//! is reported unhealthy with a certificate error that says what to do, and the watch
//! keeps running.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};
use testkit::ca::test_ca;
use testkit::single_node::SingleNode;
use watch::config::{ChainConfig, Config, CountRule, DurationRule, NodeConfig, Role};

const LIMIT: Duration = Duration::from_secs(60);

fn config(state: &Path, port: u16, chain: &str, rpc: &str, ca: Option<&Path>) -> String {
    let secs = Duration::from_secs;
    let mut c = Config::new(state.to_path_buf());
    c.listen = ([127, 0, 0, 1], port).into();
    c.poll_interval = Duration::from_millis(300);
    c.request_timeout = secs(2);
    c.tls_ca_file = ca.map(Path::to_path_buf);
    let mut ch = ChainConfig::new(chain, vec![rpc.into()]);
    ch.websocket = true;
    c.chains.push(ch);
    c.nodes.push(NodeConfig {
        hermes: None,
        hermes_prefix: None,
        name: "node0".into(),
        chain: chain.into(),
        role: Role::Validator,
        rpc: rpc.into(),
        metrics: None,
        history: None,
        rules: Default::default(),
        host: None,
        labels: Default::default(),
    });
    c.rules.source_unhealthy = DurationRule {
        warning: secs(1),
        critical: secs(3600),
    };
    c.rules.node_down = DurationRule {
        warning: secs(1),
        critical: secs(3600),
    };
    c.rules.peers_low = CountRule {
        warning: 0,
        critical: 0,
        for_: Duration::ZERO,
    };
    c.to_toml().unwrap()
}

fn start_watch(dir: &Path, name: &str, chain: &str, rpc: &str, ca: Option<&Path>) -> (Daemon, u16) {
    let port = free_port();
    let cfg = dir.join(format!("{name}.toml"));
    std::fs::write(
        &cfg,
        config(&dir.join(format!("{name}.sqlite")), port, chain, rpc, ca),
    )
    .unwrap();
    let d = bulwark().daemon(
        &[
            "--log-level",
            "info",
            "watch",
            "run",
            "--config",
            cfg.to_str().unwrap(),
        ],
        &dir.join(format!("{name}.log")),
    );
    (d, port)
}

fn api(port: u16) -> Option<Value> {
    std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    serde_json::from_str(&http_body(&format!("http://127.0.0.1:{port}/api/status"))).ok()
}

fn metrics(port: u16) -> String {
    http_body(&format!("http://127.0.0.1:{port}/metrics"))
}

/// Poll `/api/status` until `pred` holds.
fn wait(
    port: u16,
    what: &str,
    d: &Daemon,
    node: &SingleNode,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + LIMIT;
    loop {
        if let Some(s) = api(port) {
            if pred(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; status:\n{s:#}\nwatch log:\n{}\nnode log tail:\n{}",
                    d.log_text(),
                    tail(&node.log_text())
                );
            }
        } else if Instant::now() > deadline {
            panic!("watch never answered on {port}; log:\n{}", d.log_text());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

#[test]
fn watch_follows_a_tls_node_with_its_ca_and_reports_untrusted_certificates() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ca = test_ca(dir, "node");
    let other = test_ca(dir, "other");
    let mut node = SingleNode::init(dir, Some((&ca.cert, &ca.key)));
    node.start();
    let chain = node.chain_id.clone();
    let rpc = format!("https://127.0.0.1:{}", node.rpc_port);
    let wss = format!("wss://127.0.0.1:{}/websocket", node.rpc_port);

    let (mut trusted, tp) = start_watch(dir, "trusted", &chain, &rpc, Some(&ca.ca));
    let (mut no_ca, np) = start_watch(dir, "no-ca", &chain, &rpc, None);
    let (mut wrong_ca, wp) = start_watch(dir, "wrong-ca", &chain, &rpc, Some(&other.ca));

    // With the CA: the chain is followed over https, the node is up.
    let s = wait(tp, "the chain followed over https", &trusted, &node, |s| {
        s["chains"][0]["height"].as_u64().is_some_and(|h| h >= 3)
            && s["chains"][0]["sources"][0]["healthy"] == true
            && s["nodes"][0]["up"] == true
    });
    let h1 = s["chains"][0]["height"].as_u64().unwrap();
    assert_eq!(s["chains"][0]["sources"][0]["url"], rpc.as_str());
    assert_eq!(s["chains"][0]["sources"][0]["error"], Value::Null);
    assert_eq!(s["nodes"][0]["error"], Value::Null);
    assert!(
        s["alerts"].as_array().unwrap().is_empty(),
        "no alert with a trusted node: {s:#}"
    );
    // ... and new blocks arrive over wss.
    let chain_label = format!("{{chain=\"{chain}\"}}");
    let connected = format!("bulwark_watch_websocket_connected{chain_label}");
    let events = format!("bulwark_watch_websocket_new_blocks_total{chain_label}");
    let deadline = Instant::now() + LIMIT;
    let first = loop {
        let m = metrics(tp);
        if sample(&m, &connected) == Some(1.0) && sample(&m, &events).is_some_and(|n| n >= 2.0) {
            break sample(&m, &events).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "no NewBlock events over wss:\n{m}\nlog:\n{}",
            trusted.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let s = wait(tp, "heights advancing", &trusted, &node, |s| {
        s["chains"][0]["height"]
            .as_u64()
            .is_some_and(|h| h >= h1 + 3)
    });
    let m = metrics(tp);
    assert!(
        sample(&m, &events).unwrap() > first,
        "events keep coming over wss:\n{m}"
    );
    assert_eq!(sample(&m, &connected), Some(1.0), "{m}");
    assert_eq!(
        sample(
            &m,
            &format!("bulwark_watch_rpc_source_up{{chain=\"{chain}\",url=\"{rpc}\"}}")
        ),
        Some(1.0),
        "{m}"
    );
    assert!(
        s["nodes"][0]["height"].as_u64().unwrap() >= h1,
        "the node collector reads over https too: {s:#}"
    );
    let log = trusted.log_text();
    assert!(
        log.contains("subscribed to NewBlock") && log.contains(&wss),
        "{log}"
    );

    // Without the CA, and with another CA: unhealthy, with the certificate error.
    for (d, port, name) in [(&mut no_ca, np, "no CA"), (&mut wrong_ca, wp, "wrong CA")] {
        let source_key = format!("source_unhealthy/{chain}/{rpc}");
        let s = wait(port, &format!("{name}: certificate error"), d, &node, |s| {
            s["alerts"]
                .as_array()
                .is_some_and(|a| a.iter().any(|a| a["key"] == source_key.as_str()))
        });
        let src = &s["chains"][0]["sources"][0];
        assert_eq!(src["healthy"], false, "{name}: {s:#}");
        let err = src["error"].as_str().unwrap();
        assert!(
            err.starts_with(
                "unreachable: TLS certificate error: invalid peer certificate: UnknownIssuer;"
            ) && err.contains("set tls_ca_file in watch.toml"),
            "{name}: {err}"
        );
        assert_eq!(s["chains"][0]["height"], Value::Null, "{name}: {s:#}");
        assert_eq!(s["nodes"][0]["up"], false, "{name}: {s:#}");
        assert!(
            s["nodes"][0]["error"]
                .as_str()
                .unwrap()
                .contains("invalid peer certificate: UnknownIssuer"),
            "{name}: {s:#}"
        );
        let alert = s["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["key"] == source_key.as_str())
            .unwrap();
        assert_eq!(alert["severity"], "warning", "{name}: {alert:#}");
        assert!(
            alert["summary"]
                .as_str()
                .unwrap()
                .contains("invalid peer certificate: UnknownIssuer"),
            "{name}: {alert:#}"
        );
        // The websocket is refused for the same reason, and said so in the log.
        let m = metrics(port);
        assert_eq!(sample(&m, &connected), Some(0.0), "{name}: {m}");
        assert_eq!(sample(&m, &events), Some(0.0), "{name}: {m}");
        let deadline = Instant::now() + LIMIT;
        while !d.log_text().contains(&format!(
            "websocket {wss}: TLS certificate error: invalid peer certificate: UnknownIssuer"
        )) {
            assert!(
                Instant::now() < deadline,
                "{name}: no websocket certificate error in the log:\n{}",
                d.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // No crash: still running and serving.
        assert!(
            d.child.try_wait().unwrap().is_none(),
            "{name}: the watch exited"
        );
        assert_eq!(
            http_body(&format!("http://127.0.0.1:{port}/healthz")),
            "ok\n"
        );
    }

    for (d, name) in [
        (&mut trusted, "trusted"),
        (&mut no_ca, "no CA"),
        (&mut wrong_ca, "wrong CA"),
    ] {
        assert_eq!(d.terminate(), Some(0), "{name}: {}", d.log_text());
    }
}

#[test]
fn a_tls_ca_file_that_is_not_a_certificate_is_a_configuration_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let bad = dir.join("bad.pem");
    std::fs::write(&bad, "not a certificate\n").unwrap();
    for (ca, expect) in [
        (
            bad.clone(),
            format!("tls_ca_file {}: no certificate in the file", bad.display()),
        ),
        (
            dir.join("missing.pem"),
            format!(
                "cannot read tls_ca_file {}",
                dir.join("missing.pem").display()
            ),
        ),
    ] {
        let cfg = dir.join("w.toml");
        std::fs::write(
            &cfg,
            config(
                &dir.join("w.sqlite"),
                free_port(),
                "c-1",
                "https://127.0.0.1:1",
                Some(&ca),
            ),
        )
        .unwrap();
        let o = bulwark().run(&["watch", "run", "--config", cfg.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(&expect), "{err}");
    }
}

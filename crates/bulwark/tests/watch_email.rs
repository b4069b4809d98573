//! `bulwark watch` with an email channel, end to end: a real CometBFT node, the real
//! binary and a real SMTP server (aiosmtpd) with STARTTLS, AUTH and a certificate from
//! a private CA (`tls_ca_file`). The SMTP server is down when the alert fires: the
//! error is logged, the notification stays in the outbox and arrives once the server is
//! up; the resolve follows in the same thread, and nothing is sent twice.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};
use testkit::ca::test_ca;
use testkit::single_node::SingleNode;
use testkit::smtp::{Mode, SmtpSink};
use watch::config::{
    ChainConfig, ChannelConfig, Config, CountRule, DurationRule, EmailConfig, NodeConfig, Role,
    RouteConfig, Secret, Security, Severity,
};

const LIMIT: Duration = Duration::from_secs(60);

/// `body` with the values that depend on time replaced by `<...>`, checked for form.
fn fixed(body: &str) -> String {
    let mut out = Vec::new();
    for (i, line) in body.lines().enumerate() {
        if i == 2 {
            out.push("<summary>".to_string());
            continue;
        }
        let mut l = line.to_string();
        for label in ["Started:    ", "Resolved:   "] {
            if let Some(t) = line.strip_prefix(label) {
                assert!(
                    t.len() == 23 && t.ends_with(" UTC") && t.starts_with("20"),
                    "{line:?}"
                );
                l = format!("{label}<time>");
            }
        }
        if let Some(d) = line.strip_prefix("Lasted:     ") {
            assert!(d.ends_with('s') || d.ends_with('m'), "{line:?}");
            l = "Lasted:     <duration>".into();
        }
        out.push(l);
    }
    out.join("\n") + "\n"
}

/// One node, its node_down alert mailed through the SMTP server at `smtp_port`.
fn config(state: &Path, port: u16, ca: &Path, chain: &str, rpc: &str, smtp_port: u16) -> String {
    let secs = Duration::from_secs;
    let mut c = Config::new(state.to_path_buf());
    c.listen = ([127, 0, 0, 1], port).into();
    c.poll_interval = Duration::from_millis(300);
    c.request_timeout = secs(2);
    c.tls_ca_file = Some(ca.to_path_buf());
    let mut ch = ChainConfig::new(chain, vec![rpc.into()]);
    ch.websocket = false;
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
    c.rules.node_down = DurationRule {
        warning: secs(1),
        critical: secs(3600),
    };
    c.rules.source_unhealthy = DurationRule {
        warning: secs(3600),
        critical: secs(2 * 3600),
    };
    c.rules.peers_low = CountRule {
        warning: 0,
        critical: 0,
        for_: Duration::ZERO,
    };
    let from = "Bulwark Watch <watch@example.com>";
    c.channels.push(ChannelConfig::Email(EmailConfig {
        port: Some(smtp_port),
        security: Security::Starttls,
        username: Some("watch".into()),
        password: Some(Secret::new("s3cret")),
        subject_prefix: Some("[devnet]".into()),
        ..EmailConfig::new("mail", "127.0.0.1", from, &["oncall@example.com"])
    }));
    c.routes.push(RouteConfig {
        channels: vec!["mail".into()],
        ..RouteConfig::new(&[], Severity::Warning)
    });
    c.to_toml().unwrap()
}

#[test]
fn alert_email_waits_for_the_smtp_server_and_resolves_in_the_same_thread() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ca = test_ca(dir, "mail");
    let mut node = SingleNode::init(dir, None);
    let chain = node.chain_id.clone();
    let rpc = format!("http://127.0.0.1:{}", node.rpc_port);
    let smtp_port = free_port();
    let port = free_port();
    let cfg = dir.join("watch.toml");
    std::fs::write(
        &cfg,
        config(
            &dir.join("watch.sqlite"),
            port,
            &ca.ca,
            &chain,
            &rpc,
            smtp_port,
        ),
    )
    .unwrap();
    let mut watch = bulwark().daemon(
        &["watch", "run", "--config", cfg.to_str().unwrap()],
        &dir.join("watch.log"),
    );

    // The node is down and so is the SMTP server: the alert fires, delivery fails, the
    // log says why.
    let refused = "notification not delivered";
    let deadline = Instant::now() + LIMIT;
    loop {
        let log = watch.log_text();
        if log.contains(refused) {
            assert!(
                log.contains(&format!(
                    "SMTP server 127.0.0.1:{smtp_port}: Connection error"
                )) && log.contains("Connection refused")
                    && log.contains("is the SMTP server running"),
                "{log}"
            );
            assert!(!log.contains("s3cret"), "the password stays out of the log");
            break;
        }
        assert!(Instant::now() < deadline, "no failed delivery:\n{log}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // The server comes up: the queued firing email arrives.
    let sink = SmtpSink::start(
        &dir.join("mail"),
        smtp_port,
        Mode::Starttls,
        Some(&ca),
        Some("watch:s3cret"),
    );
    let m = sink.wait_for(1, LIMIT);
    let firing = &m[0];
    assert_eq!(firing["mail_from"], "watch@example.com");
    assert_eq!(
        firing["rcpt_tos"],
        serde_json::json!(["oncall@example.com"])
    );
    assert_eq!(firing["from"], "Bulwark Watch <watch@example.com>");
    assert_eq!(firing["to"], "oncall@example.com");
    assert_eq!(
        firing["subject"],
        format!("[devnet] [WARNING] FIRING node_down: node0 ({chain})").as_str()
    );
    assert_eq!(firing["tls"], true);
    assert_eq!(firing["login"], "watch");
    let body = firing["body"].as_str().unwrap();
    let summary = body.lines().nth(2).unwrap();
    assert!(
        summary.starts_with(&format!("node0 (validator, {chain}) has been down for "))
            && summary.contains("Connection refused"),
        "{body}"
    );
    assert_eq!(
        fixed(body),
        format!(
            "WARNING alert firing: node_down

<summary>

Severity:   warning
Status:     firing
Rule:       node_down
Chain:      {chain}
Node:       node0
Started:    <time>
Alert key:  node_down/node0

Status page: http://127.0.0.1:{port}/
-- 
Sent by bulwark watch
"
        )
    );

    // The node starts: the alert resolves, in the same thread.
    node.start();
    let m = sink.wait_for(2, LIMIT);
    let resolved = &m[1];
    assert_eq!(
        resolved["subject"],
        format!("[devnet] [RESOLVED] node_down: node0 ({chain})").as_str()
    );
    let body = resolved["body"].as_str().unwrap();
    assert!(
        body.lines().nth(2).unwrap().starts_with(&format!(
            "Was: node0 (validator, {chain}) has been down for "
        )),
        "{body}"
    );
    assert_eq!(
        fixed(body),
        format!(
            "RESOLVED: node_down (was WARNING)

<summary>

Severity:   warning
Status:     resolved
Rule:       node_down
Chain:      {chain}
Node:       node0
Started:    <time>
Resolved:   <time>
Lasted:     <duration>
Alert key:  node_down/node0

Status page: http://127.0.0.1:{port}/
-- 
Sent by bulwark watch
"
        )
    );
    let started = |b: &Value| {
        b["body"]
            .as_str()
            .unwrap()
            .lines()
            .find(|l| l.starts_with("Started:"))
            .unwrap()
            .to_string()
    };
    assert_eq!(started(firing), started(resolved), "the same alert");
    assert!(firing["message_id"].is_string());
    assert_eq!(resolved["references"], firing["message_id"]);
    assert_eq!(resolved["in_reply_to"], firing["message_id"]);

    // The sink has the email once the server accepted it; the watch counts it after the
    // SMTP session ends.
    let ok2 = "bulwark_watch_notifications_total{channel=\"mail\",result=\"ok\"} 2";
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let metrics = loop {
        let m = http_body(&format!("http://127.0.0.1:{port}/metrics"));
        if m.contains(ok2) || std::time::Instant::now() > deadline {
            break m;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(metrics.contains(ok2), "{metrics}");
    assert!(
        metrics.contains("bulwark_watch_notifications_total{channel=\"mail\",result=\"error\"}"),
        "{metrics}"
    );
    assert_eq!(watch.terminate(), Some(0), "{}", watch.log_text());
    assert_eq!(
        sink.messages().len(),
        2,
        "one firing and one resolved, nothing twice: {:#?}",
        sink.messages()
    );
}

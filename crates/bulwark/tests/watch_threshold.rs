//! `bulwark watch` over three real `bulwark signer run` cosigners of one 2-of-3 key: it
//! reads their threshold metrics (links, threshold), and when one is killed with
//! SIGKILL it raises `cosigner_down` for it and `threshold_at_risk` for the key, through
//! a real Alertmanager, and the others report none of its nonces ready any more; once the
//! cosigner is started again both alerts resolve.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};
use watch::config::{
    ChannelConfig, Config, DurationRule, HoldRule, RouteConfig, Severity, SignerConfig,
};

const CHAIN: &str = "watch-threshold-1";
const GROUP: &str = "val0";
const DOWN: &str = "cosigner_down/cosigner-3";
const AT_RISK: &str = "threshold_at_risk/val0/watch-threshold-1";

fn watch_config(state: &Path, port: u16, cosigners: &[std::path::PathBuf], am: &str) -> String {
    let secs = Duration::from_secs;
    let mut c = Config::new(state.to_path_buf());
    c.listen = ([127, 0, 0, 1], port).into();
    c.poll_interval = Duration::from_millis(300);
    c.request_timeout = secs(1);
    for (i, cfg) in cosigners.iter().enumerate() {
        c.signers.push(SignerConfig::cosigner(
            format!("cosigner-{}", i + 1),
            metrics_url(cfg),
            GROUP,
        ));
    }
    c.rules.cosigner_down = DurationRule {
        warning: secs(1),
        critical: secs(3600),
    };
    c.rules.threshold_at_risk = HoldRule { for_: secs(1) };
    // The cosigners' nodes are absent on purpose (their sockets never exist): a slow
    // run must not see the nodes' own alert fire after its default 30 s.
    c.rules.signer_node_disconnected = DurationRule {
        warning: secs(3600),
        critical: secs(7200),
    };
    c.channels.push(ChannelConfig::alertmanager("am", am));
    c.routes.push(RouteConfig {
        channels: vec!["am".into()],
        ..RouteConfig::new(&[], Severity::Warning)
    });
    c.to_toml().unwrap()
}

/// The watch's alert `key` in `status`, if firing.
fn alert<'a>(status: &'a Value, key: &str) -> Option<&'a Value> {
    status["alerts"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
}

/// Alert keys Alertmanager holds as active.
fn am_active(am: &str) -> Vec<String> {
    let body = http_body(&format!("{am}/api/v2/alerts"));
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    v.as_array()
        .unwrap()
        .iter()
        .filter(|a| a["status"]["state"] == "active")
        .filter_map(|a| a["labels"]["alert_key"].as_str().map(String::from))
        .collect()
}

fn wait_am(am: &str, what: &str, pred: impl Fn(&[String]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let keys = am_active(am);
        if pred(&keys) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "Alertmanager: {what}; it has {keys:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The nonces of `peer` that the cosigner `name` reports ready, as the watch saw them.
fn nonces_from(s: &Value, name: &str, peer: &str) -> Option<u64> {
    s["signers"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == name)?["threshold"]["chains"][0]["nonces_ready"][peer]
        .as_u64()
}

/// Every cosigner answers and reaches both others.
fn all_linked(s: &Value) -> bool {
    let signers = s["signers"].as_array().unwrap();
    signers.len() == 3
        && signers
            .iter()
            .all(|c| c["up"] == true && c["threshold"]["peers_connected"] == 2)
}

#[test]
fn a_killed_cosigner_raises_cosigner_down_and_threshold_at_risk_which_resolve_when_it_is_back() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, _) = write_key(tmp.path());
    // Nodes that are not there: the cosigners link to each other all the same.
    let nodes: Vec<Vec<String>> = (0..3)
        .map(|i| {
            vec![format!(
                "unix://{}",
                tmp.path().join(format!("node{i}.sock")).display()
            )]
        })
        .collect();
    let configs = cosigner_configs(tmp.path(), CHAIN, "v0.38", &key, 2, &nodes, |s| {
        bulwark().state_init(CHAIN, 0, s)
    });
    let mut cosigners: Vec<SignerProc> = configs.iter().map(|c| bulwark().signer(c)).collect();
    let (_am_proc, am) = alertmanager(&tmp.path().join("alertmanager"));
    let port = free_port();
    let cfg = tmp.path().join("watch.toml");
    std::fs::write(
        &cfg,
        watch_config(&tmp.path().join("watch.sqlite"), port, &configs, &am),
    )
    .unwrap();
    let watch = bulwark().daemon(
        &["watch", "run", "--config", cfg.to_str().unwrap()],
        &tmp.path().join("watch.log"),
    );

    let s = wait_api(port, "three linked cosigners", &watch, all_linked);
    wait_api(
        port,
        "cosigner-3's nonces ready at both others",
        &watch,
        |s| {
            ["cosigner-1", "cosigner-2"]
                .iter()
                .all(|c| nonces_from(s, c, "cosigner-3").is_some_and(|n| n > 0))
        },
    );
    let t = &s["signers"][0]["threshold"];
    assert_eq!(t["chains"][0]["chain"], CHAIN, "{s:#}");
    assert_eq!(t["chains"][0]["threshold"], 2, "{s:#}");
    assert!(alert(&s, AT_RISK).is_none(), "{s:#}");
    let page = http_body(&format!("http://127.0.0.1:{port}/"));
    assert!(
        page.contains("Cosigners of val0") && page.contains("3 of 3 reach each other"),
        "{page}"
    );

    // SIGKILL: no goodbye to its peers.
    cosigners[2].child.kill().unwrap();
    cosigners[2].child.wait().unwrap();
    let s = wait_api(port, "cosigner_down and threshold_at_risk", &watch, |s| {
        alert(s, DOWN).is_some() && alert(s, AT_RISK).is_some()
    });
    // Its nonces died with its links: the others report none ready from it.
    wait_api(
        port,
        "no nonces of cosigner-3 left at the others",
        &watch,
        |s| {
            ["cosigner-1", "cosigner-2"]
                .iter()
                .all(|c| nonces_from(s, c, "cosigner-3") == Some(0))
        },
    );
    let down = alert(&s, DOWN).unwrap();
    assert_eq!(down["rule"], "cosigner_down");
    assert_eq!(down["severity"], "warning");
    let risk = alert(&s, AT_RISK).unwrap();
    assert_eq!(risk["severity"], "warning");
    assert_eq!(risk["chain"], CHAIN);
    assert!(
        risk["summary"]
            .as_str()
            .unwrap()
            .starts_with("watch-threshold-1: only 2 of 3 cosigners of val0 reach each other"),
        "{risk}"
    );
    assert!(alert(&s, "signer_down/cosigner-3").is_none(), "{s:#}");
    assert!(
        alert(&s, "threshold_lost/val0/watch-threshold-1").is_none(),
        "{s:#}"
    );
    wait_am(&am, "both alerts firing", |k| {
        k.iter().any(|k| k == DOWN) && k.iter().any(|k| k == AT_RISK)
    });
    let metrics = http_body(&format!("http://127.0.0.1:{port}/metrics"));
    assert_eq!(
        sample(
            &metrics,
            &format!("bulwark_watch_cosigners_reachable{{group=\"val0\",chain=\"{CHAIN}\"}}")
        ),
        Some(2.0),
        "{metrics}"
    );

    // Back: the links come up again and both alerts resolve.
    cosigners[2] = bulwark().signer(&configs[2]);
    let s = wait_api(port, "the alerts to resolve", &watch, |s| {
        all_linked(s) && alert(s, DOWN).is_none() && alert(s, AT_RISK).is_none()
    });
    assert!(s["alerts"].as_array().unwrap().is_empty(), "{s:#}");
    wait_am(&am, "both resolved", |k| {
        !k.iter().any(|k| k == DOWN || k == AT_RISK)
    });
}

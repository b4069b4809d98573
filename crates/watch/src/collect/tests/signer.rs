//! The signer collector and rules against a scripted signer metrics endpoint.

use crate::collect::signer::SignerCollector;
use crate::config::RulesConfig;
use crate::config::SignerConfig;
use crate::rules::{evaluate_uniform as evaluate, Outcome};
use crate::state::Observed;
use crate::Severity;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn metrics(val0: u8, backup: u8, refusals: u64) -> String {
    format!(
        "# HELP bulwark_signer_node_connected 1 while connected.\n\
         # TYPE bulwark_signer_node_connected gauge\n\
         bulwark_signer_node_connected{{chain=\"c-1\",node=\"val0\"}} {val0}\n\
         bulwark_signer_node_connected{{chain=\"c-1\",node=\"val0-backup\"}} {backup}\n\
         # TYPE bulwark_signer_refusals counter\n\
         bulwark_signer_refusals_total{{chain=\"c-1\",reason=\"wrong_chain\"}} {refusals}\n\
         bulwark_signer_refusals_total{{chain=\"c-1\",reason=\"step_regression\"}} {}\n\
         # EOF\n",
        refusals * 100
    )
}

pub(super) fn serve(body: Arc<Mutex<String>>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/metrics", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf);
            let b = body.lock().unwrap().clone();
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{b}",
                b.len()
            );
        }
    });
    url
}

pub(super) fn outcome<'a>(out: &'a [Outcome], key: &str) -> Option<&'a Outcome> {
    out.iter().find(|o| match o {
        Outcome::Firing(c) => c.key == key,
        Outcome::Clear(k) => k == key,
    })
}

#[test]
fn node_connections_and_refusals() {
    let body = Arc::new(Mutex::new(metrics(1, 1, 0)));
    let cfg = SignerConfig::new("s", serve(body.clone()));
    let mut c = SignerCollector::new(
        &cfg,
        RulesConfig::default().signer_refusal_reasons,
        reqwest::Client::new(),
        Duration::from_secs(2),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rules = RulesConfig::default(); // disconnected: 30s / 2m; refusals: 1 / 10
    let eval = |c: &SignerCollector, now| {
        evaluate(
            &rules,
            &Observed {
                signers: vec![c.state.clone()],
                ..Default::default()
            },
            now,
        )
    };
    rt.block_on(c.poll(100.0));
    assert!(c.state.up);
    assert_eq!(c.state.nodes.len(), 2);
    let out = eval(&c, 100.0);
    assert!(matches!(
        outcome(&out, "signer_node_disconnected/s/c-1/val0"),
        Some(Outcome::Clear(_))
    ));
    assert!(matches!(
        outcome(&out, "signer_refusals/s"),
        Some(Outcome::Clear(_))
    ));
    // val0 drops; 40 s later it is a warning.
    *body.lock().unwrap() = metrics(0, 1, 0);
    rt.block_on(c.poll(110.0));
    rt.block_on(c.poll(150.0));
    assert_eq!(c.state.nodes[0].disconnected_since, Some(110.0));
    let out = eval(&c, 150.0);
    let Some(Outcome::Firing(f)) = outcome(&out, "signer_node_disconnected/s/c-1/val0") else {
        panic!("{out:#?}")
    };
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.node.as_deref(), Some("val0"));
    assert_eq!(
        f.summary,
        "signer s: no connection to node val0 (c-1) for 40s; that node cannot sign: if it is the active validator node, blocks are being missed"
    );
    assert!(
        outcome(&eval(&c, 115.0), "signer_node_disconnected/s/c-1/val0").is_none(),
        "held, not cleared"
    );
    // Two refusals: a warning, which clears after the 10-minute window.
    *body.lock().unwrap() = metrics(1, 1, 2);
    rt.block_on(c.poll(160.0));
    assert_eq!(c.state.recent_refusals, 2);
    let out = eval(&c, 160.0);
    assert!(
        matches!(outcome(&out, "signer_refusals/s"), Some(Outcome::Firing(f)) if f.severity == Severity::Warning)
    );
    assert!(matches!(
        outcome(&out, "signer_node_disconnected/s/c-1/val0"),
        Some(Outcome::Clear(_))
    ));
    rt.block_on(c.poll(800.0));
    assert_eq!(c.state.recent_refusals, 0);
    // Something that is not a signer.
    *body.lock().unwrap() = "node_load1 1\n".into();
    rt.block_on(c.poll(900.0));
    assert!(!c.state.up);
    assert!(c
        .state
        .error
        .as_deref()
        .unwrap()
        .contains("no bulwark_signer_ metrics"));
    assert!(outcome(&eval(&c, 900.0), "signer_down/s").is_none(), "held");
    assert!(
        matches!(outcome(&eval(&c, 1000.0), "signer_down/s"), Some(Outcome::Firing(f)) if f.severity == Severity::Warning)
    );
}

#[test]
fn a_sealed_key_is_a_warning_at_once_then_critical_and_clears_when_opened() {
    let sealed = |v: u8| {
        format!(
            "# TYPE bulwark_signer_vault_sealed gauge\n\
             bulwark_signer_vault_sealed{{chain=\"c-1\"}} {v}\n\
             bulwark_signer_node_connected{{chain=\"c-1\",node=\"val0\"}} 1\n"
        )
    };
    let body = Arc::new(Mutex::new(sealed(1)));
    let cfg = SignerConfig::new("s", serve(body.clone()));
    let mut c = SignerCollector::new(
        &cfg,
        RulesConfig::default().signer_refusal_reasons,
        reqwest::Client::new(),
        Duration::from_secs(2),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rules = RulesConfig::default(); // sealed: 0s / 1m
    let eval = |c: &SignerCollector, now| {
        evaluate(
            &rules,
            &Observed {
                signers: vec![c.state.clone()],
                ..Default::default()
            },
            now,
        )
    };
    let key = "signer_sealed/s/c-1";
    rt.block_on(c.poll(100.0));
    let out = eval(&c, 100.0);
    let Some(Outcome::Firing(f)) = outcome(&out, key) else {
        panic!("{out:#?}")
    };
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.chain.as_deref(), Some("c-1"));
    assert!(f.summary.contains("bulwark vault unseal"), "{}", f.summary);
    rt.block_on(c.poll(170.0));
    assert!(
        matches!(outcome(&eval(&c, 170.0), key), Some(Outcome::Firing(f)) if f.severity == Severity::Critical)
    );
    *body.lock().unwrap() = sealed(0);
    rt.block_on(c.poll(180.0));
    assert!(matches!(
        outcome(&eval(&c, 180.0), key),
        Some(Outcome::Clear(_))
    ));
}

//! The cosigner collector and rules against three scripted cosigner metrics endpoints
//! whose text is written by the cosigners' own metric types (`threshold::metrics`) and
//! prometheus-client's encoder, as `bulwark signer run` serves it.

use super::signer::{outcome, serve};
use crate::collect::signer::SignerCollector;
use crate::config::{RulesConfig, SignerConfig};
use crate::rules::{evaluate_uniform as evaluate, Outcome};
use crate::state::Observed;
use crate::Severity;
use prometheus_client::registry::Registry;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use threshold::metrics::{
    ChainLabels, ChainPeerLabels, Metrics, PeerLabels, RefusalLabels, SignatureLabels,
};

const CHAIN: &str = "c-1";

/// One scripted cosigner: its metrics, their registry and the body served.
struct Cosigner {
    name: String,
    metrics: Metrics,
    registry: Registry,
    body: Arc<Mutex<String>>,
    collector: SignerCollector,
}

fn name(i: usize) -> String {
    format!("cosigner-{i}")
}

impl Cosigner {
    fn new(i: usize) -> Self {
        let mut registry = Registry::default();
        let metrics = Metrics::register(&mut registry);
        metrics
            .threshold
            .get_or_create(&ChainLabels {
                chain: CHAIN.into(),
            })
            .set(2);
        let body = Arc::new(Mutex::new(String::new()));
        let cfg = SignerConfig::cosigner(name(i), serve(body.clone()), "val0");
        let collector = SignerCollector::new(
            &cfg,
            RulesConfig::default().signer_refusal_reasons,
            reqwest::Client::new(),
            Duration::from_secs(2),
        );
        let mut c = Cosigner {
            name: name(i),
            metrics,
            registry,
            body,
            collector,
        };
        for p in (1..=3).filter(|p| *p != i) {
            c.link(&name(p), true);
            c.metrics
                .nonces_ready
                .get_or_create(&ChainPeerLabels {
                    chain: CHAIN.into(),
                    peer: name(p),
                })
                .set(8);
        }
        c
    }

    /// Set the link to `peer` up or down, as the cosigner does.
    fn link(&mut self, peer: &str, up: bool) {
        let g = self
            .metrics
            .peer_up
            .get_or_create(&PeerLabels { peer: peer.into() });
        let was = g.get() == 1;
        g.set(i64::from(up));
        match (was, up) {
            (false, true) => self.metrics.peers_connected.inc(),
            (true, false) => self.metrics.peers_connected.dec(),
            _ => 0,
        };
    }

    fn refused(&self, reason: &str, n: u64) {
        self.metrics
            .refused
            .get_or_create(&RefusalLabels {
                chain: CHAIN.into(),
                peer: name(1),
                reason: reason.into(),
            })
            .inc_by(n);
    }

    /// Serve the current metrics (or, `up` false, something that is not a signer's).
    fn publish(&self, up: bool) {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).unwrap();
        *self.body.lock().unwrap() = if up { text } else { String::new() };
    }
}

struct Group {
    cs: Vec<Cosigner>,
    rt: tokio::runtime::Runtime,
    rules: RulesConfig,
}

impl Group {
    fn new() -> Self {
        Group {
            cs: (1..=3).map(Cosigner::new).collect(),
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            rules: RulesConfig::default(),
        }
    }

    /// Poll every cosigner at `now` (`down` ones serve nothing) and evaluate the rules.
    fn poll(&mut self, now: f64, down: &[usize]) -> Vec<Outcome> {
        for (i, c) in self.cs.iter_mut().enumerate() {
            c.publish(!down.contains(&(i + 1)));
            self.rt.block_on(c.collector.poll(now));
        }
        let obs = Observed {
            signers: self.cs.iter().map(|c| c.collector.state.clone()).collect(),
            ..Default::default()
        };
        evaluate(&self.rules, &obs, now)
    }

    /// Cosigner `i`'s links to `peers` up or down.
    fn links(&mut self, i: usize, peers: &[usize], up: bool) {
        for p in peers {
            self.cs[i - 1].link(&name(*p), up);
        }
    }
}

fn firing<'a>(out: &'a [Outcome], key: &str) -> &'a crate::rules::Condition {
    match outcome(out, key) {
        Some(Outcome::Firing(c)) => c,
        other => panic!("{key}: {other:?} in {out:#?}"),
    }
}

fn cleared(out: &[Outcome], key: &str) -> bool {
    matches!(outcome(out, key), Some(Outcome::Clear(_)))
}

const AT_RISK: &str = "threshold_at_risk/val0/c-1";
const LOST: &str = "threshold_lost/val0/c-1";

#[test]
fn a_cosigner_killed_puts_the_threshold_at_risk_two_lose_it_and_all_resolve() {
    let mut g = Group::new();
    let out = g.poll(100.0, &[]);
    let st = &g.cs[0].collector.state;
    let t = st.threshold.as_ref().expect("seen as a cosigner");
    assert_eq!(t.peers_connected, 2);
    assert_eq!(t.chains[0].threshold, 2);
    assert_eq!(t.chains[0].nonces_ready[&name(2)], 8);
    for c in &g.cs {
        assert!(
            cleared(&out, &format!("cosigner_down/{}", c.name)),
            "{out:#?}"
        );
        assert!(cleared(&out, &format!("signer_down/{}", c.name)));
    }
    assert!(cleared(&out, AT_RISK) && cleared(&out, LOST), "{out:#?}");

    // cosigner-3 is killed: its metrics stop, the others' links to it drop.
    g.links(1, &[3], false);
    g.links(2, &[3], false);
    let out = g.poll(110.0, &[3]);
    let f = firing(&out, AT_RISK);
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.hold, Duration::from_secs(30));
    assert_eq!(f.chain.as_deref(), Some(CHAIN));
    assert_eq!(
        f.summary,
        "c-1: only 2 of 3 cosigners of val0 reach each other (best: cosigner-1) and a signature needs 2: one more lost cosigner stops signing; bring the missing one back"
    );
    assert!(cleared(&out, LOST));
    assert!(outcome(&out, "cosigner_down/cosigner-3").is_none(), "held");
    assert!(
        cleared(&out, "signer_down/cosigner-3"),
        "cosigner_down stands in"
    );
    let out = g.poll(150.0, &[3]);
    let f = firing(&out, "cosigner_down/cosigner-3");
    assert_eq!(f.severity, Severity::Warning);
    assert!(
        f.summary
            .starts_with("cosigner cosigner-3 of val0: metrics have not answered for 40s: "),
        "{}",
        f.summary
    );
    assert!(cleared(&out, "cosigner_down/cosigner-1"));
    let out = g.poll(500.0, &[3]);
    assert_eq!(
        firing(&out, "cosigner_down/cosigner-3").severity,
        Severity::Critical
    );

    // cosigner-2 goes too: cosigner-1 alone cannot sign.
    g.links(1, &[2], false);
    let out = g.poll(510.0, &[2, 3]);
    let f = firing(&out, LOST);
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(
        f.summary,
        "c-1: cosigners of val0 cannot sign: a signature needs 2 of 3 cosigners and at most 1 reach each other (best: cosigner-1); every signature is missed until another cosigner is back"
    );
    assert!(cleared(&out, AT_RISK));

    // Both back: everything resolves.
    g.links(1, &[2, 3], true);
    g.links(2, &[3], true);
    g.links(2, &[1], true);
    let out = g.poll(520.0, &[]);
    for k in [
        AT_RISK,
        LOST,
        "cosigner_down/cosigner-2",
        "cosigner_down/cosigner-3",
    ] {
        assert!(cleared(&out, k), "{k}: {out:#?}");
    }
}

#[test]
fn a_cosigner_every_peer_cannot_reach_is_down_though_its_metrics_answer() {
    let mut g = Group::new();
    g.poll(100.0, &[]);
    g.links(1, &[3], false);
    let out = g.poll(110.0, &[]);
    assert!(
        cleared(&out, "cosigner_down/cosigner-3"),
        "cosigner-2 still reaches it"
    );
    g.links(2, &[3], false);
    // Cut off both ways (cosigner-3's own links could still reach both).
    g.links(3, &[1, 2], false);
    g.poll(120.0, &[]);
    let out = g.poll(160.0, &[]);
    let f = firing(&out, "cosigner_down/cosigner-3");
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(
        f.summary,
        "cosigner cosigner-3 of val0: every other cosigner (cosigner-1, cosigner-2) has had its link to it down for 40s; its metrics answer, so the cosigners cannot reach it: check the network between them, its [threshold] listen address and the link keys"
    );
    // Each of 1 and 2 still has the other: 2 of 3, at risk.
    assert_eq!(firing(&out, AT_RISK).severity, Severity::Warning);
    g.links(2, &[3], true);
    g.links(3, &[2], true);
    let out = g.poll(170.0, &[]);
    assert!(cleared(&out, "cosigner_down/cosigner-3"));
    // 1 and 3 still do not reach each other: losing cosigner-2 would stop signing.
    assert_eq!(
        firing(&out, AT_RISK).summary,
        "c-1: cosigner cosigner-1 of val0 reaches only 2 of 3 cosigners (its links to cosigner-3 are down), though cosigner-2 reaches 3; a signature needs 2: one more lost link stops the signatures it coordinates; check the network from cosigner-1 to cosigner-3, their [threshold] listen addresses and the link keys"
    );
    g.links(1, &[3], true);
    g.links(3, &[1], true);
    let out = g.poll(180.0, &[]);
    assert!(cleared(&out, AT_RISK));
}

/// Links up one way only. Every link into cosigner-3 is down while its own are up: it
/// reaches all three, but neither other coordinator reaches it, so the threshold is at
/// risk (the best coordinator alone would say 3). Then the reverse: cosigner-3 reaches
/// nobody while both reach it: a request it coordinates cannot be signed, though the
/// key can still sign through the others (at risk, not lost).
#[test]
fn links_up_one_way_only_put_the_threshold_at_risk() {
    let mut g = Group::new();
    g.poll(100.0, &[]);
    g.links(1, &[3], false);
    g.links(2, &[3], false);
    let out = g.poll(110.0, &[]);
    let f = firing(&out, AT_RISK);
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(
        f.summary,
        "c-1: cosigner cosigner-1 of val0 reaches only 2 of 3 cosigners (its links to cosigner-3 are down), though cosigner-3 reaches 3; a signature needs 2: one more lost link stops the signatures it coordinates; check the network from cosigner-1 to cosigner-3, their [threshold] listen addresses and the link keys"
    );
    assert!(cleared(&out, LOST));
    let out = g.poll(150.0, &[]);
    assert!(
        firing(&out, "cosigner_down/cosigner-3")
            .summary
            .contains("every other cosigner (cosigner-1, cosigner-2) has had its link to it down"),
        "{out:#?}"
    );

    g.links(1, &[3], true);
    g.links(2, &[3], true);
    g.links(3, &[1, 2], false);
    let out = g.poll(160.0, &[]);
    assert!(cleared(&out, "cosigner_down/cosigner-3"));
    assert!(cleared(&out, LOST), "the others still sign: {out:#?}");
    assert_eq!(
        firing(&out, AT_RISK).summary,
        "c-1: cosigner cosigner-3 of val0 reaches only 1 of 3 cosigners (its links to cosigner-1, cosigner-2 are down), though cosigner-1 reaches 3; a signature needs 2: a node's request it coordinates cannot be signed (the node misses that block while it holds this cosigner's connection); check the network from cosigner-3 to cosigner-1, cosigner-2, their [threshold] listen addresses and the link keys"
    );
    g.links(3, &[1, 2], true);
    let out = g.poll(170.0, &[]);
    assert!(cleared(&out, AT_RISK) && cleared(&out, LOST));
}

#[test]
fn refusals_by_reason_conflicting_data_critical_regressions_left_out() {
    let mut g = Group::new();
    g.cs[1].refused("step_regression", 5);
    g.poll(100.0, &[]);
    g.cs[1].refused("conflicting_data", 1);
    g.cs[1].refused("step_regression", 50);
    g.cs[1].refused("bad_package", 2);
    g.cs[0]
        .metrics
        .peer_refusals
        .get_or_create(&RefusalLabels {
            chain: CHAIN.into(),
            peer: name(3),
            reason: "bad_share".into(),
        })
        .inc();
    let out = g.poll(110.0, &[]);
    let f = firing(&out, "cosigner_refusals/cosigner-2/conflicting_data");
    assert_eq!(f.severity, Severity::Critical);
    assert!(f.summary.starts_with("cosigner cosigner-2: 1 share requests refused for conflicting_data in the last 10 minutes: two coordinators asked it to sign conflicting data"), "{}", f.summary);
    assert_eq!(
        firing(&out, "cosigner_refusals/cosigner-2/bad_package").severity,
        Severity::Warning
    );
    assert_eq!(
        firing(&out, "cosigner_refusals/cosigner-1/bad_share").severity,
        Severity::Warning
    );
    assert!(outcome(&out, "cosigner_refusals/cosigner-2/step_regression").is_none());
    assert_eq!(
        g.cs[1]
            .collector
            .state
            .threshold
            .as_ref()
            .unwrap()
            .recent_refusals["step_regression"],
        50
    );
    // Ten minutes on they have aged out.
    let out = g.poll(720.0, &[]);
    assert!(cleared(
        &out,
        "cosigner_refusals/cosigner-2/conflicting_data"
    ));
    assert!(cleared(&out, "cosigner_refusals/cosigner-1/bad_share"));
}

#[test]
fn slow_peer_links_and_failed_signatures_from_the_counters_growth() {
    let mut g = Group::new();
    let rt = |c: &Cosigner, peer: usize, secs: f64| {
        c.metrics
            .round_trip
            .get_or_create(&PeerLabels { peer: name(peer) })
            .observe(secs)
    };
    rt(&g.cs[0], 2, 0.002);
    g.poll(100.0, &[]);
    // Before the poll: a baseline only, no recent round trip.
    assert!(g.cs[0].collector.state.threshold.as_ref().unwrap().peers[0]
        .round_trip_seconds
        .is_none());
    for s in [0.3, 0.5] {
        rt(&g.cs[0], 2, s);
    }
    rt(&g.cs[0], 3, 0.004);
    let sig = |c: &Cosigner, result: &str, n| {
        c.metrics
            .signatures
            .get_or_create(&SignatureLabels {
                chain: CHAIN.into(),
                result: result.into(),
            })
            .inc_by(n)
    };
    sig(&g.cs[0], "signed", 7);
    sig(&g.cs[0], "failed", 1);
    let out = g.poll(110.0, &[]);
    let t = g.cs[0].collector.state.threshold.clone().unwrap();
    let mean = t.peers[0].round_trip_seconds.unwrap();
    assert!((mean - 0.4).abs() < 1e-9, "{mean}");
    assert_eq!(
        (t.chains[0].recent_signed, t.chains[0].recent_failed),
        (7, 1)
    );
    let f = firing(&out, &format!("cosigner_failures/cosigner-1/{CHAIN}"));
    assert_eq!(f.severity, Severity::Warning);
    assert!(
        f.summary
            .starts_with("cosigner cosigner-1: 1 of the 8 signatures it coordinated for"),
        "{}",
        f.summary
    );
    assert!(cleared(
        &out,
        &format!("cosigner_failures/cosigner-2/{CHAIN}")
    ));
    let f = firing(&out, "cosigner_slow/cosigner-1/cosigner-2");
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(
        f.summary,
        "cosigner cosigner-1: share requests to cosigner-2 take 400 ms on average over the last 5 minutes; each signature waits for them: check the network between the two hosts and the peer's load"
    );
    assert!(cleared(&out, "cosigner_slow/cosigner-1/cosigner-3"));
    // Five minutes without requests: no figure, and no word either way.
    let out = g.poll(500.0, &[]);
    assert!(outcome(&out, "cosigner_slow/cosigner-1/cosigner-2").is_none());
}

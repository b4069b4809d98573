//! `host_down`: the exporter and everything that names the host, all unreachable.

use super::*;

fn host(remote: bool, up: bool, down_since: Option<f64>) -> HostState {
    HostState {
        name: "h".into(),
        remote,
        up,
        error: (!up).then(|| "Connection refused".into()),
        down_since,
        filesystems: vec![],
        load_per_cpu: None,
        memory_used_ratio: None,
        snapshots: vec![],
    }
}

fn on_h(name: &str, up: bool, down_since: Option<f64>) -> NodeState {
    NodeState {
        host: Some("h".into()),
        up,
        down_since,
        ..node(name, None, None)
    }
}

fn outcome(obs: &Observed, now: f64) -> Option<Outcome> {
    evaluate(&RulesConfig::default(), obs, now)
        .into_iter()
        .find(|o| match o {
            Outcome::Firing(c) => c.key == "host_down/h",
            Outcome::Clear(k) => k == "host_down/h",
        })
}

#[test]
fn a_host_is_down_when_its_exporter_and_everything_on_it_are() {
    // (30 s warning, 1 m critical by default.)
    let mut obs = Observed {
        hosts: vec![host(true, false, Some(100.0))],
        nodes: vec![
            on_h("n1", false, Some(101.0)),
            on_h("n2", false, Some(110.0)),
            node("elsewhere", Some(5), Some(3)),
        ],
        ..Default::default()
    };
    // Timed from the last of them to go.
    assert_eq!(outcome(&obs, 139.0), None, "held, not yet 30 s");
    let Some(Outcome::Firing(c)) = outcome(&obs, 140.0) else {
        panic!("not firing")
    };
    assert_eq!(
        (c.rule, c.severity, c.host.as_deref()),
        ("host_down", Severity::Warning, Some("h"))
    );
    assert!(
        c.summary.starts_with(
            "host h: down for 30s: neither its node_exporter nor anything on it answers (n1, n2);"
        ),
        "{}",
        c.summary
    );
    assert_eq!(
        severity(
            &evaluate(&RulesConfig::default(), &obs, 170.0),
            "host_down/h"
        ),
        Some(Severity::Critical)
    );
    // One of them answers: not down.
    obs.nodes[1] = on_h("n2", true, None);
    assert_eq!(
        outcome(&obs, 200.0),
        Some(Outcome::Clear("host_down/h".into()))
    );
    // Its exporter answers: not down.
    obs.nodes[1] = on_h("n2", false, Some(110.0));
    obs.hosts[0] = host(true, true, None);
    assert_eq!(
        outcome(&obs, 200.0),
        Some(Outcome::Clear("host_down/h".into()))
    );
    // A signer that names the host counts too.
    obs.hosts[0] = host(true, false, Some(100.0));
    obs.signers.push(SignerState {
        sealed: Default::default(),
        name: "s".into(),
        host: Some("h".into()),
        up: true,
        error: None,
        down_since: None,
        nodes: vec![],
        recent_refusals: 0,
        cosigners: None,
        peer_name: "s".into(),
        threshold: None,
    });
    assert_eq!(
        outcome(&obs, 200.0),
        Some(Outcome::Clear("host_down/h".into()))
    );
}

#[test]
fn an_exporter_alone_or_the_watchs_own_host_is_never_a_host_down() {
    let alone = Observed {
        hosts: vec![host(true, false, Some(100.0))],
        ..Default::default()
    };
    assert_eq!(
        outcome(&alone, 1000.0),
        Some(Outcome::Clear("host_down/h".into()))
    );
    let local = Observed {
        hosts: vec![host(false, false, Some(100.0))],
        nodes: vec![on_h("n1", false, Some(100.0))],
        ..Default::default()
    };
    assert_eq!(outcome(&local, 1000.0), None);
}

//! The node collector: status, peers, wrong chain, its own metrics.

use super::*;

#[test]
fn node_status_peers_and_wrong_chain() {
    let url = fake(chain("c-1", true));
    let cfg = NodeConfig {
        hermes: None,
        hermes_prefix: None,
        name: "s0".into(),
        chain: "c-1".into(),
        role: Role::Sentry,
        rpc: url.clone(),
        metrics: None,
        history: None,
        rules: Default::default(),
        host: None,
        labels: Default::default(),
    };
    let mut n = NodeCollector::new(
        &cfg,
        Rpc::new(reqwest::Client::new(), &url, Duration::from_secs(1)),
        reqwest::Client::new(),
        Duration::from_secs(1),
    );
    rt().block_on(n.poll(5.0));
    assert!(n.state.up);
    assert_eq!(
        (n.state.height, n.state.peers, n.state.catching_up),
        (Some(10), Some(4), Some(false))
    );
    let cfg = NodeConfig {
        chain: "c-2".into(),
        ..cfg
    };
    let mut n = NodeCollector::new(
        &cfg,
        Rpc::new(reqwest::Client::new(), &url, Duration::from_secs(1)),
        reqwest::Client::new(),
        Duration::from_secs(1),
    );
    rt().block_on(n.poll(5.0));
    assert!(!n.state.up);
    assert_eq!(n.state.down_since, Some(5.0));
    assert_eq!(
        n.state.error.as_deref(),
        Some("wrong chain: expected c-2, the node is on c-1")
    );
}

#[test]
fn node_metrics_are_read_beside_the_rpc_and_their_failures_kept_apart() {
    let rpc = fake(chain("c-1", true));
    let metrics = serve(|p| {
        (p == "/metrics").then(|| {
            "cometbft_consensus_rounds{chain_id=\"c-1\"} 1\n\
             cometbft_consensus_missing_validators_power{chain_id=\"c-1\"} 0\n\
             cometbft_consensus_validators_power{chain_id=\"c-1\"} 40\n\
             cometbft_mempool_size{chain_id=\"c-1\"} 7\n"
                .to_string()
        })
    });
    let hang = serve(|_| None);
    let node = |m: String| {
        let cfg = NodeConfig {
            hermes: None,
            hermes_prefix: None,
            name: "v0".into(),
            chain: "c-1".into(),
            role: Role::Validator,
            rpc: rpc.clone(),
            metrics: Some(m),
            history: None,
            rules: Default::default(),
            host: None,
            labels: Default::default(),
        };
        NodeCollector::new(
            &cfg,
            Rpc::new(reqwest::Client::new(), &rpc, Duration::from_secs(1)),
            reqwest::Client::new(),
            Duration::from_millis(500),
        )
    };
    let mut n = node(format!("{metrics}/metrics"));
    rt().block_on(n.poll(5.0));
    assert!(n.state.up);
    let m = n.state.metrics.as_ref().unwrap();
    assert!(m.up, "{m:?}");
    assert_eq!(m.figures.consensus_rounds, Some(1));
    assert_eq!(m.figures.missing_power_ratio, Some(0.0));
    assert_eq!(m.figures.mempool_txs, Some(7));

    // A metrics endpoint that hangs, or the RPC port given by mistake: the metrics are
    // down with a reason, and the node's RPC is read all the same.
    for (url, why) in [
        (format!("{hang}/metrics"), "timed out"),
        (format!("{rpc}/metrics"), "no CometBFT consensus metrics"),
    ] {
        let mut n = node(url.clone());
        rt().block_on(n.poll(7.0));
        assert!(n.state.up, "{url}");
        assert_eq!(n.state.height, Some(10));
        let m = n.state.metrics.as_ref().unwrap();
        assert!(!m.up);
        assert_eq!(m.down_since, Some(7.0));
        let e = m.error.as_deref().unwrap();
        assert!(e.contains(why), "{url}: {e}");
    }
}

#[test]
fn a_relayers_hermes_telemetry_is_read_beside_its_rpc() {
    let rpc = fake(chain("c-1", true));
    let hermes =
        serve(|p| (p == "/metrics").then(|| crate::collect::hermes::tests::SCRAPE.to_string()));
    let cfg = NodeConfig {
        hermes: Some(format!("{hermes}/metrics")),
        hermes_prefix: None,
        name: "r0".into(),
        chain: "c-1".into(),
        role: Role::Relayer,
        rpc: rpc.clone(),
        metrics: None,
        history: None,
        rules: Default::default(),
        host: None,
        labels: Default::default(),
    };
    let node = |cfg: &NodeConfig| {
        NodeCollector::new(
            cfg,
            Rpc::new(reqwest::Client::new(), &rpc, Duration::from_secs(1)),
            reqwest::Client::new(),
            Duration::from_millis(500),
        )
    };
    let mut n = node(&cfg);
    rt().block_on(n.poll(5.0));
    assert!(n.state.up);
    let h = n.state.hermes.as_ref().unwrap();
    assert!(h.up, "{h:?}");
    assert_eq!(h.figures.backlogs.len(), 2);
    assert_eq!(h.figures.wallets.len(), 2);
    // The wrong prefix: the telemetry is down with a reason, the RPC read all the same.
    let mut n = node(&NodeConfig {
        hermes_prefix: Some("relayer".into()),
        ..cfg.clone()
    });
    rt().block_on(n.poll(6.0));
    assert!(n.state.up);
    let h = n.state.hermes.as_ref().unwrap();
    assert!(!h.up);
    assert!(
        h.error
            .as_deref()
            .unwrap()
            .contains("with the prefix \"relayer\""),
        "{h:?}"
    );
}

//! A CometBFT node's Prometheus metrics: the figures read from v0.37+ (`cometbft_`) and
//! v0.34 (`tendermint_`) scrapes; another chain's metrics, another exporter's and bad
//! values refused; a failing endpoint keeps its last figures and its first failure time.

use crate::collect::exporter::parse;
use crate::collect::node_metrics::read;
use crate::state::{NodeMetrics, NodeMetricsState};

const V038: &str = r#"# HELP cometbft_consensus_rounds Number of rounds.
# TYPE cometbft_consensus_rounds gauge
cometbft_consensus_rounds{chain_id="c-1"} 1
cometbft_consensus_height{chain_id="c-1"} 1234
cometbft_consensus_missing_validators{chain_id="c-1"} 1
cometbft_consensus_missing_validators_power{chain_id="c-1"} 10
cometbft_consensus_validators_power{chain_id="c-1"} 40
cometbft_consensus_validator_power{chain_id="c-1",validator_address="AB"} 10
cometbft_mempool_size{chain_id="c-1"} 3
cometbft_p2p_peers{chain_id="c-1"} 4
go_goroutines 80
"#;

#[test]
fn figures_from_cometbft_and_tendermint_names() {
    let want = NodeMetrics {
        consensus_rounds: Some(1),
        missing_power_ratio: Some(0.25),
        mempool_txs: Some(3),
    };
    assert_eq!(read(&parse(V038), "c-1"), Ok(want.clone()));
    let v034 = V038.replace("cometbft_", "tendermint_");
    assert_eq!(read(&parse(&v034), "c-1"), Ok(want));
    // No power figures (the first blocks): no ratio, the rest still read.
    let m = read(
        &parse("cometbft_consensus_rounds{chain_id=\"c-1\"} 0\n"),
        "c-1",
    )
    .unwrap();
    assert_eq!(m.consensus_rounds, Some(0));
    assert_eq!(m.missing_power_ratio, None);
    let zero = V038.replace(
        "validators_power{chain_id=\"c-1\"} 40",
        "validators_power{chain_id=\"c-1\"} 0",
    );
    assert_eq!(
        read(&parse(&zero), "c-1").unwrap().missing_power_ratio,
        None
    );
}

#[test]
fn other_chains_other_exporters_and_bad_values_are_refused() {
    assert_eq!(
        read(&parse(V038), "c-2"),
        Err("the metrics are of chain \"c-1\", not \"c-2\"; is the URL this node's?".into())
    );
    let node_exporter = "node_load1 0.5\nnode_memory_MemTotal_bytes 1e9\n";
    let e = read(&parse(node_exporter), "c-1").unwrap_err();
    assert!(
        e.starts_with("no CometBFT consensus metrics in the response"),
        "{e}"
    );
    assert!(read(&parse("<html>hi</html>"), "c-1").is_err());
    for bad in ["NaN", "-1", "+Inf"] {
        let text = V038.replace(
            "mempool_size{chain_id=\"c-1\"} 3",
            &format!("mempool_size{{chain_id=\"c-1\"}} {bad}"),
        );
        let e = read(&parse(&text), "c-1").unwrap_err();
        assert!(e.starts_with("cometbft_mempool_size is "), "{bad}: {e}");
    }
}

#[test]
fn a_failing_endpoint_keeps_its_figures_and_first_failure() {
    let mut s = NodeMetricsState::new("http://n:26660/metrics");
    assert!(!s.up);
    assert_eq!(s.error.as_deref(), Some("not read yet"));
    s.record(read(&parse(V038), "c-1"), 10.0);
    assert!(s.up && s.error.is_none() && s.down_since.is_none());
    s.record(Err("timed out".into()), 20.0);
    s.record(Err("timed out again".into()), 30.0);
    assert!(!s.up);
    assert_eq!(s.down_since, Some(20.0));
    assert_eq!(s.error.as_deref(), Some("timed out again"));
    assert_eq!(s.figures.consensus_rounds, Some(1));
    s.record(read(&parse(V038), "c-1"), 40.0);
    assert!(s.up && s.down_since.is_none());
}

//! A CometBFT node's own Prometheus metrics (`[instrumentation] prometheus = true`,
//! usually port 26660): what the RPC does not tell. The consensus round at the current
//! height (rounds past 0 mean failed proposals), the voting power missing from the last
//! commit (a third of it halts the chain) and the mempool size. Names carry the
//! `cometbft_` namespace (v0.37 on) or `tendermint_` (v0.34).

use crate::collect::exporter::Sample;
use crate::state::NodeMetrics;

/// The figures of a scrape of a node on `chain`. A scrape without CometBFT consensus
/// metrics, or of another chain, is an error.
pub fn read(samples: &[Sample], chain: &str) -> Result<NodeMetrics, String> {
    let mut m = NodeMetrics::default();
    let (mut missing, mut total, mut seen) = (None, None, false);
    for s in samples {
        let Some(name) = s
            .name
            .strip_prefix("cometbft_")
            .or_else(|| s.name.strip_prefix("tendermint_"))
        else {
            continue;
        };
        let slot = match name {
            "consensus_rounds" => 0,
            "consensus_missing_validators_power" => 1,
            "consensus_validators_power" => 2,
            "mempool_size" => 3,
            _ => continue,
        };
        if let Some(id) = s.labels.get("chain_id") {
            if id != chain {
                return Err(format!(
                    "the metrics are of chain {id:?}, not {chain:?}; is the URL this node's?"
                ));
            }
        }
        if !s.value.is_finite() || s.value < 0.0 {
            return Err(format!("{} is {}", s.name, s.value));
        }
        seen = true;
        match slot {
            0 => m.consensus_rounds = Some(s.value as u64),
            1 => missing = Some(s.value),
            2 => total = Some(s.value),
            _ => m.mempool_txs = Some(s.value as u64),
        }
    }
    if !seen {
        return Err("no CometBFT consensus metrics in the response; is this the node's Prometheus endpoint ([instrumentation] prometheus = true, usually port 26660)?".into());
    }
    if let (Some(miss), Some(all)) = (missing, total) {
        if all > 0.0 {
            m.missing_power_ratio = Some((miss / all).clamp(0.0, 1.0));
        }
    }
    Ok(m)
}

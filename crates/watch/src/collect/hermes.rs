//! A Hermes relayer's telemetry (its `[telemetry]` Prometheus endpoint, usually port
//! 3001): the balance of each wallet it relays with, the packets waiting on each channel
//! (`backlog_size`, `backlog_oldest_sequence`), how long its transactions take to be
//! confirmed (`tx_latency_confirmed`) and the errors it meets broadcasting and
//! simulating them (`broadcast_errors_total`, `simulate_errors_total`). Names may carry
//! the namespace of Hermes' `[telemetry] prefix`.

use crate::collect::exporter::Sample;
use crate::state::{HermesBacklog, HermesFigures, HermesWallet};
use std::collections::BTreeMap;

/// The figures of one scrape. A scrape with none of Hermes' metrics is an error.
pub fn read(samples: &[Sample], prefix: &str) -> Result<HermesFigures, String> {
    let mut f = HermesFigures::default();
    let mut backlogs: BTreeMap<(String, String, String, String), HermesBacklog> = BTreeMap::new();
    let mut seen = false;
    let label = |s: &Sample, k: &str| s.labels.get(k).cloned().unwrap_or_default();
    for s in samples {
        let name = if prefix.is_empty() {
            Some(s.name.as_str())
        } else {
            s.name
                .strip_prefix(prefix)
                .and_then(|n| n.strip_prefix('_'))
        };
        let Some(name) = name else { continue };
        if !s.value.is_finite() && !name.ends_with("_bucket") {
            return Err(format!("{} is {}", s.name, s.value));
        }
        let channel = || {
            (
                label(s, "chain"),
                label(s, "channel"),
                label(s, "counterparty"),
                label(s, "port"),
            )
        };
        match name {
            "wallet_balance" => f.wallets.push(HermesWallet {
                chain: label(s, "chain"),
                account: label(s, "account"),
                denom: label(s, "denom"),
                balance: s.value,
            }),
            "backlog_size" | "backlog_oldest_sequence" => {
                let key = channel();
                let b = backlogs
                    .entry(key.clone())
                    .or_insert_with(|| HermesBacklog {
                        chain: key.0,
                        channel: key.1,
                        counterparty: key.2,
                        port: key.3,
                        size: 0,
                        oldest_sequence: None,
                    });
                let v = s.value.max(0.0) as u64;
                if name == "backlog_size" {
                    b.size = v;
                } else {
                    b.oldest_sequence = Some(v);
                }
            }
            "tx_latency_confirmed_sum" => *f.confirmed_latency_ms_sum.get_or_insert(0.0) += s.value,
            "tx_latency_confirmed_count" => *f.confirmed_count.get_or_insert(0.0) += s.value,
            "broadcast_errors_total" | "simulate_errors_total" => f.errors_total += s.value,
            "workers"
            | "ws_events_total"
            | "queries_total"
            | "messages_submitted_total"
            | "tx_latency_submitted_count" => {}
            _ => continue,
        }
        seen = true;
    }
    if !seen {
        return Err(format!(
            "no Hermes telemetry in the response{}; is this Hermes' [telemetry] endpoint (usually port 3001)?",
            if prefix.is_empty() {
                String::new()
            } else {
                format!(" with the prefix {prefix:?}")
            }
        ));
    }
    f.backlogs = backlogs.into_values().collect();
    Ok(f)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::collect::exporter::parse;

    /// Lines as Hermes v1.13 exposes them (OpenTelemetry's Prometheus exporter: its
    /// `service_name` and `otel_scope_*` labels on every sample).
    pub(crate) const SCRAPE: &str = include_str!("tests/hermes_scrape.txt");

    #[test]
    fn reads_hermes_telemetry() {
        let f = read(&parse(SCRAPE), "").unwrap();
        assert_eq!(f.wallets.len(), 2);
        assert_eq!(f.wallets[1].balance, 98000.5);
        assert_eq!(f.wallets[0].denom, "uatom");
        assert_eq!(f.backlogs.len(), 2);
        let b = f.backlogs.iter().find(|b| b.chain == "osmosis-1").unwrap();
        assert_eq!((b.size, b.oldest_sequence), (3, Some(4120)));
        assert_eq!(b.channel, "channel-0");
        assert_eq!(b.counterparty, "cosmoshub-4");
        assert_eq!(f.errors_total, 3.0);
        assert_eq!(f.confirmed_latency_ms_sum, Some(21000.0));
        assert_eq!(f.confirmed_count, Some(4.0));
    }

    #[test]
    fn a_prefix_and_a_wrong_endpoint() {
        let prefixed = SCRAPE
            .lines()
            .map(|l| {
                if l.starts_with('#') {
                    l.to_string()
                } else {
                    format!("hermes_{l}")
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(read(&parse(&prefixed), "hermes").unwrap().backlogs.len(), 2);
        let e = read(&parse(&prefixed), "").unwrap_err();
        assert!(e.starts_with("no Hermes telemetry in the response"), "{e}");
        let e = read(&parse("cometbft_consensus_height 5\n"), "hermes").unwrap_err();
        assert!(e.contains("with the prefix \"hermes\""), "{e}");
    }
}

//! Fixtures of the engine's tests: a small fleet with labels and hosts, conditions,
//! an engine on a temp database, and what its outbox holds.

use crate::config::{ChainConfig, Config, HostConfig, NodeConfig, Role, SignerConfig};
use crate::engine::alert::{Engine, Kind};
use crate::engine::routing::Routing;
use crate::engine::store::Store;
use crate::rules::Condition;
use crate::Severity;
use std::time::Duration;

pub(crate) fn labels(pairs: &[(&str, &str)]) -> crate::config::Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Chain c-1 (env mainnet) with validator v1 and sentry s1 (and o1, another
/// operator's validator); v1 and signer sig on host h1 (dc fra), the sentry on h2.
pub(crate) fn config() -> Config {
    let mut c = Config::new("unused".into());
    let mut ch = ChainConfig::new("c-1", vec!["http://127.0.0.1:1".into()]);
    ch.labels = labels(&[("env", "mainnet")]);
    c.chains.push(ch);
    for (h, dc) in [("h1", "fra"), ("h2", "ams")] {
        c.hosts.push(HostConfig {
            name: h.into(),
            node_exporter: Some(format!("http://{h}:9100/metrics")),
            mountpoints: vec![],
            labels: labels(&[("dc", dc)]),
            rules: Default::default(),
        });
    }
    // o1: another operator's validator, watched too, on no host of ours.
    for (n, role, host) in [
        ("v1", Role::Validator, Some("h1")),
        ("s1", Role::Sentry, Some("h2")),
        ("o1", Role::Validator, None),
    ] {
        c.nodes.push(NodeConfig {
            hermes: None,
            hermes_prefix: None,
            name: n.into(),
            chain: "c-1".into(),
            role,
            rpc: "http://127.0.0.1:1".into(),
            metrics: None,
            history: None,
            rules: Default::default(),
            host: host.map(str::to_string),
            labels: labels(&[("tier", role.as_str())]),
        });
    }
    let mut s = SignerConfig::new("sig", "http://127.0.0.1:2/metrics");
    s.host = Some("h1".into());
    c.signers.push(s);
    c
}

pub(crate) fn cond(rule: &'static str, key: &str, sev: Severity) -> Condition {
    let part = key.split('/').nth(1).unwrap_or("").to_string();
    let (chain, node, host) = match rule {
        "node_down" | "node_metrics_down" => (Some("c-1".to_string()), Some(part), None),
        "missed_in_a_row" | "chain_stalled" => (Some(part), None, None),
        "exporter_down" | "host_down" | "disk_used" => (None, None, Some(part)),
        _ => (None, None, None),
    };
    Condition {
        key: key.into(),
        rule,
        severity: sev,
        chain,
        node,
        host,
        summary: format!("{key} {sev:?}"),
        hold: Duration::ZERO,
    }
}

pub(crate) fn engine(dir: &tempfile::TempDir, c: &Config) -> Engine {
    Engine::new(
        Store::open(&dir.path().join("w.sqlite")).unwrap(),
        Routing::new(c),
    )
    .unwrap()
}

/// (channel, [(key, kind)]) of every queued message, oldest first.
pub(crate) fn outbox(dir: &tempfile::TempDir) -> Vec<(String, Vec<(String, Kind)>)> {
    let s = Store::open(&dir.path().join("w.sqlite")).unwrap();
    s.due(1e12, 1000)
        .unwrap()
        .into_iter()
        .map(|i| {
            let ns = i.message.notifications.iter();
            (
                i.channel,
                ns.map(|n| (n.alert.key.clone(), n.kind)).collect(),
            )
        })
        .collect()
}

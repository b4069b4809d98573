//! Prometheus metrics (`bulwark_watch_*`), registered in a registry passed in.

use crate::config::Severity;
use crate::engine::alert::Alert;
use crate::serve::series::{Labels, Retain, Tracked};
use crate::state::{Observed, Ts};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;

type FGauge = Gauge<f64, AtomicU64>;

/// The watch's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    chain_height: Tracked<Gauge>,
    seconds_since_block: Tracked<FGauge>,
    missed: Tracked<Counter>,
    signed: Tracked<Counter>,
    missed_in_a_row: Tracked<Gauge>,
    commit_round_max: Tracked<Gauge>,
    double_sign: Tracked<Gauge>,
    source_up: Tracked<Gauge>,
    node_up: Tracked<Gauge>,
    block_height: Tracked<Gauge>,
    behind: Tracked<Gauge>,
    peers: Tracked<Gauge>,
    catching_up: Tracked<Gauge>,
    node_metrics_up: Tracked<Gauge>,
    consensus_rounds: Tracked<Gauge>,
    missing_power: Tracked<FGauge>,
    mempool_txs: Tracked<Gauge>,
    host_up: Tracked<Gauge>,
    fs_used: Tracked<FGauge>,
    fs_full_in: Tracked<FGauge>,
    alerts_firing: Tracked<Gauge>,
    cosigner_up: Tracked<Gauge>,
    cosigners_reachable: Tracked<Gauge>,
    cosigner_threshold: Tracked<Gauge>,
    cosigner_round_trip: Tracked<FGauge>,
    notifications: Tracked<Counter>,
    heartbeats: Tracked<Counter>,
    last_totals: Mutex<HashMap<String, (u64, u64)>>,
    sdk: crate::serve::metrics_sdk::SdkMetrics,
    relayer: crate::serve::metrics_relayer::RelayerMetrics,
}

impl Metrics {
    /// Keep only the series whose labels `keep` accepts.
    pub(crate) fn retain(&self, keep: &dyn Fn(&Labels) -> bool) {
        let all: [&dyn Retain; 27] = [
            &self.chain_height,
            &self.seconds_since_block,
            &self.missed,
            &self.signed,
            &self.missed_in_a_row,
            &self.commit_round_max,
            &self.double_sign,
            &self.source_up,
            &self.node_up,
            &self.block_height,
            &self.behind,
            &self.peers,
            &self.catching_up,
            &self.node_metrics_up,
            &self.consensus_rounds,
            &self.missing_power,
            &self.mempool_txs,
            &self.host_up,
            &self.fs_used,
            &self.fs_full_in,
            &self.alerts_firing,
            &self.cosigner_up,
            &self.cosigners_reachable,
            &self.cosigner_threshold,
            &self.cosigner_round_trip,
            &self.notifications,
            &self.heartbeats,
        ];
        for f in all {
            f.retain(keep);
        }
        self.sdk.retain(keep);
        self.relayer.retain(keep);
    }
    /// Create the metrics and register them in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let mut m = Self::default();
        let r = registry;
        m.sdk = crate::serve::metrics_sdk::SdkMetrics::register(r);
        m.relayer = crate::serve::metrics_relayer::RelayerMetrics::register(r);
        r.register(
            "bulwark_watch_chain_height",
            "Latest block height seen on the chain",
            m.chain_height.family(),
        );
        r.register(
            "bulwark_watch_seconds_since_last_block",
            "Seconds since the latest block's time",
            m.seconds_since_block.family(),
        );
        r.register(
            "bulwark_watch_validator_missed_blocks",
            "Blocks checked where our validator's signature was absent",
            m.missed.family(),
        );
        r.register(
            "bulwark_watch_validator_signed_blocks",
            "Blocks checked where our validator signed (commit or nil)",
            m.signed.family(),
        );
        r.register(
            "bulwark_watch_validator_missed_in_a_row",
            "Our validator's current run of missed blocks",
            m.missed_in_a_row.family(),
        );
        r.register(
            "bulwark_watch_commit_round_max",
            "Highest round at which one of the chain's recent heights was committed (0 is normal)",
            m.commit_round_max.family(),
        );
        r.register(
            "bulwark_watch_validator_double_sign_evidence",
            "1 while a recent block carries evidence that our validator signed twice",
            m.double_sign.family(),
        );
        r.register(
            "bulwark_watch_rpc_source_up",
            "1 when the chain RPC endpoint answers with sane data",
            m.source_up.family(),
        );
        r.register(
            "bulwark_watch_node_up",
            "1 when the node's RPC answers for the right chain",
            m.node_up.family(),
        );
        r.register(
            "bulwark_watch_block_height",
            "Latest block height a node reports",
            m.block_height.family(),
        );
        r.register(
            "bulwark_watch_node_blocks_behind",
            "Blocks this node is behind the best height seen on its chain",
            m.behind.family(),
        );
        r.register(
            "bulwark_watch_node_peers",
            "Peers a node is connected to",
            m.peers.family(),
        );
        r.register(
            "bulwark_watch_node_catching_up",
            "1 while a node is syncing",
            m.catching_up.family(),
        );
        r.register(
            "bulwark_watch_node_metrics_up",
            "1 when the node's own Prometheus metrics answer with sane figures for its chain",
            m.node_metrics_up.family(),
        );
        r.register(
            "bulwark_watch_node_consensus_rounds",
            "Consensus round the node last finished at one height (0 is normal), from its metrics",
            m.consensus_rounds.family(),
        );
        r.register(
            "bulwark_watch_node_missing_power_ratio",
            "Share of voting power missing from the last commit, 0..1, from the node's metrics",
            m.missing_power.family(),
        );
        r.register(
            "bulwark_watch_node_mempool_txs",
            "Transactions in the node's mempool, from its metrics",
            m.mempool_txs.family(),
        );
        r.register(
            "bulwark_watch_host_up",
            "1 when the host's node_exporter answers",
            m.host_up.family(),
        );
        r.register(
            "bulwark_watch_filesystem_used_ratio",
            "Share of a filesystem in use, 0 to 1",
            m.fs_used.family(),
        );
        r.register(
            "bulwark_watch_filesystem_full_in_seconds",
            "Predicted seconds until a filesystem is full (absent when not filling)",
            m.fs_full_in.family(),
        );
        r.register(
            "bulwark_watch_cosigner_up",
            "1 when a threshold cosigner's metrics answer",
            m.cosigner_up.family(),
        );
        r.register(
            "bulwark_watch_cosigners_reachable",
            "Most cosigners of a group one answering cosigner reaches, itself included",
            m.cosigners_reachable.family(),
        );
        r.register(
            "bulwark_watch_cosigner_threshold",
            "Cosigners of a group a signature needs",
            m.cosigner_threshold.family(),
        );
        r.register(
            "bulwark_watch_cosigner_round_trip_seconds",
            "Mean round trip of a cosigner's share requests to a peer over the last 5 minutes",
            m.cosigner_round_trip.family(),
        );
        r.register(
            "bulwark_watch_alerts_firing",
            "Alerts firing now",
            m.alerts_firing.family(),
        );
        r.register(
            "bulwark_watch_notifications",
            "Notification deliveries by channel and result",
            m.notifications.family(),
        );
        r.register(
            "bulwark_watch_heartbeats",
            "Heartbeat calls by result",
            m.heartbeats.family(),
        );
        m
    }

    /// Refresh from what was observed and the alerts firing.
    pub fn update<'a>(&self, obs: &Observed, firing: impl Iterator<Item = &'a Alert>, now: Ts) {
        self.sdk.update(obs, now);
        self.relayer.update(obs);
        let mut last = self.last_totals.lock().unwrap_or_else(|p| p.into_inner());
        for c in &obs.chains {
            let l = vec![("chain", c.id.clone())];
            if let Some(h) = c.height {
                self.chain_height.get_or_create(&l).set(h as i64);
            }
            if let Some(t) = c.height_seen_at {
                self.seconds_since_block
                    .get_or_create(&l)
                    .set((now - t).max(0.0));
            }
            if c.validator_address.is_some() {
                let (s0, m0) = last.get(&c.id).copied().unwrap_or((0, 0));
                self.signed
                    .get_or_create(&l)
                    .inc_by(c.signed_total.saturating_sub(s0));
                self.missed
                    .get_or_create(&l)
                    .inc_by(c.missed_total.saturating_sub(m0));
                last.insert(c.id.clone(), (c.signed_total, c.missed_total));
                self.missed_in_a_row
                    .get_or_create(&l)
                    .set(c.missed_in_a_row as i64);
            }
            if c.rounds.to.is_some() {
                let worst = c.rounds.worst().map_or(0, |w| i64::from(w.round));
                self.commit_round_max.get_or_create(&l).set(worst);
                if c.validator_address.is_some() {
                    self.double_sign
                        .get_or_create(&l)
                        .set(i64::from(c.double_sign.is_some()));
                }
            }
            for s in &c.sources {
                let l = vec![("chain", c.id.clone()), ("url", s.url.clone())];
                self.source_up.get_or_create(&l).set(s.healthy as i64);
            }
        }
        for n in &obs.nodes {
            let l = vec![("chain", n.chain.clone()), ("node", n.name.clone())];
            let mut lr = l.clone();
            lr.push(("role", n.role.as_str().to_string()));
            self.node_up.get_or_create(&lr).set(n.up as i64);
            let best = obs.best_height(&n.chain);
            match n.height {
                Some(h) => {
                    self.block_height.get_or_create(&l).set(h as i64);
                    let behind = best.map_or(0, |b| b.saturating_sub(h));
                    self.behind.get_or_create(&l).set(behind as i64);
                }
                None => {
                    self.block_height.remove(&l);
                    self.behind.remove(&l);
                }
            }
            if let Some(p) = n.peers {
                self.peers.get_or_create(&l).set(p as i64);
            }
            if let Some(c) = n.catching_up {
                self.catching_up.get_or_create(&l).set(c as i64);
            }
            if let Some(m) = &n.metrics {
                self.node_metrics_up.get_or_create(&l).set(m.up as i64);
                let f = &m.figures;
                if let Some(r) = f.consensus_rounds {
                    self.consensus_rounds.get_or_create(&l).set(r as i64);
                }
                if let Some(r) = f.missing_power_ratio {
                    self.missing_power.get_or_create(&l).set(r);
                }
                if let Some(t) = f.mempool_txs {
                    self.mempool_txs.get_or_create(&l).set(t as i64);
                }
            }
        }
        for h in &obs.hosts {
            self.host_up
                .get_or_create(&vec![("host", h.name.clone())])
                .set(h.up as i64);
            for fs in &h.filesystems {
                let l = vec![
                    ("host", h.name.clone()),
                    ("mountpoint", fs.mountpoint.clone()),
                ];
                self.fs_used.get_or_create(&l).set(fs.used_ratio);
                match fs.full_in_seconds {
                    Some(t) => {
                        self.fs_full_in.get_or_create(&l).set(t);
                    }
                    None => {
                        self.fs_full_in.remove(&l);
                    }
                }
            }
        }
        self.cosigners(obs);
        self.forget_unwatched(obs);
        let (mut i, mut w, mut c) = (0, 0, 0);
        for a in firing {
            match a.severity {
                Severity::Info => i += 1,
                Severity::Warning => w += 1,
                Severity::Critical => c += 1,
            }
        }
        self.alerts_firing
            .get_or_create(&vec![("severity", "info".into())])
            .set(i);
        self.alerts_firing
            .get_or_create(&vec![("severity", "warning".into())])
            .set(w);
        self.alerts_firing
            .get_or_create(&vec![("severity", "critical".into())])
            .set(c);
    }

    /// Drop the series of chains, nodes, hosts, signers, cosigner groups and chain
    /// sources no longer observed (a reload removed them), so that none shows its last
    /// value for ever.
    fn forget_unwatched(&self, obs: &Observed) {
        use std::collections::HashSet;
        // Watched chains, and the chains cosigners hold shares for (a group's series
        // carry its chain, which need not be a watched [[chain]]).
        let cosigned = obs
            .signers
            .iter()
            .filter_map(|s| s.threshold.as_ref())
            .flat_map(|t| t.chains.iter().map(|c| c.chain.as_str()));
        let chains: HashSet<&str> = obs
            .chains
            .iter()
            .map(|c| c.id.as_str())
            .chain(cosigned)
            .collect();
        let nodes: HashSet<(&str, &str)> = obs
            .nodes
            .iter()
            .map(|n| (n.chain.as_str(), n.name.as_str()))
            .collect();
        let hosts: HashSet<&str> = obs.hosts.iter().map(|h| h.name.as_str()).collect();
        let signers: HashSet<&str> = obs.signers.iter().map(|s| s.name.as_str()).collect();
        let groups: HashSet<&str> = obs
            .signers
            .iter()
            .filter_map(|s| s.cosigners.as_deref())
            .collect();
        let urls: HashSet<(&str, &str)> = obs
            .chains
            .iter()
            .flat_map(|c| {
                let sdk = c
                    .sdk
                    .iter()
                    .flat_map(|s| &s.sources)
                    .map(|s| s.url.as_str());
                c.sources
                    .iter()
                    .map(|s| s.url.as_str())
                    .chain(sdk)
                    .map(|u| (c.id.as_str(), u))
            })
            .collect();
        let keep = |l: &Labels| {
            let get = |k: &str| l.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
            let chain = get("chain");
            chain.is_none_or(|c| chains.contains(c))
                && get("node").is_none_or(|n| nodes.contains(&(chain.unwrap_or_default(), n)))
                && get("host").is_none_or(|h| hosts.contains(h))
                && get("cosigner").is_none_or(|s| signers.contains(s))
                && get("group").is_none_or(|g| groups.contains(g))
                && get("url").is_none_or(|u| urls.contains(&(chain.unwrap_or_default(), u)))
        };
        self.retain(&keep);
    }

    /// Cosigner groups: who answers, what is reachable, round trips.
    fn cosigners(&self, obs: &Observed) {
        for g in crate::state::groups(obs) {
            for c in &g.chains {
                let l = vec![("group", g.name.clone()), ("chain", c.chain.clone())];
                self.cosigners_reachable
                    .get_or_create(&l)
                    .set(c.reachable as i64);
                self.cosigner_threshold
                    .get_or_create(&l)
                    .set(c.threshold as i64);
            }
            for s in &g.members {
                let l = vec![("group", g.name.clone()), ("cosigner", s.name.clone())];
                self.cosigner_up.get_or_create(&l).set(i64::from(s.up));
                for p in s.threshold.iter().flat_map(|t| &t.peers) {
                    let l = vec![("cosigner", s.name.clone()), ("peer", p.peer.clone())];
                    match p.round_trip_seconds.filter(|_| s.up) {
                        Some(r) => {
                            self.cosigner_round_trip.get_or_create(&l).set(r);
                        }
                        None => {
                            self.cosigner_round_trip.remove(&l);
                        }
                    }
                }
            }
        }
    }

    /// Count a heartbeat call.
    pub fn heartbeat(&self, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.heartbeats
            .get_or_create(&vec![("result", result.to_string())])
            .inc();
    }

    /// Count a delivery attempt.
    pub fn notification(&self, channel: &str, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.notifications
            .get_or_create(&vec![
                ("channel", channel.to_string()),
                ("result", result.to_string()),
            ])
            .inc();
    }
}

/// The registry in the Prometheus text format (version 0.0.4), which every
/// Prometheus and `promtool check metrics` read: counter families are named with their
/// `_total` suffix and the OpenMetrics `# EOF` marker is left out.
pub fn render(registry: &Registry) -> String {
    let mut om = String::new();
    prometheus_client::encoding::text::encode(&mut om, registry).expect("writing to a String");
    let counters: Vec<String> = om
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .map(str::to_string)
        .collect();
    let mut out = String::with_capacity(om.len());
    for line in om.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|p| {
            let rest = line.strip_prefix(p)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .iter()
                .any(|c| c == name)
                .then(|| format!("{p}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// Content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{ChainState, NodeState, SourceState};

    fn node(chain: &str, name: &str) -> NodeState {
        NodeState {
            hermes: None,
            name: name.into(),
            chain: chain.into(),
            role: crate::config::Role::Sentry,
            host: None,
            up: true,
            error: None,
            down_since: None,
            catching_up_since: None,
            height: Some(10),
            catching_up: Some(false),
            peers: Some(3),
            seen_at: Some(1.0),
            latency_seconds: None,
            earliest_height: None,
            history: None,
            metrics: None,
        }
    }

    fn chain(id: &str, url: &str) -> ChainState {
        ChainState {
            height: Some(10),
            height_seen_at: Some(1.0),
            ..ChainState::new(id, Some("AA".into()), vec![SourceState::new(url)])
        }
    }

    /// A reload that removes a chain, a node and a chain source: their series go, the
    /// rest stay.
    #[test]
    fn series_of_subjects_no_longer_observed_are_dropped() {
        let mut reg = Registry::default();
        let m = Metrics::register(&mut reg);
        let both = Observed {
            chains: vec![chain("a-1", "http://a"), chain("b-1", "http://b")],
            nodes: vec![node("a-1", "a0"), node("a-1", "a1"), node("b-1", "b0")],
            ..Default::default()
        };
        m.update(&both, std::iter::empty(), 2.0);
        let text = render(&reg);
        for want in [
            "bulwark_watch_chain_height{chain=\"b-1\"} 10",
            "bulwark_watch_node_peers{chain=\"a-1\",node=\"a1\"} 3",
            "bulwark_watch_validator_signed_blocks_total{chain=\"b-1\"}",
            "url=\"http://b\"",
        ] {
            assert!(text.contains(want), "no {want} in\n{text}");
        }
        let after = Observed {
            chains: vec![chain("a-1", "http://a2")],
            nodes: vec![node("a-1", "a0")],
            ..Default::default()
        };
        m.update(&after, std::iter::empty(), 3.0);
        let text = render(&reg);
        for gone in ["chain=\"b-1\"", "node=\"a1\"", "url=\"http://a\""] {
            assert!(!text.contains(gone), "{gone} still in\n{text}");
        }
        for kept in [
            "bulwark_watch_chain_height{chain=\"a-1\"} 10",
            "bulwark_watch_node_peers{chain=\"a-1\",node=\"a0\"} 3",
            "url=\"http://a2\"",
        ] {
            assert!(text.contains(kept), "no {kept} in\n{text}");
        }
    }
}

//! Prometheus metrics (`bulwark_watch_*`), registered in a registry passed in.

use crate::config::Severity;
use crate::engine::alert::Alert;
use crate::state::{Observed, Ts};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;

type Labels = Vec<(&'static str, String)>;
type FGauge = Gauge<f64, AtomicU64>;

/// The watch's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    chain_height: Family<Labels, Gauge>,
    seconds_since_block: Family<Labels, FGauge>,
    missed: Family<Labels, Counter>,
    signed: Family<Labels, Counter>,
    missed_in_a_row: Family<Labels, Gauge>,
    commit_round_max: Family<Labels, Gauge>,
    double_sign: Family<Labels, Gauge>,
    source_up: Family<Labels, Gauge>,
    node_up: Family<Labels, Gauge>,
    block_height: Family<Labels, Gauge>,
    behind: Family<Labels, Gauge>,
    peers: Family<Labels, Gauge>,
    catching_up: Family<Labels, Gauge>,
    node_metrics_up: Family<Labels, Gauge>,
    consensus_rounds: Family<Labels, Gauge>,
    missing_power: Family<Labels, FGauge>,
    mempool_txs: Family<Labels, Gauge>,
    host_up: Family<Labels, Gauge>,
    fs_used: Family<Labels, FGauge>,
    fs_full_in: Family<Labels, FGauge>,
    alerts_firing: Family<Labels, Gauge>,
    cosigner_up: Family<Labels, Gauge>,
    cosigners_reachable: Family<Labels, Gauge>,
    cosigner_threshold: Family<Labels, Gauge>,
    cosigner_round_trip: Family<Labels, FGauge>,
    notifications: Family<Labels, Counter>,
    heartbeats: Family<Labels, Counter>,
    last_totals: Mutex<HashMap<String, (u64, u64)>>,
    sdk: crate::serve::metrics_sdk::SdkMetrics,
}

impl Metrics {
    /// Create the metrics and register them in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let mut m = Self::default();
        let r = registry;
        m.sdk = crate::serve::metrics_sdk::SdkMetrics::register(r);
        r.register(
            "bulwark_watch_chain_height",
            "Latest block height seen on the chain",
            m.chain_height.clone(),
        );
        r.register(
            "bulwark_watch_seconds_since_last_block",
            "Seconds since the latest block's time",
            m.seconds_since_block.clone(),
        );
        r.register(
            "bulwark_watch_validator_missed_blocks",
            "Blocks checked where our validator's signature was absent",
            m.missed.clone(),
        );
        r.register(
            "bulwark_watch_validator_signed_blocks",
            "Blocks checked where our validator signed (commit or nil)",
            m.signed.clone(),
        );
        r.register(
            "bulwark_watch_validator_missed_in_a_row",
            "Our validator's current run of missed blocks",
            m.missed_in_a_row.clone(),
        );
        r.register(
            "bulwark_watch_commit_round_max",
            "Highest round at which one of the chain's recent heights was committed (0 is normal)",
            m.commit_round_max.clone(),
        );
        r.register(
            "bulwark_watch_validator_double_sign_evidence",
            "1 while a recent block carries evidence that our validator signed twice",
            m.double_sign.clone(),
        );
        r.register(
            "bulwark_watch_rpc_source_up",
            "1 when the chain RPC endpoint answers with sane data",
            m.source_up.clone(),
        );
        r.register(
            "bulwark_watch_node_up",
            "1 when the node's RPC answers for the right chain",
            m.node_up.clone(),
        );
        r.register(
            "bulwark_watch_block_height",
            "Latest block height a node reports",
            m.block_height.clone(),
        );
        r.register(
            "bulwark_watch_node_blocks_behind",
            "Blocks this node is behind the best height seen on its chain",
            m.behind.clone(),
        );
        r.register(
            "bulwark_watch_node_peers",
            "Peers a node is connected to",
            m.peers.clone(),
        );
        r.register(
            "bulwark_watch_node_catching_up",
            "1 while a node is syncing",
            m.catching_up.clone(),
        );
        r.register(
            "bulwark_watch_node_metrics_up",
            "1 when the node's own Prometheus metrics answer with sane figures for its chain",
            m.node_metrics_up.clone(),
        );
        r.register(
            "bulwark_watch_node_consensus_rounds",
            "Consensus round the node last finished at one height (0 is normal), from its metrics",
            m.consensus_rounds.clone(),
        );
        r.register(
            "bulwark_watch_node_missing_power_ratio",
            "Share of voting power missing from the last commit, 0..1, from the node's metrics",
            m.missing_power.clone(),
        );
        r.register(
            "bulwark_watch_node_mempool_txs",
            "Transactions in the node's mempool, from its metrics",
            m.mempool_txs.clone(),
        );
        r.register(
            "bulwark_watch_host_up",
            "1 when the host's node_exporter answers",
            m.host_up.clone(),
        );
        r.register(
            "bulwark_watch_filesystem_used_ratio",
            "Share of a filesystem in use, 0 to 1",
            m.fs_used.clone(),
        );
        r.register(
            "bulwark_watch_filesystem_full_in_seconds",
            "Predicted seconds until a filesystem is full (absent when not filling)",
            m.fs_full_in.clone(),
        );
        r.register(
            "bulwark_watch_cosigner_up",
            "1 when a threshold cosigner's metrics answer",
            m.cosigner_up.clone(),
        );
        r.register(
            "bulwark_watch_cosigners_reachable",
            "Most cosigners of a group one answering cosigner reaches, itself included",
            m.cosigners_reachable.clone(),
        );
        r.register(
            "bulwark_watch_cosigner_threshold",
            "Cosigners of a group a signature needs",
            m.cosigner_threshold.clone(),
        );
        r.register(
            "bulwark_watch_cosigner_round_trip_seconds",
            "Mean round trip of a cosigner's share requests to a peer over the last 5 minutes",
            m.cosigner_round_trip.clone(),
        );
        r.register(
            "bulwark_watch_alerts_firing",
            "Alerts firing now",
            m.alerts_firing.clone(),
        );
        r.register(
            "bulwark_watch_notifications",
            "Notification deliveries by channel and result",
            m.notifications.clone(),
        );
        r.register(
            "bulwark_watch_heartbeats",
            "Heartbeat calls by result",
            m.heartbeats.clone(),
        );
        m
    }

    /// Refresh from what was observed and the alerts firing.
    pub fn update<'a>(&self, obs: &Observed, firing: impl Iterator<Item = &'a Alert>, now: Ts) {
        self.sdk.update(obs, now);
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

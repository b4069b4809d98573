//! Node and host collectors.

use crate::collect::exporter::{self, FillHistory};
use crate::collect::rpc::{Rpc, RpcError};
use crate::collect::{hermes, node_metrics};
use crate::config::{HostConfig, NodeConfig};
use crate::state::{FsState, HostState, NodeState, Ts};
use crate::state::{HermesState, NodeMetricsState};
use std::collections::HashMap;
use std::time::Duration;

/// Share of `disk_fill_window` the free-space samples must cover before a time until
/// full is predicted, so a fresh watch on a busy disk does not project a build's
/// burst of writes onto the next day.
const MIN_FILL_SPAN: f64 = 0.25;

/// Checks one node's `/status` and `/net_info`, and scrapes its Prometheus metrics
/// when they are configured.
#[derive(Debug)]
pub struct NodeCollector {
    rpc: Rpc,
    http: reqwest::Client,
    timeout: Duration,
    /// What is known so far.
    pub state: NodeState,
    /// The namespace of its Hermes' metric names.
    hermes_prefix: String,
}

impl NodeCollector {
    /// A collector for `cfg` reading through `rpc`, and its metrics through `http`.
    pub fn new(cfg: &NodeConfig, rpc: Rpc, http: reqwest::Client, timeout: Duration) -> Self {
        Self {
            rpc,
            http,
            timeout,
            state: NodeState {
                name: cfg.name.clone(),
                chain: cfg.chain.clone(),
                role: cfg.role,
                host: cfg.host.clone(),
                up: false,
                error: Some("not read yet".into()),
                down_since: None,
                catching_up_since: None,
                height: None,
                catching_up: None,
                peers: None,
                seen_at: None,
                latency_seconds: None,
                earliest_height: None,
                history: cfg.history,
                metrics: cfg.metrics.as_deref().map(NodeMetricsState::new),
                hermes: cfg.hermes.as_deref().map(HermesState::new),
            },
            hermes_prefix: cfg.hermes_prefix.clone().unwrap_or_default(),
        }
    }

    /// One poll.
    pub async fn poll(&mut self, now: Ts) {
        // The metrics are read alongside the RPC, so a slow one does not delay the other.
        let metrics = async {
            let url = &self.state.metrics.as_ref()?.url;
            let text = crate::collect::rpc::get_text(&self.http, url, self.timeout).await;
            Some(text.and_then(|t| node_metrics::read(&exporter::parse(&t), &self.state.chain)))
        };
        let hermes = async {
            let url = &self.state.hermes.as_ref()?.url;
            let text = crate::collect::rpc::get_text(&self.http, url, self.timeout).await;
            Some(text.and_then(|t| hermes::read(&exporter::parse(&t), &self.hermes_prefix)))
        };
        let rpc = async {
            let t0 = std::time::Instant::now();
            let s = self.rpc.status().await?;
            let latency = t0.elapsed().as_secs_f64();
            if s.network != self.state.chain {
                return Err(RpcError::WrongChain {
                    expected: self.state.chain.clone(),
                    got: s.network,
                });
            }
            let peers = self.rpc.peers().await?;
            Ok((s, peers, latency))
        };
        let (metrics, hermes, res) = tokio::join!(metrics, hermes, rpc);
        if let (Some(m), Some(res)) = (self.state.metrics.as_mut(), metrics) {
            m.record(res, now);
        }
        if let (Some(h), Some(res)) = (self.state.hermes.as_mut(), hermes) {
            h.record(res, now);
        }
        let st = &mut self.state;
        match res {
            Ok((s, peers, latency)) => {
                st.up = true;
                st.error = None;
                st.down_since = None;
                st.height = Some(s.height);
                st.latency_seconds = Some(latency);
                st.earliest_height = s.earliest_height;
                st.catching_up = Some(s.catching_up);
                if !s.catching_up {
                    st.catching_up_since = None;
                } else if st.catching_up_since.is_none() {
                    st.catching_up_since = Some(now);
                }
                st.peers = Some(peers);
                st.seen_at = Some(now);
            }
            Err(e) => {
                if st.up || st.down_since.is_none() {
                    st.down_since = Some(now);
                }
                st.up = false;
                st.error = Some(e.to_string());
                st.height = None;
                st.catching_up = None;
                st.catching_up_since = None;
                st.peers = None;
                st.latency_seconds = None;
            }
        }
    }
}

/// Scrapes one host's node_exporter.
#[derive(Debug)]
pub struct HostCollector {
    cfg: HostConfig,
    http: reqwest::Client,
    timeout: Duration,
    window: f64,
    history: HashMap<String, FillHistory>,
    /// What is known so far.
    pub state: HostState,
}

impl HostCollector {
    /// A collector for `cfg`; disk-fill predictions use samples from the last `window`.
    pub fn new(
        cfg: HostConfig,
        http: reqwest::Client,
        timeout: Duration,
        window: Duration,
    ) -> Self {
        let state = HostState {
            name: cfg.name.clone(),
            remote: cfg.node_exporter.is_some(),
            up: false,
            error: Some("not read yet".into()),
            down_since: None,
            filesystems: vec![],
            load_per_cpu: None,
            memory_used_ratio: None,
            snapshots: vec![],
        };
        Self {
            cfg,
            http,
            timeout,
            window: window.as_secs_f64(),
            history: HashMap::new(),
            state,
        }
    }

    /// The host's figures: from its node_exporter, or read locally without one.
    async fn read(&self) -> Result<exporter::HostMetrics, String> {
        let Some(url) = &self.cfg.node_exporter else {
            return crate::collect::localhost::read(&self.cfg.mountpoints);
        };
        let text = crate::collect::rpc::get_text(&self.http, url, self.timeout).await?;
        let m = exporter::host_metrics(&exporter::parse(&text), &self.cfg.mountpoints);
        if m.filesystems.is_empty() && m.load1.is_none() && m.memory_used_ratio.is_none() {
            return Err(
                "no node_exporter metrics in the response; is the URL a node_exporter /metrics?"
                    .into(),
            );
        }
        Ok(m)
    }

    /// One poll.
    pub async fn poll(&mut self, now: Ts) {
        let m = self.read().await;
        let st = &mut self.state;
        match m {
            Ok(m) => {
                st.up = true;
                st.error = None;
                st.down_since = None;
                st.load_per_cpu = m.load1.filter(|_| m.cpus > 0).map(|l| l / m.cpus as f64);
                st.memory_used_ratio = m.memory_used_ratio;
                st.snapshots = m.snapshots.clone();
                st.filesystems = m
                    .filesystems
                    .iter()
                    .map(|fs| {
                        let h = self.history.entry(fs.mountpoint.clone()).or_default();
                        h.push(now, fs.avail_bytes, self.window);
                        FsState {
                            mountpoint: fs.mountpoint.clone(),
                            size_bytes: fs.size_bytes,
                            avail_bytes: fs.avail_bytes,
                            used_ratio: ((fs.size_bytes - fs.avail_bytes) / fs.size_bytes)
                                .clamp(0.0, 1.0),
                            full_in_seconds: h.seconds_until_full(self.window * MIN_FILL_SPAN),
                        }
                    })
                    .collect();
            }
            Err(e) => {
                if st.up || st.down_since.is_none() {
                    st.down_since = Some(now);
                }
                st.up = false;
                st.error = Some(e);
            }
        }
    }
}

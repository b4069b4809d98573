//! Scrapes a `bulwark signer`'s metrics: node connections and refusals, and for a
//! threshold cosigner its `bulwark_threshold_*` figures ([`crate::collect::cosigner`]).

use crate::collect::cosigner::CosignerTracker;
use crate::collect::exporter;
use crate::config::SignerConfig;
use crate::state::{SignerNodeState, SignerState, Ts};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// Refusals older than this no longer count.
const REFUSAL_WINDOW: f64 = 600.0;

/// Follows one signer.
#[derive(Debug)]
pub struct SignerCollector {
    url: String,
    http: reqwest::Client,
    timeout: Duration,
    reasons: Vec<String>,
    last_refusals: Option<f64>,
    refusals: VecDeque<(Ts, f64)>,
    cosigner: CosignerTracker,
    /// What is known so far.
    pub state: SignerState,
}

impl SignerCollector {
    /// A collector for `cfg`, counting refusals with one of `reasons`.
    pub fn new(
        cfg: &SignerConfig,
        reasons: Vec<String>,
        http: reqwest::Client,
        timeout: Duration,
    ) -> Self {
        Self {
            url: cfg.metrics_url.clone(),
            reasons,
            http,
            timeout,
            last_refusals: None,
            refusals: VecDeque::new(),
            cosigner: CosignerTracker::default(),
            state: SignerState {
                name: cfg.name.clone(),
                host: cfg.host.clone(),
                up: false,
                error: Some("not read yet".into()),
                down_since: None,
                nodes: vec![],
                recent_refusals: 0,
                sealed: BTreeMap::new(),
                cosigners: cfg.cosigners.clone(),
                peer_name: cfg.peer_name().to_string(),
                threshold: None,
            },
        }
    }

    async fn scrape(&self) -> Result<String, String> {
        crate::collect::rpc::get_text(&self.http, &self.url, self.timeout).await
    }

    /// One poll.
    pub async fn poll(&mut self, now: Ts) {
        let samples = self.scrape().await.map(|t| exporter::parse(&t));
        let st = &mut self.state;
        let samples = match samples {
            Ok(s)
                if s.iter().any(|s| {
                    s.name.starts_with("bulwark_signer_")
                        || s.name.starts_with("bulwark_threshold_")
                }) =>
            {
                s
            }
            other => {
                if st.up || st.down_since.is_none() {
                    st.down_since = Some(now);
                }
                st.up = false;
                st.error = Some(match other {
                    Err(e) => e,
                    Ok(_) => "no bulwark_signer_ metrics in the response; is the URL the signer's /metrics?".into(),
                });
                return;
            }
        };
        st.up = true;
        st.error = None;
        st.down_since = None;
        st.threshold = self.cosigner.read(&samples, st.threshold.as_ref(), now);
        let mut connected: BTreeMap<(String, String), bool> = BTreeMap::new();
        let mut refusals = 0.0;
        let mut sealed = BTreeMap::new();
        for s in &samples {
            let label = |k: &str| s.labels.get(k).cloned().unwrap_or_default();
            match s.name.as_str() {
                "bulwark_signer_node_connected" => {
                    connected.insert((label("chain"), label("node")), s.value >= 1.0);
                }
                "bulwark_signer_refusals_total" if self.reasons.contains(&label("reason")) => {
                    refusals += s.value
                }
                "bulwark_signer_vault_sealed" => {
                    let chain = label("chain");
                    let since = (s.value >= 1.0)
                        .then(|| st.sealed.get(&chain).copied().flatten().unwrap_or(now));
                    sealed.insert(chain, since);
                }
                _ => {}
            }
        }
        st.sealed = sealed;
        let old = std::mem::take(&mut st.nodes);
        st.nodes = connected
            .into_iter()
            .map(|((chain, node), connected)| {
                let prev = old.iter().find(|n| n.chain == chain && n.node == node);
                let disconnected_since = if connected {
                    None
                } else {
                    Some(prev.and_then(|p| p.disconnected_since).unwrap_or(now))
                };
                SignerNodeState {
                    chain,
                    node,
                    connected,
                    disconnected_since,
                }
            })
            .collect();
        // Counter increases; a restart of the signer (counter going down) starts over.
        if let Some(last) = self.last_refusals {
            let delta = if refusals >= last {
                refusals - last
            } else {
                refusals
            };
            if delta > 0.0 {
                self.refusals.push_back((now, delta));
            }
        }
        self.last_refusals = Some(refusals);
        while self
            .refusals
            .front()
            .is_some_and(|(t, _)| now - t > REFUSAL_WINDOW)
        {
            self.refusals.pop_front();
        }
        st.recent_refusals = self.refusals.iter().map(|(_, d)| *d).sum::<f64>() as u64;
    }
}

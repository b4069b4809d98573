//! Polls a chain's Cosmos SDK endpoints (REST, or RPC by ABCI query): every endpoint's
//! latest block (right chain, not far behind), then our signing info and validator from
//! the first healthy endpoint in configured order, failing over to the next when one
//! answers badly. The slashing parameters and the upgrade plan, which change only by
//! governance, are read with the slow part (every `sdk_slow_interval`, and at the first
//! poll). Nothing is read from an endpoint that fails its checks, so a bad
//! source can raise `source_unhealthy`, never a false jail or miss alert.

use crate::collect::sdk::slow::Slow;
use crate::collect::sdk::source::{Head, Reply, SdkError, Source};
use crate::config::ChainConfig;
use crate::sdk::Via;
use crate::sdk::{SigningInfo, SlashingParams, UpgradePlan, Validator};
use crate::state::SdkState;
use crate::state::{SourceState, Ts};
use std::collections::VecDeque;

/// An endpoint this many blocks behind the best one is not read from.
const MAX_LAG: u64 = 20;
/// Block time and counter rate are measured over about this many blocks.
const SPAN: u64 = 100;

/// What one endpoint answered.
#[derive(Debug, Default)]
struct Read {
    signing: Option<SigningInfo>,
    validator: Option<Validator>,
    oracle: Option<crate::sdk::Oracle>,
    /// The governance-set part, when this read was due for it.
    rare: Option<Rare>,
    unavailable: Vec<String>,
    not_found: Vec<String>,
}

/// What changes only by governance: the slashing parameters and the upgrade plan.
#[derive(Debug, Default, Clone)]
struct Rare {
    params: Option<SlashingParams>,
    plan: Option<UpgradePlan>,
    /// The modules of these two that the endpoint does not serve.
    unavailable: Vec<String>,
}

fn note_unavailable(list: &mut Vec<String>, module: &str) {
    if !list.iter().any(|m| m == module) {
        list.push(module.to_string());
    }
}

impl Read {
    fn unavailable(&mut self, module: &str) {
        note_unavailable(&mut self.unavailable, module);
    }
}

/// Follows one chain's Cosmos SDK data.
#[derive(Debug)]
pub struct SdkCollector {
    chain_id: String,
    sources: Vec<Source>,
    /// (height, header time) of recent blocks.
    times: VecDeque<(u64, Ts)>,
    /// (height, missed_blocks_counter) of recent reads.
    counters: VecDeque<(u64, u64)>,
    /// An older block was read once to measure the block time at start.
    looked_back: bool,
    /// Governance, wallets and standing, read every `sdk_slow_interval`.
    slow: Slow,
    /// Where to put the consensus address found from the validator's record, when the
    /// config does not give it, and the chain's account prefix for its bech32 form.
    resolve: Option<(crate::collect::ResolvedAddress, String)>,
    /// The REST path of the chain's price-oracle module, when configured.
    oracle: Option<String>,
    /// The modules of the last governance-set read that were not served.
    rare_unavailable: Vec<String>,
    /// What is known so far.
    pub state: SdkState,
}

impl SdkCollector {
    /// A collector for `cfg`, reading through `sources` (in failover order), all of
    /// one kind, `via`.
    pub fn new(cfg: &ChainConfig, via: Via, sources: Vec<Source>) -> Self {
        let urls: Vec<String> = sources.iter().map(|r| r.url().to_string()).collect();
        let slow = Slow::new(cfg);
        let mut state = SdkState::new(
            via,
            &urls,
            cfg.operator_address.clone(),
            crate::sdk::consensus_address(cfg),
        );
        state.slow = slow.initial();
        Self {
            chain_id: cfg.id.clone(),
            sources,
            times: VecDeque::new(),
            counters: VecDeque::new(),
            looked_back: false,
            slow,
            resolve: None,
            oracle: cfg.oracle.as_ref().map(|o| o.prefix.clone()),
            rare_unavailable: Vec::new(),
            state,
        }
    }

    /// Find our validator's consensus address from its staking record and hand it to
    /// `cell` (the config gives `operator_address` but not `validator_address`).
    pub fn resolving(mut self, cfg: &ChainConfig, cell: crate::collect::ResolvedAddress) -> Self {
        if cfg.validator_address.is_none() {
            if let Some(prefix) = crate::sdk::account_prefix(cfg) {
                self.resolve = Some((cell, prefix));
            }
        }
        self
    }

    /// The consensus address from the validator's record, once (again when its key
    /// changes).
    fn resolve_address(&mut self, v: &crate::sdk::Validator) {
        let (Some((cell, prefix)), Some(key)) = (&self.resolve, &v.consensus_pubkey) else {
            return;
        };
        match key.address() {
            Ok(hex) => {
                let mut c = cell.lock().unwrap_or_else(|p| p.into_inner());
                if c.as_deref() != Some(hex.as_str()) {
                    tracing::info!(chain = %self.chain_id, operator = %v.operator_address, "our validator's consensus address is {hex}, from its staking record");
                    self.state.consensus_address = crate::bech32::hex_bytes(&hex)
                        .map(|b| crate::bech32::encode(&format!("{prefix}valcons"), &b));
                    *c = Some(hex);
                }
            }
            Err(e) => {
                if self.state.consensus_address.is_none() {
                    tracing::warn!(chain = %self.chain_id, operator = %v.operator_address, "cannot tell our validator's consensus address: {e}");
                }
            }
        }
    }

    /// One poll.
    pub async fn poll(&mut self, now: Ts) {
        let mut heads: Vec<(usize, Head)> = Vec::new();
        for i in 0..self.sources.len() {
            let res = self.sources[i].head().await.and_then(|h| {
                if h.chain_id == self.chain_id {
                    Ok(h)
                } else {
                    Err(SdkError::WrongChain {
                        expected: self.chain_id.clone(),
                        got: h.chain_id,
                    })
                }
            });
            match res {
                Ok(h) => {
                    self.mark(i, None, now);
                    heads.push((i, h));
                }
                Err(e) => self.mark(i, Some(e), now),
            }
        }
        let best = heads.iter().map(|(_, h)| h.height).max().unwrap_or(0);
        let mut read = false;
        for (i, head) in heads {
            if best - head.height > MAX_LAG {
                let e = SdkError::Behind {
                    behind: best - head.height,
                    height: head.height,
                    best,
                };
                self.mark(i, Some(e), now);
                continue;
            }
            if read {
                continue;
            }
            let rare = self.slow.due(now);
            match self.read(i, head.height, rare).await {
                Ok(r) => {
                    self.apply(i, &head, r, now).await;
                    read = true;
                    if self.slow.due(now) {
                        let src = &self.sources[i];
                        self.slow.read(src, &mut self.state.slow, now).await;
                    }
                }
                Err(e) => self.mark(i, Some(e), now),
            }
        }
        self.state.fresh = read;
        // A source stays unhealthy until a whole poll (head and data) succeeds.
        self.state.sources.iter_mut().for_each(SourceState::settle);
    }

    fn mark(&mut self, i: usize, err: Option<SdkError>, now: Ts) {
        let s = &mut self.state.sources[i];
        if let Some(e) = &err {
            tracing::debug!(chain = %self.chain_id, url = %s.url, "Cosmos SDK source unhealthy: {e}");
        }
        s.record(err.map(|e| e.to_string()), now);
    }

    /// Every query from endpoint `i` (with the governance-set part when `rare`).
    async fn read(&self, i: usize, height: u64, rare: bool) -> Result<Read, SdkError> {
        let src = &self.sources[i];
        let mut r = Read::default();
        if rare {
            let mut g = Rare::default();
            match src.slashing_params().await? {
                Reply::Data(p) => g.params = Some(p),
                Reply::Unavailable | Reply::NotFound(_) => {
                    note_unavailable(&mut g.unavailable, "slashing")
                }
            }
            match src.upgrade_plan().await? {
                Reply::Data(p) => g.plan = p,
                Reply::Unavailable | Reply::NotFound(_) => {
                    note_unavailable(&mut g.unavailable, "upgrade")
                }
            }
            r.rare = Some(g);
        }
        if let Some(addr) = &self.state.consensus_address {
            match src.signing_info(addr).await? {
                Reply::Data(s) => r.signing = Some(s),
                Reply::Unavailable => r.unavailable("slashing"),
                Reply::NotFound(m) => r.not_found.push(format!("signing info: {m}")),
            }
        }
        if let Some(op) = &self.state.operator_address {
            match src.validator(op).await? {
                Reply::Data(v) => r.validator = Some(v),
                Reply::Unavailable => r.unavailable("staking"),
                Reply::NotFound(m) => r.not_found.push(format!("validator: {m}")),
            }
        }
        if let (Some(prefix), Some(op), Source::Rest(rest)) =
            (&self.oracle, &self.state.operator_address, src)
        {
            match super::oracle::read(rest, prefix, op, height).await? {
                Reply::Data(o) => r.oracle = Some(o),
                Reply::Unavailable => r.unavailable("oracle"),
                Reply::NotFound(m) => r.not_found.push(format!("oracle: {m}")),
            }
        }
        Ok(r)
    }

    /// Keep what endpoint `i` answered.
    async fn apply(&mut self, i: usize, head: &Head, mut r: Read, now: Ts) {
        let st = &mut self.state;
        st.updated_at = Some(now);
        st.height = Some(head.height);
        if self.times.back().is_none_or(|(h, _)| head.height > *h) {
            self.times.push_back((head.height, head.time));
        }
        if !self.looked_back && head.height > 1 {
            // One older header gives the block time at once instead of after SPAN blocks.
            self.looked_back = true;
            let back = head.height.saturating_sub(SPAN).max(1);
            match self.sources[i].head_at(back).await {
                Ok(old) if old.height == back && old.time < head.time => {
                    self.times.push_front((old.height, old.time));
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(chain = %self.chain_id, "no block {back} for the block time: {e}")
                }
            }
        }
        trim(&mut self.times, head.height);
        st.block_time_seconds = match (self.times.front(), self.times.back()) {
            (Some((h0, t0)), Some((h1, t1))) if h1 > h0 && t1 > t0 => {
                Some((t1 - t0) / (h1 - h0) as f64)
            }
            _ => st.block_time_seconds,
        };
        match &r.signing {
            Some(s) => {
                if self
                    .counters
                    .back()
                    .is_some_and(|(_, c)| s.missed_blocks_counter + 1 < *c)
                {
                    // The counter was reset (a jail): start over.
                    self.counters.clear();
                }
                if self.counters.back().is_none_or(|(h, _)| head.height > *h) {
                    self.counters
                        .push_back((head.height, s.missed_blocks_counter));
                }
                trim(&mut self.counters, head.height);
                st.counter_miss_rate = match (self.counters.front(), self.counters.back()) {
                    (Some((h0, c0)), Some((h1, c1))) if h1 >= &(h0 + 5) => {
                        Some((c1.saturating_sub(*c0) as f64 / (h1 - h0) as f64).min(1.0))
                    }
                    _ => None,
                };
            }
            None => {
                self.counters.clear();
                st.counter_miss_rate = None;
            }
        }
        st.inactive_since = match &r.validator {
            Some(v) if !v.bonded() && !v.jailed => Some(st.inactive_since.unwrap_or(now)),
            _ => None,
        };
        self.slow
            .commission(r.validator.as_ref(), &mut st.slow, now);
        if let Some(v) = &r.validator {
            self.resolve_address(v);
        }
        if let Some(g) = r.rare.take() {
            self.state.slashing_params = g.params;
            self.state.upgrade_plan = g.plan;
            self.rare_unavailable = g.unavailable;
        }
        for m in &self.rare_unavailable {
            note_unavailable(&mut r.unavailable, m);
        }
        let st = &mut self.state;
        st.signing_info = r.signing;
        st.validator = r.validator;
        st.oracle = r.oracle;
        st.unavailable = r.unavailable;
        st.not_found = r.not_found;
    }
}

/// Drop samples older than needed to span [`SPAN`] blocks back from `latest`.
fn trim<T>(q: &mut VecDeque<(u64, T)>, latest: u64) {
    while q.len() > 2
        && q.get(1)
            .is_some_and(|(h, _)| latest.saturating_sub(*h) >= SPAN)
    {
        q.pop_front();
    }
}

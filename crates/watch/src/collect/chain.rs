//! Follows one chain: the latest height over failover RPC endpoints, and every new
//! block's commit for our validator's signature, backfilling heights missed between polls.

use crate::collect::rpc::{Block, Rpc, RpcError};
use crate::config::ChainConfig;
use crate::state::{ChainState, GridEntry, Sign, SourceState, Ts};
use std::collections::{BTreeMap, HashMap};

/// An endpoint more blocks than this behind the best one is not read from.
const MAX_SOURCE_LAG: u64 = 5;

/// Follows one chain.
#[derive(Debug)]
pub struct ChainCollector {
    cfg: ChainConfig,
    rpcs: Vec<Rpc>,
    /// Next block to read (its last_commit is for the height below).
    next: Option<u64>,
    /// validators_hash of recent heights.
    hashes: BTreeMap<u64, String>,
    /// Our index in the validator set with that hash (`None`: not in the set).
    index_by_hash: HashMap<String, Option<usize>>,
    /// The endpoint blocks were last read from.
    in_use: Option<usize>,
    /// The last block read and its proposer (its commit round comes with the next).
    prev_proposer: Option<(u64, String)>,
    /// Our validator's address as the chain's SDK collector finds it, when the config
    /// does not give it.
    resolved: Option<super::ResolvedAddress>,
    /// What is known so far.
    pub state: ChainState,
}

impl ChainCollector {
    /// A collector for `cfg`, reading through `rpcs` (one per `cfg.rpc`, same order).
    pub fn new(cfg: ChainConfig, rpcs: Vec<Rpc>) -> Self {
        let state = ChainState::new(
            &cfg.id,
            cfg.validator_address
                .as_ref()
                .map(|a| a.to_ascii_uppercase()),
            rpcs.iter().map(|r| SourceState::new(r.url())).collect(),
        );
        Self {
            cfg,
            rpcs,
            next: None,
            hashes: BTreeMap::new(),
            index_by_hash: HashMap::new(),
            in_use: None,
            prev_proposer: None,
            resolved: None,
            state,
        }
    }

    /// Take our validator's address from `cell` once the SDK collector finds it.
    pub fn resolving(mut self, cell: super::ResolvedAddress) -> Self {
        self.resolved = Some(cell);
        self
    }

    /// Our validator's address from the SDK collector, when it found one (or a new one:
    /// a rotated consensus key). Commits are checked for it from the next block on.
    fn take_resolved(&mut self) {
        let Some(cell) = &self.resolved else { return };
        let found = cell.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if found.is_some() && found != self.state.validator_address {
            self.state.validator_address = found;
            self.index_by_hash.clear();
        }
    }

    /// One poll: read every endpoint's status, then the new blocks.
    pub async fn poll(&mut self, now: Ts) {
        self.take_resolved();
        let mut heads: Vec<(usize, u64, Option<f64>)> = Vec::new();
        for i in 0..self.rpcs.len() {
            let res = self.rpcs[i].status().await.and_then(|s| {
                if s.network == self.cfg.id {
                    Ok(s)
                } else {
                    Err(RpcError::WrongChain {
                        expected: self.cfg.id.clone(),
                        got: s.network,
                    })
                }
            });
            match res {
                Ok(s) => {
                    self.mark(i, None, now);
                    heads.push((i, s.height, s.block_time_unix()));
                }
                Err(e) => self.mark(i, Some(e), now),
            }
        }
        // Failover: the first endpoint, in configured order, whose blocks can be read;
        // then a later one only when it is well ahead and its blocks can be read too (a
        // stuck endpoint would hide new blocks and misses; one that only claims a
        // height far ahead cannot be read at that height and is not believed).
        let mut used: Option<(usize, u64)> = None;
        for (i, latest, block_time) in heads {
            let checks_blocks = self.state.validator_address.is_some();
            if used.is_some_and(|(_, h)| !checks_blocks || latest <= h + MAX_SOURCE_LAG) {
                continue;
            }
            if checks_blocks && !self.read_blocks(i, latest, now).await {
                continue;
            }
            if let Some((j, height)) = used {
                let behind = RpcError::Behind {
                    height,
                    best: latest,
                };
                self.mark(j, Some(behind), now);
            }
            if self.state.height.is_none_or(|h| latest > h) {
                self.state.height = Some(latest);
                // The block's own time, so a restart does not hide a stall.
                self.state.height_seen_at = Some(block_time.map_or(now, |t| t.min(now)));
                self.state.height_observed_at = Some(now);
            }
            used = Some((i, latest));
            self.in_use = Some(i);
        }
        // A source stays unhealthy until a whole poll (status and blocks) succeeds.
        self.state.sources.iter_mut().for_each(SourceState::settle);
    }

    /// Take blocks pushed by the websocket. True when every one was read (or was
    /// already known), so nothing is left to poll for; false when a poll must read
    /// instead: the watch has not read the chain yet, a height is missing, or a block
    /// does not fit (another chain, a wrong commit) or its signers cannot be told.
    pub async fn take_fed(&mut self, blocks: Vec<Block>, now: Ts) -> bool {
        let (Some(mut next), Some(src)) = (self.next, self.in_use) else {
            return false;
        };
        if self.state.validator_address.is_none() || blocks.is_empty() {
            return false;
        }
        for block in blocks {
            if block.height < next {
                continue;
            }
            let h = block.height;
            if h > next || block.chain_id != self.cfg.id || block.last_commit.height + 1 != h {
                return false;
            }
            self.read_turns(src, &block).await;
            self.read_consensus(&block);
            if h > 1 {
                let Some(sign) = self.our_sign(src, &block, now).await else {
                    return false;
                };
                self.record(h - 1, sign);
            }
            self.hashes.insert(h, block.validators_hash.clone());
            while self.hashes.len() > 8 {
                self.hashes.pop_first();
            }
            next = h + 1;
            self.next = Some(next);
            if self.state.height.is_none_or(|cur| h > cur) {
                self.state.height = Some(h);
                self.state.height_seen_at = Some(block.time_unix().map_or(now, |t| t.min(now)));
                self.state.height_observed_at = Some(now);
            }
        }
        true
    }

    fn mark(&mut self, i: usize, err: Option<RpcError>, now: Ts) {
        let s = &mut self.state.sources[i];
        if let Some(e) = &err {
            tracing::debug!(chain = %self.cfg.id, url = %s.url, "RPC source unhealthy: {e}");
        }
        s.record(err.map(|e| e.to_string()), now);
    }

    /// Read new blocks from endpoint `i` up to `latest`; false when its first block
    /// could not be read (the endpoint is then marked unhealthy).
    async fn read_blocks(&mut self, i: usize, latest: u64, now: Ts) -> bool {
        // At start, read back far enough to know the current run of misses.
        let mut next = self
            .next
            .unwrap_or_else(|| (latest + 1).saturating_sub(self.cfg.max_backfill).max(1));
        if latest >= next && latest - next + 1 > self.cfg.max_backfill {
            let skip_to = latest + 1 - self.cfg.max_backfill;
            tracing::warn!(chain = %self.cfg.id, "{} heights behind; skipping {next}..{skip_to}", latest - next);
            next = skip_to;
        }
        let start = next;
        while next <= latest {
            let Some(block) = self.fetch(i, next, now).await else {
                break;
            };
            self.read_turns(i, &block).await;
            self.read_consensus(&block);
            if next > 1 {
                let Some(sign) = self.our_sign(i, &block, now).await else {
                    break;
                };
                self.record(next - 1, sign);
            }
            self.hashes.insert(next, block.validators_hash);
            while self.hashes.len() > 8 {
                self.hashes.pop_first();
            }
            next += 1;
        }
        // Move on only past blocks actually read, so an endpoint that claims a height
        // far ahead cannot make the collector skip real blocks.
        if next > start {
            self.next = Some(next);
        }
        next > start || start > latest
    }

    /// Block `h` from endpoint `i`, if it gives a sane one.
    async fn fetch(&mut self, i: usize, h: u64, now: Ts) -> Option<Block> {
        let res = self.rpcs[i].block(h).await.and_then(|b| {
            if b.chain_id != self.cfg.id {
                Err(RpcError::WrongChain {
                    expected: self.cfg.id.clone(),
                    got: b.chain_id,
                })
            } else if b.last_commit.height + 1 != h && h > 1 {
                Err(RpcError::Garbage(format!(
                    "block {h} carries the commit of height {}",
                    b.last_commit.height
                )))
            } else {
                Ok(b)
            }
        });
        match res {
            Ok(b) => Some(b),
            Err(e) => {
                self.mark(i, Some(e), now);
                None
            }
        }
    }

    /// Our validator in the commit that `block` carries, or `None` if it cannot be
    /// told (the validator set could not be read).
    async fn our_sign(&mut self, src: usize, block: &Block, now: Ts) -> Option<Sign> {
        let addr = self.state.validator_address.clone()?;
        let sigs = &block.last_commit.signatures;
        if let Some(s) = sigs.iter().find(|s| s.address == addr) {
            return Some(if s.flag == comet::FLAG_ABSENT {
                Sign::Missed
            } else {
                Sign::Signed
            });
        }
        // Absent signatures carry no address: find our slot in the validator set.
        let h = block.height - 1;
        let hash = self.hashes.get(&h).cloned();
        let index = match hash.as_ref().and_then(|k| self.index_by_hash.get(k)) {
            Some(i) => *i,
            None => {
                let vals = match self.rpcs[src].validators(h).await {
                    Ok(v) => v,
                    Err(e) => {
                        self.mark(src, Some(e), now);
                        return None;
                    }
                };
                let i = vals.iter().position(|v| v.address == addr);
                if let Some(k) = hash {
                    self.index_by_hash.insert(k, i);
                }
                i
            }
        };
        Some(match index {
            None => Sign::NotInSet,
            Some(i) => match sigs.get(i) {
                Some(s) if s.flag == comet::FLAG_ABSENT => Sign::Missed,
                None => Sign::Missed,
                Some(s) if s.address.is_empty() || s.address == addr => Sign::Signed,
                Some(_) => Sign::Missed,
            },
        })
    }

    /// Whether our validator missed its turn to propose the height below `block`: that
    /// height was committed in a later round than the one our validator was to propose.
    /// A lookup that fails or cannot be backed is left out (logged), never guessed.
    async fn read_turns(&mut self, src: usize, block: &Block) {
        let (Some(ours), Some((h, proposer)), Some(round)) = (
            self.state.validator_address.clone(),
            self.prev_proposer.clone(),
            block.last_commit.round,
        ) else {
            return;
        };
        if h + 1 != block.height || round == 0 {
            return;
        }
        match super::turns::missed_turn(&self.rpcs[src], h, round, &proposer, &ours).await {
            Ok(Some(true)) => {
                self.state
                    .production
                    .record_missed_turn(h, round, self.cfg.grid_blocks)
            }
            Ok(Some(false)) => {}
            Ok(None) => {
                tracing::debug!(chain = %self.cfg.id, height = h, round, "proposers of the earlier rounds cannot be told (the validator set changed)")
            }
            Err(e) => {
                tracing::debug!(chain = %self.cfg.id, height = h, "cannot read the validator sets for the proposers: {e}")
            }
        }
    }

    /// Keep the round at which `block`'s commit was made, and any evidence in it that
    /// our validator signed twice (forgotten `grid_blocks` blocks later).
    fn read_consensus(&mut self, block: &Block) {
        let window = self.cfg.grid_blocks as u64;
        if let (Some(r), true) = (block.last_commit.round, block.height > 1) {
            self.state.rounds.record(block.height - 1, r, window);
        }
        let s = &mut self.state;
        let ours = s
            .validator_address
            .as_ref()
            .is_some_and(|a| *a == block.proposer_address);
        s.production
            .record(block.height, ours, block.num_txs, self.cfg.grid_blocks);
        self.prev_proposer = Some((block.height, block.proposer_address.clone()));
        if let Some(ours) = &s.validator_address {
            if let Some(o) = block.evidence.iter().find(|o| o.address == *ours) {
                s.double_sign = Some(crate::state::DoubleSign {
                    height: o.height,
                    block: block.height,
                });
            }
        }
        if s.double_sign
            .is_some_and(|d| block.height.saturating_sub(d.block) >= window)
        {
            s.double_sign = None;
        }
    }

    fn record(&mut self, height: u64, sign: Sign) {
        let s = &mut self.state;
        match sign {
            Sign::Signed => {
                s.signed_total += 1;
                s.missed_in_a_row = 0;
            }
            Sign::Missed => {
                s.missed_total += 1;
                s.missed_in_a_row += 1;
            }
            Sign::NotInSet => s.missed_in_a_row = 0,
        }
        s.checked_height = Some(height);
        s.grid.push_back(GridEntry { height, sign });
        while s.grid.len() > self.cfg.grid_blocks {
            s.grid.pop_front();
        }
    }
}

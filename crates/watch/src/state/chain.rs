//! A chain as observed: its blocks, our validator's signatures, its RPC endpoints.

use crate::time::Ts;
use serde::Serialize;
use std::collections::VecDeque;

/// How our validator did in one block's commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sign {
    /// Committed, or voted nil (the Cosmos SDK counts nil as signed).
    Signed,
    /// Absent from the commit: a missed block.
    Missed,
    /// Not in the validator set at that height.
    NotInSet,
}

/// The rounds recent heights needed to commit, from the blocks' commits (every height
/// read, whether or not our validator is configured).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CommitRounds {
    /// The last height whose commit round was read.
    pub to: Option<u64>,
    /// Heights of the window that needed more than round 0, with that round, oldest
    /// first.
    pub slow: VecDeque<SlowHeight>,
}

/// Evidence in a block that our validator signed twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DoubleSign {
    /// The height at which it signed twice.
    pub height: u64,
    /// The block that carries the evidence.
    pub block: u64,
}

/// A height committed after round 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SlowHeight {
    /// The height.
    pub height: u64,
    /// The round at which it was committed.
    pub round: u32,
}

impl CommitRounds {
    /// Record that `height` was committed at `round`, keeping the last `window` heights.
    /// A height already recorded is ignored.
    pub fn record(&mut self, height: u64, round: u32, window: u64) {
        if self.to.is_some_and(|t| height <= t) {
            return;
        }
        self.to = Some(height);
        if round > 0 {
            self.slow.push_back(SlowHeight { height, round });
        }
        while self
            .slow
            .front()
            .is_some_and(|s| height - s.height >= window)
        {
            self.slow.pop_front();
        }
    }

    /// The height of the window that needed the most rounds (the latest of equals).
    pub fn worst(&self) -> Option<SlowHeight> {
        self.slow
            .iter()
            .copied()
            .max_by_key(|s| (s.round, s.height))
    }
}

/// One height in the signed/missed grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GridEntry {
    /// The height whose commit this is.
    pub height: u64,
    /// Our validator in it.
    pub sign: Sign,
}

/// One RPC endpoint of a chain.
#[derive(Debug, Clone, Serialize)]
pub struct SourceState {
    /// Endpoint URL.
    pub url: String,
    /// The last request succeeded with sane data for this chain.
    pub healthy: bool,
    /// Why it is not healthy.
    pub error: Option<String>,
    /// Since when it has been failing.
    pub unhealthy_since: Option<Ts>,
}

impl SourceState {
    /// A source not read yet.
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_string(),
            healthy: false,
            error: Some("not read yet".into()),
            unhealthy_since: None,
        }
    }

    /// Record one request: `None` when it succeeded, else why it failed.
    pub fn record(&mut self, error: Option<String>, now: Ts) {
        match error {
            None => {
                self.healthy = true;
                self.error = None;
            }
            Some(e) => {
                self.unhealthy_since.get_or_insert(now);
                self.healthy = false;
                self.error = Some(e);
            }
        }
    }

    /// End of a poll: a source stays unhealthy until a whole poll succeeds.
    pub fn settle(&mut self) {
        if self.healthy {
            self.unhealthy_since = None;
        }
    }
}

/// A chain as its RPC endpoints show it.
#[derive(Debug, Clone, Serialize)]
pub struct ChainState {
    /// Chain ID.
    pub id: String,
    /// Our validator's consensus address (upper-case hex).
    pub validator_address: Option<String>,
    /// Latest height seen.
    pub height: Option<u64>,
    /// Time of the latest block (its header time, or when it was seen if unknown).
    pub height_seen_at: Option<Ts>,
    /// When this watch first saw the latest height (its own clock).
    #[serde(default)]
    pub height_observed_at: Option<Ts>,
    /// Highest height whose commit has been checked for our signature.
    pub checked_height: Option<u64>,
    /// Our validator's current run of missed blocks.
    pub missed_in_a_row: u64,
    /// Blocks checked where our validator signed, since start.
    pub signed_total: u64,
    /// Blocks checked where our validator was absent, since start.
    pub missed_total: u64,
    /// The last blocks, oldest first.
    pub grid: VecDeque<GridEntry>,
    /// The rounds recent heights needed to commit.
    pub rounds: CommitRounds,
    /// The latest evidence, in the last `grid_blocks` blocks, that our validator signed
    /// twice.
    pub double_sign: Option<DoubleSign>,
    /// Who proposed the recent blocks (ours, empty or not).
    pub production: crate::state::Production,
    /// RPC endpoints in failover order.
    pub sources: Vec<SourceState>,
    /// Cosmos SDK data (slashing, staking, upgrade), when `rest` or `abci_query` is set.
    pub sdk: Option<Box<crate::state::SdkState>>,
}

impl ChainState {
    /// A chain nothing has been read of yet, read through `sources`.
    pub fn new(id: &str, validator_address: Option<String>, sources: Vec<SourceState>) -> Self {
        Self {
            id: id.to_string(),
            validator_address,
            height: None,
            height_seen_at: None,
            height_observed_at: None,
            checked_height: None,
            missed_in_a_row: 0,
            signed_total: 0,
            missed_total: 0,
            grid: VecDeque::new(),
            rounds: CommitRounds::default(),
            double_sign: None,
            production: crate::state::Production::default(),
            sources,
            sdk: None,
        }
    }
}

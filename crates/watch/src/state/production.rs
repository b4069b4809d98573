//! Block production: who proposed the chain's recent blocks, and whether our
//! validator's were empty while other proposers' blocks carried transactions.

use serde::Serialize;
use std::collections::VecDeque;

/// One recent block as its proposer made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Made {
    /// Height.
    pub height: u64,
    /// Our validator proposed it.
    pub ours: bool,
    /// Transactions in it.
    pub txs: u32,
}

/// The proposers of the last `grid_blocks` blocks read.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Production {
    /// Recent blocks, oldest first.
    pub recent: VecDeque<Made>,
    /// Blocks our validator proposed since the watch started.
    pub proposed_total: u64,
    /// Of those, blocks without transactions.
    pub empty_total: u64,
    /// Recent heights where our validator's turn to propose passed to a later round:
    /// (height, the round that made the block).
    pub missed_turns: VecDeque<(u64, u32)>,
    /// Turns missed since the watch started.
    pub missed_turns_total: u64,
}

impl Production {
    /// Record block `height` (once; older or repeated heights are ignored), keeping the
    /// last `window`.
    pub fn record(&mut self, height: u64, ours: bool, txs: usize, window: usize) {
        if self.recent.back().is_some_and(|m| m.height >= height) {
            return;
        }
        let txs = u32::try_from(txs).unwrap_or(u32::MAX);
        if ours {
            self.proposed_total += 1;
            if txs == 0 {
                self.empty_total += 1;
            }
        }
        self.recent.push_back(Made { height, ours, txs });
        while self.recent.len() > window {
            self.recent.pop_front();
        }
    }

    /// Height `height` was made in round `round` though our validator had an earlier
    /// turn (once per height), keeping those within `window` heights of the newest.
    pub fn record_missed_turn(&mut self, height: u64, round: u32, window: usize) {
        if self.missed_turns.iter().any(|(h, _)| *h == height) {
            return;
        }
        self.missed_turns_total += 1;
        self.missed_turns.push_back((height, round));
        let newest = self.missed_turns.iter().map(|(h, _)| *h).max().unwrap_or(0);
        let oldest = self.recent.front().map(|m| m.height).unwrap_or(0);
        let floor = newest.saturating_sub(window as u64).max(oldest);
        self.missed_turns.retain(|(h, _)| *h >= floor);
    }

    /// Missed turns among the recent blocks.
    pub fn missed(&self) -> usize {
        let oldest = self.recent.front().map(|m| m.height).unwrap_or(0);
        self.missed_turns
            .iter()
            .filter(|(h, _)| *h >= oldest)
            .count()
    }

    /// Blocks our validator proposed among the recent ones.
    pub fn proposed(&self) -> usize {
        self.recent.iter().filter(|m| m.ours).count()
    }

    /// Of those, the empty ones.
    pub fn empty(&self) -> usize {
        self.recent.iter().filter(|m| m.ours && m.txs == 0).count()
    }

    /// Our empty blocks while the chain was busy: at least half of the other
    /// proposers' recent blocks carried transactions (on a quiet chain every block is
    /// empty, and that says nothing about our node). 0 when not busy.
    pub fn empty_while_busy(&self) -> usize {
        let others: Vec<&Made> = self.recent.iter().filter(|m| !m.ours).collect();
        let busy = others.iter().filter(|m| m.txs > 0).count();
        if others.is_empty() || busy * 2 < others.len() {
            return 0;
        }
        self.empty()
    }
}

//! A price-oracle module (`x/oracle` of Terra's design, as Umee, Ojo and Kujira run it):
//! validators vote exchange rates every `vote_period` blocks, each period without a
//! valid vote from ours counts in its `miss_counter`, and at the end of every
//! `slash_window` blocks a validator whose valid share of the window's periods is below
//! `min_valid_per_window` is slashed and jailed; the counters then start over.

use serde::Serialize;

/// The module's parameters that decide a slash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OracleParams {
    /// Blocks per vote period.
    pub vote_period: u64,
    /// Blocks per slash window.
    pub slash_window: u64,
    /// Share of the window's vote periods a validator must vote validly in, as the chain
    /// writes it (`0.050000000000000000`).
    pub min_valid_per_window: String,
}

impl OracleParams {
    /// Vote periods in a window.
    pub fn periods(&self) -> u64 {
        self.slash_window.checked_div(self.vote_period).unwrap_or(0)
    }

    /// Misses the window allows: one more and the validator is slashed at its end.
    /// `None` when `min_valid_per_window` is not a decimal between 0 and 1.
    pub fn allowed_misses(&self) -> Option<u64> {
        // Slashed when (periods - misses) / periods < min, so a validator must vote
        // validly in ceil(min * periods) of them.
        let min = super::derive::share_18(&self.min_valid_per_window)?;
        let valid = super::derive::ceil_share(min, self.periods())?;
        Some(self.periods().saturating_sub(valid))
    }

    /// Blocks from `height` to the end of its window (the window's last block is the
    /// one whose height is one short of a multiple of `slash_window`).
    pub fn blocks_to_window_end(&self, height: u64) -> u64 {
        if self.slash_window == 0 {
            return 0;
        }
        let into = (height + 1) % self.slash_window;
        if into == 0 {
            0
        } else {
            self.slash_window - into
        }
    }
}

/// Our validator in the oracle module, as last read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Oracle {
    /// The parameters.
    pub params: OracleParams,
    /// Vote periods of the current window our validator missed.
    pub miss_counter: u64,
    /// The height it was read at.
    pub height: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(vote_period: u64, slash_window: u64, min: &str) -> OracleParams {
        OracleParams {
            vote_period,
            slash_window,
            min_valid_per_window: min.into(),
        }
    }

    #[test]
    fn allowed_misses_round_the_valid_votes_up() {
        // Umee's mainnet shape: 5-block periods, a 201,600-block window, 5% valid.
        let p = params(5, 201_600, "0.050000000000000000");
        assert_eq!(p.periods(), 40_320);
        assert_eq!(p.allowed_misses(), Some(40_320 - 2_016));
        // 10 periods at 25%: 2.5 valid votes needed means 3, so 7 misses are allowed.
        assert_eq!(params(1, 10, "0.25").allowed_misses(), Some(7));
        assert_eq!(params(1, 10, "1.5").allowed_misses(), None);
        assert_eq!(params(0, 10, "0.5").periods(), 0);
    }

    #[test]
    fn the_window_ends_one_block_short_of_a_multiple() {
        let p = params(5, 100, "0.5");
        assert_eq!(p.blocks_to_window_end(99), 0);
        assert_eq!(p.blocks_to_window_end(100), 99);
        assert_eq!(p.blocks_to_window_end(150), 49);
    }
}

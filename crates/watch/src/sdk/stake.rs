//! Our validator among the bonded validators: rank by stake, share, active set size.

use serde::Serialize;

/// One bonded validator, the parts used to rank.
#[derive(Debug, Clone, PartialEq)]
pub struct Bonded {
    /// Operator address.
    pub operator_address: String,
    /// Bonded tokens (base units).
    pub tokens: u128,
}

/// The staking module's parameters, the parts used.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StakingParams {
    /// Size of the active set.
    pub max_validators: u32,
}

/// Where our validator stands in the active set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Standing {
    /// Its place by bonded tokens among the bonded validators (1: the most); `None`
    /// when it is not bonded.
    pub rank: Option<u32>,
    /// Bonded validators now.
    pub bonded_validators: u32,
    /// Size of the active set (`max_validators`).
    pub max_validators: u32,
    /// Its bonded tokens (base units), when bonded.
    pub tokens: Option<String>,
    /// Its share of all bonded tokens (0..1), its share of the voting power.
    pub power_ratio: Option<f64>,
}

impl Standing {
    /// Where `operator` stands among `bonded` (any order).
    pub fn of(operator: &str, bonded: &[Bonded], params: StakingParams) -> Standing {
        let mut sorted: Vec<&Bonded> = bonded.iter().collect();
        // The chain orders by power, then by address; tokens are close enough.
        sorted.sort_by(|a, b| {
            b.tokens
                .cmp(&a.tokens)
                .then(a.operator_address.cmp(&b.operator_address))
        });
        let total: u128 = bonded.iter().map(|b| b.tokens).sum();
        let pos = sorted.iter().position(|b| b.operator_address == operator);
        let ours = pos.map(|i| sorted[i].tokens);
        Standing {
            rank: pos.map(|i| i as u32 + 1),
            bonded_validators: bonded.len() as u32,
            max_validators: params.max_validators,
            tokens: ours.map(|t| t.to_string()),
            power_ratio: ours.filter(|_| total > 0).map(|t| t as f64 / total as f64),
        }
    }

    /// Places between it and the end of the active set when the set is full (0: it is
    /// the last one in); `None` when the set has room (anyone bonding enough joins
    /// without pushing it out) or it is not bonded.
    pub fn places_left(&self) -> Option<u32> {
        let rank = self.rank?;
        (self.bonded_validators >= self.max_validators)
            .then(|| self.max_validators.saturating_sub(rank))
    }
}

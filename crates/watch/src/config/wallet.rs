//! `[[chain.wallet]]`: a named account of the chain whose balance of one denomination
//! is checked against low-balance levels (`wallet_low`).

use serde::{Deserialize, Serialize};

/// A named account (fee payer, relayer, oracle feeder) and its low-balance levels.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WalletConfig {
    /// Unique name on this chain, used in alerts and metrics.
    pub name: String,
    /// Account address (bech32, e.g. `cosmos1...`).
    pub address: String,
    /// Denomination whose balance is checked, e.g. `uatom`.
    pub denom: String,
    /// Decimal places between `denom` and the unit `warning` and `critical` are given
    /// in (6 for `uatom` given in ATOM); 0 (the default): the levels are in `denom`.
    #[serde(default)]
    pub exponent: u32,
    /// Warning below this balance (in units of `10^exponent` `denom`).
    pub warning: f64,
    /// Critical below this balance (`critical` <= `warning`).
    pub critical: f64,
}

impl WalletConfig {
    /// A balance in base units (`denom`) in the unit of the levels.
    pub fn display(&self, base: u128) -> f64 {
        base as f64 / 10f64.powi(self.exponent.min(36) as i32)
    }

    /// Append every problem with this wallet of chain `chain` to `p`.
    pub(crate) fn check(&self, chain: &str, prefix: Option<&str>, p: &mut Vec<String>) {
        let what = format!("chain {chain:?} wallet {:?}", self.name);
        if self.name.is_empty() {
            p.push(format!(
                "chain {chain:?}: a [[chain.wallet]] has an empty name"
            ));
        }
        match crate::bech32::decode(&self.address) {
            Err(e) => p.push(format!(
                "{what}: address {:?} {e}; copy it from `keys show NAME -a`",
                self.address
            )),
            Ok((hrp, _)) => {
                if let Some(x) = prefix.filter(|x| *x != hrp) {
                    p.push(format!(
                        "{what}: address {:?} has prefix {hrp:?}, but this chain's accounts start with {x:?}",
                        self.address
                    ));
                }
            }
        }
        let denom_ok = !self.denom.is_empty()
            && self
                .denom
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/:._-".contains(c));
        if !denom_ok {
            p.push(format!(
                "{what}: denom {:?} is not a denomination (e.g. \"uatom\", \"ibc/27394F...\")",
                self.denom
            ));
        }
        if self.exponent > 36 {
            p.push(format!("{what}: exponent {} is above 36", self.exponent));
        }
        for (k, v) in [("warning", self.warning), ("critical", self.critical)] {
            if !v.is_finite() || v < 0.0 {
                p.push(format!("{what}: {k} ({v}) must be a balance of 0 or more"));
            }
        }
        if self.critical > self.warning {
            p.push(format!(
                "{what}: critical ({}) must not be above warning ({}); lower is worse here",
                self.critical, self.warning
            ));
        }
    }
}

//! The parts of a chain's Cosmos SDK data that change slowly and are read every
//! `sdk_slow_interval`: governance proposals and our votes, wallet balances, our
//! validator's standing in the active set, and a change of its commission.

use crate::sdk::{GovApi, Proposal, Standing};
use crate::time::Ts;
use serde::Serialize;

/// Governance as last read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GovState {
    /// The API version that answered.
    pub api: GovApi,
    /// Our validator's account, the voter.
    pub voter: String,
    /// Proposals in their voting period.
    pub proposals: Vec<GovProposal>,
    /// Proposals seen in their voting period before (or among the latest ones when the
    /// watch started) that are not in it any more: their reminders resolve.
    pub ended: Vec<u64>,
    /// When it was read.
    pub updated_at: Ts,
}

/// A proposal in its voting period and whether our validator voted on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GovProposal {
    /// The proposal.
    #[serde(flatten)]
    pub proposal: Proposal,
    /// Our validator's vote is on the chain.
    pub voted: bool,
}

/// One `[[chain.wallet]]` as last read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WalletState {
    /// Its name.
    pub name: String,
    /// Account address.
    pub address: String,
    /// Denomination checked.
    pub denom: String,
    /// Balance in base units (`denom`), exact, once read.
    pub amount: Option<String>,
    /// Balance in the unit of the levels (`10^exponent` `denom`).
    pub balance: Option<f64>,
    /// The unit of `balance` and the levels, as decimal places of `denom`.
    pub exponent: u32,
    /// Warning below this balance.
    pub warning: f64,
    /// Critical below this balance.
    pub critical: f64,
    /// When it was last read.
    pub updated_at: Option<Ts>,
    /// Why the last read failed, if it did.
    pub error: Option<String>,
}

/// Our validator's commission rate changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommissionChange {
    /// The rate before.
    pub from: String,
    /// The rate now.
    pub to: String,
    /// When the change was seen.
    pub at: Ts,
}

/// The slowly changing data of a chain.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SlowState {
    /// Governance, once read (REST only, with `governance` on and an operator address).
    pub gov: Option<GovState>,
    /// Wallets in config order.
    pub wallets: Vec<WalletState>,
    /// Our validator among the bonded validators, once read.
    pub standing: Option<Standing>,
    /// The last change of our validator's commission rate that the watch saw.
    pub commission_change: Option<CommissionChange>,
    /// Why the last slow read failed, if it did (the data above stays as it was).
    pub error: Option<String>,
}

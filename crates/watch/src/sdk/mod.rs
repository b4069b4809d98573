//! Cosmos SDK data of a chain, read over its REST API or by ABCI query: slashing
//! window and signing info, our validator in the staking module, and the scheduled
//! software upgrade.
//!
//! This room holds the data types as the chain gives them and the pure values derived
//! from them and from the chain's settings (misses allowed, addresses). Reading them is
//! in `collect::sdk`, keeping them in `state`, showing them in `serve`.

mod derive;
mod gov;
mod oracle;
mod stake;

use crate::time::Ts;
pub use derive::{account_prefix, allowed_missed, consensus_address};
pub use gov::{operator_account, GovApi, Proposal};
pub use oracle::{Oracle, OracleParams};
use serde::Serialize;
pub use stake::{Bonded, StakingParams, Standing};

/// Slashing parameters (`/cosmos/slashing/v1beta1/params`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlashingParams {
    /// Blocks in the sliding window.
    pub signed_blocks_window: u64,
    /// Share of the window a validator must sign, as the chain writes it.
    pub min_signed_per_window: String,
    /// Misses the chain allows in the window: one more and the validator is jailed.
    pub allowed_missed_blocks: u64,
    /// How long a downtime jail lasts, as the chain writes it (e.g. `600s`).
    pub downtime_jail_duration: String,
    /// Share of stake slashed for downtime.
    pub slash_fraction_downtime: String,
}

/// Our validator's signing info (`/cosmos/slashing/v1beta1/signing_infos/{valcons}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SigningInfo {
    /// Consensus address (bech32).
    pub address: String,
    /// Height from which the window counts for it.
    pub start_height: u64,
    /// Missed blocks in the current window.
    pub missed_blocks_counter: u64,
    /// Jailed until this time (unix seconds); `None` when never jailed.
    pub jailed_until: Option<Ts>,
    /// Slashed for double signing: it can never validate again.
    pub tombstoned: bool,
}

/// Our validator in the staking module (`/cosmos/staking/v1beta1/validators/{valoper}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Validator {
    /// Operator address (bech32).
    pub operator_address: String,
    /// Its name.
    pub moniker: String,
    /// `BOND_STATUS_BONDED` (in the active set), `BOND_STATUS_UNBONDING` or `BOND_STATUS_UNBONDED`.
    pub status: String,
    /// Jailed now.
    pub jailed: bool,
    /// Bonded tokens (base units).
    pub tokens: String,
    /// Commission rate as the chain writes it (`0.100000000000000000`), when given.
    pub commission_rate: Option<String>,
    /// Its consensus public key, when given.
    pub consensus_pubkey: Option<ConsensusKey>,
}

/// A validator's consensus public key as the staking module holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsensusKey {
    /// Its type (`/cosmos.crypto.ed25519.PubKey`).
    #[serde(rename = "@type")]
    pub kind: String,
    /// The key, base64.
    pub key: String,
}

impl ConsensusKey {
    /// The consensus address (upper-case hex, as `/validators` shows it): the first 20
    /// bytes of the key's SHA-256, for an Ed25519 key.
    pub fn address(&self) -> Result<String, String> {
        if !self.kind.ends_with("ed25519.PubKey") {
            return Err(format!(
                "its consensus key is a {:?} key; only Ed25519 consensus keys are read here: give validator_address instead",
                self.kind
            ));
        }
        crate::config::ed25519_address(&self.key)
    }
}

impl Validator {
    /// In the active set.
    pub fn bonded(&self) -> bool {
        self.status == "BOND_STATUS_BONDED"
    }
}

/// A scheduled software upgrade (`/cosmos/upgrade/v1beta1/current_plan`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpgradePlan {
    /// Upgrade name (the handler the new binary must have).
    pub name: String,
    /// The chain halts at this height until nodes run the new binary.
    pub height: u64,
    /// Free text, often binaries' URLs.
    pub info: String,
}

/// What the data means now, derived by [`assess`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Assessment {
    /// Missed blocks in the slashing window.
    pub missed_in_window: Option<u64>,
    /// Misses the chain allows in the window.
    pub allowed_missed: Option<u64>,
    /// `missed_in_window / allowed_missed`: 1 is the brink, above it the validator is jailed.
    pub window_missed_ratio: Option<f64>,
    /// Recent share of blocks missed, 0..1.
    pub miss_rate: Option<f64>,
    /// How many blocks `miss_rate` is measured over (0: from the change of the counter).
    pub miss_rate_blocks: Option<u64>,
    /// Blocks until jail at the current miss rate; `None` when not heading there.
    pub jail_in_blocks: Option<u64>,
    /// The same in seconds at the average block time.
    pub jail_in_seconds: Option<f64>,
    /// Blocks until jail if it misses every block from now (the worst case).
    pub jail_in_blocks_if_down: Option<u64>,
    /// The same in seconds at the average block time.
    pub jail_in_seconds_if_down: Option<f64>,
    /// Jailed now.
    pub jailed: Option<bool>,
    /// Tombstoned.
    pub tombstoned: Option<bool>,
    /// In the active set.
    pub bonded: Option<bool>,
    /// Blocks until the scheduled upgrade (0 or less: its height is reached).
    pub upgrade_in_blocks: Option<i64>,
    /// The same in seconds at the average block time.
    pub upgrade_in_seconds: Option<f64>,
}

/// How a chain's Cosmos SDK data is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The REST API (gRPC gateway).
    Rest,
    /// ABCI queries through the CometBFT RPC.
    Abci,
}

impl Via {
    /// Its name in alert keys and metric labels.
    pub fn name(self) -> &'static str {
        match self {
            Via::Rest => "rest",
            Via::Abci => "abci",
        }
    }

    /// What an endpoint is called in summaries.
    pub fn endpoint(self) -> &'static str {
        match self {
            Via::Rest => "REST endpoint",
            Via::Abci => "RPC endpoint (ABCI query)",
        }
    }

    /// The same, more than one.
    pub fn endpoints(self) -> &'static str {
        match self {
            Via::Rest => "REST endpoints",
            Via::Abci => "RPC endpoints (ABCI query)",
        }
    }
}

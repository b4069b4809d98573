//! Governance proposals in their voting period, and whether our validator voted.

use crate::time::Ts;
use serde::Serialize;

/// A proposal in its voting period (`/cosmos/gov/v1/proposals`, or v1beta1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proposal {
    /// Proposal id.
    pub id: u64,
    /// Its title (v0.47+ `title`, a legacy content's title, or the metadata).
    pub title: String,
    /// When its voting period ends (unix seconds).
    pub voting_end_time: Ts,
}

/// Which version of the gov module's API answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GovApi {
    /// `cosmos.gov.v1` (Cosmos SDK v0.46 and later).
    V1,
    /// `cosmos.gov.v1beta1` (older chains).
    V1beta1,
}

impl GovApi {
    /// The REST path prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            GovApi::V1 => "/cosmos/gov/v1",
            GovApi::V1beta1 => "/cosmos/gov/v1beta1",
        }
    }
}

/// The account address of a validator operator (`cosmosvaloper1...` to `cosmos1...`:
/// the same bytes under the account prefix), the voter of its governance votes.
pub fn operator_account(valoper: &str) -> Option<String> {
    let (hrp, data) = crate::bech32::decode(valoper).ok()?;
    let prefix = hrp.strip_suffix("valoper").filter(|p| !p.is_empty())?;
    Some(crate::bech32::encode(prefix, &data))
}

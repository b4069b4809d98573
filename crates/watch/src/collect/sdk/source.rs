//! Where a chain's Cosmos SDK data is read from: its REST API ([`Rest`]) or ABCI queries
//! through its CometBFT RPC ([`Abci`], for nodes whose REST API is off, as it is by
//! default). Both give the same typed answers and the same errors.

use crate::collect::sdk::abci::Abci;
use crate::collect::sdk::rest::Rest;
use crate::sdk::{
    Bonded, GovApi, Proposal, SigningInfo, SlashingParams, StakingParams, UpgradePlan, Validator,
};
use crate::state::Ts;
use std::time::Duration;

/// Why a read failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SdkError {
    /// No answer in time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// Connection refused or reset.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// An HTTP status that is neither success nor "not served".
    #[error("HTTP status {status} on {path}: {message}")]
    Http {
        /// Status.
        status: u16,
        /// Path asked for.
        path: String,
        /// The gateway's message or the start of the body.
        message: String,
    },
    /// The node answered the query with an error of its own.
    #[error("query {path} refused: {message}")]
    Refused {
        /// Query path.
        path: String,
        /// The node's code and log.
        message: String,
    },
    /// The answer is not what the Cosmos SDK sends.
    #[error("garbage response on {path}: {message}")]
    Garbage {
        /// Path asked for.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The endpoint is on another chain.
    #[error("wrong chain: expected {expected}, the endpoint is on {got}")]
    WrongChain {
        /// Configured chain ID.
        expected: String,
        /// Reported chain ID.
        got: String,
    },
    /// The endpoint's node is far behind the others.
    #[error("{behind} blocks behind the best endpoint (at {height}, best {best}); its node is syncing or stuck")]
    Behind {
        /// Blocks behind.
        behind: u64,
        /// Its height.
        height: u64,
        /// Best height.
        best: u64,
    },
}

/// A [`SdkError::Garbage`].
pub(crate) fn garbage(path: &str, message: &str) -> SdkError {
    SdkError::Garbage {
        path: path.to_string(),
        message: message.to_string(),
    }
}

/// The answer to one query.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply<T> {
    /// The data.
    Data(T),
    /// The chain does not serve this query (no such module).
    Unavailable,
    /// The chain says the thing asked for does not exist.
    NotFound(String),
}

impl<T> Reply<T> {
    /// The data, converted by `f`, with "not served" and "not found" kept as they are.
    pub fn and_then<U>(
        self,
        f: impl FnOnce(T) -> Result<U, SdkError>,
    ) -> Result<Reply<U>, SdkError> {
        Ok(match self {
            Reply::Data(v) => Reply::Data(f(v)?),
            Reply::Unavailable => Reply::Unavailable,
            Reply::NotFound(m) => Reply::NotFound(m),
        })
    }
}

/// The latest block's header, the parts used.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    /// `chain_id`.
    pub chain_id: String,
    /// Height.
    pub height: u64,
    /// Header time (unix seconds).
    pub time: Ts,
}

/// One endpoint of either kind.
#[derive(Debug, Clone)]
pub enum Source {
    /// A REST API endpoint.
    Rest(Rest),
    /// A CometBFT RPC endpoint queried by ABCI.
    Abci(Abci),
}

macro_rules! each {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Source::Rest($s) => $e,
            Source::Abci($s) => $e,
        }
    };
}

impl Source {
    /// The endpoint URL.
    pub fn url(&self) -> &str {
        each!(self, s => s.url())
    }

    /// The latest block's header.
    pub async fn head(&self) -> Result<Head, SdkError> {
        each!(self, s => s.head().await)
    }

    /// The header of block `height`.
    pub async fn head_at(&self, height: u64) -> Result<Head, SdkError> {
        each!(self, s => s.head_at(height).await)
    }

    /// The slashing parameters.
    pub async fn slashing_params(&self) -> Result<Reply<SlashingParams>, SdkError> {
        each!(self, s => s.slashing_params().await)
    }

    /// The signing info of consensus address `valcons` (bech32).
    pub async fn signing_info(&self, valcons: &str) -> Result<Reply<SigningInfo>, SdkError> {
        each!(self, s => s.signing_info(valcons).await)
    }

    /// The validator with operator address `valoper`.
    pub async fn validator(&self, valoper: &str) -> Result<Reply<Validator>, SdkError> {
        each!(self, s => s.validator(valoper).await)
    }

    /// The scheduled upgrade: `Data(None)` when nothing is scheduled.
    pub async fn upgrade_plan(&self) -> Result<Reply<Option<UpgradePlan>>, SdkError> {
        each!(self, s => s.upgrade_plan().await)
    }

    /// Proposals in their voting period (gov v1, or v1beta1).
    pub async fn voting_proposals(&self) -> Result<Reply<(GovApi, Vec<Proposal>)>, SdkError> {
        each!(self, s => s.voting_proposals().await)
    }

    /// The ids of the latest `n` proposals, whatever their status.
    pub async fn latest_proposals(&self, api: GovApi, n: u32) -> Result<Vec<u64>, SdkError> {
        each!(self, s => s.latest_proposals(api, n).await)
    }

    /// Whether `voter` voted on proposal `id`.
    pub async fn voted(&self, api: GovApi, id: u64, voter: &str) -> Result<bool, SdkError> {
        each!(self, s => s.voted(api, id, voter).await)
    }

    /// `address`'s balance of `denom` in base units.
    pub async fn balance(&self, address: &str, denom: &str) -> Result<Reply<u128>, SdkError> {
        each!(self, s => s.balance(address, denom).await)
    }

    /// The staking parameters.
    pub async fn staking_params(&self) -> Result<Reply<StakingParams>, SdkError> {
        each!(self, s => s.staking_params().await)
    }

    /// Every bonded validator.
    pub async fn bonded(&self) -> Result<Reply<Vec<Bonded>>, SdkError> {
        each!(self, s => s.bonded().await)
    }
}

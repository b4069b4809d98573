//! Missed turns to propose, by height. A height committed in round r > 0 had r
//! proposers before the one that made its block; CometBFT's weighted round robin
//! (`comet::proposer`) over the validator sets of the height below and of the height
//! itself tells who they were. The arithmetic is checked twice against the chain before
//! anything is claimed: one increment of the set below must give the height's set, and
//! round r's proposer must be the block's.

use crate::collect::rpc::{Rpc, RpcError};

/// Whether `ours` had a turn before round `round` at `height`, whose block `proposer`
/// made; `None` when the sets do not back an answer (a validator-set change).
pub(crate) async fn missed_turn(
    rpc: &Rpc,
    height: u64,
    round: u32,
    proposer: &str,
    ours: &str,
) -> Result<Option<bool>, RpcError> {
    if round == 0 {
        return Ok(Some(false));
    }
    if height < 2 {
        return Ok(None);
    }
    let below = rpc.validators(height - 1).await?;
    let now = rpc.validators(height).await?;
    let Some(turns) = comet::proposer::round_proposers(&below, &now, round) else {
        return Ok(None);
    };
    if turns.last().map(String::as_str) != Some(proposer) {
        return Ok(None);
    }
    Ok(Some(turns[..turns.len() - 1].iter().any(|a| a == ours)))
}

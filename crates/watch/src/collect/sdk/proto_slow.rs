//! The protobuf messages of the slow queries the watch makes by ABCI (governance
//! proposals and votes, v1 and v1beta1 share the tags used; bank balance; staking
//! parameters and the bonded validators), the parts used, and their conversion to the
//! values the REST API gives.

use crate::sdk::{Bonded, Proposal, StakingParams};
use prost::Message;

/// `cosmos.base.query.v1beta1.PageRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct PageRequest {
    /// Key of the next page.
    #[prost(bytes = "vec", tag = "1")]
    pub key: Vec<u8>,
    /// Page size.
    #[prost(uint64, tag = "3")]
    pub limit: u64,
    /// Newest first.
    #[prost(bool, tag = "5")]
    pub reverse: bool,
}

#[derive(Clone, PartialEq, Message)]
struct PageResponse {
    #[prost(bytes = "vec", tag = "1")]
    next_key: Vec<u8>,
}

/// `cosmos.gov.v1.QueryProposalsRequest` (and v1beta1's).
#[derive(Clone, PartialEq, Message)]
pub struct ProposalsRequest {
    /// `ProposalStatus` (2: voting period; 0: any).
    #[prost(int32, tag = "1")]
    pub proposal_status: i32,
    /// Pagination.
    #[prost(message, optional, tag = "4")]
    pub pagination: Option<PageRequest>,
}

#[derive(Clone, PartialEq, Message)]
struct ProposalsResponse {
    #[prost(message, repeated, tag = "1")]
    proposals: Vec<ProtoProposal>,
}

#[derive(Clone, PartialEq, Message)]
struct Any {
    #[prost(string, tag = "1")]
    type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
struct Timestamp {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

/// v1 and v1beta1 proposals: id (1), status (3) and voting end (9) have the same tags;
/// v1 has `messages` (2) and `title` (11), v1beta1 its `content` (2).
#[derive(Clone, PartialEq, Message)]
struct ProtoProposal {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(message, repeated, tag = "2")]
    messages: Vec<Any>,
    #[prost(int32, tag = "3")]
    status: i32,
    #[prost(message, optional, tag = "9")]
    voting_end_time: Option<Timestamp>,
    #[prost(string, tag = "10")]
    metadata: String,
    #[prost(string, tag = "11")]
    title: String,
}

/// A legacy content (`TextProposal` and the others put the title first), or a
/// `MsgExecLegacyContent` (content first).
#[derive(Clone, PartialEq, Message)]
struct Titled {
    #[prost(string, tag = "1")]
    title: String,
}

#[derive(Clone, PartialEq, Message)]
struct ExecLegacyContent {
    #[prost(message, optional, tag = "1")]
    content: Option<Any>,
}

/// `cosmos.gov.v1.QueryVoteRequest` (and v1beta1's).
#[derive(Clone, PartialEq, Message)]
pub struct VoteRequest {
    /// Proposal id.
    #[prost(uint64, tag = "1")]
    pub proposal_id: u64,
    /// Voter account.
    #[prost(string, tag = "2")]
    pub voter: String,
}

#[derive(Clone, PartialEq, Message)]
struct VoteResponse {
    #[prost(message, optional, tag = "1")]
    vote: Option<Vote>,
}

#[derive(Clone, PartialEq, Message)]
struct Vote {
    #[prost(string, tag = "2")]
    voter: String,
}

/// `cosmos.bank.v1beta1.QueryBalanceRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct BalanceRequest {
    /// Account.
    #[prost(string, tag = "1")]
    pub address: String,
    /// Denomination.
    #[prost(string, tag = "2")]
    pub denom: String,
}

#[derive(Clone, PartialEq, Message)]
struct BalanceResponse {
    #[prost(message, optional, tag = "1")]
    balance: Option<Coin>,
}

#[derive(Clone, PartialEq, Message)]
struct Coin {
    #[prost(string, tag = "1")]
    denom: String,
    #[prost(string, tag = "2")]
    amount: String,
}

#[derive(Clone, PartialEq, Message)]
struct StakingParamsResponse {
    #[prost(message, optional, tag = "1")]
    params: Option<ProtoStakingParams>,
}

#[derive(Clone, PartialEq, Message)]
struct ProtoStakingParams {
    #[prost(uint32, tag = "2")]
    max_validators: u32,
}

/// `cosmos.staking.v1beta1.QueryValidatorsRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct ValidatorsRequest {
    /// Bond status name, e.g. `BOND_STATUS_BONDED`.
    #[prost(string, tag = "1")]
    pub status: String,
    /// Pagination.
    #[prost(message, optional, tag = "2")]
    pub pagination: Option<PageRequest>,
}

#[derive(Clone, PartialEq, Message)]
struct ValidatorsResponse {
    #[prost(message, repeated, tag = "1")]
    validators: Vec<ListedValidator>,
    #[prost(message, optional, tag = "2")]
    pagination: Option<PageResponse>,
}

#[derive(Clone, PartialEq, Message)]
struct ListedValidator {
    #[prost(string, tag = "1")]
    operator_address: String,
    #[prost(string, tag = "5")]
    tokens: String,
}

fn decode<M: Message + Default>(bytes: &[u8], what: &str) -> Result<M, String> {
    M::decode(bytes).map_err(|e| format!("not a {what}: {e}"))
}

/// The status name of a `ProposalStatus` number.
fn status_name(s: i32) -> &'static str {
    match s {
        1 => "PROPOSAL_STATUS_DEPOSIT_PERIOD",
        2 => "PROPOSAL_STATUS_VOTING_PERIOD",
        3 => "PROPOSAL_STATUS_PASSED",
        4 => "PROPOSAL_STATUS_REJECTED",
        5 => "PROPOSAL_STATUS_FAILED",
        _ => "PROPOSAL_STATUS_UNSPECIFIED",
    }
}

fn title_of(p: &ProtoProposal) -> String {
    if !p.title.trim().is_empty() {
        return p.title.trim().to_string();
    }
    let titled = |a: &Any| Titled::decode(a.value.as_slice()).ok().map(|t| t.title);
    let from_messages = p.messages.iter().find_map(|m| {
        let inner = if m.type_url.ends_with("MsgExecLegacyContent") {
            ExecLegacyContent::decode(m.value.as_slice())
                .ok()?
                .content?
        } else if m.type_url.contains("v1beta1") && m.type_url.ends_with("Proposal") {
            // v1beta1: field 2 is the content itself.
            m.clone()
        } else {
            return None;
        };
        titled(&inner).filter(|t| !t.is_empty())
    });
    from_messages
        .or_else(|| {
            let m = p.metadata.trim();
            (!m.is_empty() && m.len() <= 80).then(|| m.to_string())
        })
        .unwrap_or_default()
}

/// A `QueryProposalsResponse`: each proposal with its status name.
pub fn proposals(bytes: &[u8]) -> Result<Vec<(Proposal, String)>, String> {
    let r: ProposalsResponse = decode(bytes, "QueryProposalsResponse")?;
    r.proposals
        .iter()
        .map(|p| {
            let end = p
                .voting_end_time
                .as_ref()
                .ok_or_else(|| format!("proposal {} has no voting_end_time", p.id))?;
            Ok((
                Proposal {
                    id: p.id,
                    title: title_of(p),
                    voting_end_time: end.seconds as f64 + f64::from(end.nanos) / 1e9,
                },
                status_name(p.status).to_string(),
            ))
        })
        .collect()
}

/// A `QueryVoteResponse`, which must be by `voter`.
pub fn vote(bytes: &[u8], voter: &str) -> Result<(), String> {
    let r: VoteResponse = decode(bytes, "QueryVoteResponse")?;
    let v = r.vote.ok_or("no vote")?;
    if v.voter != voter {
        return Err(format!("vote is by {:?}, not {voter}", v.voter));
    }
    Ok(())
}

/// A `QueryBalanceResponse`, which must be of `denom`.
pub fn balance(bytes: &[u8], denom: &str) -> Result<u128, String> {
    let r: BalanceResponse = decode(bytes, "QueryBalanceResponse")?;
    let c = r.balance.ok_or("no balance")?;
    if c.denom != denom {
        return Err(format!("balance is of {:?}, not {denom}", c.denom));
    }
    c.amount
        .parse()
        .map_err(|_| format!("amount {:?} is not a whole number", c.amount))
}

/// A staking `QueryParamsResponse`.
pub fn staking_params(bytes: &[u8]) -> Result<StakingParams, String> {
    let r: StakingParamsResponse = decode(bytes, "staking QueryParamsResponse")?;
    let max = r.params.ok_or("no params")?.max_validators;
    if max == 0 {
        return Err("max_validators 0 is not a set size".into());
    }
    Ok(StakingParams {
        max_validators: max,
    })
}

/// One page of a `QueryValidatorsResponse`, and the next page's key.
pub fn validators(bytes: &[u8]) -> Result<(Vec<Bonded>, Option<Vec<u8>>), String> {
    let r: ValidatorsResponse = decode(bytes, "QueryValidatorsResponse")?;
    let page = r
        .validators
        .into_iter()
        .map(|v| {
            let tokens = v
                .tokens
                .parse()
                .map_err(|_| format!("tokens {:?} is not an amount", v.tokens))?;
            Ok(Bonded {
                operator_address: v.operator_address,
                tokens,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let next = r.pagination.map(|p| p.next_key).filter(|k| !k.is_empty());
    Ok((page, next))
}

#[cfg(test)]
#[path = "proto_slow_tests.rs"]
mod tests;

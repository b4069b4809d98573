//! REST reads of the data that changes slowly: governance proposals in their voting
//! period and our votes (gov v1, or v1beta1 on older chains), account balances, and
//! the bonded validator set with the staking parameters.

use crate::collect::sdk::rest::{missing, str_at, time_at, u64_at, Rest};
use crate::collect::sdk::source::{garbage, Reply, SdkError};
use crate::sdk::{Bonded, GovApi, Proposal, StakingParams};
use serde_json::Value;

/// Validators asked for per page.
const PAGE: u32 = 200;
/// At most this many pages of bonded validators are read.
const MAX_PAGES: usize = 20;
/// The status filtered on, by number (`2`: the v0.46 gateway takes no enum names).
const VOTING: &str = "PROPOSAL_STATUS_VOTING_PERIOD";

impl Rest {
    /// Proposals in their voting period, by gov v1, or v1beta1 when the chain has no
    /// v1; `Unavailable` when it has neither.
    pub async fn voting_proposals(&self) -> Result<Reply<(GovApi, Vec<Proposal>)>, SdkError> {
        for api in [GovApi::V1, GovApi::V1beta1] {
            let path = format!(
                "{}/proposals?proposal_status=2&pagination.limit=500",
                api.prefix()
            );
            match self.get(&path).await? {
                Reply::Data(v) => {
                    let all = parse_proposals(&path, &v, api)?;
                    let voting = all.into_iter().filter(|(_, s)| s == VOTING);
                    return Ok(Reply::Data((api, voting.map(|(p, _)| p).collect())));
                }
                Reply::Unavailable => continue,
                Reply::NotFound(m) => return Ok(Reply::NotFound(m)),
            }
        }
        Ok(Reply::Unavailable)
    }

    /// The ids of the latest `n` proposals, whatever their status.
    pub async fn latest_proposals(&self, api: GovApi, n: u32) -> Result<Vec<u64>, SdkError> {
        let path = format!(
            "{}/proposals?pagination.limit={n}&pagination.reverse=true",
            api.prefix()
        );
        match self.get(&path).await? {
            Reply::Data(v) => Ok(parse_proposals(&path, &v, api)?
                .into_iter()
                .map(|(p, _)| p.id)
                .collect()),
            _ => Ok(Vec::new()),
        }
    }

    /// Whether `voter` voted on proposal `id`.
    pub async fn voted(&self, api: GovApi, id: u64, voter: &str) -> Result<bool, SdkError> {
        let path = format!("{}/proposals/{id}/votes/{voter}", api.prefix());
        match self.get(&path).await {
            Ok(Reply::Data(v)) => {
                let got = str_at(&path, &v, "/vote/voter")?;
                if got != voter {
                    return Err(garbage(&path, &format!("vote is by {got}, not {voter}")));
                }
                Ok(true)
            }
            Ok(Reply::NotFound(_)) => Ok(false),
            Ok(Reply::Unavailable) => Err(garbage(&path, "the gov module does not serve votes")),
            // v0.46 to v0.50 answer InvalidArgument "voter: ... not found for proposal".
            Err(SdkError::Http {
                status: 400 | 404,
                message,
                ..
            }) if message.contains("not found") => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `address`'s balance of `denom` in base units.
    pub async fn balance(&self, address: &str, denom: &str) -> Result<Reply<u128>, SdkError> {
        let path = format!(
            "/cosmos/bank/v1beta1/balances/{address}/by_denom?denom={}",
            encode(denom)
        );
        self.get(&path)
            .await?
            .and_then(|v| parse_balance(&path, &v, denom))
    }

    /// The staking parameters.
    pub async fn staking_params(&self) -> Result<Reply<StakingParams>, SdkError> {
        let path = "/cosmos/staking/v1beta1/params";
        self.get(path)
            .await?
            .and_then(|v| parse_staking_params(path, &v))
    }

    /// Every bonded validator, page by page.
    pub async fn bonded(&self) -> Result<Reply<Vec<Bonded>>, SdkError> {
        let mut all = Vec::new();
        let mut key: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut path = format!(
                "/cosmos/staking/v1beta1/validators?status=BOND_STATUS_BONDED&pagination.limit={PAGE}"
            );
            if let Some(k) = &key {
                path.push_str(&format!("&pagination.key={}", encode(k)));
            }
            let v = match self.get(&path).await? {
                Reply::Data(v) => v,
                Reply::Unavailable => return Ok(Reply::Unavailable),
                Reply::NotFound(m) => return Ok(Reply::NotFound(m)),
            };
            let (page, next) = parse_validators(&path, &v)?;
            all.extend(page);
            match next {
                Some(k) => key = Some(k),
                None => return Ok(Reply::Data(all)),
            }
        }
        Err(garbage(
            "/cosmos/staking/v1beta1/validators",
            &format!("more than {} bonded validators", PAGE as usize * MAX_PAGES),
        ))
    }
}

/// Percent-encode a query value (base64 keys, `ibc/...` denominations).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A proposals answer: each proposal with its status.
pub fn parse_proposals(
    path: &str,
    v: &Value,
    api: GovApi,
) -> Result<Vec<(Proposal, String)>, SdkError> {
    let list = v
        .get("proposals")
        .and_then(Value::as_array)
        .ok_or_else(|| missing(path, "/proposals"))?;
    let id_ptr = match api {
        GovApi::V1 => "/id",
        GovApi::V1beta1 => "/proposal_id",
    };
    list.iter()
        .map(|p| {
            let status = str_at(path, p, "/status")?.to_string();
            let proposal = Proposal {
                id: u64_at(path, p, id_ptr)?,
                title: title(p),
                voting_end_time: time_at(path, p, "/voting_end_time")?,
            };
            Ok((proposal, status))
        })
        .collect()
}

/// v0.47+ `title`; v1beta1 `content.title`; a legacy content's title in v1
/// `messages`; else the metadata when it is short text.
fn title(p: &Value) -> String {
    let text = |ptr: &str| {
        p.pointer(ptr)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().to_string())
    };
    let from_messages = || {
        p.get("messages")?.as_array()?.iter().find_map(|m| {
            m.pointer("/content/title")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        })
    };
    text("/title")
        .or_else(|| text("/content/title"))
        .or_else(from_messages)
        .or_else(|| text("/metadata").filter(|m| m.len() <= 80))
        .unwrap_or_default()
}

/// A `balances/{address}/by_denom` answer, which must be about `denom`.
pub fn parse_balance(path: &str, v: &Value, denom: &str) -> Result<u128, SdkError> {
    let got = str_at(path, v, "/balance/denom")?;
    if got != denom {
        return Err(garbage(path, &format!("balance is of {got}, not {denom}")));
    }
    let amount = str_at(path, v, "/balance/amount")?;
    amount
        .parse()
        .map_err(|_| garbage(path, &format!("amount {amount:?} is not a whole number")))
}

/// A `staking/v1beta1/params` answer.
pub fn parse_staking_params(path: &str, v: &Value) -> Result<StakingParams, SdkError> {
    let max = u64_at(path, v, "/params/max_validators")?;
    let max_validators = u32::try_from(max)
        .ok()
        .filter(|m| *m > 0)
        .ok_or_else(|| garbage(path, &format!("max_validators {max} is not a set size")))?;
    Ok(StakingParams { max_validators })
}

/// One page of a `staking/v1beta1/validators` answer, and the next page's key.
pub fn parse_validators(path: &str, v: &Value) -> Result<(Vec<Bonded>, Option<String>), SdkError> {
    let list = v
        .get("validators")
        .and_then(Value::as_array)
        .ok_or_else(|| missing(path, "/validators"))?;
    let page = list
        .iter()
        .map(|val| {
            let tokens = str_at(path, val, "/tokens")?;
            Ok(Bonded {
                operator_address: str_at(path, val, "/operator_address")?.to_string(),
                tokens: tokens
                    .parse()
                    .map_err(|_| garbage(path, &format!("tokens {tokens:?} is not an amount")))?,
            })
        })
        .collect::<Result<Vec<_>, SdkError>>()?;
    let next = v
        .pointer("/pagination/next_key")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .map(str::to_string);
    Ok((page, next))
}

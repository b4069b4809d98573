//! The Cosmos SDK REST API of a replayed chain, on a port of its own as a node's
//! `[api]` is (usually 1317): the routes `bulwark watch` reads, answered as the gRPC
//! gateway of SDK v0.50 answers them, errors included (`{"code", "message",
//! "details"}`; gRPC code 5 NotFound is HTTP 404, 3 InvalidArgument 400, 12
//! Unimplemented 501), with the gateway's pagination (`pagination.key`, `offset`,
//! `limit`, `count_total`, `reverse`; `next_key` in base64).
//!
//! Each chain has our validator bonded among the recorded set, a wallet well above its
//! low-balance levels, four ended governance proposals and two in their voting
//! period, of which our validator voted on the newer one. One chain in ten serves gov
//! v1beta1 only, as a chain older than SDK v0.46 does, so the watch's fallback from
//! v1 runs too. Anything else asked for is answered as the gateway answers an unknown
//! route, and noted in [`Unserved`], so a benchmark cannot read nothing unnoticed.

use super::cosmos;
use super::fixture::Fixture;
use super::http::{Request, Response, Service};
use super::replay::Chain;
use super::sdk_json::{self, Bonded, Proposal, DENOM, POWER_REDUCTION};
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

const DAY: Duration = Duration::from_secs(86_400);
/// Our wallet's balance, base units (250 tokens).
pub const WALLET_AMOUNT: u128 = 250 * POWER_REDUCTION;
/// The proposals in their voting period, and the one our validator voted on.
pub const VOTING: [u64; 2] = [5, 6];
/// The proposal our validator voted on.
pub const VOTED: u64 = 6;
/// Pagination's default limit (`query.DefaultLimit`).
const DEFAULT_LIMIT: u64 = 100;
const PAGINATION: [&str; 5] = [
    "pagination.key",
    "pagination.offset",
    "pagination.limit",
    "pagination.count_total",
    "pagination.reverse",
];

/// One answer of the gateway.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// HTTP 200 with this body.
    Data(Value),
    /// A gateway error: HTTP status, gRPC code, message.
    Error(u16, u32, String),
    /// Not something the replay serves (a route or a query parameter): why.
    Unserved(String),
}

impl Answer {
    /// HTTP status and body.
    pub fn reply(self) -> (u16, Value) {
        let error =
            |code: u32, message: &str| json!({"code": code, "message": message, "details": []});
        match self {
            Answer::Data(v) => (200, v),
            Answer::Error(status, code, m) => (status, error(code, &m)),
            Answer::Unserved(_) => (501, error(12, "Not Implemented")),
        }
    }
}

fn invalid(message: impl Into<String>) -> Answer {
    Answer::Error(400, 3, message.into())
}

/// Requests the replay did not serve, by request and reason, over all chains.
#[derive(Debug, Default)]
pub struct Unserved(Mutex<BTreeMap<String, u64>>);

impl Unserved {
    /// Note one; the first of each kind is also printed.
    pub fn note(&self, what: String) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if !m.contains_key(&what) {
            eprintln!("replay: unserved REST request {what}");
            if m.len() >= 100 {
                return;
            }
        }
        *m.entry(what).or_insert(0) += 1;
    }

    /// What was noted so far.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Whether a path is one of the slow reads (governance, balances, the bonded set and
/// the staking parameters), which the watch makes every `sdk_slow_interval`.
pub fn is_slow(path: &str) -> bool {
    path.starts_with("/cosmos/gov/")
        || path.starts_with("/cosmos/bank/")
        || path == "/cosmos/staking/v1beta1/validators"
        || path == "/cosmos/staking/v1beta1/params"
}

/// A query string's parameters, percent-decoded (`+` is a space, as Go reads it).
pub fn params(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = s
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(x)) => {
                out.push(x);
                i += 2;
            }
            (c, _) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct Query(Vec<(String, String)>);

impl Query {
    fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(x, _)| x == k).map(|(_, v)| v.as_str())
    }

    /// Every parameter is one of `allowed` or pagination's (when `paged`).
    fn only(&self, allowed: &[&str], paged: bool) -> Result<(), Answer> {
        let known = |k: &str| allowed.contains(&k) || (paged && PAGINATION.contains(&k));
        match self.0.iter().find(|(k, _)| !known(k)) {
            Some((k, _)) => Err(Answer::Unserved(format!(
                "query parameter {k:?} is not one this route takes"
            ))),
            None => Ok(()),
        }
    }

    fn flag(&self, k: &str) -> Result<bool, Answer> {
        match self.get(k) {
            None | Some("") | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(v) => Err(invalid(format!("parsing field {k:?}: {v:?} is not a bool"))),
        }
    }

    fn number(&self, k: &str) -> Result<u64, Answer> {
        match self.get(k) {
            None | Some("") => Ok(0),
            Some(v) => v
                .parse()
                .map_err(|_| invalid(format!("parsing field {k:?}: {v:?} is not a number"))),
        }
    }
}

/// One page of `items` as the SDK's `query.Paginate` makes it: the items and the
/// `pagination` object.
fn paginate<T: Clone>(mut items: Vec<T>, q: &Query) -> Result<(Vec<T>, Value), Answer> {
    let offset = q.number("pagination.offset")?;
    let mut limit = q.number("pagination.limit")?;
    let mut count_total = q.flag("pagination.count_total")?;
    if limit == 0 {
        // Without a limit the SDK takes its default and counts the total.
        limit = DEFAULT_LIMIT;
        count_total = true;
    }
    let key = match q.get("pagination.key").filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => {
            let e = base64::engine::general_purpose::STANDARD;
            let bytes = e
                .decode(k)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(k))
                .map_err(|_| invalid(format!("parsing field \"key\": {k:?} is not base64")))?;
            let idx: [u8; 8] = bytes
                .try_into()
                .map_err(|_| invalid("invalid request, the key is not one this query gave"))?;
            Some(u64::from_be_bytes(idx))
        }
    };
    if key.is_some() && offset > 0 {
        return Err(invalid(
            "invalid request, either offset or key is expected, got both",
        ));
    }
    if q.flag("pagination.reverse")? {
        items.reverse();
    }
    let total = items.len() as u64;
    let start = key.unwrap_or(offset).min(total);
    let end = start.saturating_add(limit).min(total);
    let page = items[start as usize..end as usize].to_vec();
    let next_key = (end < total).then(|| {
        Value::String(base64::engine::general_purpose::STANDARD.encode(end.to_be_bytes()))
    });
    let total = if count_total && key.is_none() {
        total
    } else {
        0
    };
    Ok((
        page,
        json!({ "next_key": next_key.unwrap_or(Value::Null), "total": total.to_string() }),
    ))
}

/// What one replayed chain's Cosmos SDK modules hold.
#[derive(Debug)]
pub struct SdkChain {
    /// Gov v1 is served (SDK v0.46 and later); else v1beta1 only.
    pub gov_v1: bool,
    /// Our validator's operator address.
    pub operator: String,
    /// Our validator's account (the voter).
    pub account: String,
    /// Our validator's consensus address (bech32).
    pub valcons: String,
    /// The account of our `[[chain.wallet]]`.
    pub wallet: String,
    bonded: Vec<Bonded>,
    proposals: Vec<Proposal>,
}

impl SdkChain {
    /// Chain number `index` of the replay, started at `start`: the recorded validator
    /// set bonded, our validator the fixture's.
    pub fn new(chain_id: &str, index: usize, fixture: &Fixture, start: SystemTime) -> Self {
        let ours = fixture.meta.validator_address.clone();
        let set = fixture.validators(0);
        let mut bonded: Vec<(String, Bonded)> = set
            .get("validators")
            .and_then(Value::as_array)
            .map(|a| a.as_slice())
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(n, v)| {
                let addr = v
                    .get("address")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let power: u128 = v
                    .get("voting_power")
                    .and_then(Value::as_str)
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(1);
                let moniker = if addr.eq_ignore_ascii_case(&ours) {
                    "bulwark".to_string()
                } else {
                    format!("validator-{n}")
                };
                let b = Bonded {
                    operator: cosmos::bech32_of_hex("cosmosvaloper", &addr),
                    pubkey: v
                        .pointer("/pub_key/value")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    tokens: power * POWER_REDUCTION,
                    moniker,
                };
                (addr.to_ascii_uppercase(), b)
            })
            .collect();
        // The staking store holds validators by operator address bytes.
        bonded.sort_by(|a, b| a.0.cmp(&b.0));
        let wallet = Sha256::digest(format!("{chain_id}/relayer"));
        let days = |n: u64| DAY * n as u32;
        let proposal = |id: u64, status: u8, end: SystemTime, title: &str| Proposal {
            id,
            status,
            title: title.to_string(),
            submit_time: end - days(7),
            voting_start_time: end - days(5),
            voting_end_time: end,
        };
        let proposals = vec![
            proposal(1, 3, start - days(60), "Enable IBC transfers"),
            proposal(2, 4, start - days(45), "Lower the minimum commission to 0%"),
            proposal(
                3,
                3,
                start - days(30),
                "Community pool spend for the block explorer",
            ),
            proposal(4, 3, start - days(12), "Software upgrade v2"),
            proposal(
                VOTING[0],
                2,
                start + days(9),
                "Raise the maximum validators to 150",
            ),
            proposal(VOTING[1], 2, start + days(4), "Software upgrade v3"),
        ];
        Self {
            gov_v1: index % 10 != 1,
            operator: cosmos::bech32_of_hex("cosmosvaloper", &ours),
            account: cosmos::bech32_of_hex("cosmos", &ours),
            valcons: cosmos::valcons(&ours),
            wallet: ::watch::bech32::encode("cosmos", &wallet[..20]),
            bonded: bonded.into_iter().map(|(_, b)| b).collect(),
            proposals,
        }
    }

    /// The gov API the watch should have found: `v1`, or `v1beta1` on an older chain.
    pub fn gov_api(&self) -> &'static str {
        if self.gov_v1 {
            "v1"
        } else {
            "v1beta1"
        }
    }

    /// Bonded validators.
    pub fn bonded_count(&self) -> usize {
        self.bonded.len()
    }

    /// The answer to GET `path?query` when the chain is at `latest`; `block(h)` is the
    /// CometBFT `/block` result of height `h`.
    pub fn answer(
        &self,
        path: &str,
        query: &str,
        latest: u64,
        block: &dyn Fn(u64) -> Value,
    ) -> Answer {
        let q = Query(params(query));
        match self.route(path, &q, latest, block) {
            Ok(a) | Err(a) => a,
        }
    }

    fn route(
        &self,
        path: &str,
        q: &Query,
        latest: u64,
        block: &dyn Fn(u64) -> Value,
    ) -> Result<Answer, Answer> {
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        let data = Answer::Data;
        let gov = |v: &str| match v {
            "v1" if self.gov_v1 => Ok(true),
            "v1beta1" => Ok(false),
            // A chain without gov v1 answers as the gateway does for a route it lacks.
            "v1" => Err(Answer::Error(501, 12, "Not Implemented".into())),
            _ => Err(Answer::Unserved("no such gov version".into())),
        };
        Ok(match segs.as_slice() {
            ["cosmos", "base", "tendermint", "v1beta1", "blocks", h] => {
                q.only(&[], false)?;
                let height = if *h == "latest" {
                    latest
                } else {
                    match h.parse::<i64>() {
                        Ok(h) if h > latest as i64 => {
                            return Err(invalid("requested block height is bigger then the chain length"))
                        }
                        Ok(h) if h < 1 => return Err(Answer::Error(500, 2, format!("height must be greater than 0, but got {h}"))),
                        Ok(h) => h as u64,
                        Err(_) => {
                            return Err(invalid(format!(
                                "type mismatch, parameter: height, error: strconv.ParseInt: parsing {h:?}: invalid syntax"
                            )))
                        }
                    }
                };
                let mut b = sdk_json::gateway_block(&block(height));
                if !self.gov_v1 {
                    // Older chains have no `sdk_block`.
                    if let Some(o) = b.as_object_mut() {
                        o.remove("sdk_block");
                    }
                }
                data(b)
            }
            ["cosmos", "slashing", "v1beta1", "params"] => {
                q.only(&[], false)?;
                data(json!({ "params": {
                    "signed_blocks_window": cosmos::SIGNED_BLOCKS_WINDOW.to_string(),
                    "min_signed_per_window": cosmos::MIN_SIGNED_PER_WINDOW,
                    "downtime_jail_duration": format!("{}s", cosmos::DOWNTIME_JAIL_SECONDS),
                    "slash_fraction_double_sign": cosmos::SLASH_FRACTION_DOUBLE_SIGN,
                    "slash_fraction_downtime": cosmos::SLASH_FRACTION_DOWNTIME,
                } }))
            }
            ["cosmos", "slashing", "v1beta1", "signing_infos", addr] => {
                q.only(&[], false)?;
                if *addr != self.valcons {
                    return Err(Answer::Error(
                        404,
                        5,
                        format!("SigningInfo not found for validator {addr}: key not found"),
                    ));
                }
                data(json!({ "val_signing_info": {
                    "address": self.valcons,
                    "start_height": "1",
                    "index_offset": latest.saturating_sub(1).to_string(),
                    "jailed_until": "1970-01-01T00:00:00Z",
                    "tombstoned": false,
                    "missed_blocks_counter": "0",
                } }))
            }
            ["cosmos", "staking", "v1beta1", "validators"] => {
                q.only(&["status"], true)?;
                let list: Vec<&Bonded> = match q.get("status").unwrap_or("") {
                    "" | "BOND_STATUS_BONDED" => self.bonded.iter().collect(),
                    "BOND_STATUS_UNBONDED" | "BOND_STATUS_UNBONDING" => Vec::new(),
                    s => return Err(invalid(format!("invalid validator status {s}"))),
                };
                let (page, pagination) = paginate(list, q)?;
                let vals: Vec<Value> = page.into_iter().map(sdk_json::validator).collect();
                data(json!({ "validators": vals, "pagination": pagination }))
            }
            ["cosmos", "staking", "v1beta1", "validators", op] => {
                q.only(&[], false)?;
                match self.bonded.iter().find(|b| b.operator == *op) {
                    Some(b) => data(json!({ "validator": sdk_json::validator(b) })),
                    None => Answer::Error(404, 5, format!("validator {op} not found")),
                }
            }
            ["cosmos", "staking", "v1beta1", "params"] => {
                q.only(&[], false)?;
                data(json!({ "params": {
                    "unbonding_time": "1814400s",
                    "max_validators": 100,
                    "max_entries": 7,
                    "historical_entries": 10000,
                    "bond_denom": DENOM,
                    "min_commission_rate": "0.000000000000000000",
                } }))
            }
            ["cosmos", "upgrade", "v1beta1", "current_plan"] => {
                q.only(&[], false)?;
                data(json!({ "plan": null }))
            }
            ["cosmos", "gov", v, "proposals"] => {
                let v1 = gov(v)?;
                q.only(&["proposal_status", "voter", "depositor"], true)?;
                if q.get("voter").is_some_and(|x| !x.is_empty())
                    || q.get("depositor").is_some_and(|x| !x.is_empty())
                {
                    return Err(Answer::Unserved("proposals by voter or depositor".into()));
                }
                let s = q.get("proposal_status").unwrap_or("0");
                let by_name = || {
                    let p = sdk_json::STATUS_NAMES.iter().position(|n| *n == s);
                    p.map(|p| p as u8)
                };
                let status = match s.parse::<u8>().ok().or_else(by_name) {
                    Some(x) if usize::from(x) < sdk_json::STATUS_NAMES.len() => x,
                    _ => {
                        return Err(invalid(format!(
                            "parsing field \"proposal_status\": {s:?} is not a ProposalStatus"
                        )))
                    }
                };
                let list: Vec<&Proposal> = self
                    .proposals
                    .iter()
                    .filter(|p| status == 0 || p.status == status)
                    .collect();
                let (page, pagination) = paginate(list, q)?;
                let ps: Vec<Value> = page
                    .into_iter()
                    .map(|p| if v1 { p.v1(&self.account) } else { p.v1beta1() })
                    .collect();
                data(json!({ "proposals": ps, "pagination": pagination }))
            }
            ["cosmos", "gov", v, "proposals", id, "votes", voter] => {
                let v1 = gov(v)?;
                q.only(&[], false)?;
                let id: u64 = id
                    .parse()
                    .map_err(|_| invalid(format!("type mismatch, parameter: proposal_id, error: strconv.ParseUint: parsing {id:?}: invalid syntax")))?;
                if id == VOTED && *voter == self.account {
                    data(sdk_json::vote(id, voter, v1))
                } else {
                    invalid(format!("voter: {voter} not found for proposal: {id}"))
                }
            }
            ["cosmos", "bank", "v1beta1", "balances", addr, "by_denom"] => {
                q.only(&["denom"], false)?;
                let denom = q.get("denom").unwrap_or("");
                if denom.is_empty() {
                    return Err(invalid("invalid denom"));
                }
                if ::watch::bech32::decode(addr).is_err() {
                    return Err(invalid(format!(
                        "invalid address: decoding bech32 failed: {addr}"
                    )));
                }
                let amount = match (denom == DENOM, *addr == self.wallet, *addr == self.account) {
                    (true, true, _) => WALLET_AMOUNT,
                    (true, _, true) => 1_000 * POWER_REDUCTION,
                    _ => 0,
                };
                data(json!({ "balance": { "denom": denom, "amount": amount.to_string() } }))
            }
            _ => Answer::Unserved("no such route".into()),
        })
    }
}

/// A replayed chain's REST port.
#[derive(Debug)]
pub struct RestPort(pub Arc<Chain>);

impl Service for RestPort {
    fn handle(&self, req: &Request) -> Response {
        let c = &self.0;
        let k = &c.counters;
        let path = req.path();
        let query = req.target.split_once('?').map_or("", |(_, q)| q);
        k.rest.fetch_add(1, Ordering::Relaxed);
        if is_slow(path) {
            k.rest_slow.fetch_add(1, Ordering::Relaxed);
        }
        if path.ends_with("/by_denom") && path.contains(&c.sdk.wallet) {
            k.wallet_reads.fetch_add(1, Ordering::Relaxed);
        }
        let answer = if req.method == "GET" {
            let latest = c.height.load(Ordering::SeqCst);
            c.sdk
                .answer(path, query, latest, &|h| c.fixture.block(&c.clock, h))
        } else {
            Answer::Unserved(format!("method {}", req.method))
        };
        if let Answer::Unserved(why) = &answer {
            k.rest_unserved.fetch_add(1, Ordering::Relaxed);
            c.unserved
                .note(format!("{} {}: {why}", req.method, req.target));
        }
        let (status, body) = answer.reply();
        Response::json(status, serde_json::to_vec(&body).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests;

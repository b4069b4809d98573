//! A small client for the Cosmos SDK REST API (the gRPC gateway, the same paths on
//! v0.46 to v0.50) that checks what it reads: bad data is an error, never a default.
//! A module the chain does not serve is [`Reply::Unavailable`], not an error.

use crate::collect::rpc::{Endpoint, NoAnswer};
use crate::collect::sdk::source::{garbage, Head, Reply, SdkError};
use crate::sdk::{allowed_missed, SigningInfo, SlashingParams, UpgradePlan, Validator};
use crate::state::Ts;
use serde_json::Value;
use std::time::Duration;

const PARAMS: &str = "/cosmos/slashing/v1beta1/params";
const PLAN: &str = "/cosmos/upgrade/v1beta1/current_plan";

/// A REST client for one endpoint.
#[derive(Debug, Clone)]
pub struct Rest {
    ep: Endpoint,
}

impl Rest {
    /// A client for `base` (e.g. `http://127.0.0.1:1317`).
    pub fn new(http: reqwest::Client, base: &str, timeout: Duration) -> Self {
        Self {
            ep: Endpoint::new(http, base, timeout),
        }
    }

    /// The endpoint URL.
    pub fn url(&self) -> &str {
        self.ep.url()
    }

    /// GET `path` (starting with `/`).
    pub async fn get(&self, path: &str) -> Result<Reply<Value>, SdkError> {
        let (status, body) = self.ep.fetch(path).await.map_err(|e| match e {
            NoAnswer::Timeout(t) => SdkError::Timeout(t),
            NoAnswer::Unreachable(m) => SdkError::Unreachable(m),
        })?;
        classify(path, status, &body)
    }

    /// The latest block's header.
    pub async fn head(&self) -> Result<Head, SdkError> {
        let path = "/cosmos/base/tendermint/v1beta1/blocks/latest";
        parse_head(path, &self.data(path).await?)
    }

    /// The header of block `height`.
    pub async fn head_at(&self, height: u64) -> Result<Head, SdkError> {
        let path = format!("/cosmos/base/tendermint/v1beta1/blocks/{height}");
        parse_head(&path, &self.data(&path).await?)
    }

    /// The slashing parameters.
    pub async fn slashing_params(&self) -> Result<Reply<SlashingParams>, SdkError> {
        self.get(PARAMS)
            .await?
            .and_then(|v| parse_slashing_params(PARAMS, &v))
    }

    /// The signing info of consensus address `valcons`.
    pub async fn signing_info(&self, valcons: &str) -> Result<Reply<SigningInfo>, SdkError> {
        let path = format!("/cosmos/slashing/v1beta1/signing_infos/{valcons}");
        self.get(&path)
            .await?
            .and_then(|v| parse_signing_info(&path, &v, valcons))
    }

    /// The validator with operator address `valoper`.
    pub async fn validator(&self, valoper: &str) -> Result<Reply<Validator>, SdkError> {
        let path = format!("/cosmos/staking/v1beta1/validators/{valoper}");
        self.get(&path)
            .await?
            .and_then(|v| parse_validator(&path, &v, valoper))
    }

    /// The scheduled upgrade.
    pub async fn upgrade_plan(&self) -> Result<Reply<Option<UpgradePlan>>, SdkError> {
        self.get(PLAN)
            .await?
            .and_then(|v| parse_upgrade_plan(PLAN, &v))
    }

    async fn data(&self, path: &str) -> Result<Value, SdkError> {
        match self.get(path).await? {
            Reply::Data(v) => Ok(v),
            Reply::Unavailable => Err(garbage(
                path,
                "the endpoint does not serve the base tendermint service",
            )),
            Reply::NotFound(m) => Err(garbage(path, &m)),
        }
    }
}

/// Sort an HTTP answer into data, "not served", "not found" or an error.
pub fn classify(path: &str, status: u16, body: &[u8]) -> Result<Reply<Value>, SdkError> {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    if (200..300).contains(&status) {
        return match json {
            Some(v) if v.is_object() => Ok(Reply::Data(v)),
            _ => {
                let head = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
                Err(garbage(
                    path,
                    &format!("not a JSON object: {head:?}; is this the Cosmos SDK REST API (app.toml [api], usually port 1317)?"),
                ))
            }
        };
    }
    // gRPC gateway errors: {"code": N, "message": "..."}; 5 is NotFound, 12 Unimplemented.
    let code = json
        .as_ref()
        .and_then(|v| v.get("code"))
        .and_then(Value::as_u64);
    let message = json
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned());
    match (status, code) {
        (_, Some(12)) | (501, _) => Ok(Reply::Unavailable),
        (_, Some(5)) => Ok(Reply::NotFound(message)),
        (404, None) => Ok(Reply::Unavailable),
        _ => Err(SdkError::Http {
            status,
            path: path.to_string(),
            message,
        }),
    }
}

pub(super) fn missing(path: &str, what: &str) -> SdkError {
    garbage(path, &format!("missing or malformed {what}"))
}

pub(super) fn str_at<'a>(path: &str, v: &'a Value, ptr: &str) -> Result<&'a str, SdkError> {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .ok_or_else(|| missing(path, ptr))
}

/// The gateway writes 64-bit integers as strings; accept numbers too.
pub(super) fn u64_at(path: &str, v: &Value, ptr: &str) -> Result<u64, SdkError> {
    match v.pointer(ptr) {
        Some(Value::String(s)) => s.parse().map_err(|_| missing(path, ptr)),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| missing(path, ptr)),
        _ => Err(missing(path, ptr)),
    }
}

fn bool_at(path: &str, v: &Value, ptr: &str) -> Result<bool, SdkError> {
    match v.pointer(ptr) {
        Some(Value::Bool(b)) => Ok(*b),
        None => Ok(false),
        _ => Err(missing(path, ptr)),
    }
}

pub(super) fn time_at(path: &str, v: &Value, ptr: &str) -> Result<Ts, SdkError> {
    let s = str_at(path, v, ptr)?;
    match humantime::parse_rfc3339(s) {
        Ok(t) => Ok(t
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())),
        // Go's zero time (year 1) means "never".
        Err(_)
            if s.get(..4)
                .and_then(|y| y.parse::<u32>().ok())
                .is_some_and(|y| y < 1970) =>
        {
            Ok(0.0)
        }
        Err(_) => Err(missing(path, ptr)),
    }
}

/// A `blocks/latest` (or `blocks/{h}`) answer's header.
pub fn parse_head(path: &str, v: &Value) -> Result<Head, SdkError> {
    // v0.50 also sends `sdk_block`; `block` is there on every version.
    let h = v
        .pointer("/block/header")
        .or_else(|| v.pointer("/sdk_block/header"))
        .ok_or_else(|| missing(path, "/block/header"))?;
    Ok(Head {
        chain_id: str_at(path, h, "/chain_id")?.to_string(),
        height: u64_at(path, h, "/height")?,
        time: time_at(path, h, "/time")?,
    })
}

/// A `slashing/v1beta1/params` answer.
pub fn parse_slashing_params(path: &str, v: &Value) -> Result<SlashingParams, SdkError> {
    let window = u64_at(path, v, "/params/signed_blocks_window")?;
    let min = str_at(path, v, "/params/min_signed_per_window")?;
    if window == 0 {
        return Err(garbage(path, "signed_blocks_window is 0"));
    }
    let allowed = allowed_missed(window, min).ok_or_else(|| {
        garbage(
            path,
            &format!("min_signed_per_window {min:?} is not a decimal between 0 and 1"),
        )
    })?;
    let opt = |ptr: &str| {
        v.pointer(ptr)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    Ok(SlashingParams {
        signed_blocks_window: window,
        min_signed_per_window: min.to_string(),
        allowed_missed_blocks: allowed,
        downtime_jail_duration: opt("/params/downtime_jail_duration"),
        slash_fraction_downtime: opt("/params/slash_fraction_downtime"),
    })
}

/// A `signing_infos/{valcons}` answer, which must be about `address`.
pub fn parse_signing_info(path: &str, v: &Value, address: &str) -> Result<SigningInfo, SdkError> {
    let i = v
        .get("val_signing_info")
        .ok_or_else(|| missing(path, "/val_signing_info"))?;
    let got = str_at(path, i, "/address")?;
    if got != address {
        return Err(garbage(
            path,
            &format!("signing info is for {got}, not {address}"),
        ));
    }
    let until = time_at(path, i, "/jailed_until")?;
    Ok(SigningInfo {
        address: got.to_string(),
        start_height: u64_at(path, i, "/start_height")?,
        missed_blocks_counter: u64_at(path, i, "/missed_blocks_counter")?,
        jailed_until: (until > 0.0).then_some(until),
        tombstoned: bool_at(path, i, "/tombstoned")?,
    })
}

/// A `staking/v1beta1/validators/{valoper}` answer, which must be about `operator`.
pub fn parse_validator(path: &str, v: &Value, operator: &str) -> Result<Validator, SdkError> {
    let val = v
        .get("validator")
        .ok_or_else(|| missing(path, "/validator"))?;
    let got = str_at(path, val, "/operator_address")?;
    if got != operator {
        return Err(garbage(
            path,
            &format!("validator is {got}, not {operator}"),
        ));
    }
    let status = str_at(path, val, "/status")?;
    if !status.starts_with("BOND_STATUS_") {
        return Err(garbage(path, &format!("unknown status {status:?}")));
    }
    Ok(Validator {
        operator_address: got.to_string(),
        moniker: val
            .pointer("/description/moniker")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        status: status.to_string(),
        jailed: bool_at(path, val, "/jailed")?,
        tokens: str_at(path, val, "/tokens")?.to_string(),
        commission_rate: val
            .pointer("/commission/commission_rates/rate")
            .and_then(Value::as_str)
            .map(str::to_string),
        consensus_pubkey: val.get("consensus_pubkey").and_then(|k| {
            Some(crate::sdk::ConsensusKey {
                kind: k.get("@type")?.as_str()?.to_string(),
                key: k.get("key")?.as_str()?.to_string(),
            })
        }),
    })
}

/// An `upgrade/v1beta1/current_plan` answer: `None` when nothing is scheduled.
pub fn parse_upgrade_plan(path: &str, v: &Value) -> Result<Option<UpgradePlan>, SdkError> {
    match v.get("plan") {
        Some(Value::Null) => Ok(None),
        Some(p @ Value::Object(_)) => Ok(Some(UpgradePlan {
            name: str_at(path, p, "/name")?.to_string(),
            height: u64_at(path, p, "/height")?,
            info: p
                .get("info")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        })),
        _ => Err(missing(path, "/plan")),
    }
}

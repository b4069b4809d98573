//! The protobuf messages of the Cosmos SDK queries the watch makes by ABCI (the parts
//! used; unknown fields are skipped), and their conversion to the same values the REST
//! API gives, so both ways of reading fill [`crate::sdk`] alike.

use crate::sdk::{allowed_missed, SigningInfo, SlashingParams, UpgradePlan, Validator};
use base64::Engine as _;
use prost::Message;

/// `cosmos.slashing.v1beta1.QuerySigningInfoRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct SigningInfoRequest {
    /// Consensus address, bech32.
    #[prost(string, tag = "1")]
    pub cons_address: String,
}

/// `cosmos.staking.v1beta1.QueryValidatorRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct ValidatorRequest {
    /// Operator address, bech32.
    #[prost(string, tag = "1")]
    pub validator_addr: String,
}

#[derive(Clone, PartialEq, Message)]
struct Timestamp {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

#[derive(Clone, PartialEq, Message)]
struct ProtoDuration {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

#[derive(Clone, PartialEq, Message)]
struct ParamsResponse {
    #[prost(message, optional, tag = "1")]
    params: Option<Params>,
}

#[derive(Clone, PartialEq, Message)]
struct Params {
    #[prost(int64, tag = "1")]
    signed_blocks_window: i64,
    #[prost(bytes = "vec", tag = "2")]
    min_signed_per_window: Vec<u8>,
    #[prost(message, optional, tag = "3")]
    downtime_jail_duration: Option<ProtoDuration>,
    #[prost(bytes = "vec", tag = "5")]
    slash_fraction_downtime: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
struct SigningInfoResponse {
    #[prost(message, optional, tag = "1")]
    val_signing_info: Option<ProtoSigningInfo>,
}

#[derive(Clone, PartialEq, Message)]
struct ProtoSigningInfo {
    #[prost(string, tag = "1")]
    address: String,
    #[prost(int64, tag = "2")]
    start_height: i64,
    #[prost(message, optional, tag = "4")]
    jailed_until: Option<Timestamp>,
    #[prost(bool, tag = "5")]
    tombstoned: bool,
    #[prost(int64, tag = "6")]
    missed_blocks_counter: i64,
}

#[derive(Clone, PartialEq, Message)]
struct ValidatorResponse {
    #[prost(message, optional, tag = "1")]
    validator: Option<ProtoValidator>,
}

#[derive(Clone, PartialEq, Message)]
struct ProtoValidator {
    #[prost(string, tag = "1")]
    operator_address: String,
    #[prost(message, optional, tag = "2")]
    consensus_pubkey: Option<ProtoAny>,
    #[prost(bool, tag = "3")]
    jailed: bool,
    #[prost(int32, tag = "4")]
    status: i32,
    #[prost(string, tag = "5")]
    tokens: String,
    #[prost(message, optional, tag = "7")]
    description: Option<Description>,
    #[prost(message, optional, tag = "10")]
    commission: Option<Commission>,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, Message)]
struct ProtoAny {
    #[prost(string, tag = "1")]
    type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

/// A `cosmos.crypto.*.PubKey`: its key bytes.
#[derive(Clone, PartialEq, Message)]
struct ProtoPubKey {
    #[prost(bytes = "vec", tag = "1")]
    key: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
struct Commission {
    #[prost(message, optional, tag = "1")]
    commission_rates: Option<CommissionRates>,
}

#[derive(Clone, PartialEq, Message)]
struct CommissionRates {
    #[prost(string, tag = "1")]
    rate: String,
}

#[derive(Clone, PartialEq, Message)]
struct Description {
    #[prost(string, tag = "1")]
    moniker: String,
}

#[derive(Clone, PartialEq, Message)]
struct PlanResponse {
    #[prost(message, optional, tag = "1")]
    plan: Option<Plan>,
}

#[derive(Clone, PartialEq, Message)]
struct Plan {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(int64, tag = "3")]
    height: i64,
    #[prost(string, tag = "4")]
    info: String,
}

fn decode<M: Message + Default>(bytes: &[u8], what: &str) -> Result<M, String> {
    M::decode(bytes).map_err(|e| format!("not a {what}: {e}"))
}

fn non_negative(v: i64, what: &str) -> Result<u64, String> {
    u64::try_from(v).map_err(|_| format!("{what} is negative ({v})"))
}

/// A `cosmossdk.io/math` decimal as it travels in protobuf (the integer of its value
/// times 10^18, in ASCII) written as the REST API writes it (`0.050000000000000000`).
pub fn legacy_dec(bytes: &[u8], what: &str) -> Result<String, String> {
    let s = std::str::from_utf8(bytes).map_err(|_| format!("{what} is not text"))?;
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, if s.is_empty() { "0" } else { s }),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what} {s:?} is not a decimal"));
    }
    let padded = format!("{digits:0>19}");
    let (int, frac) = padded.split_at(padded.len() - 18);
    Ok(format!("{}{int}.{frac}", if neg { "-" } else { "" }))
}

/// A protobuf duration as the REST API writes it (`600s`, `0.5s`).
fn duration_text(d: &ProtoDuration) -> String {
    if d.nanos == 0 {
        format!("{}s", d.seconds)
    } else {
        let frac = format!("{:09}", d.nanos.unsigned_abs());
        format!("{}.{}s", d.seconds, frac.trim_end_matches('0'))
    }
}

/// A `QueryParamsResponse` of the slashing module.
pub fn slashing_params(bytes: &[u8]) -> Result<SlashingParams, String> {
    let r: ParamsResponse = decode(bytes, "slashing QueryParamsResponse")?;
    let p = r.params.ok_or("no params")?;
    let window = non_negative(p.signed_blocks_window, "signed_blocks_window")?;
    if window == 0 {
        return Err("signed_blocks_window is 0".into());
    }
    let min = legacy_dec(&p.min_signed_per_window, "min_signed_per_window")?;
    let allowed = allowed_missed(window, &min)
        .ok_or_else(|| format!("min_signed_per_window {min:?} is not a decimal between 0 and 1"))?;
    Ok(SlashingParams {
        signed_blocks_window: window,
        min_signed_per_window: min,
        allowed_missed_blocks: allowed,
        downtime_jail_duration: p
            .downtime_jail_duration
            .as_ref()
            .map_or_else(String::new, duration_text),
        slash_fraction_downtime: legacy_dec(&p.slash_fraction_downtime, "slash_fraction_downtime")?,
    })
}

/// A `QuerySigningInfoResponse`, which must be about `address`.
pub fn signing_info(bytes: &[u8], address: &str) -> Result<SigningInfo, String> {
    let r: SigningInfoResponse = decode(bytes, "QuerySigningInfoResponse")?;
    let i = r.val_signing_info.ok_or("no val_signing_info")?;
    if i.address != address {
        return Err(format!(
            "signing info is for {:?}, not {address}",
            i.address
        ));
    }
    // Go's zero time (year 1) and the epoch mean "never jailed".
    let until = i
        .jailed_until
        .filter(|t| t.seconds > 0)
        .map(|t| t.seconds as f64 + f64::from(t.nanos) / 1e9);
    Ok(SigningInfo {
        address: i.address,
        start_height: non_negative(i.start_height, "start_height")?,
        missed_blocks_counter: non_negative(i.missed_blocks_counter, "missed_blocks_counter")?,
        jailed_until: until,
        tombstoned: i.tombstoned,
    })
}

/// A `QueryValidatorResponse`, which must be about `operator`.
pub fn validator(bytes: &[u8], operator: &str) -> Result<Validator, String> {
    let r: ValidatorResponse = decode(bytes, "QueryValidatorResponse")?;
    let v = r.validator.ok_or("no validator")?;
    if v.operator_address != operator {
        return Err(format!(
            "validator is {:?}, not {operator}",
            v.operator_address
        ));
    }
    let status = match v.status {
        1 => "BOND_STATUS_UNBONDED",
        2 => "BOND_STATUS_UNBONDING",
        3 => "BOND_STATUS_BONDED",
        s => return Err(format!("unknown bond status {s}")),
    };
    if v.tokens.is_empty() || !v.tokens.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("tokens {:?} is not an amount", v.tokens));
    }
    let commission_rate = v
        .commission
        .and_then(|c| c.commission_rates)
        .map(|r| legacy_dec(r.rate.as_bytes(), "commission rate"))
        .transpose()?;
    let consensus_pubkey = v
        .consensus_pubkey
        .map(|any| -> Result<crate::sdk::ConsensusKey, String> {
            let k: ProtoPubKey = decode(&any.value, "PubKey")?;
            Ok(crate::sdk::ConsensusKey {
                kind: any.type_url,
                key: base64::engine::general_purpose::STANDARD.encode(k.key),
            })
        })
        .transpose()?;
    Ok(Validator {
        commission_rate,
        consensus_pubkey,
        operator_address: v.operator_address,
        moniker: v.description.map(|d| d.moniker).unwrap_or_default(),
        status: status.to_string(),
        jailed: v.jailed,
        tokens: v.tokens,
    })
}

/// A `QueryCurrentPlanResponse`: `None` when nothing is scheduled.
pub fn upgrade_plan(bytes: &[u8]) -> Result<Option<UpgradePlan>, String> {
    let r: PlanResponse = decode(bytes, "QueryCurrentPlanResponse")?;
    r.plan
        .map(|p| {
            Ok(UpgradePlan {
                height: non_negative(p.height, "plan height")?,
                name: p.name,
                info: p.info,
            })
        })
        .transpose()
}

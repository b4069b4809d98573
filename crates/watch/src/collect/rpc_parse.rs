//! The parsers of CometBFT RPC answers: bad data is an error, never a default.

use super::rpc::{Block, RpcError, Status};
use serde_json::Value;

/// The `result` object of a JSON-RPC response body; an `error` object, a body that
/// is not JSON or one without a result is an error.
pub fn parse_result(body: &[u8]) -> Result<Value, RpcError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        let head = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
        RpcError::Garbage(format!("not JSON ({e}): {head:?}"))
    })?;
    if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
        return Err(RpcError::Rpc(err.to_string()));
    }
    v.get("result")
        .filter(|r| r.is_object())
        .cloned()
        .ok_or_else(|| RpcError::Garbage("no result object".into()))
}

/// The parts of a `/status` result that are used.
pub fn parse_status(r: &Value) -> Result<Status, RpcError> {
    Ok(Status {
        network: str_at(r, "/node_info/network")?.to_string(),
        height: u64_at(r, "/sync_info/latest_block_height")?,
        catching_up: r
            .pointer("/sync_info/catching_up")
            .and_then(Value::as_bool)
            .ok_or_else(|| garbage("/sync_info/catching_up"))?,
        block_time: unix_time(r, "/sync_info/latest_block_time"),
    })
}

/// An RFC 3339 time at `ptr` as unix seconds.
pub(super) fn unix_time(v: &Value, ptr: &str) -> Option<f64> {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .and_then(|t| humantime::parse_rfc3339(t).ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs_f64())
}

/// The block of a `NewBlock` event's `data.value` (it has the shape of a `/block`
/// result), at the height its header gives.
pub fn parse_event_block(value: &Value) -> Result<Block, RpcError> {
    let height = u64_at(value, "/block/header/height")?;
    parse_block(value, height)
}

/// The parts of a `/block` result that are used; `height` is the height asked for.
pub fn parse_block(r: &Value, height: u64) -> Result<Block, RpcError> {
    let b = r.get("block").ok_or_else(|| garbage("/block"))?;
    let got = u64_at(b, "/header/height")?;
    if got != height {
        return Err(RpcError::Garbage(format!(
            "asked for block {height}, got {got}"
        )));
    }
    let sigs = b
        .pointer("/last_commit/signatures")
        .and_then(Value::as_array)
        .ok_or_else(|| garbage("/last_commit/signatures"))?;
    let mut signatures = Vec::with_capacity(sigs.len());
    for s in sigs {
        let flag = s
            .get("block_id_flag")
            .and_then(Value::as_u64)
            .filter(|f| (1..=3).contains(f))
            .ok_or_else(|| garbage("block_id_flag"))?;
        let addr = s
            .get("validator_address")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_uppercase();
        signatures.push((flag, addr));
    }
    Ok(Block {
        height,
        chain_id: str_at(b, "/header/chain_id")?.to_string(),
        validators_hash: str_at(b, "/header/validators_hash")?.to_string(),
        commit_height: u64_at(b, "/last_commit/height")?,
        commit_round: b
            .pointer("/last_commit/round")
            .and_then(Value::as_u64)
            .and_then(|r| u32::try_from(r).ok()),
        signatures,
        time: unix_time(b, "/header/time"),
        evidence: parse_evidence(b),
    })
}

/// The offences in a block's `evidence.evidence`: a duplicate vote names its validator,
/// a light-client attack its byzantine validators. Unknown kinds are skipped.
pub(super) fn parse_evidence(b: &Value) -> Vec<(u64, String)> {
    let list = b
        .pointer("/evidence/evidence")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let mut out = Vec::new();
    let height = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.parse().ok(),
        Some(Value::Number(n)) => n.as_u64(),
        _ => None,
    };
    for e in list {
        let v = &e["value"];
        match e["type"].as_str() {
            Some("tendermint/DuplicateVoteEvidence") => {
                let a = &v["vote_a"];
                if let (Some(h), Some(addr)) =
                    (height(a.get("height")), a["validator_address"].as_str())
                {
                    out.push((h, addr.to_ascii_uppercase()));
                }
            }
            Some("tendermint/LightClientAttackEvidence") => {
                let h = height(v.get("CommonHeight")).unwrap_or(0);
                for val in v["ByzantineValidators"].as_array().into_iter().flatten() {
                    if let Some(addr) = val["address"].as_str() {
                        out.push((h, addr.to_ascii_uppercase()));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// One page of a `/validators` result: the total count and this page's addresses
/// (upper-case hex).
pub fn parse_validators(r: &Value) -> Result<(u64, Vec<String>), RpcError> {
    let total = u64_at(r, "/total")?;
    let vals = r
        .get("validators")
        .and_then(Value::as_array)
        .ok_or_else(|| garbage("/validators"))?;
    let addrs = vals
        .iter()
        .map(|v| str_at(v, "/address").map(str::to_ascii_uppercase))
        .collect::<Result<_, _>>()?;
    Ok((total, addrs))
}

pub(super) fn garbage(what: &str) -> RpcError {
    RpcError::Garbage(format!("missing or malformed {what}"))
}

pub(super) fn str_at<'a>(v: &'a Value, ptr: &str) -> Result<&'a str, RpcError> {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .ok_or_else(|| garbage(ptr))
}

/// CometBFT sends integers as strings; accept both.
pub(super) fn u64_at(v: &Value, ptr: &str) -> Result<u64, RpcError> {
    match v.pointer(ptr) {
        Some(Value::String(s)) => s.parse().map_err(|_| garbage(ptr)),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| garbage(ptr)),
        _ => Err(garbage(ptr)),
    }
}

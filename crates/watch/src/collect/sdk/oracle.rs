//! Our validator in a price-oracle module, over REST: `{prefix}/params` (vote period,
//! slash window, minimum valid share) and `{prefix}/validators/{valoper}/miss`.

use crate::collect::sdk::rest::Rest;
use crate::collect::sdk::source::{garbage, Reply, SdkError};
use crate::sdk::{Oracle, OracleParams};
use serde_json::Value;

/// Read the module's parameters and our miss counter at `height`.
pub async fn read(
    rest: &Rest,
    prefix: &str,
    valoper: &str,
    height: u64,
) -> Result<Reply<Oracle>, SdkError> {
    let path = format!("{prefix}/params");
    let params = match rest.get(&path).await? {
        Reply::Data(v) => parse_params(&path, &v)?,
        Reply::Unavailable => return Ok(Reply::Unavailable),
        Reply::NotFound(m) => return Ok(Reply::NotFound(m)),
    };
    let path = format!("{prefix}/validators/{valoper}/miss");
    rest.get(&path).await?.and_then(|v| {
        Ok(Oracle {
            miss_counter: parse_miss(&path, &v)?,
            params,
            height,
        })
    })
}

fn uint(path: &str, v: &Value, key: &str) -> Result<u64, SdkError> {
    match v.get(key) {
        Some(Value::String(s)) => s.parse().ok(),
        Some(Value::Number(n)) => n.as_u64(),
        _ => None,
    }
    .ok_or_else(|| garbage(path, &format!("{key} is not a count: {:?}", v.get(key))))
}

/// A `{prefix}/params` answer.
pub fn parse_params(path: &str, v: &Value) -> Result<OracleParams, SdkError> {
    let p = v.get("params").ok_or_else(|| garbage(path, "no params"))?;
    let params = OracleParams {
        vote_period: uint(path, p, "vote_period")?,
        slash_window: uint(path, p, "slash_window")?,
        min_valid_per_window: p
            .get("min_valid_per_window")
            .and_then(Value::as_str)
            .ok_or_else(|| garbage(path, "no min_valid_per_window"))?
            .to_string(),
    };
    if params.vote_period == 0 || params.slash_window < params.vote_period {
        return Err(garbage(
            path,
            &format!(
                "vote_period {} and slash_window {} do not make a window of vote periods",
                params.vote_period, params.slash_window
            ),
        ));
    }
    if params.allowed_misses().is_none() {
        return Err(garbage(
            path,
            &format!(
                "min_valid_per_window {:?} is not a share between 0 and 1",
                params.min_valid_per_window
            ),
        ));
    }
    Ok(params)
}

/// A `{prefix}/validators/{valoper}/miss` answer.
pub fn parse_miss(path: &str, v: &Value) -> Result<u64, SdkError> {
    uint(path, v, "miss_counter")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bad_parameters_and_counters_are_refused() {
        let ok = json!({"params": {"vote_period": "5", "slash_window": "100", "min_valid_per_window": "0.05"}});
        assert_eq!(parse_params("/p", &ok).unwrap().periods(), 20);
        for (bad, why) in [
            (json!({}), "no params"),
            (
                json!({"params": {"vote_period": "x", "slash_window": "100", "min_valid_per_window": "0.05"}}),
                "vote_period is not a count",
            ),
            (
                json!({"params": {"vote_period": "0", "slash_window": "100", "min_valid_per_window": "0.05"}}),
                "do not make a window",
            ),
            (
                json!({"params": {"vote_period": "5", "slash_window": "100", "min_valid_per_window": "1.5"}}),
                "not a share between 0 and 1",
            ),
            (
                json!({"params": {"vote_period": "5", "slash_window": "100"}}),
                "no min_valid_per_window",
            ),
        ] {
            let e = parse_params("/p", &bad).unwrap_err().to_string();
            assert!(e.contains(why), "{why:?} not in {e}");
        }
        assert_eq!(parse_miss("/m", &json!({"miss_counter": "7"})).unwrap(), 7);
        assert!(parse_miss("/m", &json!({"miss_counter": "-1"})).is_err());
        assert!(parse_miss("/m", &json!({})).is_err());
    }
}

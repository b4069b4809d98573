//! `/status`.

use crate::value::{str_at, time_at, u64_at, unix_seconds};
use crate::ParseError;
use serde_json::Value;
use std::time::SystemTime;

/// The parts of `/status` that are used.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// `node_info.network`: the chain ID.
    pub network: String,
    /// `node_info.id`, when given.
    pub node_id: Option<String>,
    /// `sync_info.latest_block_height`.
    pub height: u64,
    /// `sync_info.earliest_block_height`: the oldest block the node still serves.
    pub earliest_height: Option<u64>,
    /// `sync_info.catching_up`.
    pub catching_up: bool,
    /// `sync_info.latest_block_time`, when it parses.
    pub block_time: Option<SystemTime>,
    /// `validator_info.address` (hex), when given.
    pub validator_address: Option<String>,
}

impl Status {
    /// The latest block's time as unix seconds.
    pub fn block_time_unix(&self) -> Option<f64> {
        self.block_time.and_then(unix_seconds)
    }
}

/// The parts of a `/status` result that are used.
pub fn parse_status(r: &Value) -> Result<Status, ParseError> {
    let opt = |ptr: &str| r.pointer(ptr).and_then(Value::as_str).map(str::to_string);
    Ok(Status {
        network: str_at(r, "/node_info/network")?.to_string(),
        node_id: opt("/node_info/id"),
        height: u64_at(r, "/sync_info/latest_block_height")?,
        earliest_height: u64_at(r, "/sync_info/earliest_block_height").ok(),
        catching_up: r
            .pointer("/sync_info/catching_up")
            .and_then(Value::as_bool)
            .ok_or_else(|| crate::value::garbage("/sync_info/catching_up"))?,
        block_time: time_at(r, "/sync_info/latest_block_time"),
        validator_address: opt("/validator_info/address"),
    })
}

/// The number of peers in a `/net_info` result.
pub fn parse_peer_count(r: &Value) -> Result<u64, ParseError> {
    u64_at(r, "/n_peers")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_status_reads_and_bad_fields_are_named() {
        let r = json!({
            "node_info": {"network": "c", "id": "ab"},
            "sync_info": {"latest_block_height": "42", "catching_up": false,
                          "latest_block_time": "2026-01-01T00:00:01.5Z"},
            "validator_info": {"address": "DEAD"}
        });
        let s = parse_status(&r).unwrap();
        assert_eq!(
            (s.network.as_str(), s.height, s.catching_up),
            ("c", 42, false)
        );
        assert_eq!(s.node_id.as_deref(), Some("ab"));
        assert_eq!(s.validator_address.as_deref(), Some("DEAD"));
        assert_eq!(s.block_time_unix(), Some(1_767_225_601.5));
        let mut bad = r.clone();
        bad["sync_info"]["latest_block_height"] = json!("x");
        assert!(parse_status(&bad)
            .unwrap_err()
            .to_string()
            .contains("latest_block_height"));
        let mut bad = r;
        bad["sync_info"]["catching_up"] = json!("no");
        assert!(parse_status(&bad)
            .unwrap_err()
            .to_string()
            .contains("catching_up"));
    }
}

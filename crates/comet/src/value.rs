//! Reading fields out of CometBFT JSON, which sends integers as strings.

use crate::ParseError;
use serde_json::Value;
use std::time::SystemTime;

pub(crate) fn garbage(what: &str) -> ParseError {
    ParseError::Garbage(format!("missing or malformed {what}"))
}

pub(crate) fn str_at<'a>(v: &'a Value, ptr: &str) -> Result<&'a str, ParseError> {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .ok_or_else(|| garbage(ptr))
}

/// An integer sent as a string or a number.
pub(crate) fn u64_of(v: Option<&Value>) -> Option<u64> {
    match v {
        Some(Value::String(s)) => s.parse().ok(),
        Some(Value::Number(n)) => n.as_u64(),
        _ => None,
    }
}

pub(crate) fn u64_at(v: &Value, ptr: &str) -> Result<u64, ParseError> {
    u64_of(v.pointer(ptr)).ok_or_else(|| garbage(ptr))
}

/// An RFC 3339 time at `ptr`, when it parses.
pub(crate) fn time_at(v: &Value, ptr: &str) -> Option<SystemTime> {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .and_then(|t| humantime::parse_rfc3339(t).ok())
}

/// A time as unix seconds.
pub(crate) fn unix_seconds(t: SystemTime) -> Option<f64> {
    t.duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs_f64())
}

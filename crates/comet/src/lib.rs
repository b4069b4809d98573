//! CometBFT RPC types and pure parsers: what `/status`, `/block`, `/commit`,
//! `/validators` and `NewBlock` events say, checked as they are read (bad data is an
//! error, never a default). No HTTP client: each caller keeps its own transport and
//! hands the JSON here.
//!
//! Block N's `last_commit` holds the signatures for N-1; `/commit?height=N` holds them
//! for N itself (for the tip, the commit the node has seen, which may lack slow votes).

#![forbid(unsafe_code)]

mod block;
mod commit;
pub mod proposer;
mod status;
mod value;

pub use block::{parse_block, parse_event_block, parse_validators, Block, Offence};
pub use commit::{parse_commit, Commit, Signature, FLAG_ABSENT, FLAG_COMMIT, FLAG_NIL};
pub use status::{parse_peer_count, parse_status, Status};

use serde_json::Value;

/// Why an RPC answer could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The body is not the JSON CometBFT sends.
    #[error("garbage response: {0}")]
    Garbage(String),
    /// CometBFT answered with an error object.
    #[error("RPC error: {0}")]
    Rpc(String),
}

/// The `result` object of a JSON-RPC response body; an `error` object, a body that is
/// not JSON or one without a result is an error.
pub fn parse_result(body: &[u8]) -> Result<Value, ParseError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        let head = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
        ParseError::Garbage(format!("not JSON ({e}): {head:?}"))
    })?;
    result_of(v)
}

/// The `result` object of an already parsed JSON-RPC response.
pub fn result_of(v: Value) -> Result<Value, ParseError> {
    if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
        return Err(ParseError::Rpc(err.to_string()));
    }
    match v.get("result") {
        Some(r) if r.is_object() => Ok(r.clone()),
        _ => Err(ParseError::Garbage("no result object".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_is_checked() {
        assert!(parse_result(br#"{"result":{"a":1}}"#).is_ok());
        assert!(matches!(
            parse_result(br#"{"error":{"code":-32603}}"#),
            Err(ParseError::Rpc(_))
        ));
        assert!(matches!(
            parse_result(b"<html>"),
            Err(ParseError::Garbage(e)) if e.contains("not JSON")
        ));
        assert!(matches!(
            parse_result(br#"{"result":3}"#),
            Err(ParseError::Garbage(_))
        ));
    }
}

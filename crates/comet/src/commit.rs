//! Commits: `/commit?height=` results and blocks' `last_commit`, and the one answer to
//! "does this commit carry this validator's signature?".

use crate::value::{garbage, u64_at};
use crate::ParseError;
use serde_json::Value;

/// `block_id_flag` of an absent validator (the Cosmos SDK counts only this as missed).
pub const FLAG_ABSENT: u64 = 1;
/// `block_id_flag` of a signature for the block.
pub const FLAG_COMMIT: u64 = 2;
/// `block_id_flag` of a nil vote (a signature by the key all the same).
pub const FLAG_NIL: u64 = 3;

/// One signature slot of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// `block_id_flag`: [`FLAG_ABSENT`], [`FLAG_COMMIT`] or [`FLAG_NIL`].
    pub flag: u64,
    /// Upper-case hex validator address (empty for absent slots, which carry none).
    pub address: String,
}

/// A commit: the precommits for one height.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// The height the commit is for.
    pub height: u64,
    /// The round at which it was committed, when given.
    pub round: Option<u32>,
    /// Every signature slot, in validator-set order.
    pub signatures: Vec<Signature>,
}

impl Commit {
    /// Whether `address` (hex, any case) signed: for the block or for nil, both are
    /// signatures by its key.
    pub fn signed_by(&self, address: &str) -> bool {
        self.signatures.iter().any(|s| {
            matches!(s.flag, FLAG_COMMIT | FLAG_NIL) && s.address.eq_ignore_ascii_case(address)
        })
    }
}

/// A commit object (`last_commit` of a block, `signed_header.commit` of `/commit`).
pub(crate) fn commit_object(c: &Value) -> Result<Commit, ParseError> {
    let sigs = c
        .get("signatures")
        .and_then(Value::as_array)
        .ok_or_else(|| garbage("commit signatures"))?;
    let mut signatures = Vec::with_capacity(sigs.len());
    for s in sigs {
        let flag = s
            .get("block_id_flag")
            .and_then(Value::as_u64)
            .filter(|f| (FLAG_ABSENT..=FLAG_NIL).contains(f))
            .ok_or_else(|| garbage("block_id_flag"))?;
        let address = s
            .get("validator_address")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_uppercase();
        signatures.push(Signature { flag, address });
    }
    Ok(Commit {
        height: u64_at(c, "/height")?,
        round: c
            .get("round")
            .and_then(Value::as_u64)
            .and_then(|r| u32::try_from(r).ok()),
        signatures,
    })
}

/// The commit of a `/commit` result.
pub fn parse_commit(r: &Value) -> Result<Commit, ParseError> {
    let c = r
        .pointer("/signed_header/commit")
        .ok_or_else(|| garbage("/signed_header/commit"))?;
    commit_object(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn commit(flag: u64) -> Value {
        json!({"signed_header": {"commit": {"height": "7", "round": 1, "signatures": [
            {"block_id_flag": flag, "validator_address": "abcd"},
            {"block_id_flag": 1, "validator_address": ""}
        ]}}})
    }

    #[test]
    fn block_and_nil_votes_are_signatures_absent_ones_are_not() {
        let c = parse_commit(&commit(2)).unwrap();
        assert_eq!((c.height, c.round), (7, Some(1)));
        assert!(c.signed_by("ABCD") && c.signed_by("abcd"));
        assert!(parse_commit(&commit(3)).unwrap().signed_by("ABCD"));
        assert!(!parse_commit(&commit(1)).unwrap().signed_by("ABCD"));
        assert!(!c.signed_by(""));
    }

    #[test]
    fn malformed_commits_are_errors() {
        assert!(parse_commit(&json!({})).is_err());
        assert!(parse_commit(&commit(9))
            .unwrap_err()
            .to_string()
            .contains("block_id_flag"));
        let mut c = commit(2);
        c["signed_header"]["commit"]["height"] = json!(null);
        assert!(parse_commit(&c).is_err());
    }
}

//! `/block` results, `NewBlock` events (the same shape) and `/validators` pages.

use crate::commit::{commit_object, Commit};
use crate::proposer::{parse_validator, Validator};
use crate::value::{garbage, str_at, time_at, u64_at, u64_of, unix_seconds};
use crate::ParseError;
use serde_json::Value;
use std::time::SystemTime;

/// The parts of a block that are used.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// Height of this block.
    pub height: u64,
    /// `header.chain_id`.
    pub chain_id: String,
    /// `header.validators_hash`: the validator set of this height.
    pub validators_hash: String,
    /// `last_commit`: the signatures for the height below.
    pub last_commit: Commit,
    /// `header.time`, when it parses.
    pub time: Option<SystemTime>,
    /// Double-signing evidence the block carries.
    pub evidence: Vec<Offence>,
    /// `header.proposer_address`: who proposed it (upper-case hex; empty when absent).
    pub proposer_address: String,
    /// Transactions in it (`data.txs`).
    pub num_txs: usize,
}

impl Block {
    /// The header's time as unix seconds.
    pub fn time_unix(&self) -> Option<f64> {
        self.time.and_then(unix_seconds)
    }
}

/// A validator named by evidence of signing twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offence {
    /// The height of the offence (a light-client attack's common height).
    pub height: u64,
    /// Upper-case hex address of the validator.
    pub address: String,
}

/// The block of a `NewBlock` event's `data.value` (it has the shape of a `/block`
/// result), at the height its header gives.
pub fn parse_event_block(value: &Value) -> Result<Block, ParseError> {
    let height = u64_at(value, "/block/header/height")?;
    parse_block(value, height)
}

/// The parts of a `/block` result that are used; `height` is the height asked for.
pub fn parse_block(r: &Value, height: u64) -> Result<Block, ParseError> {
    let b = r.get("block").ok_or_else(|| garbage("/block"))?;
    let got = u64_at(b, "/header/height")?;
    if got != height {
        return Err(ParseError::Garbage(format!(
            "asked for block {height}, got {got}"
        )));
    }
    let last_commit = b
        .get("last_commit")
        .ok_or_else(|| garbage("/last_commit"))
        .and_then(commit_object)?;
    Ok(Block {
        height,
        chain_id: str_at(b, "/header/chain_id")?.to_string(),
        validators_hash: str_at(b, "/header/validators_hash")?.to_string(),
        last_commit,
        time: time_at(b, "/header/time"),
        evidence: parse_evidence(b),
        proposer_address: b
            .pointer("/header/proposer_address")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_uppercase(),
        num_txs: b
            .pointer("/data/txs")
            .and_then(Value::as_array)
            .map_or(0, Vec::len),
    })
}

/// The offences in a block's `evidence.evidence`: a duplicate vote names its validator,
/// a light-client attack its byzantine validators. Unknown kinds are skipped.
fn parse_evidence(b: &Value) -> Vec<Offence> {
    let list = b
        .pointer("/evidence/evidence")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let mut out = Vec::new();
    for e in list {
        let v = &e["value"];
        match e["type"].as_str() {
            Some("tendermint/DuplicateVoteEvidence") => {
                let a = &v["vote_a"];
                if let (Some(height), Some(addr)) =
                    (u64_of(a.get("height")), a["validator_address"].as_str())
                {
                    out.push(Offence {
                        height,
                        address: addr.to_ascii_uppercase(),
                    });
                }
            }
            Some("tendermint/LightClientAttackEvidence") => {
                let height = u64_of(v.get("CommonHeight")).unwrap_or(0);
                for val in v["ByzantineValidators"].as_array().into_iter().flatten() {
                    if let Some(addr) = val["address"].as_str() {
                        out.push(Offence {
                            height,
                            address: addr.to_ascii_uppercase(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// One page of a `/validators` result: the total count and this page's validators.
pub fn parse_validators(r: &Value) -> Result<(u64, Vec<Validator>), ParseError> {
    let total = u64_at(r, "/total")?;
    let vals = r
        .get("validators")
        .and_then(Value::as_array)
        .ok_or_else(|| garbage("/validators"))?;
    let vals = vals.iter().map(parse_validator).collect::<Result<_, _>>()?;
    Ok((total, vals))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn block(h: u64) -> Value {
        json!({"block": {
            "header": {"height": h.to_string(), "chain_id": "c", "validators_hash": "VH",
                       "time": "2026-01-01T00:00:00Z"},
            "last_commit": {"height": (h - 1).to_string(), "round": 0, "signatures": [
                {"block_id_flag": 2, "validator_address": "aa"},
                {"block_id_flag": 1, "validator_address": null}
            ]},
            "evidence": {"evidence": [
                {"type": "tendermint/DuplicateVoteEvidence",
                 "value": {"vote_a": {"height": "4", "validator_address": "bb"}}},
                {"type": "tendermint/LightClientAttackEvidence",
                 "value": {"CommonHeight": "3", "ByzantineValidators": [{"address": "cc"}]}},
                {"type": "something/else", "value": {}}
            ]}
        }})
    }

    #[test]
    fn a_block_carries_the_commit_below_it_and_its_evidence() {
        let b = parse_block(&block(5), 5).unwrap();
        assert_eq!(b.last_commit.height, 4);
        assert!(b.last_commit.signed_by("AA"));
        assert_eq!(b.last_commit.signatures[1].address, "");
        assert_eq!(
            b.evidence,
            vec![
                Offence {
                    height: 4,
                    address: "BB".into()
                },
                Offence {
                    height: 3,
                    address: "CC".into()
                }
            ]
        );
        assert_eq!(b.time_unix(), Some(1_767_225_600.0));
        assert_eq!(parse_event_block(&block(5)).unwrap(), b);
        // No proposer or txs given: empty.
        assert_eq!((b.proposer_address.as_str(), b.num_txs), ("", 0));
        let mut v = block(5);
        v["block"]["header"]["proposer_address"] = json!("dd01");
        v["block"]["data"] = json!({"txs": ["dHgx", "dHgy"]});
        let b = parse_block(&v, 5).unwrap();
        assert_eq!((b.proposer_address.as_str(), b.num_txs), ("DD01", 2));
    }

    #[test]
    fn the_wrong_height_or_a_missing_commit_is_garbage() {
        assert!(parse_block(&block(5), 6)
            .unwrap_err()
            .to_string()
            .contains("asked for block 6"));
        let mut b = block(5);
        b["block"]["last_commit"] = json!(null);
        assert!(parse_block(&b, 5).is_err());
    }

    #[test]
    fn validators_pages() {
        let r = json!({"total": "2", "validators": [
            {"address": "aa", "voting_power": "10", "proposer_priority": "-5"},
            {"address": "bb", "voting_power": "20", "proposer_priority": "5"}
        ]});
        let (total, vals) = parse_validators(&r).unwrap();
        assert_eq!(total, 2);
        assert_eq!(
            vals.iter()
                .map(|v| (v.address.as_str(), v.power, v.priority))
                .collect::<Vec<_>>(),
            [("AA", 10, -5), ("BB", 20, 5)]
        );
        assert!(parse_validators(&json!({"total": "1"})).is_err());
    }
}

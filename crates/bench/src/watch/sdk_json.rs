//! The JSON of the Cosmos SDK REST API (the gRPC gateway of SDK v0.50) for the
//! replayed chains: blocks converted from the recorded CometBFT ones, staking
//! validators, governance proposals and votes, in the shapes the gateway writes them
//! (64-bit integers as strings, bytes in base64, enums by name, every field present).

use base64::Engine;
use serde_json::{json, Value};
use std::time::SystemTime;

/// The gov module's account, the authority of proposals' messages.
pub const GOV_AUTHORITY: &str = "cosmos10d07y265gmmuvt4z0w9aw880jnsr700j6zn9kn";
/// The replayed chains' staking denomination.
pub const DENOM: &str = "ustake";
/// Base units of a whole token (a voting power of 1).
pub const POWER_REDUCTION: u128 = 1_000_000;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Hex (as CometBFT's RPC writes hashes and addresses) to base64 (as the gateway does).
fn b64_of_hex(v: Option<&Value>) -> String {
    let hex = v.and_then(Value::as_str).unwrap_or("");
    b64(&::watch::bech32::hex_bytes(hex).unwrap_or_default())
}

/// RFC 3339 to the second, as the gateway writes a timestamp without nanoseconds.
pub fn time(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn block_id(v: &Value) -> Value {
    json!({
        "hash": b64_of_hex(v.get("hash")),
        "part_set_header": {
            "total": v.pointer("/parts/total").cloned().unwrap_or(json!(0)),
            "hash": b64_of_hex(v.pointer("/parts/hash")),
        },
    })
}

fn header(h: &Value, proposer: String) -> Value {
    let s = |k: &str| h.get(k).cloned().unwrap_or(json!(""));
    let hash = |k: &str| b64_of_hex(h.get(k));
    json!({
        "version": {
            "block": h.pointer("/version/block").cloned().unwrap_or(json!("11")),
            "app": h.pointer("/version/app").cloned().unwrap_or(json!("0")),
        },
        "chain_id": s("chain_id"),
        "height": s("height"),
        "time": s("time"),
        "last_block_id": block_id(h.get("last_block_id").unwrap_or(&Value::Null)),
        "last_commit_hash": hash("last_commit_hash"),
        "data_hash": hash("data_hash"),
        "validators_hash": hash("validators_hash"),
        "next_validators_hash": hash("next_validators_hash"),
        "consensus_hash": hash("consensus_hash"),
        "app_hash": hash("app_hash"),
        "last_results_hash": hash("last_results_hash"),
        "evidence_hash": hash("evidence_hash"),
        "proposer_address": proposer,
    })
}

fn commit(c: &Value) -> Value {
    let flag = |f: Option<u64>| match f {
        Some(1) => "BLOCK_ID_FLAG_ABSENT",
        Some(2) => "BLOCK_ID_FLAG_COMMIT",
        Some(3) => "BLOCK_ID_FLAG_NIL",
        _ => "BLOCK_ID_FLAG_UNKNOWN",
    };
    let sigs: Vec<Value> = c
        .get("signatures")
        .and_then(Value::as_array)
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|s| {
            json!({
                "block_id_flag": flag(s.get("block_id_flag").and_then(Value::as_u64)),
                "validator_address": b64_of_hex(s.get("validator_address")),
                "timestamp": s.get("timestamp").cloned().unwrap_or(json!("0001-01-01T00:00:00Z")),
                "signature": s.get("signature").and_then(Value::as_str).unwrap_or(""),
            })
        })
        .collect();
    json!({
        "height": c.get("height").cloned().unwrap_or(json!("0")),
        "round": c.get("round").cloned().unwrap_or(json!(0)),
        "block_id": block_id(c.get("block_id").unwrap_or(&Value::Null)),
        "signatures": sigs,
    })
}

/// `cosmos/base/tendermint/v1beta1/blocks/{latest,height}` from a CometBFT `/block`
/// result: `block` (proposer in base64) and v0.50's `sdk_block` (proposer in bech32).
pub fn gateway_block(rpc: &Value) -> Value {
    let b = rpc.get("block").unwrap_or(&Value::Null);
    let h = b.get("header").unwrap_or(&Value::Null);
    let txs = b.pointer("/data/txs").cloned().unwrap_or(json!([]));
    let proposer_hex = h
        .get("proposer_address")
        .and_then(Value::as_str)
        .unwrap_or("");
    let body = |proposer: String| {
        json!({
            "header": header(h, proposer),
            "data": { "txs": txs },
            "evidence": { "evidence": [] },
            "last_commit": commit(b.get("last_commit").unwrap_or(&Value::Null)),
        })
    };
    json!({
        "block_id": block_id(rpc.get("block_id").unwrap_or(&Value::Null)),
        "block": body(b64_of_hex(h.get("proposer_address"))),
        "sdk_block": body(super::cosmos::valcons(proposer_hex)),
    })
}

/// A bonded validator of the staking module.
#[derive(Debug, Clone)]
pub struct Bonded {
    /// Operator address (`cosmosvaloper1...`).
    pub operator: String,
    /// Ed25519 consensus key, base64.
    pub pubkey: String,
    /// Bonded tokens (base units).
    pub tokens: u128,
    /// Its name.
    pub moniker: String,
}

/// A `cosmos.staking.v1beta1.Validator`.
pub fn validator(v: &Bonded) -> Value {
    json!({
        "operator_address": v.operator,
        "consensus_pubkey": { "@type": "/cosmos.crypto.ed25519.PubKey", "key": v.pubkey },
        "jailed": false,
        "status": "BOND_STATUS_BONDED",
        "tokens": v.tokens.to_string(),
        "delegator_shares": format!("{}.000000000000000000", v.tokens),
        "description": {
            "moniker": v.moniker, "identity": "", "website": "", "security_contact": "", "details": ""
        },
        "unbonding_height": "0",
        "unbonding_time": "1970-01-01T00:00:00Z",
        "commission": {
            "commission_rates": {
                "rate": "0.050000000000000000",
                "max_rate": "0.200000000000000000",
                "max_change_rate": "0.010000000000000000"
            },
            "update_time": "2026-01-05T12:00:00Z"
        },
        "min_self_delegation": "1",
        "unbonding_on_hold_ref_count": "0",
        "unbonding_ids": []
    })
}

/// A governance proposal of a replayed chain.
#[derive(Debug, Clone)]
pub struct Proposal {
    /// Its id.
    pub id: u64,
    /// `ProposalStatus` by number (2: voting period, 3: passed, 4: rejected).
    pub status: u8,
    /// Its title.
    pub title: String,
    /// When it was submitted.
    pub submit_time: SystemTime,
    /// When its voting period started.
    pub voting_start_time: SystemTime,
    /// When its voting period ends (or ended).
    pub voting_end_time: SystemTime,
}

/// `ProposalStatus` names by number.
pub const STATUS_NAMES: [&str; 6] = [
    "PROPOSAL_STATUS_UNSPECIFIED",
    "PROPOSAL_STATUS_DEPOSIT_PERIOD",
    "PROPOSAL_STATUS_VOTING_PERIOD",
    "PROPOSAL_STATUS_PASSED",
    "PROPOSAL_STATUS_REJECTED",
    "PROPOSAL_STATUS_FAILED",
];

impl Proposal {
    fn status_name(&self) -> &'static str {
        STATUS_NAMES
            .get(usize::from(self.status))
            .copied()
            .unwrap_or(STATUS_NAMES[0])
    }

    fn ended(&self) -> bool {
        self.status > 2
    }

    fn content(&self) -> Value {
        json!({
            "@type": "/cosmos.gov.v1beta1.TextProposal",
            "title": self.title,
            "description": format!("{}: what it changes, and why.", self.title),
        })
    }

    fn deposit_end(&self) -> String {
        time(self.submit_time + std::time::Duration::from_secs(14 * 86_400))
    }

    /// Its `cosmos.gov.v1.Proposal` (a legacy text content, as proposals submitted
    /// through `MsgExecLegacyContent` are).
    pub fn v1(&self, proposer: &str) -> Value {
        let tally = if self.ended() { "1000000" } else { "0" };
        json!({
            "id": self.id.to_string(),
            "messages": [{
                "@type": "/cosmos.gov.v1.MsgExecLegacyContent",
                "content": self.content(),
                "authority": GOV_AUTHORITY,
            }],
            "status": self.status_name(),
            "final_tally_result": {
                "yes_count": tally, "abstain_count": "0", "no_count": "0", "no_with_veto_count": "0"
            },
            "submit_time": time(self.submit_time),
            "deposit_end_time": self.deposit_end(),
            "total_deposit": [{ "denom": DENOM, "amount": "10000000" }],
            "voting_start_time": time(self.voting_start_time),
            "voting_end_time": time(self.voting_end_time),
            "metadata": format!("ipfs://bafkreihreplayproposal{}", self.id),
            "title": self.title,
            "summary": format!("{}: what it changes, and why.", self.title),
            "proposer": proposer,
            "expedited": false,
            "failed_reason": ""
        })
    }

    /// Its `cosmos.gov.v1beta1.Proposal`.
    pub fn v1beta1(&self) -> Value {
        let tally = if self.ended() { "1000000" } else { "0" };
        json!({
            "proposal_id": self.id.to_string(),
            "content": self.content(),
            "status": self.status_name(),
            "final_tally_result": { "yes": tally, "abstain": "0", "no": "0", "no_with_veto": "0" },
            "submit_time": time(self.submit_time),
            "deposit_end_time": self.deposit_end(),
            "total_deposit": [{ "denom": DENOM, "amount": "10000000" }],
            "voting_start_time": time(self.voting_start_time),
            "voting_end_time": time(self.voting_end_time),
        })
    }
}

/// A `QueryVoteResponse`: `voter` voted yes on proposal `id` (`v1` for gov v1's
/// shape, else v1beta1's, which also has the deprecated single `option`).
pub fn vote(id: u64, voter: &str, v1: bool) -> Value {
    let options = json!([{ "option": "VOTE_OPTION_YES", "weight": "1.000000000000000000" }]);
    if v1 {
        json!({ "vote": { "proposal_id": id.to_string(), "voter": voter, "options": options, "metadata": "" } })
    } else {
        json!({ "vote": {
            "proposal_id": id.to_string(), "voter": voter, "option": "VOTE_OPTION_YES", "options": options
        } })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_block_becomes_the_gateways() {
        let rpc = json!({
            "block_id": { "hash": "0A0B", "parts": { "total": 1, "hash": "FF" } },
            "block": {
                "header": {
                    "version": { "block": "11", "app": "1" }, "chain_id": "replay-001",
                    "height": "7", "time": "2026-11-25T19:51:03.038269002Z",
                    "last_block_id": { "hash": "01", "parts": { "total": 1, "hash": "02" } },
                    "app_hash": "1400000000000000",
                    "proposer_address": "942691E860DA385F7E758EA9BD220A18E6CEBFE0"
                },
                "data": { "txs": ["dHg="] },
                "evidence": { "evidence": [] },
                "last_commit": { "height": "6", "round": 0,
                    "block_id": { "hash": "01", "parts": { "total": 1, "hash": "02" } },
                    "signatures": [
                        { "block_id_flag": 2, "validator_address": "0102",
                          "timestamp": "2026-11-25T19:51:02Z", "signature": "c2ln" },
                        { "block_id_flag": 1, "validator_address": "", "timestamp": "0001-01-01T00:00:00Z",
                          "signature": null }
                    ] }
            }
        });
        let g = gateway_block(&rpc);
        assert_eq!(g["block_id"]["hash"], "Cgs=");
        assert_eq!(g["block_id"]["part_set_header"]["hash"], "/w==");
        let h = &g["block"]["header"];
        assert_eq!(h["height"], "7");
        assert_eq!(h["chain_id"], "replay-001");
        assert_eq!(h["app_hash"], "FAAAAAAAAAA=");
        assert_eq!(h["proposer_address"], "lCaR6GDaOF9+dY6pvSIKGObOv+A=");
        assert!(g["sdk_block"]["header"]["proposer_address"]
            .as_str()
            .unwrap()
            .starts_with("cosmosvalcons1"));
        let sigs = &g["block"]["last_commit"]["signatures"];
        assert_eq!(sigs[0]["block_id_flag"], "BLOCK_ID_FLAG_COMMIT");
        assert_eq!(sigs[0]["validator_address"], "AQI=");
        assert_eq!(sigs[1]["block_id_flag"], "BLOCK_ID_FLAG_ABSENT");
        assert_eq!(sigs[1]["signature"], "");
        assert_eq!(g["block"]["data"]["txs"][0], "dHg=");
    }

    #[test]
    fn proposals_in_both_gov_shapes() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        let p = Proposal {
            id: 5,
            status: 2,
            title: "Raise the block size".into(),
            submit_time: t,
            voting_start_time: t,
            voting_end_time: t + std::time::Duration::from_secs(86_400),
        };
        let v1 = p.v1("cosmos1x");
        assert_eq!(v1["id"], "5");
        assert_eq!(v1["status"], "PROPOSAL_STATUS_VOTING_PERIOD");
        assert_eq!(v1["voting_end_time"], "2027-01-16T08:00:00Z");
        assert_eq!(
            v1["messages"][0]["content"]["title"],
            "Raise the block size"
        );
        let old = p.v1beta1();
        assert_eq!(old["proposal_id"], "5");
        assert_eq!(old["content"]["title"], "Raise the block size");
        assert_eq!(vote(5, "cosmos1x", true)["vote"]["voter"], "cosmos1x");
        assert_eq!(
            vote(5, "cosmos1x", false)["vote"]["option"],
            "VOTE_OPTION_YES"
        );
    }
}

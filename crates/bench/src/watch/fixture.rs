//! Recorded CometBFT RPC responses and their rewriting into other chains and heights.
//!
//! A fixture directory holds the bodies exactly as a devnet node sent them:
//! `meta.json`, `status.json`, `net_info.json`, `validators.json`, `block/<height>.json`,
//! `ws/new_block.json` (one `NewBlock` event) and `ws/votes.json` (the `Vote` events of
//! one height). Replayed chains take these as templates: heights, chain IDs, times and
//! block hashes are rewritten, everything else is served as recorded.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// What was recorded, and from where.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    /// Chain ID of the recorded devnet.
    pub chain_id: String,
    /// The devnet operator's validator (val0), upper-case hex.
    pub validator_address: String,
    /// CometBFT version of the recorded node.
    pub cometbft: String,
    /// Validators in the recorded set.
    pub validators: usize,
    /// First and last recorded block.
    pub first_height: u64,
    /// Last recorded block.
    pub last_height: u64,
    /// When (RFC 3339).
    pub recorded_at: String,
}

/// The loaded templates.
#[derive(Debug)]
pub struct Fixture {
    /// What was recorded.
    pub meta: Meta,
    status: Value,
    net_info: Value,
    validators: Value,
    blocks: Vec<Value>,
    new_block: Value,
    votes: Vec<Value>,
}

/// One replayed chain's clock: block `h` is made at
/// `base + (h - start_height - 1) * block_time`.
#[derive(Debug, Clone)]
pub struct Clock {
    /// Chain ID.
    pub chain_id: String,
    /// Height current at `base - block_time`.
    pub start_height: u64,
    /// When block `start_height + 1` is made.
    pub base: SystemTime,
    /// Time between blocks.
    pub block_time: Duration,
}

impl Clock {
    /// Block time of height `h`, RFC 3339 with nanoseconds as CometBFT writes it.
    pub fn time(&self, h: u64) -> String {
        let steps = h as i64 - self.start_height as i64 - 1;
        let nanos = self.block_time.as_nanos() as i64 * steps;
        let t = if nanos >= 0 {
            self.base + Duration::from_nanos(nanos as u64)
        } else {
            self.base - Duration::from_nanos(nanos.unsigned_abs())
        };
        humantime::format_rfc3339_nanos(t).to_string()
    }

    /// A block hash unique to this chain and height.
    pub fn hash(&self, h: u64) -> String {
        let d = Sha256::digest(format!("{}/{h}", self.chain_id));
        d.iter().map(|b| format!("{b:02X}")).collect()
    }
}

fn read(dir: &Path, name: &str) -> anyhow::Result<Value> {
    let p = dir.join(name);
    let text = std::fs::read_to_string(&p).with_context(|| {
        format!(
            "cannot read {}; record fixtures with `bulwark-bench watch record`",
            p.display()
        )
    })?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", p.display()))
}

fn result(v: Value, what: &str) -> anyhow::Result<Value> {
    v.get("result")
        .cloned()
        .with_context(|| format!("{what}: no result object"))
}

fn set(v: &mut Value, ptr: &str, to: impl Into<Value>) {
    if let Some(x) = v.pointer_mut(ptr) {
        *x = to.into();
    }
}

impl Fixture {
    /// Load the fixture in `dir`.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let meta: Meta = serde_json::from_value(read(dir, "meta.json")?)?;
        let mut blocks = Vec::new();
        for h in meta.first_height..=meta.last_height {
            blocks.push(result(
                read(dir, &format!("block/{h}.json"))?,
                &format!("block {h}"),
            )?);
        }
        anyhow::ensure!(!blocks.is_empty(), "the fixture holds no blocks");
        let votes = match read(dir, "ws/votes.json")? {
            Value::Array(v) => v,
            _ => anyhow::bail!("ws/votes.json is not an array"),
        };
        Ok(Self {
            status: result(read(dir, "status.json")?, "status")?,
            net_info: result(read(dir, "net_info.json")?, "net_info")?,
            validators: result(read(dir, "validators.json")?, "validators")?,
            new_block: read(dir, "ws/new_block.json")?,
            votes,
            blocks,
            meta,
        })
    }

    /// `/status` at height `h`.
    pub fn status(&self, c: &Clock, h: u64) -> Value {
        let mut r = self.status.clone();
        set(&mut r, "/node_info/network", c.chain_id.as_str());
        set(&mut r, "/sync_info/latest_block_height", h.to_string());
        set(&mut r, "/sync_info/latest_block_time", c.time(h));
        set(&mut r, "/sync_info/latest_block_hash", c.hash(h));
        set(&mut r, "/sync_info/catching_up", false);
        r
    }

    /// `/net_info`.
    pub fn net_info(&self) -> Value {
        self.net_info.clone()
    }

    /// `/validators` at height `h` (one page holds the whole recorded set).
    pub fn validators(&self, h: u64) -> Value {
        let mut r = self.validators.clone();
        set(&mut r, "/block_height", h.to_string());
        r
    }

    /// `/block` at height `h`.
    pub fn block(&self, c: &Clock, h: u64) -> Value {
        let mut r = self.blocks[h as usize % self.blocks.len()].clone();
        set(&mut r, "/block_id/hash", c.hash(h));
        set(&mut r, "/block/header/height", h.to_string());
        set(&mut r, "/block/header/chain_id", c.chain_id.as_str());
        set(&mut r, "/block/header/time", c.time(h));
        let prev = h.saturating_sub(1);
        set(&mut r, "/block/header/last_block_id/hash", c.hash(prev));
        set(&mut r, "/block/last_commit/height", prev.to_string());
        set(&mut r, "/block/last_commit/block_id/hash", c.hash(prev));
        let signed_at = c.time(prev);
        if let Some(Value::Array(sigs)) = r.pointer_mut("/block/last_commit/signatures") {
            for s in sigs {
                if s.get("block_id_flag").and_then(Value::as_u64) != Some(1) {
                    set(s, "/timestamp", signed_at.as_str());
                }
            }
        }
        r
    }

    /// The `NewBlock` event message for height `h` (subscription id `id`).
    pub fn new_block_event(&self, c: &Clock, h: u64, id: &Value) -> Value {
        let b = self.block(c, h);
        let mut e = self.new_block.clone();
        set(&mut e, "/id", id.clone());
        if let Some(v) = e.pointer_mut("/result/data/value") {
            if let (Some(block), Some(block_id)) = (b.get("block"), b.get("block_id")) {
                set(v, "/block", block.clone());
                set(v, "/block_id", block_id.clone());
            }
        }
        e
    }

    /// The `Vote` event messages of height `h` (prevotes and precommits, as recorded).
    pub fn vote_events(&self, c: &Clock, h: u64, id: &Value) -> Vec<Value> {
        let t = c.time(h);
        self.votes
            .iter()
            .map(|v| {
                let mut e = v.clone();
                set(&mut e, "/id", id.clone());
                set(&mut e, "/result/data/value/Vote/height", h.to_string());
                set(&mut e, "/result/data/value/Vote/timestamp", t.as_str());
                set(&mut e, "/result/data/value/Vote/block_id/hash", c.hash(h));
                e
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_fixture_rewrites_into_another_chain() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/fixtures/watch");
        let f = Fixture::load(&dir).unwrap();
        let c = Clock {
            chain_id: "replay-007".into(),
            start_height: 1000,
            base: SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000),
            block_time: Duration::from_secs(1),
        };
        let b = f.block(&c, 1005);
        assert_eq!(b.pointer("/block/header/height").unwrap(), "1005");
        assert_eq!(b.pointer("/block/header/chain_id").unwrap(), "replay-007");
        assert_eq!(b.pointer("/block/last_commit/height").unwrap(), "1004");
        assert_eq!(
            b.pointer("/block/header/last_block_id/hash").unwrap(),
            &Value::String(c.hash(1004))
        );
        let s = f.status(&c, 1005);
        assert_eq!(s.pointer("/node_info/network").unwrap(), "replay-007");
        assert_eq!(
            s.pointer("/sync_info/latest_block_time").unwrap(),
            &Value::String(c.time(1005))
        );
        // Block 1001 is made at `base`; each later one a block time after.
        assert_eq!(c.time(1001), "1970-01-12T13:46:40.000000000Z");
        assert_eq!(c.time(1003), "1970-01-12T13:46:42.000000000Z");
        let e = f.new_block_event(&c, 1005, &Value::from(1));
        assert_eq!(
            e.pointer("/result/data/value/block/header/height").unwrap(),
            "1005"
        );
        let votes = f.vote_events(&c, 1005, &Value::from(2));
        assert_eq!(votes.len(), 2 * f.meta.validators);
        assert!(votes
            .iter()
            .all(|v| v.pointer("/result/data/value/Vote/height").unwrap() == "1005"));
    }
}

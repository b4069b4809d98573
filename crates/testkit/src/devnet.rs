//! A devnet driven through `bulwark devnet`, and readers of its status and chain.

use crate::http::rpc_get;
use crate::port::free_port;
use crate::process::{json, Bulwark};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

/// A devnet in a temp directory, destroyed (processes stopped) when dropped.
#[derive(Debug)]
pub struct Devnet {
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
    bulwark: Bulwark,
}

impl Bulwark {
    /// A devnet directory that does not exist yet, driven by this binary.
    pub fn devnet(&self) -> Devnet {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("devnet");
        Devnet {
            tmp,
            dir,
            bulwark: self.clone(),
        }
    }
}

impl Devnet {
    /// The binary driving it.
    pub fn bulwark(&self) -> &Bulwark {
        &self.bulwark
    }

    pub fn dir_str(&self) -> &str {
        self.dir.to_str().expect("utf-8 path")
    }

    /// `bulwark devnet VERB --dir DIR ARGS...`
    pub fn cmd(&self, verb: &str, args: &[&str]) -> Output {
        let mut all = vec!["devnet", verb, "--dir", self.dir_str()];
        all.extend_from_slice(args);
        self.bulwark.run(&all)
    }

    /// `up` with `args`; panics on failure.
    pub fn up(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        json(&self.cmd("up", &all))
    }

    pub fn status(&self) -> Value {
        json(&self.cmd("status", &["--json"]))
    }

    /// Poll `status` until `pred` holds, or panic at the deadline with the last status.
    pub fn wait_status(&self, what: &str, limit: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let s = self.status();
            if pred(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; last status:\n{s:#}");
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.cmd("down", &[]);
    }
}

/// Highest height any node reports.
pub fn best_height(status: &Value) -> u64 {
    nodes(status)
        .iter()
        .filter_map(|n| n["height"].as_u64())
        .max()
        .unwrap_or(0)
}

/// The nodes of a status.
pub fn nodes(status: &Value) -> Vec<Value> {
    status["nodes"].as_array().cloned().unwrap_or_default()
}

/// The node called `name`.
pub fn node(status: &Value, name: &str) -> Value {
    nodes(status)
        .into_iter()
        .find(|n| n["name"] == name)
        .unwrap_or_else(|| panic!("no node {name} in {status:#}"))
}

/// kvstore size over RPC (`/abci_info` data is `{"size":N}`).
pub fn kvstore_size(rpc_url: &str) -> u64 {
    let info = rpc_get(rpc_url, "abci_info");
    let data = info["response"]["data"].as_str().unwrap_or("{}");
    let v: Value = serde_json::from_str(data).unwrap_or_default();
    v["size"]
        .as_u64()
        .unwrap_or_else(|| panic!("no size in abci_info: {info}"))
}

/// Signers of the canonical commit some node reports, if at least `min_height`.
pub fn commit_signers(status: &Value, min_height: u64) -> Option<(u64, Vec<String>)> {
    nodes(status)
        .iter()
        .filter_map(|n| {
            let h = n["last_commit"]["height"].as_u64()?;
            let signed = n["last_commit"]["signed"]
                .as_array()?
                .iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect();
            (h >= min_height).then_some((h, signed))
        })
        .max_by_key(|(h, _)| *h)
}

/// Which of `from..=to` have `validator`'s signature in their canonical commit, and
/// whether any block carries evidence (read from each block over RPC).
#[derive(Debug)]
pub struct ChainScan {
    pub signed: Vec<u64>,
    pub missed: Vec<u64>,
    pub evidence: Vec<(u64, Value)>,
}

/// Scan heights `from..=to` and fail if any block carries duplicate-vote evidence.
pub fn assert_no_evidence(rpc: &str, address: &str, from: u64, to: u64) {
    let scan = scan_chain(rpc, address, from, to);
    assert!(
        scan.evidence.is_empty(),
        "evidence on chain in heights {from}..={to}: {:?}",
        scan.evidence
    );
}

pub fn scan_chain(rpc: &str, address: &str, from: u64, to: u64) -> ChainScan {
    let mut scan = ChainScan {
        signed: vec![],
        missed: vec![],
        evidence: vec![],
    };
    for h in from..=to {
        // The node may be a block behind the one that reported the height: wait for it.
        let deadline = Instant::now() + Duration::from_secs(30);
        let block = loop {
            let b = rpc_get(rpc, &format!("block?height={}", h + 1));
            if !b["block"].is_null() || Instant::now() > deadline {
                break b;
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        let ev = &block["block"]["evidence"]["evidence"];
        if ev.as_array().is_some_and(|a| !a.is_empty()) {
            scan.evidence.push((h + 1, ev.clone()));
        }
        let parsed = comet::parse_block(&block, h + 1)
            .unwrap_or_else(|e| panic!("block {} from {rpc}: {e}", h + 1));
        let ours = parsed
            .last_commit
            .signatures
            .iter()
            .any(|s| s.flag == comet::FLAG_COMMIT && s.address.eq_ignore_ascii_case(address));
        if ours {
            scan.signed.push(h);
        } else {
            scan.missed.push(h);
        }
    }
    scan
}

/// Address of a genesis validator from a status.
pub fn validator_address(status: &Value, name: &str) -> String {
    status["validators"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["name"] == name))
        .and_then(|v| v["address"].as_str())
        .unwrap_or_else(|| panic!("no validator {name}"))
        .to_string()
}

/// Cut a devnet node off (its node home, stopped): a p2p address nobody dials, no
/// persistent peers or seeds, no peer exchange and an empty address book. Restarted, it
/// sits in block sync waiting for peers (catching up). Returns the original
/// config.toml, to put back.
pub fn isolate(home: &Path) -> String {
    let path = home.join("config/config.toml");
    let original = std::fs::read_to_string(&path).unwrap();
    let mut doc: toml_edit::DocumentMut = original.parse().unwrap();
    doc["p2p"]["laddr"] = toml_edit::value(format!("tcp://127.0.0.1:{}", free_port()));
    doc["p2p"]["persistent_peers"] = toml_edit::value("");
    doc["p2p"]["seeds"] = toml_edit::value("");
    doc["p2p"]["pex"] = toml_edit::value(false);
    std::fs::write(&path, doc.to_string()).unwrap();
    let _ = std::fs::remove_file(home.join("config/addrbook.json"));
    original
}

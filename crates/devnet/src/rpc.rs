//! The few CometBFT RPC calls the devnet needs, over HTTP JSON-RPC.

use crate::error::{DevnetError, Result};
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// A client for one node's RPC endpoint.
#[derive(Debug, Clone)]
pub struct Rpc {
    base: String,
    http: reqwest::Client,
}

/// What `/status` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Chain ID (`node_info.network`).
    pub network: String,
    /// Node ID.
    pub node_id: String,
    /// Latest block height.
    pub height: u64,
    /// Whether the node is still syncing.
    pub catching_up: bool,
    /// The node's own validator address (hex).
    pub validator_address: String,
}

/// The signatures of one commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// Height the commit is for.
    pub height: u64,
    /// (validator address, block_id_flag) per signature slot: 1 absent, 2 commit, 3 nil.
    pub signatures: Vec<(String, u8)>,
}

/// `block_id_flag` of a signature for the block.
pub const FLAG_COMMIT: u8 = 2;
/// `block_id_flag` of a nil vote.
pub const FLAG_NIL: u8 = 3;

impl Rpc {
    /// A client for `base` (e.g. `http://127.0.0.1:26657`) with a per-request timeout.
    pub fn new(base: impl Into<String>, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .expect("HTTP client builds");
        Self {
            base: base.into().trim_end_matches('/').to_string(),
            http,
        }
    }

    /// `/status`.
    pub async fn status(&self) -> Result<Status> {
        #[derive(Deserialize)]
        struct R {
            node_info: NodeInfo,
            sync_info: SyncInfo,
            validator_info: ValidatorInfo,
        }
        #[derive(Deserialize)]
        struct NodeInfo {
            id: String,
            network: String,
        }
        #[derive(Deserialize)]
        struct SyncInfo {
            latest_block_height: String,
            catching_up: bool,
        }
        #[derive(Deserialize)]
        struct ValidatorInfo {
            address: String,
        }
        let r: R = self.get("status").await?;
        Ok(Status {
            network: r.node_info.network,
            node_id: r.node_info.id,
            height: self.number("status", &r.sync_info.latest_block_height)?,
            catching_up: r.sync_info.catching_up,
            validator_address: r.validator_info.address,
        })
    }

    /// Number of peers from `/net_info`.
    pub async fn peer_count(&self) -> Result<u64> {
        #[derive(Deserialize)]
        struct R {
            n_peers: String,
        }
        let r: R = self.get("net_info").await?;
        self.number("net_info", &r.n_peers)
    }

    /// `/commit` at `height`, or the latest when `None`.
    pub async fn commit(&self, height: Option<u64>) -> Result<Commit> {
        let path = match height {
            Some(h) => format!("commit?height={h}"),
            None => "commit".to_string(),
        };
        let r: Value = self.get(&path).await?;
        let c = r
            .pointer("/signed_header/commit")
            .ok_or_else(|| self.bad(&path, "no signed_header.commit"))?;
        let height = match c.get("height") {
            Some(Value::String(s)) => self.number(&path, s)?,
            _ => return Err(self.bad(&path, "no commit height")),
        };
        let signatures = c
            .get("signatures")
            .and_then(Value::as_array)
            .ok_or_else(|| self.bad(&path, "no signatures"))?
            .iter()
            .map(|s| {
                let addr = s
                    .get("validator_address")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let flag = s.get("block_id_flag").and_then(Value::as_u64).unwrap_or(0);
                (addr.to_string(), u8::try_from(flag).unwrap_or(0))
            })
            .collect();
        Ok(Commit { height, signatures })
    }

    /// The application's `data` from `/abci_info` (the kvstore reports `{"size":N}`).
    pub async fn abci_info_data(&self) -> Result<String> {
        let r: Value = self.get("abci_info").await?;
        Ok(r.pointer("/response/data")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string())
    }

    /// Number of keys in the kvstore app.
    pub async fn kvstore_size(&self) -> Result<u64> {
        let data = self.abci_info_data().await?;
        let v: Value =
            serde_json::from_str(&data).map_err(|_| self.bad("abci_info", "data is not JSON"))?;
        v.get("size")
            .and_then(Value::as_u64)
            .ok_or_else(|| self.bad("abci_info", "data has no size"))
    }

    /// `broadcast_tx_sync`: returns the CheckTx code (0 = accepted).
    pub async fn broadcast_tx_sync(&self, tx: &[u8]) -> Result<u32> {
        let body = serde_json::json!({
            "jsonrpc": "2.0",
            "id": 1,
            "method": "broadcast_tx_sync",
            "params": {"tx": base64::engine::general_purpose::STANDARD.encode(tx)},
        });
        let url = format!("{}/", self.base);
        let resp = self.http.post(&url).json(&body).send().await;
        let v: Value = self.decode(&url, resp).await?;
        Ok(v.get("code")
            .and_then(Value::as_u64)
            .map_or(0, |c| u32::try_from(c).unwrap_or(u32::MAX)))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let url = format!("{}/{path}", self.base);
        let resp = self.http.get(&url).send().await;
        self.decode(&url, resp).await
    }

    async fn decode<T: DeserializeOwned>(
        &self,
        url: &str,
        resp: reqwest::Result<reqwest::Response>,
    ) -> Result<T> {
        let fail = |reason: String| DevnetError::Rpc {
            url: url.to_string(),
            reason,
        };
        let resp = resp.map_err(|e| fail(describe(&e)))?;
        let v: Value = resp
            .json()
            .await
            .map_err(|e| fail(format!("not JSON: {e}")))?;
        if let Some(err) = v.get("error") {
            return Err(fail(format!("node returned error {err}")));
        }
        let result = v
            .get("result")
            .cloned()
            .ok_or_else(|| fail("no result".into()))?;
        serde_json::from_value(result).map_err(|e| fail(format!("unexpected result: {e}")))
    }

    fn number(&self, path: &str, s: &str) -> Result<u64> {
        s.parse()
            .map_err(|_| self.bad(path, &format!("{s:?} is not a number")))
    }

    fn bad(&self, path: &str, reason: &str) -> DevnetError {
        DevnetError::Rpc {
            url: format!("{}/{path}", self.base),
            reason: reason.to_string(),
        }
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection refused (is the node running?)".into()
    } else {
        e.to_string()
    }
}

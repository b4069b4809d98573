//! The few CometBFT RPC calls the devnet needs, over HTTP JSON-RPC.

use crate::error::{DevnetError, Result};
use base64::Engine;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

/// A client for one node's RPC endpoint.
#[derive(Debug, Clone)]
pub struct Rpc {
    base: String,
    http: reqwest::Client,
}

pub use comet::{Commit, Status, FLAG_COMMIT, FLAG_NIL};

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
        let r: Value = self.get("status").await?;
        comet::parse_status(&r).map_err(|e| self.bad("status", &e.to_string()))
    }

    /// Number of peers from `/net_info`.
    pub async fn peer_count(&self) -> Result<u64> {
        let r: Value = self.get("net_info").await?;
        comet::parse_peer_count(&r).map_err(|e| self.bad("net_info", &e.to_string()))
    }

    /// `/commit` at `height`, or the latest when `None`.
    pub async fn commit(&self, height: Option<u64>) -> Result<Commit> {
        let path = match height {
            Some(h) => format!("commit?height={h}"),
            None => "commit".to_string(),
        };
        let r: Value = self.get(&path).await?;
        comet::parse_commit(&r).map_err(|e| self.bad(&path, &e.to_string()))
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

//! A small CometBFT RPC client that checks what it reads: bad data is an error,
//! never a default value.

use crate::net::root_cause;
use serde_json::Value;
use std::time::Duration;

/// Why an RPC read failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RpcError {
    /// No answer in time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// Connection refused or reset.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// Non-2xx HTTP status.
    #[error("HTTP status {0}")]
    Http(u16),
    /// The body is not the JSON CometBFT sends.
    #[error("garbage response: {0}")]
    Garbage(String),
    /// CometBFT answered with an error object.
    #[error("RPC error: {0}")]
    Rpc(String),
    /// The endpoint answers but lags the others (stuck, or cut off from its peers).
    #[error("behind: at height {height} while another endpoint is at {best}; it is stuck or has lost its peers, so it is not used")]
    Behind {
        /// Its latest height.
        height: u64,
        /// The best latest height of the chain's endpoints.
        best: u64,
    },
    /// The node is on another chain.
    #[error("wrong chain: expected {expected}, the node is on {got}")]
    WrongChain {
        /// Configured chain ID.
        expected: String,
        /// Reported chain ID.
        got: String,
    },
}

pub use comet::{Block, Status};

impl From<comet::ParseError> for RpcError {
    fn from(e: comet::ParseError) -> RpcError {
        match e {
            comet::ParseError::Garbage(g) => RpcError::Garbage(g),
            comet::ParseError::Rpc(r) => RpcError::Rpc(r),
        }
    }
}

/// One HTTP endpoint: its base URL, the shared client and a timeout per request.
#[derive(Debug, Clone)]
pub struct Endpoint {
    http: reqwest::Client,
    base: String,
    timeout: Duration,
}

/// Why an endpoint gave no answer.
#[derive(Debug)]
pub(crate) enum NoAnswer {
    /// Nothing within the timeout.
    Timeout(Duration),
    /// Refused, reset, or TLS failed: the innermost cause.
    Unreachable(String),
}

impl Endpoint {
    /// An endpoint at `base` (a trailing `/` is dropped).
    pub fn new(http: reqwest::Client, base: &str, timeout: Duration) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            timeout,
        }
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// GET the base URL followed by `path` (which starts with `/`): the HTTP status and
    /// the body.
    pub(crate) async fn fetch(&self, path: &str) -> Result<(u16, Vec<u8>), NoAnswer> {
        let map = |e: reqwest::Error| {
            if e.is_timeout() {
                NoAnswer::Timeout(self.timeout)
            } else {
                NoAnswer::Unreachable(root_cause(&e))
            }
        };
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .timeout(self.timeout)
            .send()
            .await
            .map_err(map)?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(map)?;
        Ok((status, body.to_vec()))
    }
}

/// An RPC client for one endpoint.
#[derive(Debug, Clone)]
pub struct Rpc {
    ep: Endpoint,
}

impl Rpc {
    /// A client for `base` (e.g. `http://127.0.0.1:26657`).
    pub fn new(http: reqwest::Client, base: &str, timeout: Duration) -> Self {
        Self {
            ep: Endpoint::new(http, base, timeout),
        }
    }

    /// The endpoint URL.
    pub fn url(&self) -> &str {
        self.ep.url()
    }

    async fn get(&self, path: &str) -> Result<Value, RpcError> {
        let (status, body) = self
            .ep
            .fetch(&format!("/{path}"))
            .await
            .map_err(|e| match e {
                NoAnswer::Timeout(t) => RpcError::Timeout(t),
                NoAnswer::Unreachable(m) => RpcError::Unreachable(m),
            })?;
        if !(200..300).contains(&status) {
            return Err(RpcError::Http(status));
        }
        Ok(comet::parse_result(&body)?)
    }

    /// `/status`.
    pub async fn status(&self) -> Result<Status, RpcError> {
        Ok(comet::parse_status(&self.get("status").await?)?)
    }

    /// Number of peers from `/net_info`.
    pub async fn peers(&self) -> Result<u64, RpcError> {
        let r = self.get("net_info").await?;
        Ok(comet::parse_peer_count(&r)?)
    }

    /// `/block?height=H`.
    pub async fn block(&self, height: u64) -> Result<Block, RpcError> {
        Ok(comet::parse_block(
            &self.get(&format!("block?height={height}")).await?,
            height,
        )?)
    }

    /// `/abci_query` of `path` (a gRPC method, e.g. `/cosmos.slashing.v1beta1.Query/Params`)
    /// with the protobuf request `data`, at the latest height: the `response` object.
    pub async fn abci_query(&self, path: &str, data: &[u8]) -> Result<Value, RpcError> {
        let mut q = format!("abci_query?path=%22{path}%22");
        if !data.is_empty() {
            q.push_str(&format!("&data=0x{}", hex::encode(data)));
        }
        let r = self.get(&q).await?;
        match r.get("response") {
            Some(v @ Value::Object(_)) => Ok(v.clone()),
            _ => Err(RpcError::Garbage(
                "abci_query result without a response".into(),
            )),
        }
    }

    /// The validator set at `height` in voting order (all pages), with powers and
    /// proposer priorities.
    pub async fn validators(
        &self,
        height: u64,
    ) -> Result<Vec<comet::proposer::Validator>, RpcError> {
        let mut out = Vec::new();
        for page in 1..=100u64 {
            let r = self
                .get(&format!(
                    "validators?height={height}&page={page}&per_page=100"
                ))
                .await?;
            let (total, vals) = comet::parse_validators(&r)?;
            let empty = vals.is_empty();
            out.extend(vals);
            if out.len() as u64 >= total || empty {
                return Ok(out);
            }
        }
        Ok(out)
    }
}

/// GET a text endpoint (a Prometheus exposition: node_exporter, a Bulwark signer).
pub(crate) async fn get_text(
    http: &reqwest::Client,
    url: &str,
    timeout: std::time::Duration,
) -> Result<String, String> {
    let resp = http
        .get(url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| root_cause(&e))?;
    if !resp.status().is_success() {
        return Err(format!("HTTP status {}", resp.status().as_u16()));
    }
    resp.text().await.map_err(|e| root_cause(&e))
}

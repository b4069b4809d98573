//! A small CometBFT RPC client that checks what it reads: bad data is an error,
//! never a default value.

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

/// `/status`, the parts used.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// `node_info.network`.
    pub network: String,
    /// `sync_info.latest_block_height`.
    pub height: u64,
    /// `sync_info.catching_up`.
    pub catching_up: bool,
    /// `sync_info.latest_block_time` as unix seconds, when it parses.
    pub block_time: Option<f64>,
}

/// `/block`, the parts used.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// Height of this block.
    pub height: u64,
    /// `header.chain_id`.
    pub chain_id: String,
    /// `header.validators_hash`: the validator set of this height.
    pub validators_hash: String,
    /// `last_commit.height` (this height minus one).
    pub commit_height: u64,
    /// `last_commit.round`: the consensus round at which that height was committed
    /// (0 normally), when the commit gives it.
    pub commit_round: Option<u32>,
    /// `last_commit.signatures`: (block_id_flag, upper-case validator address).
    pub signatures: Vec<(u64, String)>,
    /// `header.time` as unix seconds, when it parses.
    pub time: Option<f64>,
    /// Double-signing evidence the block carries: (height of the offence, upper-case
    /// address of the validator that signed twice).
    pub evidence: Vec<(u64, String)>,
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
        parse_result(&body)
    }

    /// `/status`.
    pub async fn status(&self) -> Result<Status, RpcError> {
        parse_status(&self.get("status").await?)
    }

    /// Number of peers from `/net_info`.
    pub async fn peers(&self) -> Result<u64, RpcError> {
        let r = self.get("net_info").await?;
        u64_at(&r, "/n_peers")
    }

    /// `/block?height=H`.
    pub async fn block(&self, height: u64) -> Result<Block, RpcError> {
        parse_block(&self.get(&format!("block?height={height}")).await?, height)
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

    /// Validator addresses at `height` in voting order (all pages).
    pub async fn validators(&self, height: u64) -> Result<Vec<String>, RpcError> {
        let mut out = Vec::new();
        for page in 1..=100u64 {
            let r = self
                .get(&format!(
                    "validators?height={height}&page={page}&per_page=100"
                ))
                .await?;
            let (total, vals) = parse_validators(&r)?;
            let empty = vals.is_empty();
            out.extend(vals);
            if out.len() as u64 >= total || empty {
                return Ok(out);
            }
        }
        Ok(out)
    }
}

/// The `result` object of a JSON-RPC response body; an `error` object, a body that
/// is not JSON or one without a result is an error.
pub fn parse_result(body: &[u8]) -> Result<Value, RpcError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        let head = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
        RpcError::Garbage(format!("not JSON ({e}): {head:?}"))
    })?;
    if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
        return Err(RpcError::Rpc(err.to_string()));
    }
    v.get("result")
        .filter(|r| r.is_object())
        .cloned()
        .ok_or_else(|| RpcError::Garbage("no result object".into()))
}

/// The parts of a `/status` result that are used.
pub fn parse_status(r: &Value) -> Result<Status, RpcError> {
    Ok(Status {
        network: str_at(r, "/node_info/network")?.to_string(),
        height: u64_at(r, "/sync_info/latest_block_height")?,
        catching_up: r
            .pointer("/sync_info/catching_up")
            .and_then(Value::as_bool)
            .ok_or_else(|| garbage("/sync_info/catching_up"))?,
        block_time: unix_time(r, "/sync_info/latest_block_time"),
    })
}

/// An RFC 3339 time at `ptr` as unix seconds.
fn unix_time(v: &Value, ptr: &str) -> Option<f64> {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .and_then(|t| humantime::parse_rfc3339(t).ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs_f64())
}

/// The block of a `NewBlock` event's `data.value` (it has the shape of a `/block`
/// result), at the height its header gives.
pub fn parse_event_block(value: &Value) -> Result<Block, RpcError> {
    let height = u64_at(value, "/block/header/height")?;
    parse_block(value, height)
}

/// The parts of a `/block` result that are used; `height` is the height asked for.
pub fn parse_block(r: &Value, height: u64) -> Result<Block, RpcError> {
    let b = r.get("block").ok_or_else(|| garbage("/block"))?;
    let got = u64_at(b, "/header/height")?;
    if got != height {
        return Err(RpcError::Garbage(format!(
            "asked for block {height}, got {got}"
        )));
    }
    let sigs = b
        .pointer("/last_commit/signatures")
        .and_then(Value::as_array)
        .ok_or_else(|| garbage("/last_commit/signatures"))?;
    let mut signatures = Vec::with_capacity(sigs.len());
    for s in sigs {
        let flag = s
            .get("block_id_flag")
            .and_then(Value::as_u64)
            .filter(|f| (1..=3).contains(f))
            .ok_or_else(|| garbage("block_id_flag"))?;
        let addr = s
            .get("validator_address")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_uppercase();
        signatures.push((flag, addr));
    }
    Ok(Block {
        height,
        chain_id: str_at(b, "/header/chain_id")?.to_string(),
        validators_hash: str_at(b, "/header/validators_hash")?.to_string(),
        commit_height: u64_at(b, "/last_commit/height")?,
        commit_round: b
            .pointer("/last_commit/round")
            .and_then(Value::as_u64)
            .and_then(|r| u32::try_from(r).ok()),
        signatures,
        time: unix_time(b, "/header/time"),
        evidence: parse_evidence(b),
    })
}

/// The offences in a block's `evidence.evidence`: a duplicate vote names its validator,
/// a light-client attack its byzantine validators. Unknown kinds are skipped.
fn parse_evidence(b: &Value) -> Vec<(u64, String)> {
    let list = b
        .pointer("/evidence/evidence")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let mut out = Vec::new();
    let height = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.parse().ok(),
        Some(Value::Number(n)) => n.as_u64(),
        _ => None,
    };
    for e in list {
        let v = &e["value"];
        match e["type"].as_str() {
            Some("tendermint/DuplicateVoteEvidence") => {
                let a = &v["vote_a"];
                if let (Some(h), Some(addr)) =
                    (height(a.get("height")), a["validator_address"].as_str())
                {
                    out.push((h, addr.to_ascii_uppercase()));
                }
            }
            Some("tendermint/LightClientAttackEvidence") => {
                let h = height(v.get("CommonHeight")).unwrap_or(0);
                for val in v["ByzantineValidators"].as_array().into_iter().flatten() {
                    if let Some(addr) = val["address"].as_str() {
                        out.push((h, addr.to_ascii_uppercase()));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// One page of a `/validators` result: the total count and this page's addresses
/// (upper-case hex).
pub fn parse_validators(r: &Value) -> Result<(u64, Vec<String>), RpcError> {
    let total = u64_at(r, "/total")?;
    let vals = r
        .get("validators")
        .and_then(Value::as_array)
        .ok_or_else(|| garbage("/validators"))?;
    let addrs = vals
        .iter()
        .map(|v| str_at(v, "/address").map(str::to_ascii_uppercase))
        .collect::<Result<_, _>>()?;
    Ok((total, addrs))
}

fn garbage(what: &str) -> RpcError {
    RpcError::Garbage(format!("missing or malformed {what}"))
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> Result<&'a str, RpcError> {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .ok_or_else(|| garbage(ptr))
}

/// CometBFT sends integers as strings; accept both.
fn u64_at(v: &Value, ptr: &str) -> Result<u64, RpcError> {
    match v.pointer(ptr) {
        Some(Value::String(s)) => s.parse().map_err(|_| garbage(ptr)),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| garbage(ptr)),
        _ => Err(garbage(ptr)),
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

/// The innermost cause of an error, which is where reqwest keeps the useful text
/// (with what to do when it is a TLS certificate problem).
pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    crate::tls::explain(&cur.to_string())
}

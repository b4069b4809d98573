//! Cosmos SDK data by ABCI query through a node's CometBFT RPC (`/abci_query` of the
//! modules' gRPC methods), for nodes whose REST API is off, as it is by default in
//! app.toml. Answers are checked like the REST ones: bad data is an error, a module the
//! chain lacks is [`Reply::Unavailable`].

use crate::collect::rpc::{Rpc, RpcError};
use crate::collect::sdk::proto::{self as sdk_proto, SigningInfoRequest, ValidatorRequest};
use crate::collect::sdk::source::{garbage, Head, Reply, SdkError};
use crate::sdk::{SigningInfo, SlashingParams, UpgradePlan, Validator};
use base64::Engine;
use prost::Message;
use serde_json::Value;

const PARAMS: &str = "/cosmos.slashing.v1beta1.Query/Params";
const SIGNING_INFO: &str = "/cosmos.slashing.v1beta1.Query/SigningInfo";
const VALIDATOR: &str = "/cosmos.staking.v1beta1.Query/Validator";
const PLAN: &str = "/cosmos.upgrade.v1beta1.Query/CurrentPlan";

/// The Cosmos SDK's root codespace and the codes the watch tells apart in it.
const SDK_CODESPACE: &str = "sdk";
const UNKNOWN_REQUEST: u64 = 6;
const KEY_NOT_FOUND: u64 = 22;

/// An ABCI query client for one RPC endpoint.
#[derive(Debug, Clone)]
pub struct Abci {
    rpc: Rpc,
}

impl Abci {
    /// A client querying through `rpc`.
    pub fn new(rpc: Rpc) -> Self {
        Self { rpc }
    }

    /// The endpoint URL.
    pub fn url(&self) -> &str {
        self.rpc.url()
    }

    /// The latest block, from `/status`.
    pub async fn head(&self) -> Result<Head, SdkError> {
        let s = self
            .rpc
            .status()
            .await
            .map_err(|e| from_rpc("/status", e))?;
        let time = s
            .block_time_unix()
            .ok_or_else(|| garbage("/status", "no latest_block_time"))?;
        Ok(Head {
            chain_id: s.network,
            height: s.height,
            time,
        })
    }

    /// The header of block `height`, from `/block`.
    pub async fn head_at(&self, height: u64) -> Result<Head, SdkError> {
        let b = self
            .rpc
            .block(height)
            .await
            .map_err(|e| from_rpc("/block", e))?;
        let time = b
            .time_unix()
            .ok_or_else(|| garbage("/block", "no header time"))?;
        Ok(Head {
            chain_id: b.chain_id,
            height: b.height,
            time,
        })
    }

    /// The slashing parameters.
    pub async fn slashing_params(&self) -> Result<Reply<SlashingParams>, SdkError> {
        self.query(PARAMS, &[])
            .await?
            .and_then(|b| sdk_proto::slashing_params(&b).map_err(|m| garbage(PARAMS, &m)))
    }

    /// The signing info of consensus address `valcons`.
    pub async fn signing_info(&self, valcons: &str) -> Result<Reply<SigningInfo>, SdkError> {
        let req = SigningInfoRequest {
            cons_address: valcons.to_string(),
        };
        self.query(SIGNING_INFO, &req.encode_to_vec())
            .await?
            .and_then(|b| {
                sdk_proto::signing_info(&b, valcons).map_err(|m| garbage(SIGNING_INFO, &m))
            })
    }

    /// The validator with operator address `valoper`.
    pub async fn validator(&self, valoper: &str) -> Result<Reply<Validator>, SdkError> {
        let req = ValidatorRequest {
            validator_addr: valoper.to_string(),
        };
        self.query(VALIDATOR, &req.encode_to_vec())
            .await?
            .and_then(|b| sdk_proto::validator(&b, valoper).map_err(|m| garbage(VALIDATOR, &m)))
    }

    /// The scheduled upgrade.
    pub async fn upgrade_plan(&self) -> Result<Reply<Option<UpgradePlan>>, SdkError> {
        self.query(PLAN, &[])
            .await?
            .and_then(|b| sdk_proto::upgrade_plan(&b).map_err(|m| garbage(PLAN, &m)))
    }

    pub(super) async fn query(&self, path: &str, data: &[u8]) -> Result<Reply<Vec<u8>>, SdkError> {
        let r = self
            .rpc
            .abci_query(path, data)
            .await
            .map_err(|e| from_rpc(path, e))?;
        classify(path, &r)
    }
}

/// Sort an `abci_query` response object into data, "not served", "not found" or an
/// error.
pub fn classify(path: &str, r: &Value) -> Result<Reply<Vec<u8>>, SdkError> {
    let code = match r.get("code") {
        None | Some(Value::Null) => 0,
        Some(c) => c
            .as_u64()
            .ok_or_else(|| garbage(path, &format!("code {c} is not a number")))?,
    };
    let text = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (log, codespace) = (text("log"), text("codespace"));
    if code == 0 {
        let value = match r.get("value") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => return Err(garbage(path, &format!("value {v} is not base64"))),
        };
        return base64::engine::general_purpose::STANDARD
            .decode(value)
            .map(Reply::Data)
            .map_err(|e| garbage(path, &format!("value is not base64: {e}")));
    }
    match (codespace.as_str(), code) {
        (SDK_CODESPACE, KEY_NOT_FOUND) => Ok(Reply::NotFound(log)),
        (SDK_CODESPACE, UNKNOWN_REQUEST) if log.contains("unknown query path") => {
            Ok(Reply::Unavailable)
        }
        _ => Err(SdkError::Refused {
            path: path.to_string(),
            message: format!("code {code} in codespace {codespace:?}: {log}"),
        }),
    }
}

fn from_rpc(path: &str, e: RpcError) -> SdkError {
    match e {
        RpcError::Timeout(t) => SdkError::Timeout(t),
        RpcError::Unreachable(m) => SdkError::Unreachable(m),
        RpcError::Http(status) => SdkError::Http {
            status,
            path: path.to_string(),
            message: "is this the node's CometBFT RPC (usually port 26657)?".into(),
        },
        RpcError::Garbage(m) => garbage(
            path,
            &format!("{m}; is this the node's CometBFT RPC (usually port 26657)?"),
        ),
        RpcError::Rpc(m) => SdkError::Refused {
            path: path.to_string(),
            message: m,
        },
        RpcError::Behind { height, best } => SdkError::Behind {
            behind: best.saturating_sub(height),
            height,
            best,
        },
        RpcError::WrongChain { expected, got } => SdkError::WrongChain { expected, got },
    }
}

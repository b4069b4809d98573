//! The sections of `watch.toml`: chains, nodes, hosts, signers and the heartbeat.

use super::levels::RuleOverrides;
use super::route::Labels;
use super::secret::Secret;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A dead man's switch (healthchecks.io, Dead Man's Snitch, Cronitor, ...).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatConfig {
    /// URL that receives a GET every `interval` while the watch runs (a secret: such
    /// URLs usually carry the check's key).
    pub url: Secret,
    /// How often.
    #[serde(default = "default_heartbeat_interval", with = "confkit::duration")]
    pub interval: Duration,
}

/// A chain and our validator on it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// Chain ID as the nodes report it (`node_info.network`).
    pub id: String,
    /// Our validator's consensus address: hex (20 bytes, as in `last_commit.signatures`
    /// and `/validators`) or bech32 (`<prefix>valcons1...`); or leave it out and give
    /// `validator_pubkey`.
    pub validator_address: Option<String>,
    /// Our validator's Ed25519 consensus public key (base64, as `priv_validator_key.json`
    /// has it, or the JSON of `<appd> tendermint show-validator`), from which the
    /// address is derived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validator_pubkey: Option<String>,
    /// CometBFT RPC endpoints, tried in order; the first healthy one is used.
    pub rpc: Vec<String>,
    /// How many blocks are kept in the signed/missed grid.
    #[serde(default = "default_grid_blocks")]
    pub grid_blocks: usize,
    /// At most this many missed heights are fetched in one poll (backfill).
    #[serde(default = "default_max_backfill")]
    pub max_backfill: u64,
    /// Also subscribe to `NewBlock` over an endpoint's websocket (`ws://`, or `wss://`
    /// for an `https://` endpoint; the first that accepts), so new blocks are read as
    /// soon as they are made. Polling still runs as the fallback.
    #[serde(default = "default_websocket")]
    pub websocket: bool,
    /// Cosmos SDK REST API endpoints (app.toml `[api]`, usually port 1317), tried in
    /// order: slashing window, jail, staking status and scheduled upgrades (or set
    /// `abci_query` to read them through `rpc`).
    #[serde(default)]
    pub rest: Vec<String>,
    /// Our validator's operator address (`<prefix>valoper1...`), for its staking status;
    /// its prefix also gives the consensus address's (`<prefix>valcons1...`).
    pub operator_address: Option<String>,
    /// The chain's account prefix (e.g. `cosmos`), when `operator_address` is not given.
    pub bech32_prefix: Option<String>,
    /// Read the Cosmos SDK data by ABCI query through the `rpc` endpoints instead of
    /// REST, for nodes whose REST API is off (the default in app.toml).
    #[serde(default)]
    pub abci_query: bool,
    /// How often the Cosmos SDK data is read.
    #[serde(default = "default_sdk_interval", with = "confkit::duration")]
    pub sdk_interval: Duration,
    /// The chain's usual time between blocks, for rule durations given in blocks
    /// (`"20 blocks"`) in its rules, its nodes' and their roles'.
    #[serde(
        default,
        with = "confkit::duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub block_time: Option<Duration>,
    /// This chain's own levels, over `[rules]`, for its rules and its nodes' (e.g.
    /// `rules.missed_in_a_row = { warning = 20, critical = 50 }` on a fast chain).
    #[serde(default, skip_serializing_if = "RuleOverrides::is_empty")]
    pub rules: RuleOverrides,
    /// How often the data that changes slowly is read (over `rest`, or by ABCI query
    /// with `abci_query`): governance proposals
    /// in their voting period and our votes, `wallet` balances, and the bonded validator
    /// set (our rank and share of the stake).
    #[serde(default = "default_sdk_slow_interval", with = "confkit::duration")]
    pub sdk_slow_interval: Duration,
    /// Remind of governance proposals in their voting period that our validator has not
    /// voted on (`gov_unvoted`; needs `rest` or `abci_query`, and `operator_address`).
    #[serde(default = "default_governance")]
    pub governance: bool,
    /// Named accounts whose balance is checked (`[[chain.wallet]]`).
    #[serde(default, rename = "wallet", skip_serializing_if = "Vec::is_empty")]
    pub wallets: Vec<super::WalletConfig>,
    /// The chain's price-oracle module (`[chain.oracle]`), where our validator's missed
    /// votes are counted (read over `rest`, with `operator_address`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oracle: Option<OracleConfig>,
    /// The operator's own labels for its alerts, e.g. `{ env = "mainnet", team = "core" }`
    /// (routes and inhibitions match on them).
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
}

impl ChainConfig {
    /// Chain `id` read through `rpc`, every other setting at its default.
    pub fn new(id: &str, rpc: Vec<String>) -> ChainConfig {
        ChainConfig {
            id: id.to_string(),
            validator_address: None,
            validator_pubkey: None,
            rpc,
            grid_blocks: default_grid_blocks(),
            max_backfill: default_max_backfill(),
            websocket: default_websocket(),
            rest: Vec::new(),
            operator_address: None,
            bech32_prefix: None,
            abci_query: false,
            sdk_interval: default_sdk_interval(),
            block_time: None,
            rules: RuleOverrides::default(),
            sdk_slow_interval: default_sdk_slow_interval(),
            governance: default_governance(),
            wallets: Vec::new(),
            oracle: None,
            labels: Labels::new(),
        }
    }
}

/// A price-oracle module of Terra's design (`x/oracle`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OracleConfig {
    /// Its REST path: `/umee/oracle/v1` (Umee), `/ojo/oracle/v1` (Ojo), `/oracle`
    /// (Kujira); `{prefix}/params` and `{prefix}/validators/{valoper}/miss` are read.
    pub prefix: String,
}

/// What a node is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Signs for our validator.
    Validator,
    /// Ready to take over from the validator node.
    Backup,
    /// Shields the validator from the public network.
    Sentry,
    /// Serves RPC to users or tools.
    Rpc,
    /// Runs next to a relayer.
    Relayer,
    /// Runs next to an oracle.
    Oracle,
    /// Anything else.
    Full,
}

impl Role {
    /// The name used in labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Validator => "validator",
            Role::Backup => "backup",
            Role::Sentry => "sentry",
            Role::Rpc => "rpc",
            Role::Relayer => "relayer",
            Role::Oracle => "oracle",
            Role::Full => "full",
        }
    }
}

/// A node whose health is checked.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Unique name, used in alerts and metrics.
    pub name: String,
    /// Chain ID the node must be on (one of the `[[chain]]`s).
    pub chain: String,
    /// What the node is for.
    pub role: Role,
    /// CometBFT RPC URL.
    pub rpc: String,
    /// CometBFT's Prometheus endpoint (`[instrumentation] prometheus = true`, usually
    /// port 26660), e.g. `http://10.0.0.11:26660/metrics`: consensus rounds, voting
    /// power missing from the last commit, mempool size.
    #[serde(default)]
    pub metrics: Option<String>,
    /// For a `relayer`: its Hermes' telemetry endpoint (`[telemetry] enabled = true`,
    /// usually port 3001), e.g. `http://10.0.0.12:3001/metrics`: wallet balances,
    /// packets waiting per channel, confirmation latency, broadcast and simulation errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hermes: Option<String>,
    /// The namespace Hermes' `[telemetry] prefix` puts before its metric names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hermes_prefix: Option<String>,
    /// The history it must serve (an RPC node's promise to its users): `"archive"`
    /// (every block from the chain's first), or a number of recent blocks. `rpc_history`
    /// fires when `/status`'s `earliest_block_height` says it serves less.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<History>,
    /// The `[[host]]` it runs on (its alerts carry that host's name and labels, and a
    /// `host_down` of that host inhibits them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The operator's own labels for its alerts, e.g. `{ env = "mainnet", team = "core" }`
    /// (routes and inhibitions match on them).
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
    /// This node's own levels, over its role's, its chain's and `[rules]`: e.g.
    /// `rules.peers_low = { warning = 1, critical = 1 }` for a validator or backup that
    /// peers only with its sentry, where one peer is normal and none is critical.
    #[serde(default, skip_serializing_if = "RuleOverrides::is_empty")]
    pub rules: RuleOverrides,
}

/// The blocks a node must keep serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum History {
    /// Every block since the chain's first (earliest height 1).
    Archive,
    /// At least this many recent blocks.
    Blocks(u64),
}

impl Serialize for History {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            History::Archive => s.serialize_str("archive"),
            History::Blocks(n) => s.serialize_u64(*n),
        }
    }
}

impl<'de> Deserialize<'de> for History {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            Blocks(u64),
        }
        match Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom("history is \"archive\" or a number of recent blocks")
        })? {
            Raw::Word(w) if w == "archive" => Ok(History::Archive),
            Raw::Word(w) => Err(serde::de::Error::custom(format!(
                "history {w:?}: write \"archive\" or a number of recent blocks"
            ))),
            Raw::Blocks(0) => Err(serde::de::Error::custom(
                "history = 0 keeps nothing: give a number of blocks above 0, or \"archive\"",
            )),
            Raw::Blocks(n) => Ok(History::Blocks(n)),
        }
    }
}

/// A host scraped through node_exporter.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Unique name, used in alerts and metrics.
    pub name: String,
    /// node_exporter metrics URL, e.g. `http://10.0.0.5:9100/metrics`; without it, the
    /// host the watch runs on is read directly (`/proc` and `statvfs`).
    #[serde(default)]
    pub node_exporter: Option<String>,
    /// Mount points to check (all real filesystems when empty).
    #[serde(default)]
    pub mountpoints: Vec<String>,
    /// This host's own levels of the host rules, over `[rules]`.
    #[serde(default, skip_serializing_if = "RuleOverrides::is_empty")]
    pub rules: RuleOverrides,
    /// The operator's own labels for its alerts, e.g. `{ env = "mainnet", team = "core" }`
    /// (routes and inhibitions match on them).
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
}

/// A `bulwark signer` whose metrics endpoint is scraped.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SignerConfig {
    /// Unique name, used in alerts.
    pub name: String,
    /// The signer's metrics URL (its `[metrics] listen`), e.g. `http://10.0.0.5:9760/metrics`.
    pub metrics_url: String,
    /// For a threshold cosigner: the name of its group, the cosigners holding shares of
    /// the same keys (every `[[signer]]` with this `cosigners` is one of them). The
    /// cosigner rules (`cosigner_down`, `threshold_at_risk`, `threshold_lost`,
    /// `cosigner_refusals`, `cosigner_slow`) apply to it, and `cosigner_down` stands in
    /// for `signer_down`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cosigners: Option<String>,
    /// The name the other cosigners give this one in their `[threshold] peers` (the
    /// `peer` label of their metrics); the signer's `name` when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_name: Option<String>,
    /// This signer's own levels of the signer rules, over `[rules]`.
    #[serde(default, skip_serializing_if = "RuleOverrides::is_empty")]
    pub rules: RuleOverrides,
    /// The `[[host]]` it runs on (its alerts carry that host's name and labels, and a
    /// `host_down` of that host inhibits them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The operator's own labels for its alerts, e.g. `{ env = "mainnet", team = "core" }`
    /// (routes and inhibitions match on them).
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
}

impl SignerConfig {
    /// A plain signer `name` scraped at `metrics_url`.
    pub fn new(name: impl Into<String>, metrics_url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            metrics_url: metrics_url.into(),
            cosigners: None,
            peer_name: None,
            rules: RuleOverrides::default(),
            host: None,
            labels: Labels::new(),
        }
    }

    /// Cosigner `name` of the group `group`, scraped at `metrics_url`.
    pub fn cosigner(
        name: impl Into<String>,
        metrics_url: impl Into<String>,
        group: impl Into<String>,
    ) -> Self {
        Self {
            cosigners: Some(group.into()),
            ..Self::new(name, metrics_url)
        }
    }

    /// The name the other cosigners know this one by.
    pub fn peer_name(&self) -> &str {
        self.peer_name.as_deref().unwrap_or(&self.name)
    }
}

/// Another `bulwark watch` watching the same chains (in another region), whose
/// heartbeat this one checks: each alerts when the other stops.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// Unique name, used in alerts.
    pub name: String,
    /// Its HTTP listener (its `listen`), e.g. `http://10.1.0.5:9750`; `/healthz` is read.
    pub url: String,
}

fn default_heartbeat_interval() -> Duration {
    Duration::from_secs(60)
}
fn default_grid_blocks() -> usize {
    100
}
fn default_websocket() -> bool {
    true
}
fn default_sdk_interval() -> Duration {
    Duration::from_secs(6)
}
fn default_sdk_slow_interval() -> Duration {
    Duration::from_secs(60)
}
fn default_governance() -> bool {
    true
}
fn default_max_backfill() -> u64 {
    50
}

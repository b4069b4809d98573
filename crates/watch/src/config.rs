//! `watch.toml`: chains, nodes, hosts, rules, channels and routes.

use crate::duration;
use crate::secret::Secret;
use serde::Deserialize;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// SQLite database holding alert state across restarts.
    pub state_path: PathBuf,
    /// Where `/metrics` and `/api/status` are served.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// How often chains, nodes and hosts are polled.
    #[serde(default = "default_poll_interval", with = "duration")]
    pub poll_interval: Duration,
    /// Timeout of every outgoing request (RPC, exporters, notifications).
    #[serde(default = "default_request_timeout", with = "duration")]
    pub request_timeout: Duration,
    /// Repeat a critical alert that is still firing this often.
    #[serde(default = "default_repeat_interval", with = "duration")]
    pub repeat_interval: Duration,
    /// Chains whose blocks are followed.
    #[serde(default, rename = "chain")]
    pub chains: Vec<ChainConfig>,
    /// Nodes whose health is checked.
    #[serde(default, rename = "node")]
    pub nodes: Vec<NodeConfig>,
    /// Hosts scraped through node_exporter.
    #[serde(default, rename = "host")]
    pub hosts: Vec<HostConfig>,
    /// Bulwark signers whose metrics are checked.
    #[serde(default, rename = "signer")]
    pub signers: Vec<SignerConfig>,
    /// Rule thresholds.
    #[serde(default)]
    pub rules: crate::rules::RulesConfig,
    /// Where notifications can go.
    #[serde(default, rename = "channel")]
    pub channels: Vec<ChannelConfig>,
    /// Which alerts go to which channels.
    #[serde(default, rename = "route")]
    pub routes: Vec<RouteConfig>,
    /// Dead man's switch: a URL called while the watch runs, so silence is noticed.
    pub heartbeat: Option<HeartbeatConfig>,
    /// PEM file of CA certificates trusted, on top of the Mozilla root set, by every
    /// outgoing TLS connection: `https://` RPC and exporters, `wss://` websockets,
    /// webhooks and SMTP (for nodes behind a private CA).
    pub tls_ca_file: Option<PathBuf>,
}

/// A dead man's switch (healthchecks.io, Dead Man's Snitch, Cronitor, ...).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatConfig {
    /// URL that receives a GET every `interval` while the watch runs (a secret: such
    /// URLs usually carry the check's key).
    pub url: Secret,
    /// How often.
    #[serde(default = "default_heartbeat_interval", with = "duration")]
    pub interval: Duration,
}

/// A chain and our validator on it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// Chain ID as the nodes report it (`node_info.network`).
    pub id: String,
    /// Our validator's consensus address (hex, 20 bytes), as in `last_commit.signatures`.
    pub validator_address: Option<String>,
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
    #[serde(default = "default_sdk_interval", with = "duration")]
    pub sdk_interval: Duration,
}

/// What a node is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
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
#[derive(Debug, Clone, Deserialize)]
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
}

/// A host scraped through node_exporter.
#[derive(Debug, Clone, Deserialize)]
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
}

/// A `bulwark signer` whose metrics endpoint is scraped.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerConfig {
    /// Unique name, used in alerts.
    pub name: String,
    /// The signer's metrics URL (its `[metrics] listen`), e.g. `http://10.0.0.5:9760/metrics`.
    pub metrics_url: String,
}

/// A notification channel: `type` picks the kind, `name` is what routes refer to.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChannelConfig {
    /// Generic JSON webhook (see `notify::webhook_payload`).
    Webhook {
        /// Unique name.
        name: String,
        /// URL that receives a POST per notification.
        url: String,
    },
    /// Prometheus Alertmanager v2 API.
    Alertmanager {
        /// Unique name.
        name: String,
        /// Alertmanager base URL, e.g. `http://127.0.0.1:9093`.
        url: String,
        /// Firing alerts are re-sent this often so Alertmanager keeps them.
        #[serde(default = "default_resend_interval", with = "duration")]
        resend_interval: Duration,
    },
    /// Slack incoming webhook.
    Slack {
        /// Unique name.
        name: String,
        /// Incoming webhook URL (a secret: it carries the key).
        webhook_url: Secret,
    },
    /// Discord webhook.
    Discord {
        /// Unique name.
        name: String,
        /// Webhook URL (a secret: it carries the key).
        webhook_url: Secret,
    },
    /// Telegram bot message.
    Telegram {
        /// Unique name.
        name: String,
        /// Bot token.
        bot_token: Secret,
        /// Chat to post to.
        chat_id: String,
        /// Bot API base URL.
        #[serde(default = "default_telegram_api")]
        api_url: String,
    },
    /// PagerDuty Events API v2.
    Pagerduty {
        /// Unique name.
        name: String,
        /// Integration routing key.
        routing_key: Secret,
        /// Events endpoint.
        #[serde(default = "default_pagerduty_url")]
        url: String,
    },
    /// Email over SMTP (see `email::EmailConfig`).
    Email(crate::email::EmailConfig),
}

impl ChannelConfig {
    /// The channel's name.
    pub fn name(&self) -> &str {
        match self {
            ChannelConfig::Webhook { name, .. }
            | ChannelConfig::Alertmanager { name, .. }
            | ChannelConfig::Slack { name, .. }
            | ChannelConfig::Discord { name, .. }
            | ChannelConfig::Telegram { name, .. }
            | ChannelConfig::Pagerduty { name, .. } => name,
            ChannelConfig::Email(e) => &e.name,
        }
    }

    /// Its `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelConfig::Webhook { .. } => "webhook",
            ChannelConfig::Alertmanager { .. } => "alertmanager",
            ChannelConfig::Slack { .. } => "slack",
            ChannelConfig::Discord { .. } => "discord",
            ChannelConfig::Telegram { .. } => "telegram",
            ChannelConfig::Pagerduty { .. } => "pagerduty",
            ChannelConfig::Email(_) => "email",
        }
    }
}

/// Which alerts go to which channels.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Channel names.
    pub channels: Vec<String>,
    /// Lowest severity sent (`warning` or `critical`).
    #[serde(default = "default_min_severity")]
    pub min_severity: crate::Severity,
    /// Chains this route is for (all alerts when empty; alerts without a chain, such
    /// as host alerts, match only routes without `chains`).
    #[serde(default)]
    pub chains: Vec<String>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9750))
}
fn default_poll_interval() -> Duration {
    Duration::from_secs(2)
}
fn default_request_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_repeat_interval() -> Duration {
    Duration::from_secs(30 * 60)
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
fn default_max_backfill() -> u64 {
    50
}
fn default_resend_interval() -> Duration {
    Duration::from_secs(60)
}
fn default_telegram_api() -> String {
    "https://api.telegram.org".into()
}
fn default_pagerduty_url() -> String {
    "https://events.pagerduty.com/v2/enqueue".into()
}
fn default_min_severity() -> crate::Severity {
    crate::Severity::Warning
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read watch config {path}: {source}; check the path given with --config")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("invalid watch config {path}: {message}; see crates/watch/watch.example.toml")]
    Parse {
        /// File.
        path: PathBuf,
        /// Parser message.
        message: String,
    },
    /// The values do not make sense together.
    #[error("invalid watch config:\n  - {}\nfix these and start again", .0.join("\n  - "))]
    Invalid(Vec<String>),
}

impl Config {
    /// Read, parse and validate a file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let config = Self::parse(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.to_path_buf(),
                message,
            },
            e => e,
        })?;
        Ok(config)
    }

    /// Parse and validate TOML text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::from("<text>"),
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Every problem at once.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut p = Vec::new();
        if self.state_path.as_os_str().is_empty() {
            p.push("state_path is empty: give a file for the alert database".into());
        }
        if self.poll_interval.is_zero() {
            p.push("poll_interval must be above 0s".into());
        }
        if self.request_timeout.is_zero() {
            p.push("request_timeout must be above 0s".into());
        }
        if self.repeat_interval.is_zero() {
            p.push("repeat_interval must be above 0s".into());
        }
        let mut chains = HashSet::new();
        for c in &self.chains {
            if c.id.is_empty() {
                p.push("a [[chain]] has an empty id".into());
            }
            if !chains.insert(c.id.as_str()) {
                p.push(format!("chain {:?} is listed twice", c.id));
            }
            if c.rpc.is_empty() {
                p.push(format!("chain {:?}: give at least one rpc URL", c.id));
            }
            for u in &c.rpc {
                check_url(&mut p, &format!("chain {:?} rpc", c.id), u);
            }
            if let Some(a) = &c.validator_address {
                if a.len() != 40 || !a.chars().all(|ch| ch.is_ascii_hexdigit()) {
                    p.push(format!(
                        "chain {:?}: validator_address {a:?} is not 40 hex characters (the consensus address as /validators shows it)",
                        c.id
                    ));
                }
            }
            if c.grid_blocks == 0 {
                p.push(format!("chain {:?}: grid_blocks must be above 0", c.id));
            }
            if c.max_backfill == 0 {
                p.push(format!("chain {:?}: max_backfill must be above 0", c.id));
            }
            crate::sdk::validate_chain(c, &mut p);
        }
        let mut names = HashSet::new();
        for n in &self.nodes {
            if !names.insert(n.name.as_str()) {
                p.push(format!("node {:?} is listed twice", n.name));
            }
            if !chains.contains(n.chain.as_str()) {
                p.push(format!(
                    "node {:?}: chain {:?} is not a [[chain]] id",
                    n.name, n.chain
                ));
            }
            check_url(&mut p, &format!("node {:?} rpc", n.name), &n.rpc);
            if let Some(u) = &n.metrics {
                check_url(&mut p, &format!("node {:?} metrics", n.name), u);
            }
        }
        let mut hosts = HashSet::new();
        for h in &self.hosts {
            if !hosts.insert(h.name.as_str()) {
                p.push(format!("host {:?} is listed twice", h.name));
            }
            if let Some(url) = &h.node_exporter {
                check_url(&mut p, &format!("host {:?} node_exporter", h.name), url);
            }
        }
        let mut signers = HashSet::new();
        for s in &self.signers {
            if !signers.insert(s.name.as_str()) {
                p.push(format!("signer {:?} is listed twice", s.name));
            }
            check_url(
                &mut p,
                &format!("signer {:?} metrics_url", s.name),
                &s.metrics_url,
            );
        }
        let mut channels = HashSet::new();
        for c in &self.channels {
            if !channels.insert(c.name()) {
                p.push(format!("channel {:?} is listed twice", c.name()));
            }
            let what = format!("channel {:?}", c.name());
            match c {
                ChannelConfig::Webhook { url, .. } => check_url(&mut p, &what, url),
                ChannelConfig::Alertmanager {
                    url,
                    resend_interval,
                    ..
                } => {
                    check_url(&mut p, &what, url);
                    if resend_interval.is_zero() {
                        p.push(format!("{what}: resend_interval must be above 0s"));
                    }
                }
                ChannelConfig::Slack { webhook_url, .. }
                | ChannelConfig::Discord { webhook_url, .. } => {
                    check_url(&mut p, &what, webhook_url.expose())
                }
                ChannelConfig::Telegram {
                    bot_token, api_url, ..
                } => {
                    check_url(&mut p, &what, api_url);
                    if bot_token.expose().is_empty() {
                        p.push(format!("{what}: bot_token is empty"));
                    }
                }
                ChannelConfig::Pagerduty {
                    routing_key, url, ..
                } => {
                    check_url(&mut p, &what, url);
                    if routing_key.expose().is_empty() {
                        p.push(format!("{what}: routing_key is empty"));
                    }
                }
                ChannelConfig::Email(e) => e.check(&what, &mut p),
            }
        }
        for (i, r) in self.routes.iter().enumerate() {
            if r.channels.is_empty() {
                p.push(format!("route #{}: list at least one channel", i + 1));
            }
            for c in &r.channels {
                if !channels.contains(c.as_str()) {
                    p.push(format!("route #{}: channel {c:?} is not defined", i + 1));
                }
            }
            for c in &r.chains {
                if !chains.contains(c.as_str()) {
                    p.push(format!(
                        "route #{}: chain {c:?} is not a [[chain]] id",
                        i + 1
                    ));
                }
            }
        }
        if let Some(h) = &self.heartbeat {
            check_url(&mut p, "heartbeat url", h.url.expose());
            if h.interval.is_zero() {
                p.push("heartbeat interval must be above 0s".into());
            }
        }
        if let Some(f) = &self.tls_ca_file {
            if let Err(e) = crate::tls::Trust::from_pem_file(f) {
                p.push(e.to_string());
            }
        }
        self.rules.validate(&mut p);
        if p.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(p))
        }
    }
}

pub(crate) fn check_url(p: &mut Vec<String>, what: &str, url: &str) {
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && url.split("://").nth(1).is_some_and(|r| !r.is_empty());
    if !ok {
        p.push(format!("{what}: {url:?} is not an http:// or https:// URL"));
    }
}

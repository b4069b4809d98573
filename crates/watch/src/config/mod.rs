//! `watch.toml`: chains, nodes, hosts, rules, channels and routes.

//!
//! This room is the whole configuration schema: its types, their defaults and
//! `validate()`. It is a leaf: nothing here imports the watch's runtime (collectors,
//! rules, notifiers, server), which all read their settings from here.

mod address;
pub use address::ed25519_address;
mod channel;
mod email;
mod explain;
mod include;
mod levels;
mod quiet;
mod route;
mod rule_defaults;
mod rules;
mod sdk;
mod secret;
mod sections;
mod tls;
mod validate;
mod validate_routing;
mod wallet;

pub use channel::ChannelConfig;
pub use email::{EmailConfig, Security};
pub use explain::{chain_levels, ChainLevels, FieldLevel, NodeLevels, RuleLevels};
pub use levels::{blocks, scope_of, Levels, RoleConfig, RuleOverrides, Scope, SCOPES};
pub use quiet::{ClockTime, QuietHours, UtcOffset};
pub use route::{
    default_inhibits, matches, valid_label_name, InhibitConfig, Labels, MatchValue, Matchers,
    Pattern, RouteConfig, BUILT_IN_LABELS, HOST_DOWN_SILENCES,
};
pub use rules::{
    CountRule, DurationRule, HoldRule, NoticeRule, PercentRule, RatioRule, RulesConfig,
};
pub use secret::Secret;
pub use sections::{
    ChainConfig, HeartbeatConfig, History, HostConfig, NodeConfig, OracleConfig, PeerConfig, Role,
    SignerConfig,
};
pub use tls::TlsError;
pub(crate) use tls::{read_ca_file, root_store};
pub(crate) use validate::check_url;
pub use wallet::WalletConfig;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// SQLite database holding alert state across restarts.
    pub state_path: PathBuf,
    /// Where `/metrics` and `/api/status` are served.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// How often chains, nodes and hosts are polled.
    #[serde(default = "default_poll_interval", with = "confkit::duration")]
    pub poll_interval: Duration,
    /// Timeout of every outgoing request (RPC, exporters, notifications).
    #[serde(default = "default_request_timeout", with = "confkit::duration")]
    pub request_timeout: Duration,
    /// Repeat a critical alert that is still firing this often.
    #[serde(default = "default_repeat_interval", with = "confkit::duration")]
    pub repeat_interval: Duration,
    /// Chains whose blocks are followed.
    #[serde(default, rename = "chain")]
    pub chains: Vec<ChainConfig>,
    /// A directory of `*.toml` files (relative to this file), each with more
    /// `[[chain]]`, `[[node]]`, `[[host]]` and `[[signer]]` entries, read in name order
    /// after this file (and again at each reload).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chains_dir: Option<PathBuf>,
    /// Nodes whose health is checked.
    #[serde(default, rename = "node")]
    pub nodes: Vec<NodeConfig>,
    /// Hosts scraped through node_exporter.
    #[serde(default, rename = "host")]
    pub hosts: Vec<HostConfig>,
    /// Bulwark signers whose metrics are checked.
    #[serde(default, rename = "signer")]
    pub signers: Vec<SignerConfig>,
    /// Rule thresholds: the defaults, which a chain's, a role's, a node's, a host's and
    /// a signer's own `rules` override.
    #[serde(default)]
    pub rules: RulesConfig,
    /// Settings per node role (`[roles.validator]`, `[roles.sentry]`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<Role, RoleConfig>,
    /// Where notifications can go.
    #[serde(default, rename = "channel")]
    pub channels: Vec<ChannelConfig>,
    /// Which alerts go to which channels.
    #[serde(default, rename = "route")]
    pub routes: Vec<RouteConfig>,
    /// Which alerts silence which (default: `host_down` silences what it causes).
    #[serde(default = "default_inhibits", rename = "inhibit")]
    pub inhibits: Vec<InhibitConfig>,
    /// The channel that gets `channel_failing` alerts (a channel whose deliveries keep
    /// failing), on top of the routes' channels other than the failing one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_channel: Option<String>,
    /// Dead man's switch: a URL called while the watch runs, so silence is noticed.
    pub heartbeat: Option<HeartbeatConfig>,
    /// The other watches of a redundant pair (or more): each is checked, and
    /// `peer_down` fires when one stops answering.
    #[serde(default, rename = "peer", skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<PeerConfig>,
    /// PEM file of CA certificates trusted, on top of the Mozilla root set, by every
    /// outgoing TLS connection: `https://` RPC and exporters, `wss://` websockets,
    /// webhooks and SMTP (for nodes behind a private CA).
    pub tls_ca_file: Option<PathBuf>,
}

/// How bad an alert is (ordered: a higher one is worse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For the record (a governance proposal with days left): shown on the status page
    /// and in `/api/status`, sent only by routes with `min_severity = "info"`.
    Info,
    /// Look at it soon.
    Warning,
    /// Act now.
    Critical,
}

impl Config {
    /// A watch keeping its state in `state_path`, watching nothing yet, every setting
    /// at its default (the devnet and the tests build their configs from this).
    pub fn new(state_path: PathBuf) -> Config {
        Config {
            state_path,
            listen: default_listen(),
            poll_interval: default_poll_interval(),
            request_timeout: default_request_timeout(),
            repeat_interval: default_repeat_interval(),
            chains: Vec::new(),
            chains_dir: None,
            nodes: Vec::new(),
            hosts: Vec::new(),
            signers: Vec::new(),
            rules: RulesConfig::default(),
            roles: BTreeMap::new(),
            channels: Vec::new(),
            routes: Vec::new(),
            inhibits: default_inhibits(),
            fallback_channel: None,
            heartbeat: None,
            peers: Vec::new(),
            tls_ca_file: None,
        }
    }

    /// The file's TOML text.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }
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
        let mut config: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        include::chains_dir(&mut config, base)?;
        config.check()?;
        Ok(config)
    }

    /// Parse and validate TOML text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::from("<text>"),
            message: e.to_string(),
        })?;
        config.check()?;
        Ok(config)
    }
}

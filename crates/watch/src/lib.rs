//! `watch`: monitoring of CometBFT chains, nodes and hosts, with alert rules,
//! a persisted alert lifecycle, notifications, Prometheus metrics and a JSON API.
//!
//! [`run`] starts one collector task per chain, node and host, an engine that
//! evaluates the rules every poll interval, a dispatcher that delivers the outbox, and
//! the HTTP server.

#![forbid(unsafe_code)]

pub mod alert;
pub mod bech32;
pub mod collect;
pub mod config;
pub mod email;
pub mod http;
pub mod metrics;
pub mod metrics_sdk;
pub mod net;
pub mod notify;
pub mod page;
pub mod payload;
pub mod rules;
mod rules_chain;
mod rules_consensus;
mod rules_host;
mod rules_sdk;
mod rules_signer;
pub mod sdk;
mod sdk_page;
pub mod silence;
pub mod state;
pub mod store;
pub mod test_alert;
pub mod time;

mod daemon;

pub use config::{Config, ConfigError, Severity};
pub use daemon::{fetch_status, run, run_with_registry};
pub use store::StoreError;

/// Why the watch stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The configuration is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The alert database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HTTP address cannot be used.
    #[error("cannot listen on {addr}: {source}; pick a free address for `listen` in watch.toml")]
    Bind {
        /// Address.
        addr: std::net::SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// A channel asked for by name is not configured.
    #[error("no channel {name:?} in the watch config; its channels are: {known}")]
    UnknownChannel {
        /// The name asked for.
        name: String,
        /// The configured names.
        known: String,
    },
    /// A task failed.
    #[error("watch task failed: {0}")]
    Task(String),
    /// Reading another watch's status failed.
    #[error("cannot read watch status from {url}: {message}; is `bulwark watch run` running and listening there?")]
    Status {
        /// URL.
        url: String,
        /// Cause.
        message: String,
    },
}

//! `watch`: monitoring of CometBFT chains, nodes and hosts, with alert rules,
//! a persisted alert lifecycle, notifications, Prometheus metrics and a JSON API.
//!
//! [`run`] starts one collector task per chain, node and host, an engine that
//! evaluates the rules every poll interval, a dispatcher that delivers the outbox, and
//! the HTTP server.

#![forbid(unsafe_code)]

pub mod bech32;
mod collect;
pub mod config;
mod daemon;
mod engine;
mod error;
mod net;
mod notify;
mod rules;
mod sdk;
mod serve;
mod state;
mod time;

// The interface of the binary and the end-to-end tests: load a config, run the
// watch, read a running one's status, send a test alert, manage silences.
pub use config::{Config, ConfigError, Severity};
pub use daemon::{fetch_status, request_reload, run, run_file, run_with_registry, Reloaded};
pub use engine::silence::Silence;
pub use engine::store::{Store, StoreError};
pub use error::WatchError;
pub use notify::test_alert;
pub use time::{now, rfc3339};

/// The decoders of outside input, for the fuzz targets in `fuzz/` only (feature
/// `fuzzing`); not an interface.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod decoders {
    pub use crate::collect::exporter;
    pub use crate::collect::sdk::proto_slow as sdk_proto_slow;
    pub use crate::collect::sdk::rest_slow as sdk_rest_slow;
    pub use crate::collect::sdk::{abci as sdk_abci, proto as sdk_proto};
    pub use crate::collect::sdk::{rest as sdk_rest, source as sdk_source};
    pub use crate::sdk::GovApi;
}

#[cfg(test)]
mod tests;

//! `watch`: monitoring of CometBFT chains, nodes and hosts, with alert rules,
//! a persisted alert lifecycle, notifications, Prometheus metrics and a JSON API.
//!
//! [`run`] starts one collector task per chain, node and host, an engine that
//! evaluates the rules every poll interval, a dispatcher that delivers the outbox, and
//! the HTTP server.

#![forbid(unsafe_code)]

pub mod bech32;
pub mod collect;
pub mod config;
pub mod engine;
mod error;
pub mod net;
pub mod notify;
pub mod rules;
pub mod sdk;
pub mod serve;
pub mod state;
pub mod time;

mod daemon;

pub use config::{Config, ConfigError, Severity};
pub use daemon::{fetch_status, run, run_with_registry};
pub use engine::store::StoreError;
pub use error::WatchError;

#[cfg(test)]
mod tests;

//! Collectors: everything that reads the outside world into `state`. CometBFT RPC
//! ([`rpc`]) and its websocket ([`ws`]) for chains ([`chain`]) and nodes
//! ([`nodes`]), node_exporter and the local host ([`exporter`], [`localhost`]),
//! CometBFT's own metrics ([`node_metrics`]), signer metrics ([`signer`], with a threshold cosigner's in [`cosigner`]) and the
//! Cosmos SDK modules ([`sdk`]).
//!
//! A new collector goes here, as a file with a type that reads one source and
//! writes what it saw into `state`; `daemon` starts it. Collectors know nothing of
//! rules, alerts or notifiers.

pub mod chain;

/// Our validator's consensus address as a chain's SDK collector found it (from
/// `operator_address`, when `validator_address` is not given), for its chain collector:
/// shared by the two collectors of one chain.
pub type ResolvedAddress = std::sync::Arc<std::sync::Mutex<Option<String>>>;

pub mod cosigner;
pub mod exporter;
pub mod hermes;
pub mod localhost;
pub mod node_metrics;
pub mod nodes;
pub mod peer;
pub mod rpc;
pub mod sdk;
pub mod signer;
mod turns;
pub mod ws;

#[cfg(test)]
mod tests;

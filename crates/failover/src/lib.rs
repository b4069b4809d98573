//! Manual failover of a validator's signer: a plan checked against the chain,
//! approvals by M of N people with their own SSH keys, and an execution that fences the
//! old signer (stopped, door closed at the nodes, silent on chain) before the new one
//! starts with the highest sign state of every source. Nothing here switches signers on
//! its own: no timer, no health check, only a person running execute.

#![forbid(unsafe_code)]

pub mod approve;
pub mod config;
pub mod drill;
pub mod execute;
pub mod journal;
pub mod node_key;
pub mod observe;
pub mod plan;

pub use config::Config;
pub use execute::{execute, Actor, ExecError, Report};
pub use plan::Plan;

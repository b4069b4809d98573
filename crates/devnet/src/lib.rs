//! Generate, start, stop and inspect local CometBFT networks.
//!
//! A devnet lives in one directory: `devnet.json` (the manifest), `nodes/<name>/` (each
//! node's CometBFT home), `keys/<validator>/` (consensus keys), `logs/<name>.log` and
//! `run/<name>.pid`. Nodes run as detached processes, so the devnet outlives the command
//! that started it; `down` stops them by pid.

pub mod cometbft;
pub mod cosigner;
pub mod door;
pub mod error;
pub mod generate;
pub mod load;
pub mod manifest;
pub mod ports;
pub mod process;
pub mod repin;
pub mod rpc;
pub mod signer;
pub mod status;
pub mod topology;
pub mod up;
pub mod watch;

pub use cometbft::Line;
pub use error::{DevnetError, Result};
pub use load::{load, LoadOptions, LoadReport};
pub use manifest::{Manifest, Node, Role, SignerMode, SignerSide};
pub use status::{status, DevnetStatus, NodeStatus};
pub use up::{destroy, down, stop_one, up, UpOptions, UpReport};

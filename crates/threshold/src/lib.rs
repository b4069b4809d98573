//! Threshold signing for CometBFT consensus keys: a key split into n shares held by
//! cosigners on different hosts, any t of which (2t > n) make one Ed25519 signature with
//! FROST (RFC 9591).
//!
//! Rooms:
//! - shares: the share file, splitting an existing key, importing Horcrux shards;
//! - `link`: mutually authenticated, encrypted links between cosigners (Noise IK, pinned
//!   keys);
//! - `wire`: the messages cosigners exchange;
//! - `nonces`: nonces made ahead, in memory only, each used at most once;
//! - `serve`: the cosigner side, which releases a share only after its guard has made
//!   the record durable;
//! - `dkg`: distributed key generation of a new key by the cosigners, over their links;
//! - `coordinate`: the coordinator side, which turns a node's request into a signature
//!   in one round trip.

#![forbid(unsafe_code)]

pub mod coordinate;
pub mod cosigner;
pub mod dkg;
pub mod horcrux;
pub mod link;
pub mod metrics;
pub mod nonces;
pub mod serve;
pub mod share;
pub mod split;
pub mod tips;
pub mod wire;

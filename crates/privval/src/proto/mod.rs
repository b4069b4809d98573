//! Protobuf messages of the privval protocol, one module per line.
//!
//! Hand-written `prost` structs with the field numbers and types of
//! CometBFT's `.proto` files. Message fields that gogoproto declares
//! non-nullable are `Option`s here that the conversions to the public
//! types always set, because Go always writes them.

pub mod canonical;
pub mod common;
pub mod v0_34;
pub mod v0_38;
pub mod v1;

//! The test kit, and the `bulwark` binary these tests run.

#![allow(dead_code, unused_imports)]

pub use testkit::prelude::*;

/// The `bulwark` binary under test.
pub fn bulwark() -> Bulwark {
    Bulwark::new(env!("CARGO_BIN_EXE_bulwark"))
}

//! Field types shared by the parts' TOML configurations (`signer.toml`, `watch.toml`),
//! so that an operator writes a field the same way in every file and gets the same
//! message when it is wrong.

#![forbid(unsafe_code)]

pub mod duration;
pub mod file;

//! The key vault: keys encrypted at rest, opened only by a threshold of custodians.
//!
//! A vault file holds a data key's public half, the data key split with Shamir's scheme
//! into one share per custodian (each encrypted to that custodian's SSH key or age
//! recipient), and the entries (consensus keys, operational secrets) encrypted to the
//! data key. A sealed signer asks custodians for their shares over an authenticated,
//! encrypted channel ([`unseal`]); with `threshold` of them it holds the keys in memory
//! only.

#![forbid(unsafe_code)]

pub mod custodian;
pub mod custodians;
pub mod file;
pub mod open;
pub mod seal;
pub mod unseal;

pub use file::VaultFile;
pub use open::{Opened, Opening, Refusal};

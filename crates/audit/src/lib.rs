//! Who did what: people's SSH signatures (`sshsig`, `allowed_signers`) and the
//! hash-chained audit log that records every plan, approval, failover step, state
//! change and signer start.

#![forbid(unsafe_code)]

pub mod allowed;
pub mod log;
pub mod sshsig;

pub use allowed::AllowedSigners;
pub use log::{AuditLog, Entry, Verified};
pub use sshsig::Identity;

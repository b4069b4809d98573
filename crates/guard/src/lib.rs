//! Double-sign rules as pure functions and the durable sign-state store.
//!
//! The signer loop built from this crate is:
//!
//! 1. [`decide`] (or [`StateStore::decide`]) on the persisted state;
//! 2. on [`Decision::Sign`], sign [`SignPermit::sign_bytes`];
//! 3. [`StateStore::record`] the permit with the signature, which persists
//!    the new state durably and only then hands the signature back;
//! 4. release the signature to the node.
//!
//! On [`Decision::ReturnStored`] give the node the stored signature and
//! stored sign bytes; on [`Decision::Refuse`] send the refusal text.
//!
//! A crash at any point can lose a signature, never the record of one.

#![forbid(unsafe_code)]

pub mod import;
pub mod netfs;
pub mod rules;
pub mod slots;
pub mod store;
mod store_error;

pub use import::{import_cometbft_state, import_tmkms_state, ImportError};
pub use rules::{
    decide, decide_share, height_jump, Decision, Hrs, Limits, Refusal, Request, SignPermit,
    SignState, Step,
};
pub use slots::{parse_state_file, CorruptFile, ParsedStateFile, SlotDamage};
pub use store::{StateStore, StoreError};

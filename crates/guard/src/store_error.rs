//! Errors of the sign-state store. Each says what to do next.

use std::io;
use std::path::PathBuf;

use crate::rules::Hrs;

const RECOVERY: &str = "restore the file from a backup, or move it aside and write a new \
    one with `bulwark signer state import` (from the node's priv_validator_state.json) or \
    `bulwark signer state init --height H` with H above the last height this validator \
    signed on chain";

const AFTER_DISK_FAULT: &str = "Do not just restart: check the disk (`dmesg`), reboot the \
    machine or move the state to a healthy local disk, then raise the state from the chain \
    (`bulwark signer state set --height H`, H above the last height this validator signed on \
    chain) before signing again";

/// Errors of the sign-state store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An IO operation failed.
    #[error("could not {op} sign-state file {path}: {source}; check that the disk is healthy and the path and permissions are right")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// `open` found no file.
    #[error("no sign-state file at {path}; create one before starting the signer: `bulwark signer state import` from the node's priv_validator_state.json, or `bulwark signer state init --height H` (H = 0 only for a chain this key never signed on)")]
    NotFound {
        /// The missing file.
        path: PathBuf,
    },
    /// `create` found a file already there.
    #[error("sign-state file {path} already exists; open it instead. Only move it away if you are certain it is stale, and never lower the state below what the validator signed")]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// Another descriptor holds the lock.
    #[error("another signer process holds the lock on {path}; two signers on one state could double-sign. Stop the other process first.")]
    Locked {
        /// The locked file.
        path: PathBuf,
    },
    /// Neither slot holds a valid record.
    #[error("sign-state file {path} is corrupt ({reason}); the signer refuses to start with it. To recover, {RECOVERY}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file belongs to another chain.
    #[error("sign-state file {path} belongs to chain `{found}`, not `{expected}`; point this chain at its own state file")]
    WrongChain {
        /// The file.
        path: PathBuf,
        /// The chain the caller expected.
        expected: String,
        /// The chain in the file.
        found: String,
    },
    /// A state for another chain was handed to this store.
    #[error("refusing to write a state for chain `{state_chain}` into the state file of chain `{store_chain}`; this is a bug in the caller")]
    ChainMismatch {
        /// The store's chain.
        store_chain: String,
        /// The state's chain.
        state_chain: String,
    },
    /// The new state is lower than the persisted one.
    #[error("refusing to lower the persisted sign state from {current} to {requested}; use `bulwark signer state set` if you really mean to lower it")]
    Regression {
        /// The persisted position.
        current: Hrs,
        /// The requested position.
        requested: Hrs,
    },
    /// The new state has the persisted position but other data.
    #[error("refusing to overwrite the record at {hrs} with different data: a record at a given height/round/step never changes")]
    Conflict {
        /// The position.
        hrs: Hrs,
    },
    /// The state is not valid.
    #[error("invalid sign state: {reason}")]
    InvalidState {
        /// What is wrong.
        reason: String,
    },
    /// The record does not fit in a slot.
    #[error("the sign state record is {len} bytes, more than the {max} that fit in a slot; the sign bytes are unexpectedly large, check the node")]
    TooLarge {
        /// Encoded size.
        len: usize,
        /// Slot capacity.
        max: usize,
    },
    /// A write or flush of a record failed; the store takes no more writes.
    #[error("could not {op} sign-state file {path}: {source}; no signature was released. After a failed write or flush the kernel may already have dropped the cached page, so what the file holds on disk is unknown (the old record, the new one, or neither) and reading it again can show a record that is not durable. This signer signs nothing more for this chain. {AFTER_DISK_FAULT}")]
    WriteFailed {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The file could not be flushed when it was opened.
    #[error("could not flush sign-state file {path} to disk when opening it: {source}. The file's cached content may not be on disk (a signer before this one may have written a record whose flush never completed), so the record it shows could vanish in a crash and let this key sign twice; refusing to use it. {AFTER_DISK_FAULT}")]
    FlushOnOpen {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The path no longer names the file this store locked.
    #[error("sign-state file {path} was {what} while this signer held it. The signer's lock and records stay with the file it opened, so {path} no longer records what this key signed (the last record this signer wrote is at {last}); it signs nothing more for this chain and no signature was released. Stop the signer, find out what changed the file, make sure {path} holds a state at least as high as {last} and as the last height this validator signed on chain (check with `bulwark signer state show`, raise it with `bulwark signer state set`), then start the signer again")]
    Replaced {
        /// The file.
        path: PathBuf,
        /// What happened to it: removed or renamed, replaced, ...
        what: String,
        /// The last record this store wrote.
        last: Hrs,
    },
    /// An earlier failure stopped all writes.
    #[error("refusing to write {path}: writes stopped after an earlier failure, and this signer signs nothing more for this chain. The earlier failure: {cause}")]
    Poisoned {
        /// The file.
        path: PathBuf,
        /// The text of the earlier failure, which says what to do.
        cause: String,
    },
    /// The file is on a network file system.
    #[error("sign-state file {path} is on a network file system ({fs}): file locks are not reliable there (a signer on another host can hold the same lock) and a flush may not be durable when it returns. Keep the state on a local disk: move the file to a local file system and point the chain's `state` at it")]
    NetworkFilesystem {
        /// The file or directory.
        path: PathBuf,
        /// The file system.
        fs: String,
    },
    /// One slot was zeroed beside a record that shows it was written.
    #[error("sign-state file {path} is damaged: slot {zeroed} is all zero beside slot {kept} (sequence {seq}, {hrs}). A file starts with one slot empty, but by sequence {seq} both slots had been written, so something zeroed this one (a disk fault, a file system repair, a manual edit) and the newest record may be lost; the signer refuses to start with it. Check the last height this validator signed on chain, then run `bulwark signer state repair --state {path} --chain-id {chain_id}` to keep the record of slot {kept}; if the chain shows a signature above it, raise the state with `bulwark signer state set --height H` before signing")]
    ZeroedSlot {
        /// The file.
        path: PathBuf,
        /// The chain.
        chain_id: String,
        /// The zeroed slot ('A' or 'B').
        zeroed: char,
        /// The slot with the valid record.
        kept: char,
        /// The valid record's sequence number.
        seq: u64,
        /// The valid record's height/round/step.
        hrs: Hrs,
    },
    /// `repair` found nothing to repair.
    #[error("sign-state file {path} has no damaged slot; nothing to repair, nothing changed")]
    NothingToRepair {
        /// The file.
        path: PathBuf,
    },
    /// The file changed between showing it and repairing it.
    #[error("sign-state file {path} changed since it was shown (its newest record is now sequence {found}, not {expected}); nothing changed. Run the repair again and check what it shows")]
    RepairChanged {
        /// The file.
        path: PathBuf,
        /// The sequence number confirmed by the operator.
        expected: u64,
        /// The sequence number found.
        found: u64,
    },
}

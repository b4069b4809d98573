//! The durable sign-state store: one file per (chain, key).
//!
//! The file format is described in [`crate::slots`]. The store holds an
//! exclusive `flock` on the file for its whole life, so a second signer
//! (another process, or the same process through another descriptor) cannot
//! use the same state. Locks are advisory and local: keep state files on a
//! local disk, not on a network file system.
//!
//! [`StateStore::persist`] returns only once the record is durable
//! (`pwrite` of one slot, then `fdatasync`). When a write or sync fails the
//! store refuses all further writes: after a failed `fdatasync` the kernel
//! may already have dropped the dirty page, so the only safe way on is to
//! restart and read the file again.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::rules::{decide, Decision, Hrs, Limits, Request, SignPermit, SignState};
use crate::slots::{self, FILE_SIZE, MAX_PAYLOAD, SLOT_SIZE};

const RECOVERY: &str = "restore the file from a backup, or move it aside and write a new \
    one with `bulwark signer state import` (from the node's priv_validator_state.json) or \
    `bulwark signer state init --height H` with H above the last height this validator \
    signed on chain";

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
    /// An earlier write failed, so the state on disk is uncertain.
    #[error("an earlier write to {path} failed, so the state on disk is uncertain; stop the signer, check the disk, and restart it so the file is read again")]
    Poisoned {
        /// The file.
        path: PathBuf,
    },
}

/// The sign state of one key on one chain, kept durable in one locked file.
pub struct StateStore {
    path: PathBuf,
    file: Flock<File>,
    state: SignState,
    seq: u64,
    slot: usize,
    poisoned: bool,
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStore")
            .field("path", &self.path)
            .field("state", &self.state)
            .field("seq", &self.seq)
            .field("slot", &self.slot)
            .field("poisoned", &self.poisoned)
            .finish()
    }
}

impl StateStore {
    /// Creates a new state file at `path` holding `initial`, and locks it.
    ///
    /// Fails when a file already exists there. The file is written in full
    /// under a temporary name, synced, moved into place without replacing
    /// anything, and the directory is synced.
    pub fn create(path: impl AsRef<Path>, initial: &SignState) -> Result<StateStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        initial
            .validate()
            .map_err(|reason| StoreError::InvalidState { reason })?;
        let slot_a = encode(1, initial)?;
        let io = |op| {
            let path = path.clone();
            move |source| StoreError::Io { op, path, source }
        };
        let dir = parent_dir(&path);
        let mut content = slot_a;
        content.resize(FILE_SIZE, 0);
        let tmp = tempfile::Builder::new()
            .prefix(".bulwark-state-")
            .tempfile_in(&dir)
            .map_err(io("create a temporary file next to"))?;
        tmp.as_file()
            .write_all_at(&content, 0)
            .map_err(io("write"))?;
        tmp.as_file().sync_all().map_err(io("sync"))?;
        let file = tmp.persist_noclobber(&path).map_err(|e| {
            if e.error.kind() == io::ErrorKind::AlreadyExists {
                StoreError::AlreadyExists { path: path.clone() }
            } else {
                io("move into place")(e.error)
            }
        })?;
        sync_dir(&dir).map_err(io("sync the directory of"))?;
        let file = lock(file, &path)?;
        Ok(StateStore {
            path,
            file,
            state: initial.clone(),
            seq: 1,
            slot: 0,
            poisoned: false,
        })
    }

    /// Opens and locks the existing state file at `path`, which must belong
    /// to `expected_chain_id`.
    ///
    /// Returns the store and warnings for the operator. A warning means one
    /// slot is damaged and the other was used; see
    /// [`slots::parse_state_file`] for why that is usually, but not always,
    /// exact. Log warnings loudly.
    pub fn open(
        path: impl AsRef<Path>,
        expected_chain_id: &str,
    ) -> Result<(StateStore, Vec<String>), StoreError> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|source| match source.kind() {
                io::ErrorKind::NotFound => StoreError::NotFound { path: path.clone() },
                _ => StoreError::Io {
                    op: "open",
                    path: path.clone(),
                    source,
                },
            })?;
        let file = lock(file, &path)?;
        let mut bytes = Vec::with_capacity(FILE_SIZE);
        (&*file)
            .take(FILE_SIZE as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| StoreError::Io {
                op: "read",
                path: path.clone(),
                source,
            })?;
        let parsed = slots::parse_state_file(&bytes).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            reason: e.reason,
        })?;
        if parsed.state.chain_id != expected_chain_id {
            return Err(StoreError::WrongChain {
                path,
                expected: expected_chain_id.to_owned(),
                found: parsed.state.chain_id,
            });
        }
        let store = StateStore {
            path,
            file,
            state: parsed.state,
            seq: parsed.seq,
            slot: parsed.slot,
            poisoned: false,
        };
        Ok((store, parsed.warnings))
    }

    /// The persisted state.
    pub fn state(&self) -> &SignState {
        &self.state
    }

    /// The state file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sequence number of the newest record.
    pub fn sequence(&self) -> u64 {
        self.seq
    }

    /// Runs the double-sign rules against the persisted state.
    pub fn decide(&self, limits: &Limits, req: &Request<'_>) -> Decision {
        decide(&self.state, limits, req)
    }

    /// Persists the state for `permit` signed with `signature`, and only
    /// then hands the signature back for release.
    pub fn record(
        &mut self,
        permit: SignPermit,
        signature: Vec<u8>,
    ) -> Result<Vec<u8>, StoreError> {
        let state = permit.into_state(signature);
        self.persist(&state)?;
        Ok(state.signature)
    }

    /// Makes `state` the persisted state; returns once it is durable.
    ///
    /// Refuses a state for another chain, a state lower than the persisted
    /// one, and different data at the persisted height/round/step. Writing
    /// the persisted state again is a no-op.
    pub fn persist(&mut self, state: &SignState) -> Result<(), StoreError> {
        self.check_writable(state)?;
        let current = self.state.hrs();
        let requested = state.hrs();
        if requested < current {
            return Err(StoreError::Regression { current, requested });
        }
        if requested == current {
            if *state == self.state {
                return Ok(());
            }
            return Err(StoreError::Conflict { hrs: current });
        }
        self.write(state)
    }

    /// Makes `state` the persisted state even when it is lower than the
    /// current one. For operators only (`bulwark signer state set`):
    /// lowering the state below what the validator signed allows a
    /// double-sign.
    pub fn set_allow_lower(&mut self, state: &SignState) -> Result<(), StoreError> {
        self.check_writable(state)?;
        self.write(state)
    }

    fn check_writable(&self, state: &SignState) -> Result<(), StoreError> {
        if self.poisoned {
            return Err(StoreError::Poisoned {
                path: self.path.clone(),
            });
        }
        if state.chain_id != self.state.chain_id {
            return Err(StoreError::ChainMismatch {
                store_chain: self.state.chain_id.clone(),
                state_chain: state.chain_id.clone(),
            });
        }
        state
            .validate()
            .map_err(|reason| StoreError::InvalidState { reason })
    }

    fn write(&mut self, state: &SignState) -> Result<(), StoreError> {
        let seq = self.seq.checked_add(1).ok_or(StoreError::InvalidState {
            reason: "the sequence number is exhausted".into(),
        })?;
        let bytes = encode(seq, state)?;
        let slot = 1 - self.slot;
        let offset = (slot * SLOT_SIZE) as u64;
        let result = self
            .file
            .write_all_at(&bytes, offset)
            .map_err(|source| (source, "write"))
            .and_then(|()| self.file.sync_data().map_err(|source| (source, "sync")));
        if let Err((source, op)) = result {
            self.poisoned = true;
            return Err(StoreError::Io {
                op,
                path: self.path.clone(),
                source,
            });
        }
        self.seq = seq;
        self.slot = slot;
        self.state = state.clone();
        Ok(())
    }
}

fn encode(seq: u64, state: &SignState) -> Result<Vec<u8>, StoreError> {
    slots::encode_slot(seq, state).map_err(|len| StoreError::TooLarge {
        len,
        max: MAX_PAYLOAD,
    })
}

fn lock(file: File, path: &Path) -> Result<Flock<File>, StoreError> {
    Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|(_, errno)| {
        if errno == Errno::EWOULDBLOCK {
            StoreError::Locked {
                path: path.to_path_buf(),
            }
        } else {
            StoreError::Io {
                op: "lock",
                path: path.to_path_buf(),
                source: io::Error::from(errno),
            }
        }
    })
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

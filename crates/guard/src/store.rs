//! The durable sign-state store: one file per (chain, key).
//!
//! The file format is described in [`crate::slots`]. The store holds an
//! exclusive `flock` on the file for its whole life, so a second signer
//! (another process, or the same process through another descriptor) cannot
//! use the same state. Locks are advisory and local, so a file on a network
//! file system is refused ([`crate::netfs`]).
//!
//! [`StateStore::open`] flushes the file (`fsync`, and its directory) before
//! the state is used: a signer before this one may have written a record
//! whose flush never completed, and a record read from the page cache must
//! not be acted on before it is on disk.
//!
//! [`StateStore::persist`] returns only once the record is durable
//! (`pwrite` of one slot, then `fdatasync`). Before and after, it checks
//! that the path still names the locked file, so a state file removed or
//! replaced under a running signer stops it. When a write or sync fails, or
//! the file was replaced, the store refuses all further writes: after a
//! failed `fdatasync` the kernel may already have dropped the dirty page, so
//! nothing this process believes about the file can be trusted.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::netfs::{self, Remote};
use crate::rules::{decide, decide_share, Decision, Limits, Request, SignPermit, SignState};
use crate::slots::{self, ParsedStateFile, SlotDamage, FILE_SIZE, MAX_PAYLOAD, SLOT_SIZE};
pub use crate::store_error::StoreError;

/// The sign state of one key on one chain, kept durable in one locked file.
pub struct StateStore {
    path: PathBuf,
    file: Flock<File>,
    /// Device and inode of the locked file.
    id: (u64, u64),
    state: SignState,
    seq: u64,
    slot: usize,
    /// The text of the failure that stopped all writes.
    poisoned: Option<String>,
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
        local_only(netfs::check_dir(&dir), &dir)?;
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
        let id = file_id(&file).map_err(io("stat"))?;
        Ok(StateStore {
            path,
            file,
            id,
            state: initial.clone(),
            seq: 1,
            slot: 0,
            poisoned: None,
        })
    }

    /// Opens and locks the existing state file at `path`, which must belong
    /// to `expected_chain_id`.
    ///
    /// Returns the store and warnings for the operator. A warning means one
    /// slot is damaged and the other was used; see
    /// [`slots::parse_state_file`] for why that is usually, but not always,
    /// exact. Log warnings loudly.
    ///
    /// Refuses a file on a network file system, a file it cannot flush to
    /// disk, and a file with a zeroed slot ([`StoreError::ZeroedSlot`]; see
    /// [`StateStore::repair`]).
    pub fn open(
        path: impl AsRef<Path>,
        expected_chain_id: &str,
    ) -> Result<(StateStore, Vec<String>), StoreError> {
        let (store, parsed) = StateStore::open_parsed(path.as_ref(), expected_chain_id)?;
        if let Some(damage) = parsed.damage.as_ref().filter(|d| d.zeroed) {
            return Err(StoreError::ZeroedSlot {
                path: store.path.clone(),
                chain_id: expected_chain_id.to_owned(),
                zeroed: slots::slot_name(damage.slot),
                kept: slots::slot_name(parsed.slot),
                seq: parsed.seq,
                hrs: parsed.state.hrs(),
            });
        }
        Ok((store, parsed.warnings))
    }

    /// Rewrites the damaged slot of the file at `path` with the newest valid
    /// record under the next sequence number, so both slots are healthy
    /// again. `expected_seq` is the sequence number of the record the
    /// operator confirmed; if the file changed since, nothing is written.
    /// For operators only (`bulwark signer state repair`).
    pub fn repair(
        path: impl AsRef<Path>,
        expected_chain_id: &str,
        expected_seq: u64,
    ) -> Result<(StateStore, SlotDamage), StoreError> {
        let (mut store, parsed) = StateStore::open_parsed(path.as_ref(), expected_chain_id)?;
        let Some(damage) = parsed.damage else {
            return Err(StoreError::NothingToRepair { path: store.path });
        };
        if parsed.seq != expected_seq {
            return Err(StoreError::RepairChanged {
                path: store.path,
                expected: expected_seq,
                found: parsed.seq,
            });
        }
        let state = store.state.clone();
        store.write(&state)?;
        Ok((store, damage))
    }

    fn open_parsed(
        path: &Path,
        expected_chain_id: &str,
    ) -> Result<(StateStore, ParsedStateFile), StoreError> {
        let path = path.to_path_buf();
        let io = |op| {
            let path = path.clone();
            move |source| StoreError::Io { op, path, source }
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|source| match source.kind() {
                io::ErrorKind::NotFound => StoreError::NotFound { path: path.clone() },
                _ => io("open")(source),
            })?;
        local_only(netfs::check_file(&file), &path)?;
        let file = lock(file, &path)?;
        flush(&file, &path).map_err(|source| StoreError::FlushOnOpen {
            path: path.clone(),
            source,
        })?;
        let id = file_id(&file).map_err(io("stat"))?;
        let mut bytes = Vec::with_capacity(FILE_SIZE);
        (&*file)
            .take(FILE_SIZE as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(io("read"))?;
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
            id,
            state: parsed.state.clone(),
            seq: parsed.seq,
            slot: parsed.slot,
            poisoned: None,
        };
        Ok((store, parsed))
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

    /// [`crate::decide_share`] against the persisted state: the rules for a threshold
    /// cosigner's share.
    pub fn decide_share(&self, limits: &Limits, req: &Request<'_>) -> Decision {
        decide_share(&self.state, limits, req)
    }

    /// Adds `signature` to the persisted record when it is the share record (sign bytes,
    /// no signature) of exactly `sign_bytes`, so that a node asking again gets it back;
    /// returns once that is durable. Returns `false`, writing nothing, when the record has
    /// moved on or already holds a signature.
    pub fn complete(&mut self, sign_bytes: &[u8], signature: Vec<u8>) -> Result<bool, StoreError> {
        if self.state.sign_bytes != sign_bytes || !self.state.signature.is_empty() {
            return Ok(false);
        }
        let mut state = self.state.clone();
        state.signature = signature;
        self.check_writable(&state)?;
        self.write(&state)?;
        Ok(true)
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
        if let Some(cause) = &self.poisoned {
            return Err(StoreError::Poisoned {
                path: self.path.clone(),
                cause: cause.clone(),
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
        self.check_same_file()?;
        let result = self
            .file
            .write_all_at(&bytes, offset)
            .map_err(|source| (source, "write"))
            .and_then(|()| self.file.sync_data().map_err(|source| (source, "flush")));
        if let Err((source, op)) = result {
            return Err(self.poison(StoreError::WriteFailed {
                op,
                path: self.path.clone(),
                source,
            }));
        }
        // Replaced during the write: the record is in the old file only.
        self.check_same_file()?;
        self.seq = seq;
        self.slot = slot;
        self.state = state.clone();
        Ok(())
    }

    /// Checks that the path still names the locked file; poisons the store
    /// when it does not.
    fn check_same_file(&mut self) -> Result<(), StoreError> {
        let what = match std::fs::metadata(&self.path) {
            Ok(m) if (m.dev(), m.ino()) == self.id => return Ok(()),
            Ok(_) => "replaced by another file".to_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => "removed or renamed".to_owned(),
            Err(e) => format!("made impossible to check ({e})"),
        };
        Err(self.poison(StoreError::Replaced {
            path: self.path.clone(),
            what,
            last: self.state.hrs(),
        }))
    }

    fn poison(&mut self, error: StoreError) -> StoreError {
        self.poisoned = Some(error.to_string());
        error
    }
}

fn local_only(check: Result<(), Remote>, path: &Path) -> Result<(), StoreError> {
    match check {
        Ok(()) => Ok(()),
        Err(Remote::Network(fs)) => Err(StoreError::NetworkFilesystem {
            path: path.to_path_buf(),
            fs,
        }),
        Err(Remote::Unknown(source)) => Err(StoreError::Io {
            op: "find the file system of",
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// `fsync` of the file and its directory.
fn flush(file: &File, path: &Path) -> io::Result<()> {
    file.sync_all()?;
    sync_dir(&parent_dir(path))
}

fn file_id(file: &File) -> io::Result<(u64, u64)> {
    let m = file.metadata()?;
    Ok((m.dev(), m.ino()))
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

//! The crate's one error type. Every message says what is wrong and what to do next.

use std::path::{Path, PathBuf};

/// Result with [`SnapshotError`].
pub type Result<T, E = SnapshotError> = std::result::Result<T, E>;

/// What can go wrong with a snapshot.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The store URL or its credentials are wrong (usage).
    #[error("store {url}: {reason}")]
    StoreConfig {
        /// The URL as given.
        url: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The store could not be reached or refused an operation.
    #[error("store {url}: {op} {key}: {reason}; check that the store is reachable and the credentials allow it, then run the command again (work already done is kept)")]
    Store {
        /// The store URL.
        url: String,
        /// What was being done (`put`, `get`, `list`, `delete`).
        op: &'static str,
        /// The object key.
        key: String,
        /// The store's error.
        reason: String,
    },
    /// No snapshot matches.
    #[error("{0}")]
    NotFound(String),
    /// A manifest in the store cannot be read.
    #[error("manifest {key} in {url} is corrupt: {reason}; that snapshot cannot be used: restore another one (`bulwark snapshot list`) and take a new snapshot")]
    CorruptManifest {
        /// The store URL.
        url: String,
        /// The manifest's key.
        key: String,
        /// Why it cannot be read.
        reason: String,
    },
    /// A chunk is missing or does not match its hash.
    #[error("{file}: chunk {chunk} {problem}; the snapshot is damaged: run `bulwark snapshot verify`, restore another snapshot, and take a new one")]
    BadChunk {
        /// The file of the snapshot that uses the chunk.
        file: String,
        /// The chunk's hash.
        chunk: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The node home is not what the command needs (usage).
    #[error("{0}")]
    Home(String),
    /// The node is running where it must be stopped.
    #[error("{0}")]
    NodeRunning(String),
    /// Restoring would go below the node's own sign state (usage: pass the flag).
    #[error("the snapshot is at height {snapshot}, below this node's sign state at height {sign_state} ({path}); restoring it is refused. The sign state is kept either way; pass --allow-below-sign-state to restore it anyway, or restore a newer snapshot")]
    BelowSignState {
        /// The snapshot's height.
        snapshot: u64,
        /// The sign state's height.
        sign_state: u64,
        /// The sign state file.
        path: PathBuf,
    },
    /// The snapshot belongs to another chain (usage).
    #[error("the snapshot is of chain {snapshot}, but {home} is a node of chain {home_chain}; restore a snapshot of {home_chain}")]
    WrongChain {
        /// The snapshot's chain.
        snapshot: String,
        /// The home's chain.
        home_chain: String,
        /// The home.
        home: PathBuf,
    },
    /// Pausing or resuming the node failed.
    #[error("{0}")]
    Node(String),
    /// Bad options or input (usage).
    #[error("{0}")]
    Usage(String),
    /// An archive (tar.lz4 / tar.zst) cannot be read or written.
    #[error("archive {path}: {reason}")]
    Archive {
        /// The archive.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A background task failed.
    #[error("internal task failed: {0}")]
    Task(String),
}

impl SnapshotError {
    /// An I/O error at `path`.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        SnapshotError::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// Whether the operator's input caused it (exit code 2).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            SnapshotError::StoreConfig { .. }
                | SnapshotError::Home(_)
                | SnapshotError::BelowSignState { .. }
                | SnapshotError::WrongChain { .. }
                | SnapshotError::Usage(_)
                | SnapshotError::NotFound(_)
        )
    }
}

impl From<tokio::task::JoinError> for SnapshotError {
    fn from(e: tokio::task::JoinError) -> Self {
        SnapshotError::Task(e.to_string())
    }
}

//! Why the watch stopped or could not start.

use crate::config::{ConfigError, TlsError};
use crate::engine::store::StoreError;

/// Why the watch stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The configuration is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The alert database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HTTP address cannot be used.
    #[error("cannot listen on {addr}: {source}; pick a free address for `listen` in watch.toml")]
    Bind {
        /// Address.
        addr: std::net::SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// A channel asked for by name is not configured.
    #[error("no channel {name:?} in the watch config; its channels are: {known}")]
    UnknownChannel {
        /// The name asked for.
        name: String,
        /// The configured names.
        known: String,
    },
    /// A task failed.
    #[error("watch task failed: {0}")]
    Task(String),
    /// Reading another watch's status failed.
    #[error("cannot read watch status from {url}: {message}; is `bulwark watch run` running and listening there?")]
    Status {
        /// URL.
        url: String,
        /// Cause.
        message: String,
    },
}

/// Outgoing TLS that cannot be set up stops the watch like a failed task.
impl From<TlsError> for WatchError {
    fn from(e: TlsError) -> Self {
        WatchError::Task(e.to_string())
    }
}

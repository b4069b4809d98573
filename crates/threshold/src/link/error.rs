//! Why a link could not be made or used.

use super::{LinkPublic, MAX_MESSAGE};
use std::io;
use std::path::PathBuf;

/// Why a link could not be made, a message not sent or received, or a key not loaded.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The stream failed.
    #[error("cosigner link I/O: {0}")]
    Io(#[from] io::Error),
    /// The peer closed the link, or this side closed it after an error.
    #[error("the cosigner link is closed")]
    Closed,
    /// The Noise handshake failed; the text says why and what to check.
    #[error("cosigner link handshake: {0}")]
    Handshake(String),
    /// The dialer presented a key that is not among the allowed peers.
    #[error(
        "a cosigner presented link key {key}, which is not among this cosigner's peers; \
         if it is a new cosigner, add that key to the config's peers"
    )]
    UnknownPeer {
        /// The key the dialer presented.
        key: LinkPublic,
    },
    /// A transport message failed authentication: tampered with, replayed or reordered.
    /// The link is closed.
    #[error(
        "a cosigner link message failed authentication (tampered with, replayed or \
         reordered on the way); the link is closed"
    )]
    Decrypt,
    /// A message is over [`MAX_MESSAGE`].
    #[error("a cosigner link message of {len} bytes is over the limit of {MAX_MESSAGE} bytes")]
    TooLarge {
        /// Its length in bytes.
        len: usize,
    },
    /// A link key file cannot be read, written or understood.
    #[error("link key file {path}: {reason}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Group or others may read a link key file.
    #[error(
        "link key file {path} is readable by group or others (mode {mode:04o}); refusing to \
         use it. Run `chmod 600 {path}` and check who may have copied it"
    )]
    LoosePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The peer did not answer in time (a handshake step, or a read with a timeout set).
    #[error("timed out waiting for the cosigner link peer")]
    Timeout,
}

impl LinkError {
    /// Whether this is a timeout: after a read timeout the link is still usable, after
    /// any other error from `recv` or `send` it is closed.
    pub fn is_timeout(&self) -> bool {
        matches!(self, LinkError::Timeout)
    }
}

/// An I/O error as a link error: timeouts and a vanished peer get their own variants.
pub(crate) fn from_io(e: io::Error) -> LinkError {
    use io::ErrorKind::*;
    match e.kind() {
        WouldBlock | TimedOut => LinkError::Timeout,
        UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe | NotConnected => {
            LinkError::Closed
        }
        _ => LinkError::Io(e),
    }
}

//! Mutually authenticated, encrypted links between cosigners, over blocking TCP.
//!
//! Noise `IK` with pinned static keys: the dialer knows the listener's link public key
//! from its config; the listener learns the dialer's from the first handshake message
//! and admits it only if it is among its peers. After the handshake a [`Link`] splits
//! into a [`LinkWriter`] and a [`LinkReader`] that two threads can use at once. Any
//! message that fails authentication (tampered with, replayed, reordered) closes the
//! link.
//!
//! On the wire every Noise message, handshake or transport, has a 2-byte big-endian
//! length prefix. An application message is a 4-byte big-endian length and the payload,
//! cut into transport messages of at most 65535 bytes.

mod error;
mod handshake;
mod key;
mod public;
mod stream;

pub use error::LinkError;
pub use handshake::{accept, accept_any, dial};
pub use key::LinkKey;
pub use public::{LinkPublic, ParsePublicError};
pub use stream::{LinkReader, LinkWriter};

use std::net::SocketAddr;

/// The Noise protocol of a link.
const PATTERN: &str = "Noise_IK_25519_ChaChaPoly_BLAKE2s";
/// The Noise prologue: both sides must agree on it, so it names the protocol version.
const PROLOGUE: &[u8] = b"bulwark-threshold-link/1";

/// The largest application message, in bytes (1 MiB).
pub const MAX_MESSAGE: usize = 1 << 20;

/// An established link to an authenticated peer.
#[derive(Debug)]
pub struct Link {
    writer: LinkWriter,
    reader: LinkReader,
    remote: LinkPublic,
    peer_addr: Option<SocketAddr>,
    local_addr: Option<SocketAddr>,
}

impl Link {
    /// The peer's link public key (pinned when dialing, checked against the peers
    /// when accepting).
    pub fn remote(&self) -> LinkPublic {
        self.remote
    }

    /// The peer's address, as it was when the handshake finished.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer_addr
    }

    /// This end's address, as it was when the handshake finished.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// The sending and the receiving half, which can be used from two threads at once.
    pub fn split(self) -> (LinkWriter, LinkReader) {
        (self.writer, self.reader)
    }
}

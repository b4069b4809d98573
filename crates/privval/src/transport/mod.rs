//! Transports between a node and its signer: `tcp://` with SecretConnection,
//! `noise://` with libp2p Noise (CometBFT v0.40, both ends pinned), and `unix://`
//! (unencrypted, for a signer on the node's own host).

mod noise;
mod pb;
mod pending;
mod secret;

pub use noise::{parse_peer_id, peer_id, NoiseConnection, NoiseError};
pub use secret::{SecretConnection, SecretConnectionError};

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// An established connection to a node (or, for tests, to a signer).
#[derive(Debug)]
pub enum Conn {
    /// TCP with SecretConnection.
    Tcp(Box<SecretConnection<TcpStream>>),
    /// TCP with libp2p Noise.
    Noise(Box<NoiseConnection<TcpStream>>),
    /// A unix socket.
    Unix(UnixStream),
}

impl Conn {
    /// Whether decrypted bytes are waiting in memory (so polling the socket would wait
    /// for data that has already arrived).
    pub fn has_buffered(&self) -> bool {
        match self {
            Conn::Tcp(c) => c.has_buffered(),
            Conn::Noise(c) => c.has_buffered(),
            Conn::Unix(_) => false,
        }
    }

    /// Whether part of an encrypted message has arrived but not all of it (a read timed
    /// out in its middle; reading again continues where it stopped).
    pub fn has_partial_input(&self) -> bool {
        match self {
            Conn::Tcp(c) => c.has_partial_input(),
            Conn::Noise(c) => c.has_partial_input(),
            Conn::Unix(_) => false,
        }
    }

    /// Bound each read on the socket (a read that times out keeps its place in the
    /// stream on every transport, so a short timeout only wakes the reader up).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Conn::Tcp(c) => c.get_ref().set_read_timeout(timeout),
            Conn::Noise(c) => c.get_ref().set_read_timeout(timeout),
            Conn::Unix(s) => s.set_read_timeout(timeout),
        }
    }

    /// Bound every read and write on the socket.
    pub fn set_timeouts(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Conn::Tcp(c) => {
                c.get_ref().set_read_timeout(timeout)?;
                c.get_ref().set_write_timeout(timeout)
            }
            Conn::Noise(c) => {
                c.get_ref().set_read_timeout(timeout)?;
                c.get_ref().set_write_timeout(timeout)
            }
            Conn::Unix(s) => {
                s.set_read_timeout(timeout)?;
                s.set_write_timeout(timeout)
            }
        }
    }
}

impl AsFd for Conn {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Conn::Tcp(c) => c.get_ref().as_fd(),
            Conn::Noise(c) => c.get_ref().as_fd(),
            Conn::Unix(s) => s.as_fd(),
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(c) => c.read(buf),
            Conn::Noise(c) => c.read(buf),
            Conn::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(c) => c.write(buf),
            Conn::Noise(c) => c.write(buf),
            Conn::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Tcp(c) => c.flush(),
            Conn::Noise(c) => c.flush(),
            Conn::Unix(s) => s.flush(),
        }
    }
}

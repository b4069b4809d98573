//! The two halves of an established link. Each application message goes on the wire as
//! a 4-byte big-endian length and the payload, cut into Noise transport messages of at
//! most 65535 bytes, each behind a 2-byte big-endian length. Each half counts its own
//! direction's nonces, so the halves share no lock.

use super::error::from_io;
use super::{LinkError, MAX_MESSAGE};
use snow::StatelessTransportState;
use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// Largest Noise message.
pub(crate) const NOISE_MAX: usize = 65535;
/// The AEAD tag on each Noise transport message.
pub(crate) const TAG: usize = 16;
/// Most plaintext in one transport message.
const CHUNK: usize = NOISE_MAX - TAG;

/// The sending half of a link.
#[derive(Debug)]
pub struct LinkWriter {
    stream: TcpStream,
    cipher: Arc<StatelessTransportState>,
    nonce: u64,
    closed: bool,
}

/// The receiving half of a link.
pub struct LinkReader {
    stream: TcpStream,
    cipher: Arc<StatelessTransportState>,
    nonce: u64,
    /// The transport message being read, with its length prefix; `have` bytes so far
    /// (kept across read timeouts).
    sealed: Vec<u8>,
    have: usize,
    /// Decrypted bytes of the application message being assembled.
    opened: Vec<u8>,
    closed: bool,
}

impl fmt::Debug for LinkReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkReader")
            .field("stream", &self.stream)
            .field("nonce", &self.nonce)
            .field("buffered", &(self.have + self.opened.len()))
            .field("closed", &self.closed)
            .finish()
    }
}

/// The halves of a link whose handshake is done, with the first nonce of each direction.
pub(crate) fn halves(
    stream: TcpStream,
    cipher: StatelessTransportState,
    send_nonce: u64,
    recv_nonce: u64,
) -> Result<(LinkWriter, LinkReader), LinkError> {
    let cipher = Arc::new(cipher);
    let reader = LinkReader {
        stream: stream.try_clone()?,
        cipher: cipher.clone(),
        nonce: recv_nonce,
        sealed: vec![0; 2 + NOISE_MAX],
        have: 0,
        opened: Vec::new(),
        closed: false,
    };
    let writer = LinkWriter {
        stream,
        cipher,
        nonce: send_nonce,
        closed: false,
    };
    Ok((writer, reader))
}

impl LinkWriter {
    /// Send one message of at most [`MAX_MESSAGE`] bytes. A message over the limit is
    /// refused with [`LinkError::TooLarge`] and the link stays usable; after any other
    /// error the link is closed.
    pub fn send(&mut self, msg: &[u8]) -> Result<(), LinkError> {
        if self.closed {
            return Err(LinkError::Closed);
        }
        if msg.len() > MAX_MESSAGE {
            return Err(LinkError::TooLarge { len: msg.len() });
        }
        let mut plain = Vec::with_capacity(4 + msg.len());
        plain.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        plain.extend_from_slice(msg);
        self.write_plain(&plain)
    }

    /// Encrypt `plain` into transport messages and write them all.
    pub(crate) fn write_plain(&mut self, plain: &[u8]) -> Result<(), LinkError> {
        let count = plain.len().div_ceil(CHUNK);
        let mut out = Vec::with_capacity(plain.len() + count * (2 + TAG));
        for chunk in plain.chunks(CHUNK) {
            let at = out.len();
            out.resize(at + 2 + chunk.len() + TAG, 0);
            let n = self
                .cipher
                .write_message(self.nonce, chunk, &mut out[at + 2..])
                .map_err(|e| self.fail(LinkError::Io(std::io::Error::other(e.to_string()))))?;
            self.nonce += 1;
            out[at..at + 2].copy_from_slice(&(n as u16).to_be_bytes());
        }
        self.stream
            .write_all(&out)
            .map_err(|e| self.fail(from_io(e)))
    }

    fn fail(&mut self, e: LinkError) -> LinkError {
        self.closed = true;
        self.shutdown();
        e
    }

    /// Close the link in both directions: the peer sees it closed, and a `recv` on the
    /// other half (in another thread) returns [`LinkError::Closed`].
    pub fn shutdown(&self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

impl LinkReader {
    /// Receive the next message. With a read timeout set, [`LinkError::Timeout`] means
    /// nothing (or only part of a message) came in time: the link is still usable and a
    /// later `recv` carries on. After any other error the link is closed; a message
    /// that fails authentication gives [`LinkError::Decrypt`].
    pub fn recv(&mut self) -> Result<Vec<u8>, LinkError> {
        if self.closed {
            return Err(LinkError::Closed);
        }
        loop {
            match self.take_message() {
                Ok(Some(msg)) => return Ok(msg),
                Ok(None) => {}
                Err(e) => return Err(self.fail(e)),
            }
            match self.read_sealed() {
                Ok(()) => {}
                Err(e) if e.is_timeout() => return Err(e),
                Err(e) => return Err(self.fail(e)),
            }
        }
    }

    /// How long `recv` waits for data before it returns [`LinkError::Timeout`]; `None`
    /// waits forever.
    pub fn set_read_timeout(&self, t: Option<Duration>) -> Result<(), LinkError> {
        Ok(self.stream.set_read_timeout(t)?)
    }

    /// The next whole message among the decrypted bytes, if there is one. Refuses a
    /// length over the limit as soon as the length is in.
    fn take_message(&mut self) -> Result<Option<Vec<u8>>, LinkError> {
        let Some(header) = self.opened.first_chunk::<4>() else {
            return Ok(None);
        };
        let len = u32::from_be_bytes(*header) as usize;
        if len > MAX_MESSAGE {
            return Err(LinkError::TooLarge { len });
        }
        if self.opened.len() < 4 + len {
            self.opened.reserve_exact(4 + len - self.opened.len());
            return Ok(None);
        }
        let msg = self.opened[4..4 + len].to_vec();
        self.opened.drain(..4 + len);
        Ok(Some(msg))
    }

    /// Read one transport message and append its plaintext to `opened`.
    fn read_sealed(&mut self) -> Result<(), LinkError> {
        self.fill(2)?;
        let len = usize::from(u16::from_be_bytes([self.sealed[0], self.sealed[1]]));
        if len < TAG {
            return Err(LinkError::Decrypt);
        }
        self.fill(2 + len)?;
        self.have = 0;
        let at = self.opened.len();
        self.opened.resize(at + len, 0);
        let n = self
            .cipher
            .read_message(self.nonce, &self.sealed[2..2 + len], &mut self.opened[at..])
            .map_err(|_| LinkError::Decrypt)?;
        self.opened.truncate(at + n);
        self.nonce += 1;
        Ok(())
    }

    /// Read until `sealed` holds `n` bytes.
    fn fill(&mut self, n: usize) -> Result<(), LinkError> {
        while self.have < n {
            match self.stream.read(&mut self.sealed[self.have..n]) {
                Ok(0) => return Err(LinkError::Closed),
                Ok(k) => self.have += k,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(from_io(e)),
            }
        }
        Ok(())
    }

    fn fail(&mut self, e: LinkError) -> LinkError {
        self.closed = true;
        self.opened = Vec::new();
        let _ = self.stream.shutdown(Shutdown::Both);
        e
    }
}

#[cfg(test)]
mod tests {
    use super::super::{accept, dial, LinkKey};
    use super::*;
    use std::net::TcpListener;

    fn pair() -> (LinkWriter, LinkReader) {
        let (dialer, listener) = (LinkKey::generate(), LinkKey::generate());
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let allowed = [dialer.public()];
        let t = Duration::from_secs(10);
        std::thread::scope(|s| {
            let accepted = s.spawn(|| accept(l.accept().unwrap().0, &listener, &allowed, t));
            let (w, _) = dial(addr, &dialer, &listener.public(), t).unwrap().split();
            let (_, r) = accepted.join().unwrap().unwrap().0.split();
            (w, r)
        })
    }

    #[test]
    fn an_announced_length_over_the_limit_is_refused_before_the_payload_and_closes() {
        let (mut w, mut r) = pair();
        r.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let len = MAX_MESSAGE + 1;
        w.write_plain(&(len as u32).to_be_bytes()).unwrap();
        assert!(matches!(r.recv(), Err(LinkError::TooLarge { len: l }) if l == len));
        assert!(r.opened.capacity() < MAX_MESSAGE);
        assert!(matches!(r.recv(), Err(LinkError::Closed)));
    }

    #[test]
    fn a_read_timeout_in_the_middle_of_a_message_keeps_the_link() {
        let (mut w, mut r) = pair();
        r.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let msg: Vec<u8> = (0..2 * CHUNK - 4).map(|i| i as u8).collect();
        let mut plain = (msg.len() as u32).to_be_bytes().to_vec();
        plain.extend_from_slice(&msg);
        // The first transport message whole, then half of the second.
        w.write_plain(&plain[..CHUNK]).unwrap();
        let rest = &plain[CHUNK..];
        let mut sealed = vec![0u8; 2 + rest.len() + TAG];
        let n = w
            .cipher
            .write_message(w.nonce, rest, &mut sealed[2..])
            .unwrap();
        sealed[..2].copy_from_slice(&(n as u16).to_be_bytes());
        w.stream.write_all(&sealed[..n / 2]).unwrap();
        assert!(r.recv().unwrap_err().is_timeout());
        assert!(r.recv().unwrap_err().is_timeout());
        w.stream.write_all(&sealed[n / 2..]).unwrap();
        r.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        assert_eq!(r.recv().unwrap(), msg);
    }
}

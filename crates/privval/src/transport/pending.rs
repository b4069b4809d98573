//! The bytes of one transport message received so far.
//!
//! A read that stops at a socket timeout (or a signal) keeps what arrived, so a caller can
//! use short read timeouts (to check a deadline or a shutdown) and call again without
//! losing its place in the stream. `read_exact` would drop the bytes it had read and leave
//! the stream out of sync.

use std::io::{self, Read};
use zeroize::Zeroizing;

/// A message being filled in from a stream; zeroed when cleared and dropped.
#[derive(Default)]
pub(super) struct Pending {
    buf: Zeroizing<Vec<u8>>,
    len: usize,
}

impl Pending {
    /// Room for messages of `cap` bytes without reallocating.
    pub(super) fn with_capacity(cap: usize) -> Pending {
        Pending {
            buf: Zeroizing::new(vec![0; cap]),
            len: 0,
        }
    }

    /// Read from `io` until `want` bytes are held. An error (a timeout included) leaves
    /// the bytes read so far in place for the next call. `Ok(false)`: the stream ended
    /// cleanly before the first byte of the message.
    pub(super) fn fill(&mut self, io: &mut impl Read, want: usize) -> io::Result<bool> {
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        while self.len < want {
            match io.read(&mut self.buf[self.len..want]) {
                Ok(0) if self.len == 0 => return Ok(false),
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the peer closed the connection in the middle of a message",
                    ))
                }
                Ok(n) => self.len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// The bytes held.
    pub(super) fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.buf[..self.len]
    }

    /// Forget (and zero) the bytes held, to start the next message.
    pub(super) fn clear(&mut self) {
        self.buf[..self.len].fill(0);
        self.len = 0;
    }

    /// Whether part of a message has arrived.
    pub(super) fn is_started(&self) -> bool {
        self.len > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out its chunks one per read, with a timeout error between them.
    struct Stuttering(Vec<Vec<u8>>, bool);

    impl Read for Stuttering {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.1 = !self.1;
            if self.1 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            if self.0.is_empty() {
                return Ok(0);
            }
            let c = self.0.remove(0);
            assert!(c.len() <= buf.len());
            buf[..c.len()].copy_from_slice(&c);
            Ok(c.len())
        }
    }

    /// `fill`, called again after every timeout; returns the result and the timeouts seen.
    fn patiently(p: &mut Pending, s: &mut Stuttering, want: usize) -> (io::Result<bool>, usize) {
        let mut timeouts = 0;
        loop {
            match p.fill(s, want) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => timeouts += 1,
                other => return (other, timeouts),
            }
        }
    }

    #[test]
    fn timeouts_keep_the_bytes_read_so_far() {
        let mut s = Stuttering(vec![vec![1, 2], vec![3], vec![4, 5]], false);
        let mut p = Pending::default();
        let (r, timeouts) = patiently(&mut p, &mut s, 5);
        assert!(r.unwrap());
        assert_eq!(timeouts, 3);
        assert_eq!(p.bytes_mut(), &[1, 2, 3, 4, 5]);
        p.clear();
        assert!(!p.is_started());
        // The end of the stream between messages is a clean end, inside one an error.
        assert!(!patiently(&mut p, &mut s, 1).0.unwrap());
        let mut s = Stuttering(vec![vec![9]], true);
        let (r, _) = patiently(&mut p, &mut s, 2);
        assert_eq!(r.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        assert!(p.is_started());
    }
}

//! CometBFT's SecretConnection: an authenticated, encrypted stream.
//!
//! Handshake (station-to-station): each side sends an ephemeral X25519 public key; both
//! derive the shared secret, feed both keys and the secret into a Merlin transcript, and
//! derive two ChaCha20-Poly1305 keys with HKDF-SHA256. Each side then signs the
//! transcript's challenge with its long-term Ed25519 key and sends the signature with its
//! public key, encrypted. Data travels in sealed frames of 1028 bytes (a 4-byte
//! little-endian length, up to 1024 data bytes, zero padding) plus a 16-byte tag.
//!
//! Reads hand out whatever is buffered, however small the caller's buffer, so callers may
//! read a varint byte by byte. A read that times out in the middle of a sealed frame keeps
//! the bytes received so far (see [`SecretConnection::has_partial_input`]), so the stream
//! may carry a short read timeout and be read again.

use super::pending::Pending;
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, Tag};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use hkdf::Hkdf;
use merlin::Transcript;
use rand_core::OsRng;
use sha2::Sha256;
use std::io::{self, Read, Write};
use x25519_dalek::{EphemeralSecret, PublicKey as XPublicKey};
use zeroize::Zeroizing;

const DATA_MAX: usize = 1024;
const LEN_SIZE: usize = 4;
const FRAME_SIZE: usize = LEN_SIZE + DATA_MAX;
const TAG_SIZE: usize = 16;
const SEALED_SIZE: usize = FRAME_SIZE + TAG_SIZE;
/// Longest handshake message accepted (the auth message is about 104 bytes).
const MAX_HANDSHAKE_MSG: u64 = 1024;

/// Why a SecretConnection failed.
#[derive(Debug, thiserror::Error)]
pub enum SecretConnectionError {
    /// The underlying stream failed.
    #[error("connection I/O: {0}")]
    Io(#[from] io::Error),
    /// The peer sent something that is not a valid handshake message.
    #[error("handshake: {0}")]
    Handshake(String),
    /// The peer's ephemeral key gives a zero shared secret (a low-order point).
    #[error("handshake: the peer's ephemeral key is a low-order point; refusing the connection")]
    LowOrderKey,
    /// The peer's signature over the challenge does not verify.
    #[error(
        "handshake: the peer's signature does not verify; the peer is not who it claims to be"
    )]
    BadSignature,
    /// The peer authenticated with a key other than the pinned one.
    #[error("handshake: peer key {got} is not the expected {expected}")]
    UnexpectedPeer {
        /// Expected key, hex.
        expected: String,
        /// Key presented, hex.
        got: String,
    },
}

impl From<SecretConnectionError> for io::Error {
    fn from(e: SecretConnectionError) -> Self {
        match e {
            SecretConnectionError::Io(e) => e,
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}

/// One direction's cipher and nonce counter.
struct Half {
    cipher: ChaCha20Poly1305,
    counter: u64,
}

impl Half {
    fn new(key: &[u8]) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
            counter: 0,
        }
    }

    /// The nonce for the next frame: 4 zero bytes, then the counter little-endian.
    fn next_nonce(&mut self) -> io::Result<Nonce> {
        let mut n = [0u8; 12];
        n[4..].copy_from_slice(&self.counter.to_le_bytes());
        self.counter = self
            .counter
            .checked_add(1)
            .ok_or_else(|| io::Error::other("SecretConnection nonce exhausted"))?;
        Ok(*Nonce::from_slice(&n))
    }
}

/// An established SecretConnection over `S`.
pub struct SecretConnection<S> {
    io: S,
    send: Half,
    recv: Half,
    recv_buf: Zeroizing<Vec<u8>>,
    recv_pos: usize,
    sealed: Pending,
    remote: VerifyingKey,
}

impl<S> std::fmt::Debug for SecretConnection<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretConnection")
            .field("remote", &hex::encode(self.remote.as_bytes()))
            .finish_non_exhaustive()
    }
}

impl<S: Read + Write> SecretConnection<S> {
    /// Run the handshake over `io`, authenticating with `local`.
    pub fn handshake(mut io: S, local: &SigningKey) -> Result<Self, SecretConnectionError> {
        let eph = EphemeralSecret::random_from_rng(OsRng);
        let loc_pub = XPublicKey::from(&eph);
        write_delimited(&mut io, &bytes_value(loc_pub.as_bytes()))?;
        io.flush()?;
        let rem_pub = parse_bytes_value(&read_delimited(&mut io)?)?;

        let dh = eph.diffie_hellman(&XPublicKey::from(rem_pub));
        if !dh.was_contributory() {
            return Err(SecretConnectionError::LowOrderKey);
        }
        let loc_is_least = loc_pub.as_bytes() < &rem_pub;
        let (lo, hi) = if loc_is_least {
            (*loc_pub.as_bytes(), rem_pub)
        } else {
            (rem_pub, *loc_pub.as_bytes())
        };
        let mut transcript = Transcript::new(b"TENDERMINT_SECRET_CONNECTION_TRANSCRIPT_HASH");
        transcript.append_message(b"EPHEMERAL_LOWER_PUBLIC_KEY", &lo);
        transcript.append_message(b"EPHEMERAL_UPPER_PUBLIC_KEY", &hi);
        transcript.append_message(b"DH_SECRET", dh.as_bytes());

        let mut okm = Zeroizing::new([0u8; 96]);
        Hkdf::<Sha256>::new(None, dh.as_bytes())
            .expand(
                b"TENDERMINT_SECRET_CONNECTION_KEY_AND_CHALLENGE_GEN",
                okm.as_mut(),
            )
            .expect("96 bytes is a valid HKDF-SHA256 length");
        let (recv_key, send_key) = if loc_is_least {
            (&okm[0..32], &okm[32..64])
        } else {
            (&okm[32..64], &okm[0..32])
        };
        let mut challenge = [0u8; 32];
        transcript.challenge_bytes(b"SECRET_CONNECTION_MAC", &mut challenge);

        let mut conn = SecretConnection {
            io,
            send: Half::new(send_key),
            recv: Half::new(recv_key),
            recv_buf: Zeroizing::new(Vec::with_capacity(DATA_MAX)),
            recv_pos: 0,
            sealed: Pending::with_capacity(SEALED_SIZE),
            remote: local.verifying_key(),
        };
        let sig = local.sign(&challenge);
        let auth = auth_sig_message(local.verifying_key().as_bytes(), &sig.to_bytes());
        write_delimited(&mut conn, &auth)?;
        conn.flush()?;
        let msg = read_delimited(&mut conn)?;
        let (rem_key, rem_sig) = parse_auth_sig_message(&msg)?;
        let remote = VerifyingKey::from_bytes(&rem_key).map_err(|_| {
            SecretConnectionError::Handshake("peer public key is not a valid Ed25519 key".into())
        })?;
        remote
            .verify(&challenge, &Signature::from_bytes(&rem_sig))
            .map_err(|_| SecretConnectionError::BadSignature)?;
        conn.remote = remote;
        Ok(conn)
    }

    /// Like [`SecretConnection::handshake`], then refuse any peer but `expected`.
    pub fn handshake_pinned(
        io: S,
        local: &SigningKey,
        expected: &VerifyingKey,
    ) -> Result<Self, SecretConnectionError> {
        let conn = Self::handshake(io, local)?;
        if conn.remote != *expected {
            return Err(SecretConnectionError::UnexpectedPeer {
                expected: hex::encode(expected.as_bytes()),
                got: hex::encode(conn.remote.as_bytes()),
            });
        }
        Ok(conn)
    }
}

impl<S> SecretConnection<S> {
    /// The peer's authenticated Ed25519 key.
    pub fn remote_key(&self) -> &VerifyingKey {
        &self.remote
    }

    /// The underlying stream (to set timeouts or shut it down).
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// Whether decrypted bytes are waiting to be read.
    pub fn has_buffered(&self) -> bool {
        self.recv_pos < self.recv_buf.len()
    }

    /// Whether part of a sealed frame has arrived (a read timed out in its middle).
    pub fn has_partial_input(&self) -> bool {
        self.sealed.is_started()
    }
}

impl<S: Read> SecretConnection<S> {
    /// Read, open and buffer the next sealed frame. `Ok(false)`: the stream ended
    /// between frames.
    fn read_frame(&mut self) -> io::Result<bool> {
        if !self.sealed.fill(&mut self.io, SEALED_SIZE)? {
            return Ok(false);
        }
        let opened = self.open_sealed();
        self.sealed.clear();
        opened.map(|()| true)
    }

    fn open_sealed(&mut self) -> io::Result<()> {
        let (frame, tag) = self.sealed.bytes_mut().split_at_mut(FRAME_SIZE);
        let nonce = self.recv.next_nonce()?;
        self.recv
            .cipher
            .decrypt_in_place_detached(&nonce, b"", frame, Tag::from_slice(tag))
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "SecretConnection: frame fails authentication",
                )
            })?;
        let len = u32::from_le_bytes(frame[..LEN_SIZE].try_into().expect("4 bytes")) as usize;
        if len > DATA_MAX {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("SecretConnection: frame claims {len} bytes, more than {DATA_MAX}"),
            ));
        }
        self.recv_buf.clear();
        self.recv_buf
            .extend_from_slice(&frame[LEN_SIZE..LEN_SIZE + len]);
        self.recv_pos = 0;
        Ok(())
    }
}

impl<S: Read> Read for SecretConnection<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.recv_pos >= self.recv_buf.len() {
            if !self.read_frame()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.recv_buf.len() - self.recv_pos);
        buf[..n].copy_from_slice(&self.recv_buf[self.recv_pos..self.recv_pos + n]);
        self.recv_pos += n;
        Ok(n)
    }
}

impl<S: Write> Write for SecretConnection<S> {
    /// Seals all of `data` (in frames of up to 1024 bytes) and writes it in one go.
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        let out = self.seal(data)?;
        self.io.write_all(&out)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.io.flush()
    }
}

impl<S> SecretConnection<S> {
    /// `data` in sealed frames, as they go on the wire.
    fn seal(&mut self, data: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(data.len().div_ceil(DATA_MAX) * SEALED_SIZE);
        for chunk in data.chunks(DATA_MAX) {
            let mut frame = [0u8; FRAME_SIZE];
            frame[..LEN_SIZE].copy_from_slice(&(chunk.len() as u32).to_le_bytes());
            frame[LEN_SIZE..LEN_SIZE + chunk.len()].copy_from_slice(chunk);
            let nonce = self.send.next_nonce()?;
            let tag = self
                .send
                .cipher
                .encrypt_in_place_detached(&nonce, b"", &mut frame)
                .map_err(|_| io::Error::other("SecretConnection: sealing failed"))?;
            out.extend_from_slice(&frame);
            out.extend_from_slice(&tag);
        }
        Ok(out)
    }
}

fn pb_fields(msg: &[u8]) -> Result<Vec<(u64, &[u8])>, SecretConnectionError> {
    super::pb::fields(msg).map_err(SecretConnectionError::Handshake)
}

/// `google.protobuf.BytesValue{value}`.
fn bytes_value(v: &[u8]) -> Vec<u8> {
    let mut out = vec![0x0a];
    put_varint(&mut out, v.len() as u64);
    out.extend_from_slice(v);
    out
}

fn parse_bytes_value(msg: &[u8]) -> Result<[u8; 32], SecretConnectionError> {
    let fields = pb_fields(msg)?;
    let v = fields
        .iter()
        .find(|(n, _)| *n == 1)
        .map(|(_, v)| *v)
        .unwrap_or_default();
    v.try_into().map_err(|_| {
        SecretConnectionError::Handshake(format!("ephemeral key has {} bytes, not 32", v.len()))
    })
}

/// `tendermint.p2p.AuthSigMessage{pub_key: PublicKey{ed25519}, sig}`.
fn auth_sig_message(pub_key: &[u8; 32], sig: &[u8; 64]) -> Vec<u8> {
    let mut pk = vec![0x0a, 32];
    pk.extend_from_slice(pub_key);
    let mut out = vec![0x0a, pk.len() as u8];
    out.extend_from_slice(&pk);
    out.extend_from_slice(&[0x12, 64]);
    out.extend_from_slice(sig);
    out
}

fn parse_auth_sig_message(msg: &[u8]) -> Result<([u8; 32], [u8; 64]), SecretConnectionError> {
    let bad = |what: &str| SecretConnectionError::Handshake(format!("auth message: {what}"));
    let fields = pb_fields(msg)?;
    let pk_msg = fields
        .iter()
        .find(|(n, _)| *n == 1)
        .ok_or_else(|| bad("no public key"))?
        .1;
    let sig = fields
        .iter()
        .find(|(n, _)| *n == 2)
        .ok_or_else(|| bad("no signature"))?
        .1;
    let pk_fields = pb_fields(pk_msg)?;
    let pk = pk_fields
        .iter()
        .find(|(n, _)| *n == 1)
        .ok_or_else(|| bad("the peer's key is not Ed25519"))?
        .1;
    Ok((
        pk.try_into()
            .map_err(|_| bad("Ed25519 key is not 32 bytes"))?,
        sig.try_into()
            .map_err(|_| bad("signature is not 64 bytes"))?,
    ))
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn write_delimited(w: &mut impl Write, msg: &[u8]) -> io::Result<()> {
    let mut out = Vec::with_capacity(msg.len() + 2);
    put_varint(&mut out, msg.len() as u64);
    out.extend_from_slice(msg);
    w.write_all(&out)
}

fn read_delimited(r: &mut impl Read) -> Result<Vec<u8>, SecretConnectionError> {
    let mut len = 0u64;
    for i in 0..10 {
        let mut b = [0u8; 1];
        r.read_exact(&mut b)?;
        len |= u64::from(b[0] & 0x7f) << (7 * i);
        if b[0] & 0x80 == 0 {
            if len > MAX_HANDSHAKE_MSG {
                return Err(SecretConnectionError::Handshake(format!(
                    "handshake message of {len} bytes is too long"
                )));
            }
            let mut msg = vec![0u8; len as usize];
            r.read_exact(&mut msg)?;
            return Ok(msg);
        }
    }
    Err(SecretConnectionError::Handshake("bad length prefix".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    fn pair() -> (
        SecretConnection<TcpStream>,
        SecretConnection<TcpStream>,
        SigningKey,
        SigningKey,
    ) {
        let a_key = SigningKey::generate(&mut OsRng);
        let b_key = SigningKey::generate(&mut OsRng);
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let bk = b_key.clone();
        let t = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            SecretConnection::handshake(s, &bk).unwrap()
        });
        let a = SecretConnection::handshake(TcpStream::connect(addr).unwrap(), &a_key).unwrap();
        let b = t.join().unwrap();
        (a, b, a_key, b_key)
    }

    #[test]
    fn both_sides_learn_each_others_key_and_exchange_data() {
        let (mut a, mut b, a_key, b_key) = pair();
        assert_eq!(a.remote_key(), &b_key.verifying_key());
        assert_eq!(b.remote_key(), &a_key.verifying_key());
        let big: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        a.write_all(&big).unwrap();
        a.write_all(b"tail").unwrap();
        let mut got = vec![0u8; big.len()];
        // Read the first bytes one at a time, as a varint reader does.
        for byte in got.iter_mut().take(3) {
            b.read_exact(std::slice::from_mut(byte)).unwrap();
        }
        b.read_exact(&mut got[3..]).unwrap();
        assert_eq!(got, big);
        let mut tail = [0u8; 4];
        b.read_exact(&mut tail).unwrap();
        assert_eq!(&tail, b"tail");
        b.write_all(b"pong").unwrap();
        a.read_exact(&mut tail).unwrap();
        assert_eq!(&tail, b"pong");
    }

    #[test]
    fn a_read_timeout_inside_a_sealed_frame_loses_nothing() {
        let (mut a, mut b, _, _) = pair();
        let sealed = a.seal(b"hello").unwrap();
        let mut raw = a.io.try_clone().unwrap();
        b.io.set_read_timeout(Some(std::time::Duration::from_millis(50)))
            .unwrap();
        let mut got = [0u8; 5];
        for part in sealed.chunks(400) {
            assert!(!b.has_buffered());
            let e = b.read(&mut got).unwrap_err();
            assert!(
                matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ),
                "{e}"
            );
            assert_eq!(b.has_partial_input(), part.as_ptr() != sealed.as_ptr());
            raw.write_all(part).unwrap();
        }
        b.io.set_read_timeout(None).unwrap();
        b.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"hello");
        assert!(!b.has_partial_input());
        // The next frame decrypts too: the nonces are still in step.
        a.write_all(b"again").unwrap();
        b.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"again");
        // A close between frames reads as the end of the stream.
        drop(a);
        drop(raw);
        assert_eq!(b.read(&mut got).unwrap(), 0);
    }

    #[test]
    fn pinning_refuses_another_peer() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            let _ = SecretConnection::handshake(s, &SigningKey::generate(&mut OsRng));
        });
        let other = SigningKey::generate(&mut OsRng).verifying_key();
        let err = SecretConnection::handshake_pinned(
            TcpStream::connect(addr).unwrap(),
            &SigningKey::generate(&mut OsRng),
            &other,
        )
        .unwrap_err();
        assert!(
            matches!(err, SecretConnectionError::UnexpectedPeer { .. }),
            "{err}"
        );
        t.join().unwrap();
    }

    #[test]
    fn a_tampered_frame_is_refused() {
        // Run the handshake over a pipe we can corrupt: relay a->b through a proxy that
        // flips one bit in the first data frame after the handshake.
        let (mut a, b, _, _) = pair();
        a.write_all(b"hello").unwrap();
        // Intercept at the byte level: read b's raw stream ourselves.
        let mut raw = b.io.try_clone().unwrap();
        let mut sealed = [0u8; SEALED_SIZE];
        raw.read_exact(&mut sealed).unwrap();
        sealed[10] ^= 1;
        let mut recv = b.recv;
        let (frame, tag) = sealed.split_at_mut(FRAME_SIZE);
        let nonce = recv.next_nonce().unwrap();
        assert!(recv
            .cipher
            .decrypt_in_place_detached(&nonce, b"", frame, Tag::from_slice(tag))
            .is_err());
    }

    #[test]
    fn garbage_instead_of_a_handshake_is_an_error_not_a_panic() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            s.write_all(&[0xff; 64]).unwrap();
        });
        let err = SecretConnection::handshake(
            TcpStream::connect(addr).unwrap(),
            &SigningKey::generate(&mut OsRng),
        )
        .unwrap_err();
        assert!(matches!(err, SecretConnectionError::Handshake(_)), "{err}");
        t.join().unwrap();
    }
}

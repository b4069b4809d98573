//! libp2p Noise (`Noise_XX_25519_ChaChaPoly_SHA256`), the authenticated privval transport
//! of CometBFT v0.40 (`priv_validator_laddr = "noise://<signer-peer-id>@ip:port"`).
//!
//! Each side proves its libp2p identity (an Ed25519 key; the node's is its p2p node key)
//! by signing `"noise-libp2p-static-key:" || its Noise static key` in the handshake
//! payload. The node admits only the signer's peer ID; the signer admits only the node's,
//! so both ends are pinned. Handshake and transport messages carry a 2-byte big-endian
//! length prefix; a transport message holds at most 65535 bytes of ciphertext.

use super::pending::Pending;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use std::io::{self, Read, Write};
use zeroize::Zeroizing;

const PATTERN: &str = "Noise_XX_25519_ChaChaPoly_SHA256";
const SIG_PREFIX: &[u8] = b"noise-libp2p-static-key:";
const MAX_MSG: usize = 0xffff;
const TAG: usize = 16;

/// Why a Noise connection failed.
#[derive(Debug, thiserror::Error)]
pub enum NoiseError {
    /// The stream failed.
    #[error("noise connection I/O: {0}")]
    Io(#[from] io::Error),
    /// The Noise protocol failed (bad message, failed decryption).
    #[error("noise handshake: {0}")]
    Protocol(String),
    /// The peer's identity payload is malformed or its signature does not verify.
    #[error("noise handshake: the peer's identity does not verify: {0}")]
    Identity(String),
    /// The peer is not the pinned one.
    #[error("noise handshake: peer {got} is not the expected {expected}; check the node's node_key and the peer ID in the signer config")]
    UnexpectedPeer {
        /// Pinned peer ID.
        expected: String,
        /// Peer ID presented.
        got: String,
    },
}

impl From<snow::Error> for NoiseError {
    fn from(e: snow::Error) -> Self {
        NoiseError::Protocol(e.to_string())
    }
}

/// The libp2p peer ID of an Ed25519 key: base58 of the identity multihash of the
/// protobuf-encoded public key (the `12D3KooW...` form).
pub fn peer_id(key: &VerifyingKey) -> String {
    let mut mh = vec![0x00, 36];
    mh.extend_from_slice(&libp2p_public_key(key));
    bs58::encode(mh).into_string()
}

/// The Ed25519 key behind a peer ID of the `12D3KooW...` form.
pub fn parse_peer_id(id: &str) -> Result<VerifyingKey, String> {
    let bytes = bs58::decode(id)
        .into_vec()
        .map_err(|e| format!("peer ID {id:?} is not base58: {e}"))?;
    let key = bytes
        .strip_prefix(&[0x00, 36, 0x08, 0x01, 0x12, 0x20][..])
        .filter(|k| k.len() == 32)
        .ok_or_else(|| format!("peer ID {id:?} is not an Ed25519 libp2p peer ID (12D3KooW...)"))?;
    VerifyingKey::from_bytes(key.try_into().expect("32 bytes"))
        .map_err(|_| format!("peer ID {id:?} holds an invalid Ed25519 key"))
}

/// `libp2p.crypto.PublicKey{Type: Ed25519, Data: key}`.
fn libp2p_public_key(key: &VerifyingKey) -> Vec<u8> {
    let mut out = vec![0x08, 0x01, 0x12, 0x20];
    out.extend_from_slice(key.as_bytes());
    out
}

/// An established Noise connection.
pub struct NoiseConnection<S> {
    io: S,
    transport: snow::TransportState,
    recv_buf: Zeroizing<Vec<u8>>,
    recv_pos: usize,
    sealed: Pending,
    remote: VerifyingKey,
}

impl<S> std::fmt::Debug for NoiseConnection<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoiseConnection")
            .field("remote", &peer_id(&self.remote))
            .finish_non_exhaustive()
    }
}

impl<S: Read + Write> NoiseConnection<S> {
    /// Dial side: handshake as initiator and refuse any peer but `expected`.
    pub fn connect(
        mut io: S,
        identity: &SigningKey,
        expected: &VerifyingKey,
    ) -> Result<Self, NoiseError> {
        let (mut hs, static_public) = builder(true)?;
        let mut buf = vec![0u8; MAX_MSG];
        let n = hs.write_message(&[], &mut buf)?;
        send(&mut io, &buf[..n])?;
        let msg = recv(&mut io)?;
        let n = hs.read_message(&msg, &mut buf)?;
        let remote = verify_payload(&buf[..n], hs.get_remote_static())?;
        if remote != *expected {
            return Err(NoiseError::UnexpectedPeer {
                expected: peer_id(expected),
                got: peer_id(&remote),
            });
        }
        let n = hs.write_message(&payload(identity, &static_public), &mut buf)?;
        send(&mut io, &buf[..n])?;
        Self::finish(io, hs, remote)
    }

    /// Listen side (what the node does): handshake as responder; returns the connection
    /// and the peer's key, for the caller to check against its allowlist.
    pub fn accept(mut io: S, identity: &SigningKey) -> Result<Self, NoiseError> {
        let (mut hs, static_public) = builder(false)?;
        let mut buf = vec![0u8; MAX_MSG];
        let msg = recv(&mut io)?;
        hs.read_message(&msg, &mut buf)?;
        let n = hs.write_message(&payload(identity, &static_public), &mut buf)?;
        send(&mut io, &buf[..n])?;
        let msg = recv(&mut io)?;
        let n = hs.read_message(&msg, &mut buf)?;
        let remote = verify_payload(&buf[..n], hs.get_remote_static())?;
        Self::finish(io, hs, remote)
    }

    fn finish(io: S, hs: snow::HandshakeState, remote: VerifyingKey) -> Result<Self, NoiseError> {
        Ok(NoiseConnection {
            io,
            transport: hs.into_transport_mode()?,
            recv_buf: Zeroizing::new(Vec::new()),
            recv_pos: 0,
            sealed: Pending::default(),
            remote,
        })
    }
}

impl<S> NoiseConnection<S> {
    /// The peer's authenticated identity key.
    pub fn remote_key(&self) -> &VerifyingKey {
        &self.remote
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// Whether decrypted bytes are waiting to be read.
    pub fn has_buffered(&self) -> bool {
        self.recv_pos < self.recv_buf.len()
    }

    /// Whether part of a transport message has arrived (a read timed out in its middle).
    pub fn has_partial_input(&self) -> bool {
        self.sealed.is_started()
    }
}

impl<S: Read> NoiseConnection<S> {
    /// Read and decrypt the next transport message, keeping a partial one across read
    /// timeouts. `Ok(false)`: the stream ended between messages.
    fn read_message(&mut self) -> io::Result<bool> {
        if !self.sealed.fill(&mut self.io, 2)? {
            return Ok(false);
        }
        let len = {
            let b = self.sealed.bytes_mut();
            usize::from(u16::from_be_bytes([b[0], b[1]]))
        };
        self.sealed.fill(&mut self.io, 2 + len)?;
        let mut plain = Zeroizing::new(vec![0u8; len]);
        let opened = self
            .transport
            .read_message(&self.sealed.bytes_mut()[2..], &mut plain);
        self.sealed.clear();
        let n = opened.map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "noise: message fails authentication",
            )
        })?;
        plain.truncate(n);
        self.recv_buf = plain;
        self.recv_pos = 0;
        Ok(true)
    }
}

impl<S: Read> Read for NoiseConnection<S> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        while !self.has_buffered() {
            if !self.read_message()? {
                return Ok(0);
            }
        }
        let n = out.len().min(self.recv_buf.len() - self.recv_pos);
        out[..n].copy_from_slice(&self.recv_buf[self.recv_pos..self.recv_pos + n]);
        self.recv_pos += n;
        Ok(n)
    }
}

impl<S: Write> Write for NoiseConnection<S> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let out = self.seal(data)?;
        self.io.write_all(&out)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.io.flush()
    }
}

impl<S> NoiseConnection<S> {
    /// `data` in length-prefixed transport messages, as they go on the wire.
    fn seal(&mut self, data: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(data.len() + 2 + TAG);
        let mut sealed = vec![0u8; MAX_MSG];
        for chunk in data.chunks(MAX_MSG - TAG) {
            let n = self
                .transport
                .write_message(chunk, &mut sealed)
                .map_err(|e| io::Error::other(format!("noise: {e}")))?;
            out.extend_from_slice(&(n as u16).to_be_bytes());
            out.extend_from_slice(&sealed[..n]);
        }
        Ok(out)
    }
}

impl From<NoiseError> for io::Error {
    fn from(e: NoiseError) -> Self {
        match e {
            NoiseError::Io(e) => e,
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}

fn builder(initiator: bool) -> Result<(snow::HandshakeState, Vec<u8>), NoiseError> {
    let params: snow::params::NoiseParams = PATTERN.parse().expect("valid pattern");
    let keypair = snow::Builder::new(params.clone()).generate_keypair()?;
    let private = Zeroizing::new(keypair.private);
    let b = snow::Builder::new(params).local_private_key(&private);
    let hs = if initiator {
        b.build_initiator()?
    } else {
        b.build_responder()?
    };
    Ok((hs, keypair.public))
}

/// `NoiseHandshakePayload{identity_key, identity_sig}`.
fn payload(identity: &SigningKey, static_public: &[u8]) -> Vec<u8> {
    let key = libp2p_public_key(&identity.verifying_key());
    let mut msg = SIG_PREFIX.to_vec();
    msg.extend_from_slice(static_public);
    let sig = identity.sign(&msg).to_bytes();
    let mut out = vec![0x0a, key.len() as u8];
    out.extend_from_slice(&key);
    out.extend_from_slice(&[0x12, sig.len() as u8]);
    out.extend_from_slice(&sig);
    out
}

fn verify_payload(
    payload: &[u8],
    remote_static: Option<&[u8]>,
) -> Result<VerifyingKey, NoiseError> {
    let bad = |s: &str| NoiseError::Identity(s.to_string());
    let fields = super::pb::fields(payload).map_err(|e| bad(&e))?;
    let key = fields
        .iter()
        .find(|(n, _)| *n == 1)
        .ok_or_else(|| bad("no identity key"))?
        .1;
    let sig = fields
        .iter()
        .find(|(n, _)| *n == 2)
        .ok_or_else(|| bad("no identity signature"))?
        .1;
    let key = key
        .strip_prefix(&[0x08, 0x01, 0x12, 0x20][..])
        .filter(|k| k.len() == 32)
        .ok_or_else(|| bad("identity key is not Ed25519"))?;
    let key = VerifyingKey::from_bytes(key.try_into().expect("32 bytes"))
        .map_err(|_| bad("invalid Ed25519 key"))?;
    let sig = Signature::from_slice(sig).map_err(|_| bad("signature is not 64 bytes"))?;
    let remote_static = remote_static.ok_or_else(|| bad("no static key"))?;
    let mut msg = SIG_PREFIX.to_vec();
    msg.extend_from_slice(remote_static);
    key.verify(&msg, &sig)
        .map_err(|_| bad("signature over the static key does not verify"))?;
    Ok(key)
}

fn send(io: &mut impl Write, msg: &[u8]) -> io::Result<()> {
    let mut out = Vec::with_capacity(msg.len() + 2);
    out.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    out.extend_from_slice(msg);
    io.write_all(&out)?;
    io.flush()
}

fn recv(io: &mut impl Read) -> Result<Vec<u8>, NoiseError> {
    let mut len = [0u8; 2];
    io.read_exact(&mut len)?;
    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
    io.read_exact(&mut msg)?;
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn peer_ids_round_trip_in_the_libp2p_form() {
        let k = SigningKey::generate(&mut OsRng).verifying_key();
        let id = peer_id(&k);
        assert!(id.starts_with("12D3KooW"), "{id}");
        assert_eq!(parse_peer_id(&id).unwrap(), k);
        assert!(parse_peer_id("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N").is_err());
        assert!(parse_peer_id("not base58 0OIl").is_err());
    }

    #[test]
    fn both_ends_authenticate_and_exchange_data() {
        let node = SigningKey::generate(&mut OsRng);
        let signer = SigningKey::generate(&mut OsRng);
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let nk = node.clone();
        let t = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            let mut c = NoiseConnection::accept(s, &nk).unwrap();
            let mut got = vec![0u8; 70_000];
            c.read_exact(&mut got).unwrap();
            c.write_all(b"pong").unwrap();
            (got, *c.remote_key())
        });
        let mut c = NoiseConnection::connect(
            TcpStream::connect(addr).unwrap(),
            &signer,
            &node.verifying_key(),
        )
        .unwrap();
        let big: Vec<u8> = (0..70_000u32).map(|i| i as u8).collect();
        c.write_all(&big).unwrap();
        let mut pong = [0u8; 4];
        c.read_exact(&mut pong).unwrap();
        assert_eq!(&pong, b"pong");
        let (got, seen) = t.join().unwrap();
        assert_eq!(got, big);
        assert_eq!(seen, signer.verifying_key());
    }

    #[test]
    fn a_read_timeout_inside_a_message_loses_nothing() {
        let node = SigningKey::generate(&mut OsRng);
        let signer = SigningKey::generate(&mut OsRng);
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let nk = node.clone();
        let t = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            NoiseConnection::accept(s, &nk).unwrap()
        });
        let mut a = NoiseConnection::connect(
            TcpStream::connect(addr).unwrap(),
            &signer,
            &node.verifying_key(),
        )
        .unwrap();
        let mut b = t.join().unwrap();
        let sealed = a.seal(b"hello").unwrap();
        let mut raw = a.io.try_clone().unwrap();
        b.io.set_read_timeout(Some(std::time::Duration::from_millis(50)))
            .unwrap();
        let mut got = [0u8; 5];
        // The length prefix split too.
        for (i, part) in [&sealed[..1], &sealed[1..9], &sealed[9..]]
            .iter()
            .enumerate()
        {
            let e = b.read(&mut got).unwrap_err();
            assert!(
                matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ),
                "{e}"
            );
            assert_eq!(b.has_partial_input(), i > 0);
            raw.write_all(part).unwrap();
        }
        b.io.set_read_timeout(None).unwrap();
        b.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"hello");
        a.write_all(b"again").unwrap();
        b.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"again");
        drop(a);
        drop(raw);
        assert_eq!(b.read(&mut got).unwrap(), 0);
    }

    #[test]
    fn the_wrong_node_is_refused() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            let _ = NoiseConnection::accept(s, &SigningKey::generate(&mut OsRng));
        });
        let pinned = SigningKey::generate(&mut OsRng).verifying_key();
        let err = NoiseConnection::connect(
            TcpStream::connect(addr).unwrap(),
            &SigningKey::generate(&mut OsRng),
            &pinned,
        )
        .unwrap_err();
        assert!(matches!(err, NoiseError::UnexpectedPeer { .. }), "{err}");
        t.join().unwrap();
    }
}

//! The Noise IK handshake, each step within one deadline.
//!
//! 1. dialer -> listener: IK message 1 (the dialer's static key, encrypted to the
//!    listener's pinned key);
//! 2. listener -> dialer: IK message 2, whose payload says whether the listener
//!    accepted the dialer's key;
//! 3. dialer -> listener: the first transport message, a fixed confirmation. A
//!    listener accepts a link only after it, so a replayed message 1 gets nowhere.

use super::error::from_io;
use super::stream::NOISE_MAX;
use super::{stream, Link, LinkError, LinkKey, LinkPublic, PATTERN, PROLOGUE};
use snow::{HandshakeState, StatelessTransportState};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Message 2 payload: the dialer's key is accepted.
const ACCEPTED: &[u8] = &[1];
/// Message 2 payload: the dialer's key is not among the listener's peers.
const REFUSED: &[u8] = &[0];
/// The dialer's confirmation, its first transport message.
const CONFIRM: &[u8] = b"bulwark-threshold-link/1 ready";

/// Connect to the cosigner at `addr` whose link key is `peer`, and run the handshake;
/// both within `timeout`.
pub fn dial(
    addr: SocketAddr,
    key: &LinkKey,
    peer: &LinkPublic,
    timeout: Duration,
) -> Result<Link, LinkError> {
    let deadline = Deadline(Instant::now() + timeout);
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(from_io)?;
    stream.set_nodelay(true)?;
    let mut hs = builder(key)
        .remote_public_key(&peer.0)
        .build_initiator()
        .map_err(snow_err)?;
    let mut buf = vec![0u8; NOISE_MAX];
    let n = hs.write_message(&[], &mut buf).map_err(snow_err)?;
    write_frame(&mut stream, &buf[..n], &deadline)?;
    let reply = read_frame(&mut stream, &deadline).map_err(|e| match e {
        LinkError::Closed => LinkError::Handshake(format!(
            "the cosigner at {addr} closed the connection without answering; check that \
             {peer}, the key pinned for it, is its link public key"
        )),
        e => e,
    })?;
    let n = hs.read_message(&reply, &mut buf).map_err(|e| {
        LinkError::Handshake(format!(
            "the answer from {addr} does not verify for link key {peer} ({e})"
        ))
    })?;
    match &buf[..n] {
        ACCEPTED => {}
        REFUSED => {
            return Err(LinkError::Handshake(format!(
                "the cosigner at {addr} refused our link key {}; add it to that cosigner's \
                 peers",
                key.public()
            )))
        }
        _ => {
            return Err(LinkError::Handshake(format!(
                "the cosigner at {addr} answered with an unknown reply"
            )))
        }
    }
    let cipher = transport(hs)?;
    let n = cipher
        .write_message(0, CONFIRM, &mut buf)
        .map_err(snow_err)?;
    write_frame(&mut stream, &buf[..n], &deadline)?;
    finish(stream, cipher, *peer, 1, 0)
}

/// Run the handshake on an accepted connection within `timeout`, and admit the dialer
/// only if its key is in `allowed`. Returns the link and the dialer's key.
pub fn accept(
    stream: TcpStream,
    key: &LinkKey,
    allowed: &[LinkPublic],
    timeout: Duration,
) -> Result<(Link, LinkPublic), LinkError> {
    accept_if(stream, key, &|k| allowed.contains(k), timeout)
}

/// Like [`accept`], for a listener that authenticates the dialer by other means after
/// the handshake (a custodian's SSH signature): any dialer key is admitted, and the
/// link is still encrypted and bound to this listener's key.
pub fn accept_any(
    stream: TcpStream,
    key: &LinkKey,
    timeout: Duration,
) -> Result<(Link, LinkPublic), LinkError> {
    accept_if(stream, key, &|_| true, timeout)
}

fn accept_if(
    mut stream: TcpStream,
    key: &LinkKey,
    allowed: &dyn Fn(&LinkPublic) -> bool,
    timeout: Duration,
) -> Result<(Link, LinkPublic), LinkError> {
    let deadline = Deadline(Instant::now() + timeout);
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    let from = stream
        .peer_addr()
        .map_or_else(|_| "a dialer".to_string(), |a| a.to_string());
    let mut hs = builder(key).build_responder().map_err(snow_err)?;
    let mut buf = vec![0u8; NOISE_MAX];
    let hello = read_frame(&mut stream, &deadline)?;
    hs.read_message(&hello, &mut buf).map_err(|e| {
        LinkError::Handshake(format!(
            "the first message from {from} does not decrypt ({e}): the dialer has another \
             key pinned for this cosigner (ours is {}), or it does not speak {PATTERN} with \
             this link's prologue",
            key.public()
        ))
    })?;
    let remote = remote_static(&hs)?;
    let allow = allowed(&remote);
    let n = hs
        .write_message(if allow { ACCEPTED } else { REFUSED }, &mut buf)
        .map_err(snow_err)?;
    let sent = write_frame(&mut stream, &buf[..n], &deadline);
    if !allow {
        return Err(LinkError::UnknownPeer { key: remote });
    }
    sent?;
    let cipher = transport(hs)?;
    let confirm = read_frame(&mut stream, &deadline).map_err(|e| match e {
        LinkError::Closed => LinkError::Handshake(format!(
            "{remote} at {from} closed the connection before confirming the handshake"
        )),
        e => e,
    })?;
    let n = cipher.read_message(0, &confirm, &mut buf).map_err(|_| {
        LinkError::Handshake(format!(
            "the confirmation from {remote} at {from} does not decrypt"
        ))
    })?;
    if &buf[..n] != CONFIRM {
        return Err(LinkError::Handshake(format!(
            "{remote} at {from} sent a wrong handshake confirmation"
        )));
    }
    Ok((finish(stream, cipher, remote, 0, 1)?, remote))
}

fn builder(key: &LinkKey) -> snow::Builder<'_> {
    snow::Builder::new(PATTERN.parse().expect("a valid Noise pattern"))
        .local_private_key(key.secret())
        .prologue(PROLOGUE)
}

fn snow_err(e: snow::Error) -> LinkError {
    LinkError::Handshake(e.to_string())
}

fn remote_static(hs: &HandshakeState) -> Result<LinkPublic, LinkError> {
    hs.get_remote_static()
        .and_then(|k| <[u8; 32]>::try_from(k).ok())
        .map(LinkPublic)
        .ok_or_else(|| LinkError::Handshake("the dialer presented no static key".into()))
}

fn transport(hs: HandshakeState) -> Result<StatelessTransportState, LinkError> {
    hs.into_stateless_transport_mode().map_err(snow_err)
}

fn finish(
    stream: TcpStream,
    cipher: StatelessTransportState,
    remote: LinkPublic,
    send_nonce: u64,
    recv_nonce: u64,
) -> Result<Link, LinkError> {
    stream.set_read_timeout(None)?;
    stream.set_write_timeout(None)?;
    let peer_addr = stream.peer_addr().ok();
    let local_addr = stream.local_addr().ok();
    let (writer, reader) = stream::halves(stream, cipher, send_nonce, recv_nonce)?;
    Ok(Link {
        writer,
        reader,
        remote,
        peer_addr,
        local_addr,
    })
}

/// When the handshake must be done.
struct Deadline(Instant);

impl Deadline {
    fn remaining(&self) -> Result<Duration, LinkError> {
        let left = self.0.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(LinkError::Timeout)
        } else {
            Ok(left)
        }
    }
}

/// Read one length-prefixed handshake message by the deadline.
fn read_frame(stream: &mut TcpStream, deadline: &Deadline) -> Result<Vec<u8>, LinkError> {
    let mut len = [0u8; 2];
    read_exact(stream, &mut len, deadline)?;
    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
    read_exact(stream, &mut msg, deadline)?;
    Ok(msg)
}

fn read_exact(
    stream: &mut TcpStream,
    buf: &mut [u8],
    deadline: &Deadline,
) -> Result<(), LinkError> {
    let mut have = 0;
    while have < buf.len() {
        stream.set_read_timeout(Some(deadline.remaining()?))?;
        match stream.read(&mut buf[have..]) {
            Ok(0) => return Err(LinkError::Closed),
            Ok(n) => have += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(from_io(e)),
        }
    }
    Ok(())
}

/// Write one length-prefixed handshake message by the deadline.
fn write_frame(stream: &mut TcpStream, msg: &[u8], deadline: &Deadline) -> Result<(), LinkError> {
    let mut out = Vec::with_capacity(2 + msg.len());
    out.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    out.extend_from_slice(msg);
    stream.set_write_timeout(Some(deadline.remaining()?))?;
    stream.write_all(&out).map_err(from_io)
}

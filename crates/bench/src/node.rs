//! The benchmark's node side: listens like a CometBFT node, sends a fixed request
//! stream, times each round trip and verifies every signature.

use anyhow::{bail, Context};
use ed25519_dalek::{Signature, SigningKey, Verifier, VerifyingKey};
use privval::transport::SecretConnection;
use privval::{
    decode_response, encode_request_frame, BlockId, FrameDecoder, Line, PartSetHeader, PublicKey,
    Request, Response, SignedMsgType, Timestamp, Vote,
};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// A listener for one chain.
#[derive(Debug)]
pub struct Listener {
    /// The socket.
    pub listener: TcpListener,
    /// Its port.
    pub port: u16,
}

impl Listener {
    /// Bind 127.0.0.1:0.
    pub fn bind() -> anyhow::Result<Listener> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        Ok(Listener { listener, port })
    }

    /// Accept the signer and handshake with `node_key`.
    pub fn accept(&self, node_key: &SigningKey, within: Duration) -> anyhow::Result<Conn> {
        self.listener.set_nonblocking(true)?;
        let deadline = Instant::now() + within;
        let stream = loop {
            match self.listener.accept() {
                Ok((s, _)) => break s,
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(e).context("the signer did not connect"),
            }
        };
        stream.set_nonblocking(false)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let conn = SecretConnection::handshake(stream, node_key)?;
        Ok(Conn {
            conn,
            frames: FrameDecoder::for_line(Line::V0_38),
            buf: vec![0; 16 * 1024],
        })
    }
}

/// One connection to the signer under test.
#[derive(Debug)]
pub struct Conn {
    conn: SecretConnection<TcpStream>,
    frames: FrameDecoder,
    buf: Vec<u8>,
}

impl Conn {
    /// Send one request and wait for its response.
    pub fn call(&mut self, req: &Request) -> anyhow::Result<Response> {
        let frame = encode_request_frame(Line::V0_38, req)?;
        self.conn.write_all(&frame)?;
        loop {
            if let Some(f) = self.frames.pop() {
                return Ok(decode_response(Line::V0_38, &f)?);
            }
            let n = self.conn.read(&mut self.buf)?;
            if n == 0 {
                bail!("the signer closed the connection");
            }
            self.frames.push(&self.buf[..n])?;
        }
    }

    /// The signer's public key for `chain_id`.
    pub fn pub_key(&mut self, chain_id: &str) -> anyhow::Result<VerifyingKey> {
        match self.call(&Request::PubKey {
            chain_id: chain_id.into(),
        })? {
            Response::PubKey {
                pub_key: PublicKey::Ed25519(k),
            } => Ok(VerifyingKey::from_bytes(k.as_slice().try_into()?)?),
            other => bail!("unexpected answer to PubKeyRequest: {other:?}"),
        }
    }
}

/// Which requests the "node" sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Stream {
    /// One prevote for a block per height.
    Prevotes,
    /// A prevote then a precommit for a block per height (precommits carry a
    /// vote-extension signature in v0.38 where the signer makes one).
    Votes,
}

/// The `i`-th request of the stream, with heights from 1 and timestamps that advance.
pub fn request(stream: Stream, chain_id: &str, i: u64) -> Request {
    let (height, msg_type) = match stream {
        Stream::Prevotes => ((i + 1) as i64, SignedMsgType::Prevote),
        Stream::Votes if i % 2 == 0 => ((i / 2 + 1) as i64, SignedMsgType::Prevote),
        Stream::Votes => ((i / 2 + 1) as i64, SignedMsgType::Precommit),
    };
    let h = (height as u64).to_le_bytes();
    let mut hash = [0u8; 32];
    hash[..8].copy_from_slice(&h);
    Request::SignVote {
        chain_id: chain_id.into(),
        vote: Vote {
            msg_type,
            height,
            round: 0,
            block_id: BlockId {
                hash: hash.to_vec(),
                part_set_header: PartSetHeader {
                    total: 1,
                    hash: hash.to_vec(),
                },
            },
            timestamp: Timestamp {
                seconds: 1_800_000_000 + height,
                nanos: (i % 2) as i32 * 1000,
            },
            validator_address: vec![7; 20],
            validator_index: 0,
            ..Vote::default()
        },
        skip_extension_signing: false,
    }
}

/// Run `count` requests from `start` on one connection; return each round trip. Every
/// signature is verified, and every extension signature the signer returns.
pub fn drive(
    conn: &mut Conn,
    stream: Stream,
    chain_id: &str,
    key: &VerifyingKey,
    start: u64,
    count: u64,
) -> anyhow::Result<Vec<Duration>> {
    let mut lat = Vec::with_capacity(count as usize);
    for i in start..start + count {
        let req = request(stream, chain_id, i);
        let t = Instant::now();
        let resp = conn.call(&req)?;
        lat.push(t.elapsed());
        let Response::SignedVote { vote } = resp else {
            bail!("request {i} on {chain_id} was not signed: {resp:?}");
        };
        let sig = Signature::from_slice(&vote.signature).context("signature length")?;
        key.verify(&privval::vote_sign_bytes(chain_id, &vote), &sig)
            .with_context(|| format!("request {i} on {chain_id}: signature does not verify"))?;
        if vote.signs_extension() && !vote.extension_signature.is_empty() {
            let ext = Signature::from_slice(&vote.extension_signature)
                .context("extension signature length")?;
            key.verify(&privval::vote_extension_sign_bytes(chain_id, &vote), &ext)
                .with_context(|| {
                    format!("request {i} on {chain_id}: extension signature does not verify")
                })?;
        }
    }
    Ok(lat)
}

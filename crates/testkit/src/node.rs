//! The node side of the privval protocol: listen like a CometBFT node, accept the
//! signer (SecretConnection over TCP, or a unix socket), and send exact requests,
//! malformed ones included. The bench drives its load through it too.

use ed25519_dalek::SigningKey;
use privval::transport::{SecretConnection, SecretConnectionError};
use privval::{
    decode_response, encode_request_frame, DecodeError, EncodeError, FrameDecoder, FrameError,
    Line, Request, Response,
};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// Largest response frame a node accepts.
const MAX_FRAME: usize = 10 * 1024 * 1024;

/// What went wrong on the node side.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("node socket: {0}")]
    Io(#[from] io::Error),
    #[error("the signer did not dial in within {0:?}")]
    NoSigner(Duration),
    #[error("SecretConnection handshake: {0}")]
    Handshake(#[from] SecretConnectionError),
    #[error("encode the request: {0}")]
    Encode(#[from] EncodeError),
    #[error("frame from the signer: {0}")]
    Frame(#[from] FrameError),
    #[error("decode the response: {0}")]
    Decode(#[from] DecodeError),
    #[error("the signer closed the connection")]
    Closed,
}

/// A listening "node" on 127.0.0.1 (non-blocking, so accepts can have a deadline).
#[derive(Debug)]
pub struct FakeNode {
    pub listener: TcpListener,
    pub port: u16,
}

impl FakeNode {
    /// Bind 127.0.0.1:0.
    pub fn bind() -> io::Result<FakeNode> {
        Self::bind_at("127.0.0.1:0")
    }

    /// Bind `addr` (e.g. the test's side of a network namespace's veth).
    pub fn bind_at(addr: &str) -> io::Result<FakeNode> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        Ok(FakeNode { listener, port })
    }

    /// Bind 127.0.0.1:0; panics on failure.
    pub fn listen() -> FakeNode {
        Self::bind().expect("bind a node listener")
    }

    /// The signer's TCP connection, blocking again, with a 10 s read timeout.
    pub fn accept_stream(&self, within: Duration) -> Result<TcpStream, NodeError> {
        let deadline = Instant::now() + within;
        loop {
            match self.listener.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false)?;
                    s.set_read_timeout(Some(Duration::from_secs(10)))?;
                    return Ok(s);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() > deadline {
                        return Err(NodeError::NoSigner(within));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Accept the signer and run the SecretConnection handshake with `node_key`.
    pub fn accept_with(
        &self,
        line: Line,
        node_key: &SigningKey,
        within: Duration,
    ) -> Result<NodeConn, NodeError> {
        let s = self.accept_stream(within)?;
        let conn = SecretConnection::handshake(s, node_key)?;
        Ok(NodeConn::new(conn, line))
    }

    /// Accept the signer (a fresh node key) and handshake; panics on failure.
    pub fn accept(&self, line: Line, within: Duration) -> NodeConn {
        self.try_accept(line, within).expect("the signer dials in")
    }

    /// Accept the signer within `within`, or `None` when it does not dial in.
    pub fn try_accept(&self, line: Line, within: Duration) -> Option<NodeConn> {
        let key = SigningKey::generate(&mut rand_core::OsRng);
        match self.accept_with(line, &key, within) {
            Ok(c) => Some(c),
            Err(NodeError::NoSigner(_)) => None,
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// One accepted connection, seen from the node.
#[derive(Debug)]
pub struct NodeConn {
    pub conn: SecretConnection<TcpStream>,
    pub line: Line,
    frames: FrameDecoder,
}

impl NodeConn {
    fn new(conn: SecretConnection<TcpStream>, line: Line) -> NodeConn {
        NodeConn {
            conn,
            line,
            frames: FrameDecoder::new(MAX_FRAME),
        }
    }

    /// Send small writes at once (the bench measures round trips).
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.conn.get_ref().set_nodelay(on)
    }

    /// Send one request and read its response.
    pub fn try_call(&mut self, req: &Request) -> Result<Response, NodeError> {
        let frame = encode_request_frame(self.line, req)?;
        self.conn.write_all(&frame)?;
        let msg = self.read_frame()?;
        Ok(decode_response(self.line, &msg)?)
    }

    /// Send one request and read its response; panics on failure.
    pub fn call(&mut self, req: &Request) -> Response {
        self.try_call(req)
            .unwrap_or_else(|e| panic!("a response: {e}"))
    }

    /// Send bytes as they are (inside the SecretConnection).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.conn.write_all(bytes).unwrap();
    }

    fn read_frame(&mut self) -> Result<Vec<u8>, NodeError> {
        let mut buf = [0u8; 16 * 1024];
        loop {
            if let Some(f) = self.frames.pop() {
                return Ok(f);
            }
            match self.conn.read(&mut buf)? {
                0 => return Err(NodeError::Closed),
                n => self.frames.push(&buf[..n])?,
            }
        }
    }

    /// True when the signer closed the connection (EOF or reset) within the read timeout.
    pub fn is_closed(&mut self) -> bool {
        let mut buf = [0u8; 64];
        matches!(self.conn.read(&mut buf), Ok(0))
            || matches!(self.conn.read(&mut buf), Err(e) if e.kind() != io::ErrorKind::WouldBlock && e.kind() != io::ErrorKind::TimedOut)
    }
}

/// A stand-in node on a unix socket (no encryption).
#[derive(Debug)]
pub struct UnixNode {
    stream: UnixStream,
    line: Line,
    frames: FrameDecoder,
}

impl UnixNode {
    pub fn new(stream: UnixStream, line: Line) -> UnixNode {
        UnixNode {
            stream,
            line,
            frames: FrameDecoder::new(MAX_FRAME),
        }
    }

    pub fn call(&mut self, req: &Request) -> Response {
        self.stream
            .write_all(&encode_request_frame(self.line, req).unwrap())
            .unwrap();
        let mut buf = [0u8; 4096];
        loop {
            if let Some(f) = self.frames.pop() {
                return decode_response(self.line, &f).unwrap();
            }
            let n = self.stream.read(&mut buf).unwrap();
            assert!(n > 0, "the signer closed the unix connection");
            self.frames.push(&buf[..n]).unwrap();
        }
    }
}

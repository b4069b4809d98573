//! One node connection: dial, handshake, serve requests, and redial with backoff.
//!
//! Each node has its own thread, so a slow or broken node never holds up another; the
//! only thing shared is the chain's guard, held for one decide-persist-sign at a time.

use crate::chain::{ChainSigner, Outcome};
use crate::config::Addr;
use crate::metrics::{Metrics, NodeLabels};
use crate::shutdown::Shutdown;
use ed25519_dalek::SigningKey;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use privval::transport::{Conn, NoiseConnection, SecretConnection};
use privval::{decode_request, encode_response_frame, FrameDecoder};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(1);
const POLL_SLICE: u16 = 250;

/// What a node session needs.
#[derive(Debug, Clone)]
pub struct NodeSession {
    /// Node name (logs, metrics).
    pub name: String,
    /// Where to dial.
    pub addr: Addr,
    /// The chain it signs for.
    pub chain: Arc<ChainSigner>,
    /// SecretConnection identity.
    pub conn_key: Arc<SigningKey>,
    /// Limit for one request's bytes to arrive and its answer to leave.
    pub request_timeout: Duration,
    /// Drop the connection after this long without a request.
    pub idle_timeout: Duration,
    /// Metrics.
    pub metrics: Metrics,
}

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
enum End {
    #[error("shutting down")]
    Shutdown,
    #[error("{0}")]
    Failed(String),
}

impl NodeSession {
    /// Keep this node connected and served until `shutdown` fires.
    pub fn run(self, shutdown: Shutdown) {
        let labels = NodeLabels {
            chain: self.chain.chain_id().to_string(),
            node: self.name.clone(),
        };
        let connected = self.metrics.connected.get_or_create(&labels).clone();
        let mut backoff = BACKOFF_MIN;
        let mut was_up = true; // log the first failure
        while !shutdown.is_triggered() {
            match self.connect() {
                Ok(conn) => {
                    tracing::info!(chain = %self.chain.chain_id(), node = %self.name, "connected");
                    self.metrics.connections.get_or_create(&labels).inc();
                    connected.set(1);
                    was_up = true;
                    let (result, served) = self.serve(conn, &shutdown);
                    connected.set(0);
                    match result {
                        End::Shutdown => break,
                        End::Failed(why) => {
                            self.metrics.connection_errors.get_or_create(&labels).inc();
                            tracing::warn!(chain = %self.chain.chain_id(), node = %self.name, "connection dropped: {why}; redialing");
                        }
                    }
                    if served > 0 {
                        backoff = BACKOFF_MIN;
                    }
                }
                Err(why) => {
                    self.metrics.connection_errors.get_or_create(&labels).inc();
                    if was_up {
                        tracing::warn!(chain = %self.chain.chain_id(), node = %self.name, "cannot connect: {why}; retrying with backoff");
                    } else {
                        tracing::debug!(chain = %self.chain.chain_id(), node = %self.name, "cannot connect: {why}");
                    }
                    was_up = false;
                }
            }
            if shutdown.sleep(backoff) {
                break;
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
        connected.set(0);
        tracing::info!(chain = %self.chain.chain_id(), node = %self.name, "session stopped");
    }

    fn connect(&self) -> Result<Conn, String> {
        let conn = match &self.addr {
            Addr::Tcp(hostport) => {
                let stream = self.dial(hostport)?;
                let sc = SecretConnection::handshake(stream, &self.conn_key)
                    .map_err(|e| format!("SecretConnection with tcp://{hostport}: {e}"))?;
                Conn::Tcp(Box::new(sc))
            }
            Addr::Noise { peer, hostport } => {
                let node = privval::transport::parse_peer_id(peer)?;
                let stream = self.dial(hostport)?;
                let nc = NoiseConnection::connect(stream, &self.conn_key, &node)
                    .map_err(|e| format!("noise with {hostport}: {e}"))?;
                Conn::Noise(Box::new(nc))
            }
            Addr::Unix(path) => {
                let s = UnixStream::connect(path)
                    .map_err(|e| format!("dial unix://{}: {e}", path.display()))?;
                Conn::Unix(s)
            }
        };
        conn.set_timeouts(Some(self.request_timeout))
            .map_err(|e| e.to_string())?;
        Ok(conn)
    }

    fn dial(&self, hostport: &str) -> Result<TcpStream, String> {
        let addr = hostport
            .to_socket_addrs()
            .map_err(|e| format!("resolve {hostport}: {e}"))?
            .next()
            .ok_or_else(|| format!("{hostport} resolves to no address"))?;
        let stream = TcpStream::connect_timeout(&addr, self.request_timeout)
            .map_err(|e| format!("dial {hostport}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(self.request_timeout))
            .map_err(|e| e.to_string())?;
        stream
            .set_write_timeout(Some(self.request_timeout))
            .map_err(|e| e.to_string())?;
        Ok(stream)
    }

    /// Serve requests until the connection fails, goes idle, or shutdown fires.
    /// Returns why it ended and how many requests were answered.
    fn serve(&self, mut conn: Conn, shutdown: &Shutdown) -> (End, u64) {
        let line = self.chain.line();
        let mut frames = FrameDecoder::for_line(line);
        let mut buf = vec![0u8; 16 * 1024];
        let mut served = 0u64;
        let mut last_request = Instant::now();
        loop {
            while let Some(frame) = frames.pop() {
                let req = match decode_request(line, &frame) {
                    Ok(r) => r,
                    Err(e) => return (End::Failed(format!("undecodable request: {e}")), served),
                };
                let name = req.message_name();
                let (resp, outcome) = self.chain.handle(req);
                if matches!(outcome, Outcome::Refused | Outcome::Error) {
                    tracing::debug!(node = %self.name, request = name, "answered with an error");
                }
                let bytes = match encode_response_frame(line, &resp) {
                    Ok(b) => b,
                    Err(e) => {
                        return (
                            End::Failed(format!("cannot encode {}: {e}", resp.message_name())),
                            served,
                        )
                    }
                };
                if let Err(e) = conn.write_all(&bytes).and_then(|()| conn.flush()) {
                    return (End::Failed(format!("write: {e}")), served);
                }
                served += 1;
                last_request = Instant::now();
            }
            if shutdown.is_triggered() {
                return (End::Shutdown, served);
            }
            if !conn.has_buffered() && !frames.has_partial_frame() {
                match wait_readable(&conn) {
                    Ok(true) => {}
                    Ok(false) => {
                        if last_request.elapsed() >= self.idle_timeout {
                            return (
                                End::Failed(format!("no request for {:?}", self.idle_timeout)),
                                served,
                            );
                        }
                        continue;
                    }
                    Err(e) => return (End::Failed(format!("poll: {e}")), served),
                }
            }
            match conn.read(&mut buf) {
                Ok(0) => return (End::Failed("the node closed the connection".into()), served),
                Ok(n) => {
                    if let Err(e) = frames.push(&buf[..n]) {
                        return (End::Failed(e.to_string()), served);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return (End::Failed(format!("read: {e}")), served),
            }
        }
    }
}

/// Wait up to one poll slice for the connection to become readable.
fn wait_readable(conn: &Conn) -> std::io::Result<bool> {
    let mut fds = [PollFd::new(conn.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::from(POLL_SLICE)) {
        Ok(n) => Ok(n > 0),
        Err(nix::errno::Errno::EINTR) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

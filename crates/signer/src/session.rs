//! One node connection: dial, handshake, serve requests, and redial with backoff.
//!
//! Each node has its own thread, so a slow or broken node never holds up another; the
//! only thing shared is the chain's guard, held for one decide-persist-sign at a time.
//!
//! Liveness: `request_timeout` bounds a whole request, from the first byte of its frame
//! to the last, however the bytes trickle in; the socket's read timeout is only a short
//! slice, so a shutdown is seen within it even in the middle of a frame (requests already
//! received are answered first). A panic while serving ends that connection only: it is
//! logged, counted (`bulwark_signer_session_panics_total`) and the node redialed; see
//! `chain/poison.rs` for a panic while the chain's sign state was held.

mod refusals;
mod serve;
#[cfg(test)]
mod tests;

use crate::chain::ChainSigner;
use crate::config::Addr;
use crate::metrics::{Metrics, NodeLabels};
use crate::shutdown::Shutdown;
use ed25519_dalek::SigningKey;
use privval::transport::{Conn, NoiseConnection, SecretConnection};
use refusals::{Entry, RefusalLog};
use serve::READ_SLICE;
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

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
    /// Limit for one request's frame to arrive, from its first byte to its last, and for
    /// its answer to leave.
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
        let mut refusals = RefusalLog::new(refusals::WINDOW);
        while !shutdown.is_triggered() {
            self.log_refusals(refusals.due(Instant::now()));
            match self.connect() {
                Ok(conn) => {
                    tracing::info!(chain = %self.chain.chain_id(), node = %self.name, "connected");
                    self.metrics.connections.get_or_create(&labels).inc();
                    connected.set(1);
                    was_up = true;
                    let (result, served) =
                        self.serve_catching_panics(conn, &shutdown, &mut refusals, &labels);
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
        self.log_refusals(refusals.finish(Instant::now()));
        tracing::info!(chain = %self.chain.chain_id(), node = %self.name, "session stopped");
    }

    /// [`NodeSession::serve`], with a panic caught, logged and counted: it ends this
    /// connection only (the caller redials with backoff).
    fn serve_catching_panics(
        &self,
        conn: Conn,
        shutdown: &Shutdown,
        refusals: &mut RefusalLog,
        labels: &NodeLabels,
    ) -> (End, u64) {
        // Nothing the closure touches is left half-updated for this thread: the connection
        // is dropped, and the chain's state lock, if held, is poisoned and checked.
        let serve = AssertUnwindSafe(|| self.serve(conn, shutdown, refusals));
        let panic = match std::panic::catch_unwind(serve) {
            Ok(ended) => return ended,
            Err(panic) => panic,
        };
        let msg = panic_message(panic.as_ref());
        self.metrics.session_panics.get_or_create(labels).inc();
        tracing::error!(
            chain = %self.chain.chain_id(),
            node = %self.name,
            "internal error (panic) while serving the node: {msg}; dropping the connection and redialing; please report it"
        );
        if self.chain.is_poisoned() {
            tracing::error!(chain = %self.chain.chain_id(), "{}", self.chain.poisoned_message());
        }
        (End::Failed(format!("panic: {msg}")), 0)
    }

    fn log_refusals(&self, entries: Vec<Entry>) {
        let chain = self.chain.chain_id();
        for e in entries {
            match e {
                Entry::First { reason, text } => {
                    tracing::warn!(%chain, node = %self.name, reason, "refused: {text}");
                }
                Entry::Summary {
                    reason,
                    more,
                    last,
                    over,
                } => tracing::warn!(
                    %chain,
                    node = %self.name,
                    reason,
                    more,
                    "refused {more} more like that in the last {}s (each counted in bulwark_signer_refusals_total); the last: {last}",
                    over.as_secs()
                ),
            }
        }
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
            .and_then(|()| conn.set_read_timeout(Some(READ_SLICE.min(self.request_timeout))))
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
}

/// The text of a panic's payload (`panic!` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

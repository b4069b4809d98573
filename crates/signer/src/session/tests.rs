//! A session over a unix socket with a key backend that panics on demand.

use super::NodeSession;
use crate::chain::ChainSigner;
use crate::config::Addr;
use crate::keys::{KeyBackend, KeyError, SoftKey};
use crate::metrics::{render, Metrics};
use crate::shutdown::Shutdown;
use ed25519_dalek::SigningKey;
use privval::{
    decode_response, encode_request_frame, BlockId, FrameDecoder, Line, PartSetHeader, Request,
    Response, SignedMsgType, Vote,
};
use prometheus_client::registry::Registry;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHAIN: &str = "panic-chain";
const LINE: Line = Line::V0_38;
const WAIT: Duration = Duration::from_secs(10);

/// One-shot panics, and a count of the signatures made.
#[derive(Debug, Default)]
struct Traps {
    on_public_key: AtomicBool,
    on_sign: AtomicBool,
    signed: AtomicU32,
}

#[derive(Debug)]
struct TrapKey {
    key: SoftKey,
    traps: Arc<Traps>,
}

impl KeyBackend for TrapKey {
    fn public_key(&self) -> privval::PublicKey {
        if self.traps.on_public_key.swap(false, Ordering::SeqCst) {
            panic!("test trap in public_key");
        }
        self.key.public_key()
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        if self.traps.on_sign.swap(false, Ordering::SeqCst) {
            panic!("test trap in sign");
        }
        self.traps.signed.fetch_add(1, Ordering::SeqCst);
        self.key.sign(msg)
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    sock: PathBuf,
    listener: Option<UnixListener>,
    registry: Registry,
    traps: Arc<Traps>,
    chain: Arc<ChainSigner>,
    shutdown: Shutdown,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Harness {
    fn start() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("node.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        let state = dir.path().join("s.state");
        let store = guard::StateStore::create(&state, &guard::SignState::initial(CHAIN)).unwrap();
        let mut registry = Registry::default();
        let metrics = Metrics::register(&mut registry);
        let traps = Arc::new(Traps::default());
        let key = TrapKey {
            key: SoftKey::from_signing_key(SigningKey::from_bytes(&[3; 32])),
            traps: traps.clone(),
        };
        let chain = Arc::new(ChainSigner::new(
            CHAIN.into(),
            LINE,
            Box::new(key),
            store,
            guard::Limits::default(),
            false,
            metrics.clone(),
        ));
        let session = NodeSession {
            name: "n0".into(),
            addr: Addr::Unix(sock.clone()),
            chain: chain.clone(),
            conn_key: Arc::new(SigningKey::from_bytes(&[4; 32])),
            request_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
            metrics,
        };
        let shutdown = Shutdown::new();
        let sd = shutdown.clone();
        let thread = std::thread::spawn(move || session.run(sd));
        Harness {
            _dir: dir,
            sock,
            listener: Some(listener),
            registry,
            traps,
            chain,
            shutdown,
            thread: Some(thread),
        }
    }

    fn accept(&self) -> Node {
        let (stream, _) = self.listener.as_ref().unwrap().accept().unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        Node {
            stream,
            frames: FrameDecoder::for_line(LINE),
        }
    }

    /// Stop listening, so the session cannot reconnect until `listen_again`.
    fn stop_listening(&mut self) {
        self.listener = None;
        std::fs::remove_file(&self.sock).unwrap();
    }

    fn listen_again(&mut self) {
        self.listener = Some(UnixListener::bind(&self.sock).unwrap());
    }

    fn metric(&self, name: &str) -> f64 {
        let want = format!("{name}{{chain=\"{CHAIN}\",node=\"n0\"}} ");
        render(&self.registry)
            .lines()
            .find_map(|l| l.strip_prefix(&want).map(|v| v.parse().unwrap()))
            .unwrap_or(f64::NAN)
    }

    fn wait_metric(&self, name: &str, value: f64) {
        let deadline = Instant::now() + WAIT;
        while self.metric(name) != value {
            assert!(
                Instant::now() < deadline,
                "{name} is {}, not {value}",
                self.metric(name)
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.trigger();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Node {
    stream: UnixStream,
    frames: FrameDecoder,
}

impl Node {
    fn send(&mut self, req: &Request) {
        self.stream
            .write_all(&encode_request_frame(LINE, req).unwrap())
            .unwrap();
    }

    /// The answer, or `None` when the signer closed the connection.
    fn answer(&mut self) -> Option<Response> {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(f) = self.frames.pop() {
                return Some(decode_response(LINE, &f).unwrap());
            }
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.frames.push(&buf[..n]).unwrap(),
            }
        }
    }

    fn call(&mut self, req: &Request) -> Option<Response> {
        self.send(req);
        self.answer()
    }
}

fn prevote(height: i64, block: u8) -> Request {
    Request::SignVote {
        chain_id: CHAIN.into(),
        vote: Vote {
            msg_type: SignedMsgType::Prevote,
            height,
            block_id: BlockId {
                hash: vec![block; 32],
                part_set_header: PartSetHeader {
                    total: 1,
                    hash: vec![block; 32],
                },
            },
            validator_address: vec![1; 20],
            ..Vote::default()
        },
        skip_extension_signing: false,
    }
}

fn pubkey() -> Request {
    Request::PubKey {
        chain_id: CHAIN.into(),
    }
}

#[test]
fn a_panic_outside_the_sign_state_drops_the_connection_and_the_session_redials() {
    let mut h = Harness::start();
    let mut n = h.accept();
    assert_eq!(n.call(&Request::Ping), Some(Response::Ping));
    h.wait_metric("bulwark_signer_node_connected", 1.0);

    h.stop_listening();
    h.traps.on_public_key.store(true, Ordering::SeqCst);
    assert_eq!(n.call(&pubkey()), None, "the panic ends the connection");
    h.wait_metric("bulwark_signer_session_panics_total", 1.0);
    h.wait_metric("bulwark_signer_node_connected", 0.0);

    h.listen_again();
    let mut n = h.accept();
    assert!(matches!(n.call(&pubkey()), Some(Response::PubKey { .. })));
    h.wait_metric("bulwark_signer_node_connected", 1.0);
    assert!(!h.chain.is_poisoned(), "the sign state was not held");
    assert!(matches!(
        n.call(&prevote(1, 1)),
        Some(Response::SignedVote { .. })
    ));
    assert_eq!(h.traps.signed.load(Ordering::SeqCst), 1);
}

#[test]
fn a_panic_while_holding_the_sign_state_stops_the_chain_signing_until_restart() {
    let mut h = Harness::start();
    let mut n = h.accept();
    h.stop_listening();
    h.traps.on_sign.store(true, Ordering::SeqCst);
    assert_eq!(
        n.call(&prevote(1, 1)),
        None,
        "the panic ends the connection"
    );
    h.wait_metric("bulwark_signer_session_panics_total", 1.0);
    h.wait_metric("bulwark_signer_node_connected", 0.0);
    assert!(h.chain.is_poisoned());

    h.listen_again();
    let mut n = h.accept();
    h.wait_metric("bulwark_signer_node_connected", 1.0);
    // The same request, then a later one: refused, never signed, and no new panic.
    for req in [prevote(1, 1), prevote(2, 2), prevote(1, 3)] {
        match n.call(&req) {
            Some(Response::Error { error, .. }) => {
                assert_eq!(error.code, crate::chain::codes::INTERNAL);
                assert!(
                    error
                        .description
                        .contains("internal error while holding the sign state")
                        && error.description.contains("stops signing for this chain")
                        && error.description.contains("restart the signer"),
                    "{}",
                    error.description
                );
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    assert_eq!(h.traps.signed.load(Ordering::SeqCst), 0, "nothing signed");
    assert_eq!(h.metric("bulwark_signer_session_panics_total"), 1.0);
    // The connection stays up for pings and the public key; reading the state works.
    assert_eq!(n.call(&Request::Ping), Some(Response::Ping));
    assert!(matches!(n.call(&pubkey()), Some(Response::PubKey { .. })));
    assert_eq!(h.chain.last_signed().height, 0);
}

//! A cosigner process's links: one listener that serves the peers' requests (each link
//! its own [`Session`](crate::serve::Session)), and one dialed link per peer that this
//! cosigner's coordinators use, with its pool of the peer's nonce commitments kept
//! filled off the signing path.

use crate::coordinate::{PeerSet, Reply};
use crate::link::{self, LinkKey, LinkPublic, LinkWriter};
use crate::metrics::{ChainPeerLabels, Metrics, PeerLabels, RefusalLabels};
use crate::nonces::Pool;
use crate::serve::Server;
use crate::wire::{self, Frame, Request, Response, SignRequest};
use frost_ed25519::round1::SigningCommitments;
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Commitments asked for at once.
const BATCH: u16 = 64;
/// Refill a pool when fewer than this many are ready.
const LOW_WATER: usize = 48;
/// How long a dial and handshake may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(3);

/// Another cosigner.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Its share id (the same for every chain).
    pub id: u16,
    /// Its name, for logs and metrics.
    pub name: String,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its pinned link key.
    pub public: LinkPublic,
}

/// What the links need.
#[derive(Debug)]
pub struct Settings {
    /// This cosigner's share id.
    pub id: u16,
    /// Where this cosigner listens for its peers.
    pub listen: SocketAddr,
    /// This cosigner's link key.
    pub key: LinkKey,
    /// The other cosigners.
    pub peers: Vec<Peer>,
    /// The chains to keep nonces ready for.
    pub chains: Vec<String>,
}

/// The running links. Dropping it does not stop them; call [`Cosigner::stop`].
#[derive(Debug)]
pub struct Cosigner {
    links: Arc<Links>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    local: SocketAddr,
}

impl Cosigner {
    /// Bind the listener and start dialing every peer.
    pub fn start(
        settings: Settings,
        server: Arc<Server>,
        metrics: Metrics,
    ) -> std::io::Result<Cosigner> {
        let listener = TcpListener::bind(settings.listen)?;
        let local = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let key = Arc::new(settings.key);
        let links = Arc::new(Links {
            peers: settings
                .peers
                .iter()
                .map(|p| (p.id, PeerLink::new(p.clone())))
                .collect(),
            chains: settings.chains.clone(),
            metrics: metrics.clone(),
        });
        let mut threads = Vec::new();
        {
            let (key, stop, metrics) = (key.clone(), stop.clone(), metrics.clone());
            let peers = settings.peers.clone();
            threads.push(std::thread::spawn(move || {
                listen(listener, &key, &peers, &server, &metrics, &stop)
            }));
        }
        for p in &settings.peers {
            let (links, key, stop) = (links.clone(), key.clone(), stop.clone());
            let id = p.id;
            threads.push(std::thread::spawn(move || links.keep_up(id, &key, &stop)));
        }
        tracing::info!(listen = %local, peers = settings.peers.len(), "cosigner links started");
        Ok(Cosigner {
            links,
            stop,
            threads,
            local,
        })
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The peers, for coordinators.
    pub fn peers(&self) -> Arc<dyn PeerSet> {
        self.links.clone()
    }

    /// Stop listening and dialing, close every link, and wait for the threads.
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        for p in self.links.peers.values() {
            let current = lock(&p.conn).clone();
            if let Some(c) = current {
                p.drop_conn(&self.links.metrics, &c, "shutting down");
            }
        }
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// The dialed links, one per peer.
#[derive(Debug)]
struct Links {
    peers: HashMap<u16, PeerLink>,
    chains: Vec<String>,
    metrics: Metrics,
}

#[derive(Debug)]
struct PeerLink {
    peer: Peer,
    conn: Mutex<Option<Arc<Conn>>>,
    /// Smoothed round trip in microseconds, to order peers fastest first.
    rtt_us: AtomicU64,
}

#[derive(Debug)]
struct Conn {
    writer: Mutex<LinkWriter>,
    pending: Mutex<HashMap<u64, Waiting>>,
    next_id: AtomicU64,
    alive: AtomicBool,
    /// The peer's commitments made for this connection (they die with it).
    pool: Mutex<Pool>,
}

#[derive(Debug)]
enum Waiting {
    Sign(Sender<Reply>, Instant),
    Commit(String),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every value behind these locks is whole after each statement (maps, a writer).
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl PeerLink {
    fn new(peer: Peer) -> PeerLink {
        PeerLink {
            peer,
            conn: Mutex::new(None),
            rtt_us: AtomicU64::new(u64::MAX),
        }
    }

    fn labels(&self) -> PeerLabels {
        PeerLabels {
            peer: self.peer.name.clone(),
        }
    }

    fn conn(&self) -> Option<Arc<Conn>> {
        lock(&self.conn)
            .clone()
            .filter(|c| c.alive.load(Ordering::SeqCst))
    }

    /// Forget the link `which` (when it is still the current one): its nonces died with
    /// it, and every waiting request fails.
    fn drop_conn(&self, metrics: &Metrics, which: &Arc<Conn>, why: &str) {
        {
            let mut current = lock(&self.conn);
            match current.as_ref() {
                Some(c) if Arc::ptr_eq(c, which) => *current = None,
                _ => return,
            }
        }
        let conn = which;
        conn.alive.store(false, Ordering::SeqCst);
        lock(&conn.writer).shutdown();
        lock(&conn.pool).clear();
        for (_, w) in lock(&conn.pending).drain() {
            if let Waiting::Sign(tx, _) = w {
                let _ = tx.send((self.peer.id, Err(format!("link lost: {why}"))));
            }
        }
        metrics.peer_up.get_or_create(&self.labels()).set(0);
        metrics.peers_connected.dec();
        tracing::warn!(peer = %self.peer.name, "link to cosigner down: {why}");
    }

    fn send(&self, conn: &Conn, body: Request, waiting: Waiting) -> Result<(), String> {
        let id = conn.next_id.fetch_add(1, Ordering::SeqCst) + 1;
        lock(&conn.pending).insert(id, waiting);
        let bytes = wire::encode(&Frame { id, body });
        if let Err(e) = lock(&conn.writer).send(&bytes) {
            lock(&conn.pending).remove(&id);
            return Err(e.to_string());
        }
        Ok(())
    }
}

impl Links {
    /// Keep the link to `id` up and its pools filled, until `stop`.
    fn keep_up(self: &Arc<Self>, id: u16, key: &LinkKey, stop: &AtomicBool) {
        let p = &self.peers[&id];
        let mut backoff = Duration::from_millis(100);
        let mut last_error = String::new();
        while !stop.load(Ordering::SeqCst) {
            let Some(conn) = p.conn() else {
                let stale = lock(&p.conn).clone();
                if let Some(c) = stale {
                    p.drop_conn(&self.metrics, &c, "closed");
                }
                match link::dial(p.peer.addr, key, &p.peer.public, DIAL_TIMEOUT) {
                    Ok(l) => {
                        backoff = Duration::from_millis(100);
                        last_error.clear();
                        self.connected(p, l);
                    }
                    Err(e) => {
                        let e = e.to_string();
                        if e != last_error {
                            tracing::warn!(peer = %p.peer.name, addr = %p.peer.addr, "cannot reach cosigner: {e}");
                            last_error = e;
                        }
                        sleep_unless(stop, backoff);
                        backoff = (backoff * 2).min(Duration::from_secs(2));
                    }
                }
                continue;
            };
            self.refill(p, &conn);
            sleep_unless(stop, Duration::from_millis(50));
        }
    }

    fn connected(self: &Arc<Self>, p: &PeerLink, l: link::Link) {
        let (writer, mut reader) = l.split();
        let conn = Arc::new(Conn {
            writer: Mutex::new(writer),
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            alive: AtomicBool::new(true),
            pool: Mutex::new(Pool::default()),
        });
        *lock(&p.conn) = Some(conn.clone());
        self.metrics.peer_up.get_or_create(&p.labels()).set(1);
        self.metrics.peers_connected.inc();
        tracing::info!(peer = %p.peer.name, addr = %p.peer.addr, "link to cosigner up");
        let (links, peer) = (self.clone(), p.peer.id);
        std::thread::spawn(move || loop {
            let failed = match reader.recv() {
                Ok(bytes) => links.answer(peer, &conn, &bytes).err(),
                Err(e) => Some(e.to_string()),
            };
            if let Some(e) = failed {
                links.peers[&peer].drop_conn(&links.metrics, &conn, &e);
                return;
            }
        });
    }

    fn answer(&self, peer: u16, conn: &Conn, bytes: &[u8]) -> Result<(), String> {
        let p = &self.peers[&peer];
        let frame: Frame<Response> = wire::decode(bytes)?;
        let Some(waiting) = lock(&conn.pending).remove(&frame.id) else {
            return Err(format!(
                "an answer to request {} that was never sent",
                frame.id
            ));
        };
        match (waiting, frame.body) {
            (Waiting::Sign(tx, sent), body) => {
                let rtt = sent.elapsed();
                self.metrics
                    .round_trip
                    .get_or_create(&p.labels())
                    .observe(rtt.as_secs_f64());
                let us = u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX);
                let old = p.rtt_us.load(Ordering::Relaxed);
                let new = if old == u64::MAX {
                    us
                } else {
                    (old * 7 + us) / 8
                };
                p.rtt_us.store(new, Ordering::Relaxed);
                let _ = tx.send((peer, Ok(body)));
            }
            (Waiting::Commit(chain), Response::Commitments { chain_id, list })
                if chain == chain_id =>
            {
                let mut pool = lock(&conn.pool);
                pool.add(&chain, list);
                self.nonces_gauge(p, &chain, pool.ready(&chain));
            }
            (Waiting::Commit(chain), Response::Refused { reason, message }) => {
                tracing::warn!(peer = %p.peer.name, %chain, "cosigner refused to make nonces ({reason}): {message}");
                self.metrics
                    .peer_refusals
                    .get_or_create(&RefusalLabels {
                        chain,
                        peer: p.peer.name.clone(),
                        reason,
                    })
                    .inc();
            }
            (Waiting::Commit(_), other) => {
                return Err(format!("a wrong answer to a nonce request: {other:?}"));
            }
        }
        Ok(())
    }

    fn nonces_gauge(&self, p: &PeerLink, chain: &str, n: usize) {
        self.metrics
            .nonces_ready
            .get_or_create(&ChainPeerLabels {
                chain: chain.to_string(),
                peer: p.peer.name.clone(),
            })
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Ask for more commitments for each chain whose pool runs low (one batch in
    /// flight per chain at a time).
    fn refill(&self, p: &PeerLink, conn: &Arc<Conn>) {
        for chain in &self.chains {
            let ready = lock(&conn.pool).ready(chain);
            let asked = lock(&conn.pending)
                .values()
                .any(|w| matches!(w, Waiting::Commit(c) if c == chain));
            if ready < LOW_WATER && !asked {
                let body = Request::Commit {
                    chain_id: chain.clone(),
                    count: BATCH,
                };
                if let Err(e) = p.send(conn, body, Waiting::Commit(chain.clone())) {
                    p.drop_conn(&self.metrics, conn, &e);
                    return;
                }
            }
        }
    }
}

impl PeerSet for Links {
    fn ready(&self) -> Vec<u16> {
        let mut up: Vec<(u64, u16)> = self
            .peers
            .values()
            .filter(|p| p.conn().is_some())
            .map(|p| (p.rtt_us.load(Ordering::Relaxed), p.peer.id))
            .collect();
        up.sort_unstable();
        up.into_iter().map(|(_, id)| id).collect()
    }

    fn take_commitment(&self, peer: u16, chain_id: &str) -> Option<(u64, SigningCommitments)> {
        let p = self.peers.get(&peer)?;
        let conn = p.conn()?;
        let mut pool = lock(&conn.pool);
        let c = pool.take(chain_id);
        self.nonces_gauge(p, chain_id, pool.ready(chain_id));
        c
    }

    fn send(&self, peer: u16, req: SignRequest, reply: Sender<Reply>) {
        let Some(p) = self.peers.get(&peer) else {
            let _ = reply.send((peer, Err("not a configured peer".into())));
            return;
        };
        let Some(conn) = p.conn() else {
            let _ = reply.send((peer, Err("not connected".into())));
            return;
        };
        if let Err(e) = p.send(
            &conn,
            Request::Sign(req),
            Waiting::Sign(reply.clone(), Instant::now()),
        ) {
            let _ = reply.send((peer, Err(format!("sending failed: {e}"))));
            p.drop_conn(&self.metrics, &conn, &e);
        }
    }
}

/// Accept peers' links and serve each on its own thread, until `stop`.
fn listen(
    listener: TcpListener,
    key: &Arc<LinkKey>,
    peers: &[Peer],
    server: &Arc<Server>,
    metrics: &Metrics,
    stop: &Arc<AtomicBool>,
) {
    let allowed: Vec<LinkPublic> = peers.iter().map(|p| p.public).collect();
    while !stop.load(Ordering::SeqCst) {
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                sleep_unless(stop, Duration::from_millis(50));
                continue;
            }
            Err(e) => {
                tracing::warn!("accepting a cosigner link: {e}");
                sleep_unless(stop, Duration::from_millis(200));
                continue;
            }
        };
        let (key, server, metrics, stop) =
            (key.clone(), server.clone(), metrics.clone(), stop.clone());
        let allowed = allowed.clone();
        let peers = peers.to_vec();
        std::thread::spawn(move || {
            let from = stream.peer_addr().ok();
            let (l, who) = match link::accept(stream, &key, &allowed, DIAL_TIMEOUT) {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(from = ?from, "refused a cosigner link: {e}");
                    return;
                }
            };
            let Some(peer) = peers.iter().find(|p| p.public == who) else {
                return;
            };
            serve_link(l, peer, &server, &metrics, &stop);
        });
    }
}

fn serve_link(
    l: link::Link,
    peer: &Peer,
    server: &Arc<Server>,
    metrics: &Metrics,
    stop: &AtomicBool,
) {
    let (mut writer, mut reader) = l.split();
    let _ = reader.set_read_timeout(Some(Duration::from_millis(500)));
    let mut session = server.session(peer.id);
    tracing::info!(peer = %peer.name, "serving cosigner");
    while !stop.load(Ordering::SeqCst) {
        let bytes = match reader.recv() {
            Ok(b) => b,
            Err(e) if e.is_timeout() => continue,
            Err(e) => {
                tracing::info!(peer = %peer.name, "cosigner link closed: {e}");
                return;
            }
        };
        let frame: Frame<Request> = match wire::decode(&bytes) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(peer = %peer.name, "closing the link: {e}");
                return;
            }
        };
        let chain = match &frame.body {
            Request::Sign(s) => Some(s.chain_id.clone()),
            Request::Commit { .. } => None,
        };
        let (answer, refusal) = session.handle(frame);
        match (&refusal, &chain) {
            (Some(r), _) => {
                tracing::warn!(peer = %peer.name, chain = chain.as_deref().unwrap_or(""), reason = r.reason, "refused a share: {}", r.message);
                metrics
                    .refused
                    .get_or_create(&RefusalLabels {
                        chain: chain.clone().unwrap_or_default(),
                        peer: peer.name.clone(),
                        reason: r.reason.to_string(),
                    })
                    .inc();
            }
            (None, Some(c)) => {
                metrics
                    .released
                    .get_or_create(&ChainPeerLabels {
                        chain: c.clone(),
                        peer: peer.name.clone(),
                    })
                    .inc();
            }
            (None, None) => {}
        }
        if let Err(e) = writer.send(&wire::encode(&answer)) {
            tracing::info!(peer = %peer.name, "cosigner link closed: {e}");
            return;
        }
    }
}

fn sleep_unless(stop: &AtomicBool, d: Duration) {
    let end = Instant::now() + d;
    while !stop.load(Ordering::SeqCst) {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

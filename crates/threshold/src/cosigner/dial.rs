//! The dialed link to each peer, used by this cosigner's coordinators: kept up, its pool
//! of the peer's nonce commitments kept filled off the signing path.

use super::{sleep_unless, Peer, DIAL_TIMEOUT};
use crate::coordinate::{PeerSet, Reply};
use crate::link::{self, LinkKey, LinkWriter};
use crate::metrics::{ChainPeerLabels, Metrics, PeerLabels, RefusalLabels};
use crate::nonces::Pool;
use crate::serve::Server;
use crate::wire::{self, Frame, Request, Response, SignRequest};
use frost_ed25519::round1::SigningCommitments;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Commitments asked for at once.
const BATCH: u16 = 64;
/// Refill a pool when fewer than this many are ready.
const LOW_WATER: usize = 48;
/// Ask at least this often, for no nonces when the pool is full, so that the peer's
/// last signed height ([`crate::tips`]) stays fresh while this cosigner is not picked.
const TIP_EVERY: Duration = Duration::from_secs(2);

/// The dialed links, one per peer.
#[derive(Debug)]
pub(super) struct Links {
    peers: HashMap<u16, PeerLink>,
    chains: Vec<String>,
    metrics: Metrics,
    /// This cosigner's chains, where what the peers report of their states goes.
    server: Arc<Server>,
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
    /// When each chain's commitments were last asked for on this connection.
    asked: Mutex<HashMap<String, Instant>>,
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

impl Conn {
    fn new(writer: LinkWriter) -> Conn {
        Conn {
            writer: Mutex::new(writer),
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            alive: AtomicBool::new(true),
            pool: Mutex::new(Pool::default()),
            asked: Mutex::new(HashMap::new()),
        }
    }
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
    /// it (none ready for any of `chains`), and every waiting request fails.
    fn drop_conn(&self, metrics: &Metrics, chains: &[String], which: &Arc<Conn>, why: &str) {
        {
            let mut current = lock(&self.conn);
            match current.as_ref() {
                Some(c) if Arc::ptr_eq(c, which) => {
                    // Under the pool's lock, which a late answer takes to report its
                    // nonces, and before the next link can be installed and report its own.
                    let mut pool = lock(&which.pool);
                    which.alive.store(false, Ordering::SeqCst);
                    pool.clear();
                    for chain in chains {
                        nonces_gauge(metrics, self, chain, 0);
                    }
                    *current = None
                }
                _ => return,
            }
        }
        let conn = which;
        lock(&conn.writer).shutdown();
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
        // The id is taken under the writer's lock, so ids leave in the order they were
        // taken: the peer refuses an id not above the last one it saw as a replay, and a
        // nonce refill racing a sign request would otherwise get the sign request refused.
        let mut writer = lock(&conn.writer);
        let id = conn.next_id.fetch_add(1, Ordering::SeqCst) + 1;
        lock(&conn.pending).insert(id, waiting);
        let bytes = wire::encode(&Frame { id, body });
        if let Err(e) = writer.send(&bytes) {
            drop(writer);
            lock(&conn.pending).remove(&id);
            return Err(e.to_string());
        }
        Ok(())
    }
}

impl Links {
    /// Links to `peers` (not dialed yet), keeping nonces ready for `chains`.
    pub(super) fn new(
        peers: &[Peer],
        chains: &[String],
        metrics: &Metrics,
        server: Arc<Server>,
    ) -> Links {
        Links {
            peers: peers
                .iter()
                .map(|p| (p.id, PeerLink::new(p.clone())))
                .collect(),
            chains: chains.to_vec(),
            metrics: metrics.clone(),
            server,
        }
    }

    /// Close every link.
    pub(super) fn close_all(&self, why: &str) {
        for p in self.peers.values() {
            let current = lock(&p.conn).clone();
            if let Some(c) = current {
                p.drop_conn(&self.metrics, &self.chains, &c, why);
            }
        }
    }

    /// Keep the link to `id` up and its pools filled, until `stop`.
    pub(super) fn keep_up(self: &Arc<Self>, id: u16, key: &LinkKey, stop: &AtomicBool) {
        let p = &self.peers[&id];
        let mut backoff = Duration::from_millis(100);
        let mut last_error = String::new();
        while !stop.load(Ordering::SeqCst) {
            let Some(conn) = p.conn() else {
                let stale = lock(&p.conn).clone();
                if let Some(c) = stale {
                    p.drop_conn(&self.metrics, &self.chains, &c, "closed");
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
        let conn = Arc::new(Conn::new(writer));
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
                links.peers[&peer].drop_conn(&links.metrics, &links.chains, &conn, &e);
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
            (
                Waiting::Commit(chain),
                Response::Commitments {
                    chain_id,
                    list,
                    last_signed,
                },
            ) if chain == chain_id => {
                if let Some(h) = last_signed {
                    self.server.note_tip(&chain, peer, h);
                }
                let mut pool = lock(&conn.pool);
                pool.add(&chain, list);
                // A link already dropped reports nothing: its nonces are gone.
                if conn.alive.load(Ordering::SeqCst) {
                    nonces_gauge(&self.metrics, p, &chain, pool.ready(&chain));
                }
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

    /// Ask for more commitments for each chain whose pool runs low (one batch in
    /// flight per chain at a time).
    fn refill(&self, p: &PeerLink, conn: &Arc<Conn>) {
        for chain in &self.chains {
            let ready = lock(&conn.pool).ready(chain);
            let asked = lock(&conn.pending)
                .values()
                .any(|w| matches!(w, Waiting::Commit(c) if c == chain));
            if asked {
                continue;
            }
            let stale = lock(&conn.asked)
                .get(chain)
                .is_none_or(|at| at.elapsed() >= TIP_EVERY);
            let count = if ready < LOW_WATER {
                BATCH
            } else if stale {
                0
            } else {
                continue;
            };
            lock(&conn.asked).insert(chain.clone(), Instant::now());
            let body = Request::Commit {
                chain_id: chain.clone(),
                count,
            };
            if let Err(e) = p.send(conn, body, Waiting::Commit(chain.clone())) {
                p.drop_conn(&self.metrics, &self.chains, conn, &e);
                return;
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
        nonces_gauge(&self.metrics, p, chain_id, pool.ready(chain_id));
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
            p.drop_conn(&self.metrics, &self.chains, &conn, &e);
        }
    }
}

/// Set `bulwark_threshold_nonces_ready` of `p` for `chain` to `n`.
fn nonces_gauge(metrics: &Metrics, p: &PeerLink, chain: &str, n: usize) {
    metrics
        .nonces_ready
        .get_or_create(&ChainPeerLabels {
            chain: chain.to_string(),
            peer: p.peer.name.clone(),
        })
        .set(i64::try_from(n).unwrap_or(i64::MAX));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::{accept, LinkKey};
    use std::net::TcpListener;

    /// Requests sent from several threads at once on one link reach the peer with ids
    /// in increasing order, as its session requires.
    #[test]
    fn ids_leave_in_order_when_threads_send_at_once() {
        let (mine, theirs) = (LinkKey::generate(), LinkKey::generate());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let allowed = vec![mine.public()];
        let theirs_public = theirs.public();
        const THREADS: usize = 4;
        const EACH: usize = 200;
        let peer = std::thread::spawn(move || {
            let stream = listener.accept().unwrap().0;
            let (l, _) = accept(stream, &theirs, &allowed, DIAL_TIMEOUT).unwrap();
            let (_, mut reader) = l.split();
            let mut last = 0;
            for _ in 0..THREADS * EACH {
                let f: Frame<Request> = wire::decode(&reader.recv().unwrap()).unwrap();
                assert!(f.id > last, "id {} after {last}", f.id);
                last = f.id;
            }
        });
        let l = link::dial(addr, &mine, &theirs_public, DIAL_TIMEOUT).unwrap();
        let (writer, _reader) = l.split();
        let conn = Conn::new(writer);
        let p = PeerLink::new(Peer {
            id: 2,
            name: "cosigner-2".into(),
            addr,
            public: theirs_public,
        });
        std::thread::scope(|s| {
            for _ in 0..THREADS {
                s.spawn(|| {
                    for _ in 0..EACH {
                        let body = Request::Commit {
                            chain_id: "c".into(),
                            count: 1,
                        };
                        p.send(&conn, body, Waiting::Commit("c".into())).unwrap();
                    }
                });
            }
        });
        peer.join().unwrap();
    }
}

//! A cosigner process's links: one listener that serves the peers' requests (each link
//! its own [`Session`](crate::serve::Session)), and one dialed link per peer that this
//! cosigner's coordinators use, with its pool of the peer's nonce commitments kept
//! filled off the signing path.

mod accept;
mod dial;

use crate::coordinate::PeerSet;
use crate::link::{LinkKey, LinkPublic};
use crate::metrics::Metrics;
use crate::serve::Server;
use dial::Links;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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
        let links = Arc::new(Links::new(
            &settings.peers,
            &settings.chains,
            &metrics,
            server.clone(),
        ));
        let mut threads = Vec::new();
        {
            let (key, stop, metrics) = (key.clone(), stop.clone(), metrics.clone());
            let peers = settings.peers.clone();
            threads.push(std::thread::spawn(move || {
                accept::listen(listener, &key, &peers, &server, &metrics, &stop)
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
        self.links.close_all("shutting down");
        for t in self.threads {
            let _ = t.join();
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

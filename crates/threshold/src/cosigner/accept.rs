//! The listener: each peer's link served on its own thread, with its own session.

use super::{sleep_unless, Peer, DIAL_TIMEOUT};
use crate::link::{self, LinkKey, LinkPublic};
use crate::metrics::{ChainPeerLabels, Metrics, RefusalLabels};
use crate::serve::Server;
use crate::wire::{self, Frame, Request};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Accept peers' links and serve each on its own thread, until `stop`.
pub(super) fn listen(
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

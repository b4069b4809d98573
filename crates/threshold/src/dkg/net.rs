//! The links of a DKG run: one per pair of participants, the lower id dialing the
//! higher, each message received by a deadline.

use super::message::Message;
use super::DkgError;
use crate::cosigner::Peer;
use crate::link::{self, LinkError, LinkKey, LinkReader, LinkWriter};
use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// How long one dial and handshake may take before it is tried again.
const DIAL_TRY: Duration = Duration::from_secs(3);
/// Pause between dials to a peer that is not listening yet, and between polls of the
/// listener.
const POLL: Duration = Duration::from_millis(50);

/// The established link to each peer.
pub(crate) struct Links {
    peers: BTreeMap<u16, PeerLink>,
    timeout: Duration,
}

struct PeerLink {
    name: String,
    writer: LinkWriter,
    reader: LinkReader,
}

/// Make a link with every peer within `timeout`: dial each peer with a higher id (again
/// and again while it is not listening yet), and accept the peers with a lower id on
/// `listener`. A handshake that fails on a key (a wrong pinned key on either side)
/// aborts the run.
pub(crate) fn connect(
    listener: &TcpListener,
    me: u16,
    key: &LinkKey,
    peers: &[Peer],
    timeout: Duration,
) -> Result<Links, DkgError> {
    let deadline = Instant::now() + timeout;
    let stop = AtomicBool::new(false);
    let made: Mutex<BTreeMap<u16, link::Link>> = Mutex::new(BTreeMap::new());
    let fail = |e: DkgError| {
        stop.store(true, Ordering::SeqCst);
        e
    };
    let result = std::thread::scope(|s| {
        let dialers: Vec<_> = peers
            .iter()
            .filter(|p| p.id > me)
            .map(|p| {
                let (stop, made) = (&stop, &made);
                s.spawn(move || {
                    let l = dial(p, key, deadline, timeout, stop)?;
                    made.lock().expect("links").insert(p.id, l);
                    Ok::<(), DkgError>(())
                })
            })
            .collect();
        let accepted =
            accept_all(listener, me, key, peers, deadline, timeout, &stop, &made).map_err(fail);
        let mut first = accepted.err();
        for d in dialers {
            if let Err(e) = d.join().expect("a dial thread panicked").map_err(fail) {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    });
    let made = made.into_inner().expect("links");
    let mut links = Links {
        peers: BTreeMap::new(),
        timeout,
    };
    for (id, l) in made {
        let name = peers
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.clone())
            .unwrap_or_default();
        let (writer, reader) = l.split();
        links.peers.insert(
            id,
            PeerLink {
                name,
                writer,
                reader,
            },
        );
    }
    match result {
        Ok(()) => Ok(links),
        Err(e) => {
            links.abort_all(&e.to_string());
            Err(e)
        }
    }
}

/// Dial `peer` until a link is made, the deadline passes or another part of the run
/// failed. Only a refused or failed handshake is final.
fn dial(
    peer: &Peer,
    key: &LinkKey,
    deadline: Instant,
    timeout: Duration,
    stop: &AtomicBool,
) -> Result<link::Link, DkgError> {
    let mut last = None;
    loop {
        if stop.load(Ordering::SeqCst) {
            return Err(DkgError::Stopped);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(DkgError::Unreachable {
                peer: peer.name.clone(),
                addr: peer.addr,
                after: timeout,
                last: last.map_or_else(|| "no answer".to_string(), |e: LinkError| e.to_string()),
            });
        }
        match link::dial(peer.addr, key, &peer.public, left.min(DIAL_TRY)) {
            Ok(l) => return Ok(l),
            Err(e @ (LinkError::Handshake(_) | LinkError::UnknownPeer { .. })) => {
                return Err(DkgError::Link {
                    peer: peer.name.clone(),
                    source: e,
                })
            }
            Err(e) => {
                last = Some(e);
                std::thread::sleep(POLL.min(left));
            }
        }
    }
}

/// Accept a link from every peer with a lower id.
#[allow(clippy::too_many_arguments)]
fn accept_all(
    listener: &TcpListener,
    me: u16,
    key: &LinkKey,
    peers: &[Peer],
    deadline: Instant,
    timeout: Duration,
    stop: &AtomicBool,
    made: &Mutex<BTreeMap<u16, link::Link>>,
) -> Result<(), DkgError> {
    let mut waiting: Vec<&Peer> = peers.iter().filter(|p| p.id < me).collect();
    listener.set_nonblocking(true)?;
    while !waiting.is_empty() {
        if stop.load(Ordering::SeqCst) {
            return Err(DkgError::Stopped);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let names: Vec<&str> = waiting.iter().map(|p| p.name.as_str()).collect();
            return Err(DkgError::NotConnected {
                peers: names.join(", "),
                after: timeout,
            });
        }
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
                std::thread::sleep(POLL.min(left));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let allowed: Vec<_> = waiting.iter().map(|p| p.public).collect();
        match link::accept(stream, key, &allowed, left.min(DIAL_TRY)) {
            Ok((l, remote)) => {
                let at = waiting
                    .iter()
                    .position(|p| p.public == remote)
                    .expect("accepted keys are the waiting peers'");
                let peer = waiting.remove(at);
                made.lock().expect("links").insert(peer.id, l);
            }
            // A connection that went away before saying anything is not a cosigner.
            Err(LinkError::Closed | LinkError::Timeout | LinkError::Io(_)) => {}
            Err(e) => {
                return Err(DkgError::Link {
                    peer: "an incoming connection".into(),
                    source: e,
                })
            }
        }
    }
    Ok(())
}

impl Links {
    /// Send `msg` to `id`.
    pub(crate) fn send(&mut self, id: u16, msg: &Message) -> Result<(), DkgError> {
        let p = self.peers.get_mut(&id).expect("a link per peer");
        let bytes = Zeroizing::new(serde_json::to_vec(msg).expect("messages serialize"));
        p.writer.send(&bytes).map_err(|e| DkgError::Link {
            peer: p.name.clone(),
            source: e,
        })
    }

    /// The ids of the peers.
    pub(crate) fn ids(&self) -> Vec<u16> {
        self.peers.keys().copied().collect()
    }

    /// The name of peer `id`.
    pub(crate) fn name(&self, id: u16) -> String {
        self.peers[&id].name.clone()
    }

    /// Receive the next message from `id` within the run's timeout of `since`; it must
    /// be of kind `expect` and, when `session` is given, carry it. An abort from the peer
    /// is an error naming it.
    pub(crate) fn recv(
        &mut self,
        id: u16,
        expect: &'static str,
        session: Option<&str>,
        since: Instant,
    ) -> Result<Message, DkgError> {
        let timeout = self.timeout;
        let p = self.peers.get_mut(&id).expect("a link per peer");
        let left = (since + timeout).saturating_duration_since(Instant::now());
        let timed_out = || DkgError::Timeout {
            peer: p.name.clone(),
            what: expect,
            after: timeout,
        };
        if left.is_zero() {
            return Err(timed_out());
        }
        p.reader
            .set_read_timeout(Some(left))
            .map_err(|e| DkgError::Link {
                peer: p.name.clone(),
                source: e,
            })?;
        let bytes = Zeroizing::new(match p.reader.recv() {
            Ok(b) => b,
            Err(LinkError::Timeout) => return Err(timed_out()),
            Err(LinkError::Closed) => {
                return Err(DkgError::Closed {
                    peer: p.name.clone(),
                    what: expect,
                })
            }
            Err(e) => {
                return Err(DkgError::Link {
                    peer: p.name.clone(),
                    source: e,
                })
            }
        });
        let msg: Message = serde_json::from_slice(&bytes).map_err(|e| DkgError::Protocol {
            peer: p.name.clone(),
            reason: format!("sent a message that is not a DKG message ({e})"),
        })?;
        if let Message::Abort { reason } = msg {
            return Err(DkgError::Aborted {
                peer: p.name.clone(),
                reason,
            });
        }
        if msg.kind() != expect {
            return Err(DkgError::Protocol {
                peer: p.name.clone(),
                reason: format!("sent a {} where its {expect} was due", msg.kind()),
            });
        }
        if let Some(session) = session {
            if msg.session() != Some(session) {
                return Err(DkgError::Session {
                    peer: p.name.clone(),
                });
            }
        }
        Ok(msg)
    }

    /// Close every link without a word.
    pub(crate) fn close_all(&mut self) {
        for p in self.peers.values_mut() {
            p.writer.shutdown();
        }
    }

    /// Tell every peer the run is off (best effort), and close the links.
    pub(crate) fn abort_all(&mut self, reason: &str) {
        let msg = Message::Abort {
            reason: reason.to_string(),
        };
        let bytes = serde_json::to_vec(&msg).expect("messages serialize");
        for p in self.peers.values_mut() {
            let _ = p.writer.send(&bytes);
            p.writer.shutdown();
        }
    }
}

//! A TCP link to an upstream address that a test can slow down, make lossy, cut and
//! heal: the stand-in for a network path (the kernel here has no `netem`).
//!
//! Delay is added per direction: every chunk read is written on after `delay`, in
//! order, so the round trip through the link grows by twice `delay`. Loss is what TCP
//! makes of it: a lost segment arrives after a retransmission timeout, so a "lost"
//! chunk (probability `loss`) is held back `retransmit` longer, and everything after it
//! waits too.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a link treats what passes through it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shape {
    /// Added to each direction.
    pub delay: Duration,
    /// Probability that a chunk is "lost" and arrives `retransmit` late.
    pub loss: f64,
    /// The retransmission delay of a lost chunk.
    pub retransmit: Duration,
}

impl Shape {
    /// A link adding `rtt` to the round trip (half each way).
    pub fn round_trip(rtt: Duration) -> Shape {
        Shape {
            delay: rtt / 2,
            ..Shape::default()
        }
    }
}

/// A TCP link to `upstream`: [`Link::cut`] shuts every connection through it down and
/// refuses new ones until [`Link::heal`].
#[derive(Debug)]
pub struct Link {
    /// The port to connect to instead of upstream's.
    pub port: u16,
    /// The address it listens on.
    pub addr: SocketAddr,
    cut: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl Link {
    /// A plain link on 127.0.0.1.
    pub fn start(upstream: &str) -> Link {
        Link::shaped("127.0.0.1:0", upstream, Shape::default())
    }

    /// A link listening on `listen` (e.g. `10.77.1.1:0` in a test's own network) to
    /// `upstream`, shaped by `shape`.
    pub fn shaped(listen: &str, upstream: &str, shape: Shape) -> Link {
        let listener = TcpListener::bind(listen).unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let conns = Arc::new(Mutex::new(Vec::<TcpStream>::new()));
        let (c, k, up) = (cut.clone(), conns.clone(), upstream.to_string());
        std::thread::spawn(move || {
            for inbound in listener.incoming() {
                let Ok(inbound) = inbound else { continue };
                if c.load(Ordering::SeqCst) {
                    let _ = inbound.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(outbound) = TcpStream::connect(&up) else {
                    let _ = inbound.shutdown(Shutdown::Both);
                    continue;
                };
                let _ = inbound.set_nodelay(true);
                let _ = outbound.set_nodelay(true);
                let mut list = k.lock().unwrap();
                list.push(inbound.try_clone().unwrap());
                list.push(outbound.try_clone().unwrap());
                for (from, to) in [
                    (inbound.try_clone().unwrap(), outbound.try_clone().unwrap()),
                    (outbound, inbound),
                ] {
                    pipe(from, to, shape);
                }
            }
        });
        Link {
            port: addr.port(),
            addr,
            cut,
            conns,
        }
    }

    /// Shut down every connection and accept no new one (a partition).
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }

    /// Accept connections again.
    pub fn heal(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// Copy `from` to `to`, each chunk delivered `shape.delay` (and maybe a retransmission)
/// after it was read, in order.
fn pipe(mut from: TcpStream, mut to: TcpStream, shape: Shape) {
    if shape.delay.is_zero() && shape.loss == 0.0 {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = to.shutdown(Shutdown::Both);
        });
        return;
    }
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        let mut seed = u64::from(std::process::id()) ^ 0x9e37_79b9_7f4a_7c15;
        let mut last = Instant::now();
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let lost = (seed % 1_000_000) as f64 / 1_000_000.0 < shape.loss;
                    let mut at = Instant::now() + shape.delay;
                    if lost {
                        at += shape.retransmit;
                    }
                    // In order: nothing overtakes a chunk held back before it.
                    at = at.max(last);
                    last = at;
                    if tx.send((at, buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
            }
        }
    });
    std::thread::spawn(move || {
        for (at, bytes) in rx {
            let now = Instant::now();
            if at > now {
                std::thread::sleep(at - now);
            }
            if to.write_all(&bytes).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

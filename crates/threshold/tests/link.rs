//! Cosigner links: round trips, peer checks, tampering, timeouts, key files.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use threshold::link::{accept, dial, Link, LinkError, LinkKey, LinkPublic, MAX_MESSAGE};

const T: Duration = Duration::from_secs(10);

/// What a test listener's `accept` returned.
type Accepted = JoinHandle<Result<(Link, LinkPublic), LinkError>>;

/// A listener that accepts one connection with `key`, admitting `allowed`.
fn listen(key: LinkKey, allowed: Vec<LinkPublic>, timeout: Duration) -> (SocketAddr, Accepted) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let h = thread::spawn(move || accept(l.accept().unwrap().0, &key, &allowed, timeout));
    (addr, h)
}

/// A dialer's link and the listener's, through `via` if given (a proxy to the listener).
fn pair(via: Option<fn(SocketAddr) -> SocketAddr>) -> (Link, Link) {
    let (d, l) = (LinkKey::generate(), LinkKey::generate());
    let lp = l.public();
    let (addr, h) = listen(l, vec![LinkKey::generate().public(), d.public()], T);
    let target = via.map_or(addr, |p| p(addr));
    let dialed = dial(target, &d, &lp, T).unwrap();
    let (accepted, who) = h.join().unwrap().unwrap();
    assert_eq!(who, d.public());
    assert_eq!(accepted.remote(), d.public());
    assert_eq!(dialed.remote(), lp);
    assert_eq!(dialed.peer_addr(), Some(target));
    assert_eq!(accepted.local_addr(), Some(addr));
    if via.is_none() {
        assert_eq!(dialed.local_addr(), accepted.peer_addr());
    }
    assert!(accepted.peer_addr().is_some_and(|a| a.ip().is_loopback()));
    (dialed, accepted)
}

/// `f` on its own thread; panics if it takes longer than `limit`.
fn within<R: Send + 'static>(limit: Duration, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || tx.send(f()));
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("did not finish within {limit:?}"))
}

fn messages(seed: u8) -> Vec<Vec<u8>> {
    let mut out = vec![(0..MAX_MESSAGE)
        .map(|i| (i as u8) ^ seed)
        .collect::<Vec<u8>>()];
    out.push(Vec::new());
    out.push(vec![seed; 70_000]);
    out.extend((0..2000usize).map(|i| vec![seed.wrapping_add(i as u8); i % 97]));
    out
}

#[test]
fn messages_go_both_ways_at_once_on_the_split_halves() {
    let (a, b) = pair(None);
    let (mut aw, mut ar) = a.split();
    let (mut bw, mut br) = b.split();
    ar.set_read_timeout(Some(T)).unwrap();
    br.set_read_timeout(Some(T)).unwrap();
    let threads = [
        thread::spawn(move || messages(1).iter().for_each(|m| aw.send(m).unwrap())),
        thread::spawn(move || messages(2).iter().for_each(|m| bw.send(m).unwrap())),
        thread::spawn(move || {
            messages(2)
                .iter()
                .for_each(|m| assert_eq!(&ar.recv().unwrap(), m))
        }),
        thread::spawn(move || {
            messages(1)
                .iter()
                .for_each(|m| assert_eq!(&br.recv().unwrap(), m))
        }),
    ];
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn a_message_over_the_limit_is_refused_and_the_link_stays_up() {
    let (a, b) = pair(None);
    let (mut aw, _ar) = a.split();
    let (_bw, mut br) = b.split();
    let err = aw.send(&vec![0; MAX_MESSAGE + 1]).unwrap_err();
    assert!(
        matches!(err, LinkError::TooLarge { len } if len == MAX_MESSAGE + 1),
        "{err}"
    );
    aw.send(b"still here").unwrap();
    br.set_read_timeout(Some(T)).unwrap();
    assert_eq!(br.recv().unwrap(), b"still here");
}

#[test]
fn shutdown_of_the_writer_ends_a_blocked_recv_on_both_sides() {
    let (a, b) = pair(None);
    let (aw, mut ar) = a.split();
    let (_bw, mut br) = b.split();
    let blocked = thread::spawn(move || ar.recv());
    aw.shutdown();
    br.set_read_timeout(Some(T)).unwrap();
    assert!(matches!(br.recv(), Err(LinkError::Closed)));
    assert!(matches!(blocked.join().unwrap(), Err(LinkError::Closed)));
}

#[test]
fn an_unknown_dialer_is_refused_by_name_and_told_so() {
    let (d, l) = (LinkKey::generate(), LinkKey::generate());
    let lp = l.public();
    let (addr, h) = listen(l, vec![LinkKey::generate().public()], T);
    let dialed = dial(addr, &d, &lp, T).unwrap_err();
    let refused = h.join().unwrap().unwrap_err();
    assert!(matches!(refused, LinkError::UnknownPeer { key } if key == d.public()));
    let text = refused.to_string();
    assert!(
        text.contains(&d.public().to_string()) && text.contains("peers"),
        "{text}"
    );
    assert!(matches!(dialed, LinkError::Handshake(_)), "{dialed}");
    let text = dialed.to_string();
    assert!(
        text.contains("refused") && text.contains(&d.public().to_string()),
        "{text}"
    );
}

#[test]
fn a_dialer_pinning_the_wrong_listener_key_fails_the_handshake() {
    let (d, l) = (LinkKey::generate(), LinkKey::generate());
    let (addr, h) = listen(l, vec![d.public()], T);
    let dialed = dial(addr, &d, &LinkKey::generate().public(), T).unwrap_err();
    assert!(matches!(dialed, LinkError::Handshake(_)), "{dialed}");
    let accepted = h.join().unwrap().unwrap_err();
    assert!(matches!(accepted, LinkError::Handshake(_)), "{accepted}");
}

#[test]
fn a_replayed_first_handshake_message_does_not_make_a_link() {
    let (d, l) = (LinkKey::generate(), LinkKey::generate());
    let lp = l.public();
    // Record what the dialer sends first, then hang up on it.
    let fake = TcpListener::bind("127.0.0.1:0").unwrap();
    let fake_addr = fake.local_addr().unwrap();
    let recorder = thread::spawn(move || {
        let mut s = fake.accept().unwrap().0;
        read_frame(&mut s).unwrap()
    });
    assert!(dial(fake_addr, &d, &lp, T).is_err());
    let hello = recorder.join().unwrap();
    // Replay it to the real listener, which knows the dialer.
    let (addr, h) = listen(l, vec![d.public()], T);
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(&hello).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let err = within(T * 2, move || h.join().unwrap().map(|_| ())).unwrap_err();
    assert!(matches!(err, LinkError::Handshake(_)), "{err}");
}

#[test]
fn a_silent_dialer_times_out_the_accept() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let _silent = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let stream = l.accept().unwrap().0;
    let key = LinkKey::generate();
    let timeout = Duration::from_millis(300);
    let start = Instant::now();
    let err = within(T, move || accept(stream, &key, &[], timeout).map(|_| ())).unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(start.elapsed() >= timeout);
}

#[test]
fn a_silent_listener_times_out_the_dial() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (key, peer) = (LinkKey::generate(), LinkKey::generate().public());
    let timeout = Duration::from_millis(300);
    let start = Instant::now();
    let err = within(T, move || dial(addr, &key, &peer, timeout).map(|_| ())).unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(start.elapsed() >= timeout);
    drop(l);
}

/// One length-prefixed Noise message, prefix included.
fn read_frame(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut frame = vec![0u8; 2];
    s.read_exact(&mut frame)?;
    let len = usize::from(u16::from_be_bytes([frame[0], frame[1]]));
    frame.resize(2 + len, 0);
    s.read_exact(&mut frame[2..])?;
    Ok(frame)
}

/// What the proxy does to the dialer's Noise messages (0: handshake, 1: confirmation,
/// 2 and on: application messages, one each while they are small).
#[derive(Clone, Copy)]
enum Fault {
    Flip(usize),
    Duplicate(usize),
    Swap(usize),
}

/// A proxy to `upstream` for one connection, with `fault` on the dialer's messages.
fn proxy(upstream: SocketAddr, fault: Fault) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    thread::spawn(move || {
        let mut down = l.accept().unwrap().0;
        let mut up = TcpStream::connect(upstream).unwrap();
        let (mut up_r, mut down_w) = (up.try_clone().unwrap(), down.try_clone().unwrap());
        thread::spawn(move || {
            let _ = std::io::copy(&mut up_r, &mut down_w);
            let _ = down_w.shutdown(Shutdown::Both);
        });
        let mut held = None;
        let mut i = 0;
        while let Ok(mut frame) = read_frame(&mut down) {
            let mut out = Vec::new();
            match fault {
                Fault::Flip(n) if n == i => {
                    frame[5] ^= 0x20;
                    out.push(frame);
                }
                Fault::Duplicate(n) if n == i => out.extend([frame.clone(), frame]),
                Fault::Swap(n) if n == i => held = Some(frame),
                Fault::Swap(n) if n + 1 == i => out.extend([frame, held.take().unwrap()]),
                _ => out.push(frame),
            }
            if out.iter().any(|f| up.write_all(f).is_err()) {
                break;
            }
            i += 1;
        }
        let _ = up.shutdown(Shutdown::Both);
    });
    addr
}

/// The listener gets `Decrypt` at its `nth` message, and then the link is closed on
/// both sides.
fn assert_refused_and_closed(fault: fn(SocketAddr) -> SocketAddr, nth: usize) {
    let (a, b) = pair(Some(fault));
    let (mut aw, mut ar) = a.split();
    let (mut bw, mut br) = b.split();
    ar.set_read_timeout(Some(T)).unwrap();
    br.set_read_timeout(Some(T)).unwrap();
    aw.send(b"one").unwrap();
    aw.send(b"two").unwrap();
    for _ in 0..nth {
        assert_eq!(br.recv().unwrap(), b"one");
    }
    let err = br.recv().unwrap_err();
    assert!(matches!(err, LinkError::Decrypt), "{err}");
    assert!(matches!(br.recv(), Err(LinkError::Closed)));
    assert!(matches!(bw.send(b"x"), Err(LinkError::Closed)));
    let err = ar.recv().unwrap_err();
    assert!(matches!(err, LinkError::Closed), "{err}");
}

#[test]
fn a_flipped_byte_in_a_transport_message_is_refused_and_closes_the_link() {
    assert_refused_and_closed(|a| proxy(a, Fault::Flip(2)), 0);
}

#[test]
fn a_replayed_transport_message_is_refused_and_closes_the_link() {
    assert_refused_and_closed(|a| proxy(a, Fault::Duplicate(2)), 1);
}

#[test]
fn reordered_transport_messages_are_refused_and_close_the_link() {
    assert_refused_and_closed(|a| proxy(a, Fault::Swap(2)), 0);
}

#[test]
fn a_key_file_is_written_private_once_and_loads_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("link.key");
    let key = LinkKey::generate();
    key.write_new(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(LinkKey::load(&path).unwrap().public(), key.public());
    let err = LinkKey::generate().write_new(&path).unwrap_err();
    assert!(matches!(err, LinkError::KeyFile { .. }), "{err}");
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(LinkKey::load(&path).unwrap().public(), key.public());
    let secret = std::fs::read_to_string(&path).unwrap();
    let shown = format!("{key:?}");
    assert!(
        shown.contains("<redacted>") && !shown.contains(secret.trim()),
        "{shown}"
    );
}

#[test]
fn a_key_file_others_can_read_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("link.key");
    LinkKey::generate().write_new(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = LinkKey::load(&path).unwrap_err();
    assert!(
        matches!(err, LinkError::LoosePermissions { mode: 0o644, .. }),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&format!("chmod 600 {}", path.display())),
        "{text}"
    );
}

#[test]
fn garbage_in_a_key_file_gives_a_clear_error_without_the_contents() {
    let dir = tempfile::tempdir().unwrap();
    let almost = format!("{}!", "Q".repeat(43));
    let long = "A".repeat(44);
    let cases: [(&[u8], &str); 5] = [
        (b"", "is empty"),
        (b"\xff\xfe not text", "is not text"),
        (b"c2hvcnQ=", "holds 8 characters"),
        (almost.as_bytes(), "is not standard base64"),
        (long.as_bytes(), "decodes to 33 bytes"),
    ];
    for (i, (contents, expected)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.key"));
        std::fs::write(&path, contents).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = LinkKey::load(&path).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, LinkError::KeyFile { .. }), "{text}");
        assert!(
            text.contains(expected) && text.contains("32-byte X25519 secret"),
            "{text}"
        );
        assert!(contents.len() < 8 || !text.contains(&*String::from_utf8_lossy(contents)));
    }
    let missing = LinkKey::load(&dir.path().join("none.key")).unwrap_err();
    assert!(missing.to_string().contains("none.key"), "{missing}");
}

#[test]
fn a_public_key_reads_back_from_text_and_serde() {
    let key = LinkKey::generate().public();
    let text = key.to_string();
    assert_eq!(text.len(), 44);
    assert_eq!(text.parse::<LinkPublic>().unwrap(), key);
    let json = serde_json::to_string(&key).unwrap();
    assert_eq!(json, format!("\"{text}\""));
    assert_eq!(serde_json::from_str::<LinkPublic>(&json).unwrap(), key);
}

#[test]
fn a_bad_public_key_says_what_is_wrong() {
    let short = "abc".parse::<LinkPublic>().unwrap_err().to_string();
    assert!(
        short.contains("3 characters") && short.contains("44 characters"),
        "{short}"
    );
    let not_b64 = "!"
        .repeat(44)
        .parse::<LinkPublic>()
        .unwrap_err()
        .to_string();
    assert!(not_b64.contains("not standard base64"), "{not_b64}");
    let long = "A"
        .repeat(44)
        .parse::<LinkPublic>()
        .unwrap_err()
        .to_string();
    assert!(long.contains("decodes to 33 bytes"), "{long}");
    let serde = serde_json::from_str::<LinkPublic>("\"abc\"")
        .unwrap_err()
        .to_string();
    assert!(serde.contains("3 characters"), "{serde}");
}

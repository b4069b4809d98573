//! `bulwark signer run` against nodes that send their requests too slowly: a frame must
//! arrive whole within `request_timeout` of its first byte, the other nodes are served
//! meanwhile, and SIGTERM in the middle of a frame ends the signer promptly.

mod common;

use common::*;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use privval::{encode_request_frame, Line, Request, Response};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};
use testkit::node::*;
use testkit::trickle::*;
use testkit::votes::prevote;

const CHAIN: &str = "live-chain-1";
const LINE: Line = Line::V0_38;
const WAIT: Duration = Duration::from_secs(10);

enum Listener {
    Unix(UnixListener, std::path::PathBuf),
    Tcp(FakeNode),
}

impl Listener {
    fn addr(&self) -> String {
        match self {
            Listener::Unix(_, p) => format!("unix://{}", p.display()),
            Listener::Tcp(n) => format!("tcp://127.0.0.1:{}", n.port),
        }
    }

    fn accept(&self) -> Trickler {
        match self {
            Listener::Unix(l, _) => Trickler::accept_unix(l),
            Listener::Tcp(n) => Trickler::accept_tcp(n, WAIT),
        }
    }
}

struct Setup {
    _tmp: tempfile::TempDir,
    key: VerifyingKey,
    nodes: Vec<Listener>,
    signer: SignerProc,
}

fn start(tcp: bool, nodes: usize, request_timeout: Duration) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let (key_path, key) = write_key(tmp.path());
    let state = tmp.path().join("s.state");
    bulwark().state_init(CHAIN, 0, &state);
    let nodes: Vec<Listener> = (0..nodes)
        .map(|i| {
            if tcp {
                Listener::Tcp(FakeNode::listen())
            } else {
                let p = tmp.path().join(format!("node{i}.sock"));
                Listener::Unix(UnixListener::bind(&p).unwrap(), p)
            }
        })
        .collect();
    let addrs: Vec<String> = nodes.iter().map(Listener::addr).collect();
    let config = write_config_addrs(
        tmp.path(),
        CHAIN,
        &key_path,
        &state,
        &addrs,
        |c| c.request_timeout = request_timeout,
        None,
    );
    let signer = bulwark().signer(&config);
    Setup {
        _tmp: tmp,
        key: key.verifying_key(),
        nodes,
        signer,
    }
}

fn check_signed(key: &VerifyingKey, r: Response) {
    let Response::SignedVote { vote } = r else {
        panic!("expected a signed vote, got {r:?}")
    };
    let sig = Signature::from_slice(&vote.signature).unwrap();
    key.verify(&privval::vote_sign_bytes(CHAIN, &vote), &sig)
        .expect("the signature verifies");
}

fn sigterm(p: &SignerProc) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(p.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
}

/// node0 trickles a frame, a piece every ~400 ms (longer than the signer's 250 ms read
/// slice, far shorter than its 2 s request_timeout); node1 signs meanwhile.
fn a_trickled_frame_is_dropped_within_request_timeout(tcp: bool, cut: Cut) {
    let s = start(tcp, 2, Duration::from_secs(2));
    let mut slow = s.nodes[0].accept();
    let mut ok = s.nodes[1].accept();
    assert_eq!(ok.call(LINE, &Request::Ping), Response::Ping);
    let frame = encode_request_frame(LINE, &prevote(CHAIN, 1, 1, 0)).unwrap();
    let pieces = slow.pieces(&frame, cut);
    let t0 = Instant::now();
    let mut sent = 0;
    let mut height = 1;
    let dropped_after = loop {
        if slow.write(&pieces[sent]).is_err() {
            break t0.elapsed();
        }
        sent += 1;
        assert!(sent < pieces.len(), "the frame was completed");
        let t = Instant::now();
        check_signed(&s.key, ok.call(LINE, &prevote(CHAIN, height, 2, 0)));
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "node1 waited {:?}",
            t.elapsed()
        );
        height += 1;
        if slow.is_closed(Duration::from_millis(400)) {
            break t0.elapsed();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(2 + 3),
            "a node trickling one frame is still connected after {:?} with request_timeout 2s\n{}",
            t0.elapsed(),
            s.signer.log_text()
        );
    };
    assert!(
        dropped_after >= Duration::from_millis(1500),
        "dropped after {dropped_after:?}, before request_timeout"
    );
    // The session logs why it ended once the connection is closed: the line may follow
    // the close the test saw by a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !s
        .signer
        .log_text()
        .contains("still incomplete (request_timeout = 2s)")
    {
        assert!(Instant::now() < deadline, "{}", s.signer.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    // node0's session redials and is served.
    let mut again = s.nodes[0].accept();
    assert_eq!(again.call(LINE, &Request::Ping), Response::Ping);
}

#[test]
fn a_trickled_frame_is_dropped_within_request_timeout_over_unix() {
    a_trickled_frame_is_dropped_within_request_timeout(false, Cut::FrameBytes);
}

#[test]
fn a_trickled_frame_is_dropped_within_request_timeout_over_tcp_byte_per_sealed_frame() {
    a_trickled_frame_is_dropped_within_request_timeout(true, Cut::FrameBytes);
}

#[test]
fn a_trickled_frame_is_dropped_within_request_timeout_over_tcp_inside_a_sealed_frame() {
    a_trickled_frame_is_dropped_within_request_timeout(true, Cut::SealedBytes);
}

#[test]
fn a_frame_in_slow_parts_within_request_timeout_is_answered() {
    for tcp in [false, true] {
        let s = start(tcp, 1, Duration::from_secs(3));
        let mut node = s.nodes[0].accept();
        let frame = encode_request_frame(LINE, &prevote(CHAIN, 1, 1, 0)).unwrap();
        // Over tcp, the sealed frame itself arrives in four parts, each after a pause
        // longer than the signer's read slice: its partial reads must not lose bytes.
        let pieces = node.pieces(&frame, Cut::SealedBytes).concat();
        for part in pieces.chunks(pieces.len().div_ceil(4)) {
            node.write(part).unwrap();
            std::thread::sleep(Duration::from_millis(400));
        }
        check_signed(&s.key, node.response(LINE));
        check_signed(&s.key, node.call(LINE, &prevote(CHAIN, 2, 1, 0)));
    }
}

#[test]
fn sigterm_in_the_middle_of_a_frame_exits_promptly() {
    for tcp in [false, true] {
        let mut s = start(tcp, 1, Duration::from_secs(60));
        let mut node = s.nodes[0].accept();
        check_signed(&s.key, node.call(LINE, &prevote(CHAIN, 1, 1, 0)));
        let frame = encode_request_frame(LINE, &prevote(CHAIN, 2, 1, 0)).unwrap();
        for p in &node.pieces(&frame, Cut::SealedBytes)[..3] {
            node.write(p).unwrap();
        }
        std::thread::sleep(Duration::from_millis(300));
        let t = Instant::now();
        sigterm(&s.signer);
        assert_eq!(
            s.signer.wait_exit(Duration::from_secs(3)),
            Some(0),
            "tcp={tcp}: no clean exit within 3 s of SIGTERM\n{}",
            s.signer.log_text()
        );
        assert!(t.elapsed() < Duration::from_secs(3));
        assert!(node.is_closed(Duration::from_secs(1)));
    }
}

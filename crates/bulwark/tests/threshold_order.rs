//! The order of a real threshold cosigner's system calls, seen with strace: a cosigner
//! makes its record of a share durable before the share leaves on the link, and a
//! coordinator makes its own record durable before the signature goes back to the node.
//!
//! The cosigner under trace is cosigner 1 of a 2-of-3 key. In the first test this test
//! is cosigner 2: it dials cosigner 1's listener with cosigner 2's pinned link key, asks
//! for nonces, then for shares at new heights (and again for ones it already asked
//! for), and combines each share with its own into a signature that must verify under
//! the validator's key. In the second test cosigner 2 is a real `bulwark signer run` and
//! cosigner 1, traced, coordinates the requests of its node.
//!
//! How the sockets are told apart: strace runs with `-yy`, which prints every descriptor
//! argument with its socket's endpoints, local first
//! (`11<TCP:[127.0.0.1:41544->127.0.0.1:38619]>`). The test's link to cosigner 1 is the
//! socket `accept` returned on cosigner 1's listening port for the test's own dialing
//! port, so its endpoints are those two ports (`testkit::strace::accepted`); other
//! dialers reaching that port (another test's cosigner on this machine, whose peer's
//! port happened to be this one) are other sockets and do not count. The node's socket
//! is the one cosigner 1 connected to the node's port (`testkit::strace::dialed`).
//! Cosigner 1's own dialed links to its peers match neither. The link sends each answer
//! with one `write`, after reading its request, and this test waits for each answer
//! before it asks again, so the last answers in the trace are the test's requests, in
//! order.
//!
//! Needs the Debian package strace (scripts/install-deps) and ptrace.

mod common;

use common::*;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use frost_ed25519::rand_core::OsRng;
use frost_ed25519::{round1, round2, Identifier, SigningPackage};
use privval::{Line, SignedMsgType};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use testkit::node::FakeNode;
use testkit::strace::{accepted, dialed, events, replies, Event, Reply, Traced};
use testkit::votes::{block, prevote, signed_vote, vote_at};
use threshold::link::{self, LinkKey, LinkReader, LinkWriter};
use threshold::share::Share;
use threshold::wire::{self, Frame, Job, Package, Part, Request, Response, SignRequest};

const CHAIN: &str = "threshold-order-1";
const WAIT: Duration = Duration::from_secs(20);

/// Three cosigner configs of a 2-of-3 split, each with its own fake node.
struct Setup {
    _tmp: tempfile::TempDir,
    configs: Vec<PathBuf>,
    nodes: Vec<FakeNode>,
    key: VerifyingKey,
}

impl Setup {
    fn new() -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        // The path strace prints is the resolved one.
        let dir = std::fs::canonicalize(tmp.path()).unwrap();
        let (key_path, secret) = write_key(&dir);
        let nodes: Vec<FakeNode> = (0..3).map(|_| FakeNode::listen()).collect();
        let addrs: Vec<Vec<String>> = nodes
            .iter()
            .map(|n| vec![format!("tcp://127.0.0.1:{}", n.port)])
            .collect();
        let configs = cosigner_configs(&dir, CHAIN, "v0.38", &key_path, 2, &addrs, |s| {
            bulwark().state_init(CHAIN, 0, s)
        });
        Setup {
            _tmp: tmp,
            configs,
            nodes,
            key: secret.verifying_key(),
        }
    }

    /// Cosigner `i`'s (1-based) home directory.
    fn home(&self, i: usize) -> &Path {
        self.configs[i - 1].parent().unwrap()
    }

    fn state(&self, i: usize) -> PathBuf {
        signer::config::Config::load(&self.configs[i - 1])
            .unwrap()
            .chains[0]
            .state
            .clone()
    }

    fn listen(&self, i: usize) -> SocketAddr {
        let c = signer::config::Config::load(&self.configs[i - 1]).unwrap();
        c.threshold.unwrap().listen
    }
}

/// Cosigner 2, played by the test: its share, and its link to cosigner 1.
struct Peer {
    share: Share,
    writer: LinkWriter,
    reader: LinkReader,
    /// The port this link was dialed from.
    port: u16,
    next_id: u64,
    /// Cosigner 1's nonces made for this link, not used yet.
    nonces: Vec<(u64, round1::SigningCommitments)>,
}

impl Peer {
    /// Dial cosigner 1 as cosigner 2 (retrying until it listens); `log` is its log.
    fn dial(s: &Setup, log: &dyn Fn() -> String) -> Peer {
        let share = Share::load(&s.home(2).join("share.json")).unwrap();
        let key = LinkKey::load(&s.home(2).join("link.key")).unwrap();
        let theirs = LinkKey::load(&s.home(1).join("link.key")).unwrap().public();
        let deadline = Instant::now() + WAIT;
        let l = loop {
            match link::dial(s.listen(1), &key, &theirs, Duration::from_secs(3)) {
                Ok(l) => break l,
                Err(e) => {
                    assert!(
                        Instant::now() < deadline,
                        "cosigner 1 never answered: {e}\n{}",
                        log()
                    );
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        };
        let port = l.local_addr().expect("a local address").port();
        let (writer, reader) = l.split();
        Peer {
            share,
            writer,
            reader,
            port,
            next_id: 0,
            nonces: Vec::new(),
        }
    }

    fn call(&mut self, body: Request) -> Response {
        self.next_id += 1;
        let id = self.next_id;
        self.writer
            .send(&wire::encode(&Frame { id, body }))
            .unwrap();
        let answer: Frame<Response> = wire::decode(&self.reader.recv().unwrap()).unwrap();
        assert_eq!(answer.id, id);
        answer.body
    }

    /// Ask cosigner 1 for `count` nonces, replacing any left.
    fn commit(&mut self, count: u16) {
        match self.call(Request::Commit {
            chain_id: CHAIN.into(),
            count,
        }) {
            // Popped from the end: oldest first.
            Response::Commitments { list, .. } => self.nonces = list.into_iter().rev().collect(),
            other => panic!("no nonces: {other:?}"),
        }
    }

    /// Ask cosigner 1 for its share over `sign_bytes`; with it, the signature made with
    /// this test's own share, or the refusal's reason.
    fn sign(&mut self, sign_bytes: &[u8]) -> Result<Signature, String> {
        let (nonce, theirs) = self.nonces.pop().expect("nonces left");
        let kp = self.share.key_package().clone();
        let (mine_nonces, mine) = round1::commit(kp.signing_share(), &mut OsRng);
        let group_key = hex::encode(kp.verifying_key().serialize().unwrap());
        let answer = self.call(Request::Sign(SignRequest {
            chain_id: CHAIN.into(),
            group_key,
            job: Job::Consensus {
                sign_bytes: sign_bytes.to_vec(),
                extension: None,
            },
            packages: vec![Package {
                part: Part::Main,
                nonce,
                commitments: vec![(1, theirs), (2, mine)],
            }],
            last_signed: None,
        }));
        let theirs_share = match answer {
            Response::Shares { shares } => shares[0],
            Response::Refused { reason, .. } => return Err(reason),
            other => panic!("unexpected {other:?}"),
        };
        let one = Identifier::try_from(1u16).unwrap();
        let package = SigningPackage::new(
            BTreeMap::from([(one, theirs), (*kp.identifier(), mine)]),
            sign_bytes,
        );
        let my_share = round2::sign(&package, &mine_nonces, &kp).unwrap();
        let shares = BTreeMap::from([(one, theirs_share), (*kp.identifier(), my_share)]);
        let sig =
            frost_ed25519::aggregate(&package, &shares, self.share.public_key_package()).unwrap();
        Ok(Signature::from_slice(&sig.serialize().unwrap()).unwrap())
    }
}

/// What each request should have left in the state file before its answer: a new
/// record, durable, or nothing.
fn expect(new: bool) -> Reply {
    if new {
        Reply::NEW_RECORD
    } else {
        Reply::NO_RECORD
    }
}

fn assert_in_order(seen: &[Reply], new_record: &[bool], trace: &str) {
    for (i, (seen, new)) in seen.iter().zip(new_record).enumerate() {
        assert_eq!(
            *seen,
            expect(*new),
            "request {i}: new record {new}; the state file before the answer left: {seen:?}\n{}",
            trace
                .lines()
                .filter(|l| l.contains("sign.state") || l.contains("TCP:"))
                .take(400)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[test]
fn a_cosigner_makes_each_share_record_durable_before_the_share_leaves() {
    let s = Setup::new();
    let cosigner = Traced::start(&bulwark(), &s.configs[0], &[]);
    let mut peer = Peer::dial(&s, &|| cosigner.log_text());
    peer.commit(64);
    // New heights; now and then the same request again (another share over the same
    // data, no new record) and a conflicting one at the same step (refused, nothing
    // recorded, no share).
    let mut new_record = Vec::new();
    for height in 1..=24 {
        let vote = vote_at(SignedMsgType::Prevote, height, 0, Some(block(1)), 0);
        let bytes = privval::vote_sign_bytes(CHAIN, &vote);
        let sig = peer
            .sign(&bytes)
            .unwrap_or_else(|r| panic!("height {height}: refused ({r})\n{}", cosigner.log_text()));
        s.key
            .verify(&bytes, &sig)
            .unwrap_or_else(|e| panic!("height {height}: {e}"));
        new_record.push(true);
        if height % 3 == 0 {
            assert!(peer.sign(&bytes).is_ok(), "the same data again");
            new_record.push(false);
            let other = vote_at(SignedMsgType::Prevote, height, 0, Some(block(2)), 0);
            let refused = peer.sign(&privval::vote_sign_bytes(CHAIN, &other));
            assert_eq!(refused.err().as_deref(), Some("conflicting_data"));
            new_record.push(false);
        }
    }
    let state = s.state(1);
    let trace = cosigner.finish();
    let events = events(&trace, &state, &accepted(s.listen(1).port(), peer.port));
    assert_in_order(&replies(&events, new_record.len()), &new_record, &trace);
    let writes = events.iter().filter(|e| **e == Event::StateWritten).count();
    assert_eq!(writes, 24, "one state write per new share record");
    assert_eq!(bulwark().state_show(&state)["height"], 24);
}

#[test]
fn a_coordinator_makes_its_record_durable_before_the_signature_goes_back() {
    let s = Setup::new();
    let _peer = bulwark().signer(&s.configs[1]);
    let coordinator = Traced::start(&bulwark(), &s.configs[0], &[]);
    let mut node = s.nodes[0].accept(Line::V0_38, WAIT);
    // Height 1 until the links are up and the peer's nonces are in.
    let deadline = Instant::now() + WAIT;
    while !matches!(
        node.call(&prevote(CHAIN, 1, 1, 0)),
        privval::Response::SignedVote { .. }
    ) {
        assert!(
            Instant::now() < deadline,
            "never signed:\n{}",
            coordinator.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // New heights, each now and then followed by the same request again and by a
    // re-stamped one (the stored signature back, no new record).
    let mut new_record = Vec::new();
    for height in 2..=21 {
        let vote = signed_vote(node.call(&prevote(CHAIN, height, 1, 0)));
        let sig = Signature::from_slice(&vote.signature).unwrap();
        s.key
            .verify(&privval::vote_sign_bytes(CHAIN, &vote), &sig)
            .unwrap_or_else(|e| panic!("height {height}: {e}"));
        new_record.push(true);
        if height % 3 == 0 {
            for at in [0, 9] {
                let again = signed_vote(node.call(&prevote(CHAIN, height, 1, at)));
                assert_eq!(again.signature, vote.signature);
                new_record.push(false);
            }
        }
    }
    drop(node);
    let state = s.state(1);
    let trace = coordinator.finish();
    let events = events(&trace, &state, &dialed(s.nodes[0].port));
    assert_in_order(&replies(&events, new_record.len()), &new_record, &trace);
    assert_eq!(bulwark().state_show(&state)["height"], 21);
}

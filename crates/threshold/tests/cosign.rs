//! Coordinators and cosigners wired together in memory (no sockets): real FROST, real
//! guard rules, real Ed25519 verification. The links are tested on their own in
//! `link.rs`; the whole signer on real CometBFT in the binary's tests.

use ed25519_dalek::{Signature, VerifyingKey};
use frost_ed25519::keys::{self, IdentifierList, KeyPackage, PublicKeyPackage};
use frost_ed25519::round1::SigningCommitments;
use guard::{Decision, Limits, SignState};
use privval::{BlockId, PartSetHeader, SignedMsgType, Timestamp, Vote};
use proptest::prelude::*;
use std::collections::HashMap;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use threshold::coordinate::{CoordError, Coordinator, PeerSet, Reply};
use threshold::nonces::Pool;
use threshold::serve::{Refusal, ServedChain, Server, Session, ShareGuard};
use threshold::wire::{Frame, Job, Request, Response, SignRequest};

const CHAIN: &str = "cosign-test";

/// A cosigner's guard over an in-memory sign state (the durable store is tested in the
/// guard crate; what matters here is the rule each cosigner applies).
#[derive(Debug)]
struct MemGuard {
    state: Mutex<SignState>,
}

impl MemGuard {
    fn new() -> Arc<MemGuard> {
        Arc::new(MemGuard {
            state: Mutex::new(SignState::initial(CHAIN)),
        })
    }

    /// The coordinator's own decision, recorded as a share record.
    fn own(&self, job: &Job) -> bool {
        self.approve(job).is_ok()
    }
}

impl ShareGuard for MemGuard {
    fn approve(&self, job: &Job) -> Result<(), Refusal> {
        let Job::Consensus { sign_bytes, .. } = job else {
            return Err(Refusal::new("sign_bytes_disabled", "raw bytes off"));
        };
        let parsed = privval::read_consensus_sign_bytes(sign_bytes)
            .map_err(|e| Refusal::new("malformed", e.to_string()))?;
        let req = guard::Request {
            chain_id: &parsed.chain_id,
            hrs: parsed.hrs,
            sign_bytes,
            unstamped: &parsed.unstamped,
        };
        let mut state = self.state.lock().unwrap();
        match guard::decide_share(&state, &Limits::default(), &req) {
            Decision::Sign(permit) => {
                *state = permit.into_state(Vec::new());
                Ok(())
            }
            Decision::ReturnStored { .. } => Ok(()),
            Decision::Refuse(r) => Err(Refusal::new(r.code(), r.to_string())),
        }
    }
}

/// One cosigner: its share, guard and server.
struct Node {
    key: KeyPackage,
    guard: Arc<MemGuard>,
    server: Arc<Server>,
}

/// The links of one coordinator, in memory.
#[derive(Debug)]
struct MemPeers {
    sessions: HashMap<u16, Mutex<(Session, Pool, u64)>>,
    down: Mutex<Vec<u16>>,
    /// Every peer commitment named in a package sent, to catch a nonce used twice.
    used: Mutex<std::collections::HashSet<Vec<u8>>>,
}

impl MemPeers {
    fn refill(&self, peer: u16, n: u16) {
        let mut s = self.sessions[&peer].lock().unwrap();
        let (session, pool, id) = &mut *s;
        *id += 1;
        let (resp, _) = session.handle(Frame {
            id: *id,
            body: Request::Commit {
                chain_id: CHAIN.into(),
                count: n,
            },
        });
        let Response::Commitments { list, .. } = resp.body else {
            panic!("no commitments: {:?}", resp.body)
        };
        pool.add(CHAIN, list);
    }

    /// Send a raw request, as a hostile or buggy coordinator could.
    fn raw(&self, peer: u16, id: Option<u64>, body: Request) -> Response {
        let mut s = self.sessions[&peer].lock().unwrap();
        let (session, _, next) = &mut *s;
        let id = id.unwrap_or_else(|| {
            *next += 1;
            *next
        });
        session.handle(Frame { id, body }).0.body
    }
}

impl MemPeers {
    /// `peer` restarted: the sessions with it, and every nonce in them, are gone.
    fn restart(&self, peer: u16, server: &Arc<Server>, me: u16) {
        if let Some(s) = self.sessions.get(&peer) {
            *s.lock().unwrap() = (server.session(me), Pool::default(), 0);
        }
    }
}

impl PeerSet for MemPeers {
    fn ready(&self) -> Vec<u16> {
        let down = self.down.lock().unwrap();
        let mut ids: Vec<u16> = self
            .sessions
            .keys()
            .copied()
            .filter(|p| !down.contains(p))
            .collect();
        ids.sort_unstable();
        ids
    }

    fn take_commitment(&self, peer: u16, chain_id: &str) -> Option<(u64, SigningCommitments)> {
        self.sessions[&peer].lock().unwrap().1.take(chain_id)
    }

    fn send(&self, peer: u16, req: SignRequest, reply: Sender<Reply>) {
        for p in &req.packages {
            let mine = p.commitments.iter().find(|(id, _)| *id == peer).unwrap();
            let bytes = mine.1.serialize().unwrap();
            assert!(
                self.used.lock().unwrap().insert(bytes),
                "a nonce of cosigner {peer} named twice"
            );
        }
        if self.down.lock().unwrap().contains(&peer) {
            let _ = reply.send((peer, Err("link down".into())));
            return;
        }
        let body = self.raw(peer, None, Request::Sign(req));
        let _ = reply.send((peer, Ok(body)));
    }
}

struct Group {
    nodes: Vec<Node>,
    public: PublicKeyPackage,
}

fn group(t: u16, n: u16) -> Group {
    let (shares, public) =
        keys::generate_with_dealer(n, t, IdentifierList::Default, rand_core::OsRng).unwrap();
    let mut nodes = Vec::new();
    for (_, s) in shares {
        let key = KeyPackage::try_from(s).unwrap();
        let guard = MemGuard::new();
        let mut server = Server::default();
        server.add(
            CHAIN,
            ServedChain {
                key: key.clone(),
                guard: guard.clone(),
                tips: Default::default(),
            },
        );
        nodes.push(Node {
            key,
            guard,
            server: Arc::new(server),
        });
    }
    nodes.sort_by_key(|n| *n.key.identifier());
    Group { nodes, public }
}

fn id_of(node: &Node) -> u16 {
    let b = node.key.identifier().serialize();
    u16::from_le_bytes([b[0], b[1]])
}

impl Group {
    /// Cosigner `i` (0-based) as a coordinator with links to every other.
    fn coordinator(&self, i: usize) -> (Coordinator, Arc<MemPeers>) {
        let me = id_of(&self.nodes[i]);
        let mut sessions = HashMap::new();
        for n in &self.nodes {
            if id_of(n) != me {
                sessions.insert(
                    id_of(n),
                    Mutex::new((n.server.session(me), Pool::default(), 0)),
                );
            }
        }
        let peers = Arc::new(MemPeers {
            sessions,
            down: Mutex::new(vec![]),
            used: Mutex::default(),
        });
        for p in peers.ready() {
            peers.refill(p, 32);
        }
        let c = Coordinator::new(
            CHAIN,
            self.nodes[i].key.clone(),
            self.public.clone(),
            peers.clone(),
            Duration::from_secs(2),
        )
        .unwrap();
        (c, peers)
    }

    fn verifying_key(&self) -> VerifyingKey {
        let b = self.public.verifying_key().serialize().unwrap();
        VerifyingKey::from_bytes(&b.try_into().unwrap()).unwrap()
    }
}

fn vote(height: i64, round: i32, block: u8, ts: i64) -> Vote {
    let block_id = if block == 0 {
        BlockId::default()
    } else {
        BlockId {
            hash: vec![block; 32],
            part_set_header: PartSetHeader {
                total: 1,
                hash: vec![block; 32],
            },
        }
    };
    Vote {
        msg_type: SignedMsgType::Prevote,
        height,
        round,
        block_id,
        timestamp: Timestamp {
            seconds: 1_700_000_000 + ts,
            nanos: 0,
        },
        ..Vote::default()
    }
}

fn job(v: &Vote) -> Job {
    Job::Consensus {
        sign_bytes: privval::vote_sign_bytes(CHAIN, v),
        extension: None,
    }
}

/// Coordinate `job` at cosigner `c` as the signer does: own guard, then the peers.
fn sign(g: &Group, i: usize, c: &Coordinator, job: &Job) -> Result<Vec<u8>, String> {
    if !g.nodes[i].guard.own(job) {
        return Err("own guard refused".into());
    }
    let pending = c.start(job, None).map_err(|e| e.to_string())?;
    let (res, _) = pending.finish();
    res.map(|s| s.main).map_err(|e| e.to_string())
}

#[test]
fn two_of_three_signs_a_plain_ed25519_signature() {
    let g = group(2, 3);
    let (c, _) = g.coordinator(0);
    let v = vote(5, 0, 7, 0);
    let sig = sign(&g, 0, &c, &job(&v)).unwrap();
    let sig = Signature::from_slice(&sig).unwrap();
    g.verifying_key()
        .verify_strict(&privval::vote_sign_bytes(CHAIN, &v), &sig)
        .unwrap();
}

#[test]
fn vote_extension_is_threshold_signed_in_the_same_round_trip() {
    let g = group(2, 3);
    let (c, _) = g.coordinator(1);
    let mut v = vote(6, 0, 7, 0);
    v.msg_type = SignedMsgType::Precommit;
    v.extension = b"ext".to_vec();
    let ext = privval::vote_extension_sign_bytes(CHAIN, &v);
    let j = Job::Consensus {
        sign_bytes: privval::vote_sign_bytes(CHAIN, &v),
        extension: Some(ext.clone()),
    };
    assert!(g.nodes[1].guard.own(&j));
    let (res, _) = c.start(&j, None).unwrap().finish();
    let signed = res.unwrap();
    assert_eq!(
        signed.signers.len(),
        1,
        "a 2-of-3 signature takes one peer's shares"
    );
    let vk = g.verifying_key();
    let main = Signature::from_slice(&signed.main).unwrap();
    vk.verify_strict(&privval::vote_sign_bytes(CHAIN, &v), &main)
        .unwrap();
    let e = Signature::from_slice(&signed.extension.unwrap()).unwrap();
    vk.verify_strict(&ext, &e).unwrap();
}

#[test]
fn one_cosigner_down_still_signs_two_down_does_not() {
    let g = group(2, 3);
    let (c, peers) = g.coordinator(0);
    let other = peers.ready();
    peers.down.lock().unwrap().push(other[0]);
    sign(&g, 0, &c, &job(&vote(1, 0, 7, 0))).unwrap();
    peers.down.lock().unwrap().push(other[1]);
    let e = sign(&g, 0, &c, &job(&vote(2, 0, 7, 0))).unwrap_err();
    assert!(e.contains("needs 1 more cosigner"), "{e}");
}

#[test]
fn nil_and_block_votes_racing_through_two_coordinators_make_at_most_one_signature() {
    // The Horcrux failure: two coordinators, one height/round/step, conflicting data.
    for _ in 0..50 {
        let g = group(2, 3);
        let (a, _) = g.coordinator(0);
        let (b, _) = g.coordinator(1);
        let nil = job(&vote(9, 0, 0, 1));
        let block = job(&vote(9, 0, 7, 2));
        // Both coordinators accept their own request first: the worst case.
        assert!(g.nodes[0].guard.own(&nil));
        assert!(g.nodes[1].guard.own(&block));
        let pa = a.start(&nil, None).unwrap();
        let pb = b.start(&block, None).unwrap();
        let ra = pa.finish().0;
        let rb = pb.finish().0;
        assert!(
            ra.is_err() || rb.is_err(),
            "two signatures over conflicting data at one step"
        );
    }
}

#[test]
fn same_block_racing_through_two_coordinators_signs_both() {
    // Redundant nodes whose requests differ only in the timestamp: no double-sign, so
    // both coordinators may finish, even with the third cosigner down.
    let g = group(2, 3);
    let (a, pa) = g.coordinator(0);
    let (b, pb) = g.coordinator(1);
    pa.down.lock().unwrap().push(id_of(&g.nodes[2]));
    pb.down.lock().unwrap().push(id_of(&g.nodes[2]));
    let j1 = job(&vote(3, 0, 7, 1));
    let j2 = job(&vote(3, 0, 7, 2));
    assert!(g.nodes[0].guard.own(&j1));
    assert!(g.nodes[1].guard.own(&j2));
    let s1 = a.start(&j1, None).unwrap().finish().0.unwrap();
    let s2 = b.start(&j2, None).unwrap().finish().0.unwrap();
    assert_ne!(s1.main, s2.main);
}

#[test]
fn a_replayed_request_or_nonce_is_refused_and_signs_nothing() {
    let g = group(2, 3);
    let (c, peers) = g.coordinator(0);
    let peer = peers.ready()[0];
    let (nonce, commitments) = peers.take_commitment(peer, CHAIN).unwrap();
    let me = id_of(&g.nodes[0]);
    let (_, mine) =
        frost_ed25519::round1::commit(g.nodes[0].key.signing_share(), &mut rand_core::OsRng);
    let req = SignRequest {
        chain_id: CHAIN.into(),
        group_key: hex::encode(g.public.verifying_key().serialize().unwrap()),
        job: job(&vote(4, 0, 7, 0)),
        packages: vec![threshold::wire::Package {
            part: threshold::wire::Part::Main,
            nonce,
            commitments: vec![(me, mine), (peer, commitments)],
        }],
        last_signed: None,
    };
    assert!(matches!(
        peers.raw(peer, None, Request::Sign(req.clone())),
        Response::Shares { .. }
    ));
    // The same nonce again, with a fresh request id: refused.
    let again = peers.raw(peer, None, Request::Sign(req.clone()));
    assert!(
        matches!(&again, Response::Refused { reason, .. } if reason == "unknown_nonce"),
        "{again:?}"
    );
    // An old request id: refused as a replay.
    let old = peers.raw(peer, Some(1), Request::Sign(req));
    assert!(
        matches!(&old, Response::Refused { reason, .. } if reason == "replay"),
        "{old:?}"
    );
    drop(c);
}

#[test]
fn a_request_for_another_key_is_refused() {
    let g = group(2, 3);
    let other = group(2, 3);
    let (_, peers) = g.coordinator(0);
    // A coordinator holding a share of another key, talking to this group's cosigners.
    let c = Coordinator::new(
        CHAIN,
        other.nodes[0].key.clone(),
        other.public.clone(),
        peers,
        Duration::from_secs(1),
    )
    .unwrap();
    let (res, report) = c.start(&job(&vote(1, 0, 7, 0)), None).unwrap().finish();
    let e = res.unwrap_err();
    assert!(matches!(e, CoordError::NoQuorum { .. }), "{e}");
    assert!(
        report.refusals.iter().all(|r| r.1 == "wrong_key"),
        "{report:?}"
    );
}

#[test]
fn a_bad_share_is_caught_and_named() {
    // A cosigner presenting this key's group key and its id, but holding a secret share
    // from another split: its share does not verify, aggregation names it, and no
    // signature comes out.
    let g = group(2, 3);
    let other = group(2, 3);
    let me = id_of(&g.nodes[0]);
    let honest = &g.nodes[1].key;
    let liar = id_of(&g.nodes[1]);
    let forged = KeyPackage::new(
        *honest.identifier(),
        *other.nodes[1].key.signing_share(),
        *honest.verifying_share(),
        *honest.verifying_key(),
        *honest.min_signers(),
    );
    let mut server = Server::default();
    server.add(
        CHAIN,
        ServedChain {
            key: forged,
            guard: MemGuard::new(),
            tips: Default::default(),
        },
    );
    let server = Arc::new(server);
    let mut sessions = HashMap::new();
    sessions.insert(liar, Mutex::new((server.session(me), Pool::default(), 0)));
    let liars = Arc::new(MemPeers {
        sessions,
        down: Mutex::new(vec![]),
        used: Mutex::default(),
    });
    liars.refill(liar, 4);
    let c = Coordinator::new(
        CHAIN,
        g.nodes[0].key.clone(),
        g.public.clone(),
        liars,
        Duration::from_secs(1),
    )
    .unwrap();
    let (res, report) = c.start(&job(&vote(1, 0, 7, 0)), None).unwrap().finish();
    let e = res.unwrap_err().to_string();
    assert!(e.contains("does not verify"), "{e}");
    assert_eq!(report.bad_shares, vec![liar]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any interleaving of requests from three coordinators (each a different node's
    /// request at a random step, block or nil, random timestamp), with cosigners going
    /// down, restarting (their nonces lost, their records kept), and coordinators dying
    /// after their own record but before combining: no two signatures at one
    /// height/round/step over different data, and no nonce named twice.
    #[test]
    fn no_conflicting_signatures(
        ops in proptest::collection::vec(
            (0usize..3, 1i64..=3, 0i32..=1, 0u8..=2, 0i64..3, proptest::option::of(0usize..3), 0u8..8),
            1..32,
        )
    ) {
        let g = group(2, 3);
        let coords: Vec<_> = (0..3).map(|i| g.coordinator(i)).collect();
        let vk = g.verifying_key();
        let mut signed: HashMap<(i64, i32), Vec<u8>> = HashMap::new();
        for (who, h, r, block, ts, down, event) in ops {
            for (i, (_, peers)) in coords.iter().enumerate() {
                let mut d = peers.down.lock().unwrap();
                d.clear();
                if let Some(x) = down {
                    if x != i {
                        d.push(id_of(&g.nodes[x]));
                    }
                }
            }
            if event == 0 {
                // Cosigner `block % 3` restarts.
                let x = usize::from(block) % 3;
                for (i, (_, peers)) in coords.iter().enumerate() {
                    if i != x {
                        peers.restart(id_of(&g.nodes[x]), &g.nodes[x].server, id_of(&g.nodes[i]));
                    }
                }
            }
            let v = vote(h, r, block, ts);
            let j = job(&v);
            let (c, peers) = &coords[who];
            for p in peers.ready() {
                peers.refill(p, 4);
            }
            if event == 1 {
                // The coordinator dies after its record, before combining anything.
                if g.nodes[who].guard.own(&j) {
                    drop(c.start(&j, None));
                }
                continue;
            }
            if let Ok(sig) = sign(&g, who, c, &j) {
                let bytes = privval::vote_sign_bytes(CHAIN, &v);
                vk.verify_strict(&bytes, &Signature::from_slice(&sig).unwrap()).unwrap();
                let unstamped = privval::unstamped_vote_sign_bytes(CHAIN, &v);
                let prev = signed.entry((h, r)).or_insert_with(|| unstamped.clone());
                prop_assert_eq!(&*prev, &unstamped, "conflicting signatures at {}/{}", h, r);
            }
        }
    }
}

#[test]
fn three_of_five_signs_with_two_down_and_not_with_three() {
    let g = group(3, 5);
    let (c, peers) = g.coordinator(0);
    let v = vote(5, 0, 7, 0);
    let sig = sign(&g, 0, &c, &job(&v)).unwrap();
    g.verifying_key()
        .verify_strict(
            &privval::vote_sign_bytes(CHAIN, &v),
            &Signature::from_slice(&sig).unwrap(),
        )
        .unwrap();
    let others = peers.ready();
    peers.down.lock().unwrap().extend(&others[..2]);
    sign(&g, 0, &c, &job(&vote(6, 0, 7, 0))).unwrap();
    peers.down.lock().unwrap().push(others[2]);
    let e = sign(&g, 0, &c, &job(&vote(7, 0, 7, 0))).unwrap_err();
    assert!(e.contains("needs 2 more cosigner"), "{e}");
}

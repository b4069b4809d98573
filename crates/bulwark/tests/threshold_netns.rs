//! Three cosigners of a 2-of-3 key, each in its own network namespace, reaching each
//! other only through links that add delay and loss. Three nodes of the validator, one
//! per cosigner, ask at the same instant at every height: on even heights for
//! conflicting votes (one node nil, the other two a block), on odd heights for the same
//! block (their timestamps differ). Each cosigner is partitioned from the others in turn,
//! then healed; then each is killed (SIGKILL) in turn and restarted. Never two signatures
//! over different blocks at one height; with one cosigner cut off or dead, the other two
//! keep signing the agreed heights.

mod common;

use common::*;
use ed25519_dalek::{Signature, Verifier};
use privval::{Line, Response, SignedMsgType, Vote};
use std::net::SocketAddr;
use std::os::unix::net::UnixListener;
use std::sync::{Arc, Barrier};
use std::time::Duration;
use testkit::link::{Link, Shape};
use testkit::netns::Netns;
use testkit::threshold::{cosigners_in, metrics_url, Topology};
use testkit::trickle::Trickler;
use testkit::votes::{block, sign_vote, vote_at};

const CHAIN: &str = "threshold-netns-1";
const LINE: Line = Line::V0_38;
const PORT: u16 = 7400;
const PHASE: i64 = 40;

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Every cosigner up.
    All,
    /// Cosigner k cut off from the others.
    Cut(usize),
    /// Cosigner k killed, its node silent.
    Kill(usize),
}

/// Each cosigner's view of its link to each other, from its metrics (read inside its
/// namespace): `[i][j]` is `Some(true)` when cosigner i's link to j is up with j's nonces
/// ready, `Some(false)` when it is down with none, `None` when it is neither yet (or i's
/// `/metrics` does not answer).
type Links = Vec<Vec<Option<bool>>>;

fn links(net: &Netns, urls: &[String], read: impl Fn(usize) -> bool) -> Links {
    (0..3)
        .map(|i| {
            let text = read(i)
                .then(|| net.get(i, &urls[i]))
                .flatten()
                .and_then(|(status, text)| (status == 200).then_some(text));
            (0..3)
                .map(|j| {
                    let text = text.as_deref()?;
                    let peer = format!("cosigner-{}", j + 1);
                    let up = sample(
                        text,
                        &format!("bulwark_threshold_peer_up{{peer=\"{peer}\"}}"),
                    );
                    let nonces = sample(
                        text,
                        &format!(
                            "bulwark_threshold_nonces_ready{{chain=\"{CHAIN}\",peer=\"{peer}\"}}"
                        ),
                    );
                    match (up.unwrap_or(0.0) > 0.0, nonces.unwrap_or(0.0) > 0.0) {
                        (true, true) => Some(true),
                        (false, false) => Some(false),
                        _ => None,
                    }
                })
                .collect()
        })
        .collect()
}

/// Wait until every cosigner but `dead` reports each link up with nonces ready, except
/// those to or from `apart` (cut off or dead), which it reports down.
fn wait_links(
    net: &Netns,
    urls: &[String],
    apart: Option<usize>,
    dead: Option<usize>,
    what: &str,
    logs: &dyn Fn() -> String,
) {
    let want = |i: usize, j: usize| Some(apart != Some(i) && apart != Some(j));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let seen = links(net, urls, |i| dead != Some(i));
        let wrong: Vec<String> = (0..3)
            .filter(|i| dead != Some(*i))
            .flat_map(|i| (0..3).filter(move |j| *j != i).map(move |j| (i, j)))
            .filter(|&(i, j)| seen[i][j] != want(i, j))
            .map(|(i, j)| {
                format!(
                    "{} to {}: {:?}, want {:?}",
                    i + 1,
                    j + 1,
                    seen[i][j],
                    want(i, j)
                )
            })
            .collect();
        if wrong.is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: after 30 s the cosigners' links are not as expected (Some(true): up with \
             nonces ready, Some(false): down, None: in between or no metrics): {wrong:?}\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signed(r: &Response) -> Option<&Vote> {
    match r {
        Response::SignedVote { vote } => Some(vote),
        Response::Error { .. } => None,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn partitions_of_each_cosigner_in_turn_never_yield_conflicting_signatures() {
    let tmp = tempfile::tempdir().unwrap();
    let (key_path, secret) = write_key(tmp.path());
    let key = secret.verifying_key();
    let net = Netns::create(3);
    let shape = Shape {
        delay: Duration::from_millis(5),
        loss: 0.01,
        retransmit: Duration::from_millis(200),
    };
    // links[i][j]: cosigner i's way to cosigner j, listening on i's side of its veth.
    let links: Vec<Vec<Option<Link>>> = (0..3)
        .map(|i| {
            (0..3)
                .map(|j| {
                    (i != j).then(|| {
                        Link::shaped(
                            &format!("{}:0", net.host_addr(i)),
                            &format!("{}:{PORT}", net.ns_addr(j)),
                            shape,
                        )
                    })
                })
                .collect()
        })
        .collect();
    let socks: Vec<_> = (0..3)
        .map(|i| tmp.path().join(format!("node{i}.sock")))
        .collect();
    let listeners: Vec<_> = socks
        .iter()
        .map(|p| UnixListener::bind(p).unwrap())
        .collect();
    let nodes: Vec<Vec<String>> = socks
        .iter()
        .map(|p| vec![format!("unix://{}", p.display())])
        .collect();
    let peer_addr = |i: usize, j: usize| -> SocketAddr {
        links[i][j]
            .as_ref()
            .expect("a link to another cosigner")
            .addr
    };
    let topology = Topology {
        listen: (0..3).map(|i| (net.ns_addr(i), PORT).into()).collect(),
        peer_addr: &peer_addr,
        // A cut-off cosigner comes back dozens of heights behind; with no chain RPC to
        // confirm the tip, the jump bound would keep it out.
        edit: &|c| c.max_height_jump = 1_000_000,
    };
    let configs = cosigners_in(
        tmp.path(),
        CHAIN,
        "v0.38",
        &key_path,
        2,
        &nodes,
        |s| bulwark().state_init(CHAIN, 0, s),
        &topology,
    );
    let start = |i: usize| {
        bulwark().signer_under(&net.exec_prefix(i), &configs[i], &["--log-level", "info"])
    };
    let mut cosigners: Vec<Option<SignerProc>> = (0..3).map(|i| Some(start(i))).collect();
    let logs = || {
        configs
            .iter()
            .map(|c| std::fs::read_to_string(c.with_extension("log")).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    let urls: Vec<String> = configs.iter().map(|c| metrics_url(c)).collect();
    let mut conns: Vec<Trickler> = listeners.iter().map(Trickler::accept_unix).collect();

    // Warm up: height 1 until every node got its signature (same block).
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    let mut done = [false; 3];
    while !done.iter().all(|d| *d) {
        for (n, d) in done.iter_mut().enumerate() {
            if !*d {
                let v = vote_at(SignedMsgType::Prevote, 1, 0, Some(block(1)), n as i64);
                *d = signed(&conns[n].call(LINE, &sign_vote(CHAIN, v))).is_some();
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never signed:\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let cut = |k: usize, on: bool| {
        for (i, row) in links.iter().enumerate() {
            for (j, l) in row.iter().enumerate() {
                if let Some(l) = l {
                    if i == k || j == k {
                        if on {
                            l.cut()
                        } else {
                            l.heal()
                        }
                    }
                }
            }
        }
    };
    // Phases: all up, each cosigner cut off in turn, each killed in turn (SIGKILL; its
    // node gets nothing meanwhile), all up again.
    let phases = [
        Phase::All,
        Phase::Cut(0),
        Phase::Cut(1),
        Phase::Cut(2),
        Phase::Kill(0),
        Phase::Kill(1),
        Phase::Kill(2),
        Phase::All,
    ];
    let mut h = 1;
    let mut conflicts_signed = 0;
    for phase in phases {
        match phase {
            Phase::Cut(k) => cut(k, true),
            Phase::Kill(k) => {
                cosigners[k].take().unwrap().kill();
            }
            Phase::All => {}
        }
        let silent = match phase {
            Phase::Kill(k) => Some(k),
            _ => None,
        };
        // The links to and from the cosigner cut off or killed are down, all others up.
        let apart = match phase {
            Phase::Cut(k) | Phase::Kill(k) => Some(k),
            Phase::All => None,
        };
        wait_links(
            &net,
            &urls,
            apart,
            silent,
            &format!("before phase {phase:?}"),
            &logs,
        );
        let barrier = Arc::new(Barrier::new(3));
        let first = h + 1;
        let threads: Vec<_> = conns
            .drain(..)
            .enumerate()
            .map(|(n, mut node)| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let answers: Vec<Option<Response>> = (first..first + PHASE)
                        .map(|h| {
                            let b = if h % 2 == 0 {
                                [None, Some(block(7)), Some(block(7))][n].clone()
                            } else {
                                Some(block(5))
                            };
                            barrier.wait();
                            (silent != Some(n)).then(|| {
                                node.call(
                                    LINE,
                                    &sign_vote(
                                        CHAIN,
                                        vote_at(SignedMsgType::Prevote, h, 0, b, n as i64),
                                    ),
                                )
                            })
                        })
                        .collect();
                    (node, answers)
                })
            })
            .collect();
        let mut answers = Vec::new();
        for t in threads {
            let (node, a) = t.join().unwrap();
            conns.push(node);
            answers.push(a);
        }
        let mut agreed_signed = 0;
        for (k, h) in (first..first + PHASE).enumerate() {
            let votes: Vec<&Vote> = answers
                .iter()
                .filter_map(|a| a[k].as_ref().and_then(signed))
                .collect();
            for v in &votes {
                let sig = Signature::from_slice(&v.signature).unwrap();
                key.verify(&privval::vote_sign_bytes(CHAIN, v), &sig)
                    .unwrap_or_else(|e| panic!("height {h}: {e}"));
            }
            let blocks: std::collections::HashSet<_> =
                votes.iter().map(|v| v.block_id.clone()).collect();
            assert!(
                blocks.len() <= 1,
                "height {h} (phase {phase:?}): signatures over {} different blocks\n{}",
                blocks.len(),
                logs()
            );
            if h % 2 == 1 && !votes.is_empty() {
                agreed_signed += 1;
            }
            if h % 2 == 0 && !votes.is_empty() {
                conflicts_signed += 1;
            }
        }
        let agreed = PHASE / 2;
        eprintln!("phase {phase:?}: {agreed_signed} of {agreed} agreed heights signed");
        assert!(
            agreed_signed * 10 >= agreed * 8,
            "phase {phase:?}: only {agreed_signed} of {agreed} agreed heights signed\n{}",
            logs()
        );
        match phase {
            Phase::Cut(k) => cut(k, false),
            Phase::Kill(k) => {
                cosigners[k] = Some(start(k));
                conns[k] = Trickler::accept_unix(&listeners[k]);
            }
            Phase::All => {}
        }
        // Every link comes back, with nonces (dial backoff is at most 2 s).
        wait_links(
            &net,
            &urls,
            None,
            None,
            &format!("after phase {phase:?}"),
            &logs,
        );
        h = first + PHASE - 1;
    }
    eprintln!("{conflicts_signed} conflicting heights got a signature");
    assert!(
        conflicts_signed > 0,
        "the conflicting heights never signed: the test would not see a double-sign"
    );
}

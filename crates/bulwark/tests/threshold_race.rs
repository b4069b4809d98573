//! Three `bulwark signer run` cosigners of one 2-of-3 key, two of them coordinating for
//! two nodes of one validator. The nodes ask for conflicting prevotes (nil and a block)
//! at the same height/round/step at the same instant, height after height: at most one
//! signature each time, and it verifies under the original key (the race that
//! double-signed a validator on Horcrux, GHSA-6wxf-7784-62fp, through two coordinators).
//! Then one cosigner is killed: the other two keep signing; a second one killed: no
//! signature; one back: signing again.

mod common;

use common::*;
use ed25519_dalek::{Signature, Verifier};
use privval::{Line, Response, SignedMsgType, Vote};
use std::os::unix::net::UnixListener;
use std::sync::{Arc, Barrier};
use testkit::trickle::Trickler;
use testkit::votes::{block, sign_vote, vote_at};

const CHAIN: &str = "threshold-race-1";
const LINE: Line = Line::V0_38;
const HEIGHTS: i64 = 300;

fn signed(r: &Response) -> Option<&Vote> {
    match r {
        Response::SignedVote { vote } => Some(vote),
        Response::Error { .. } => None,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn two_coordinators_racing_conflicting_votes_make_at_most_one_signature_and_survive_a_lost_cosigner(
) {
    let tmp = tempfile::tempdir().unwrap();
    let (key_path, secret) = write_key(tmp.path());
    let key = secret.verifying_key();
    let socks: Vec<_> = (0..3)
        .map(|i| tmp.path().join(format!("node{i}.sock")))
        .collect();
    let listeners: Vec<_> = socks[..2]
        .iter()
        .map(|p| UnixListener::bind(p).unwrap())
        .collect();
    // Cosigner 1 serves node 0, cosigner 2 node 1, cosigner 3 a node that is not there.
    let nodes: Vec<Vec<String>> = socks
        .iter()
        .map(|p| vec![format!("unix://{}", p.display())])
        .collect();
    let configs = cosigner_configs(tmp.path(), CHAIN, "v0.38", &key_path, 2, &nodes, |s| {
        bulwark().state_init(CHAIN, 0, s)
    });
    let mut cosigners: Vec<Option<SignerProc>> = configs
        .iter()
        .map(|c| Some(bulwark().signer_with(c, &["--log-level", "info"])))
        .collect();
    let logs = |cs: &[Option<SignerProc>]| {
        cs.iter()
            .flatten()
            .map(SignerProc::log_text)
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    let mut conns: Vec<Trickler> = listeners.iter().map(Trickler::accept_unix).collect();

    // Wait until both coordinators have their peers' nonces.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    // The same height again until it signs (a failed attempt records nothing).
    let h = 1;
    let mut done = [false; 2];
    while !done.iter().all(|d| *d) {
        for (n, d) in done.iter_mut().enumerate() {
            if !*d {
                let v = vote_at(SignedMsgType::Prevote, h, 0, Some(block(1)), n as i64);
                *d = signed(&conns[n].call(LINE, &sign_vote(CHAIN, v))).is_some();
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "cosigners never signed:\n{}",
            logs(&cosigners)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let first = h + 1;

    let barrier = Arc::new(Barrier::new(2));
    let threads: Vec<_> = conns
        .drain(..)
        .enumerate()
        .map(|(i, mut node)| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let block = (i == 1).then(|| block(7));
                let answers: Vec<Response> = (first..first + HEIGHTS)
                    .map(|h| {
                        barrier.wait();
                        node.call(
                            LINE,
                            &sign_vote(
                                CHAIN,
                                vote_at(SignedMsgType::Prevote, h, 0, block.clone(), 0),
                            ),
                        )
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
    let mut wins = [0u32; 2];
    for (k, h) in (first..first + HEIGHTS).enumerate() {
        let got: Vec<(usize, &Vote)> = (0..2)
            .filter_map(|n| signed(&answers[n][k]).map(|v| (n, v)))
            .collect();
        assert!(
            got.len() <= 1,
            "height {h}: two signatures over conflicting votes\n{}",
            logs(&cosigners)
        );
        for (n, vote) in got {
            assert_eq!(
                vote.block_id.is_nil(),
                n == 0,
                "height {h}: the vote asked for"
            );
            let sig = Signature::from_slice(&vote.signature).unwrap();
            key.verify(&privval::vote_sign_bytes(CHAIN, vote), &sig)
                .unwrap_or_else(|e| panic!("height {h}: {e}"));
            wins[n] += 1;
        }
    }
    eprintln!(
        "nil won {} times, the block {} times, of {HEIGHTS}",
        wins[0], wins[1]
    );
    assert!(
        wins[0] + wins[1] > 0,
        "no signature at all:\n{}",
        logs(&cosigners)
    );

    // One cosigner down (SIGKILL): the other two keep signing.
    let mut h = first + HEIGHTS;
    cosigners[2].take().unwrap().kill();
    let mut ok = 0;
    // Few heights: the killed cosigner comes back within max_height_jump of its state.
    for _ in 0..6 {
        h += 1;
        let r = conns[0].call(
            LINE,
            &sign_vote(
                CHAIN,
                vote_at(SignedMsgType::Prevote, h, 0, Some(block(9)), 0),
            ),
        );
        if let Some(v) = signed(&r) {
            key.verify(
                &privval::vote_sign_bytes(CHAIN, v),
                &Signature::from_slice(&v.signature).unwrap(),
            )
            .unwrap();
            ok += 1;
        }
    }
    assert!(
        ok >= 5,
        "only {ok} of 6 signed with one cosigner down\n{}",
        logs(&cosigners)
    );

    // Two down: nothing can be signed.
    cosigners[1].take().unwrap().kill();
    h += 1;
    let r = conns[0].call(
        LINE,
        &sign_vote(
            CHAIN,
            vote_at(SignedMsgType::Prevote, h, 0, Some(block(9)), 0),
        ),
    );
    assert!(signed(&r).is_none(), "signed with one of three cosigners");

    // One back: signing again.
    cosigners[2] = Some(bulwark().signer_with(&configs[2], &["--log-level", "info"]));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    h += 1;
    loop {
        let r = conns[0].call(
            LINE,
            &sign_vote(
                CHAIN,
                vote_at(SignedMsgType::Prevote, h, 0, Some(block(9)), 0),
            ),
        );
        if let Some(v) = signed(&r) {
            key.verify(
                &privval::vote_sign_bytes(CHAIN, v),
                &Signature::from_slice(&v.signature).unwrap(),
            )
            .unwrap();
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no signature after a cosigner came back:\n{}",
            logs(&cosigners)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

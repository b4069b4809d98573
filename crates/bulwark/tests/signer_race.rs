//! Two nodes of one validator ask for conflicting prevotes (nil and a block) at the same
//! height/round/step at the same instant, round after round: exactly one of them gets a
//! signature each time, and it verifies. (The race that double-signed a validator running
//! Horcrux v3.1 on Osmosis in March 2025, GHSA-6wxf-7784-62fp.)

mod common;

use common::*;
use ed25519_dalek::{Signature, Signer, Verifier};
use privval::{Line, Response, SignedMsgType, Vote};
use std::os::unix::net::UnixListener;
use std::sync::{Arc, Barrier};
use std::time::Instant;
use testkit::trickle::Trickler;
use testkit::votes::{block, sign_vote, vote_at};

const CHAIN: &str = "race-chain-1";
const LINE: Line = Line::V0_38;
const ROUNDS: i64 = 10_000;

#[test]
fn conflicting_prevotes_sent_at_the_same_instant_get_exactly_one_signature() {
    let tmp = tempfile::tempdir().unwrap();
    let (key_path, secret) = write_key(tmp.path());
    let key = secret.verifying_key();
    let state = tmp.path().join("s.state");
    bulwark().state_init(CHAIN, 0, &state);
    let socks: Vec<_> = (0..2)
        .map(|i| tmp.path().join(format!("val0-node{i}.sock")))
        .collect();
    let listeners: Vec<_> = socks
        .iter()
        .map(|p| UnixListener::bind(p).unwrap())
        .collect();
    let addrs: Vec<String> = socks
        .iter()
        .map(|p| format!("unix://{}", p.display()))
        .collect();
    let config = write_config_addrs(tmp.path(), CHAIN, &key_path, &state, &addrs, |_| {}, None);
    let signer = bulwark().signer_with(&config, &["--log-level", "error"]);
    let nodes: Vec<Trickler> = listeners.iter().map(Trickler::accept_unix).collect();

    let barrier = Arc::new(Barrier::new(2));
    let start = Instant::now();
    let threads: Vec<_> = nodes
        .into_iter()
        .enumerate()
        .map(|(i, mut node)| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                // node0 asks for a nil prevote, node1 for one for a block.
                let block = (i == 1).then(|| block(7));
                (1..=ROUNDS)
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
                    .collect::<Vec<Response>>()
            })
        })
        .collect();
    let answers: Vec<Vec<Response>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let elapsed = start.elapsed();
    eprintln!(
        "{ROUNDS} rounds in {elapsed:?} ({:?} per round)",
        elapsed / ROUNDS as u32
    );

    let mut wins = [0u32; 2];
    for h in 1..=ROUNDS {
        let i = (h - 1) as usize;
        let signed: Vec<(usize, &Vote)> = answers
            .iter()
            .enumerate()
            .filter_map(|(n, a)| match &a[i] {
                Response::SignedVote { vote } => Some((n, vote)),
                Response::Error { .. } => None,
                other => panic!("height {h}: unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            signed.len(),
            1,
            "height {h}: {} signatures\n{}",
            signed.len(),
            signer.log_text()
        );
        let (n, vote) = signed[0];
        assert_eq!(vote.height, h);
        assert_eq!(
            vote.block_id.is_nil(),
            n == 0,
            "height {h}: the vote is the one asked for"
        );
        // Ed25519 signatures are deterministic: the one valid signature over the vote's
        // sign bytes is the one this key makes (and signing is ~60 times cheaper than
        // verifying in a debug build); every 500th is verified as well.
        let bytes = privval::vote_sign_bytes(CHAIN, vote);
        let sig = Signature::from_slice(&vote.signature).unwrap();
        assert_eq!(
            sig,
            secret.sign(&bytes),
            "height {h}: not the signature over the vote"
        );
        if h % 500 == 1 {
            key.verify(&bytes, &sig)
                .unwrap_or_else(|e| panic!("height {h}: {e}"));
        }
        wins[n] += 1;
    }
    eprintln!(
        "signed for node0 {} times, for node1 {} times",
        wins[0], wins[1]
    );
    assert_eq!(wins[0] + wins[1], ROUNDS as u32);
}

//! One cosigner process serves many chains: three cosigners each hold shares of two
//! validator keys on two chains, over one set of links, and both chains' nodes get
//! signatures that verify under their own keys, the chains' states kept apart.

mod common;

use common::*;
use ed25519_dalek::{Signature, Verifier};
use privval::{Line, Response, SignedMsgType};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};
use testkit::trickle::Trickler;
use testkit::votes::{block, sign_vote, vote_at};

const LINE: Line = Line::V0_38;

#[test]
fn three_cosigners_sign_for_two_chains_over_one_set_of_links() {
    let tmp = tempfile::tempdir().unwrap();
    let chains = ["chain-a", "chain-b"];
    let keys: Vec<_> = chains
        .iter()
        .map(|c| {
            let dir = tmp.path().join(c);
            std::fs::create_dir_all(&dir).unwrap();
            write_key(&dir)
        })
        .collect();
    // Node sockets: cosigner 1 serves chain-a's node, cosigner 2 chain-b's.
    let sock = |c: &str, i: usize| tmp.path().join(format!("{c}-node{i}.sock"));
    let listeners = [
        UnixListener::bind(sock("chain-a", 0)).unwrap(),
        UnixListener::bind(sock("chain-b", 1)).unwrap(),
    ];
    let nodes = |c: &str| -> Vec<Vec<String>> {
        (0..3)
            .map(|i| vec![format!("unix://{}", sock(c, i).display())])
            .collect()
    };
    let configs = cosigner_configs(
        tmp.path(),
        chains[0],
        "v0.38",
        &keys[0].0,
        2,
        &nodes(chains[0]),
        |s| bulwark().state_init(chains[0], 0, s),
    );
    // The second chain: its own split, a share and a state per cosigner, added to each
    // cosigner's config beside the first.
    let shares = threshold::split::split(&std::fs::read(&keys[1].0).unwrap(), 2, 3).unwrap();
    for (i, config) in configs.iter().enumerate() {
        let home = config.parent().unwrap();
        let share = home.join("chain-b.share.json");
        shares[i].write_new(&share).unwrap();
        let state = home.join("chain-b.state");
        bulwark().state_init(chains[1], 0, &state);
        let mut c = signer::config::Config::load(config).unwrap();
        let mut second = c.chains[0].clone();
        second.id = chains[1].to_string();
        second.share = Some(share);
        second.state = state;
        second.nodes[0].addr = signer::config::Addr::parse(&nodes(chains[1])[i][0]).unwrap();
        c.chains.push(second);
        std::fs::write(config, c.to_toml()).unwrap();
    }
    let cosigners: Vec<SignerProc> = configs.iter().map(|c| bulwark().signer(c)).collect();
    let logs = || {
        cosigners
            .iter()
            .map(SignerProc::log_text)
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    let mut conns: Vec<Trickler> = listeners.iter().map(Trickler::accept_unix).collect();

    for (n, chain) in chains.iter().enumerate() {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut h = 1;
        let mut signed = 0;
        while signed < 20 {
            let v = vote_at(SignedMsgType::Prevote, h, 0, Some(block(3)), 0);
            match conns[n].call(LINE, &sign_vote(chain, v)) {
                Response::SignedVote { vote } => {
                    let sig = Signature::from_slice(&vote.signature).unwrap();
                    keys[n]
                        .1
                        .verifying_key()
                        .verify(&privval::vote_sign_bytes(chain, &vote), &sig)
                        .unwrap_or_else(|e| panic!("{chain} height {h}: {e}"));
                    // Not a signature of the other chain's key.
                    assert!(keys[1 - n]
                        .1
                        .verifying_key()
                        .verify(&privval::vote_sign_bytes(chain, &vote), &sig)
                        .is_err());
                    signed += 1;
                    h += 1;
                }
                Response::Error { .. } => {
                    assert!(
                        Instant::now() < deadline,
                        "{chain} never signed:\n{}",
                        logs()
                    );
                    std::thread::sleep(Duration::from_millis(100));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    // Each chain's state moved on its own.
    for (i, c) in configs.iter().enumerate() {
        let home = c.parent().unwrap();
        let a = bulwark().state_show(&home.join("sign.state"));
        let b = bulwark().state_show(&home.join("chain-b.state"));
        assert_eq!(a["chain_id"], "chain-a", "cosigner {}: {a}", i + 1);
        assert_eq!(b["chain_id"], "chain-b", "cosigner {}: {b}", i + 1);
    }
}

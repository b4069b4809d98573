//! Three participants on threads over real loopback links.

use super::*;
use crate::cosigner::Peer;
use crate::link::LinkPublic;

struct Node {
    listener: TcpListener,
    settings: Settings,
}

/// `n` participants with threshold `t`; `wrong` names (participant, peer) pairs whose
/// pinned key is replaced by a random one.
fn nodes(n: u16, t: u16, timeout: Duration, wrong: &[(u16, u16)]) -> Vec<Node> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let keys: Vec<LinkKey> = (0..n).map(|_| LinkKey::generate()).collect();
    let publics: Vec<LinkPublic> = keys.iter().map(|k| k.public()).collect();
    listeners
        .into_iter()
        .zip(keys)
        .enumerate()
        .map(|(i, (listener, key))| {
            let id = i as u16 + 1;
            let peers = (1..=n)
                .filter(|j| *j != id)
                .map(|j| Peer {
                    id: j,
                    name: format!("cosigner-{j}"),
                    addr: ([127, 0, 0, 1], 0).into(),
                    public: if wrong.contains(&(id, j)) {
                        LinkKey::generate().public()
                    } else {
                        publics[usize::from(j) - 1]
                    },
                })
                .collect();
            Node {
                listener,
                settings: Settings {
                    id,
                    threshold: t,
                    key,
                    peers,
                    timeout,
                },
            }
        })
        .collect()
}

/// Fill in the peers' addresses and run every participant on its own thread, each
/// keeping its share in memory.
fn run_all(nodes: Vec<Node>, tamper: BTreeMap<u16, Tamper>) -> Vec<Result<Share, DkgError>> {
    run_keeping(nodes, tamper, &[])
        .into_iter()
        .map(|(r, _)| r)
        .collect()
}

/// As [`run_all`], the participants in `fail_keep` failing to keep their shares; with
/// each result, whether the participant kept its share.
fn run_keeping(
    mut nodes: Vec<Node>,
    tamper: BTreeMap<u16, Tamper>,
    fail_keep: &[u16],
) -> Vec<(Result<Share, DkgError>, bool)> {
    let addrs: Vec<SocketAddr> = nodes
        .iter()
        .map(|n| n.listener.local_addr().unwrap())
        .collect();
    for n in &mut nodes {
        for p in &mut n.settings.peers {
            p.addr = addrs[usize::from(p.id) - 1];
        }
    }
    let none = Tamper::default();
    std::thread::scope(|s| {
        let handles: Vec<_> = nodes
            .iter()
            .map(|n| {
                let tamper = tamper.get(&n.settings.id).unwrap_or(&none);
                let fails = fail_keep.contains(&n.settings.id);
                s.spawn(move || {
                    let mut kept = false;
                    let mut keep = |_: &Share| {
                        if fails {
                            return Err("No space left on device".to_string());
                        }
                        kept = true;
                        Ok(())
                    };
                    let r = run_with(&n.listener, &n.settings, &mut keep, tamper);
                    (r, kept)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn three_participants_make_one_key_that_every_two_sign_for() {
    let shares: Vec<Share> = run_all(nodes(3, 2, Duration::from_secs(30), &[]), BTreeMap::new())
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let group = shares[0].group_public_key();
    for (i, s) in shares.iter().enumerate() {
        assert_eq!(s.id(), i as u16 + 1);
        assert_eq!(s.threshold(), 2);
        assert_eq!(s.total(), 3);
        assert_eq!(s.group_public_key(), group);
    }
    let key = ed25519_dalek::VerifyingKey::from_bytes(&group).unwrap();
    for pair in [[0, 1], [0, 2], [1, 2]] {
        let signers: Vec<&Share> = pair.iter().map(|i| &shares[*i]).collect();
        let msg = format!("signed by {pair:?}");
        let sig = crate::split::sign(&signers, msg.as_bytes()).unwrap();
        key.verify_strict(msg.as_bytes(), &sig).unwrap();
    }
    // And each share survives its file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("share.json");
    shares[1].write_new(&path).unwrap();
    let back = Share::load(&path).unwrap();
    assert_eq!(back.group_public_key(), group);
    assert_eq!(back.id(), 2);
}

#[test]
fn a_participant_with_a_wrong_peer_key_is_refused() {
    // Cosigner 3 has a random key pinned for cosigner 1: 1's dial is refused, and 3
    // refuses the key 1 presents.
    let results = run_all(
        nodes(3, 2, Duration::from_secs(3), &[(3, 1)]),
        BTreeMap::new(),
    );
    let errors: Vec<String> = results
        .into_iter()
        .map(|r| r.expect_err("no share may come out").to_string())
        .collect();
    assert!(
        errors[0].contains("refused our link key"),
        "cosigner-1: {}",
        errors[0]
    );
    assert!(
        errors[2].contains("not among this cosigner's peers"),
        "cosigner-3: {}",
        errors[2]
    );
}

#[test]
fn a_participant_sending_different_round1_packages_aborts_everyone() {
    // Cosigner 1 sends cosigner 3 another round-1 package than cosigner 2.
    let (_, other) = frost_dkg::part1(identifier(1), 3, 2, OsRng).unwrap();
    let tamper = BTreeMap::from([(
        1,
        Tamper {
            round1_to: BTreeMap::from([(3, other)]),
            ..Default::default()
        },
    )]);
    let results = run_all(nodes(3, 2, Duration::from_secs(30), &[]), tamper);
    let errors: Vec<String> = results
        .into_iter()
        .map(|r| r.expect_err("no share may come out").to_string())
        .collect();
    for (i, e) in errors.iter().enumerate() {
        assert!(
            e.contains("round-1 echo mismatch"),
            "cosigner-{}: {e}",
            i + 1
        );
    }
    // 1 and 2 saw the same packages; 3 saw another one from 1.
    assert!(
        errors[0].contains("mismatch with cosigner-3"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].contains("mismatch with cosigner-3"),
        "{}",
        errors[1]
    );
    assert!(
        errors[2].contains("mismatch with cosigner-1, cosigner-2"),
        "{}",
        errors[2]
    );
}

#[test]
fn a_threshold_of_half_or_less_is_refused() {
    let mut n = nodes(4, 2, Duration::from_secs(1), &[]);
    let node = n.remove(0);
    let e = run(&node.listener, &node.settings, &mut |_| Ok(())).unwrap_err();
    assert!(e.is_usage(), "{e}");
    assert!(e.to_string().contains("not more than half"), "{e}");
}

/// Participant 1 of a 2-of-2 run against a scripted cosigner-2, which accepts the link,
/// exchanges hellos and then does what `script` does with the session id it would use.
/// Participant 1's error.
fn against_script(
    timeout: Duration,
    script: impl FnOnce(&mut crate::link::LinkWriter, &mut crate::link::LinkReader) + Send,
) -> DkgError {
    let mut n = nodes(2, 2, timeout, &[]);
    let peer = n.pop().unwrap();
    let mut me = n.pop().unwrap();
    me.settings.peers[0].addr = peer.listener.local_addr().unwrap();
    std::thread::scope(|s| {
        s.spawn(move || {
            let stream = peer.listener.accept().unwrap().0;
            // Cosigner-2's pinned key for participant 1.
            let allowed = [peer.settings.peers[0].public];
            let (link, _) =
                crate::link::accept(stream, &peer.settings.key, &allowed, timeout).unwrap();
            let (mut w, mut r) = link.split();
            let hello = Message::Hello {
                version: message::VERSION,
                id: 2,
                threshold: 2,
                ids: vec![1, 2],
                nonce: hex::encode([7u8; 32]),
            };
            w.send(&serde_json::to_vec(&hello).unwrap()).unwrap();
            r.recv().unwrap();
            script(&mut w, &mut r);
            // Hold the link until participant 1 gives up.
            while r.recv().is_ok() {}
        });
        run(&me.listener, &me.settings, &mut |_| Ok(())).expect_err("no share may come out")
    })
}

#[test]
fn a_message_of_another_session_is_refused() {
    let e = against_script(Duration::from_secs(10), |w, _| {
        let (_, package) = frost_dkg::part1(identifier(2), 2, 2, OsRng).unwrap();
        let msg = Message::Round1 {
            session: hex::encode([0u8; 32]),
            package,
        };
        w.send(&serde_json::to_vec(&msg).unwrap()).unwrap();
    });
    assert!(matches!(e, DkgError::Session { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("cosigner-2 sent a message of another DKG run"),
        "{e}"
    );
}

#[test]
fn a_silent_peer_is_named_when_the_timeout_passes() {
    // Long enough that the link's handshake and hello never run into it on a busy machine.
    let e = against_script(Duration::from_secs(3), |_, _| {});
    assert_eq!(
        e.to_string(),
        "cosigner-2 did not send its round-1 package within 3s"
    );
}

#[test]
fn a_participant_that_cannot_keep_its_share_aborts_everyone() {
    let results = run_keeping(
        nodes(3, 2, Duration::from_secs(30), &[]),
        BTreeMap::new(),
        &[3],
    );
    let (r3, kept3) = &results[2];
    assert!(!kept3);
    let e3 = r3.as_ref().expect_err("no share for 3");
    assert!(matches!(e3, DkgError::Keep(_)), "{e3}");
    for (r, kept) in &results[..2] {
        assert!(kept, "1 and 2 kept theirs before 3's abort reached them");
        let e = r.as_ref().expect_err("the run failed");
        assert!(
            matches!(e, DkgError::Aborted { .. }),
            "an explicit abort, so the caller drops the kept share: {e}"
        );
        assert!(
            e.to_string().contains(
                "cosigner-3 aborted the DKG: could not keep its share: No space left on device"
            ),
            "{e}"
        );
    }
}

#[test]
fn a_participant_gone_after_keeping_leaves_the_others_unconfirmed() {
    let tamper = BTreeMap::from([(
        3,
        Tamper {
            vanish_after_keep: true,
            ..Default::default()
        },
    )]);
    let results = run_keeping(nodes(3, 2, Duration::from_secs(5), &[]), tamper, &[]);
    assert!(
        results.iter().all(|(r, _)| r.is_err()),
        "no participant may call the run done"
    );
    for (i, (r, kept)) in results[..2].iter().enumerate() {
        assert!(kept);
        let e = r.as_ref().expect_err("unconfirmed");
        let DkgError::Unconfirmed { source, .. } = e else {
            panic!("cosigner-{}: {e}", i + 1)
        };
        assert!(
            source.to_string().contains("cosigner-3"),
            "names the silent one: {e}"
        );
        assert!(
            e.to_string()
                .contains("It is not known whether every participant kept its share"),
            "{e}"
        );
    }
}

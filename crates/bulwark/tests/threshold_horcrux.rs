//! `bulwark threshold import-horcrux` on the real output of Horcrux v3.3.2 (installed by
//! `scripts/install-deps`): shard files from `horcrux create-ed25519-shards` of a key from
//! `cometbft init`, and sign states from `horcrux state import`. The imported shares sign
//! for the original key (checked with ed25519-dalek), one shard alone gives the same
//! verifying shares as all of them, and wrong or damaged shards are refused.

mod common;

use base64::Engine;
use common::*;
use frost_ed25519::rand_core::OsRng;
use frost_ed25519::{round1, round2, SigningPackage};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::horcrux;
use testkit::votes::{block, vote_at};
use threshold::share::Share;

const CHAIN: &str = "horcrux-test-1";

/// `cometbft init` in `dir/node`: its priv_validator_key.json and public key (base64).
fn cometbft_key(dir: &Path) -> (PathBuf, String) {
    let bin = devnet::cometbft::find(devnet::Line::V0_38, &devnet::cometbft::install_dir())
        .unwrap_or_else(|e| panic!("{e} (run scripts/install-deps)"))
        .path;
    let home = dir.join("node");
    let out = Command::new(&bin)
        .args(["init", "--home"])
        .arg(&home)
        .output()
        .expect("cometbft init runs");
    assert!(out.status.success(), "cometbft init: {}", text(&out));
    let key = home.join("config/priv_validator_key.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&key).unwrap()).unwrap();
    let public = json["pub_key"]["value"].as_str().unwrap().to_string();
    (key, public)
}

/// Horcrux's shards (2 of 3) of a fresh `cometbft init` key, and the key (base64).
fn horcrux_shards(dir: &Path) -> (Vec<PathBuf>, String) {
    let (key, public) = cometbft_key(dir);
    let shards = horcrux::create_shards(&dir.join("horcrux"), CHAIN, &key, 2, 3);
    (shards, public)
}

fn import(args: &[&str]) -> std::process::Output {
    bulwark().run(&[&["threshold", "import-horcrux"][..], args].concat())
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// One FROST signature of `signers` over `msg`.
fn frost_sign(signers: &[&Share], msg: &[u8]) -> ed25519_dalek::Signature {
    let mut nonces = BTreeMap::new();
    let mut commitments = BTreeMap::new();
    for s in signers {
        let (n, c) = round1::commit(s.key_package().signing_share(), &mut OsRng);
        nonces.insert(*s.key_package().identifier(), n);
        commitments.insert(*s.key_package().identifier(), c);
    }
    let package = SigningPackage::new(commitments, msg);
    let mut shares = BTreeMap::new();
    for s in signers {
        let id = *s.key_package().identifier();
        shares.insert(
            id,
            round2::sign(&package, &nonces[&id], s.key_package()).unwrap(),
        );
    }
    let sig = frost_ed25519::aggregate(&package, &shares, signers[0].public_key_package())
        .unwrap()
        .serialize()
        .unwrap();
    ed25519_dalek::Signature::from_bytes(&sig.try_into().unwrap())
}

fn key_bytes(b64: &str) -> [u8; 32] {
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
        .try_into()
        .unwrap()
}

#[test]
fn horcrux_shards_become_shares_that_sign_for_the_original_key() {
    let tmp = tempfile::tempdir().unwrap();
    let (shards, public) = horcrux_shards(tmp.path());
    let original = ed25519_dalek::VerifyingKey::from_bytes(&key_bytes(&public)).unwrap();

    // Each shard alone (threshold 2): the others' verifying shares derived.
    let mut one_by_one = Vec::new();
    for (i, shard) in shards.iter().enumerate() {
        let out = tmp.path().join(format!("share-{}.json", i + 1));
        let o = import(&[
            "--shard",
            s(shard),
            "--threshold",
            "2",
            "--shares",
            "3",
            "--out",
            s(&out),
            "--json",
        ]);
        let v = json(&o);
        assert_eq!(v["group_public_key"], public.as_str(), "{v}");
        assert_eq!(v["shares"][0]["id"], i as u64 + 1, "{v}");
        assert_eq!(v["verifying_shares_from"], "derived", "{v}");
        let share = Share::load(&out).unwrap();
        assert_eq!(share.id(), i as u16 + 1);
        assert_eq!(share.group_public_key(), key_bytes(&public));
        one_by_one.push((share, v["verifying_shares"].clone()));
    }

    // All three at once: checked against each other, and the same verifying shares.
    let all_dir = tmp.path().join("all");
    let mut args = Vec::new();
    for shard in &shards {
        args.extend(["--shard", s(shard)]);
    }
    let o = import(
        &[
            &args[..],
            &[
                "--threshold",
                "2",
                "--shares",
                "3",
                "--out",
                s(&all_dir),
                "--json",
            ],
        ]
        .concat(),
    );
    let v = json(&o);
    assert_eq!(v["verifying_shares_from"], "all_shards", "{v}");
    assert_eq!(v["signed_groups"], 3, "{v}");
    assert_eq!(v["address"].as_str().unwrap().len(), 40, "{v}");
    for (share, verifying) in &one_by_one {
        assert_eq!(*verifying, v["verifying_shares"], "share {}", share.id());
        let same = Share::load(&all_dir.join(format!("share-{}.json", share.id()))).unwrap();
        assert_eq!(same.public_key_package(), share.public_key_package());
    }

    // Any two of the one-by-one imports sign for the original key.
    let msg = b"a vote, as far as the key knows";
    for (a, b) in [(0, 1), (0, 2), (1, 2)] {
        let sig = frost_sign(&[&one_by_one[a].0, &one_by_one[b].0], msg);
        original
            .verify_strict(msg, &sig)
            .unwrap_or_else(|e| panic!("shares {} and {}: {e}", a + 1, b + 1));
    }

    // Text output names the key and the share.
    let out = tmp.path().join("text.json");
    let o = import(&[
        "--shard",
        s(&shards[1]),
        "--threshold",
        "2",
        "--shares",
        "3",
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains(&public) && t.contains("share 2"), "{t}");
    // And never overwrites.
    let o = import(&[
        "--shard",
        s(&shards[1]),
        "--threshold",
        "2",
        "--shares",
        "3",
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("refusing to overwrite"), "{}", text(&o));
}

#[test]
fn wrong_and_damaged_shards_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (shards, _) = horcrux_shards(&tmp.path().join("a"));
    let (others, _) = horcrux_shards(&tmp.path().join("b"));
    let out = tmp.path().join("share.json");

    // A shard of another key among this key's shards.
    let o = import(&[
        "--shard",
        s(&shards[0]),
        "--shard",
        s(&shards[1]),
        "--shard",
        s(&others[2]),
        "--threshold",
        "2",
        "--shares",
        "3",
        "--out",
        s(&tmp.path().join("dir")),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("pass the shards of one key only") && t.contains(s(&others[2])),
        "{t}"
    );

    // A damaged shard: not JSON, a secret of the wrong length, no id.
    let good = std::fs::read_to_string(&shards[0]).unwrap();
    let v: serde_json::Value = serde_json::from_str(&good).unwrap();
    let damaged = [
        ("truncated", good[..good.len() / 2].to_string()),
        (
            "short secret",
            serde_json::json!({"pubKey": v["pubKey"], "privateShard": "AAAA", "id": 1}).to_string(),
        ),
        (
            "no id",
            serde_json::json!({"pubKey": v["pubKey"], "privateShard": v["privateShard"]})
                .to_string(),
        ),
    ];
    for (what, content) in damaged {
        let f = tmp
            .path()
            .join(format!("{}_shard.json", what.replace(' ', "-")));
        std::fs::write(&f, content).unwrap();
        let o = import(&[
            "--shard",
            s(&f),
            "--threshold",
            "2",
            "--shares",
            "3",
            "--out",
            s(&out),
        ]);
        assert_eq!(o.status.code(), Some(2), "{what}: {}", text(&o));
        assert!(
            text(&o).contains("Horcrux Ed25519 shard file"),
            "{what}: {}",
            text(&o)
        );
        assert!(!out.exists(), "{what}");
    }

    // One shard with threshold 3 cannot give the others' verifying shares.
    let (five, _) = {
        let (key, public) = cometbft_key(&tmp.path().join("c"));
        (
            horcrux::create_shards(&tmp.path().join("c/horcrux"), CHAIN, &key, 3, 5),
            public,
        )
    };
    let o = import(&[
        "--shard",
        s(&five[0]),
        "--threshold",
        "3",
        "--shares",
        "5",
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("pass all 5 shard files"), "{}", text(&o));
    // All five do.
    let mut args = Vec::new();
    for f in &five {
        args.extend(["--shard", s(f)]);
    }
    let o = import(
        &[
            &args[..],
            &[
                "--threshold",
                "3",
                "--shares",
                "5",
                "--id",
                "4",
                "--out",
                s(&out),
                "--json",
            ],
        ]
        .concat(),
    );
    let v = json(&o);
    assert_eq!(v["signed_groups"], 10, "{v}");
    assert_eq!(Share::load(&out).unwrap().id(), 4);
}

#[test]
fn a_horcrux_sign_state_becomes_the_guard_state_at_the_higher_step() {
    let tmp = tempfile::tempdir().unwrap();
    let (shards, _) = horcrux_shards(tmp.path());
    let home = tmp.path().join("horcrux-home");
    let state_dir = horcrux::import_state(&home, CHAIN, r#"{"height":"1234","round":0,"step":2}"#);
    let [pv_file, share_file] = threshold::horcrux::state::state_files(&state_dir, CHAIN);

    let run = |state: &Path| {
        let o = import(&[
            "--shard",
            s(&shards[0]),
            "--threshold",
            "2",
            "--shares",
            "3",
            "--out",
            s(&state.with_extension("share")),
            "--state-dir",
            s(&state_dir),
            "--state",
            s(state),
            "--json",
        ]);
        let v = json(&o);
        let (store, _) = guard::StateStore::open(state, CHAIN).unwrap();
        (v, store.state().clone())
    };

    // As `horcrux state import` wrote it: both files at 1234/0/prevote, no sign bytes
    // (the chain comes from the shard file's name).
    let (v, st) = run(&tmp.path().join("s1"));
    assert_eq!(
        (st.height, st.round, st.step),
        (1234, 0, guard::Step::Prevote),
        "{v}"
    );
    assert!(st.sign_bytes.is_empty() && st.signature.is_empty());
    assert_eq!(v["state"]["sources"].as_array().unwrap().len(), 2, "{v}");

    // The share state ahead (a precommit at 1234/1 with its sign bytes, as Horcrux writes
    // them: upper-case hex, a partial signature): that one, sign bytes kept, no signature.
    let precommit = vote_at(
        privval::SignedMsgType::Precommit,
        1234,
        1,
        Some(block(7)),
        5,
    );
    let bytes = privval::vote_sign_bytes(CHAIN, &precommit);
    let mut share_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&share_file).unwrap()).unwrap();
    share_json["round"] = "1".into();
    share_json["step"] = 3.into();
    share_json["signbytes"] = hex::encode_upper(&bytes).into();
    share_json["signature"] = base64::engine::general_purpose::STANDARD
        .encode([9u8; 32])
        .into();
    std::fs::write(&share_file, share_json.to_string()).unwrap();
    let (v, st) = run(&tmp.path().join("s2"));
    assert_eq!(
        (st.height, st.round, st.step),
        (1234, 1, guard::Step::Precommit),
        "{v}"
    );
    assert_eq!(st.sign_bytes, bytes);
    assert!(st.signature.is_empty());
    assert_eq!(v["state"]["sign_bytes"], true, "{v}");

    // The sign state at the same step over other data: the step is known, its data not,
    // so no sign bytes (nothing more is signed at that step).
    let other = vote_at(
        privval::SignedMsgType::Precommit,
        1234,
        1,
        Some(block(8)),
        5,
    );
    let mut pv_json = share_json.clone();
    pv_json["signbytes"] = hex::encode_upper(privval::vote_sign_bytes(CHAIN, &other)).into();
    std::fs::write(&pv_file, pv_json.to_string()).unwrap();
    let (v, st) = run(&tmp.path().join("s3"));
    assert_eq!(
        (st.height, st.round, st.step),
        (1234, 1, guard::Step::Precommit),
        "{v}"
    );
    assert!(st.sign_bytes.is_empty(), "{v}");

    // The sign state higher still: it wins.
    pv_json["height"] = "1300".into();
    pv_json["signbytes"] = "".into();
    std::fs::write(&pv_file, pv_json.to_string()).unwrap();
    let (v, st) = run(&tmp.path().join("s4"));
    assert_eq!(
        (st.height, st.round, st.step),
        (1300, 1, guard::Step::Precommit),
        "{v}"
    );

    // No state files for that chain: a usage error, and nothing written.
    let out = tmp.path().join("s5");
    let o = import(&[
        "--shard",
        s(&shards[0]),
        "--threshold",
        "2",
        "--shares",
        "3",
        "--out",
        s(&out.with_extension("share")),
        "--state-dir",
        s(&state_dir),
        "--chain-id",
        "other-chain",
        "--state",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("neither"), "{}", text(&o));
    assert!(!out.exists() && !out.with_extension("share").exists());
}

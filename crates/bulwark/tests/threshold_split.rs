//! `bulwark threshold split` and `show` on a key from `cometbft init`: the share files, the
//! output, refusing to overwrite, refusing unsafe thresholds, and never printing a secret.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `cometbft init` in `dir/node`: its priv_validator_key.json, and the file's parsed JSON.
fn cometbft_key(dir: &Path) -> (PathBuf, serde_json::Value) {
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
    let json = serde_json::from_slice(&std::fs::read(&key).unwrap()).unwrap();
    (key, json)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn split_writes_private_shares_and_reports_the_validator() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, key_json) = cometbft_key(tmp.path());
    let out_dir = tmp.path().join("shares");
    let (k, o) = (key.to_str().unwrap(), out_dir.to_str().unwrap());
    let split = [
        "threshold",
        "split",
        "--key",
        k,
        "--threshold",
        "2",
        "--shares",
        "3",
    ];

    let out = bulwark().run(&[&split[..], &["--out", o, "--json"]].concat());
    let v = json(&out);
    assert_eq!(v["group_public_key"], key_json["pub_key"]["value"], "{v}");
    assert_eq!(v["address"], key_json["address"], "{v}");
    assert_eq!(
        (v["threshold"].as_u64(), v["total"].as_u64()),
        (Some(2), Some(3))
    );
    assert!(v["next_step"]
        .as_str()
        .unwrap()
        .contains("move the key file off this host"));
    assert_eq!(mode(&out_dir), 0o700);
    let files: Vec<PathBuf> = (1..=3)
        .map(|i| out_dir.join(format!("share-{i}.json")))
        .collect();
    assert_eq!(
        v["files"],
        serde_json::json!(files
            .iter()
            .map(|f| f.to_str().unwrap())
            .collect::<Vec<_>>())
    );
    let mut secrets = Vec::new();
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
        let share: serde_json::Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        assert_eq!(share["group_public_key"], key_json["pub_key"]["value"]);
        secrets.push(share["signing_share"].as_str().unwrap().to_string());
    }
    // The key file is left for the operator to move or destroy.
    assert!(key.exists());

    // Again: every share is in the way, nothing is touched.
    let before: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let again = bulwark().run(&[&split[..], &["--out", o]].concat());
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(
        text(&again).contains("refusing to overwrite"),
        "{}",
        text(&again)
    );
    let after: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    assert_eq!(before, after);

    // One share in the way of a new split: none is written.
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("share-2.json"), "in the way").unwrap();
    let blocked = bulwark().run(&[&split[..], &["--out", other.to_str().unwrap()]].concat());
    assert_eq!(blocked.status.code(), Some(2), "{}", text(&blocked));
    assert!(!other.join("share-1.json").exists() && !other.join("share-3.json").exists());

    // Text output says what to do with the key file.
    let text_dir = tmp.path().join("text");
    let t = bulwark().run(&[&split[..], &["--out", text_dir.to_str().unwrap()]].concat());
    assert!(t.status.success(), "{}", text(&t));
    let stdout = String::from_utf8_lossy(&t.stdout);
    for part in [
        key_json["address"].as_str().unwrap(),
        key_json["pub_key"]["value"].as_str().unwrap(),
        "2 of 3",
        "share-3.json",
        "bulwark did not delete it",
    ] {
        assert!(stdout.contains(part), "{stdout}\nlacks: {part}");
    }

    // `show` prints what the share is for, never its secret.
    let mut publics = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let f = f.to_str().unwrap();
        for args in [
            &["threshold", "show", "--share", f][..],
            &["threshold", "show", "--share", f, "--json"],
        ] {
            let shown = bulwark().run(args);
            assert!(shown.status.success(), "{}", text(&shown));
            let all = text(&shown);
            for s in &secrets {
                assert!(!all.contains(s.as_str()), "show printed a secret: {all}");
            }
            assert!(all.contains(key_json["address"].as_str().unwrap()), "{all}");
        }
        let v = json(&bulwark().run(&["threshold", "show", "--share", f, "--json"]));
        assert_eq!(v["id"].as_u64(), Some(i as u64 + 1));
        assert_eq!(v["threshold"].as_u64(), Some(2));
        assert_eq!(v["group_public_key"], key_json["pub_key"]["value"]);
        // Every share of one split shows the same public shares, three of them.
        let public = v["verifying_shares"].clone();
        assert_eq!(public.as_object().map(|m| m.len()), Some(3), "{v}");
        publics.push(public);
    }
    assert!(publics.windows(2).all(|w| w[0] == w[1]), "{publics:?}");
    // No secret in split's own output either.
    for s in &secrets {
        assert!(!text(&out).contains(s.as_str()) && !text(&t).contains(s.as_str()));
    }

    // A share others can read is refused.
    std::fs::set_permissions(&files[0], std::fs::Permissions::from_mode(0o644)).unwrap();
    let loose = bulwark().run(&["threshold", "show", "--share", files[0].to_str().unwrap()]);
    assert_eq!(loose.status.code(), Some(2), "{}", text(&loose));
    assert!(text(&loose).contains("chmod 600"), "{}", text(&loose));
}

#[test]
fn unsafe_thresholds_exit_2_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, _) = cometbft_key(tmp.path());
    let out_dir = tmp.path().join("shares");
    for (t, n, wanted) in [
        ("1", "3", "a single share sign alone"),
        (
            "2",
            "4",
            "two disjoint groups of cosigners could each sign a different block",
        ),
        ("4", "3", "more than the 3 shares"),
    ] {
        let out = bulwark().run(&[
            "threshold",
            "split",
            "--key",
            key.to_str().unwrap(),
            "--threshold",
            t,
            "--shares",
            n,
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2), "{t} of {n}: {}", text(&out));
        assert!(text(&out).contains(wanted), "{t} of {n}: {}", text(&out));
        assert!(
            !out_dir.exists(),
            "{t} of {n} created {}",
            out_dir.display()
        );
    }
}

#[test]
fn a_secp256k1_key_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("priv_validator_key.json");
    std::fs::write(
        &key,
        r#"{"address":"7C2BB42A8BE69791EC763E51F5A49BCD41E82237",
  "pub_key":{"type":"tendermint/PubKeySecp256k1","value":"ApUOHN/LEz1gJBCf1In3NO60UCQY5TjChIHyK84nbySM"},
  "priv_key":{"type":"tendermint/PrivKeySecp256k1","value":"QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI="}}"#,
    )
    .unwrap();
    let out_dir = tmp.path().join("shares");
    let out = bulwark().run(&[
        "threshold",
        "split",
        "--key",
        key.to_str().unwrap(),
        "--threshold",
        "2",
        "--shares",
        "3",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("secp256k1"), "{}", text(&out));
    assert!(!out_dir.exists());
}

#[test]
fn link_key_writes_a_private_key_and_prints_its_public_half() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("link.key");
    let k = key.to_str().unwrap();

    let out = bulwark().run(&["threshold", "link-key", "--out", k, "--json"]);
    let v = json(&out);
    assert_eq!(v["file"], k, "{v}");
    let public = v["public_key"].as_str().unwrap().to_string();
    assert_eq!(mode(&key), 0o600);
    let loaded = threshold::link::LinkKey::load(&key).unwrap();
    assert_eq!(loaded.public().to_string(), public);
    assert!(public.parse::<threshold::link::LinkPublic>().is_ok());
    // The secret is never printed.
    let secret = std::fs::read_to_string(&key).unwrap();
    assert!(!text(&out).contains(secret.trim()));

    // Never over an existing file: exit 2, the key untouched.
    let again = bulwark().run(&["threshold", "link-key", "--out", k]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(
        text(&again).contains("refusing to overwrite"),
        "{}",
        text(&again)
    );
    assert_eq!(std::fs::read_to_string(&key).unwrap(), secret);

    // Text output: the public key and where it goes.
    let other = tmp.path().join("other.key");
    let t = bulwark().run(&["threshold", "link-key", "--out", other.to_str().unwrap()]);
    assert!(t.status.success(), "{}", text(&t));
    let stdout = String::from_utf8_lossy(&t.stdout);
    let other_public = threshold::link::LinkKey::load(&other).unwrap().public();
    assert!(stdout.contains(&other_public.to_string()), "{stdout}");
    assert!(stdout.contains("[[threshold.peer]]"), "{stdout}");
    assert_ne!(other_public.to_string(), public);
}

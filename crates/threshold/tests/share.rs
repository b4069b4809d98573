//! Share files: written and loaded back unchanged, and every way a file can be wrong
//! refused with its own error (which never carries the secret).

mod common;

use common::*;
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use threshold::share::{identifier, Share, ShareError};
use threshold::split::split;

fn shares(t: u16, n: u16) -> Vec<Share> {
    split(COMETBFT_KEY.as_bytes(), t, n).unwrap()
}

/// The file text of `share`, as JSON.
fn file_json(share: &Share) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("share.json");
    share.write_new(&path).unwrap();
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn parse(v: &Value) -> Result<Share, ShareError> {
    Share::parse(
        Path::new("/etc/bulwark/share-1.json"),
        v.to_string().as_bytes(),
    )
}

/// Parse `v`, expect an error, and check that it names the file and hides the secret.
fn refused(v: &Value, secret: &str) -> ShareError {
    let e = parse(v).expect_err("the file should be refused");
    let msg = e.to_string();
    assert!(msg.contains("/etc/bulwark/share-1.json"), "{msg}");
    assert!(!msg.contains(secret), "the error carries the secret: {msg}");
    e
}

#[test]
fn a_share_round_trips_through_its_file_with_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    for s in shares(3, 5) {
        let path = dir.path().join(format!("share-{}.json", s.id()));
        s.write_new(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let back = Share::load(&path).unwrap();
        assert_eq!(back.id(), s.id());
        assert_eq!((back.threshold(), back.total()), (3, 5));
        assert_eq!(back.group_public_key(), cometbft_public());
        assert_eq!(back.key_package(), s.key_package());
        assert_eq!(back.public_key_package(), s.public_key_package());
        assert_eq!(*back.key_package().identifier(), identifier(s.id()));

        let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["type"], "bulwark/threshold-share-ed25519");
        assert_eq!(v["version"], 1);
        assert_eq!(v["id"], s.id());
        assert_eq!(v["group_public_key"], to_b64(&cometbft_public()));
        assert_eq!(v["signing_share"], secret_hex(&s));
        let ids: Vec<&String> = v["verifying_shares"].as_object().unwrap().keys().collect();
        assert_eq!(ids, ["1", "2", "3", "4", "5"]);

        let debug = format!("{back:?}");
        assert!(debug.contains("<redacted>"), "{debug}");
        assert!(!debug.contains(&secret_hex(&s)), "{debug}");
    }
    // Shares loaded from files still sign together.
    let loaded: Vec<Share> = [1, 3, 5]
        .iter()
        .map(|i| Share::load(&dir.path().join(format!("share-{i}.json"))).unwrap())
        .collect();
    let sig = frost_sign(&loaded.iter().collect::<Vec<_>>(), b"m");
    ed25519_dalek::VerifyingKey::from_bytes(&cometbft_public())
        .unwrap()
        .verify_strict(b"m", &ed25519_dalek::Signature::from_bytes(&sig))
        .unwrap();
}

#[test]
fn write_new_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("share.json");
    std::fs::write(&path, "keep me").unwrap();
    let e = shares(2, 3)[0].write_new(&path).unwrap_err();
    assert!(matches!(e, ShareError::Exists { .. }), "{e:?}");
    assert!(e.is_usage());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
}

#[test]
fn a_file_others_can_read_is_refused_with_a_chmod_hint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("share.json");
    shares(2, 3)[0].write_new(&path).unwrap();
    for mode in [0o644, 0o640, 0o604] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let e = Share::load(&path).unwrap_err();
        assert!(matches!(e, ShareError::LoosePermissions { .. }), "{e:?}");
        assert!(e.to_string().contains("chmod 600"), "{e}");
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
    Share::load(&path).unwrap();
    let e = Share::load(&dir.path().join("missing.json")).unwrap_err();
    assert!(matches!(e, ShareError::Io { .. }), "{e:?}");
}

#[test]
fn format_errors_name_what_is_wrong() {
    let s = &shares(2, 3)[0];
    let secret = secret_hex(s);
    let good = file_json(s);
    let with = |path: &[&str], value: Value| {
        let mut v = good.clone();
        let mut at = &mut v;
        for p in &path[..path.len() - 1] {
            at = &mut at[*p];
        }
        at[path[path.len() - 1]] = value;
        v
    };
    let without = |field: &str| {
        let mut v = good.clone();
        v.as_object_mut().unwrap().remove(field);
        v
    };
    let mut bad_hex = secret.clone();
    bad_hex.replace_range(0..2, "zz");
    let cases: Vec<(Value, &str)> = vec![
        (with(&["extra"], json!(1)), "unknown field `extra`"),
        (
            with(&["signing_share"], json!(bad_hex)),
            "signing_share is not 64 hex digits",
        ),
        (
            with(&["signing_share"], json!(&secret[..62])),
            "signing_share is not 64 hex digits",
        ),
        (
            with(&["signing_share"], json!("ff".repeat(32))),
            "not a scalar below the group order",
        ),
        (
            with(&["verifying_shares", "2"], json!("xy".repeat(32))),
            "verifying share 2 is not 64 hex digits",
        ),
        (
            with(&["verifying_shares", "2"], json!("ff".repeat(32))),
            "verifying share 2 is not a valid point",
        ),
        (
            with(
                &["verifying_shares", "4"],
                good["verifying_shares"]["3"].clone(),
            ),
            "id \"4\", not one of 1..=3",
        ),
        (
            with(
                &["verifying_shares", "01"],
                good["verifying_shares"]["1"].clone(),
            ),
            "id \"01\"",
        ),
        (
            with(&["group_public_key"], json!(to_b64(&[0xff; 32]))),
            "group_public_key is not a valid Ed25519 public key",
        ),
        (
            with(&["group_public_key"], json!(to_b64(&[1; 31]))),
            "31 bytes, not 32",
        ),
        (
            with(&["group_public_key"], json!("!!")),
            "group_public_key is not base64",
        ),
        (
            with(&["type"], json!("tendermint/PrivKeyEd25519")),
            "not \"bulwark/threshold-share-ed25519\"",
        ),
        (
            with(&["version"], json!(2)),
            "version 2 is not one this Bulwark reads",
        ),
        (without("signing_share"), "missing field `signing_share`"),
    ];
    for (v, wanted) in cases {
        let e = refused(&v, &secret);
        assert!(matches!(e, ShareError::Format { .. }), "{wanted}: {e:?}");
        assert!(e.is_usage());
        assert!(e.to_string().contains(wanted), "wanted {wanted:?} in {e}");
    }
    let mut missing = good.clone();
    missing["verifying_shares"]
        .as_object_mut()
        .unwrap()
        .remove("3");
    assert!(refused(&missing, &secret)
        .to_string()
        .contains("lacks ids [3]"));

    // Text-level damage: a duplicated id, an escaped secret, not JSON at all.
    let text = good.to_string();
    let v1 = good["verifying_shares"]["1"].as_str().unwrap();
    let dup = text.replacen(
        &format!("\"1\":\"{v1}\""),
        &format!("\"1\":\"{v1}\",\"1\":\"{v1}\""),
        1,
    );
    assert_ne!(dup, text);
    // The secret's first digit written as a \u escape.
    let escaped = text.replace(
        &format!("\"signing_share\":\"{}", &secret[..1]),
        &format!("\"signing_share\":\"\\u00{:x}", secret.as_bytes()[0]),
    );
    assert_ne!(escaped, text);
    for (t, wanted) in [
        (dup, "has id 1 twice"),
        (escaped, "JSON escapes"),
        ("{".to_string(), "not a valid share file"),
        (
            text.replace('{', "[").replace('}', "]"),
            "not a valid share file",
        ),
    ] {
        let e = Share::parse(Path::new("/etc/bulwark/share-1.json"), t.as_bytes()).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, ShareError::Format { .. }), "{wanted}: {e:?}");
        assert!(msg.contains(wanted), "wanted {wanted:?} in {msg}");
        assert!(!msg.contains(&secret[2..]), "{msg}");
    }
    assert!(Share::parse(Path::new("x"), &[0xff, 0xfe]).is_err());
}

#[test]
fn thresholds_and_ids_out_of_bounds_are_refused() {
    let s = &shares(2, 3)[0];
    let secret = secret_hex(s);
    let good = file_json(s);
    let set = |pairs: &[(&str, u64)]| {
        let mut v = good.clone();
        for (k, n) in pairs {
            v[*k] = json!(n);
        }
        v
    };
    for (v, wanted) in [
        (
            set(&[("threshold", 2), ("total", 4)]),
            "two disjoint groups of cosigners could each sign a different block",
        ),
        (set(&[("threshold", 1)]), "a single share sign alone"),
        (set(&[("threshold", 4)]), "more than the 3 shares"),
        (set(&[("id", 0)]), "its id 0 is not one of the ids 1..=3"),
        (set(&[("id", 4)]), "its id 4 is not one of the ids 1..=3"),
        (
            set(&[("total", 256), ("threshold", 200)]),
            "more than the 255 supported",
        ),
    ] {
        let e = refused(&v, &secret);
        assert!(
            matches!(e, ShareError::Parameters { .. }),
            "{wanted}: {e:?}"
        );
        assert!(e.is_usage());
        assert!(e.to_string().contains(wanted), "wanted {wanted:?} in {e}");
    }
}

#[test]
fn shares_that_do_not_add_up_are_refused() {
    let all = shares(2, 3);
    let s = &all[0];
    let secret = secret_hex(s);
    let good = file_json(s);
    parse(&good).unwrap();
    let vs = |id: &str| good["verifying_shares"][id].clone();

    // Its own slot holds another id's verifying share.
    let mut v = good.clone();
    v["verifying_shares"]["1"] = vs("2");
    let e = refused(&v, &secret);
    assert!(
        matches!(e, ShareError::WrongSigningShare { id: 1, .. }),
        "{e:?}"
    );
    assert!(!e.is_usage());

    // It claims to be another id.
    let mut v = good.clone();
    v["id"] = json!(2);
    assert!(matches!(
        refused(&v, &secret),
        ShareError::WrongSigningShare { id: 2, .. }
    ));

    // Its signing share is another share's.
    let mut v = good.clone();
    v["signing_share"] = json!(secret_hex(&all[1]));
    assert!(matches!(
        refused(&v, &secret_hex(&all[1])),
        ShareError::WrongSigningShare { id: 1, .. }
    ));

    // Share 3 is a valid point, but not on the line through shares 1 and 2.
    let mut v = good.clone();
    v["verifying_shares"]["3"] = json!(hex::encode(cometbft_public()));
    let e = refused(&v, &secret);
    match &e {
        ShareError::NotOnPolynomial { ids, degree: 1, .. } => assert_eq!(ids, &[3]),
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("one polynomial of degree 1"), "{e}");

    // Share 2 off: shares 1 and 2 fix another line, which share 3 is not on.
    let mut v = good.clone();
    v["verifying_shares"]["2"] = vs("3");
    assert!(matches!(
        refused(&v, &secret),
        ShareError::NotOnPolynomial { .. }
    ));

    // The shares agree with each other but not with the group key.
    let mut v = good.clone();
    v["group_public_key"] = json!(to_b64(&hex::decode(vs("2").as_str().unwrap()).unwrap()));
    let e = refused(&v, &secret);
    assert!(matches!(e, ShareError::GroupKeyMismatch { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("do not interpolate to the group public key"),
        "{e}"
    );

    // Shares of another split of the same key: every field valid, the set inconsistent.
    let other = shares(2, 3);
    let mut v = good.clone();
    v["verifying_shares"]["3"] = file_json(&other[2])["verifying_shares"]["3"].clone();
    assert!(matches!(
        refused(&v, &secret),
        ShareError::NotOnPolynomial { .. }
    ));
}

#[test]
fn from_parts_checks_what_parse_checks() {
    let a = shares(2, 3);
    let b = shares(2, 3);
    let again = Share::from_parts(
        a[1].key_package().clone(),
        a[1].public_key_package().clone(),
        3,
    )
    .unwrap();
    assert_eq!(again.id(), 2);
    assert_eq!(again.key_package(), a[1].key_package());
    // A key package with the public package of another split.
    let e = Share::from_parts(
        a[1].key_package().clone(),
        b[1].public_key_package().clone(),
        3,
    )
    .unwrap_err();
    assert!(
        matches!(e, ShareError::WrongSigningShare { id: 2, .. }),
        "{e:?}"
    );
    // A wrong total.
    let e = Share::from_parts(
        a[0].key_package().clone(),
        a[0].public_key_package().clone(),
        4,
    )
    .unwrap_err();
    assert!(matches!(e, ShareError::Parameters { .. }), "{e:?}");
    let e = Share::from_parts(
        a[0].key_package().clone(),
        a[0].public_key_package().clone(),
        2,
    )
    .unwrap_err();
    assert!(
        matches!(e, ShareError::Parameters { .. } | ShareError::Format { .. }),
        "{e:?}"
    );
}

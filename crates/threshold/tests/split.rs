//! Splitting CometBFT keys: the group key is the original, every t of the shares sign for
//! it, and keys or parameters that must not be split are refused.

mod common;

use common::*;
use ed25519_dalek::Verifier;
use threshold::share::identifier;
use threshold::split::{check_parameters, split, SplitError};

const MSG: &[u8] = b"a CometBFT vote's sign bytes stand here";

/// Split `key_file`, and check ids, counts, the group key, and that every group of
/// `t` shares signs under `public` as ed25519-dalek verifies it.
fn split_and_sign(key_file: &str, public: [u8; 32], t: u16, n: u16) {
    let shares = split(key_file.as_bytes(), t, n).unwrap();
    assert_eq!(shares.len(), usize::from(n));
    for (i, s) in shares.iter().enumerate() {
        assert_eq!(s.id(), i as u16 + 1);
        assert_eq!(*s.key_package().identifier(), identifier(s.id()));
        assert_eq!((s.threshold(), s.total()), (t, n));
        assert_eq!(s.group_public_key(), public);
    }
    let original = ed25519_dalek::VerifyingKey::from_bytes(&public).unwrap();
    let all: Vec<usize> = (0..shares.len()).collect();
    for group in groups(&all, usize::from(t)) {
        let signers: Vec<_> = group.iter().map(|i| &shares[*i]).collect();
        let sig = ed25519_dalek::Signature::from_bytes(&frost_sign(&signers, MSG));
        original
            .verify_strict(MSG, &sig)
            .unwrap_or_else(|e| panic!("group {group:?}: {e}"));
        original.verify(MSG, &sig).unwrap();
    }
    // Fewer than t shares do not make a signature for the key.
    if t > 2 {
        let few: Vec<_> = shares[..usize::from(t) - 1].iter().collect();
        if let Ok(sig) = try_frost_sign(&few, MSG) {
            let sig = ed25519_dalek::Signature::from_bytes(&sig);
            assert!(original.verify_strict(MSG, &sig).is_err());
        }
    }
}

#[test]
fn a_cometbft_init_key_splits_2_of_3_and_every_pair_signs_for_it() {
    split_and_sign(COMETBFT_KEY, cometbft_public(), 2, 3);
}

#[test]
fn a_generated_key_splits_3_of_5_and_3_of_4_and_every_group_signs() {
    let key = fresh_key();
    let file = key_file(&key);
    split_and_sign(&file, key.verifying_key().to_bytes(), 3, 5);
    split_and_sign(&file, key.verifying_key().to_bytes(), 3, 4);
}

#[test]
fn each_split_deals_fresh_shares_of_the_same_key() {
    let a = split(COMETBFT_KEY.as_bytes(), 2, 3).unwrap();
    let b = split(COMETBFT_KEY.as_bytes(), 2, 3).unwrap();
    assert_eq!(a[0].group_public_key(), b[0].group_public_key());
    assert_ne!(secret_hex(&a[0]), secret_hex(&b[0]));
    // Shares of different splits do not sign together.
    if let Ok(sig) = try_frost_sign(&[&a[0], &b[1]], MSG) {
        let original = ed25519_dalek::VerifyingKey::from_bytes(&cometbft_public()).unwrap();
        let sig = ed25519_dalek::Signature::from_bytes(&sig);
        assert!(original.verify_strict(MSG, &sig).is_err());
    }
}

#[test]
fn a_secp256k1_key_is_refused() {
    let secp = r#"{"address":"7C2BB42A8BE69791EC763E51F5A49BCD41E82237",
      "pub_key":{"type":"tendermint/PubKeySecp256k1","value":"ApUOHN/LEz1gJBCf1In3NO60UCQY5TjChIHyK84nbySM"},
      "priv_key":{"type":"tendermint/PrivKeySecp256k1","value":"QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI="}}"#;
    let e = split(secp.as_bytes(), 2, 3).unwrap_err();
    assert!(matches!(e, SplitError::Unsupported(_)), "{e:?}");
    assert!(e.is_usage());
    let msg = e.to_string();
    assert!(
        msg.contains("secp256k1") && msg.contains("Ed25519"),
        "{msg}"
    );
    assert!(!msg.contains("QkJC"), "{msg}");
}

#[test]
fn inconsistent_or_malformed_key_files_are_refused_without_echoing_the_secret() {
    let key = fresh_key();
    let other = fresh_key().verifying_key().to_bytes();
    let public = key.verifying_key().to_bytes();
    let mut wrong_half = key.to_keypair_bytes();
    wrong_half[32..].copy_from_slice(&other);
    let wrong_address = key_file(&key).replace(
        &hex::encode_upper(&<sha2::Sha256 as sha2::Digest>::digest(public)[..20]),
        "EBEBEB484004ACBFAB78E398732765076F457A81",
    );
    let escaped = COMETBFT_KEY.replace("L/pof", "L\\/pof");
    let cases: Vec<(String, &str)> = vec![
        (
            key_file_of(&wrong_half, &other),
            "public half of priv_key.value does not match its seed",
        ),
        (
            key_file_of(&key.to_keypair_bytes(), &other),
            "pub_key.value does not match",
        ),
        (wrong_address, "is not the address of its key"),
        (
            key_file_of(&key.to_bytes(), &public),
            "32 bytes, not the 64",
        ),
        ("not json".into(), "not a CometBFT priv_validator_key.json"),
        (r#"{"address":""}"#.into(), "no priv_key"),
        (
            r#"{"priv_key":{"type":"tendermint/PrivKeyEd25519","value":"not base64!"}}"#.into(),
            "not base64",
        ),
        (escaped, "JSON escapes"),
    ];
    let seed_b64 = to_b64(&key.to_keypair_bytes());
    for (file, wanted) in cases {
        let e = split(file.as_bytes(), 2, 3).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, SplitError::Key(_)), "{wanted}: {e:?}");
        assert!(e.is_usage());
        assert!(msg.contains(wanted), "wanted {wanted:?} in {msg}");
        assert!(
            !msg.contains(&seed_b64[..16]) && !msg.contains("JrrY"),
            "{msg}"
        );
    }
}

#[test]
fn thresholds_of_half_or_less_one_or_too_many_shares_are_refused() {
    let cases = [
        (1, 3, "single share"),
        (
            2,
            4,
            "two disjoint groups of cosigners could each sign a different block",
        ),
        (3, 6, "Use at least 4 of 6"),
        (1, 1, "single share"),
        (4, 3, "more than the 3 shares"),
        (200, 256, "more than the 255"),
    ];
    for (t, n, wanted) in cases {
        for e in [
            check_parameters(t, n).unwrap_err(),
            split(COMETBFT_KEY.as_bytes(), t, n).unwrap_err(),
        ] {
            assert!(matches!(e, SplitError::Parameters(_)), "{t} of {n}: {e:?}");
            assert!(e.is_usage());
            assert!(e.to_string().contains(wanted), "{t} of {n}: {e}");
        }
    }
    for (t, n) in [(2, 2), (2, 3), (3, 4), (3, 5), (128, 255)] {
        check_parameters(t, n).unwrap();
    }
}

#[test]
fn a_split_with_many_groups_still_signs_with_any_of_them() {
    // 7 of 12 has 792 groups; the split's self-check signs with a few that cover every
    // share, and any group signs.
    let key = fresh_key();
    let shares = split(key_file(&key).as_bytes(), 7, 12).unwrap();
    let original = key.verifying_key();
    for group in [
        [0, 1, 2, 3, 4, 5, 6],
        [5, 6, 7, 8, 9, 10, 11],
        [0, 2, 4, 6, 8, 10, 11],
    ] {
        let signers: Vec<_> = group.iter().map(|i| &shares[*i]).collect();
        let sig = ed25519_dalek::Signature::from_bytes(&frost_sign(&signers, MSG));
        original.verify_strict(MSG, &sig).unwrap();
    }
}

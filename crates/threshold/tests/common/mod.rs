//! Key files and a FROST signing round, for the share and split tests.

#![allow(dead_code)]

use base64::Engine;
use frost_ed25519::rand_core::OsRng;
use frost_ed25519::{round1, round2, SigningPackage};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use threshold::share::Share;

/// A `priv_validator_key.json` written by `cometbft init` (v0.38): address EBEB..7A81.
pub const COMETBFT_KEY: &str = r#"{
  "address": "EBEBEB484004ACBFAB78E398732765076F457A81",
  "pub_key": {
    "type": "tendermint/PubKeyEd25519",
    "value": "hIS6wuRTA5CfctAdQEUuDnf1YvC31SYrSHEhKRsfm+U="
  },
  "priv_key": {
    "type": "tendermint/PrivKeyEd25519",
    "value": "JrrY1b7BKbojJt4Dz+jV83OtHXReL/pofGIk8k89n62EhLrC5FMDkJ9y0B1ARS4Od/Vi8LfVJitIcSEpGx+b5Q=="
  }
}"#;

/// The public key of `COMETBFT_KEY`.
pub fn cometbft_public() -> [u8; 32] {
    b64(COMETBFT_KEY_PUB).try_into().unwrap()
}

const COMETBFT_KEY_PUB: &str = "hIS6wuRTA5CfctAdQEUuDnf1YvC31SYrSHEhKRsfm+U=";

pub fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

pub fn to_b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// A key file in CometBFT's format for `key`, as `cometbft init` writes it.
pub fn key_file(key: &ed25519_dalek::SigningKey) -> String {
    let public = key.verifying_key().to_bytes();
    key_file_of(&key.to_keypair_bytes(), &public)
}

/// A key file whose `priv_key.value` is `secret` and whose `pub_key.value` is `public`.
pub fn key_file_of(secret: &[u8], public: &[u8]) -> String {
    let address = hex::encode_upper(&Sha256::digest(public)[..20]);
    serde_json::to_string_pretty(&serde_json::json!({
        "address": address,
        "pub_key": {"type": "tendermint/PubKeyEd25519", "value": to_b64(public)},
        "priv_key": {"type": "tendermint/PrivKeyEd25519", "value": to_b64(secret)},
    }))
    .unwrap()
}

/// A fresh Ed25519 key.
pub fn fresh_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::generate(&mut OsRng)
}

/// One FROST round (commit, sign, aggregate) of `signers` over `msg`: the signature bytes.
pub fn frost_sign(signers: &[&Share], msg: &[u8]) -> [u8; 64] {
    try_frost_sign(signers, msg).unwrap()
}

/// `frost_sign`, or frost's refusal.
pub fn try_frost_sign(signers: &[&Share], msg: &[u8]) -> Result<[u8; 64], frost_ed25519::Error> {
    let mut nonces = BTreeMap::new();
    let mut commitments = BTreeMap::new();
    for s in signers {
        let (n, c) = round1::commit(s.key_package().signing_share(), &mut OsRng);
        nonces.insert(*s.key_package().identifier(), n);
        commitments.insert(*s.key_package().identifier(), c);
    }
    let package = SigningPackage::new(commitments, msg);
    let shares: BTreeMap<_, _> = signers
        .iter()
        .map(|s| {
            let id = *s.key_package().identifier();
            Ok((id, round2::sign(&package, &nonces[&id], s.key_package())?))
        })
        .collect::<Result<_, frost_ed25519::Error>>()?;
    let sig = frost_ed25519::aggregate(&package, &shares, signers[0].public_key_package())?;
    Ok(sig.serialize()?.try_into().expect("64 bytes"))
}

/// Every group of `t` of `items`.
pub fn groups<T: Copy>(items: &[T], t: usize) -> Vec<Vec<T>> {
    if t == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for (i, first) in items.iter().enumerate() {
        for mut rest in groups(&items[i + 1..], t - 1) {
            rest.insert(0, *first);
            out.push(rest);
        }
    }
    out
}

/// The hex of a share's signing share (to check that it is never printed).
pub fn secret_hex(share: &Share) -> String {
    hex::encode(share.key_package().signing_share().serialize())
}

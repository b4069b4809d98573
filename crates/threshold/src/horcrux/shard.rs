//! Horcrux's Ed25519 shard file, `{chain}_shard.json`, read without copying the secret.
//!
//! ```json
//! {"pubKey":"CiC4pOYB...","privateShard":"/V1EagP5...","id":1}
//! ```
//!
//! As Horcrux v3 writes it (`signer.CosignerEd25519Key`, Go's `encoding/json`): `pubKey`
//! is the base64 of the protobuf `tendermint.crypto.PublicKey` (field 1, ed25519: the
//! bytes `0a 20` and the 32-byte key; files of Horcrux before the protobuf migration hold
//! the amino encoding `16 24 de 64 20` and the key instead, which Horcrux still reads);
//! `privateShard` is the base64 of the 32-byte little-endian Shamir share of the Ed25519
//! secret scalar; `id` is the share's x-coordinate, 1..=n (Horcrux's `DealShares`
//! evaluates the polynomial at `i + 1` for shard `i` and writes `ID: i + 1`).
//!
//! The file's bytes are expected in zeroizing memory; `privateShard`'s base64 is borrowed
//! from them and decoded straight into zeroizing memory. A value with JSON escapes cannot
//! be borrowed and is refused: base64 never needs escapes, and Go writes none.

use base64::Engine;
use frost_ed25519::keys::SigningShare;
use privval::key_file::{Borrowed, SecretField};
use serde::Deserialize;
use std::fmt;
use zeroize::Zeroizing;

/// Protobuf `tendermint.crypto.PublicKey{ed25519}`: field 1, length 32.
const PROTO_ED25519: [u8; 2] = [0x0a, 0x20];
/// Protobuf `tendermint.crypto.PublicKey{secp256k1}`: field 2, length 33.
const PROTO_SECP256K1: [u8; 2] = [0x12, 0x21];
/// Amino prefix of `tendermint/PubKeyEd25519` and the length 32.
const AMINO_ED25519: [u8; 5] = [0x16, 0x24, 0xde, 0x64, 0x20];

/// One Horcrux shard, decoded. `Debug` never prints the secret share.
pub struct Shard {
    /// The shard's id, its Shamir x-coordinate (1..=n).
    pub id: u16,
    /// The validator's Ed25519 public key, as the shard names it.
    pub public_key: [u8; 32],
    /// The secret share, a scalar below the group order.
    pub secret: Zeroizing<SigningShare>,
}

impl fmt::Debug for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shard")
            .field("id", &self.id)
            .field("public_key", &hex::encode(self.public_key))
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[derive(Deserialize)]
struct ShardJson<'a> {
    #[serde(rename = "pubKey")]
    pub_key: Option<String>,
    #[serde(rename = "privateShard", borrow)]
    private_shard: Option<Borrowed<'a, PrivateShard>>,
    id: Option<i64>,
}

/// Parse a shard file's bytes. The error says what is wrong, never the secret.
pub fn parse(bytes: &[u8]) -> Result<Shard, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string())?;
    // serde_json's messages name a position or a field, never the content.
    let j: ShardJson =
        serde_json::from_str(text.trim()).map_err(|e| format!("not a Horcrux shard file ({e})"))?;
    let id = j.id.ok_or("it has no id")?;
    let id = u16::try_from(id)
        .ok()
        .filter(|i| *i >= 1)
        .ok_or_else(|| format!("its id is {id}; Horcrux shard ids run from 1"))?;
    let public_key = decode_public_key(j.pub_key.as_deref().ok_or("it has no pubKey")?)?;
    let b64 = j.private_shard.ok_or("it has no privateShard")?.0;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut raw = Zeroizing::new([0u8; 48]);
    let n = engine
        .decode_slice(b64.trim().as_bytes(), &mut raw[..])
        .map_err(|_| "privateShard is not base64 of 32 bytes".to_string())?;
    if n != 32 {
        return Err(format!(
            "privateShard is {n} bytes, not the 32 of an Ed25519 secret share"
        ));
    }
    let secret = SigningShare::deserialize(&raw[..32])
        .map_err(|_| "privateShard is not a scalar below the Ed25519 group order".to_string())?;
    Ok(Shard {
        id,
        public_key,
        secret: Zeroizing::new(secret),
    })
}

/// The 32-byte Ed25519 key of a shard's `pubKey` (protobuf, or amino in old files).
fn decode_public_key(b64: &str) -> Result<[u8; 32], String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| "pubKey is not base64".to_string())?;
    let key = if bytes.len() == 34 && bytes[..2] == PROTO_ED25519 {
        &bytes[2..]
    } else if bytes.len() == 37 && bytes[..5] == AMINO_ED25519 {
        &bytes[5..]
    } else if bytes.len() == 35 && bytes[..2] == PROTO_SECP256K1 {
        return Err(
            "pubKey is a secp256k1 key; only Ed25519 shards can become FROST shares".into(),
        );
    } else {
        return Err(format!(
            "pubKey is {} bytes that are not a protobuf or amino Ed25519 public key",
            bytes.len()
        ));
    };
    Ok(key.try_into().expect("32 bytes"))
}

/// `privateShard`, base64.
struct PrivateShard;

impl SecretField for PrivateShard {
    const NAME: &'static str = "privateShard";
    const ENCODING: &'static str = "base64";
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by `horcrux create-ed25519-shards` v3.3.2.
    const REAL: &str = r#"{"pubKey":"CiC4pOYBe7/zo7jPWxyGCjOIF99e+uNmxz4ZSDnfN5F0Kg==","privateShard":"/V1EagP5wcz1zm4K1aJXI2oDYhw/6UyY8dfaa/90HA4=","id":1}"#;

    #[test]
    fn reads_a_horcrux_shard() {
        let s = parse(REAL.as_bytes()).unwrap();
        assert_eq!(s.id, 1);
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(s.public_key),
            "uKTmAXu/86O4z1schgoziBffXvrjZsc+GUg53zeRdCo="
        );
        assert!(!format!("{s:?}").contains("/V1E"));
    }

    #[test]
    fn reads_the_amino_public_key_of_old_files() {
        let s = parse(REAL.as_bytes()).unwrap();
        let mut amino = AMINO_ED25519.to_vec();
        amino.extend_from_slice(&s.public_key);
        let b64 = base64::engine::general_purpose::STANDARD.encode(amino);
        let old = REAL.replace("CiC4pOYBe7/zo7jPWxyGCjOIF99e+uNmxz4ZSDnfN5F0Kg==", &b64);
        assert_eq!(parse(old.as_bytes()).unwrap().public_key, s.public_key);
    }

    #[test]
    fn refuses_damaged_shards_without_echoing_the_secret() {
        let cases = [
            ("", "not a Horcrux shard file"),
            ("[]", "not a Horcrux shard file"),
            (
                r#"{"pubKey":"CiC4pOYBe7/zo7jPWxyGCjOIF99e+uNmxz4ZSDnfN5F0Kg==","privateShard":"/V1EagP5wcz1zm4K1aJXI2oDYhw/6UyY8dfaa/90HA4="}"#,
                "no id",
            ),
            (
                r#"{"pubKey":"CiC4pOYBe7/zo7jPWxyGCjOIF99e+uNmxz4ZSDnfN5F0Kg==","privateShard":"/V1EagP5wcz1zm4K1aJXI2oDYhw/6UyY8dfaa/90HA4=","id":0}"#,
                "id is 0",
            ),
            (
                r#"{"privateShard":"/V1EagP5wcz1zm4K1aJXI2oDYhw/6UyY8dfaa/90HA4=","id":1}"#,
                "no pubKey",
            ),
            (
                r#"{"pubKey":"uKTmAXu/86O4z1schgoziBffXvrjZsc+GUg53zeRdCo=","privateShard":"/V1EagP5wcz1zm4K1aJXI2oDYhw/6UyY8dfaa/90HA4=","id":1}"#,
                "not a protobuf or amino",
            ),
            (
                r#"{"pubKey":"CiC4pOYBe7/zo7jPWxyGCjOIF99e+uNmxz4ZSDnfN5F0Kg==","privateShard":"/V1EagP5wcz1zm4K1aJXI2oDYhw/6UyY8dfaa/90HA==","id":1}"#,
                "31 bytes",
            ),
            (
                r#"{"pubKey":"CiC4pOYBe7/zo7jPWxyGCjOIF99e+uNmxz4ZSDnfN5F0Kg==","privateShard":"//////////////////////////////////////////8=","id":1}"#,
                "below the Ed25519 group order",
            ),
            (
                r#"{"pubKey":"CiC4pOYBe7/zo7jPWxyGCjOIF99e+uNmxz4ZSDnfN5F0Kg==","privateShard":"\/V1EagP5wcz1zm4K1aJXI2oDYhw/6UyY8dfaa/90HA4=","id":1}"#,
                "JSON escapes",
            ),
        ];
        for (text, want) in cases {
            let e = parse(text.as_bytes()).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
            assert!(!e.contains("V1EagP5"), "{e}");
        }
    }
}

//! CometBFT's `priv_validator_key.json`, read without copying the secret: the one parser
//! of the file, for the signer's file key and for splitting a key into shares.
//!
//! The secret's base64 is borrowed from the caller's bytes (never copied into a `String`
//! or a `serde_json::Value`, which nothing would zeroize) and decoded straight into
//! zeroizing memory; callers keep the file's bytes in zeroizing memory too. A value with
//! JSON escapes cannot be borrowed (serde_json would unescape it into a scratch buffer),
//! so it is refused: base64 never needs escapes, and CometBFT writes none.
//!
//! [`Borrowed`] is that borrowing, for other files that hold a secret as text (share
//! files, Horcrux shards).
//!
//! Only the shape is checked here. What the key must be (its type, its length, that the
//! public key and address match it) is each caller's business.

use base64::Engine;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::marker::PhantomData;
use zeroize::Zeroizing;

/// Why the bytes are not a key file. No message carries any of the file's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileError {
    /// The bytes are not UTF-8.
    #[error("it is not UTF-8 text")]
    NotText,
    /// Not JSON, or JSON of another shape (serde_json's message names a position only).
    #[error("not a CometBFT priv_validator_key.json: {0}")]
    NotKeyFile(String),
    /// A required field is missing or empty: `priv_key`, `priv_key.type` or
    /// `priv_key.value`.
    #[error("it has no {0}")]
    Missing(&'static str),
    /// `priv_key.value` or `pub_key.value` is not standard base64.
    #[error("{0} is not base64")]
    NotBase64(&'static str),
}

/// The fields CometBFT writes; others are ignored.
#[derive(Deserialize)]
struct KeyJson<'a> {
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    pub_key: Option<PubKeyJson>,
    #[serde(borrow)]
    priv_key: Option<PrivKeyJson<'a>>,
}

#[derive(Deserialize)]
struct PubKeyJson {
    #[serde(rename = "type")]
    key_type: Option<String>,
    value: Option<String>,
}

#[derive(Deserialize)]
struct PrivKeyJson<'a> {
    #[serde(rename = "type")]
    key_type: Option<String>,
    #[serde(borrow)]
    value: Option<Borrowed<'a, PrivKeyValue>>,
}

/// `priv_key.value`, base64.
struct PrivKeyValue;

impl SecretField for PrivKeyValue {
    const NAME: &'static str = "priv_key.value";
    const ENCODING: &'static str = "base64";
}

/// A JSON field holding a secret as text, for [`Borrowed`]: its name and encoding, for
/// the errors.
pub trait SecretField {
    /// The field's name in the file, e.g. `priv_key.value`.
    const NAME: &'static str;
    /// How the secret is written, e.g. `base64` or `hex`.
    const ENCODING: &'static str;
}

/// A secret string field borrowed from the input (with `#[serde(borrow)]`), never copied
/// into a `String` that nothing would zeroize. A value with JSON escapes cannot be
/// borrowed (serde_json would unescape it into a scratch buffer), so it is refused; base64
/// and hex never need escapes. No error echoes the value.
pub struct Borrowed<'a, F>(pub &'a str, PhantomData<F>);

impl<F: SecretField> std::fmt::Debug for Borrowed<'_, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: <redacted>", F::NAME)
    }
}

impl<'de: 'a, 'a, F: SecretField> Deserialize<'de> for Borrowed<'a, F> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(BorrowOnly(PhantomData))
    }
}

struct BorrowOnly<'a, F>(PhantomData<(&'a (), F)>);

impl<'de: 'a, 'a, F: SecretField> Visitor<'de> for BorrowOnly<'a, F> {
    type Value = Borrowed<'a, F>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "a {} string", F::ENCODING)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Borrowed(v, PhantomData))
    }

    // Never echo the value in an error: it is the secret.
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Err(E::custom(format_args!(
            "{} holds JSON escapes; write it as plain {}",
            F::NAME,
            F::ENCODING
        )))
    }
}

/// `pub_key` as the file has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PubKeyField {
    /// `pub_key.type`, when present.
    pub key_type: Option<String>,
    /// `pub_key.value`, still base64.
    value: String,
}

impl PubKeyField {
    /// `pub_key.value`, base64-decoded.
    pub fn decode(&self) -> Result<Vec<u8>, KeyFileError> {
        base64::engine::general_purpose::STANDARD
            .decode(self.value.as_bytes())
            .map_err(|_| KeyFileError::NotBase64("pub_key.value"))
    }
}

/// What a key file holds.
pub struct KeyFile {
    /// `priv_key.type`, e.g. `tendermint/PrivKeyEd25519`.
    pub key_type: String,
    /// `priv_key.value`, base64-decoded.
    pub secret: Zeroizing<Vec<u8>>,
    /// `pub_key`, when it has a value.
    pub public: Option<PubKeyField>,
    /// `address`, when present and not empty.
    pub address: Option<String>,
}

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFile")
            .field("key_type", &self.key_type)
            .field("secret", &"<redacted>")
            .field("public", &self.public)
            .field("address", &self.address)
            .finish()
    }
}

/// Parse a key file's bytes (surrounding whitespace allowed).
pub fn parse(bytes: &[u8]) -> Result<KeyFile, KeyFileError> {
    let text = std::str::from_utf8(bytes).map_err(|_| KeyFileError::NotText)?;
    let k = parse_json(text.trim())?;
    let pk = k.priv_key.ok_or(KeyFileError::Missing("priv_key"))?;
    let key_type = pk
        .key_type
        .filter(|t| !t.is_empty())
        .ok_or(KeyFileError::Missing("priv_key.type"))?;
    let value = pk.value.ok_or(KeyFileError::Missing("priv_key.value"))?.0;
    let mut secret = Zeroizing::new(vec![0u8; value.len() / 4 * 3 + 3]);
    let n = base64::engine::general_purpose::STANDARD
        .decode_slice(value.as_bytes(), &mut secret[..])
        .map_err(|_| KeyFileError::NotBase64("priv_key.value"))?;
    secret.truncate(n);
    let public = k.pub_key.and_then(|p| {
        Some(PubKeyField {
            key_type: p.key_type,
            value: p.value?,
        })
    });
    Ok(KeyFile {
        key_type,
        secret,
        public,
        address: k.address.filter(|a| !a.is_empty()),
    })
}

fn parse_json(text: &str) -> Result<KeyJson<'_>, KeyFileError> {
    // serde_json's messages name a position, never the content.
    serde_json::from_str(text).map_err(|e| KeyFileError::NotKeyFile(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = r#"{"address":"EBEBEB484004ACBFAB78E398732765076F457A81","pub_key":{"type":"tendermint/PubKeyEd25519","value":"hIS6wuRTA5CfctAdQEUuDnf1YvC31SYrSHEhKRsfm+U="},"priv_key":{"type":"tendermint/PrivKeyEd25519","value":"JrrY1b7BKbojJt4Dz+jV83OtHXReL/pofGIk8k89n62EhLrC5FMDkJ9y0B1ARS4Od/Vi8LfVJitIcSEpGx+b5Q=="}}"#;

    #[test]
    fn the_secret_is_borrowed_from_the_input_not_copied() {
        let k = parse_json(KEY).unwrap();
        let borrowed = k.priv_key.as_ref().unwrap().value.as_ref().unwrap();
        assert_eq!(format!("{borrowed:?}"), "priv_key.value: <redacted>");
        let secret = borrowed.0;
        assert!(secret.starts_with("JrrY"));
        // It points into the input: no copy was made.
        let input = KEY.as_bytes().as_ptr_range();
        assert!(input.contains(&secret.as_ptr()), "the secret was copied");
    }

    #[test]
    fn every_field_is_read() {
        let k = parse(format!("\n {KEY}\n").as_bytes()).unwrap();
        assert_eq!(k.key_type, "tendermint/PrivKeyEd25519");
        assert_eq!(k.secret.len(), 64);
        let public = k.public.as_ref().unwrap();
        assert_eq!(public.key_type.as_deref(), Some("tendermint/PubKeyEd25519"));
        assert_eq!(public.decode().unwrap(), k.secret[32..]);
        assert_eq!(
            k.address.as_deref(),
            Some("EBEBEB484004ACBFAB78E398732765076F457A81")
        );
        assert!(!format!("{k:?}").contains("JrrY"), "{k:?}");

        let secp = KEY
            .replace("PrivKeyEd25519", "PrivKeySecp256k1")
            .replace(
                "JrrY1b7BKbojJt4Dz+jV83OtHXReL/pofGIk8k89n62EhLrC5FMDkJ9y0B1ARS4Od/Vi8LfVJitIcSEpGx+b5Q==",
                "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=",
            );
        let k = parse(secp.as_bytes()).unwrap();
        assert_eq!(k.key_type, "tendermint/PrivKeySecp256k1");
        assert_eq!(&k.secret[..], &[0x42; 32]);

        // Only priv_key is needed; an empty address is none.
        let k = parse(br#"{"address":"","priv_key":{"type":"t","value":"AAAA"}}"#).unwrap();
        assert!(k.public.is_none() && k.address.is_none());
        // A bad pub_key.value shows only when it is decoded.
        let k =
            parse(br#"{"pub_key":{"value":"!"},"priv_key":{"type":"t","value":"AAAA"}}"#).unwrap();
        assert_eq!(
            k.public.unwrap().decode(),
            Err(KeyFileError::NotBase64("pub_key.value"))
        );
    }

    #[test]
    fn each_error_says_what_is_wrong_without_the_secret() {
        let err = |text: &str| parse(text.as_bytes()).expect_err("an error").to_string();
        assert_eq!(
            parse(&[0xff, 0xfe]).err(),
            Some(KeyFileError::NotText),
            "not UTF-8"
        );
        assert!(err("{").starts_with("not a CometBFT priv_validator_key.json: "));
        assert_eq!(err(r#"{"address":""}"#), "it has no priv_key");
        assert_eq!(
            err(r#"{"priv_key":{"value":"AAAA"}}"#),
            "it has no priv_key.type"
        );
        assert_eq!(
            err(r#"{"priv_key":{"type":"","value":"AAAA"}}"#),
            "it has no priv_key.type"
        );
        assert_eq!(
            err(r#"{"priv_key":{"type":"t"}}"#),
            "it has no priv_key.value"
        );
        assert_eq!(
            err(r#"{"priv_key":{"type":"t","value":"not base64!"}}"#),
            "priv_key.value is not base64"
        );
        assert!(err(r#"{"priv_key":{"type":"t","value":7}}"#).contains("base64 string"));
        // An escaped value is refused, and the error does not carry it.
        let e = err(&KEY.replace("L/pof", "L\\/pof"));
        assert!(e.contains("JSON escapes"), "{e}");
        assert!(!e.contains("JrrY"), "{e}");
    }
}

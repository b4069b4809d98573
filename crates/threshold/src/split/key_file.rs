//! CometBFT's `priv_validator_key.json`, read without copying the secret.
//!
//! The secret's base64 is borrowed from the caller's bytes (never copied into a `String`
//! or a `serde_json::Value`, which nothing would zeroize) and decoded straight into
//! zeroizing memory. A value with JSON escapes cannot be borrowed, so it is refused:
//! base64 never needs escapes, and CometBFT writes none.

use base64::Engine;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use zeroize::Zeroizing;

/// The fields CometBFT writes; others are ignored.
#[derive(Deserialize)]
struct KeyJson<'a> {
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    pub_key: Option<PubKey>,
    #[serde(borrow)]
    priv_key: Option<PrivKey<'a>>,
}

#[derive(Deserialize)]
struct PubKey {
    #[serde(rename = "type")]
    key_type: Option<String>,
    value: Option<String>,
}

#[derive(Deserialize)]
struct PrivKey<'a> {
    #[serde(rename = "type")]
    key_type: Option<String>,
    #[serde(borrow)]
    value: Option<Base64Secret<'a>>,
}

/// The secret's base64, borrowed from the file's bytes.
struct Base64Secret<'a>(&'a str);

impl<'de: 'a, 'a> Deserialize<'de> for Base64Secret<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(BorrowOnly(std::marker::PhantomData))
    }
}

struct BorrowOnly<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for BorrowOnly<'a> {
    type Value = Base64Secret<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a base64 string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Base64Secret(v))
    }

    // Never echo the value in an error: it is the secret.
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Err(E::custom(
            "priv_key.value holds JSON escapes; write it as plain base64",
        ))
    }
}

/// What a key file holds, decoded.
pub(super) struct KeyFile {
    /// `priv_key.type`.
    pub key_type: String,
    /// `priv_key.value`, base64-decoded.
    pub secret: Zeroizing<Vec<u8>>,
    /// `pub_key.type` and `pub_key.value` decoded, when present.
    pub public: Option<(Option<String>, Vec<u8>)>,
    /// `address`, when present and not empty.
    pub address: Option<String>,
}

/// Parse a key file's bytes.
pub(super) fn parse(bytes: &[u8]) -> Result<KeyFile, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string())?;
    // serde_json's messages name a position, never the content.
    let k: KeyJson = serde_json::from_str(text.trim())
        .map_err(|e| format!("not a CometBFT priv_validator_key.json: {e}"))?;
    let pk = k.priv_key.ok_or("it has no priv_key")?;
    let key_type = pk
        .key_type
        .filter(|t| !t.is_empty())
        .ok_or("it has no priv_key.type")?;
    let value = pk.value.ok_or("it has no priv_key.value")?.0;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut secret = Zeroizing::new(vec![0u8; value.len() / 4 * 3 + 3]);
    let n = engine
        .decode_slice(value.as_bytes(), &mut secret[..])
        .map_err(|_| "priv_key.value is not base64")?;
    secret.truncate(n);
    let public = match k.pub_key {
        Some(PubKey {
            key_type,
            value: Some(v),
        }) => Some((
            key_type,
            engine
                .decode(v.as_bytes())
                .map_err(|_| "pub_key.value is not base64")?,
        )),
        _ => None,
    };
    Ok(KeyFile {
        key_type,
        secret,
        public,
        address: k.address.filter(|a| !a.is_empty()),
    })
}

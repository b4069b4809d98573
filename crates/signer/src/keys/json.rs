//! CometBFT's `priv_validator_key.json`, read without copying the secret.
//!
//! The file's bytes are already in zeroizing memory; the secret's base64 is borrowed
//! from them (never copied into a `String` or a `serde_json::Value`, which nothing would
//! zeroize) and decoded straight into zeroizing memory. A value with JSON escapes cannot
//! be borrowed (serde_json would unescape it into a scratch buffer), so it is refused:
//! base64 never needs escapes, and CometBFT writes none.

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use zeroize::Zeroizing;

/// The parts of the key file Bulwark reads; the rest (`address`, `pub_key`) is skipped.
#[derive(Deserialize)]
pub(super) struct KeyJson<'a> {
    #[serde(borrow)]
    priv_key: Option<PrivKey<'a>>,
}

#[derive(Deserialize)]
struct PrivKey<'a> {
    #[serde(rename = "type")]
    key_type: Option<String>,
    #[serde(borrow)]
    value: Option<Base64Secret<'a>>,
}

/// The secret's base64, borrowed from the file's bytes.
pub(super) struct Base64Secret<'a>(&'a str);

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

/// A key file's type and decoded secret.
pub(super) struct Parsed {
    /// `priv_key.type`.
    pub key_type: String,
    /// `priv_key.value`, base64-decoded.
    pub secret: Zeroizing<Vec<u8>>,
}

impl<'a> KeyJson<'a> {
    /// Parse `text` (borrowing the secret from it).
    pub(super) fn parse(text: &'a str) -> Result<KeyJson<'a>, String> {
        // serde_json's messages name a position, never the content.
        serde_json::from_str(text).map_err(|e| format!("not a valid key file: {e}"))
    }

    /// The borrowed base64 of the secret, if any.
    #[cfg(test)]
    pub(super) fn secret_base64(&self) -> Option<&'a str> {
        self.priv_key.as_ref()?.value.as_ref().map(|v| v.0)
    }

    /// The key type and the decoded secret.
    pub(super) fn decode(self) -> Result<Parsed, String> {
        let pk = self.priv_key.ok_or("no priv_key")?;
        let key_type = pk
            .key_type
            .filter(|t| !t.is_empty())
            .ok_or("no priv_key.type")?;
        let value = pk.value.ok_or("no priv_key.value")?.0;
        use base64::Engine;
        let engine = base64::engine::general_purpose::STANDARD;
        let mut secret = Zeroizing::new(vec![0u8; value.len() / 4 * 3 + 3]);
        let n = engine
            .decode_slice(value.as_bytes(), &mut secret[..])
            .map_err(|_| "priv_key.value is not base64")?;
        secret.truncate(n);
        Ok(Parsed { key_type, secret })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = r#"{"address":"","pub_key":{"type":"tendermint/PubKeyEd25519","value":"hIS6wuRTA5CfctAdQEUuDnf1YvC31SYrSHEhKRsfm+U="},"priv_key":{"type":"tendermint/PrivKeyEd25519","value":"JrrY1b7BKbojJt4Dz+jV83OtHXReL/pofGIk8k89n62EhLrC5FMDkJ9y0B1ARS4Od/Vi8LfVJitIcSEpGx+b5Q=="}}"#;

    #[test]
    fn the_secret_is_borrowed_from_the_input_not_copied() {
        let k = KeyJson::parse(KEY).unwrap();
        let secret = k.secret_base64().unwrap();
        assert!(secret.starts_with("JrrY"));
        // It points into the input: no copy was made.
        let input = KEY.as_bytes().as_ptr_range();
        assert!(input.contains(&secret.as_ptr()), "the secret was copied");
        let p = k.decode().unwrap();
        assert_eq!(p.key_type, "tendermint/PrivKeyEd25519");
        assert_eq!(p.secret.len(), 64);
    }

    #[test]
    fn each_format_and_error() {
        let secp = KEY
            .replace("PrivKeyEd25519", "PrivKeySecp256k1")
            .replace(
                "JrrY1b7BKbojJt4Dz+jV83OtHXReL/pofGIk8k89n62EhLrC5FMDkJ9y0B1ARS4Od/Vi8LfVJitIcSEpGx+b5Q==",
                "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=",
            );
        let p = KeyJson::parse(&secp).unwrap().decode().unwrap();
        assert_eq!(p.key_type, "tendermint/PrivKeySecp256k1");
        assert_eq!(&p.secret[..], &[0x42; 32]);

        let err = |text: &str| match KeyJson::parse(text) {
            Ok(k) => k.decode().err().expect("an error"),
            Err(e) => e,
        };
        assert!(err("{").contains("not a valid key file"));
        assert_eq!(err(r#"{"address":""}"#), "no priv_key");
        assert_eq!(err(r#"{"priv_key":{"value":"AAAA"}}"#), "no priv_key.type");
        assert_eq!(err(r#"{"priv_key":{"type":"t"}}"#), "no priv_key.value");
        assert_eq!(
            err(r#"{"priv_key":{"type":"t","value":"not base64!"}}"#),
            "priv_key.value is not base64"
        );
        assert!(err(r#"{"priv_key":{"type":"t","value":7}}"#).contains("base64 string"));
        // An escaped value is refused, and the error does not carry it.
        let escaped = KEY.replace("L/pof", "L\\/pof");
        let e = err(&escaped);
        assert!(e.contains("JSON escapes"), "{e}");
        assert!(!e.contains("JrrY"), "{e}");
    }
}

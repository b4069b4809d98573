//! The link public key: an X25519 key, written as 44 characters of standard base64.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::fmt;
use std::str::FromStr;

/// A cosigner's link public key (X25519). Shown and parsed as standard base64
/// (44 characters), which is also its serde form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct LinkPublic(pub(crate) [u8; 32]);

/// Why a string is not a link public key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ParsePublicError(String);

impl fmt::Display for LinkPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&STANDARD.encode(self.0))
    }
}

impl FromStr for LinkPublic {
    type Err = ParsePublicError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const EXPECTED: &str = "a link public key is 44 characters of standard base64 (32 bytes)";
        let err =
            |what: String| ParsePublicError(format!("link public key {s:?} {what}; {EXPECTED}"));
        if s.len() != 44 {
            return Err(err(format!("is {} characters long", s.len())));
        }
        let bytes = STANDARD
            .decode(s)
            .map_err(|e| err(format!("is not standard base64 ({e})")))?;
        let key = <[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| err(format!("decodes to {} bytes", bytes.len())))?;
        Ok(LinkPublic(key))
    }
}

impl serde::Serialize for LinkPublic {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for LinkPublic {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

//! The share file's JSON, read without copying the secret.
//!
//! The file's bytes are in zeroizing memory; the signing share's hex is borrowed from them
//! (never copied into a `String` or a `serde_json::Value`, which nothing would zeroize)
//! and decoded by the caller into zeroizing memory. A value with JSON escapes cannot be
//! borrowed, so it is refused: hex never needs escapes.

use privval::key_file::{Borrowed, SecretField};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The `type` of a share file.
pub(crate) const TYPE: &str = "bulwark/threshold-share-ed25519";
/// The version this code reads and writes.
pub(crate) const VERSION: u32 = 1;

/// A share file as read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileIn<'a> {
    #[serde(rename = "type")]
    pub kind: String,
    pub version: u32,
    pub threshold: u16,
    pub total: u16,
    pub id: u16,
    pub group_public_key: String,
    pub verifying_shares: Entries,
    #[serde(borrow)]
    pub signing_share: Borrowed<'a, SigningShareField>,
}

/// A share file as written: the same fields, in the same order.
#[derive(Serialize)]
pub(crate) struct FileOut<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub version: u32,
    pub threshold: u16,
    pub total: u16,
    pub id: u16,
    pub group_public_key: &'a str,
    #[serde(serialize_with = "in_id_order")]
    pub verifying_shares: &'a [(u16, String)],
    pub signing_share: &'a str,
}

fn in_id_order<S: Serializer>(shares: &&[(u16, String)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(shares.iter().map(|(id, hex)| (id.to_string(), hex)))
}

/// The `verifying_shares` object's entries in file order, duplicates kept (so that they
/// can be refused rather than silently overwritten as a map would).
pub(crate) struct Entries(pub Vec<(String, String)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of id to hex verifying share")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, String>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        d.deserialize_map(V)
    }
}

/// `signing_share`, hex.
pub(crate) struct SigningShareField;

impl SecretField for SigningShareField {
    const NAME: &'static str = "signing_share";
    const ENCODING: &'static str = "hex";
}

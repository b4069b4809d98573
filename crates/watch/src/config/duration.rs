//! Durations in configuration files as human text (`30s`, `5m`, `1h 30m`).

use serde::{Deserialize, Deserializer, Serializer};
use std::time::Duration;

/// Deserialize a duration from text such as `30s`.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s).map_err(|e| {
        serde::de::Error::custom(format!(
            "{s:?} is not a duration ({e}); write e.g. \"30s\", \"5m\" or \"1h\""
        ))
    })
}

/// Serialize a duration as text.
pub fn serialize<S: Serializer>(v: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*v).to_string())
}

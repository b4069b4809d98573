//! Durations in configuration files as human text: `"30s"`, `"500ms"`, `"5m"`,
//! `"1h 30m"`, `"2days"` (humantime's syntax: numbers with units, joined by spaces).
//!
//! Use it on a `Duration` field with `#[serde(with = "confkit::duration")]`. A duration
//! is written back in the same syntax, so a configuration built in code and written as
//! TOML (by the devnet, the bench, the tests) reads back to the same values.

use serde::{Deserialize, Deserializer, Serializer};
use std::time::Duration;

/// Deserialize a duration from text such as `30s`; anything else is refused with what
/// was wrong and examples of durations.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s).map_err(|e| {
        serde::de::Error::custom(format!(
            "{s:?} is not a duration ({e}); write e.g. \"30s\", \"5m\" or \"1h\""
        ))
    })
}

/// Serialize a duration as text that [`deserialize`] reads back.
pub fn serialize<S: Serializer>(v: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_duration(*v))
}

/// The same for an `Option<Duration>` field (with `#[serde(default)]`, and
/// `skip_serializing_if = "Option::is_none"` so that an unset one is left out).
pub mod option {
    use serde::{Deserializer, Serializer};
    use std::time::Duration;

    /// Deserialize a duration that is present.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        super::deserialize(d).map(Some)
    }

    /// Serialize a set duration (an unset one is skipped by the field's attribute).
    pub fn serialize<S: Serializer>(v: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => super::serialize(v, s),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use std::time::Duration;

    #[derive(Debug, Deserialize, Serialize)]
    struct T {
        #[serde(with = "super")]
        d: Duration,
    }

    fn read(v: &str) -> Result<Duration, String> {
        toml::from_str::<T>(&format!("d = {v}"))
            .map(|t| t.d)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn human_text_is_read() {
        let ms = Duration::from_millis;
        for (text, want) in [
            ("\"30s\"", ms(30_000)),
            ("\"500ms\"", ms(500)),
            ("\"5m\"", ms(300_000)),
            ("\"1h 30m\"", ms(5_400_000)),
            ("\"2days\"", ms(172_800_000)),
            ("\"0s\"", Duration::ZERO),
        ] {
            assert_eq!(read(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn anything_else_is_refused_with_examples() {
        let e = read("\"soon\"").unwrap_err();
        assert!(e.contains("\"soon\" is not a duration"), "{e}");
        assert!(e.contains("write e.g. \"30s\""), "{e}");
        let e = read("\"30\"").unwrap_err();
        assert!(e.contains("\"30\" is not a duration"), "{e}");
        // A bare number is not a string.
        let e = read("30").unwrap_err();
        assert!(e.contains("invalid type: integer"), "{e}");
    }

    #[test]
    fn what_is_written_reads_back_the_same() {
        for d in [
            Duration::ZERO,
            Duration::from_millis(300),
            Duration::from_millis(1_500),
            Duration::from_secs(60),
            Duration::from_secs(48 * 3600),
            Duration::from_secs(30 * 60 + 7),
        ] {
            let text = toml::to_string(&T { d }).unwrap();
            let back: T = toml::from_str(&text).unwrap();
            assert_eq!(back.d, d, "{text}");
        }
        let text = toml::to_string(&T {
            d: Duration::from_millis(1_500),
        })
        .unwrap();
        assert_eq!(text.trim(), "d = \"1s 500ms\"");
    }
}

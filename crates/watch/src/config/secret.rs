//! Secrets in configuration (tokens, routing keys, passwords, webhook URLs that carry a
//! key). Written inline (`"..."`), or, so that the file itself holds no secret, from
//! the environment (`{ env = "PAGERDUTY_KEY" }`) or from a file only its owner can read
//! (`{ file = "/etc/bulwark/pagerduty.key" }`, trailing newline dropped). `Debug` prints
//! `<redacted>` and the memory is wiped on drop. `Serialize` writes what was written:
//! the value when inline (so a configuration built in code and written back still
//! works: never serialize a config into logs or API answers), else the reference.

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::path::PathBuf;
use zeroize::Zeroize;

/// A secret string.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    value: String,
    from: Source,
}

/// Where a secret was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Inline,
    Env(String),
    File(PathBuf),
}

impl Secret {
    /// A secret holding `s`, written inline.
    pub fn new(s: impl Into<String>) -> Self {
        Self {
            value: s.into(),
            from: Source::Inline,
        }
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.value
    }

    fn from_env(name: String) -> Result<Self, String> {
        let value = std::env::var(&name).map_err(|_| {
            format!("environment variable {name} is not set; it holds a secret of this config")
        })?;
        Ok(Self {
            value,
            from: Source::Env(name),
        })
    }

    fn from_file(path: PathBuf) -> Result<Self, String> {
        use std::os::unix::fs::PermissionsExt;
        let shown = path.display();
        let meta = std::fs::metadata(&path).map_err(|e| format!("secret file {shown}: {e}"))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "secret file {shown} can be read by others (mode {mode:o}): chmod 600 it"
            ));
        }
        let mut value =
            std::fs::read_to_string(&path).map_err(|e| format!("secret file {shown}: {e}"))?;
        let kept = value.trim_end_matches(['\n', '\r']).len();
        value.truncate(kept);
        if value.is_empty() {
            return Err(format!("secret file {shown} is empty"));
        }
        Ok(Self {
            value,
            from: Source::File(path),
        })
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.from {
            Source::Inline => f.write_str("<redacted>"),
            Source::Env(n) => write!(f, "<redacted, from ${n}>"),
            Source::File(p) => write!(f, "<redacted, from {}>", p.display()),
        }
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.value.zeroize();
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match &self.from {
            Source::Inline => s.serialize_str(&self.value),
            Source::Env(n) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("env", n)?;
                m.end()
            }
            Source::File(p) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("file", p)?;
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Secret;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a secret: \"value\", { env = \"VARIABLE\" } or { file = \"/path\" }")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Secret, E> {
                Ok(Secret::new(v))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Secret, A::Error> {
                let Some(key) = m.next_key::<String>()? else {
                    return Err(de::Error::custom(
                        "an empty table is not a secret: give { env = \"VARIABLE\" } or { file = \"/path\" }",
                    ));
                };
                let secret = match key.as_str() {
                    "env" => Secret::from_env(m.next_value()?),
                    "file" => Secret::from_file(m.next_value()?),
                    other => {
                        return Err(de::Error::custom(format!(
                            "unknown secret source {other:?}: give {{ env = \"VARIABLE\" }} or {{ file = \"/path\" }}"
                        )))
                    }
                }
                .map_err(de::Error::custom)?;
                if m.next_key::<String>()?.is_some() {
                    return Err(de::Error::custom(
                        "a secret comes from one source: env or file, not both",
                    ));
                }
                Ok(secret)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[derive(Debug, Deserialize, Serialize)]
    struct T {
        s: Secret,
    }

    fn read(v: &str) -> Result<Secret, String> {
        toml::from_str::<T>(&format!("s = {v}"))
            .map(|t| t.s)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn inline_env_and_file_secrets_read_and_write_back_as_written() {
        assert_eq!(read("\"abc\"").unwrap().expose(), "abc");
        std::env::set_var("BULWARK_TEST_SECRET_1", "from-env");
        let s = read("{ env = \"BULWARK_TEST_SECRET_1\" }").unwrap();
        assert_eq!(s.expose(), "from-env");
        assert_eq!(format!("{s:?}"), "<redacted, from $BULWARK_TEST_SECRET_1>");
        let text = toml::to_string(&T { s }).unwrap();
        assert!(text.contains("env = \"BULWARK_TEST_SECRET_1\""), "{text}");
        assert!(!text.contains("from-env"), "{text}");

        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("key");
        std::fs::write(&f, "from-file\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        let s = read(&format!("{{ file = {:?} }}", f.display().to_string())).unwrap();
        assert_eq!(s.expose(), "from-file");
        let back: T = toml::from_str(&toml::to_string(&T { s }).unwrap()).unwrap();
        assert_eq!(back.s.expose(), "from-file");
    }

    #[test]
    fn missing_or_exposed_sources_are_refused_with_what_to_do() {
        let e = read("{ env = \"BULWARK_TEST_SECRET_UNSET\" }").unwrap_err();
        assert!(
            e.contains("environment variable BULWARK_TEST_SECRET_UNSET is not set"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("key");
        std::fs::write(&f, "k").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = read(&format!("{{ file = {:?} }}", f.display().to_string())).unwrap_err();
        assert!(
            e.contains("can be read by others (mode 644): chmod 600 it"),
            "{e}"
        );
        let e = read("{ vault = \"x\" }").unwrap_err();
        assert!(e.contains("unknown secret source \"vault\""), "{e}");
        let e = read("{ file = \"/nonexistent/key\" }").unwrap_err();
        assert!(e.contains("secret file /nonexistent/key"), "{e}");
    }
}

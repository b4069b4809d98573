//! Secrets in configuration (tokens, routing keys, webhook URLs that carry a key):
//! `Debug` prints `<redacted>` and the memory is wiped on drop. `Serialize` writes the
//! value itself, so a configuration written back (by the devnet, the bench, tests) still
//! works: never serialize a config into logs or API answers.

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

/// A secret string.
#[derive(Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// A secret holding `s`.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

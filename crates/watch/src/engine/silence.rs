//! Silences: matching alerts still fire and resolve, but nobody is notified until
//! the silence ends (then a still-firing alert is announced).

use crate::engine::alert::Alert;
use crate::state::Ts;
use serde::{Deserialize, Serialize};

/// A silence. Every matcher that is set must match; at least one must be set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    /// Id given by the store.
    #[serde(default)]
    pub id: i64,
    /// Rule name, e.g. `node_down`.
    pub rule: Option<String>,
    /// Chain ID.
    pub chain: Option<String>,
    /// Node name.
    pub node: Option<String>,
    /// Host name.
    pub host: Option<String>,
    /// Start of the alert key, e.g. `disk_used/val-host/`.
    pub key_prefix: Option<String>,
    /// Unix time it ends.
    pub until: Ts,
    /// Why (shown in `silence list`).
    pub reason: String,
    /// When it was made.
    pub created_at: Ts,
}

impl Silence {
    /// Whether the silence has at least one matcher.
    pub fn has_matcher(&self) -> bool {
        self.rule.is_some()
            || self.chain.is_some()
            || self.node.is_some()
            || self.host.is_some()
            || self.key_prefix.is_some()
    }

    /// Whether it silences `a` at `now`.
    pub fn matches(&self, a: &Alert, now: Ts) -> bool {
        let eq = |m: &Option<String>, v: Option<&str>| m.as_deref().is_none_or(|m| Some(m) == v);
        now < self.until
            && self.has_matcher()
            && eq(&self.rule, Some(&a.rule))
            && eq(&self.chain, a.chain.as_deref())
            && eq(&self.node, a.node.as_deref())
            && eq(&self.host, a.host.as_deref())
            && self
                .key_prefix
                .as_deref()
                .is_none_or(|p| a.key.starts_with(p))
    }
}

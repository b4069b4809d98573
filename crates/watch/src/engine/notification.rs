//! What the engine keeps and tells: an alert, and one notification about it.

use crate::config::{Labels, Severity};
use crate::state::Ts;
use serde::{Deserialize, Serialize};

/// A firing alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Unique key, e.g. `missed_in_a_row/cosmoshub-4`.
    pub key: String,
    /// Rule name.
    pub rule: String,
    /// Current severity.
    pub severity: Severity,
    /// Chain it is about.
    pub chain: Option<String>,
    /// Node it is about.
    pub node: Option<String>,
    /// Host it is about.
    pub host: Option<String>,
    /// Latest one-line summary.
    pub summary: String,
    /// When it started firing (unix seconds).
    pub started_at: Ts,
    /// When a notification about it was last queued.
    pub notified_at: Ts,
    /// A notification about it has been queued at least once.
    #[serde(default)]
    pub told: bool,
    /// It fired or changed while silenced (or inhibited), and that has not been told yet.
    #[serde(default)]
    pub suppressed: bool,
    /// Its labels (see `engine::labels`): what routes, groups and inhibitions match.
    #[serde(default)]
    pub labels: Labels,
    /// The firing alert that inhibits it now, if any: it is not notified meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inhibited_by: Option<String>,
}

/// Why a notification is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Started firing.
    Firing,
    /// Still firing, at another severity.
    Changed,
    /// Still firing (criticals repeat).
    Repeat,
    /// Cleared.
    Resolved,
}

/// One notification about one alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Why it is sent.
    pub kind: Kind,
    /// The alert as of this notification.
    pub alert: Alert,
    /// When it cleared (resolve notifications only).
    pub resolved_at: Option<Ts>,
    /// The firing alerts this one inhibits (held back because of it), by key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inhibits: Vec<String>,
}

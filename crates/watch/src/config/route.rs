//! `[[route]]` and `[[inhibit]]`: which alerts go to which channels, grouped how and
//! delivered when, and which alerts silence which. Both match on alert labels.

use super::quiet::QuietHours;
use super::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Label names and values (an alert's, or an operator's on a chain, node or host).
pub type Labels = BTreeMap<String, String>;

/// The labels every alert may carry, set by the watch; operators' own labels may not
/// use these names.
pub const BUILT_IN_LABELS: [&str; 8] = [
    "rule", "severity", "chain", "node", "host", "role", "signer", "channel",
];

/// What one label must be: one value, any of a list, or a regular expression.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "RawMatch", into = "RawMatch")]
pub enum MatchValue {
    /// Exactly this value.
    One(String),
    /// Any of these values.
    Any(Vec<String>),
    /// A value the whole of which this regular expression matches, as Alertmanager's
    /// `=~` does: `{ regex = "cosmoshub-.*" }`.
    Regex {
        /// The expression.
        regex: Pattern,
    },
}

impl MatchValue {
    /// Whether `v` is accepted.
    pub fn accepts(&self, v: &str) -> bool {
        match self {
            MatchValue::One(x) => x == v,
            MatchValue::Any(xs) => xs.iter().any(|x| x == v),
            MatchValue::Regex { regex } => regex.anchored.is_match(v),
        }
    }

    /// The exact values it names (none for a regular expression).
    pub fn values(&self) -> Vec<&str> {
        match self {
            MatchValue::One(x) => vec![x.as_str()],
            MatchValue::Any(xs) => xs.iter().map(String::as_str).collect(),
            MatchValue::Regex { .. } => vec![],
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            MatchValue::One(x) => x.is_empty(),
            MatchValue::Any(xs) => xs.is_empty() || xs.iter().any(String::is_empty),
            MatchValue::Regex { regex } => regex.source.is_empty(),
        }
    }
}

/// A regular expression as written, and compiled to match whole values.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: String,
    anchored: regex::Regex,
}

impl Pattern {
    /// Compile `source`; the error says what is wrong with it.
    pub fn new(source: &str) -> Result<Pattern, String> {
        regex::Regex::new(&format!("^(?:{source})$"))
            .map(|anchored| Pattern {
                source: source.to_string(),
                anchored,
            })
            .map_err(|e| format!("{source:?} is not a regular expression: {e}"))
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for Pattern {}

/// A matcher as written in the file.
#[derive(Deserialize, Serialize)]
#[serde(untagged)]
enum RawMatch {
    One(String),
    Any(Vec<String>),
    Regex { regex: String },
}

impl TryFrom<RawMatch> for MatchValue {
    type Error = String;

    fn try_from(r: RawMatch) -> Result<MatchValue, String> {
        Ok(match r {
            RawMatch::One(x) => MatchValue::One(x),
            RawMatch::Any(xs) => MatchValue::Any(xs),
            RawMatch::Regex { regex } => MatchValue::Regex {
                regex: Pattern::new(&regex)?,
            },
        })
    }
}

impl From<MatchValue> for RawMatch {
    fn from(m: MatchValue) -> RawMatch {
        match m {
            MatchValue::One(x) => RawMatch::One(x),
            MatchValue::Any(xs) => RawMatch::Any(xs),
            MatchValue::Regex { regex } => RawMatch::Regex {
                regex: regex.source,
            },
        }
    }
}

/// Label matchers: every label named must be present with an accepted value.
pub type Matchers = BTreeMap<String, MatchValue>;

/// Whether `labels` satisfy every matcher of `m` (an empty `m` matches everything).
pub fn matches(m: &Matchers, labels: &Labels) -> bool {
    m.iter()
        .all(|(k, want)| labels.get(k).is_some_and(|v| want.accepts(v)))
}

/// Which alerts go to which channels, and how they are grouped and timed.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Channel names.
    pub channels: Vec<String>,
    /// Lowest severity sent.
    #[serde(default = "default_min_severity")]
    pub min_severity: Severity,
    /// Labels the alert must have, e.g. `{ env = "mainnet", rule = ["node_down",
    /// "host_down"] }` (every alert when empty).
    #[serde(default, rename = "match", skip_serializing_if = "Matchers::is_empty")]
    pub matchers: Matchers,
    /// Alerts with the same values of these labels go out together, in one
    /// notification (e.g. `["host"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<String>,
    /// How long a group's first change waits for the others before it is sent
    /// (default 0s once the route is grouped).
    #[serde(
        default,
        with = "confkit::duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub group_wait: Option<Duration>,
    /// The least time between two notifications of one group (default: group_wait).
    #[serde(
        default,
        with = "confkit::duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub group_interval: Option<Duration>,
    /// Repeat a group with a critical alert still firing this often (default: the
    /// global `repeat_interval`).
    #[serde(
        default,
        with = "confkit::duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub repeat_interval: Option<Duration>,
    /// Hours in which only critical notifications are sent; the others are held until
    /// the quiet hours end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
    /// The channel that gets the `channel_failing` alert of any of this route's
    /// channels (on top of the global `fallback_channel`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

impl RouteConfig {
    /// A route of every alert from `min_severity` up to `channels`, not grouped.
    pub fn new(channels: &[&str], min_severity: Severity) -> Self {
        Self {
            channels: channels.iter().map(|c| c.to_string()).collect(),
            min_severity,
            matchers: Matchers::new(),
            group_by: Vec::new(),
            group_wait: None,
            group_interval: None,
            repeat_interval: None,
            quiet_hours: None,
            fallback: None,
        }
    }

    /// Whether it takes an alert with `labels` at `severity`.
    pub fn accepts(&self, labels: &Labels, severity: Severity) -> bool {
        severity >= self.min_severity && matches(&self.matchers, labels)
    }

    /// Whether the route groups or times its notifications (any of `group_by`,
    /// `group_wait`, `group_interval`, `repeat_interval`, `quiet_hours`). A route
    /// with none of them sends each alert's notifications at once, as they happen.
    pub fn grouped(&self) -> bool {
        !self.group_by.is_empty()
            || self.group_wait.is_some()
            || self.group_interval.is_some()
            || self.repeat_interval.is_some()
            || self.quiet_hours.is_some()
    }
}

/// An inhibition: while an alert matching `source` fires, the alerts matching
/// `target` with the same values of the `equal` labels are not notified (they still
/// fire, and `/api/status` shows them as inhibited by it).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitConfig {
    /// What the inhibiting alert matches.
    pub source: Matchers,
    /// What the inhibited alerts match.
    pub target: Matchers,
    /// Labels both must have, with the same values.
    #[serde(default)]
    pub equal: Vec<String>,
}

/// The rules an alert about a host being down inhibits: those it causes.
pub const HOST_DOWN_SILENCES: [&str; 9] = [
    "node_down",
    "relayer_telemetry_down",
    "signer_down",
    "cosigner_down",
    "exporter_down",
    "node_metrics_down",
    "missed_in_a_row",
    "proposals_missed",
    "signer_node_disconnected",
];

/// The default `[[inhibit]]`: `host_down` silences what it causes on its host.
pub fn default_inhibits() -> Vec<InhibitConfig> {
    let one = |v: &str| MatchValue::One(v.into());
    vec![InhibitConfig {
        source: [("rule".to_string(), one("host_down"))].into(),
        target: [(
            "rule".to_string(),
            MatchValue::Any(HOST_DOWN_SILENCES.iter().map(|s| s.to_string()).collect()),
        )]
        .into(),
        equal: vec!["host".into()],
    }]
}

fn default_min_severity() -> Severity {
    Severity::Warning
}

/// Whether `name` can be a label name (`[A-Za-z_][A-Za-z0-9_]*`, as in Prometheus).
pub fn valid_label_name(name: &str) -> bool {
    let mut cs = name.chars();
    cs.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Problems of a set of matchers, for `what`.
pub(crate) fn check_matchers(p: &mut Vec<String>, what: &str, m: &Matchers) {
    for (k, v) in m {
        if !valid_label_name(k) {
            p.push(format!(
                "{what}: {k:?} is not a label name (letters, digits and _, not starting with a digit)"
            ));
        }
        if v.is_empty() {
            p.push(format!(
                "{what}: label {k:?} is matched against an empty value; give the value(s) it must have"
            ));
        }
    }
}

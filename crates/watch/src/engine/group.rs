//! Grouped and timed routes (`group_by`, `group_wait`, `group_interval`,
//! `repeat_interval`, `quiet_hours`): each route keeps, per group, what it last told,
//! and sends what changed as one notification once the group's wait is over.
//!
//! - A change (an alert that fires, changes severity or resolves) waits `group_wait`
//!   for the rest of its group, and never comes sooner than `group_interval` after
//!   the group's last notification: alerts of one group that start (or resolve)
//!   within the window go out together.
//! - An alert that fires and clears before its group was told, or is inhibited or
//!   silenced before then, is not told at all (outside quiet hours).
//! - In quiet hours, changes wait for their end unless one is a critical that fires
//!   or worsens; then the whole group goes out. Alerts that fire and clear in quiet
//!   hours are still told, at the end, as resolved.
//! - A group with a critical still firing is repeated every `repeat_interval`.

use crate::config::{Labels, RouteConfig, Severity};
use crate::engine::alert::{Alert, Kind, Notification};
use crate::engine::message::{Group, Message};
use crate::state::Ts;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// One alert of a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The alert as last seen.
    pub alert: Alert,
    /// The severity it was last told at; `None` until it is told.
    pub told: Option<Severity>,
    /// When it resolved (to be told).
    pub resolved_at: Option<Ts>,
}

/// A group of one route.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupState {
    /// The group's `group_by` label values.
    pub labels: Labels,
    /// Its alerts, by key.
    pub entries: BTreeMap<String, Entry>,
    /// When it was last notified.
    pub last_sent: Option<Ts>,
    /// Since when a change has been waiting.
    pub pending_since: Option<Ts>,
}

/// A group's state without the alerts' texts: (key, severity, told, resolved at) of
/// each entry, and the last time sent and pending since.
type Shape = (
    Vec<(String, Severity, Option<Severity>, Option<Ts>)>,
    [Option<Ts>; 2],
);

/// The key of the group `a` belongs to on route `r`, and its labels.
pub fn group_of(r: &RouteConfig, a: &Alert) -> (String, Labels) {
    if r.group_by.is_empty() {
        return (a.key.clone(), Labels::new());
    }
    let labels: Labels = r
        .group_by
        .iter()
        .map(|l| (l.clone(), a.labels.get(l).cloned().unwrap_or_default()))
        .collect();
    let key = labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    (key, labels)
}

impl GroupState {
    /// What is worth persisting: the entries' keys, severities and told state, and
    /// the group's times (not the alerts' summaries, which change every evaluation).
    fn shape(&self) -> Shape {
        let entries = self
            .entries
            .iter()
            .map(|(k, e)| (k.clone(), e.alert.severity, e.told, e.resolved_at))
            .collect();
        (entries, [self.last_sent, self.pending_since])
    }

    /// Take in what fires now: `active` are this group's alerts that the route takes
    /// and that are neither silenced nor inhibited; `firing` tells whether a key
    /// fires at all. Returns whether anything worth persisting changed.
    pub fn observe(
        &mut self,
        active: &[&Alert],
        firing: &dyn Fn(&str) -> bool,
        quiet: bool,
        now: Ts,
    ) -> bool {
        let before = self.shape();
        for a in active {
            let e = self.entries.entry(a.key.clone()).or_insert_with(|| Entry {
                alert: (*a).clone(),
                told: None,
                resolved_at: None,
            });
            e.alert = (*a).clone();
            e.resolved_at = None;
        }
        let active_keys: Vec<&str> = active.iter().map(|a| a.key.as_str()).collect();
        self.entries.retain(|k, e| {
            if active_keys.contains(&k.as_str()) {
                return true;
            }
            if firing(k) && e.resolved_at.is_none() {
                // Still firing but held back (silenced, inhibited): a told alert waits
                // for its real resolve; an untold one is forgotten until it is back.
                return e.told.is_some();
            }
            if e.resolved_at.is_some() {
                // Its resolve waits to be told.
                return true;
            }
            e.resolved_at = Some(now);
            // Never told: forget it, unless quiet hours hold it (then it is told later).
            e.told.is_some() || quiet
        });
        if self.changes().next().is_some() {
            self.pending_since.get_or_insert(now);
        } else {
            self.pending_since = None;
        }
        self.shape() != before
    }

    /// The entries whose news has not been told.
    fn changes(&self) -> impl Iterator<Item = &Entry> {
        self.entries
            .values()
            .filter(|e| e.resolved_at.is_some() || e.told != Some(e.alert.severity))
    }

    /// When the waiting changes are due on route `r` (`None`: nothing waits).
    pub fn due(&self, r: &RouteConfig, now: Ts) -> Option<Ts> {
        let since = self.pending_since?;
        let wait = r.group_wait.unwrap_or(Duration::ZERO).as_secs_f64();
        let interval = r.group_interval.or(r.group_wait).unwrap_or(Duration::ZERO);
        let mut due = since + wait;
        if let Some(last) = self.last_sent {
            due = due.max(last + interval.as_secs_f64());
        }
        if let Some(q) = r.quiet_hours.as_ref().filter(|q| q.contains(now)) {
            let urgent = self.changes().any(|e| {
                e.resolved_at.is_none()
                    && e.alert.severity >= Severity::Critical
                    && e.told.is_none_or(|t| t < e.alert.severity)
            });
            if !urgent {
                due = due.max(q.end_after(now));
            }
        }
        Some(due)
    }

    /// Whether the group's criticals are due to be repeated on route `r`.
    fn repeat_due(&self, r: &RouteConfig, global: Duration, now: Ts) -> bool {
        let every = r.repeat_interval.unwrap_or(global).as_secs_f64();
        self.last_sent.is_some_and(|t| now - t >= every)
            && self
                .entries
                .values()
                .any(|e| e.resolved_at.is_none() && e.told.is_some_and(|s| s >= Severity::Critical))
    }

    /// The message due at `now` on route `r` (number `route`, 0-based), if any, with
    /// the state updated as told.
    pub fn flush(
        &mut self,
        route: usize,
        r: &RouteConfig,
        global_repeat: Duration,
        now: Ts,
    ) -> Option<Message> {
        let mut out = Vec::new();
        if self.due(r, now).is_some_and(|d| now >= d) {
            for e in self.entries.values() {
                let kind = match (e.resolved_at, e.told) {
                    (Some(_), _) => Kind::Resolved,
                    (None, None) => Kind::Firing,
                    (None, Some(s)) if s != e.alert.severity => Kind::Changed,
                    _ => continue,
                };
                out.push(notification(e, kind));
            }
        } else if self.repeat_due(r, global_repeat, now) {
            for e in self
                .entries
                .values()
                .filter(|e| e.resolved_at.is_none() && e.alert.severity >= Severity::Critical)
            {
                out.push(notification(e, Kind::Repeat));
            }
        }
        if out.is_empty() {
            return None;
        }
        self.entries.retain(|_, e| e.resolved_at.is_none());
        for e in self.entries.values_mut() {
            e.told = Some(e.alert.severity);
        }
        self.last_sent = Some(now);
        self.pending_since = None;
        let group = (!r.group_by.is_empty()).then(|| Group {
            route: route + 1,
            labels: self.labels.clone(),
        });
        Some(Message {
            group,
            notifications: out,
        })
    }
}

fn notification(e: &Entry, kind: Kind) -> Notification {
    let mut alert = e.alert.clone();
    if let Some(t) = e.resolved_at {
        alert.notified_at = t;
    }
    Notification {
        kind,
        alert,
        resolved_at: e.resolved_at,
        inhibits: Vec::new(),
    }
}

//! Alert lifecycle: one alert per key, a hold time before firing, repeats for
//! criticals, resolve notifications, all persisted before anything is sent.

use crate::config::RouteConfig;
use crate::config::Severity;
use crate::engine::store::{Store, StoreError};
use crate::rules::{Condition, Outcome};
use crate::state::Ts;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

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
    /// It fired or changed while silenced, and that has not been told yet.
    #[serde(default)]
    pub suppressed: bool,
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
}

/// The alert engine.
#[derive(Debug)]
pub struct Engine {
    store: Store,
    routes: Vec<RouteConfig>,
    repeat: Duration,
    pending: HashMap<String, Ts>,
    firing: BTreeMap<String, Alert>,
    silences: Vec<crate::engine::silence::Silence>,
}

impl Engine {
    /// An engine over `store`, picking up the alerts that were firing.
    pub fn new(
        store: Store,
        routes: Vec<RouteConfig>,
        repeat: Duration,
    ) -> Result<Self, StoreError> {
        let firing = store
            .firing()?
            .into_iter()
            .map(|a| (a.key.clone(), a))
            .collect();
        Ok(Self {
            store,
            routes,
            repeat,
            pending: HashMap::new(),
            firing,
            silences: Vec::new(),
        })
    }

    /// Route with `routes` from now on, repeating criticals every `repeat` (a reload).
    pub fn set_routes(&mut self, routes: Vec<RouteConfig>, repeat: Duration) {
        self.routes = routes;
        self.repeat = repeat;
    }

    /// Resolve the firing alerts for which `gone` holds (their subject is no longer
    /// watched, after a reload); returns the notifications queued.
    pub fn resolve_where(
        &mut self,
        gone: impl Fn(&Alert) -> bool,
        now: Ts,
    ) -> Result<Vec<Notification>, StoreError> {
        let keys: Vec<Outcome> = self
            .firing
            .values()
            .filter(|a| gone(a))
            .map(|a| Outcome::Clear(a.key.clone()))
            .collect();
        self.apply(keys, now)
    }

    /// Alerts firing now.
    pub fn firing(&self) -> impl Iterator<Item = &Alert> {
        self.firing.values()
    }

    /// Apply rule outcomes; returns the notifications queued (already persisted).
    pub fn apply(
        &mut self,
        outcomes: Vec<Outcome>,
        now: Ts,
    ) -> Result<Vec<Notification>, StoreError> {
        let mut sent = Vec::new();
        self.silences = self.store.silences(now)?;
        for o in outcomes {
            match o {
                Outcome::Firing(c) => {
                    if let Some(n) = self.on_firing(c, now)? {
                        sent.push(n);
                    }
                }
                Outcome::Clear(key) => {
                    self.pending.remove(&key);
                    if let Some(mut a) = self.firing.remove(&key) {
                        a.notified_at = now;
                        // Whoever was told it fired is told it resolved, silence or not.
                        let tell = a.told;
                        let n = Notification {
                            kind: Kind::Resolved,
                            alert: a,
                            resolved_at: Some(now),
                        };
                        self.queue(&key, None, &n, tell, now)?;
                        if tell {
                            sent.push(n);
                        }
                    }
                }
            }
        }
        Ok(sent)
    }

    fn on_firing(&mut self, c: Condition, now: Ts) -> Result<Option<Notification>, StoreError> {
        let key = c.key.clone();
        let Some(existing) = self.firing.get(&key).cloned() else {
            let since = *self.pending.entry(key.clone()).or_insert(now);
            if now - since < c.hold.as_secs_f64() {
                return Ok(None);
            }
            self.pending.remove(&key);
            let a = Alert {
                key: key.clone(),
                rule: c.rule.to_string(),
                severity: c.severity,
                chain: c.chain,
                node: c.node,
                host: c.host,
                summary: c.summary,
                started_at: now,
                notified_at: now,
                told: false,
                suppressed: false,
            };
            return self.notify(a, Kind::Firing, now);
        };
        let mut a = existing;
        a.summary = c.summary;
        let silenced = self.silenced(&a, now);
        if a.suppressed && !silenced {
            // The silence ended while it fires: tell now.
            a.severity = c.severity;
            a.notified_at = now;
            let kind = if a.told { Kind::Changed } else { Kind::Firing };
            return self.notify(a, kind, now);
        }
        if a.severity != c.severity {
            a.severity = c.severity;
            a.notified_at = now;
            return self.notify(a, Kind::Changed, now);
        }
        if !silenced
            && a.severity == Severity::Critical
            && now - a.notified_at >= self.repeat.as_secs_f64()
        {
            a.notified_at = now;
            return self.notify(a, Kind::Repeat, now);
        }
        self.firing.insert(key, a);
        Ok(None)
    }

    fn silenced(&self, a: &Alert, now: Ts) -> bool {
        self.silences.iter().any(|s| s.matches(a, now))
    }

    /// Record `a` and queue a notification, unless it is silenced (then it is only
    /// recorded, marked as not told). Returns the notification sent, if any.
    fn notify(
        &mut self,
        mut a: Alert,
        kind: Kind,
        now: Ts,
    ) -> Result<Option<Notification>, StoreError> {
        let tell = !self.silenced(&a, now);
        a.suppressed = !tell;
        a.told |= tell;
        let n = Notification {
            kind,
            alert: a.clone(),
            resolved_at: None,
        };
        self.queue(&a.key, Some(&a), &n, tell, now)?;
        self.firing.insert(a.key.clone(), a);
        Ok(tell.then_some(n))
    }

    fn queue(
        &mut self,
        key: &str,
        a: Option<&Alert>,
        n: &Notification,
        tell: bool,
        now: Ts,
    ) -> Result<(), StoreError> {
        let channels = if tell {
            route(&self.routes, &n.alert)
        } else {
            vec![]
        };
        tracing::info!(key, kind = ?n.kind, severity = ?n.alert.severity, ?channels, silenced = !tell, "{}", n.alert.summary);
        self.store.commit(key, a, n, &channels, now)
    }
}

/// Channels whose routes match `alert` (each once, in route order).
pub fn route(routes: &[RouteConfig], alert: &Alert) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in routes {
        let sev = alert.severity >= r.min_severity;
        let chain =
            r.chains.is_empty() || alert.chain.as_ref().is_some_and(|c| r.chains.contains(c));
        if sev && chain {
            for c in &r.channels {
                if !out.contains(c) {
                    out.push(c.clone());
                }
            }
        }
    }
    out
}

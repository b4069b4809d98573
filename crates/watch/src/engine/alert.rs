//! Alert lifecycle: one alert per key, a hold time before firing, repeats for
//! criticals, resolve notifications, all persisted before anything is sent.
//!
//! Notifications to routes that neither group nor time them are queued here as they
//! happen; grouped and timed routes get theirs from [`crate::engine::stage`] after
//! each evaluation. Silenced and inhibited alerts are recorded but not told.

use crate::config::Severity;
use crate::engine::group::GroupState;
use crate::engine::inhibit;
use crate::engine::labels::severity_label;
use crate::engine::message::Message;
use crate::engine::routing::Routing;
use crate::engine::store::{Store, StoreError};
use crate::rules::{Condition, Outcome};
use crate::state::Ts;
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub use crate::engine::notification::{Alert, Kind, Notification};

/// The alert engine.
#[derive(Debug)]
pub struct Engine {
    pub(crate) store: Store,
    pub(crate) routing: Routing,
    pending: HashMap<String, Ts>,
    pub(crate) firing: BTreeMap<String, Alert>,
    /// The keys of the firing alerts that can inhibit others (few or none), kept with
    /// `firing` by [`Engine::put`] and [`Engine::take`], so that finding what holds an
    /// alert back looks at these only, not at every firing alert.
    sources: BTreeSet<String>,
    pub(crate) silences: Vec<crate::engine::silence::Silence>,
    /// The groups of grouped and timed routes, by (route index, group key).
    pub(crate) groups: BTreeMap<(usize, String), GroupState>,
    /// Notifications of alerts that inhibit others, queued at the end of `apply`:
    /// (key, upsert, notification, channels).
    deferred: Vec<(String, bool, Notification, Vec<String>)>,
}

impl Engine {
    /// An engine over `store`, picking up the alerts that were firing and the state
    /// of the groups.
    pub fn new(store: Store, routing: Routing) -> Result<Self, StoreError> {
        let firing = store
            .firing()?
            .into_iter()
            .map(|a| (a.key.clone(), a))
            .collect();
        let groups = store
            .groups()?
            .into_iter()
            .map(|(r, g, s)| ((r, g), s))
            .collect();
        let mut e = Self {
            store,
            routing,
            pending: HashMap::new(),
            firing,
            sources: BTreeSet::new(),
            silences: Vec::new(),
            groups,
            deferred: Vec::new(),
        };
        e.find_sources();
        Ok(e)
    }

    /// Recount which firing alerts can inhibit others (at the start, after a reload).
    fn find_sources(&mut self) {
        let rules = &self.routing.inhibits;
        self.sources = self
            .firing
            .values()
            .filter(|a| inhibit::is_source(rules, &a.labels))
            .map(|a| a.key.clone())
            .collect();
    }

    /// Put `a` among the firing alerts.
    fn put(&mut self, a: Alert) {
        if inhibit::is_source(&self.routing.inhibits, &a.labels) {
            self.sources.insert(a.key.clone());
        } else {
            self.sources.remove(&a.key);
        }
        self.firing.insert(a.key.clone(), a);
    }

    /// Take the alert `key` out of the firing alerts.
    fn take(&mut self, key: &str) -> Option<Alert> {
        self.sources.remove(key);
        self.firing.remove(key)
    }

    /// The firing alerts that can inhibit others.
    fn source_alerts(&self) -> impl Iterator<Item = &Alert> {
        self.sources.iter().filter_map(|k| self.firing.get(k))
    }

    /// Route, label and inhibit with `routing` from now on (a reload).
    pub fn set_routing(&mut self, routing: Routing) {
        self.routing = routing;
        self.find_sources();
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
        // Alerts that can inhibit others first, so their targets see them.
        let mut outcomes = outcomes;
        outcomes.sort_by_cached_key(|o| !self.is_source(o));
        for o in outcomes {
            match o {
                Outcome::Firing(c) => {
                    if let Some(n) = self.on_firing(c, now)? {
                        sent.push(n);
                    }
                }
                Outcome::Clear(key) => {
                    self.pending.remove(&key);
                    if let Some(mut a) = self.take(&key) {
                        a.notified_at = now;
                        // Whoever was told it fired is told it resolved, silence or not.
                        let tell = a.told;
                        let n = Notification {
                            kind: Kind::Resolved,
                            alert: a,
                            resolved_at: Some(now),
                            inhibits: Vec::new(),
                        };
                        if let Some(n) = self.queue(&key, false, n, tell, now)? {
                            sent.push(n);
                        }
                    }
                }
            }
        }
        // Which alerts are inhibited now, kept in the database too (the dispatcher's
        // Alertmanager re-sends read it).
        let keys: Vec<String> = self.firing.keys().cloned().collect();
        for k in keys {
            let by = inhibit::inhibitor(
                &self.routing.inhibits,
                &self.firing[&k],
                self.source_alerts(),
            );
            if let Some(a) = self.firing.get_mut(&k).filter(|a| a.inhibited_by != by) {
                a.inhibited_by = by;
                self.store.save_alert(a)?;
            }
        }
        self.queue_deferred(&mut sent, now)?;
        sent.extend(crate::engine::stage::step(self, now)?);
        Ok(sent)
    }

    /// Whether an outcome is about an alert that can inhibit others.
    fn is_source(&self, o: &Outcome) -> bool {
        match o {
            // An alert firing already keeps its labels (a relabel only reorders here).
            Outcome::Firing(c) if self.firing.contains_key(&c.key) => self.sources.contains(&c.key),
            Outcome::Firing(c) => {
                inhibit::is_source(&self.routing.inhibits, &self.routing.labeler.labels(c))
            }
            Outcome::Clear(k) => self.sources.contains(k),
        }
    }

    fn on_firing(&mut self, c: Condition, now: Ts) -> Result<Option<Notification>, StoreError> {
        let key = c.key.clone();
        let Some(existing) = self.take(&key) else {
            let since = *self.pending.entry(key.clone()).or_insert(now);
            if now - since < c.hold.as_secs_f64() {
                return Ok(None);
            }
            self.pending.remove(&key);
            let labels = self.routing.labeler.labels(&c);
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
                labels,
                inhibited_by: None,
            };
            return self.notify(a, Kind::Firing, now);
        };
        let mut a = existing;
        let mut labels = self.routing.labeler.labels(&c);
        labels.insert("severity".into(), severity_label(a.severity));
        // Labels that changed (a new config, a database from before labels) are kept.
        let relabelled = a.labels != labels;
        a.labels = labels;
        a.summary = c.summary;
        let silenced = self.silenced(&a, now);
        if a.suppressed && !silenced {
            // The silence ended while it fires: tell now.
            a.severity = c.severity;
            a.labels
                .insert("severity".into(), severity_label(a.severity));
            a.notified_at = now;
            let kind = if a.told { Kind::Changed } else { Kind::Firing };
            return self.notify(a, kind, now);
        }
        if a.severity != c.severity {
            a.severity = c.severity;
            a.labels
                .insert("severity".into(), severity_label(a.severity));
            a.notified_at = now;
            return self.notify(a, Kind::Changed, now);
        }
        if !silenced
            && a.severity == Severity::Critical
            && now - a.notified_at >= self.routing.repeat.as_secs_f64()
        {
            a.notified_at = now;
            return self.notify(a, Kind::Repeat, now);
        }
        let saved = if relabelled {
            self.store.save_alert(&a)
        } else {
            Ok(())
        };
        self.put(a);
        saved.map(|()| None)
    }

    /// Whether `a`'s notifications are held back: silenced, or inhibited by another
    /// firing alert.
    fn silenced(&self, a: &Alert, now: Ts) -> bool {
        self.silences.iter().any(|s| s.matches(a, now))
            || inhibit::inhibitor(&self.routing.inhibits, a, self.source_alerts()).is_some()
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
            inhibits: Vec::new(),
        };
        let key = a.key.clone();
        self.put(a);
        self.queue(&key, true, n, tell, now)
    }

    /// Persist the alert `key` as it is in `firing` (or its removal when `upsert` is
    /// false or it is gone) and, when `tell`, queue `n` to the routes that notify at
    /// once; returns `n` when it was queued to some channel. A notification of an
    /// alert that inhibits others waits for the end of `apply`, to name them.
    fn queue(
        &mut self,
        key: &str,
        upsert: bool,
        n: Notification,
        tell: bool,
        now: Ts,
    ) -> Result<Option<Notification>, StoreError> {
        let channels = if tell {
            self.routing.immediate(&n.alert)
        } else {
            vec![]
        };
        tracing::info!(key, kind = ?n.kind, severity = ?n.alert.severity, ?channels, silenced = !tell, "{}", n.alert.summary);
        if tell && inhibit::is_source(&self.routing.inhibits, &n.alert.labels) {
            // Queued at the end of `apply`, once the alerts it inhibits are known.
            let queued = !channels.is_empty();
            self.deferred
                .push((key.to_string(), upsert, n.clone(), channels));
            return Ok(queued.then_some(n));
        }
        let a = self.firing.get(key).filter(|_| upsert);
        self.store
            .commit(key, a, &Message::one(n.clone()), &channels, now)?;
        Ok((!channels.is_empty()).then_some(n))
    }

    /// Queue the deferred notifications of alerts that inhibit others, naming what
    /// they inhibit, and put those names into `sent` too.
    fn queue_deferred(&mut self, sent: &mut [Notification], now: Ts) -> Result<(), StoreError> {
        for (key, upsert, mut n, channels) in std::mem::take(&mut self.deferred) {
            n.inhibits = inhibit::inhibited_by(&self.routing.inhibits, &n.alert, &self.firing);
            let a = self.firing.get(&key).filter(|_| upsert);
            self.store
                .commit(&key, a, &Message::one(n.clone()), &channels, now)?;
            if let Some(s) = sent
                .iter_mut()
                .find(|s| s.alert.key == key && s.kind == n.kind)
            {
                s.inhibits = n.inhibits;
            }
        }
        Ok(())
    }
}

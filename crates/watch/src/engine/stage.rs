//! The step of grouped and timed routes after each evaluation: every group of every
//! such route takes in what fires now, and what is due goes to the outbox as one
//! message per group, with the group's new state, in one transaction.

use crate::config::Labels;
use crate::engine::alert::{Alert, Engine, Notification};
use crate::engine::group::group_of;
use crate::engine::inhibit;
use crate::engine::labels::CHANNEL_FAILING;
use crate::engine::store::StoreError;
use crate::state::Ts;
use std::collections::{BTreeMap, BTreeSet};

/// Step every group of every grouped route at `now`; returns the notifications sent.
pub fn step(e: &mut Engine, now: Ts) -> Result<Vec<Notification>, StoreError> {
    let mut sent = Vec::new();
    for (i, r) in e.routing.routes.iter().enumerate() {
        if !r.grouped() {
            continue;
        }
        let quiet = r.quiet_hours.as_ref().is_some_and(|q| q.contains(now));
        let mut active: BTreeMap<String, (Labels, Vec<&Alert>)> = BTreeMap::new();
        for a in e.firing.values() {
            let held = a.inhibited_by.is_some() || e.silences.iter().any(|s| s.matches(a, now));
            if held || !r.accepts(&a.labels, a.severity) {
                continue;
            }
            let (g, labels) = group_of(r, a);
            active.entry(g).or_insert((labels, Vec::new())).1.push(a);
        }
        let keys: BTreeSet<String> = active
            .keys()
            .cloned()
            .chain(
                e.groups
                    .range((i, String::new())..)
                    .take_while(|((ri, _), _)| *ri == i)
                    .map(|((_, g), _)| g.clone()),
            )
            .collect();
        for g in keys {
            let mut st = e.groups.remove(&(i, g.clone())).unwrap_or_default();
            let (labels, alerts) = active.remove(&g).unwrap_or_default();
            if st.entries.is_empty() {
                st.labels = labels;
            }
            let firing = |k: &str| e.firing.contains_key(k);
            let changed = st.observe(&alerts, &firing, quiet, now);
            let msg = st.flush(i, r, e.routing.repeat, now).map(|mut m| {
                for n in &mut m.notifications {
                    n.inhibits = inhibit::inhibited_by(&e.routing.inhibits, &n.alert, &e.firing);
                }
                m
            });
            let keep = !st.entries.is_empty();
            if changed || msg.is_some() {
                let channels: Vec<String> = match &msg {
                    None => Vec::new(),
                    Some(m) => {
                        // A failing channel is not told about itself.
                        let failing: Vec<&String> = m
                            .notifications
                            .iter()
                            .filter(|n| n.alert.rule == CHANNEL_FAILING)
                            .filter_map(|n| n.alert.labels.get("channel"))
                            .collect();
                        r.channels
                            .iter()
                            .filter(|c| !failing.contains(c))
                            .cloned()
                            .collect()
                    }
                };
                if let Some(m) = &msg {
                    tracing::info!(route = i + 1, group = %g, alerts = m.notifications.len(), ?channels, "group notification");
                }
                let state = keep.then_some(&st);
                e.store
                    .commit_group(i, &g, state, msg.as_ref(), &channels, now)?;
            }
            if let Some(m) = msg {
                sent.extend(m.notifications);
            }
            if keep {
                e.groups.insert((i, g), st);
            }
        }
    }
    Ok(sent)
}

//! Inhibition: while an alert matching an `[[inhibit]]` source fires, the alerts
//! matching its target with the same values of its `equal` labels are held back.
//! They stay firing (and shown, marked with their cause); only notifications wait.

use crate::config::{matches, InhibitConfig, Labels};
use crate::engine::alert::Alert;
use std::collections::BTreeMap;

/// Whether `source` inhibits `target` under `rule`.
fn inhibits(rule: &InhibitConfig, source: &Labels, target: &Labels) -> bool {
    matches(&rule.source, source)
        && matches(&rule.target, target)
        && rule
            .equal
            .iter()
            .all(|l| source.get(l).is_some_and(|v| target.get(l) == Some(v)))
}

/// Whether an alert with `labels` can inhibit others.
pub fn is_source(rules: &[InhibitConfig], labels: &Labels) -> bool {
    rules.iter().any(|r| matches(&r.source, labels))
}

/// The key of one of `sources` (firing alerts, in key order) that inhibits `target`
/// (the first by key), if any.
pub fn inhibitor<'a>(
    rules: &[InhibitConfig],
    target: &Alert,
    sources: impl IntoIterator<Item = &'a Alert>,
) -> Option<String> {
    sources
        .into_iter()
        .filter(|s| s.key != target.key)
        .find(|s| rules.iter().any(|r| inhibits(r, &s.labels, &target.labels)))
        .map(|s| s.key.clone())
}

/// The keys of the firing alerts `source` inhibits.
pub fn inhibited_by(
    rules: &[InhibitConfig],
    source: &Alert,
    firing: &BTreeMap<String, Alert>,
) -> Vec<String> {
    firing
        .values()
        .filter(|t| t.key != source.key)
        .filter(|t| rules.iter().any(|r| inhibits(r, &source.labels, &t.labels)))
        .map(|t| t.key.clone())
        .collect()
}

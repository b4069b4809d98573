//! Scheduled snapshot rules: the newest snapshot of a job is too old, its last attempt
//! failed. A job is known from `bulwark snapshot run`'s metrics file, read through its
//! host's node_exporter.

use crate::config::{Levels, Severity};
use crate::rules::{level_up, push, About, Condition, Outcome};
use crate::state::{Observed, SnapshotJobState, Ts};
use crate::time::human;

pub(crate) fn evaluate(levels: &Levels, obs: &Observed, now: Ts, out: &mut Vec<Outcome>) {
    for h in obs.hosts.iter().filter(|h| h.up) {
        let cfg = levels.host(&h.name);
        for j in &h.snapshots {
            let about = |rule, key, severity, summary, hold| Condition {
                chain: j.chain.clone(),
                ..About::host(&h.name).condition(rule, key, severity, summary, hold)
            };
            let what = describe(j, &h.name);
            // Stale: only from a success that is known.
            if let Some(t) = j.last_success {
                let r = cfg.snapshot_stale;
                let age = now - t;
                let key = format!("snapshot_stale/{}/{}", h.name, j.job);
                let sev = level_up(age, r.warning.as_secs_f64(), r.critical.as_secs_f64());
                push(out, key.clone(), sev, |s| {
                    about(
                        "snapshot_stale",
                        key,
                        s,
                        format!(
                            "{what}: its newest snapshot is {} old; a restore now would start that far behind: check that `bulwark snapshot run` is running and its log",
                            human(age)
                        ),
                        std::time::Duration::ZERO,
                    )
                });
            }
            if j.last_attempt.is_some() {
                let key = format!("snapshot_failed/{}/{}", h.name, j.job);
                let sev = j.last_failed.then_some(Severity::Warning);
                push(out, key.clone(), sev, |s| {
                    about(
                        "snapshot_failed",
                        key,
                        s,
                        format!(
                            "{what}: its last attempt failed{}; the reason is in the snapshot daemon's log and its status file",
                            j.last_success
                                .map(|t| format!(" (last success {} ago)", human(now - t)))
                                .unwrap_or_else(|| " and it has never succeeded".into())
                        ),
                        cfg.snapshot_failed.for_,
                    )
                });
            }
        }
    }
}

fn describe(j: &SnapshotJobState, host: &str) -> String {
    match &j.chain {
        Some(c) => format!("snapshot job {} ({c}) on {host}", j.job),
        None => format!("snapshot job {} on {host}", j.job),
    }
}

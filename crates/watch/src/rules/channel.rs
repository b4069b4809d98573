//! Delivery rules: a notification channel whose deliveries keep failing.

use crate::config::Levels;
use crate::rules::{level_up, push, About, Outcome};
use crate::state::{Observed, Ts};
use crate::time::human;
use std::time::Duration;

pub(crate) fn evaluate(levels: &Levels, obs: &Observed, now: Ts, out: &mut Vec<Outcome>) {
    let cfg = levels.global();
    for c in &obs.channels {
        let r = cfg.channel_failing;
        let key = format!("channel_failing/{}", c.name);
        let n = c.consecutive_failures;
        let sev = level_up(n as f64, r.warning as f64, r.critical as f64);
        push(out, key.clone(), sev, |s| {
            About::default().condition(
                "channel_failing",
                key,
                s,
                format!(
                    "channel {} ({}): {n} deliveries in a row failed over {}: {}; its notifications wait in the outbox and are retried: check its URL, credentials and the receiver",
                    c.name,
                    c.kind,
                    human(c.failing_since.map_or(0.0, |t| now - t)),
                    c.last_error.as_deref().unwrap_or("unknown error")
                ),
                Duration::ZERO,
            )
        });
    }
}

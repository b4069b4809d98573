//! Redundant watches: another watch (`[[peer]]`) stopped answering.

use crate::config::{Levels, Severity};
use crate::rules::{level_up, push_held, Condition, Outcome};
use crate::state::{Observed, Ts};
use crate::time::human;
use std::time::Duration;

pub(crate) fn evaluate(levels: &Levels, obs: &Observed, now: Ts, out: &mut Vec<Outcome>) {
    let r = levels.global().peer_down;
    for p in &obs.peers {
        let key = format!("peer_down/{}", p.name);
        if p.up {
            out.push(Outcome::Clear(key));
            continue;
        }
        let Some(since) = p.down_since else {
            continue;
        };
        let age = now - since;
        let sev = level_up(age, r.warning.as_secs_f64(), r.critical.as_secs_f64());
        push_held(out, sev, |s: Severity| {
            Condition {
            key,
            rule: "peer_down",
            severity: s,
            chain: None,
            node: None,
            host: None,
            summary: format!(
                "watch {} has not answered for {}: {}; until it is back this watch is the only one: check its host and process",
                p.name,
                human(age),
                p.error.as_deref().unwrap_or("no answer")
            ),
            hold: Duration::ZERO,
        }
        });
    }
}

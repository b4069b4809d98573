//! Consensus health. From the blocks: the round recent heights needed to commit, and
//! evidence that our validator signed twice. From the nodes' own Prometheus metrics:
//! the voting power missing from the last commit (the worst figure any of the chain's
//! nodes reports: one alert per chain, not per node), and whether they can be read.

use crate::config::Levels;
use crate::config::Severity;
use crate::rules::{level_up, push, push_held, About, Outcome};
use crate::state::{Observed, Ts};
use crate::time::human;
use std::time::Duration;

pub(crate) fn evaluate(levels: &Levels, obs: &Observed, now: Ts, out: &mut Vec<Outcome>) {
    for n in &obs.nodes {
        let cfg = levels.node(&n.name, &n.chain);
        let Some(m) = &n.metrics else {
            continue;
        };
        let key = format!("node_metrics_down/{}", n.name);
        if m.up {
            out.push(Outcome::Clear(key));
        } else if let Some(since) = m.down_since {
            let r = cfg.node_metrics_down;
            let age = now - since;
            let sev = level_up(age, r.warning.as_secs_f64(), r.critical.as_secs_f64());
            push_held(out, sev, |severity| {
                About::node(&n.chain, &n.name).condition(
                    "node_metrics_down",
                    key,
                    severity,
                    format!(
                        "{} ({}, {}): its metrics at {} could not be read for {}: {}; consensus rounds and missing voting power are not being checked through it",
                        n.name,
                        n.role.as_str(),
                        n.chain,
                        m.url,
                        human(age),
                        m.error.as_deref().unwrap_or("no answer")
                    ),
                    Duration::ZERO,
                )
            });
        }
    }
    for c in &obs.chains {
        let cfg = levels.chain(&c.id);
        let about = About::chain(&c.id);
        // The round each height needed, from the blocks' commits: every height counts,
        // and the alert stays while the slow height is in the window.
        if c.rounds.to.is_some() {
            let r = cfg.consensus_rounds;
            let key = format!("consensus_rounds/{}", c.id);
            let worst = c.rounds.worst().and_then(|w| {
                level_up(w.round as f64, r.warning as f64, r.critical as f64).map(|s| (w, s))
            });
            match worst {
                None => out.push(Outcome::Clear(key)),
                Some((w, s)) => out.push(Outcome::Firing(about.condition(
                    "consensus_rounds",
                    key,
                    s,
                    format!(
                        "{}: height {} needed round {} to commit, the most of the recent blocks (round 0 is normal): proposers are offline or votes do not gather over 2/3 of the power, and the chain may stall; check the validators and their connectivity",
                        c.id, w.height, w.round
                    ),
                    r.for_,
                ))),
            }
        }
        // Evidence in a recent block that our validator signed twice.
        if let (Some(addr), Some(_)) = (&c.validator_address, c.rounds.to) {
            let key = format!("double_sign/{}", c.id);
            match c.double_sign {
                None => out.push(Outcome::Clear(key)),
                Some(d) => out.push(Outcome::Firing(about.condition(
                    "double_sign",
                    key,
                    Severity::Critical,
                    format!(
                        "{}: our validator {} SIGNED TWICE at height {} (the evidence is in block {}): the chain slashes and tombstones it, and it can never sign again; stop every node and signer holding this key now, and find the second signer before starting anything",
                        c.id,
                        addr.get(..8).unwrap_or(addr),
                        d.height,
                        d.block
                    ),
                    Duration::ZERO,
                ))),
            }
        }
        // The worst figure among the chain's nodes whose metrics read now.
        let missing = obs
            .nodes
            .iter()
            .filter(|n| n.chain == c.id)
            .filter_map(|n| {
                let m = n.metrics.as_ref().filter(|m| m.up)?;
                Some((n, m.figures.missing_power_ratio?))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((n, ratio)) = missing {
            let r = cfg.missing_power;
            let pct = ratio * 100.0;
            let key = format!("missing_power/{}", c.id);
            push(
                out,
                key.clone(),
                level_up(pct, r.warning, r.critical),
                |s| {
                    about.condition(
                    "missing_power",
                    key,
                    s,
                    format!(
                        "{}: {pct:.1}% of the voting power did not sign the last block (node {}); at 33.4% the chain halts: see which validators are missing",
                        c.id, n.name
                    ),
                    r.for_,
                )
                },
            );
        }
    }
}

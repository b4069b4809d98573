//! Chain and node rules.

use crate::config::Levels;
use crate::rules::{level_down, level_up, push, push_held, About, Outcome};
use crate::state::{GridEntry, Observed, Sign, Ts};
use crate::time::human;
use std::time::Duration;

pub(crate) fn evaluate(levels: &Levels, obs: &Observed, now: Ts, out: &mut Vec<Outcome>) {
    for c in &obs.chains {
        let cfg = levels.chain(&c.id);
        let about = About::chain(&c.id);
        // Missed in a row: only from blocks actually checked.
        if let (Some(addr), Some(_)) = (&c.validator_address, c.checked_height) {
            let r = cfg.missed_in_a_row;
            let n = c.missed_in_a_row;
            let key = format!("missed_in_a_row/{}", c.id);
            let sev = level_up(n as f64, r.warning as f64, r.critical as f64);
            push(out, key.clone(), sev, |s| {
                let (from, to) = missed_run(c.grid.iter(), n);
                about.condition(
                    "missed_in_a_row",
                    key,
                    s,
                    format!(
                        "{}: our validator {} missed {n} blocks in a row (heights {from}-{to}); it is not signing: check the validator node, its signer and the connection between them",
                        c.id,
                        short(addr)
                    ),
                    r.for_,
                )
            });
        }
        // Stalled: only while some endpoint answers.
        let healthy = c.sources.iter().filter(|s| s.healthy).count();
        if let (Some(h), Some(seen), true) = (c.height, c.height_seen_at, healthy > 0) {
            let r = cfg.chain_stalled;
            let age = now - seen;
            let key = format!("chain_stalled/{}", c.id);
            let sev = level_up(age, r.warning.as_secs_f64(), r.critical.as_secs_f64());
            // The first block after a halt carries the time of the block before it, so
            // it is old on arrival. Fire only once this watch has also seen no new
            // height for the warning time, and resolve only on a block that is recent:
            // no flapping on recovery, no resolve at a restart.
            let local = c.height_observed_at.map_or(0.0, |t| now - t);
            if sev.is_none() || local >= r.warning.as_secs_f64() {
                push(out, key.clone(), sev, |s| {
                    about.condition(
                    "chain_stalled",
                    key,
                    s,
                    format!(
                        "{}: no new block for {} (stuck at height {h}); the chain has halted or our RPC nodes stopped syncing: check validator consensus logs and the RPC nodes",
                        c.id,
                        human(age)
                    ),
                    Duration::ZERO,
                )
                });
            }
        }
        // Sources.
        for src in &c.sources {
            let key = format!("source_unhealthy/{}/{}", c.id, src.url);
            let r = cfg.source_unhealthy;
            if src.healthy {
                out.push(Outcome::Clear(key));
                continue;
            }
            let Some(since) = src.unhealthy_since else {
                continue;
            };
            let age = now - since;
            let mut sev = level_up(age, r.warning.as_secs_f64(), r.critical.as_secs_f64());
            if healthy > 0 && sev == Some(crate::config::Severity::Critical) {
                sev = Some(crate::config::Severity::Warning);
            }
            push_held(out, sev, |s| {
                about.condition(
                    "source_unhealthy",
                    key,
                    s,
                    format!(
                        "{}: RPC endpoint {} has been unhealthy for {}: {}; {healthy} of {} endpoints healthy{}",
                        c.id,
                        src.url,
                        human(age),
                        src.error.as_deref().unwrap_or("unknown error"),
                        c.sources.len(),
                        if healthy == 0 { ", so blocks are NOT being checked: fix or add an endpoint" } else { "" }
                    ),
                    Duration::ZERO,
                )
            });
        }
    }
    nodes(levels, obs, now, out);
}

fn nodes(levels: &Levels, obs: &Observed, now: Ts, out: &mut Vec<Outcome>) {
    for n in &obs.nodes {
        let cfg = levels.node(&n.name, &n.chain);
        let who = format!("{} ({}, {})", n.name, n.role.as_str(), n.chain);
        let about = About::node(&n.chain, &n.name);
        let key = format!("node_down/{}", n.name);
        if n.up {
            out.push(Outcome::Clear(key));
        } else if let Some(since) = n.down_since {
            let r = cfg.node_down;
            let age = now - since;
            let sev = level_up(age, r.warning.as_secs_f64(), r.critical.as_secs_f64());
            push_held(out, sev, |s| {
                about.condition(
                    "node_down",
                    key,
                    s,
                    format!(
                        "{who} has been down for {}: {}; check the process and its host",
                        human(age),
                        n.error.as_deref().unwrap_or("no answer")
                    ),
                    Duration::ZERO,
                )
            });
        }
        if !n.up {
            continue;
        }
        let key = format!("node_catching_up/{}", n.name);
        match n.catching_up_since {
            None => out.push(Outcome::Clear(key)),
            Some(since) => {
                let r = cfg.node_catching_up;
                let age = now - since;
                let sev = level_up(age, r.warning.as_secs_f64(), r.critical.as_secs_f64());
                push_held(out, sev, |s| {
                    about.condition(
                        "node_catching_up",
                        key,
                        s,
                        format!(
                            "{who} has been catching up for {} (at height {}); it is syncing and cannot serve or sign until it is done",
                            human(age),
                            n.height.unwrap_or(0)
                        ),
                        Duration::ZERO,
                    )
                });
            }
        }
        if let (Some(h), Some(best)) = (n.height, obs.best_height(&n.chain)) {
            let r = cfg.node_behind;
            let behind = best.saturating_sub(h);
            let key = format!("node_behind/{}", n.name);
            let sev = level_up(behind as f64, r.warning as f64, r.critical as f64);
            push(out, key.clone(), sev, |s| {
                about.condition(
                    "node_behind",
                    key,
                    s,
                    format!(
                        "{who} is {behind} blocks behind (height {h}, best {best}); check its peers, CPU and disk I/O"
                    ),
                    r.for_,
                )
            });
        }
        if let Some(peers) = n.peers {
            let r = cfg.peers_low;
            let key = format!("peers_low/{}", n.name);
            let sev = level_down(peers as f64, r.warning as f64, r.critical as f64);
            push(out, key.clone(), sev, |s| {
                about.condition(
                    "peers_low",
                    key,
                    s,
                    format!(
                        "{who} has only {peers} peers (warning below {}, critical below {}); check persistent_peers, seeds and the firewall",
                        r.warning, r.critical
                    ),
                    r.for_,
                )
            });
        }
    }
}

fn missed_run<'a>(grid: impl DoubleEndedIterator<Item = &'a GridEntry>, n: u64) -> (u64, u64) {
    let run: Vec<u64> = grid
        .rev()
        .take_while(|e| e.sign == Sign::Missed)
        .map(|e| e.height)
        .collect();
    let to = run.first().copied().unwrap_or(0);
    let from = run.last().copied().unwrap_or(0);
    if run.len() as u64 == n {
        (from, to)
    } else {
        (to.saturating_sub(n.saturating_sub(1)), to)
    }
}

/// First eight characters of an address.
fn short(addr: &str) -> &str {
    addr.get(..8).unwrap_or(addr)
}

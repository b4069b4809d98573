//! Threshold cosigner rules, per group of cosigners (`[[signer]]`s with the same
//! `cosigners`): a cosigner down (its metrics, or every other cosigner's link to it),
//! the threshold at risk or lost, share refusals, failed signatures, slow peer links.

use crate::config::{Levels, RulesConfig, Severity};
use crate::rules::{level_up, push, push_held, Condition, Outcome};
use crate::state::{groups, CosignerGroup, Observed, SignerState, Ts};
use crate::time::human;
use std::time::Duration;

/// The refusal reason that means two coordinators asked for conflicting data.
const CONFLICTING: &str = "conflicting_data";

pub(crate) fn evaluate(levels: &Levels, obs: &Observed, now: Ts, out: &mut Vec<Outcome>) {
    for g in groups(obs) {
        for s in &g.members {
            let cfg = levels.signer(&s.name);
            down(cfg, &g, s, now, out);
            if let Some(t) = s.threshold.as_ref().filter(|_| s.up) {
                refusals(cfg, s, t, out);
                failures(cfg, s, t, out);
                slow(cfg, s, t, out);
            }
        }
        threshold(levels, &g, out);
    }
}

fn condition(
    rule: &'static str,
    key: String,
    severity: Severity,
    chain: Option<String>,
    summary: String,
    hold: Duration,
) -> Condition {
    Condition {
        key,
        rule,
        severity,
        chain,
        node: None,
        host: None,
        summary,
        hold,
    }
}

/// `cosigner_down`: its metrics do not answer, or every other answering cosigner that
/// reports a link to it has it down.
fn down(
    cfg: &RulesConfig,
    g: &CosignerGroup<'_>,
    s: &SignerState,
    now: Ts,
    out: &mut Vec<Outcome>,
) {
    let key = format!("cosigner_down/{}", s.name);
    let r = cfg.cosigner_down;
    let sev = |age: f64| level_up(age, r.warning.as_secs_f64(), r.critical.as_secs_f64());
    let make = |sev, summary| {
        condition(
            "cosigner_down",
            key.clone(),
            sev,
            None,
            summary,
            Duration::ZERO,
        )
    };
    if !s.up {
        if let Some(since) = s.down_since {
            let age = now - since;
            push_held(out, sev(age), |sev| {
                make(sev, format!(
                "cosigner {} of {}: metrics have not answered for {}: {}; the cosigner may be down, and with it one share of the key: check its host and process",
                s.name, g.name, human(age), s.error.as_deref().unwrap_or("no answer")
            ))
            });
        }
        return;
    }
    // Each other answering cosigner's link to this one.
    let links: Vec<(&str, Option<Ts>)> = g
        .members
        .iter()
        .filter(|o| o.name != s.name && o.up)
        .filter_map(|o| {
            let t = o.threshold.as_ref()?;
            let p = t.peers.iter().find(|p| p.peer == s.peer_name)?;
            Some((o.name.as_str(), p.down_since))
        })
        .collect();
    let since = links
        .iter()
        .map(|(_, d)| *d)
        .try_fold(f64::MIN, |acc, d| d.map(|d| acc.max(d)));
    match since {
        Some(since) if !links.is_empty() => {
            let age = now - since;
            let who: Vec<&str> = links.iter().map(|(n, _)| *n).collect();
            push_held(out, sev(age), |sev| {
                make(sev, format!(
                "cosigner {} of {}: every other cosigner ({}) has had its link to it down for {}; its metrics answer, so the cosigners cannot reach it: check the network between them, its [threshold] listen address and the link keys",
                s.name, g.name, who.join(", "), human(age)
            ))
            });
        }
        _ => out.push(Outcome::Clear(key)),
    }
}

/// `threshold_at_risk` and `threshold_lost`, per chain of the group.
fn threshold(levels: &Levels, g: &CosignerGroup<'_>, out: &mut Vec<Outcome>) {
    let n = g.members.len();
    for c in &g.chains {
        let cfg = levels.chain(&c.chain);
        let at_risk = format!("threshold_at_risk/{}/{}", g.name, c.chain);
        let lost = format!("threshold_lost/{}/{}", g.name, c.chain);
        let (t, k) = (c.threshold, c.reachable);
        if k < t {
            out.push(Outcome::Clear(at_risk));
            out.push(Outcome::Firing(condition(
                "threshold_lost",
                lost,
                Severity::Critical,
                Some(c.chain.clone()),
                format!(
                    "{}: cosigners of {} cannot sign: a signature needs {t} of {n} cosigners and at most {k} reach each other (best: {}); every signature is missed until another cosigner is back",
                    c.chain, g.name, c.best
                ),
                cfg.threshold_lost.for_,
            )));
        } else if k < t + 1 || c.weakest < t + 1 {
            let summary = if k < t + 1 {
                format!(
                    "{}: only {k} of {n} cosigners of {} reach each other (best: {}) and a signature needs {t}: one more lost cosigner stops signing; bring the missing one back",
                    c.chain, g.name, c.best
                )
            } else {
                one_way(g, c, n)
            };
            out.push(Outcome::Clear(lost));
            out.push(Outcome::Firing(condition(
                "threshold_at_risk",
                at_risk,
                Severity::Warning,
                Some(c.chain.clone()),
                summary,
                cfg.threshold_at_risk.for_,
            )));
        } else {
            out.push(Outcome::Clear(at_risk));
            out.push(Outcome::Clear(lost));
        }
    }
}

/// The at-risk summary when one coordinator reaches all it needs but another reaches
/// fewer: some links are down, perhaps one way only (a cosigner whose peers reach it
/// while it does not reach them, or the reverse).
fn one_way(g: &CosignerGroup<'_>, c: &crate::state::GroupChain, n: usize) -> String {
    let (t, w) = (c.threshold, c.weakest);
    let missing: Vec<&str> = g
        .members
        .iter()
        .find(|m| m.name == c.weakest_name)
        .and_then(|m| m.threshold.as_ref())
        .map(|th| {
            th.peers
                .iter()
                .filter(|p| !p.up)
                .map(|p| p.peer.as_str())
                .collect()
        })
        .unwrap_or_default();
    let what = if w < t {
        "a node's request it coordinates cannot be signed (the node misses that block while it holds this cosigner's connection)"
    } else {
        "one more lost link stops the signatures it coordinates"
    };
    let missing = missing.join(", ");
    format!(
        "{}: cosigner {} of {} reaches only {w} of {n} cosigners (its links to {missing} are down), though {} reaches {}; a signature needs {t}: {what}; check the network from {} to {missing}, their [threshold] listen addresses and the link keys",
        c.chain, c.weakest_name, g.name, c.best, c.reachable, c.weakest_name
    )
}

/// `cosigner_refusals`, per reason.
fn refusals(
    cfg: &RulesConfig,
    s: &SignerState,
    t: &crate::state::CosignerState,
    out: &mut Vec<Outcome>,
) {
    let r = cfg.cosigner_refusals;
    for (reason, &count) in &t.recent_refusals {
        if cfg.cosigner_refusals_ignored.contains(reason) {
            continue;
        }
        let key = format!("cosigner_refusals/{}/{reason}", s.name);
        let sev = if reason == CONFLICTING && count > 0 {
            Some(Severity::Critical)
        } else {
            level_up(count as f64, r.warning as f64, r.critical as f64)
        };
        let what = match reason.as_str() {
            CONFLICTING => "two coordinators asked it to sign conflicting data at the same height/round/step (it signed the first only, so no double sign, but two validator nodes are voting differently: check that only one of them should be signing)",
            "bad_share" => "peers sent it shares that do not verify (a peer's share file does not belong to this key, or a peer is faulty)",
            "bad_package" => "the signing packages it was sent were not for its key or lacked its nonce (cosigners with mismatched shares or a faulty coordinator)",
            "below_floor" | "above_max_height" | "height_jump" => "the requests were outside what its sign state and the chain allow (its state or a node is behind or ahead)",
            _ => "check its log for the requests refused",
        };
        push(out, key.clone(), sev, |sev| {
            condition(
                "cosigner_refusals",
                key,
                sev,
                None,
                format!(
                    "cosigner {}: {count} share requests refused for {reason} in the last 10 minutes: {what}",
                    s.name
                ),
                Duration::ZERO,
            )
        });
    }
}

/// `cosigner_failures`, per cosigner and chain: signatures it coordinated that did not
/// gather enough shares in time.
fn failures(
    cfg: &RulesConfig,
    s: &SignerState,
    t: &crate::state::CosignerState,
    out: &mut Vec<Outcome>,
) {
    let r = cfg.cosigner_failures;
    for c in &t.chains {
        let key = format!("cosigner_failures/{}/{}", s.name, c.chain);
        let sev = level_up(c.recent_failed as f64, r.warning as f64, r.critical as f64);
        push(out, key.clone(), sev, |sev| {
            condition(
                "cosigner_failures",
                key,
                sev,
                Some(c.chain.clone()),
                format!(
                    "cosigner {}: {} of the {} signatures it coordinated for {} in the last 10 minutes failed (too few shares in time): each is a missed vote; check the peers it reaches (cosigner_down, cosigner_slow) and their logs",
                    s.name,
                    c.recent_failed,
                    c.recent_failed + c.recent_signed,
                    c.chain
                ),
                Duration::ZERO,
            )
        });
    }
}

/// `cosigner_slow`, per peer link with recent round trips.
fn slow(
    cfg: &RulesConfig,
    s: &SignerState,
    t: &crate::state::CosignerState,
    out: &mut Vec<Outcome>,
) {
    let r = cfg.cosigner_slow;
    for p in &t.peers {
        let Some(rt) = p.round_trip_seconds else {
            continue;
        };
        let key = format!("cosigner_slow/{}/{}", s.name, p.peer);
        let sev = level_up(rt, r.warning.as_secs_f64(), r.critical.as_secs_f64());
        push(out, key.clone(), sev, |sev| {
            condition(
                "cosigner_slow",
                key,
                sev,
                None,
                format!(
                    "cosigner {}: share requests to {} take {:.0} ms on average over the last 5 minutes; each signature waits for them: check the network between the two hosts and the peer's load",
                    s.name,
                    p.peer,
                    rt * 1000.0
                ),
                Duration::ZERO,
            )
        });
    }
}

//! Signer rules: metrics unreachable, a node connection down, a key sealed, refusals.

use crate::config::Levels;
use crate::rules::{level_up, push, push_held, Condition, Outcome};
use crate::state::{Observed, Ts};
use crate::time::human;
use std::time::Duration;

pub(crate) fn evaluate(levels: &Levels, obs: &Observed, now: Ts, out: &mut Vec<Outcome>) {
    for s in &obs.signers {
        let cfg = levels.signer(&s.name);
        let base = |rule: &'static str,
                    key: String,
                    severity,
                    chain: Option<String>,
                    node: Option<String>,
                    summary: String| Condition {
            key,
            rule,
            severity,
            chain,
            node,
            host: None,
            summary,
            hold: Duration::ZERO,
        };
        let key = format!("signer_down/{}", s.name);
        // A cosigner's `cosigner_down` stands in for it.
        if s.up || s.cosigners.is_some() {
            out.push(Outcome::Clear(key));
        } else if let Some(since) = s.down_since {
            let r = cfg.signer_down;
            let age = now - since;
            let sev = level_up(age, r.warning.as_secs_f64(), r.critical.as_secs_f64());
            push_held(out, sev, |sev| {
                base("signer_down", key, sev, None, None, format!(
                    "signer {}: metrics have not answered for {}: {}; the signer may be down, and then no validator node it serves can sign",
                    s.name, human(age), s.error.as_deref().unwrap_or("no answer")
                ))
            });
        }
        if !s.up {
            continue;
        }
        for n in &s.nodes {
            let key = format!("signer_node_disconnected/{}/{}/{}", s.name, n.chain, n.node);
            let Some(since) = n.disconnected_since else {
                out.push(Outcome::Clear(key));
                continue;
            };
            let r = cfg.signer_node_disconnected;
            let age = now - since;
            let sev = level_up(age, r.warning.as_secs_f64(), r.critical.as_secs_f64());
            push_held(out, sev, |sev| {
                base("signer_node_disconnected", key, sev, Some(n.chain.clone()), Some(n.node.clone()), format!(
                    "signer {}: no connection to node {} ({}) for {}; that node cannot sign: if it is the active validator node, blocks are being missed",
                    s.name, n.node, n.chain, human(age)
                ))
            });
        }
        for (chain, since) in &s.sealed {
            let key = format!("signer_sealed/{}/{chain}", s.name);
            let Some(since) = since else {
                out.push(Outcome::Clear(key));
                continue;
            };
            let r = cfg.signer_sealed;
            let age = now - since;
            let sev = level_up(age, r.warning.as_secs_f64(), r.critical.as_secs_f64());
            push_held(out, sev, |sev| {
                base("signer_sealed", key, sev, Some(chain.clone()), None, format!(
                    "signer {}: its key for {chain} is sealed (for {}) and signs nothing until the vault's custodians run `bulwark vault unseal`",
                    s.name, human(age)
                ))
            });
        }
        let r = cfg.signer_refusals;
        let key = format!("signer_refusals/{}", s.name);
        let n = s.recent_refusals;
        push(
            out,
            key.clone(),
            level_up(n as f64, r.warning as f64, r.critical as f64),
            |sev| {
                base("signer_refusals", key, sev, None, None, format!(
                "signer {}: refused {n} signing requests in the last 10 minutes ({}); check the signer's log: a node is misconfigured or its state is behind",
                s.name, cfg.signer_refusal_reasons.join(", ")
            ))
            },
        );
    }
}

//! A relayer node's Hermes, from its telemetry: the endpoint failing
//! (`relayer_telemetry_down`), packets that wait on a channel end (`relayer_backlog`)
//! and errors broadcasting or simulating its transactions (`relayer_errors`). Its
//! wallets' balances are shown and exported; their low-balance alert is `wallet_low`
//! through a `[[chain.wallet]]` read by REST, which also works while Hermes is down.

use crate::config::Levels;
use crate::rules::{level_up, push, push_held, About, Outcome};
use crate::state::{Observed, Ts};
use crate::time::human;
use std::time::Duration;

pub(crate) fn evaluate(levels: &Levels, obs: &Observed, now: Ts, out: &mut Vec<Outcome>) {
    for n in &obs.nodes {
        let Some(h) = &n.hermes else { continue };
        let cfg = levels.node(&n.name, &n.chain);
        let about = About::node(&n.chain, &n.name);
        let who = format!("{} (relayer, {})", n.name, n.chain);
        let down = format!("relayer_telemetry_down/{}", n.name);
        if h.up {
            out.push(Outcome::Clear(down));
        } else if let Some(since) = h.down_since {
            let r = cfg.relayer_telemetry_down;
            let age = now - since;
            let sev = level_up(age, r.warning.as_secs_f64(), r.critical.as_secs_f64());
            push_held(out, sev, |s| {
                about.condition(
                    "relayer_telemetry_down",
                    down,
                    s,
                    format!(
                        "{who}: its Hermes telemetry at {} could not be read for {}: {}; Hermes may be down (no packets relayed), or its [telemetry] is off: check the hermes process and its config",
                        h.url,
                        human(age),
                        h.error.as_deref().unwrap_or("no answer")
                    ),
                    Duration::ZERO,
                )
            });
            // The last figures are kept, but nothing new is known: judge nothing on them.
            continue;
        }
        let r = cfg.relayer_backlog;
        for b in &h.figures.backlogs {
            let key = format!(
                "relayer_backlog/{}/{}/{}/{}",
                n.name, b.chain, b.port, b.channel
            );
            let sev = level_up(b.size as f64, r.warning as f64, r.critical as f64);
            push(out, key.clone(), sev, |s| {
                about.condition(
                    "relayer_backlog",
                    key,
                    s,
                    format!(
                        "{who}: {} packets sent on {} {}/{} to {} wait to be relayed{}; check Hermes' log for errors, its wallet on {} and the nodes it reads",
                        b.size,
                        b.chain,
                        b.port,
                        b.channel,
                        b.counterparty,
                        b.oldest_sequence
                            .map(|q| format!(" (the oldest is sequence {q})"))
                            .unwrap_or_default(),
                        b.counterparty
                    ),
                    r.for_,
                )
            });
        }
        let r = cfg.relayer_errors;
        let key = format!("relayer_errors/{}", n.name);
        let sev = level_up(h.recent_errors as f64, r.warning as f64, r.critical as f64);
        push(out, key.clone(), sev, |s| {
            about.condition(
                "relayer_errors",
                key,
                s,
                format!(
                    "{who}: its Hermes met {} errors broadcasting or simulating transactions in the last 10 minutes; check its log (fees, gas, account sequence, the nodes it sends to)",
                    h.recent_errors
                ),
                r.for_,
            )
        });
    }
}

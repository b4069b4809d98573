//! Wallets and stake: `wallet_low` (a `[[chain.wallet]]` below its levels),
//! `validator_rank` (our validator among the last places of a full active set) and
//! `commission_changed` (its commission rate changed; resolves after `keep`).

use crate::config::Levels;
use crate::rules::{level_down, push, sdk::who, About, Outcome};
use crate::state::{Observed, Ts};
use crate::time::{human, rfc3339};
use std::time::Duration;

pub(crate) fn evaluate(levels: &Levels, obs: &Observed, now: Ts, out: &mut Vec<Outcome>) {
    for c in &obs.chains {
        let cfg = levels.chain(&c.id);
        let Some(s) = &c.sdk else {
            continue;
        };
        let id = &c.id;
        let about = About::chain(id);
        for w in &s.slow.wallets {
            let (Some(balance), Some(amount)) = (w.balance, &w.amount) else {
                continue;
            };
            let key = format!("wallet_low/{id}/{}", w.name);
            let sev = level_down(balance, w.warning, w.critical);
            push(out, key.clone(), sev, |sev| {
                let (level, word) = match sev {
                    crate::config::Severity::Critical => (w.critical, "critical"),
                    _ => (w.warning, "warning"),
                };
                let held = if w.exponent == 0 {
                    format!("{amount}{}", w.denom)
                } else {
                    format!(
                        "{balance} (10^{} {}; {amount}{})",
                        w.exponent, w.denom, w.denom
                    )
                };
                about.condition("wallet_low", key, sev, format!(
                    "{id}: wallet {} ({}) holds {held}, below its {word} level of {level}: top it up before it cannot pay its fees",
                    w.name, w.address
                ), Duration::ZERO)
            });
        }
        if let Some(st) = &s.slow.standing {
            let key = format!("validator_rank/{id}");
            let r = cfg.validator_rank;
            let sev = st
                .places_left()
                .and_then(|left| level_down(left as f64, r.warning as f64, r.critical as f64));
            push(out, key.clone(), sev, |sev| {
                let share = st.power_ratio.map_or(String::new(), |p| {
                    format!(", {:.2}% of the bonded stake", p * 100.0)
                });
                about.condition("validator_rank", key, sev, format!(
                    "{id}: our validator {} is number {} of the {} places of the full active set ({} bonded tokens{share}): a validator that bonds more pushes it out; add self-delegation or delegations",
                    who(s),
                    st.rank.unwrap_or(0),
                    st.max_validators,
                    st.tokens.as_deref().unwrap_or("?"),
                ), r.for_)
            });
        }
        if let Some(ch) = &s.slow.commission_change {
            let key = format!("commission_changed/{id}");
            let keep = cfg.commission_changed.keep.as_secs_f64();
            let sev = (now - ch.at < keep).then_some(crate::config::Severity::Warning);
            let pct = |r: &str| {
                r.parse::<f64>()
                    .map_or(r.to_string(), |v| format!("{:.2}%", v * 100.0))
            };
            push(out, key.clone(), sev, |sev| {
                about.condition("commission_changed", key, sev, format!(
                    "{id}: the commission rate of our validator {} changed from {} to {} (seen at {}); if nobody on the team changed it, the operator key may be in other hands; this notice resolves in {}",
                    who(s),
                    pct(&ch.from),
                    pct(&ch.to),
                    rfc3339(ch.at),
                    human(keep - (now - ch.at))
                ), Duration::ZERO)
            });
        }
    }
}

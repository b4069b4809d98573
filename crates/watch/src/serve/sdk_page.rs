//! The Cosmos SDK part of a chain's section on the status page.

use crate::state::ChainState;

/// The SDK part of a chain's section on the status page.
pub(crate) fn page_fragment(c: &ChainState) -> String {
    use crate::serve::page::esc;
    let Some(s) = &c.sdk else {
        return String::new();
    };
    let a = &s.assessment;
    let mut parts: Vec<String> = Vec::new();
    if let Some(v) = &s.validator {
        let class = if v.bonded() { "ok" } else { "bad" };
        parts.push(format!(
            "validator {} <span class={class}>{}</span>",
            esc(&v.moniker),
            esc(&v.status)
        ));
    }
    if a.jailed == Some(true) {
        parts.push("<span class=bad>JAILED</span>".into());
    }
    if a.tombstoned == Some(true) {
        parts.push("<span class=bad>TOMBSTONED</span>".into());
    }
    if let (Some(m), Some(al), Some(p)) = (a.missed_in_window, a.allowed_missed, &s.slashing_params)
    {
        let share = a.window_missed_ratio.unwrap_or(0.0) * 100.0;
        parts.push(format!(
            "missed {m} in the {}-block window, {share:.0}% of the {al} allowed",
            p.signed_blocks_window
        ));
    }
    if let Some(b) = a.jail_in_blocks {
        let t = a
            .jail_in_seconds
            .map_or(String::new(), |t| format!(", ~{}", crate::time::human(t)));
        parts.push(format!("<span class=bad>jailed in ~{b} blocks{t}</span>"));
    }
    if let (Some(plan), Some(b)) = (&s.upgrade_plan, a.upgrade_in_blocks) {
        let t = a
            .upgrade_in_seconds
            .map_or(String::new(), |t| format!(", ~{}", crate::time::human(t)));
        parts.push(format!(
            "upgrade {} at height {} ({b} blocks{t})",
            esc(&plan.name),
            plan.height
        ));
    }
    if let Some(st) = &s.slow.standing {
        if let Some(r) = st.rank {
            parts.push(format!(
                "rank {r} of {} bonded ({} places)",
                st.bonded_validators, st.max_validators
            ));
        }
    }
    if let Some(g) = &s.slow.gov {
        let unvoted: Vec<String> = g
            .proposals
            .iter()
            .filter(|p| !p.voted)
            .map(|p| format!("#{}", p.proposal.id))
            .collect();
        if !unvoted.is_empty() {
            parts.push(format!(
                "<span class=bad>not voted: {}</span>",
                unvoted.join(", ")
            ));
        }
    }
    for w in &s.slow.wallets {
        if let Some(b) = w.balance {
            let class = if b < w.warning { "bad" } else { "ok" };
            let unit = if w.exponent == 0 {
                w.denom.clone()
            } else {
                format!("x10^{} {}", w.exponent, w.denom)
            };
            parts.push(format!(
                "wallet {} <span class={class}>{b} {}</span>",
                esc(&w.name),
                esc(&unit)
            ));
        }
    }
    if !s.unavailable.is_empty() {
        parts.push(format!("not served: {}", esc(&s.unavailable.join(", "))));
    }
    if !s.fresh {
        parts.push("<span class=bad>data not current</span>".into());
    }
    let mut h = format!("<p>Cosmos SDK: {}</p>", parts.join(" &middot; "));
    h.push_str(&format!(
        "<table><tr><th>{}</th><th>state</th></tr>",
        esc(s.via.endpoint())
    ));
    for src in &s.sources {
        let st = if src.healthy {
            "<span class=ok>up</span>".to_string()
        } else {
            format!(
                "<span class=bad>down</span> {}",
                esc(src.error.as_deref().unwrap_or(""))
            )
        };
        h.push_str(&format!("<tr><td>{}</td><td>{st}</td></tr>", esc(&src.url)));
    }
    h.push_str("</table>");
    h
}

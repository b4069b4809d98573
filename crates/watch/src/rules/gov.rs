//! `gov_unvoted`: a governance proposal in its voting period that our validator has
//! not voted on, with a reminder schedule by the time left: `info` with more than
//! `warning` left, `warning` below it, `critical` below `critical`. It resolves when
//! our vote is on the chain or the voting period is over.

use crate::config::{Levels, Severity};
use crate::rules::{level_down, sdk::who, About, Outcome};
use crate::state::{Observed, Ts};
use crate::time::{human, rfc3339};
use std::time::Duration;

pub(crate) fn evaluate(levels: &Levels, obs: &Observed, now: Ts, out: &mut Vec<Outcome>) {
    for c in &obs.chains {
        let cfg = levels.chain(&c.id);
        let Some(s) = &c.sdk else {
            continue;
        };
        let Some(g) = &s.slow.gov else {
            continue;
        };
        let id = &c.id;
        let about = About::chain(id);
        let r = cfg.gov_unvoted;
        for p in &g.proposals {
            let key = format!("gov_unvoted/{id}/{}", p.proposal.id);
            let left = p.proposal.voting_end_time - now;
            if p.voted || left <= 0.0 {
                out.push(Outcome::Clear(key));
                continue;
            }
            let sev = level_down(left, r.warning.as_secs_f64(), r.critical.as_secs_f64())
                .unwrap_or(Severity::Info);
            let n = p.proposal.id;
            let title = if p.proposal.title.is_empty() {
                String::new()
            } else {
                format!(" {:?}", p.proposal.title)
            };
            out.push(Outcome::Firing(about.condition(
                "gov_unvoted",
                key,
                sev,
                format!(
                    "{id}: governance proposal #{n}{title} is in its voting period and our validator {} has not voted: voting ends in {} (at {}); vote from the operator key {} with `<chain binary> tx gov vote {n} <yes|no|abstain|no_with_veto> --from <operator key> --chain-id {id}`",
                    who(s),
                    human(left),
                    rfc3339(p.proposal.voting_end_time),
                    g.voter
                ),
                Duration::ZERO,
            )));
        }
        for n in &g.ended {
            out.push(Outcome::Clear(format!("gov_unvoted/{id}/{n}")));
        }
    }
}

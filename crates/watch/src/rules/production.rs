//! Block production: `empty_proposals`, our validator's recent blocks that carried no
//! transactions while the other proposers' blocks mostly did (its node's mempool gets
//! no transactions: few or bad peers, a full or broken mempool); and
//! `proposals_missed`, the heights among the recent blocks where our validator's turn to
//! propose passed to a later round (told by height from the validator sets' proposer
//! priorities, see `collect::turns`).

use crate::config::{Levels, RulesConfig};
use crate::rules::{level_up, push, About, Outcome};
use crate::state::Observed;

pub(crate) fn evaluate(levels: &Levels, obs: &Observed, out: &mut Vec<Outcome>) {
    for c in &obs.chains {
        let cfg = levels.chain(&c.id);
        let p = &c.production;
        if c.validator_address.is_none() || p.recent.is_empty() {
            continue;
        }
        let id = &c.id;
        let key = format!("empty_proposals/{id}");
        let r = cfg.empty_proposals;
        let empty = p.empty_while_busy();
        let sev = level_up(empty as f64, r.warning as f64, r.critical as f64);
        push(out, key.clone(), sev, |sev| {
            About::chain(id).condition("empty_proposals", key, sev, format!(
                "{id}: {empty} of the {} blocks our validator proposed in the last {} were empty while most other proposers' blocks carried transactions: its node's mempool is not getting them; check the validator node's peers (its sentries) and mempool",
                p.proposed(),
                p.recent.len()
            ), r.for_)
        });
        missed(cfg, c, out);
    }
}

/// `proposals_missed`: the turns our validator missed among the recent blocks.
fn missed(cfg: &RulesConfig, c: &crate::state::ChainState, out: &mut Vec<Outcome>) {
    let p = &c.production;
    let id = &c.id;
    let key = format!("proposals_missed/{id}");
    let missed = p.missed();
    let r = cfg.proposals_missed;
    let sev = level_up(missed as f64, r.warning as f64, r.critical as f64);
    push(out, key.clone(), sev, |sev| {
        let oldest = p.recent.front().map(|m| m.height).unwrap_or(0);
        let heights: Vec<String> = p
            .missed_turns
            .iter()
            .filter(|(h, _)| *h >= oldest)
            .map(|(h, r)| format!("{h} (made in round {r})"))
            .collect();
        About::chain(id).condition("proposals_missed", key, sev, format!(
            "{id}: our validator missed its turn to propose {missed} time(s) in the last {} blocks, at heights {}: each went to a later round's proposer. Its node did not build or send its proposal in time, or its signer did not sign it: check the validator node, its signer and their link",
            p.recent.len(),
            heights.join(", ")
        ), r.for_)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{ChainState, Production};

    fn run(blocks: &[(bool, usize)]) -> Vec<Outcome> {
        let mut c = ChainState::new("c-1", Some("AA".into()), vec![]);
        let mut p = Production::default();
        for (i, (ours, txs)) in blocks.iter().enumerate() {
            p.record(i as u64 + 1, *ours, *txs, 100);
        }
        c.production = p;
        let obs = Observed {
            chains: vec![c],
            ..Default::default()
        };
        let mut out = Vec::new();
        evaluate(&Levels::uniform(RulesConfig::default()), &obs, &mut out);
        out.retain(|o| !format!("{o:?}").contains("proposals_missed"));
        out
    }

    #[test]
    fn empty_blocks_of_ours_alert_only_while_the_chain_is_busy() {
        let busy_others = [(false, 3); 10];
        let mut blocks = busy_others.to_vec();
        blocks.extend([(true, 0), (true, 0), (true, 5)]);
        let out = run(&blocks);
        match &out[..] {
            [Outcome::Firing(c)] => {
                assert_eq!(c.severity, crate::config::Severity::Warning);
                assert!(
                    c.summary.starts_with(
                        "c-1: 2 of the 3 blocks our validator proposed in the last 13 were empty"
                    ),
                    "{}",
                    c.summary
                );
            }
            other => panic!("{other:?}"),
        }
        // A quiet chain: every block is empty, ours too; nothing to say.
        let mut quiet = [(false, 0); 10].to_vec();
        quiet.extend([(true, 0); 6]);
        assert_eq!(
            run(&quiet),
            vec![Outcome::Clear("empty_proposals/c-1".into())]
        );
        // Busy, ours not empty.
        let mut fine = busy_others.to_vec();
        fine.extend([(true, 1); 3]);
        assert_eq!(
            run(&fine),
            vec![Outcome::Clear("empty_proposals/c-1".into())]
        );
        // Turns missed, by height: two in the window warn; one pushed out of it by
        // newer blocks no longer counts.
        let key = "proposals_missed/c-1";
        let eval = |p: &Production| {
            let mut c = ChainState::new("c-1", Some("AA".into()), vec![]);
            c.production = p.clone();
            let obs = Observed {
                chains: vec![c],
                ..Default::default()
            };
            let mut out = Vec::new();
            evaluate(&Levels::uniform(RulesConfig::default()), &obs, &mut out);
            out.into_iter()
                .find(|o| format!("{o:?}").contains(key))
                .unwrap()
        };
        let mut p = Production::default();
        for h in 1..=20 {
            p.record(h, h % 4 == 0, 1, 10);
        }
        assert_eq!(eval(&p), Outcome::Clear(key.into()));
        p.record_missed_turn(14, 1, 10);
        p.record_missed_turn(18, 2, 10);
        p.record_missed_turn(18, 2, 10);
        match eval(&p) {
            Outcome::Firing(c) => {
                assert_eq!(c.severity, crate::config::Severity::Warning);
                assert!(c.summary.starts_with("c-1: our validator missed its turn to propose 2 time(s) in the last 10 blocks, at heights 14 (made in round 1), 18 (made in round 2)"), "{}", c.summary);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(p.missed_turns_total, 2);
        for h in 21..=24 {
            p.record(h, false, 1, 10);
        }
        assert_eq!(p.missed(), 1, "{p:?}");
        assert_eq!(eval(&p), Outcome::Clear(key.into()));
        // A height seen twice counts once.
        let mut p = Production::default();
        p.record(5, true, 0, 100);
        p.record(5, true, 0, 100);
        p.record(4, true, 0, 100);
        assert_eq!((p.proposed_total, p.empty_total, p.recent.len()), (1, 1, 1));
    }
}

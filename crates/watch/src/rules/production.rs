//! Block production: `empty_proposals`, our validator's recent blocks that carried no
//! transactions while the other proposers' blocks mostly did (its node's mempool gets
//! no transactions: few or bad peers, a full or broken mempool); and
//! `proposals_missed`, fewer blocks proposed than its share of the voting power gives
//! (CometBFT picks proposers round-robin weighted by power, so over the window each
//! validator proposes its share to within a block or two; turns it does not take in
//! time go to the next round's proposer).

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

/// `proposals_missed`, on chains whose SDK data gives our share of the bonded stake.
fn missed(cfg: &RulesConfig, c: &crate::state::ChainState, out: &mut Vec<Outcome>) {
    let Some(ratio) = c
        .sdk
        .as_ref()
        .and_then(|s| s.slow.standing.as_ref())
        .and_then(|st| st.power_ratio)
    else {
        return;
    };
    let p = &c.production;
    let id = &c.id;
    let key = format!("proposals_missed/{id}");
    // Only the blocks made while our validator was in the set count (the grid holds the
    // commits of the heights below the blocks read).
    let in_set: std::collections::HashSet<u64> = c
        .grid
        .iter()
        .filter(|e| e.sign != crate::state::Sign::NotInSet)
        .map(|e| e.height)
        .collect();
    let blocks = p
        .recent
        .iter()
        .filter(|m| in_set.contains(&m.height) || in_set.contains(&m.height.saturating_sub(1)))
        .count();
    let expected = ratio * blocks as f64;
    let proposed = p.proposed();
    let missed = (expected - proposed as f64).floor().max(0.0);
    let r = cfg.proposals_missed;
    let sev = level_up(missed, r.warning as f64, r.critical as f64);
    push(out, key.clone(), sev, |sev| {
        About::chain(id).condition("proposals_missed", key, sev, format!(
            "{id}: our validator proposed {proposed} of the last {blocks} blocks made while it was in the validator set, where its {:.2}% of the voting power gives about {expected:.1}: it misses its turns to propose (a slow or unreachable signer, a validator node that cannot build or send its proposal in time); check the validator node and its signer",
            ratio * 100.0
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
        // Turns missed, by the share of the power.
        let standing = |ratio: f64| crate::sdk::Standing {
            rank: Some(1),
            bonded_validators: 4,
            max_validators: 100,
            tokens: Some("1".into()),
            power_ratio: Some(ratio),
        };
        let eval_with = |blocks: &[(bool, usize)], ratio: f64, not_in_set: usize| {
            let mut c = ChainState::new("c-1", Some("AA".into()), vec![]);
            for (i, (ours, txs)) in blocks.iter().enumerate() {
                c.production.record(i as u64 + 1, *ours, *txs, 100);
                c.grid.push_back(crate::state::GridEntry {
                    height: i as u64 + 1,
                    sign: if i < not_in_set {
                        crate::state::Sign::NotInSet
                    } else {
                        crate::state::Sign::Signed
                    },
                });
            }
            let mut s = crate::state::SdkState::new(crate::sdk::Via::Rest, &[], None, None);
            s.slow.standing = Some(standing(ratio));
            c.sdk = Some(Box::new(s));
            let obs = Observed {
                chains: vec![c],
                ..Default::default()
            };
            let mut out = Vec::new();
            evaluate(&Levels::uniform(RulesConfig::default()), &obs, &mut out);
            out
        };
        // A quarter of the power, 100 blocks: about 25 expected.
        let mut blocks: Vec<(bool, usize)> = (0..100).map(|i| (i % 4 == 0, 0)).collect();
        let key = "proposals_missed/c-1";
        let found = |out: &[Outcome]| out.iter().find(|o| format!("{o:?}").contains(key)).cloned();
        assert_eq!(
            found(&eval_with(&blocks, 0.25, 0)),
            Some(Outcome::Clear(key.into()))
        );
        // One turn in two is taken: ~12 missed, critical.
        for (i, b) in blocks.iter_mut().enumerate() {
            b.0 = i % 8 == 0;
        }
        match found(&eval_with(&blocks, 0.25, 0)) {
            Some(Outcome::Firing(c)) => {
                assert_eq!(c.severity, crate::config::Severity::Critical);
                assert!(c.summary.starts_with("c-1: our validator proposed 13 of the last 100 blocks made while it was in the validator set, where its 25.00% of the voting power gives about 25.0"), "{}", c.summary);
            }
            other => panic!("{other:?}"),
        }
        // Two short of the share is within the schedule's phase: a warning at most.
        let mut near: Vec<(bool, usize)> = (0..100).map(|i| (i % 4 == 0 && i < 92, 0)).collect();
        near[99].0 = false;
        match found(&eval_with(&near, 0.25, 0)) {
            Some(Outcome::Firing(c)) => assert_eq!(c.severity, crate::config::Severity::Warning),
            other => panic!("{other:?}"),
        }
        // Back in the set after 80 blocks out: 5 of the 20 since, none missed.
        let back: Vec<(bool, usize)> = (0..100).map(|i| (i >= 80 && i % 4 == 0, 0)).collect();
        assert_eq!(
            found(&eval_with(&back, 0.25, 80)),
            Some(Outcome::Clear(key.into()))
        );
        // A height seen twice counts once.
        let mut p = Production::default();
        p.record(5, true, 0, 100);
        p.record(5, true, 0, 100);
        p.record(4, true, 0, 100);
        assert_eq!((p.proposed_total, p.empty_total, p.recent.len()), (1, 1, 1));
    }
}

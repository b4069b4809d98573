//! Block production: `empty_proposals`, our validator's recent blocks that carried no
//! transactions while the other proposers' blocks mostly did (its node's mempool gets
//! no transactions: few or bad peers, a full or broken mempool).

use crate::config::RulesConfig;
use crate::rules::{level_up, push, About, Outcome};
use crate::state::Observed;

pub(crate) fn evaluate(cfg: &RulesConfig, obs: &Observed, out: &mut Vec<Outcome>) {
    for c in &obs.chains {
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
    }
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
        evaluate(&RulesConfig::default(), &obs, &mut out);
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
        // A height seen twice counts once.
        let mut p = Production::default();
        p.record(5, true, 0, 100);
        p.record(5, true, 0, 100);
        p.record(4, true, 0, 100);
        assert_eq!((p.proposed_total, p.empty_total, p.recent.len()), (1, 1, 1));
    }
}

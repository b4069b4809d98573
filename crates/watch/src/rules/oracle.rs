//! `oracle_missed`: our validator's missed votes in the price-oracle module's current
//! slash window, as a share of the misses the window allows; past that it is slashed
//! and jailed when the window ends. Judged only on current SDK data.

use crate::config::Levels;
use crate::rules::{level_up, push, About, Outcome};
use crate::state::Observed;
use crate::time::human;

pub(crate) fn evaluate(levels: &Levels, obs: &Observed, out: &mut Vec<Outcome>) {
    for c in &obs.chains {
        let Some(s) = &c.sdk else { continue };
        let Some(o) = s.oracle.as_ref().filter(|_| s.fresh) else {
            continue;
        };
        let Some(allowed) = o.params.allowed_misses() else {
            continue;
        };
        let id = &c.id;
        let key = format!("oracle_missed/{id}");
        let r = levels.chain(id).oracle_missed;
        let used = if allowed == 0 {
            if o.miss_counter > 0 {
                f64::INFINITY
            } else {
                0.0
            }
        } else {
            o.miss_counter as f64 * 100.0 / allowed as f64
        };
        let sev = level_up(used, r.warning, r.critical);
        let blocks = o.params.blocks_to_window_end(o.height);
        let unit = if blocks == 1 { "block" } else { "blocks" };
        let end = match s.block_time_seconds {
            Some(t) => format!("{blocks} {unit} (~{})", human(blocks as f64 * t)),
            None => format!("{blocks} {unit}"),
        };
        push(out, key.clone(), sev, |sev| {
            let fate = if o.miss_counter > allowed {
                format!("it will be slashed and jailed when the window ends, in {end}")
            } else {
                format!(
                    "{} more and it is slashed and jailed when the window ends, in {end}",
                    allowed - o.miss_counter + 1
                )
            };
            About::chain(id).condition(
                "oracle_missed",
                key,
                sev,
                format!(
                    "{id}: our validator missed {} of the {} oracle vote periods of this slash window, {used:.0}% of the {allowed} misses allowed: {fate}. Check its price feeder (running, its feeder account funded, its price sources reachable)",
                    o.miss_counter,
                    o.params.periods()
                ),
                r.for_,
            )
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{RulesConfig, Severity};
    use crate::sdk::{Oracle, OracleParams, Via};
    use crate::state::{ChainState, SdkState};

    fn run(miss: u64, height: u64) -> Outcome {
        let mut c = ChainState::new("c-1", Some("AA".into()), vec![]);
        let mut s = SdkState::new(Via::Rest, &[], None, None);
        s.fresh = true;
        s.block_time_seconds = Some(2.0);
        s.oracle = Some(Oracle {
            params: OracleParams {
                vote_period: 5,
                slash_window: 100,
                min_valid_per_window: "0.5".into(),
            },
            miss_counter: miss,
            height,
        });
        c.sdk = Some(Box::new(s));
        let obs = Observed {
            chains: vec![c],
            ..Default::default()
        };
        let mut out = Vec::new();
        evaluate(&Levels::uniform(RulesConfig::default()), &obs, &mut out);
        out.pop().unwrap()
    }

    #[test]
    fn misses_are_judged_against_what_the_window_allows() {
        // 20 periods, 10 valid needed, 10 misses allowed.
        assert_eq!(run(4, 150), Outcome::Clear("oracle_missed/c-1".into()));
        match run(5, 150) {
            Outcome::Firing(c) => {
                assert_eq!(c.severity, Severity::Warning);
                assert_eq!(c.summary, "c-1: our validator missed 5 of the 20 oracle vote periods of this slash window, 50% of the 10 misses allowed: 6 more and it is slashed and jailed when the window ends, in 49 blocks (~1m 38s). Check its price feeder (running, its feeder account funded, its price sources reachable)");
            }
            other => panic!("{other:?}"),
        }
        match run(11, 198) {
            Outcome::Firing(c) => {
                assert_eq!(c.severity, Severity::Critical);
                assert!(
                    c.summary
                        .contains("it will be slashed and jailed when the window ends, in 1 block"),
                    "{}",
                    c.summary
                );
            }
            other => panic!("{other:?}"),
        }
    }
}

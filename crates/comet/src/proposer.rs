//! Who proposes: CometBFT's weighted round robin over a validator set's proposer
//! priorities (`ValidatorSet.IncrementProposerPriority`), to tell the proposer of each
//! round of a height from `/validators` at the height below and at the height itself.
//!
//! A height's set is the set of the height below incremented once, and the validator
//! that increment picks proposes round 0; every later round increments a copy once more
//! (CometBFT's `enterNewRound`). A validator-set change breaks the first step, which is
//! why [`round_proposers`] checks the result against the set the node reports.

use crate::value::garbage;
use crate::ParseError;
use serde_json::Value;

/// One validator as `/validators` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validator {
    /// Upper-case hex address.
    pub address: String,
    /// Voting power.
    pub power: i64,
    /// Proposer priority.
    pub priority: i64,
}

/// One `/validators` entry.
pub(crate) fn parse_validator(v: &Value) -> Result<Validator, ParseError> {
    let int = |k: &str| -> Result<i64, ParseError> {
        match v.get(k) {
            Some(Value::String(s)) => s.parse().ok(),
            Some(Value::Number(n)) => n.as_i64(),
            _ => None,
        }
        .ok_or_else(|| garbage(&format!("/validators/{k}")))
    };
    Ok(Validator {
        address: crate::value::str_at(v, "/address")?.to_ascii_uppercase(),
        power: int("voting_power")?,
        priority: int("proposer_priority")?,
    })
}

/// `IncrementProposerPriority(1)`: rescale the priorities into twice the total power,
/// centre them on their average, raise each by its power, and lower the highest (the
/// lower address on a tie) by the total. Returns the index of that validator, the
/// proposer; `None` for an empty set.
pub fn increment(set: &mut [Validator]) -> Option<usize> {
    if set.is_empty() {
        return None;
    }
    let total = set.iter().fold(0i64, |t, v| t.saturating_add(v.power));
    let diff_max = 2i64.saturating_mul(total);
    let (min, max) = set.iter().fold((i64::MAX, i64::MIN), |(lo, hi), v| {
        (lo.min(v.priority), hi.max(v.priority))
    });
    let diff = max.saturating_sub(min);
    if diff_max > 0 && diff > diff_max {
        let ratio = (diff + diff_max - 1) / diff_max;
        for v in set.iter_mut() {
            v.priority /= ratio;
        }
    }
    let sum: i128 = set.iter().map(|v| i128::from(v.priority)).sum();
    let avg = sum.div_euclid(set.len() as i128);
    let avg = i64::try_from(avg).expect("an average of i64 values is an i64");
    for v in set.iter_mut() {
        v.priority = v.priority.saturating_sub(avg);
    }
    for v in set.iter_mut() {
        v.priority = v.priority.saturating_add(v.power);
    }
    let mut best = 0;
    for (i, v) in set.iter().enumerate().skip(1) {
        let b = &set[best];
        if v.priority > b.priority || (v.priority == b.priority && v.address < b.address) {
            best = i;
        }
    }
    set[best].priority = set[best].priority.saturating_sub(total);
    Some(best)
}

/// The proposers of rounds `0..=round` of a height, from the set of the height below
/// (`prev`) and the height's own set (`now`), both as `/validators` reports them; `None`
/// when one increment of `prev` does not give `now` (the set changed, or the answers do
/// not fit), so that nothing is claimed that the arithmetic cannot back.
pub fn round_proposers(prev: &[Validator], now: &[Validator], round: u32) -> Option<Vec<String>> {
    let mut set = prev.to_vec();
    let first = increment(&mut set)?;
    if set != now {
        return None;
    }
    let mut out = vec![set[first].address.clone()];
    for _ in 0..round {
        let i = increment(&mut set)?;
        out.push(set[i].address.clone());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn val(address: &str, power: i64) -> Validator {
        Validator {
            address: address.into(),
            power,
            priority: 0,
        }
    }

    fn names(set: &mut [Validator], n: usize) -> Vec<String> {
        (0..n)
            .map(|_| {
                let i = increment(set).unwrap();
                set[i].address.clone()
            })
            .collect()
    }

    /// Equal powers take turns in address order, and priorities stay centred on 0.
    #[test]
    fn equal_powers_take_turns() {
        let mut set = vec![val("AA", 10), val("BB", 10), val("CC", 10), val("DD", 10)];
        assert_eq!(
            names(&mut set, 8),
            ["AA", "BB", "CC", "DD", "AA", "BB", "CC", "DD"]
        );
        assert_eq!(set.iter().map(|v| v.priority).sum::<i64>(), 0);
    }

    /// Each validator proposes its share of the power over a full cycle, and the turns
    /// are spread out: 3:2:1 over 6 rounds.
    #[test]
    fn turns_follow_power() {
        let mut set = vec![val("A1", 3), val("B2", 2), val("C3", 1)];
        let seq = names(&mut set, 12);
        for (who, n) in [("A1", 6), ("B2", 4), ("C3", 2)] {
            assert_eq!(seq.iter().filter(|s| *s == who).count(), n, "{seq:?}");
        }
        assert_eq!(&seq[..6], ["A1", "B2", "A1", "C3", "B2", "A1"]);
    }

    /// CometBFT's own sequence for powers 1000, 300 and 330 over 99 rounds
    /// (`TestProposerSelection1` in its `types/validator_set_test.go`).
    #[test]
    fn cometbfts_sequence_for_three_powers() {
        let mut set = vec![val("foo", 1000), val("bar", 300), val("baz", 330)];
        let want = "foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar \
                    foo foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar \
                    foo baz foo foo bar foo baz foo foo bar foo baz foo foo foo baz bar foo foo foo baz \
                    foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo \
                    foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo";
        assert_eq!(names(&mut set, 99).join(" "), want);
    }

    /// Priorities far apart are rescaled into twice the total before the round: a new
    /// validator at the bottom does not wait for ever.
    #[test]
    fn wide_priorities_are_rescaled() {
        let mut set = vec![val("AA", 10), val("BB", 10)];
        set[0].priority = 1_000;
        set[1].priority = -1_000;
        let i = increment(&mut set).unwrap();
        // diff 2000 > 40: ratio 50, priorities 20 and -20, then +10 each, AA picked.
        assert_eq!(set[i].address, "AA");
        assert_eq!((set[0].priority, set[1].priority), (10, -10));
    }

    #[test]
    fn the_rounds_of_a_height_follow_from_the_set_below() {
        let mut below = vec![val("AA", 10), val("BB", 10), val("CC", 10), val("DD", 10)];
        increment(&mut below); // height H-1's round 0 was AA's
        let mut now = below.clone();
        increment(&mut now); // height H's round 0: BB
        assert_eq!(
            round_proposers(&below, &now, 2).unwrap(),
            ["BB", "CC", "DD"]
        );
        // A set that changed in between (another power) is not guessed at.
        let mut changed = now.clone();
        changed[3].power = 11;
        assert_eq!(round_proposers(&below, &changed, 1), None);
    }

    #[test]
    fn entries_parse_from_strings_or_numbers() {
        let v: Value =
            serde_json::json!({"address": "ab12", "voting_power": "10", "proposer_priority": -5});
        assert_eq!(
            parse_validator(&v).unwrap(),
            Validator {
                address: "AB12".into(),
                power: 10,
                priority: -5
            }
        );
        let bad: Value =
            serde_json::json!({"address": "ab12", "voting_power": "x", "proposer_priority": 0});
        assert!(parse_validator(&bad).is_err());
    }
}

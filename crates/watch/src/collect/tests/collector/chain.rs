//! The chain collector: signatures, backfill, failover, the websocket feed.

use super::*;

#[test]
fn commits_nil_and_absent_votes_with_backfill() {
    let c = chain("c-1", true);
    {
        let mut g = c.lock().unwrap();
        g.ours.insert(4, Vote::Nil);
        g.evidence = vec![(9, OURS, 5), (8, V1, 7)];
        for h in [6, 7, 12, 13, 14] {
            g.ours.insert(h, Vote::Absent);
        }
    }
    let mut col = collector(&[fake(c.clone())]);
    rt().block_on(async {
        col.poll(1000.0).await;
        let s = &col.state;
        assert_eq!(s.height, Some(10));
        assert_eq!(
            s.checked_height,
            Some(9),
            "block 10 carries the commit of 9"
        );
        // Block 9 carries evidence that we signed twice at height 5.
        assert_eq!(
            s.double_sign,
            Some(crate::state::DoubleSign {
                height: 5,
                block: 9
            })
        );
        // Height 6 was committed in round 2 (block 7's commit says so).
        assert_eq!(s.rounds.to, Some(9));
        assert_eq!(
            s.rounds.worst(),
            Some(crate::state::SlowHeight {
                height: 6,
                round: 2
            })
        );
        let grid: Vec<_> = s.grid.iter().map(|e| (e.height, e.sign)).collect();
        assert_eq!(grid.len(), 9);
        assert_eq!(grid[3], (4, Sign::Signed), "nil counts as signed");
        assert_eq!(grid[5], (6, Sign::Missed));
        assert_eq!(grid[6], (7, Sign::Missed));
        assert_eq!(
            (s.signed_total, s.missed_total, s.missed_in_a_row),
            (7, 2, 0)
        );
        // Ten heights later in one poll: all backfilled.
        c.lock().unwrap().latest = 20;
        col.poll(1001.0).await;
        let s = &col.state;
        assert_eq!(s.checked_height, Some(19));
        assert_eq!(s.grid.len(), 19);
        assert_eq!((s.signed_total, s.missed_total), (14, 5));
        assert_eq!(s.missed_in_a_row, 0, "signed 15..19 after missing 12..14");
        c.lock()
            .unwrap()
            .ours
            .extend([(20, Vote::Absent), (21, Vote::Absent)]);
        c.lock().unwrap().latest = 22;
        col.poll(1002.0).await;
        assert_eq!(col.state.missed_in_a_row, 2);
        assert!(col.state.sources[0].healthy);
    });
    // One for our slot (then cached by hash), and the sets of heights 5 and 6 for the
    // proposers of height 6's earlier rounds (it was committed in round 2).
    assert!(
        c.lock().unwrap().validator_calls <= 3,
        "validator set cached by hash"
    );
}

#[test]
fn a_validator_outside_the_set_is_not_missing() {
    let c = chain("c-1", false);
    let mut col = collector(&[fake(c)]);
    rt().block_on(col.poll(1000.0));
    assert!(col.state.grid.iter().all(|e| e.sign == Sign::NotInSet));
    assert_eq!((col.state.missed_total, col.state.missed_in_a_row), (0, 0));
}

#[test]
fn bad_sources_fail_over_and_never_count_as_misses() {
    let garbage = serve(|_| Some("<html>oops</html>".into()));
    let wrong = fake(chain("other-chain", true));
    let hang = serve(|_| None);
    let good = fake(chain("c-1", true));
    let mut col = collector(&[garbage, wrong, hang, good]);
    rt().block_on(col.poll(1000.0));
    let s = &col.state;
    let errs: Vec<_> = s
        .sources
        .iter()
        .map(|x| x.error.clone().unwrap_or_default())
        .collect();
    assert!(
        errs[0].starts_with("garbage response: not JSON"),
        "{errs:?}"
    );
    assert_eq!(
        errs[1],
        "wrong chain: expected c-1, the node is on other-chain"
    );
    assert!(errs[2].starts_with("timed out"), "{errs:?}");
    assert!(s.sources[3].healthy);
    assert!(s.sources[..3]
        .iter()
        .all(|x| !x.healthy && x.unhealthy_since == Some(1000.0)));
    assert_eq!(s.checked_height, Some(9));
    assert_eq!(s.missed_total, 0);
}

#[test]
fn only_lying_sources_give_no_verdict_at_all() {
    for how in ["height", "flag"] {
        let c = chain("c-1", true);
        c.lock().unwrap().break_blocks = Some(how);
        let mut col = collector(&[fake(c)]);
        rt().block_on(col.poll(1000.0));
        let s = &col.state;
        assert_eq!(s.checked_height, None, "{how}");
        assert_eq!(s.missed_total, 0);
        assert!(!s.sources[0].healthy);
        assert!(
            s.sources[0]
                .error
                .as_deref()
                .unwrap()
                .starts_with("garbage response"),
            "{:?}",
            s.sources[0].error
        );
    }
    let wrong = fake(chain("other", true));
    let mut col = collector(&[wrong]);
    rt().block_on(col.poll(1000.0));
    assert_eq!((col.state.height, col.state.checked_height), (None, None));
}

#[test]
fn blocks_pushed_by_the_websocket_are_read_in_order_and_anything_else_needs_a_poll() {
    let c = chain("c-1", true);
    let mut col = collector(&[fake(c.clone())]);
    let rt = rt();
    // Nothing read yet: the feed cannot be used.
    let b = event_block(&c, 10);
    assert!(!rt.block_on(col.take_fed(vec![b], 1000.0)));
    rt.block_on(col.poll(1000.0));
    assert_eq!(col.state.checked_height, Some(9));

    // The next heights, one with our validator absent, already-known ones ignored.
    c.lock().unwrap().ours.insert(11, Vote::Absent);
    let fed = vec![
        event_block(&c, 10),
        event_block(&c, 11),
        event_block(&c, 12),
    ];
    assert!(rt.block_on(col.take_fed(fed, 1001.0)));
    let s = &col.state;
    assert_eq!((s.height, s.checked_height), (Some(12), Some(11)));
    assert_eq!((s.missed_total, s.missed_in_a_row), (1, 1));
    assert_eq!(s.height_observed_at, Some(1001.0));
    assert_eq!(
        s.grid.back().map(|g| (g.height, g.sign)),
        Some((11, Sign::Missed))
    );

    // A gap, another chain, a block carrying the wrong commit: poll instead.
    assert!(!rt.block_on(col.take_fed(vec![event_block(&c, 14)], 1002.0)));
    let other = chain("c-2", true);
    assert!(!rt.block_on(col.take_fed(vec![event_block(&other, 13)], 1002.0)));
    let mut wrong = event_block(&c, 13);
    wrong.last_commit.height = 5;
    assert!(!rt.block_on(col.take_fed(vec![wrong], 1002.0)));
    assert!(
        !rt.block_on(col.take_fed(vec![], 1002.0)),
        "an event without a block"
    );
    assert_eq!(col.state.checked_height, Some(11), "nothing was counted");
    assert_eq!(col.state.missed_total, 1);
}

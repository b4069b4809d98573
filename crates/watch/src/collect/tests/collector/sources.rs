//! RPC endpoints that lie, run ahead or get stuck.

use super::*;

#[test]
fn a_source_with_good_status_but_bad_blocks_stays_unhealthy() {
    let c = chain("c-1", true);
    c.lock().unwrap().break_blocks = Some("flag");
    let good = fake(chain("c-1", true));
    let (bad, good_chain) = (fake(c.clone()), good);
    let mut col = collector(&[bad, good_chain]);
    let rt = rt();
    rt.block_on(col.poll(1000.0));
    c.lock().unwrap().latest = 11;
    rt.block_on(col.poll(1005.0));
    let s = &col.state;
    assert!(!s.sources[0].healthy);
    assert_eq!(
        s.sources[0].unhealthy_since,
        Some(1000.0),
        "not reset by a good /status"
    );
    assert!(s.sources[1].healthy && s.sources[1].unhealthy_since.is_none());
    assert_eq!(
        (s.checked_height, s.missed_total),
        (Some(9), 0),
        "blocks read from the other source"
    );
}

#[test]
fn a_source_claiming_a_height_far_ahead_does_not_skip_real_blocks() {
    let liar = serve(|p| {
        let c = Arc::new(Mutex::new(Chain {
            id: "c-1".into(),
            latest: 1_000_000,
            in_set: true,
            ..Default::default()
        }));
        if p.starts_with("/block") {
            Some(json!({"jsonrpc": "2.0", "id": -1, "error": {"code": -32603, "message": "height must be less than or equal to the current blockchain height"}}).to_string())
        } else {
            Some(answer(&mut c.lock().unwrap(), p))
        }
    });
    let real = chain("c-1", true);
    let mut col = collector(&[liar, fake(real)]);
    let rt = rt();
    rt.block_on(col.poll(1000.0));
    let s = &col.state;
    let err = s.sources[0].error.as_deref().unwrap();
    assert!(err.starts_with("RPC error"), "{err}");
    assert!(!s.sources[0].healthy && s.sources[1].healthy);
    assert_eq!(
        (s.height, s.checked_height),
        (Some(10), Some(9)),
        "the real chain is read"
    );
}

#[test]
fn a_stuck_source_is_left_for_one_well_ahead_and_reported_behind() {
    let stuck = chain("c-1", true);
    let live = chain("c-1", true);
    let mut col = collector(&[fake(stuck.clone()), fake(live.clone())]);
    let rt = rt();
    rt.block_on(col.poll(1000.0));
    assert_eq!(col.state.checked_height, Some(9));
    assert!(col.state.sources.iter().all(|s| s.healthy));

    // A few blocks apart is normal between nodes: the first source stays in use.
    live.lock().unwrap().latest = 14;
    stuck.lock().unwrap().latest = 11;
    rt.block_on(col.poll(1001.0));
    assert_eq!(col.state.height, Some(11));
    assert!(col.state.sources.iter().all(|s| s.healthy));

    // The live chain moves on and our validator misses a block there.
    {
        let mut l = live.lock().unwrap();
        l.latest = 30;
        l.ours.insert(25, Vote::Absent);
    }
    rt.block_on(col.poll(1002.0));
    let s = &col.state;
    assert_eq!((s.height, s.checked_height), (Some(30), Some(29)));
    assert_eq!(s.missed_total, 1, "the miss on the live chain is seen");
    assert!(!s.sources[0].healthy && s.sources[1].healthy);
    assert_eq!(s.sources[0].unhealthy_since, Some(1002.0));
    assert_eq!(
        s.sources[0].error.as_deref(),
        Some("behind: at height 11 while another endpoint is at 30; it is stuck or has lost its peers, so it is not used")
    );

    // Still stuck a poll later: unhealthy since the first time, not reset.
    live.lock().unwrap().latest = 31;
    rt.block_on(col.poll(1003.0));
    assert_eq!(col.state.sources[0].unhealthy_since, Some(1002.0));
    assert_eq!(col.state.checked_height, Some(30));

    // It catches up: healthy again.
    stuck.lock().unwrap().latest = 31;
    rt.block_on(col.poll(1004.0));
    assert!(col
        .state
        .sources
        .iter()
        .all(|s| s.healthy && s.unhealthy_since.is_none()));
}

//! The Cosmos SDK collector against a scripted REST endpoint: reads, failover, stale data.

use super::*;

#[test]
fn collector_reads_everything_and_measures_block_time() {
    let f = Arc::new(Mutex::new(Fake {
        missed: 30,
        plan: Some(("v2".into(), 800)),
        ..Default::default()
    }));
    let url = serve(f.clone());
    let mut col = collector(std::slice::from_ref(&url));
    assert_eq!(col.state.consensus_address.as_deref(), Some(CONS));
    rt().block_on(col.poll(1000.0));
    let s = &col.state;
    assert!(s.fresh && s.sources[0].healthy, "{:?}", s.sources);
    assert_eq!(s.height, Some(500));
    assert_eq!(
        s.slashing_params.as_ref().unwrap().allowed_missed_blocks,
        50
    );
    assert_eq!(s.signing_info.as_ref().unwrap().missed_blocks_counter, 30);
    assert_eq!(s.validator.as_ref().unwrap().moniker, "ours");
    assert_eq!(s.upgrade_plan.as_ref().unwrap().height, 800);
    // One older header gives the block time at once.
    assert!((s.block_time_seconds.unwrap() - 1.0).abs() < 1e-6, "{s:?}");
    assert!(s.unavailable.is_empty() && s.not_found.is_empty());
    assert_eq!(s.inactive_since, None);

    // The counter grows by 5 in 10 blocks: half the blocks are missed.
    {
        let mut f = f.lock().unwrap();
        f.height = 510;
        f.missed = 35;
    }
    rt().block_on(col.poll(1010.0));
    assert_eq!(col.state.counter_miss_rate, Some(0.5));

    // Out of the active set without a jail: the time is kept across polls.
    {
        let mut f = f.lock().unwrap();
        f.status = "BOND_STATUS_UNBONDED";
        f.height = 511;
    }
    rt().block_on(col.poll(1011.0));
    rt().block_on(col.poll(1012.0));
    assert_eq!(col.state.inactive_since, Some(1011.0));
}

#[test]
fn garbage_wrong_chain_and_unreachable_endpoints_fail_over_without_data_from_them() {
    let good = Arc::new(Mutex::new(Fake {
        missed: 3,
        ..Default::default()
    }));
    let garbage = Arc::new(Mutex::new(Fake {
        garbage: Some("<html>not the api</html>"),
        missed: 99,
        ..Default::default()
    }));
    let other = Arc::new(Mutex::new(Fake {
        chain: "other-1".into(),
        jailed: true,
        ..Default::default()
    }));
    let dead = dead_url();
    let urls = [serve(garbage), dead.clone(), serve(other), serve(good)];
    let mut col = collector(&urls);
    rt().block_on(col.poll(1000.0));
    let s = &col.state;
    let err = |i: usize| s.sources[i].error.clone().unwrap_or_default();
    assert!(
        !s.sources[0].healthy && err(0).contains("garbage response"),
        "{}",
        err(0)
    );
    assert!(
        !s.sources[1].healthy && err(1).contains("unreachable"),
        "{}",
        err(1)
    );
    assert!(
        !s.sources[2].healthy
            && err(2).contains("wrong chain: expected c-1, the endpoint is on other-1"),
        "{}",
        err(2)
    );
    assert!(s.sources[3].healthy);
    assert!(s.fresh);
    // The data came from the good endpoint only.
    assert_eq!(s.signing_info.as_ref().unwrap().missed_blocks_counter, 3);
    assert!(!s.validator.as_ref().unwrap().jailed);
    for i in 0..3 {
        assert_eq!(s.sources[i].unhealthy_since, Some(1000.0));
    }
}

#[test]
fn nothing_healthy_leaves_the_data_stale_not_changed() {
    let f = Arc::new(Mutex::new(Fake {
        missed: 3,
        ..Default::default()
    }));
    let url = serve(f.clone());
    let mut col = collector(std::slice::from_ref(&url));
    rt().block_on(col.poll(1000.0));
    assert!(col.state.fresh);
    let params_before = col.state.slashing_params.clone().unwrap();
    // The endpoint starts answering garbage: the old data stays, marked not fresh.
    f.lock().unwrap().garbage = Some("{\"unexpected\": true}");
    rt().block_on(col.poll(1001.0));
    let s = &col.state;
    assert!(!s.fresh && !s.sources[0].healthy);
    // The slashing parameters are not due again before sdk_slow_interval: the signing
    // info is the first read of this poll.
    let e = s.sources[0].error.as_deref().unwrap();
    assert!(
        e.contains("signing_infos") && e.contains("missing or malformed"),
        "{e}"
    );
    assert_eq!(s.updated_at, Some(1000.0));
    assert_eq!(s.signing_info.as_ref().unwrap().missed_blocks_counter, 3);
    assert_eq!(
        s.slashing_params.as_ref().unwrap().signed_blocks_window,
        params_before.signed_blocks_window
    );
}

#[test]
fn governance_set_data_is_read_at_the_first_poll_and_then_every_slow_interval() {
    let f = Arc::new(Mutex::new(Fake::default()));
    let url = serve(f.clone());
    let mut col = collector(std::slice::from_ref(&url));
    let reads = |f: &Arc<Mutex<Fake>>, part: &str| {
        f.lock()
            .unwrap()
            .paths
            .iter()
            .filter(|p| p.contains(part))
            .count()
    };
    rt().block_on(col.poll(1000.0));
    assert!(col.state.slashing_params.is_some());
    assert_eq!(reads(&f, "/slashing/v1beta1/params"), 1);
    assert_eq!(reads(&f, "/upgrade/v1beta1/current_plan"), 1);
    // Polls within sdk_slow_interval (60 s) read the signing info each time, not these.
    for t in 1..10 {
        rt().block_on(col.poll(1000.0 + f64::from(t) * 6.0));
    }
    assert_eq!(reads(&f, "/slashing/v1beta1/params"), 1);
    assert_eq!(reads(&f, "/upgrade/v1beta1/current_plan"), 1);
    assert_eq!(reads(&f, "/signing_infos/"), 10);
    assert!(col.state.slashing_params.is_some() && col.state.fresh);
    rt().block_on(col.poll(1061.0));
    assert_eq!(reads(&f, "/slashing/v1beta1/params"), 2);
    assert_eq!(reads(&f, "/upgrade/v1beta1/current_plan"), 2);
}

#[test]
fn modules_not_served_and_unknown_validator_are_reported_not_errors() {
    let f = Arc::new(Mutex::new(Fake {
        without: vec!["upgrade"],
        unknown_validator: true,
        ..Default::default()
    }));
    let url = serve(f);
    let mut col = collector(std::slice::from_ref(&url));
    rt().block_on(col.poll(1000.0));
    let s = &col.state;
    assert!(s.fresh && s.sources[0].healthy, "{:?}", s.sources);
    assert_eq!(s.unavailable, ["upgrade"]);
    assert_eq!(s.not_found.len(), 1);
    assert!(s.not_found[0].contains("not found"), "{:?}", s.not_found);
    assert!(s.validator.is_none() && s.upgrade_plan.is_none());
    assert!(s.signing_info.is_some());
}

#[test]
fn an_endpoint_far_behind_is_not_read() {
    let ahead = Arc::new(Mutex::new(Fake {
        height: 600,
        missed: 7,
        ..Default::default()
    }));
    let behind = Arc::new(Mutex::new(Fake {
        height: 500,
        missed: 1,
        ..Default::default()
    }));
    let urls = [serve(behind), serve(ahead)];
    let mut col = collector(&urls);
    rt().block_on(col.poll(1000.0));
    let s = &col.state;
    assert!(!s.sources[0].healthy);
    assert!(
        s.sources[0]
            .error
            .as_deref()
            .unwrap()
            .starts_with("100 blocks behind"),
        "{:?}",
        s.sources[0]
    );
    assert_eq!(s.signing_info.as_ref().unwrap().missed_blocks_counter, 7);
}

/// Without `validator_address`, the consensus address comes from the validator's
/// staking record (its consensus key): handed to the chain's other collector, and used
/// for the signing info from the next read on.
#[test]
fn the_consensus_address_comes_from_the_staking_record_when_not_given() {
    let f = Arc::new(Mutex::new(Fake {
        missed: 7,
        ..Default::default()
    }));
    let url = serve(f.clone());
    let mut cfg = chain_cfg(std::slice::from_ref(&url));
    cfg.validator_address = None;
    let rests = vec![Source::Rest(Rest::new(
        reqwest::Client::new(),
        &url,
        Duration::from_millis(500),
    ))];
    let cell = crate::collect::ResolvedAddress::default();
    let mut col = SdkCollector::new(&cfg, Via::Rest, rests).resolving(&cfg, cell.clone());
    assert_eq!(col.state.consensus_address, None);
    rt().block_on(col.poll(1000.0));
    assert_eq!(cell.lock().unwrap().as_deref(), Some(CONS_HEX));
    assert_eq!(col.state.consensus_address.as_deref(), Some(CONS));
    assert!(
        col.state.signing_info.is_none(),
        "no address at the first read"
    );
    rt().block_on(col.poll(1001.0));
    assert_eq!(
        col.state
            .signing_info
            .as_ref()
            .unwrap()
            .missed_blocks_counter,
        7
    );
}

/// A chain with a price-oracle module: its parameters and our miss counter are read
/// with the rest, and a chain without the module says so without failing the read.
#[test]
fn the_oracle_miss_counter_is_read_with_its_window() {
    let f = Arc::new(Mutex::new(Fake {
        oracle_miss: 1_200,
        ..Default::default()
    }));
    let url = serve(f.clone());
    let mut cfg = chain_cfg(std::slice::from_ref(&url));
    cfg.oracle = Some(crate::config::OracleConfig {
        prefix: "/umee/oracle/v1".into(),
    });
    let rests = vec![Source::Rest(Rest::new(
        reqwest::Client::new(),
        &url,
        Duration::from_millis(500),
    ))];
    let mut col = SdkCollector::new(&cfg, Via::Rest, rests);
    rt().block_on(col.poll(1000.0));
    let o = col.state.oracle.clone().expect("oracle read");
    assert_eq!((o.miss_counter, o.height), (1_200, 500));
    assert_eq!(o.params.periods(), 40_320);
    assert_eq!(o.params.allowed_misses(), Some(38_304));
    assert!(col.state.fresh, "{:?}", col.state);
    // Without the module: unavailable, the rest still read.
    f.lock().unwrap().without = vec!["oracle"];
    rt().block_on(col.poll(1001.0));
    assert_eq!(col.state.oracle, None);
    assert!(col.state.unavailable.contains(&"oracle".to_string()));
    assert!(col.state.signing_info.is_some());
}

//! Derived values (window share, jail projection, upgrade countdown) and the SDK rules.

use super::*;

#[test]
fn window_share_and_projection_from_the_watchs_own_blocks() {
    // 412 of 500 allowed used, and the last 10 blocks all missed: jailed in 89 blocks.
    let mut grid = signing(90);
    grid.extend(missing(10));
    let c = chain_with(sdk(412), &grid);
    let a = assess(&c).unwrap();
    assert_eq!(a.allowed_missed, Some(500));
    assert!((a.window_missed_ratio.unwrap() - 0.824).abs() < 1e-9);
    assert_eq!((a.miss_rate, a.miss_rate_blocks), (Some(1.0), Some(10)));
    assert_eq!(a.jail_in_blocks, Some(89));
    assert_eq!(a.jail_in_seconds, Some(534.0));
    let out = eval(c, 1000.0);
    let w = firing(&out, "window_missed/c-1");
    assert_eq!(w.severity, Severity::Critical);
    assert_eq!(
        w.summary,
        format!("c-1: our validator ours ({VALOPER}) missed 412 of the last 10000 blocks, 82% of the 500 the chain allows before jailing; at the current miss rate it is jailed in ~89 blocks (~8m 54s); check the validator node and its signer")
    );
    let j = firing(&out, "jail_in/c-1");
    assert_eq!(j.severity, Severity::Critical);
    assert!(
        j.summary.starts_with(&format!("c-1: our validator ours ({VALOPER}) is jailed in ~89 blocks (~8m 54s) at its current miss rate (100% of the last 10 blocks): 412 of the 500 misses")),
        "{}",
        j.summary
    );
    assert!(cleared(&out, "validator_jailed/c-1"));
    assert!(cleared(&out, "validator_tombstoned/c-1"));
    assert!(cleared(&out, "validator_inactive/c-1"));
    assert!(cleared(&out, "validator_unknown/c-1"));

    // Scattered misses that stay below what the chain allows: no projection, and a
    // share below the warning level clears.
    let mut grid = signing(95);
    grid.extend([Sign::Missed; 2]);
    grid.extend(signing(3));
    let c = chain_with(sdk(100), &grid);
    let a = assess(&c).unwrap();
    assert_eq!((a.miss_rate, a.miss_rate_blocks), (Some(0.02), Some(100)));
    assert_eq!(a.jail_in_blocks, None);
    let out = eval(c, 1000.0);
    assert!(cleared(&out, "window_missed/c-1"));
    assert!(cleared(&out, "jail_in/c-1"));
    // The same misses with 300 of 500 used: a warning that says what the worst case is.
    let out = eval(chain_with(sdk(300), &grid), 1000.0);
    let w = firing(&out, "window_missed/c-1");
    assert_eq!(w.severity, Severity::Warning);
    assert!(
        w.summary.ends_with("missed 300 of the last 10000 blocks, 60% of the 500 the chain allows before jailing; at its recent miss rate (2% of the last 100 blocks) it stays below the limit; missing every block from now, it would be jailed in ~201 blocks (~20m 6s); check the validator node and its signer"),
        "{}",
        w.summary
    );

    // One block in ten missed where the chain allows one in twenty: jailed, slowly.
    let mut grid = signing(100);
    for i in 0..10 {
        grid[i * 10] = Sign::Missed;
    }
    let c = chain_with(sdk(400), &grid);
    let a = assess(&c).unwrap();
    assert_eq!((a.miss_rate, a.miss_rate_blocks), (Some(0.1), Some(100)));
    assert_eq!(a.jail_in_blocks, Some(1010));
    let out = eval(c, 1000.0);
    let j = firing(&out, "jail_in/c-1");
    assert_eq!(j.severity, Severity::Warning, "{}", j.summary);
    assert!(
        j.summary
            .contains("(~1h 41m) at its current miss rate (10% of the last 100 blocks)"),
        "{}",
        j.summary
    );
    let w = firing(&out, "window_missed/c-1");
    assert_eq!(w.severity, Severity::Critical);

    // A short run of misses is scattered noise; five in a row mean it is down now.
    let mut grid = signing(96);
    grid.extend(missing(4));
    let a = assess(&chain_with(sdk(0), &grid)).unwrap();
    assert_eq!(a.miss_rate, Some(0.04));
    grid.push(Sign::Missed);
    let a = assess(&chain_with(sdk(0), &grid)).unwrap();
    assert_eq!((a.miss_rate, a.miss_rate_blocks), (Some(1.0), Some(5)));
    assert_eq!(a.jail_in_blocks, Some(501));
}

#[test]
fn without_blocks_of_its_own_the_counter_gives_the_rate() {
    let mut s = sdk(300);
    s.counter_miss_rate = Some(1.0);
    let mut c = chain_with(s, &[]);
    c.validator_address = None;
    let a = assess(&c).unwrap();
    assert_eq!((a.miss_rate, a.miss_rate_blocks), (Some(1.0), Some(0)));
    assert_eq!(a.jail_in_blocks, Some(201));
    let out = eval(c, 1000.0);
    assert!(firing(&out, "jail_in/c-1")
        .summary
        .contains("from the chain's missed-blocks counter"));
}

#[test]
fn jailed_tombstoned_inactive_and_unknown() {
    let mut s = sdk(0);
    s.validator.as_mut().unwrap().jailed = true;
    s.validator.as_mut().unwrap().status = "BOND_STATUS_UNBONDING".into();
    s.signing_info.as_mut().unwrap().jailed_until = Some(1600.0);
    let c = chain_with(s.clone(), &missing(20));
    let out = eval(c, 1000.0);
    let j = firing(&out, "validator_jailed/c-1");
    assert_eq!(j.severity, Severity::Critical);
    assert!(
        j.summary.starts_with(&format!("c-1: our validator ours ({VALOPER}) is JAILED (status BOND_STATUS_UNBONDING): it signs no blocks and earns no rewards; fix the cause")),
        "{}",
        j.summary
    );
    assert!(j.summary.contains("(in 10m)"), "{}", j.summary);
    // Jailed: not also "inactive", and no projection towards a jail it is already in.
    assert!(cleared(&out, "validator_inactive/c-1"));
    assert!(cleared(&out, "jail_in/c-1"));
    assert!(cleared(&out, "window_missed/c-1"));

    // The jail time is over.
    let out = eval(chain_with(s.clone(), &[]), 2000.0);
    assert!(firing(&out, "validator_jailed/c-1")
        .summary
        .contains("the jail time is over"));

    // Tombstoned.
    let mut t = s.clone();
    t.signing_info.as_mut().unwrap().tombstoned = true;
    let out = eval(chain_with(t, &[]), 1000.0);
    assert_eq!(
        firing(&out, "validator_tombstoned/c-1").severity,
        Severity::Critical
    );
    assert!(firing(&out, "validator_jailed/c-1")
        .summary
        .contains("can never be unjailed"));

    // Out of the active set without a jail: warning at once, critical after 30 minutes.
    let mut i = sdk(0);
    i.validator.as_mut().unwrap().status = "BOND_STATUS_UNBONDED".into();
    i.inactive_since = Some(1000.0);
    let out = eval(chain_with(i.clone(), &[]), 1060.0);
    let c = firing(&out, "validator_inactive/c-1");
    assert_eq!(c.severity, Severity::Warning);
    assert!(
        c.summary
            .contains("out of the active set for 1m (BOND_STATUS_UNBONDED, not jailed)"),
        "{}",
        c.summary
    );
    assert!(cleared(&out, "validator_jailed/c-1"));
    let out = eval(chain_with(i, &[]), 1000.0 + 1801.0);
    assert_eq!(
        firing(&out, "validator_inactive/c-1").severity,
        Severity::Critical
    );

    // The chain does not know the operator address.
    let mut u = sdk(0);
    u.validator = None;
    u.not_found = vec![format!("validator: validator {VALOPER} not found")];
    let out = eval(chain_with(u, &[]), 1000.0);
    let c = firing(&out, "validator_unknown/c-1");
    assert_eq!(c.severity, Severity::Warning);
    assert!(
        c.summary.contains("check operator_address"),
        "{}",
        c.summary
    );
}

#[test]
fn upgrade_countdown_by_block_time() {
    let mut s = sdk(0);
    s.upgrade_plan = Some(UpgradePlan {
        name: "v2".into(),
        height: H + 3600,
        info: String::new(),
    });
    // 3600 blocks of 6 s: 6 hours, within the 48 h warning.
    let out = eval(chain_with(s.clone(), &[]), 1000.0);
    let c = firing(&out, "upgrade_in/c-1");
    assert_eq!(c.severity, Severity::Warning);
    assert!(
        c.summary.starts_with("c-1: software upgrade \"v2\" is scheduled at height 53600, 3600 blocks from now: about 6h at the current 6.0s block time (around 1970-01-01T06:16:40Z)"),
        "{}",
        c.summary
    );
    // 500 blocks: 50 minutes, within the 1 h critical level.
    s.upgrade_plan.as_mut().unwrap().height = H + 500;
    let out = eval(chain_with(s.clone(), &[]), 1000.0);
    assert_eq!(firing(&out, "upgrade_in/c-1").severity, Severity::Critical);
    // The height is reached: the chain halts there.
    s.upgrade_plan.as_mut().unwrap().height = H;
    let out = eval(chain_with(s.clone(), &[]), 1000.0);
    let c = firing(&out, "upgrade_in/c-1");
    assert_eq!(c.severity, Severity::Critical);
    assert!(c.summary.contains("is reached"), "{}", c.summary);
    // Far away: nothing; no plan: cleared; module not served: nothing said.
    s.upgrade_plan.as_mut().unwrap().height = H + 100_000;
    assert!(cleared(
        &eval(chain_with(s.clone(), &[]), 1000.0),
        "upgrade_in/c-1"
    ));
    s.upgrade_plan = None;
    assert!(cleared(
        &eval(chain_with(s.clone(), &[]), 1000.0),
        "upgrade_in/c-1"
    ));
    s.unavailable = vec!["upgrade".into()];
    assert!(find(&eval(chain_with(s, &[]), 1000.0), "upgrade_in/c-1").is_none());
}

#[test]
fn bad_rest_gives_source_unhealthy_and_no_data_alerts() {
    // Jailed data from before, but the endpoint now fails: only the source alert.
    let mut s = sdk(450);
    s.validator.as_mut().unwrap().jailed = true;
    s.fresh = false;
    s.sources[0].healthy = false;
    s.sources[0].error =
        Some("garbage response on /cosmos/slashing/v1beta1/params: not a JSON object".into());
    s.sources[0].unhealthy_since = Some(900.0);
    let out = eval(chain_with(s.clone(), &missing(20)), 1000.0);
    let c = firing(&out, "source_unhealthy/c-1/rest/http://rest");
    assert_eq!(c.rule, "source_unhealthy");
    assert_eq!(c.severity, Severity::Critical);
    assert_eq!(
        c.summary,
        "c-1: REST endpoint http://rest has been unhealthy for 1m 40s: garbage response on /cosmos/slashing/v1beta1/params: not a JSON object; 0 of 1 REST endpoints healthy, so slashing, jail and upgrade data are NOT being checked: fix or add an endpoint"
    );
    for key in [
        "validator_jailed/c-1",
        "window_missed/c-1",
        "jail_in/c-1",
        "validator_inactive/c-1",
        "upgrade_in/c-1",
        "validator_unknown/c-1",
    ] {
        assert!(
            find(&out, key).is_none(),
            "{key} spoke without current data: {out:#?}"
        );
    }
    // With another endpoint healthy it is a warning.
    s.sources.push(SourceState {
        url: "http://rest2".into(),
        healthy: true,
        error: None,
        unhealthy_since: None,
    });
    let out = eval(chain_with(s, &[]), 1000.0);
    assert_eq!(
        firing(&out, "source_unhealthy/c-1/rest/http://rest").severity,
        Severity::Warning
    );
    assert!(cleared(&out, "source_unhealthy/c-1/rest/http://rest2"));
}

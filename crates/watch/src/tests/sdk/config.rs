//! The chains' Cosmos SDK settings, the example file, the status page, and data too far
//! behind to judge.

use super::*;

#[test]
fn chain_sdk_settings_are_checked_all_at_once() {
    let c = Config::parse(&format!(
        "state_path = \"w.sqlite\"\n[[chain]]\nid = \"c-1\"\nrpc = [\"http://127.0.0.1:26657\"]\nvalidator_address = \"{CONS_HEX}\"\nrest = [\"http://127.0.0.1:1317\"]\noperator_address = \"{VALOPER}\"\n"
    ))
    .unwrap();
    assert_eq!(consensus_address(&c.chains[0]).as_deref(), Some(CONS));
    assert_eq!(c.chains[0].sdk_interval, Duration::from_secs(6));
    let c = Config::parse(&format!(
        "state_path = \"w.sqlite\"\n[[chain]]\nid = \"c-1\"\nrpc = [\"http://127.0.0.1:26657\"]\nvalidator_address = \"{CONS_HEX}\"\nrest = [\"http://127.0.0.1:1317\"]\nbech32_prefix = \"cosmos\"\n"
    ))
    .unwrap();
    assert_eq!(consensus_address(&c.chains[0]).as_deref(), Some(CONS));

    let p = cfg_problems(&format!(
        "validator_address = \"{CONS_HEX}\"\nrest = [\"ftp://x\"]\noperator_address = \"{ACCOUNT}\"\nbech32_prefix = \"Osmo\"\nsdk_interval = \"0s\"\n"
    ));
    let all = p.join("\n");
    for needle in [
        "rest: \"ftp://x\" is not an http:// or https:// URL",
        "sdk_interval must be above 0s",
        "is not a validator operator address",
        "bech32_prefix \"Osmo\" must be the lower-case account prefix",
    ] {
        assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
    }
    let p = cfg_problems(
        "operator_address = \"cosmosvaloper1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc56kct2q\"\n",
    );
    let all = p.join("\n");
    assert!(all.contains("has a wrong checksum"), "{all}");
    assert!(all.contains("add rest = ["), "{all}");
    let p = cfg_problems(&format!(
        "operator_address = \"{VALOPER}\"\nbech32_prefix = \"osmo\"\nrest = [\"http://r\"]\n"
    ));
    assert!(
        p.join("\n")
            .contains("does not match operator_address, whose prefix is \"cosmos\""),
        "{p:?}"
    );
    let p = cfg_problems(&format!(
        "validator_address = \"{CONS_HEX}\"\nrest = [\"http://r\"]\n"
    ));
    assert!(
        p.join("\n")
            .contains("give operator_address (or bech32_prefix)"),
        "{p:?}"
    );
    let text = "state_path = \"w.sqlite\"\n[rules.jail_in]\nwarning = \"10m\"\ncritical = \"1h\"\n[rules.window_missed]\nwarning = 90.0\ncritical = 120.0\n";
    match Config::parse(text) {
        Err(ConfigError::Invalid(p)) => {
            let all = p.join("\n");
            assert!(
                all.contains("rules.jail_in: critical (3600) must not be above warning (600)"),
                "{all}"
            );
            assert!(
                all.contains("rules.window_missed: 120 is not a percentage"),
                "{all}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn example_file_documents_the_sdk_settings() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/watch.example.toml");
    let c = Config::load(std::path::Path::new(path)).expect("example parses");
    let chain = &c.chains[0];
    assert_eq!(chain.rest.len(), 2);
    assert_eq!(chain.operator_address.as_deref(), Some(VALOPER));
    assert_eq!(chain.sdk_interval, Duration::from_secs(6));
    assert!(consensus_address(chain)
        .unwrap()
        .starts_with("cosmosvalcons1"));
    assert_eq!(c.rules.window_missed.critical, 75.0);
    assert_eq!(c.rules.jail_in.critical, Duration::from_secs(1800));
    assert_eq!(
        c.rules.validator_inactive.critical,
        Duration::from_secs(1800)
    );
    assert_eq!(c.rules.upgrade_in.warning, Duration::from_secs(48 * 3600));
    assert_eq!(chain.sdk_slow_interval, Duration::from_secs(60));
    assert!(chain.governance);
    assert_eq!(chain.wallets[0].name, "relayer");
    assert_eq!(chain.wallets[0].exponent, 6);
    assert_eq!(c.rules.gov_unvoted.warning, Duration::from_secs(72 * 3600));
    assert_eq!(c.rules.validator_rank.critical, 3);
    assert_eq!(c.rules.commission_changed.keep, Duration::from_secs(3600));
}

#[test]
fn status_page_shows_the_sdk_data_escaped() {
    let mut s = sdk(412);
    s.validator.as_mut().unwrap().moniker = "<b>ours</b>".into();
    s.validator.as_mut().unwrap().jailed = true;
    s.validator.as_mut().unwrap().status = "BOND_STATUS_UNBONDING".into();
    s.upgrade_plan = Some(UpgradePlan {
        name: "v2".into(),
        height: H + 10,
        info: String::new(),
    });
    s.sources.push(SourceState {
        url: "http://rest2".into(),
        healthy: false,
        error: Some("unreachable: <refused>".into()),
        unhealthy_since: Some(1.0),
    });
    let mut c = chain_with(s, &missing(10));
    refresh(&mut c);
    let a = &c.sdk.as_ref().unwrap().assessment;
    assert_eq!(a.jailed, Some(true));
    assert_eq!(a.upgrade_in_blocks, Some(10));
    let doc = crate::serve::http::StatusDoc {
        generated_at: "2026-01-01T00:00:00Z".into(),
        observed: Observed {
            chains: vec![c],
            ..Default::default()
        },
        alerts: vec![],
    };
    let html = crate::serve::page::render_chain(&doc, "c-1").unwrap();
    let overview = crate::serve::page::render(&doc, Default::default());
    assert!(
        overview.contains("<td class=critical>critical</td>")
            && overview.contains("<td>JAILED</td>"),
        "{overview}"
    );
    for needle in [
        "Cosmos SDK: validator &lt;b&gt;ours&lt;/b&gt; <span class=bad>BOND_STATUS_UNBONDING</span>",
        "<span class=bad>JAILED</span>",
        "missed 412 in the 10000-block window, 82% of the 500 allowed",
        "upgrade v2 at height 50010 (10 blocks, ~1m)",
        "<tr><td>http://rest2</td><td><span class=bad>down</span> unreachable: &lt;refused&gt;</td></tr>",
    ] {
        assert!(html.contains(needle), "{needle:?} not in:\n{html}");
    }
    assert!(!html.contains("<b>ours"));
    // The JSON API carries the same.
    let json = serde_json::to_value(&doc).unwrap();
    let sdk = &json["chains"][0]["sdk"];
    assert_eq!(sdk["assessment"]["window_missed_ratio"], 0.824);
    assert_eq!(sdk["validator"]["jailed"], true);
    assert_eq!(sdk["consensus_address"], CONS);
}

#[test]
fn without_staking_data_a_running_jail_shows_from_the_signing_info() {
    let mut s = sdk(0);
    s.validator = None;
    s.operator_address = None;
    s.signing_info.as_mut().unwrap().jailed_until = Some(1600.0);
    let out = eval(chain_with(s.clone(), &[]), 1000.0);
    let j = firing(&out, "validator_jailed/c-1");
    assert!(
        j.summary
            .starts_with(&format!("c-1: our validator {CONS} is JAILED: ")),
        "{}",
        j.summary
    );
    // Once the jail time is over the signing info cannot tell: nothing is said.
    s.updated_at = Some(1700.0);
    assert!(find(&eval(chain_with(s, &[]), 1700.0), "validator_jailed/c-1").is_none());
}

#[test]
fn rest_data_far_behind_the_chain_is_not_judged() {
    // The REST node is stuck 50 blocks back, where our validator was not jailed yet.
    let mut s = sdk(450);
    s.height = Some(H - 50);
    let mut grid = signing(90);
    grid.extend(missing(10));
    let out = eval(chain_with(s.clone(), &grid), 1000.0);
    let c = firing(&out, "sdk_behind/c-1");
    assert_eq!(c.severity, Severity::Warning);
    assert_eq!(
        c.summary,
        format!("c-1: the Cosmos SDK data is at height {}, 50 blocks behind the chain (at {H}): the node of its REST endpoints is stuck or syncing, so slashing, jail and upgrade data are NOT current; fix it or add an endpoint", H - 50)
    );
    for key in ["validator_jailed/c-1", "window_missed/c-1", "jail_in/c-1"] {
        assert!(find(&out, key).is_none(), "{key} judged from old data");
    }
    s.height = Some(H - 500);
    let out = eval(chain_with(s.clone(), &grid), 1000.0);
    assert_eq!(firing(&out, "sdk_behind/c-1").severity, Severity::Critical);
    // Caught up: cleared, and the data speaks again.
    s.height = Some(H - 2);
    let out = eval(chain_with(s, &grid), 1000.0);
    assert!(cleared(&out, "sdk_behind/c-1"));
    assert!(matches!(
        find(&out, "window_missed/c-1"),
        Some(Outcome::Firing(_))
    ));
}

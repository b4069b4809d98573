//! Governance, wallets and stake rules at fixed clocks, their place on the status page,
//! the routing of `info` reminders, and the configuration checks.

use super::slow::NOW;
use super::*;
use crate::config::WalletConfig;

const HOUR: f64 = 3600.0;

// ---------------------------------------------------------------------------
// Rules at fixed clocks.

fn with_slow(slow: SlowState) -> ChainState {
    let mut s = sdk(0);
    s.slow = slow;
    chain_with(s, &signing(10))
}

fn gov(proposals: Vec<(u64, f64, bool)>, ended: Vec<u64>) -> SlowState {
    SlowState {
        gov: Some(GovState {
            api: GovApi::V1,
            voter: ACCOUNT.into(),
            proposals: proposals
                .into_iter()
                .map(|(id, end, voted)| GovProposal {
                    proposal: Proposal {
                        id,
                        title: format!("Proposal {id}"),
                        voting_end_time: end,
                    },
                    voted,
                })
                .collect(),
            ended,
            updated_at: NOW,
        }),
        ..SlowState::default()
    }
}

#[test]
fn gov_unvoted_reminds_by_time_left_and_resolves_on_a_vote_or_the_end() {
    let c = with_slow(gov(
        vec![
            (1, NOW + 100.0 * HOUR, false),
            (2, NOW + 48.0 * HOUR, false),
            (3, NOW + 2.0 * HOUR, false),
            (4, NOW + 2.0 * HOUR, true),
            (5, NOW - 1.0, false),
        ],
        vec![9],
    ));
    let out = eval(c, NOW);
    let sev = |k: &str| firing(&out, &format!("gov_unvoted/c-1/{k}")).severity;
    // Days left: a reminder for the record only (routes send warning and above).
    assert_eq!(sev("1"), Severity::Info);
    assert_eq!(sev("2"), Severity::Warning);
    assert_eq!(sev("3"), Severity::Critical);
    for k in ["4", "5", "9"] {
        assert!(
            cleared(&out, &format!("gov_unvoted/c-1/{k}")),
            "{k}: {out:#?}"
        );
    }
    let s = &firing(&out, "gov_unvoted/c-1/3").summary;
    assert_eq!(
        s,
        &format!("c-1: governance proposal #3 \"Proposal 3\" is in its voting period and our validator ours ({VALOPER}) has not voted: voting ends in 2h (at 2026-01-01T02:00:00Z); vote from the operator key {ACCOUNT} with `<chain binary> tx gov vote 3 <yes|no|abstain|no_with_veto> --from <operator key> --chain-id c-1`")
    );
    // The same proposal a day later has moved up the schedule.
    let c = with_slow(gov(vec![(1, NOW + 100.0 * HOUR, false)], vec![]));
    let out = eval(c, NOW + 90.0 * HOUR);
    assert_eq!(
        firing(&out, "gov_unvoted/c-1/1").severity,
        Severity::Critical
    );
    // Without governance data, nothing is said.
    let out = eval(with_slow(SlowState::default()), NOW);
    assert!(!out.iter().any(|o| format!("{o:?}").contains("gov_unvoted")));
}

fn wallet(amount: u128, exponent: u32, warning: f64, critical: f64) -> WalletState {
    let w = WalletConfig {
        name: "relayer".into(),
        address: ACCOUNT.into(),
        denom: "uatom".into(),
        exponent,
        warning,
        critical,
    };
    WalletState {
        name: w.name.clone(),
        address: w.address.clone(),
        denom: w.denom.clone(),
        amount: Some(amount.to_string()),
        balance: Some(w.display(amount)),
        exponent,
        warning,
        critical,
        updated_at: Some(NOW),
        error: None,
    }
}

#[test]
fn wallet_low_by_levels_in_base_or_display_units() {
    let key = "wallet_low/c-1/relayer";
    let run = |w: WalletState| {
        eval(
            with_slow(SlowState {
                wallets: vec![w],
                ..SlowState::default()
            }),
            NOW,
        )
    };
    let out = run(wallet(5_000_000, 6, 10.0, 2.0));
    let c = firing(&out, key);
    assert_eq!(c.severity, Severity::Warning);
    assert_eq!(
        c.summary,
        format!("c-1: wallet relayer ({ACCOUNT}) holds 5 (10^6 uatom; 5000000uatom), below its warning level of 10: top it up before it cannot pay its fees")
    );
    let out = run(wallet(1_000_000, 6, 10.0, 2.0));
    assert_eq!(firing(&out, key).severity, Severity::Critical);
    assert!(cleared(&run(wallet(10_000_000, 6, 10.0, 2.0)), key));
    let out = run(wallet(99, 0, 1000.0, 100.0));
    assert!(firing(&out, key)
        .summary
        .contains("holds 99uatom, below its critical level of 100"));
    // Not read yet: nothing said.
    let mut unread = wallet(0, 0, 10.0, 1.0);
    unread.amount = None;
    unread.balance = None;
    assert!(find(&run(unread), key).is_none());
}

#[test]
fn validator_rank_near_the_end_of_a_full_set_and_commission_changes() {
    let standing = |rank: u32, bonded: u32| Standing {
        rank: Some(rank),
        bonded_validators: bonded,
        max_validators: 100,
        tokens: Some("5000".into()),
        power_ratio: Some(0.001),
    };
    let run = |s: Standing| {
        eval(
            with_slow(SlowState {
                standing: Some(s),
                ..SlowState::default()
            }),
            NOW,
        )
    };
    let key = "validator_rank/c-1";
    assert!(cleared(&run(standing(50, 100)), key));
    assert!(cleared(&run(standing(99, 99)), key), "room in the set");
    assert_eq!(
        firing(&run(standing(91, 100)), key).severity,
        Severity::Warning
    );
    let out = run(standing(98, 100));
    let c = firing(&out, key);
    assert_eq!(c.severity, Severity::Critical);
    assert!(c.summary.starts_with(&format!(
        "c-1: our validator ours ({VALOPER}) is number 98 of the 100 places of the full active set (5000 bonded tokens, 0.10% of the bonded stake)"
    )), "{}", c.summary);

    let change = |at: f64| SlowState {
        commission_change: Some(CommissionChange {
            from: "0.050000000000000000".into(),
            to: "0.200000000000000000".into(),
            at,
        }),
        ..SlowState::default()
    };
    let key = "commission_changed/c-1";
    let out = eval(with_slow(change(NOW - 60.0)), NOW);
    let c = firing(&out, key);
    assert_eq!(c.severity, Severity::Warning);
    assert!(
        c.summary.contains("changed from 5.00% to 20.00%"),
        "{}",
        c.summary
    );
    assert!(cleared(
        &eval(with_slow(change(NOW - 2.0 * HOUR)), NOW),
        key
    ));
}

// ---------------------------------------------------------------------------
// Configuration.

#[test]
fn wallets_and_new_levels_are_configured_and_checked() {
    let c = Config::parse(&format!(
        "state_path = \"w.sqlite\"\n[[chain]]\nid = \"c-1\"\nrpc = [\"http://127.0.0.1:26657\"]\nrest = [\"http://127.0.0.1:1317\"]\noperator_address = \"{VALOPER}\"\nsdk_slow_interval = \"2m\"\n[[chain.wallet]]\nname = \"relayer\"\naddress = \"{ACCOUNT}\"\ndenom = \"uatom\"\nexponent = 6\nwarning = 50\ncritical = 10.5\n[rules.gov_unvoted]\nwarning = \"48h\"\ncritical = \"6h\"\n[[channel]]\ntype = \"webhook\"\nname = \"h\"\nurl = \"http://127.0.0.1:9/x\"\n[[route]]\nchannels = [\"h\"]\nmin_severity = \"info\"\n"
    ))
    .unwrap();
    let ch = &c.chains[0];
    assert_eq!(ch.sdk_slow_interval, Duration::from_secs(120));
    assert!(ch.governance);
    assert_eq!(ch.wallets[0].warning, 50.0);
    assert_eq!(ch.wallets[0].display(12_500_000), 12.5);
    assert_eq!(c.rules.gov_unvoted.critical, Duration::from_secs(6 * 3600));
    assert_eq!(c.routes[0].min_severity, Severity::Info);
    assert!(Severity::Info < Severity::Warning);
    // Written back and read again, it is the same.
    let again = Config::parse(&c.to_toml().unwrap()).unwrap();
    assert_eq!(again.chains[0].wallets, ch.wallets);

    let p = cfg_problems(&format!(
        "operator_address = \"{VALOPER}\"\nsdk_slow_interval = \"0s\"\n[[chain.wallet]]\nname = \"w\"\naddress = \"osmo1q374dg5e2z2w05kpxn4vueh9wmvnvhlpxehlzg\"\ndenom = \"u atom\"\nwarning = 1\ncritical = 5\n[[chain.wallet]]\nname = \"w\"\naddress = \"{ACCOUNT}\"\ndenom = \"uatom\"\nwarning = -1\ncritical = -2\n"
    ));
    let all = p.join("\n");
    for needle in [
        "sdk_slow_interval must be above 0s",
        "wallet \"w\" is listed twice",
        "wallet \"w\": address \"osmo1q374dg5e2z2w05kpxn4vueh9wmvnvhlpxehlzg\" has a wrong checksum",
        "denom \"u atom\" is not a denomination",
        "wallet \"w\": critical (5) must not be above warning (1)",
        "warning (-1) must be a balance of 0 or more",
        "wallet balances are read like the rest of the Cosmos SDK data: add rest = [\"http://...:1317\"], or abci_query = true",
    ] {
        assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
    }
    let osmo = bech32::encode("osmo", &bech32::decode(ACCOUNT).unwrap().1);
    let p = cfg_problems(&format!(
        "rest = [\"http://r\"]\noperator_address = \"{VALOPER}\"\n[[chain.wallet]]\nname = \"w\"\naddress = \"{osmo}\"\ndenom = \"uosmo\"\nwarning = 1\ncritical = 1\n[rules.gov_unvoted]\nwarning = \"1h\"\ncritical = \"2h\"\n[rules.validator_rank]\nwarning = 2\ncritical = 5\n[rules.commission_changed]\nkeep = \"0s\"\n"
    ));
    let all = p.join("\n");
    for needle in [
        "has prefix \"osmo\", but this chain's accounts start with \"cosmos\"",
        "rules.gov_unvoted: critical (7200) must not be above warning (3600)",
        "rules.validator_rank: critical (5) must not be above warning (2)",
        "rules.commission_changed: keep must be above 0s",
    ] {
        assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
    }
}

#[test]
fn status_page_shows_rank_unvoted_proposals_and_wallets() {
    let mut slow = gov(vec![(7, NOW + HOUR, false), (8, NOW + HOUR, true)], vec![]);
    let mut w = wallet(5_000_000, 6, 10.0, 2.0);
    w.name = "<relayer>".into();
    slow.wallets.push(w);
    slow.standing = Some(Standing {
        rank: Some(12),
        bonded_validators: 150,
        max_validators: 180,
        tokens: Some("1".into()),
        power_ratio: Some(0.01),
    });
    let doc = crate::serve::http::StatusDoc {
        generated_at: "2026-01-01T00:00:00Z".into(),
        observed: Observed {
            chains: vec![with_slow(slow)],
            ..Default::default()
        },
        alerts: vec![],
    };
    let id = doc.observed.chains[0].id.clone();
    let html = crate::serve::page::render_chain(&doc, &id).unwrap();
    for needle in [
        "rank 12 of 150 bonded (180 places)",
        "<span class=bad>not voted: #7</span>",
        "wallet &lt;relayer&gt; <span class=bad>5 x10^6 uatom</span>",
    ] {
        assert!(html.contains(needle), "{needle:?} not in:\n{html}");
    }
}

#[test]
fn info_reminders_go_only_to_routes_that_ask_for_them() {
    use crate::config::RouteConfig;
    use crate::engine::alert::Alert;
    use crate::engine::routing::route;
    let alert = |severity| Alert {
        key: "gov_unvoted/c-1/7".into(),
        rule: "gov_unvoted".into(),
        severity,
        chain: Some("c-1".into()),
        node: None,
        host: None,
        summary: "s".into(),
        started_at: NOW,
        notified_at: NOW,
        told: false,
        suppressed: false,
        labels: Default::default(),
        inhibited_by: None,
    };
    let r = |name: &str, min| RouteConfig::new(&[name], min);
    let routes = vec![r("oncall", Severity::Warning), r("log", Severity::Info)];
    assert_eq!(route(&routes, &alert(Severity::Info)), vec!["log"]);
    assert_eq!(
        route(&routes, &alert(Severity::Warning)),
        vec!["oncall", "log"]
    );
    // A route's default is warning and above.
    let c = Config::parse("state_path = \"w.sqlite\"\n[[channel]]\ntype = \"webhook\"\nname = \"h\"\nurl = \"http://127.0.0.1:9/x\"\n[[route]]\nchannels = [\"h\"]\n").unwrap();
    assert_eq!(c.routes[0].min_severity, Severity::Warning);
    assert!(route(&c.routes, &alert(Severity::Info)).is_empty());
}

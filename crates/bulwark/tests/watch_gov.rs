//! `bulwark watch` reminds of governance votes and low wallets on a real Cosmos SDK
//! chain (simapp's `simd` v0.46): two validators, a big one and "ours", and a 45 s
//! voting period.
//!
//! In order: our validator's own account, watched as a wallet, is below its critical
//! level and alerts; a text proposal enters its voting period and the watch reminds
//! (webhook and `/api/status`), the big validator's vote changes nothing, our vote
//! resolves the reminder; a bank send tops the wallet up and its alert resolves; the
//! standing in the active set and the gauges are read; a second proposal nobody votes
//! on is reminded of until its voting period ends, and then resolves. A second watch
//! reads the same by ABCI query through the RPC (`abci_query = true`) and sees the
//! same reminders, wallet alerts and standing.

mod common;

use common::*;
use serde_json::Value;
use std::time::Duration;
use testkit::simd::{SdkChain, SdkOptions, DENOM};
use watch::config::{ChainConfig, ChannelConfig, Config, RouteConfig, Severity, WalletConfig};

const MINUTE: Duration = Duration::from_secs(60);

/// The account of a validator operator: the same bytes under the account prefix.
fn account(valoper: &str) -> String {
    let (_, data) = watch::bech32::decode(valoper).expect("an operator address");
    watch::bech32::encode("cosmos", &data)
}

/// Submit a text proposal from `from` and return its id.
fn propose(chain: &SdkChain, from: &str, title: &str) -> String {
    chain.tx(
        from,
        &[
            "gov",
            "submit-legacy-proposal",
            "--type",
            "Text",
            "--title",
            title,
            "--description",
            "a test proposal",
            "--deposit",
            &format!("10{DENOM}"),
        ],
    );
    let v = chain.rest(
        from,
        "/cosmos/gov/v1/proposals?pagination.reverse=true&pagination.limit=1",
    );
    v["proposals"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no proposal: {v:#}"))
        .to_string()
}

/// The watch, reading the Cosmos SDK data over REST, or by ABCI query through the RPC
/// with `abci`.
fn config(
    chain: &SdkChain,
    port: u16,
    state: &str,
    hook: &str,
    wallet: &str,
    abci: bool,
) -> String {
    let big = chain.node("big");
    let ours = chain.node("ours");
    let mut c = Config::new(state.into());
    c.listen = ([127, 0, 0, 1], port).into();
    c.poll_interval = Duration::from_millis(300);
    c.request_timeout = Duration::from_secs(2);
    let mut ch = ChainConfig::new(&chain.chain_id, vec![big.rpc.clone()]);
    ch.validator_address = Some(ours.cons_hex.clone());
    if abci {
        ch.abci_query = true;
    } else {
        ch.rest = vec![big.rest.clone()];
    }
    ch.operator_address = Some(ours.operator.clone());
    ch.sdk_interval = Duration::from_millis(500);
    ch.sdk_slow_interval = Duration::from_secs(1);
    // Ours keeps half of its genesis funds after its self-delegation: 5000000000.
    ch.wallets.push(WalletConfig {
        name: "fee-payer".into(),
        address: wallet.into(),
        denom: DENOM.into(),
        exponent: 0,
        warning: 8_000_000_000.0,
        critical: 6_000_000_000.0,
    });
    c.chains.push(ch);
    c.channels.push(ChannelConfig::Webhook {
        name: "hook".into(),
        url: format!("{hook}/alerts"),
    });
    c.routes.push(RouteConfig {
        channels: vec!["hook".into()],
        ..RouteConfig::new(&[], Severity::Warning)
    });
    c.to_toml().unwrap()
}

/// The value of the first sample of `name` whose line contains `labels`, read now.
fn sample_of_now(port: u16, name: &str, labels: &str) -> f64 {
    let m = http_body(&format!("http://127.0.0.1:{port}/metrics"));
    let (ok, out) = promtool(&["check", "metrics"], m.as_bytes());
    assert!(ok, "promtool check metrics: {out}\n{m}");
    m.lines()
        .find(|l| l.starts_with(&format!("{name}{{")) && l.contains(labels))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|x| x.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no {name} {labels} in\n{m}"))
}

fn alert<'a>(s: &'a Value, key: &str) -> Option<&'a Value> {
    s["alerts"].as_array()?.iter().find(|a| a["key"] == key)
}

#[test]
fn watch_reminds_of_unvoted_proposals_and_low_wallets_on_a_cosmos_sdk_chain() {
    let chain = SdkChain::start(SdkOptions {
        chain_id: "gov-test-1".into(),
        voting_period: "45s".into(),
        ..Default::default()
    });
    let id = chain.chain_id.clone();
    let ours_account = account(&chain.node("ours").operator);
    let big_account = account(&chain.node("big").operator);

    let tmp = tempfile::tempdir().unwrap();
    let hook = HttpStub::start("200 OK", "{}");
    let port = free_port();
    let cfg = tmp.path().join("watch.toml");
    let state = tmp.path().join("watch.sqlite");
    std::fs::write(
        &cfg,
        config(
            &chain,
            port,
            state.to_str().unwrap(),
            &hook.url,
            &ours_account,
            false,
        ),
    )
    .unwrap();
    let d = bulwark().daemon(
        &[
            "--log-level",
            "info",
            "watch",
            "run",
            "--config",
            cfg.to_str().unwrap(),
        ],
        &tmp.path().join("watch.log"),
    );
    // The same by ABCI query, as for nodes whose REST API is off.
    let abci_hook = HttpStub::start("200 OK", "{}");
    let abci_port = free_port();
    let abci_cfg = tmp.path().join("abci.toml");
    let abci_state = tmp.path().join("abci.sqlite");
    std::fs::write(
        &abci_cfg,
        config(
            &chain,
            abci_port,
            abci_state.to_str().unwrap(),
            &abci_hook.url,
            &ours_account,
            true,
        ),
    )
    .unwrap();
    let abci = bulwark().daemon(
        &[
            "--log-level",
            "info",
            "watch",
            "run",
            "--config",
            abci_cfg.to_str().unwrap(),
        ],
        &tmp.path().join("abci.log"),
    );

    // The wallet below its critical level.
    let wallet_key = format!("wallet_low/{id}/fee-payer");
    let v = hook.wait_for("wallet alert", MINUTE, |v| is(v, &wallet_key, "firing"));
    assert_eq!(v["severity"], "critical", "{v:#}");
    let s = v["summary"].as_str().unwrap();
    assert!(
        s.starts_with(&format!(
            "{id}: wallet fee-payer ({ours_account}) holds 5000000000stake, below its critical level of 6000000000"
        )),
        "{v:#}"
    );
    let v = abci_hook.wait_for("wallet alert by ABCI query", MINUTE, |v| {
        is(v, &wallet_key, "firing")
    });
    assert_eq!(v["severity"], "critical", "{v:#}");
    let a = wait_api(abci_port, "governance read by ABCI query", &abci, |s| {
        s["chains"][0]["sdk"]["slow"]["gov"]["voter"] == ours_account.as_str()
    });
    assert_eq!(a["chains"][0]["sdk"]["via"], "abci");
    assert_eq!(a["chains"][0]["sdk"]["slow"]["gov"]["api"], "v1", "{a:#}");
    let s = wait_api(port, "governance read", &d, |s| {
        s["chains"][0]["sdk"]["slow"]["gov"]["voter"] == ours_account.as_str()
    });
    assert_eq!(s["chains"][0]["sdk"]["slow"]["gov"]["api"], "v1", "{s:#}");
    assert!(
        !s["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["rule"] == "gov_unvoted"),
        "no proposal yet: {s:#}"
    );

    // A proposal in its voting period, with 45 s left: critical at once.
    let first = propose(&chain, "big", "Raise the block size");
    let gov_key = format!("gov_unvoted/{id}/{first}");
    let v = hook.wait_for("governance reminder", MINUTE, |v| is(v, &gov_key, "firing"));
    assert_eq!(v["rule"], "gov_unvoted");
    assert_eq!(v["severity"], "critical", "{v:#}");
    let s = v["summary"].as_str().unwrap();
    assert!(
        s.starts_with(&format!(
            "{id}: governance proposal #{first} \"Raise the block size\" is in its voting period and our validator ours ("
        )) && s.contains(" has not voted: voting ends in ")
            && s.contains(&format!("tx gov vote {first} <yes|no|abstain|no_with_veto>"))
            && s.contains(&ours_account),
        "{v:#}"
    );
    let s = wait_api(port, "the reminder in the status", &d, |s| {
        alert(s, &gov_key).is_some()
    });
    let o = bulwark().run(&[
        "watch",
        "status",
        "--url",
        &format!("http://127.0.0.1:{port}"),
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success()
            && out.contains(&format!(
                "; rank 2 of 2 bonded; not voted: #{first}; wallet fee-payer 5000000000stake"
            )),
        "{}",
        text(&o)
    );
    let p = &s["chains"][0]["sdk"]["slow"]["gov"]["proposals"][0];
    assert_eq!(p["id"].as_u64().map(|n| n.to_string()), Some(first.clone()));
    assert_eq!(p["voted"], false, "{p:#}");
    assert_eq!(p["title"], "Raise the block size");
    // By ABCI query: the same reminder, the same title.
    let v = abci_hook.wait_for("governance reminder by ABCI query", MINUTE, |v| {
        is(v, &gov_key, "firing")
    });
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .contains(&format!("proposal #{first} \"Raise the block size\"")),
        "{v:#}"
    );

    // Another validator's vote is not ours.
    chain.tx("big", &["gov", "vote", &first, "yes"]);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        count(&hook, &gov_key, "resolved"),
        0,
        "resolved by big's vote"
    );
    assert!(alert(&api(port), &gov_key).is_some());

    // Ours votes: the reminder resolves.
    chain.tx("ours", &["gov", "vote", &first, "no"]);
    hook.wait_for("reminder resolved by our vote", MINUTE, |v| {
        is(v, &gov_key, "resolved")
    });
    let s = wait_api(port, "our vote seen", &d, |s| {
        s["chains"][0]["sdk"]["slow"]["gov"]["proposals"][0]["voted"] == true
    });
    assert!(alert(&s, &gov_key).is_none(), "{s:#}");
    abci_hook.wait_for("reminder resolved by ABCI query", MINUTE, |v| {
        is(v, &gov_key, "resolved")
    });
    assert_eq!(count(&abci_hook, &gov_key, "resolved"), 1);

    // The wallet is topped up: 9000000000, above both levels.
    chain.tx(
        "big",
        &[
            "bank",
            "send",
            &big_account,
            &ours_account,
            &format!("4000000000{DENOM}"),
        ],
    );
    hook.wait_for("wallet alert resolved", MINUTE, |v| {
        is(v, &wallet_key, "resolved")
    });
    abci_hook.wait_for("wallet alert resolved by ABCI query", MINUTE, |v| {
        is(v, &wallet_key, "resolved")
    });
    let a = api(abci_port);
    assert_eq!(
        a["chains"][0]["sdk"]["slow"]["standing"],
        api(port)["chains"][0]["sdk"]["slow"]["standing"],
        "standing by ABCI query and by REST"
    );
    let s = api(port);
    let w = &s["chains"][0]["sdk"]["slow"]["wallets"][0];
    assert_eq!(w["amount"], "9000000000", "{w:#}");
    // Ours is second of two bonded validators in a set of 100: no rank alert.
    let st = &s["chains"][0]["sdk"]["slow"]["standing"];
    assert_eq!(st["rank"], 2, "{st:#}");
    assert_eq!(st["bonded_validators"], 2, "{st:#}");
    assert_eq!(st["max_validators"], 100, "{st:#}");
    let ratio = st["power_ratio"].as_f64().unwrap();
    assert!((ratio - 5.0 / 95.0).abs() < 0.01, "{st:#}");
    assert_eq!(count(&hook, &format!("validator_rank/{id}"), "firing"), 0);
    let m = http_body(&format!("http://127.0.0.1:{port}/metrics"));
    let (ok, out) = promtool(&["check", "metrics"], m.as_bytes());
    assert!(ok, "promtool check metrics: {out}\n{m}");
    let sample_of = |name: &str, labels: &str| {
        m.lines()
            .find(|l| l.starts_with(&format!("{name}{{")) && l.contains(labels))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|x| x.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("no {name} {labels} in\n{m}"))
    };
    assert_eq!(
        sample_of("bulwark_watch_wallet_balance", "wallet=\"fee-payer\""),
        9e9
    );
    assert_eq!(sample_of("bulwark_watch_validator_rank", &id), 2.0);
    assert_eq!(sample_of("bulwark_watch_max_validators", &id), 100.0);
    assert_eq!(sample_of("bulwark_watch_gov_unvoted_proposals", &id), 0.0);
    // Block production: the blocks read name their proposers; ours has about 5% of the
    // power and proposes about one block in twenty (checked at the end).
    let p = &s["chains"][0]["production"];
    let recent = p["recent"].as_array().unwrap();
    assert!(recent.len() >= 10, "{p:#}");
    assert!(recent.iter().any(|m| m["ours"] == false), "{p:#}");
    assert!(
        recent.iter().any(|m| m["txs"].as_u64() > Some(0)),
        "our txs: {p:#}"
    );

    // A proposal nobody votes on: reminded of until its voting period ends.
    let second = propose(&chain, "big", "Nobody votes");
    let key2 = format!("gov_unvoted/{id}/{second}");
    hook.wait_for("second reminder", MINUTE, |v| is(v, &key2, "firing"));
    hook.wait_for("second reminder resolved at the end", 2 * MINUTE, |v| {
        is(v, &key2, "resolved")
    });
    // The chain closes the proposal; it stays among the ended ones, cleared.
    let n: u64 = second.parse().unwrap();
    wait_api(port, "the second proposal ended", &d, |s| {
        s["chains"][0]["sdk"]["slow"]["gov"]["ended"]
            .as_array()
            .is_some_and(|e| e.iter().any(|x| x.as_u64() == Some(n)))
    });
    assert_eq!(
        count(&hook, &key2, "firing"),
        1,
        "one reminder per proposal"
    );
    // By now ours has proposed some of the blocks read, none flagged as empty while busy.
    let s = wait_api(port, "blocks proposed by ours", &d, |s| {
        s["chains"][0]["production"]["proposed_total"].as_u64() > Some(0)
    });
    assert!(sample_of_now(port, "bulwark_watch_validator_proposed_blocks", &id) > 0.0);
    assert_eq!(count(&hook, &format!("empty_proposals/{id}"), "firing"), 0);
    // It takes its turns: as many blocks as its share of the power gives, within the
    // schedule's phase, so no missed proposals.
    let p = &s["chains"][0]["production"];
    let n = p["recent"].as_array().unwrap().len() as f64;
    let proposed = p["recent"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["ours"] == true)
        .count() as f64;
    assert!(
        (proposed - n * 5.0 / 95.0).abs() <= 2.0,
        "ours proposed {proposed} of {n}: {p:#}"
    );
    let missed_key = format!("proposals_missed/{id}");
    assert_eq!(
        count(&hook, &missed_key, "firing"),
        0,
        "{:#?}",
        hook.json_bodies()
    );
    drop(d);
    drop(abci);
}

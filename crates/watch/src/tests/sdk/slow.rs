//! Governance, wallets and stake without a chain: the REST parsers on the shapes the
//! SDK sends (v0.46 gov v1, v0.47+ gov v1, v1beta1) and the slow reads against a
//! scripted endpoint (v1beta1 fallback, "not found" votes, pagination, a commission
//! change). The rules are in `slow_rules`.

use super::*;
use crate::collect::sdk::rest_slow::{
    parse_balance, parse_proposals, parse_staking_params, parse_validators,
};
use crate::config::WalletConfig;
use std::collections::BTreeMap;

pub(super) const NOW: f64 = 1_767_225_600.0; // 2026-01-01T00:00:00Z
const HOUR: f64 = 3600.0;

fn v046_proposal(id: u64, status: &str, end: &str) -> Value {
    json!({"id": id.to_string(), "messages": [{"@type": "/cosmos.gov.v1.MsgExecLegacyContent",
        "content": {"@type": "/cosmos.gov.v1beta1.TextProposal", "title": "Raise the block size",
        "description": "d"}, "authority": "cosmos10d07y265gmmuvt4z0w9aw880jnsr700j6zn9kn"}],
        "status": status, "final_tally_result": {"yes_count": "0", "abstain_count": "0",
        "no_count": "0", "no_with_veto_count": "0"}, "submit_time": "2025-12-31T00:00:00Z",
        "deposit_end_time": "2026-01-02T00:00:00Z", "total_deposit": [{"denom": "stake", "amount": "10"}],
        "voting_start_time": "2025-12-31T00:00:00Z", "voting_end_time": end, "metadata": ""})
}

#[test]
fn proposals_parse_in_every_version() {
    let v = json!({"proposals": [v046_proposal(7, "PROPOSAL_STATUS_VOTING_PERIOD", "2026-01-03T00:00:00Z")],
        "pagination": {"next_key": null, "total": "1"}});
    let p = parse_proposals("/p", &v, GovApi::V1).unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].0.id, 7);
    assert_eq!(p[0].0.title, "Raise the block size");
    assert_eq!(p[0].0.voting_end_time, NOW + 48.0 * HOUR);
    assert_eq!(p[0].1, "PROPOSAL_STATUS_VOTING_PERIOD");
    // v0.47+: a title of its own.
    let v = json!({"proposals": [{"id": "3", "messages": [], "status": "PROPOSAL_STATUS_VOTING_PERIOD",
        "voting_end_time": "2026-01-01T12:00:00Z", "metadata": "ipfs://x", "title": "Community pool spend",
        "summary": "s", "proposer": "cosmos1..."}]});
    assert_eq!(
        parse_proposals("/p", &v, GovApi::V1).unwrap()[0].0.title,
        "Community pool spend"
    );
    // v1beta1.
    let v = json!({"proposals": [{"proposal_id": "12", "content": {"@type": "/cosmos.gov.v1beta1.TextProposal",
        "title": "Old style", "description": "d"}, "status": "PROPOSAL_STATUS_VOTING_PERIOD",
        "voting_end_time": "2026-01-01T01:00:00Z"}]});
    let p = parse_proposals("/p", &v, GovApi::V1beta1).unwrap();
    assert_eq!((p[0].0.id, p[0].0.title.as_str()), (12, "Old style"));
    // Garbage is an error, not an empty list.
    for bad in [
        json!({"proposal": []}),
        json!({"proposals": [{"id": "x", "status": "S", "voting_end_time": "2026-01-01T00:00:00Z"}]}),
        json!({"proposals": [{"id": "1", "status": "S", "voting_end_time": "soon"}]}),
    ] {
        assert!(parse_proposals("/p", &bad, GovApi::V1).is_err(), "{bad}");
    }
}

#[test]
fn balances_validator_pages_and_params_parse() {
    let v = json!({"balance": {"denom": "uatom", "amount": "123456789012345678901234"}});
    assert_eq!(
        parse_balance("/b", &v, "uatom").unwrap(),
        123_456_789_012_345_678_901_234
    );
    assert!(parse_balance("/b", &v, "uosmo").is_err(), "wrong denom");
    let bad = json!({"balance": {"denom": "uatom", "amount": "-1"}});
    assert!(parse_balance("/b", &bad, "uatom").is_err());

    let v = json!({"validators": [
        {"operator_address": "a", "tokens": "300", "status": "BOND_STATUS_BONDED"},
        {"operator_address": "b", "tokens": "100", "status": "BOND_STATUS_BONDED"}],
        "pagination": {"next_key": "FDx+ab/c=", "total": "0"}});
    let (page, next) = parse_validators("/v", &v).unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0].tokens, 300);
    assert_eq!(next.as_deref(), Some("FDx+ab/c="));
    let last = json!({"validators": [], "pagination": {"next_key": null}});
    assert_eq!(parse_validators("/v", &last).unwrap().1, None);
    assert!(parse_validators(
        "/v",
        &json!({"validators": [{"operator_address": "a", "tokens": "x"}]})
    )
    .is_err());

    let v = json!({"params": {"unbonding_time": "1814400s", "max_validators": 180,
        "max_entries": 7, "historical_entries": 10000, "bond_denom": "uatom"}});
    assert_eq!(parse_staking_params("/s", &v).unwrap().max_validators, 180);
    assert!(parse_staking_params("/s", &json!({"params": {"max_validators": 0}})).is_err());
}

#[test]
fn standing_ranks_by_tokens_and_counts_places_left() {
    let b = |op: &str, t: u128| Bonded {
        operator_address: op.into(),
        tokens: t,
    };
    let set = vec![b("a", 50), b("ours", 30), b("c", 100), b("d", 20)];
    let s = Standing::of("ours", &set, StakingParams { max_validators: 4 });
    assert_eq!(s.rank, Some(3));
    assert_eq!(s.tokens.as_deref(), Some("30"));
    assert!((s.power_ratio.unwrap() - 0.15).abs() < 1e-9);
    assert_eq!(s.places_left(), Some(1));
    // Room in the set: nobody is pushed out.
    let s = Standing::of("ours", &set, StakingParams { max_validators: 10 });
    assert_eq!(s.places_left(), None);
    // Not bonded.
    let s = Standing::of("zz", &set, StakingParams { max_validators: 4 });
    assert_eq!((s.rank, s.places_left(), s.power_ratio), (None, None, None));
    assert_eq!(operator_account(VALOPER).as_deref(), Some(ACCOUNT));
    assert_eq!(operator_account(ACCOUNT), None);
}

// ---------------------------------------------------------------------------
// The slow reads against a scripted endpoint.

type Routes = Arc<Mutex<BTreeMap<String, (u16, String)>>>;

/// Answers the SDK collector's usual queries, and `routes` by path prefix (longest
/// first); anything else is "Not Implemented".
fn scripted(routes: Routes) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let Ok(n) = s.read(&mut buf) else { continue };
            let head = String::from_utf8_lossy(&buf[..n]).into_owned();
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
            let (status, body) = route(&routes.lock().unwrap(), &path);
            let _ = write!(s, "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    url
}

fn route(routes: &BTreeMap<String, (u16, String)>, path: &str) -> (u16, String) {
    if let Some((_, a)) = routes
        .iter()
        .filter(|(p, _)| path.starts_with(p.as_str()))
        .max_by_key(|(p, _)| p.len())
    {
        return a.clone();
    }
    super::answer(&Fake::default(), path)
}

fn set(r: &Routes, path: &str, status: u16, body: Value) {
    r.lock()
        .unwrap()
        .insert(path.to_string(), (status, body.to_string()));
}

#[test]
fn slow_reads_fall_back_to_v1beta1_see_votes_page_validators_and_read_wallets() {
    let r: Routes = Arc::default();
    let voting = |ids: &[u64]| {
        let list: Vec<Value> = ids
            .iter()
            .map(|id| json!({"proposal_id": id.to_string(), "content": {"title": format!("P{id}")},
                "status": "PROPOSAL_STATUS_VOTING_PERIOD", "voting_end_time": "2026-01-02T00:00:00Z"}))
            .collect();
        json!({"proposals": list})
    };
    set(
        &r,
        "/cosmos/gov/v1beta1/proposals?proposal_status=2",
        200,
        voting(&[4, 5]),
    );
    // At start the latest proposals: 3 ended while the watch was down.
    set(
        &r,
        "/cosmos/gov/v1beta1/proposals?pagination.limit=20&pagination.reverse=true",
        200,
        json!({"proposals": [
            {"proposal_id": "5", "status": "PROPOSAL_STATUS_VOTING_PERIOD", "voting_end_time": "2026-01-02T00:00:00Z"},
            {"proposal_id": "3", "status": "PROPOSAL_STATUS_PASSED", "voting_end_time": "2025-12-01T00:00:00Z"}]}),
    );
    set(
        &r,
        &format!("/cosmos/gov/v1beta1/proposals/4/votes/{ACCOUNT}"),
        200,
        json!({"vote": {"proposal_id": "4", "voter": ACCOUNT, "option": "VOTE_OPTION_YES"}}),
    );
    set(
        &r,
        &format!("/cosmos/gov/v1beta1/proposals/5/votes/{ACCOUNT}"),
        400,
        json!({"code": 3, "message": format!("voter: {ACCOUNT} not found for proposal: 5"), "details": []}),
    );
    set(
        &r,
        &format!("/cosmos/bank/v1beta1/balances/{ACCOUNT}/by_denom?denom=ibc%2F27394F"),
        200,
        json!({"balance": {"denom": "ibc/27394F", "amount": "1500000"}}),
    );
    set(
        &r,
        "/cosmos/staking/v1beta1/params",
        200,
        json!({"params": {"max_validators": 3}}),
    );
    let page = "/cosmos/staking/v1beta1/validators?status=BOND_STATUS_BONDED&pagination.limit=200";
    set(
        &r,
        page,
        200,
        json!({"validators": [{"operator_address": "a", "tokens": "900"},
        {"operator_address": VALOPER, "tokens": "100"}], "pagination": {"next_key": "k+/="}}),
    );
    set(
        &r,
        &format!("{page}&pagination.key=k%2B%2F%3D"),
        200,
        json!({"validators": [
        {"operator_address": "c", "tokens": "500"}], "pagination": {"next_key": null}}),
    );
    let url = scripted(r.clone());

    let mut cfg = chain_cfg(std::slice::from_ref(&url));
    cfg.sdk_slow_interval = Duration::from_secs(60);
    cfg.wallets.push(WalletConfig {
        name: "feeder".into(),
        address: ACCOUNT.into(),
        denom: "ibc/27394F".into(),
        exponent: 6,
        warning: 2.0,
        critical: 1.0,
    });
    let http = reqwest::Client::new();
    let src = Source::Rest(Rest::new(http, &url, Duration::from_millis(500)));
    let mut col = SdkCollector::new(&cfg, Via::Rest, vec![src]);
    rt().block_on(col.poll(NOW));
    let slow = &col.state.slow;
    assert_eq!(slow.error, None, "{slow:#?}");
    let g = slow.gov.as_ref().expect("governance read");
    assert_eq!(g.api, GovApi::V1beta1, "v1 is not served here");
    assert_eq!(g.voter, ACCOUNT);
    let seen: Vec<(u64, bool)> = g
        .proposals
        .iter()
        .map(|p| (p.proposal.id, p.voted))
        .collect();
    assert_eq!(seen, vec![(4, true), (5, false)]);
    assert_eq!(g.ended, vec![3]);
    assert_eq!(slow.wallets[0].amount.as_deref(), Some("1500000"));
    assert_eq!(slow.wallets[0].balance, Some(1.5));
    let st = slow.standing.as_ref().expect("standing read");
    assert_eq!(
        (st.rank, st.bonded_validators, st.max_validators),
        (Some(3), 3, 3)
    );
    assert_eq!(st.places_left(), Some(0));

    // Before the slow interval: nothing read again.
    set(
        &r,
        "/cosmos/gov/v1beta1/proposals?proposal_status=2",
        200,
        voting(&[]),
    );
    rt().block_on(col.poll(NOW + 30.0));
    assert_eq!(col.state.slow.gov.as_ref().unwrap().proposals.len(), 2);
    // After it: 4 and 5 left their voting period and are ended.
    rt().block_on(col.poll(NOW + 61.0));
    let g = col.state.slow.gov.as_ref().unwrap();
    assert!(g.proposals.is_empty());
    assert_eq!(g.ended, vec![3, 4, 5]);

    // The bank module answering garbage is the wallet's error; the rest is kept.
    set(
        &r,
        &format!("/cosmos/bank/v1beta1/balances/{ACCOUNT}/by_denom?denom=ibc%2F27394F"),
        200,
        json!({"balance": {"denom": "other", "amount": "1"}}),
    );
    rt().block_on(col.poll(NOW + 122.0));
    let w = &col.state.slow.wallets[0];
    assert_eq!(w.amount.as_deref(), Some("1500000"));
    assert!(
        w.error.as_deref().unwrap().contains("balance is of other"),
        "{w:?}"
    );
}

#[test]
fn a_commission_change_is_seen_between_two_reads() {
    let f = Arc::new(Mutex::new(Fake::default()));
    let url = serve(f.clone());
    let mut col = collector(std::slice::from_ref(&url));
    rt().block_on(col.poll(NOW));
    assert_eq!(
        col.state
            .validator
            .as_ref()
            .unwrap()
            .commission_rate
            .as_deref(),
        Some("0.100000000000000000")
    );
    assert_eq!(col.state.slow.commission_change, None);
    f.lock().unwrap().commission = "0.250000000000000000";
    rt().block_on(col.poll(NOW + 1.0));
    let ch = col.state.slow.commission_change.clone().expect("a change");
    assert_eq!(
        (ch.from.as_str(), ch.to.as_str(), ch.at),
        ("0.100000000000000000", "0.250000000000000000", NOW + 1.0)
    );
}

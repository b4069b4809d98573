use super::*;
use std::path::Path;

fn fixture() -> Fixture {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/fixtures/watch");
    Fixture::load(&dir).unwrap()
}

fn chain(index: usize) -> (SdkChain, Fixture) {
    let f = fixture();
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    (SdkChain::new("replay-000", index, &f, start), f)
}

fn get(c: &SdkChain, target: &str) -> Answer {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    c.answer(path, query, 1_000, &|h| {
        json!({ "block_id": {}, "block": { "header": { "chain_id": "replay-000", "height": h.to_string() } } })
    })
}

fn data(a: Answer) -> Value {
    match a {
        Answer::Data(v) => v,
        other => panic!("not data: {other:?}"),
    }
}

#[test]
fn query_parameters_are_percent_decoded() {
    let p = params("denom=ibc%2F27A&pagination.key=AAA%2B%3D&memo=a+b&bad=%zz&&flag");
    assert_eq!(
        p,
        [
            ("denom", "ibc/27A"),
            ("pagination.key", "AAA+="),
            ("memo", "a b"),
            ("bad", "%zz"),
            ("flag", ""),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );
}

#[test]
fn pages_follow_next_key_and_reverse() {
    let items: Vec<u32> = (1..=5).collect();
    let q = |s: &str| Query(params(s));
    let (page, p) = paginate(items.clone(), &q("pagination.limit=2")).unwrap();
    assert_eq!(page, [1, 2]);
    assert_eq!(p["total"], "0");
    let key = p["next_key"].as_str().unwrap().to_string();
    let enc = key
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let (page, p) = paginate(
        items.clone(),
        &q(&format!("pagination.limit=2&pagination.key={enc}")),
    )
    .unwrap();
    assert_eq!(page, [3, 4]);
    assert!(p["next_key"].is_string());
    let (page, p) = paginate(items.clone(), &q("pagination.limit=2&pagination.offset=4")).unwrap();
    assert_eq!(page, [5]);
    assert_eq!(p["next_key"], Value::Null);
    let (page, _) = paginate(
        items.clone(),
        &q("pagination.limit=2&pagination.reverse=true"),
    )
    .unwrap();
    assert_eq!(page, [5, 4]);
    // No limit: the SDK's default, and the total counted.
    let (page, p) = paginate(items.clone(), &q("")).unwrap();
    assert_eq!((page.len(), p["total"].as_str()), (5, Some("5")));
    let both = format!("pagination.key={enc}&pagination.offset=1");
    assert!(matches!(
        paginate(items, &q(&both)),
        Err(Answer::Error(400, 3, _))
    ));
}

#[test]
fn the_reads_of_the_watch_are_served() {
    let (c, f) = chain(0);
    let b = data(get(&c, "/cosmos/base/tendermint/v1beta1/blocks/latest"));
    assert_eq!(b["block"]["header"]["height"], "1000");
    assert!(b.get("sdk_block").is_some());
    let b = data(get(&c, "/cosmos/base/tendermint/v1beta1/blocks/900"));
    assert_eq!(b["block"]["header"]["chain_id"], "replay-000");
    assert!(matches!(
        get(&c, "/cosmos/base/tendermint/v1beta1/blocks/1001"),
        Answer::Error(400, 3, _)
    ));

    let p = data(get(&c, "/cosmos/slashing/v1beta1/params"));
    assert_eq!(p["params"]["signed_blocks_window"], "10000");
    let i = data(get(
        &c,
        &format!("/cosmos/slashing/v1beta1/signing_infos/{}", c.valcons),
    ));
    assert_eq!(i["val_signing_info"]["address"], c.valcons.as_str());
    assert_eq!(i["val_signing_info"]["missed_blocks_counter"], "0");
    let other = cosmos::valcons("0000000000000000000000000000000000000000");
    assert!(matches!(
        get(
            &c,
            &format!("/cosmos/slashing/v1beta1/signing_infos/{other}")
        ),
        Answer::Error(404, 5, _)
    ));

    let v = data(get(
        &c,
        &format!("/cosmos/staking/v1beta1/validators/{}", c.operator),
    ));
    assert_eq!(v["validator"]["operator_address"], c.operator.as_str());
    assert_eq!(v["validator"]["status"], "BOND_STATUS_BONDED");
    assert_eq!(v["validator"]["description"]["moniker"], "bulwark");
    let all = data(get(
        &c,
        "/cosmos/staking/v1beta1/validators?status=BOND_STATUS_BONDED&pagination.limit=200",
    ));
    assert_eq!(
        all["validators"].as_array().unwrap().len(),
        f.meta.validators
    );
    assert_eq!(all["pagination"]["next_key"], Value::Null);
    let sp = data(get(&c, "/cosmos/staking/v1beta1/params"));
    assert_eq!(sp["params"]["max_validators"], 100);
    assert_eq!(
        data(get(&c, "/cosmos/upgrade/v1beta1/current_plan"))["plan"],
        Value::Null
    );

    let ps = data(get(
        &c,
        "/cosmos/gov/v1/proposals?proposal_status=2&pagination.limit=500",
    ));
    let ids: Vec<&str> = ps["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["5", "6"]);
    let latest = data(get(
        &c,
        "/cosmos/gov/v1/proposals?pagination.limit=20&pagination.reverse=true",
    ));
    assert_eq!(latest["proposals"][0]["id"], "6");
    assert_eq!(latest["proposals"].as_array().unwrap().len(), 6);
    let voted = data(get(
        &c,
        &format!("/cosmos/gov/v1/proposals/6/votes/{}", c.account),
    ));
    assert_eq!(voted["vote"]["voter"], c.account.as_str());
    match get(
        &c,
        &format!("/cosmos/gov/v1/proposals/5/votes/{}", c.account),
    ) {
        Answer::Error(400, 3, m) => assert!(m.contains("not found for proposal"), "{m}"),
        other => panic!("{other:?}"),
    }

    let bal = data(get(
        &c,
        &format!(
            "/cosmos/bank/v1beta1/balances/{}/by_denom?denom=ustake",
            c.wallet
        ),
    ));
    assert_eq!(
        bal["balance"],
        json!({ "denom": "ustake", "amount": WALLET_AMOUNT.to_string() })
    );
    let none = data(get(
        &c,
        &format!(
            "/cosmos/bank/v1beta1/balances/{}/by_denom?denom=uatom",
            c.wallet
        ),
    ));
    assert_eq!(none["balance"]["amount"], "0");
}

#[test]
fn an_older_chain_has_gov_v1beta1_only() {
    let (c, _) = chain(1);
    assert_eq!(c.gov_api(), "v1beta1");
    let v1 = get(
        &c,
        "/cosmos/gov/v1/proposals?proposal_status=2&pagination.limit=500",
    );
    assert_eq!(v1.reply().0, 501);
    let ps = data(get(
        &c,
        "/cosmos/gov/v1beta1/proposals?proposal_status=PROPOSAL_STATUS_VOTING_PERIOD",
    ));
    assert_eq!(ps["proposals"][0]["proposal_id"], "5");
    assert_eq!(
        ps["proposals"][1]["content"]["title"],
        "Software upgrade v3"
    );
    let voted = data(get(
        &c,
        &format!("/cosmos/gov/v1beta1/proposals/6/votes/{}", c.account),
    ));
    assert_eq!(voted["vote"]["option"], "VOTE_OPTION_YES");
}

#[test]
fn what_is_not_served_says_so() {
    let (c, _) = chain(0);
    for t in [
        "/cosmos/distribution/v1beta1/params",
        "/cosmos/gov/v2/proposals",
        "/cosmos/slashing/v1beta1/params?height=5",
        "/cosmos/gov/v1/proposals?voter=cosmos1x",
    ] {
        let a = get(&c, t);
        assert!(matches!(a, Answer::Unserved(_)), "{t}: {a:?}");
        let (status, body) = a.reply();
        assert_eq!((status, body["code"].as_u64()), (501, Some(12)), "{t}");
    }
    assert!(is_slow("/cosmos/gov/v1/proposals"));
    assert!(is_slow("/cosmos/bank/v1beta1/balances/x/by_denom"));
    assert!(!is_slow(
        "/cosmos/staking/v1beta1/validators/cosmosvaloper1x"
    ));
}

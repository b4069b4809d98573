//! The ABCI decoders of the slow queries on messages encoded as the chain encodes them.

use super::*;

fn any(type_url: &str, value: Vec<u8>) -> Any {
    Any {
        type_url: type_url.into(),
        value,
    }
}

fn titled(t: &str) -> Vec<u8> {
    Titled { title: t.into() }.encode_to_vec()
}

fn proposal(id: u64, messages: Vec<Any>, title: &str) -> ProtoProposal {
    ProtoProposal {
        id,
        messages,
        status: 2,
        voting_end_time: Some(Timestamp {
            seconds: 1_767_225_600,
            nanos: 500_000_000,
        }),
        metadata: String::new(),
        title: title.into(),
    }
}

#[test]
fn proposals_by_abci_read_like_rest() {
    let legacy = ExecLegacyContent {
        content: Some(any(
            "/cosmos.gov.v1beta1.TextProposal",
            titled("Raise the block size"),
        )),
    };
    let r = ProposalsResponse {
        proposals: vec![
            // v0.46 gov v1: a legacy content inside MsgExecLegacyContent.
            proposal(
                1,
                vec![any(
                    "/cosmos.gov.v1.MsgExecLegacyContent",
                    legacy.encode_to_vec(),
                )],
                "",
            ),
            // v0.47+: its own title.
            proposal(
                2,
                vec![any("/cosmos.bank.v1beta1.MsgSend", vec![1, 2])],
                "Spend",
            ),
            // v1beta1: field 2 is the content.
            proposal(
                3,
                vec![any("/cosmos.gov.v1beta1.TextProposal", titled("Old style"))],
                "",
            ),
        ],
    };
    let p = proposals(&r.encode_to_vec()).unwrap();
    let got: Vec<(u64, &str, &str)> = p
        .iter()
        .map(|(p, s)| (p.id, p.title.as_str(), s.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, "Raise the block size", "PROPOSAL_STATUS_VOTING_PERIOD"),
            (2, "Spend", "PROPOSAL_STATUS_VOTING_PERIOD"),
            (3, "Old style", "PROPOSAL_STATUS_VOTING_PERIOD"),
        ]
    );
    assert_eq!(p[0].0.voting_end_time, 1_767_225_600.5);
    let mut bad = proposal(4, vec![], "");
    bad.voting_end_time = None;
    let r = ProposalsResponse {
        proposals: vec![bad],
    };
    assert!(proposals(&r.encode_to_vec()).is_err());
    assert!(proposals(&[0xff, 0xff]).is_err());
}

#[test]
fn votes_balances_params_and_validator_pages_by_abci() {
    let v = VoteResponse {
        vote: Some(Vote {
            voter: "cosmos1me".into(),
        }),
    };
    assert!(vote(&v.encode_to_vec(), "cosmos1me").is_ok());
    assert!(vote(&v.encode_to_vec(), "cosmos1other").is_err());

    let b = BalanceResponse {
        balance: Some(Coin {
            denom: "stake".into(),
            amount: "9000000000".into(),
        }),
    };
    assert_eq!(balance(&b.encode_to_vec(), "stake"), Ok(9_000_000_000));
    assert!(balance(&b.encode_to_vec(), "uatom").is_err());

    let p = StakingParamsResponse {
        params: Some(ProtoStakingParams {
            max_validators: 100,
        }),
    };
    assert_eq!(
        staking_params(&p.encode_to_vec()).unwrap().max_validators,
        100
    );
    assert!(staking_params(&StakingParamsResponse { params: None }.encode_to_vec()).is_err());

    let page = ValidatorsResponse {
        validators: vec![ListedValidator {
            operator_address: "a".into(),
            tokens: "42".into(),
        }],
        pagination: Some(PageResponse {
            next_key: vec![7, 8],
        }),
    };
    let (vals, next) = validators(&page.encode_to_vec()).unwrap();
    assert_eq!((vals[0].tokens, next), (42, Some(vec![7, 8])));
    let last = ValidatorsResponse {
        validators: vec![],
        pagination: Some(PageResponse { next_key: vec![] }),
    };
    assert_eq!(validators(&last.encode_to_vec()).unwrap().1, None);
}

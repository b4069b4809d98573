//! The slow reads by ABCI query, the same answers as [`crate::collect::sdk::rest_slow`]
//! gives over REST: governance proposals and votes (v1, or v1beta1), balances, the
//! staking parameters and the bonded validators.

use crate::collect::sdk::abci::Abci;
use crate::collect::sdk::proto_slow::{
    self as p, BalanceRequest, PageRequest, ProposalsRequest, ValidatorsRequest, VoteRequest,
};
use crate::collect::sdk::source::{garbage, Reply, SdkError};
use crate::sdk::{Bonded, GovApi, Proposal, StakingParams};
use prost::Message;

const PAGE: u64 = 200;
const MAX_PAGES: usize = 20;
const VOTING: i32 = 2;

fn service(api: GovApi) -> &'static str {
    match api {
        GovApi::V1 => "/cosmos.gov.v1.Query",
        GovApi::V1beta1 => "/cosmos.gov.v1beta1.Query",
    }
}

impl Abci {
    async fn proposals(
        &self,
        api: GovApi,
        req: ProposalsRequest,
    ) -> Result<Reply<Vec<(Proposal, String)>>, SdkError> {
        let path = format!("{}/Proposals", service(api));
        self.query(&path, &req.encode_to_vec())
            .await?
            .and_then(|b| p::proposals(&b).map_err(|m| garbage(&path, &m)))
    }

    /// Proposals in their voting period, by gov v1, or v1beta1.
    pub async fn voting_proposals(&self) -> Result<Reply<(GovApi, Vec<Proposal>)>, SdkError> {
        for api in [GovApi::V1, GovApi::V1beta1] {
            let req = ProposalsRequest {
                proposal_status: VOTING,
                pagination: Some(PageRequest {
                    key: vec![],
                    limit: 500,
                    reverse: false,
                }),
            };
            match self.proposals(api, req).await? {
                Reply::Data(all) => {
                    let voting = all
                        .into_iter()
                        .filter(|(_, s)| s == "PROPOSAL_STATUS_VOTING_PERIOD");
                    return Ok(Reply::Data((api, voting.map(|(p, _)| p).collect())));
                }
                Reply::Unavailable => continue,
                Reply::NotFound(m) => return Ok(Reply::NotFound(m)),
            }
        }
        Ok(Reply::Unavailable)
    }

    /// The ids of the latest `n` proposals.
    pub async fn latest_proposals(&self, api: GovApi, n: u32) -> Result<Vec<u64>, SdkError> {
        let req = ProposalsRequest {
            proposal_status: 0,
            pagination: Some(PageRequest {
                key: vec![],
                limit: u64::from(n),
                reverse: true,
            }),
        };
        Ok(match self.proposals(api, req).await? {
            Reply::Data(all) => all.into_iter().map(|(p, _)| p.id).collect(),
            _ => Vec::new(),
        })
    }

    /// Whether `voter` voted on proposal `id`.
    pub async fn voted(&self, api: GovApi, id: u64, voter: &str) -> Result<bool, SdkError> {
        let path = format!("{}/Vote", service(api));
        let req = VoteRequest {
            proposal_id: id,
            voter: voter.to_string(),
        };
        match self.query(&path, &req.encode_to_vec()).await {
            Ok(Reply::Data(b)) => p::vote(&b, voter)
                .map(|()| true)
                .map_err(|m| garbage(&path, &m)),
            Ok(Reply::NotFound(_)) => Ok(false),
            Ok(Reply::Unavailable) => Err(garbage(&path, "the gov module does not serve votes")),
            // The gRPC InvalidArgument "voter: ... not found for proposal" arrives as
            // the SDK's invalid-request error.
            Err(SdkError::Refused { message, .. }) if message.contains("not found") => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `address`'s balance of `denom` in base units.
    pub async fn balance(&self, address: &str, denom: &str) -> Result<Reply<u128>, SdkError> {
        let path = "/cosmos.bank.v1beta1.Query/Balance";
        let req = BalanceRequest {
            address: address.to_string(),
            denom: denom.to_string(),
        };
        self.query(path, &req.encode_to_vec())
            .await?
            .and_then(|b| p::balance(&b, denom).map_err(|m| garbage(path, &m)))
    }

    /// The staking parameters.
    pub async fn staking_params(&self) -> Result<Reply<StakingParams>, SdkError> {
        let path = "/cosmos.staking.v1beta1.Query/Params";
        self.query(path, &[])
            .await?
            .and_then(|b| p::staking_params(&b).map_err(|m| garbage(path, &m)))
    }

    /// Every bonded validator, page by page.
    pub async fn bonded(&self) -> Result<Reply<Vec<Bonded>>, SdkError> {
        let path = "/cosmos.staking.v1beta1.Query/Validators";
        let mut all = Vec::new();
        let mut key = Vec::new();
        for _ in 0..MAX_PAGES {
            let req = ValidatorsRequest {
                status: "BOND_STATUS_BONDED".into(),
                pagination: Some(PageRequest {
                    key: key.clone(),
                    limit: PAGE,
                    reverse: false,
                }),
            };
            let b = match self.query(path, &req.encode_to_vec()).await? {
                Reply::Data(b) => b,
                Reply::Unavailable => return Ok(Reply::Unavailable),
                Reply::NotFound(m) => return Ok(Reply::NotFound(m)),
            };
            let (page, next) = p::validators(&b).map_err(|m| garbage(path, &m))?;
            all.extend(page);
            match next {
                Some(k) => key = k,
                None => return Ok(Reply::Data(all)),
            }
        }
        Err(garbage(
            path,
            &format!("more than {} bonded validators", PAGE as usize * MAX_PAGES),
        ))
    }
}

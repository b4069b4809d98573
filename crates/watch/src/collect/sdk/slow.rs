//! The slow part of a chain's Cosmos SDK poll, every `sdk_slow_interval` from the
//! endpoint the rest of the data came from (REST, or RPC by ABCI query): governance proposals in their
//! voting period and our votes, `[[chain.wallet]]` balances, and our validator's
//! standing among the bonded validators. A failed read keeps what was read before.

use crate::collect::sdk::source::{Reply, SdkError, Source};
use crate::config::{ChainConfig, WalletConfig};
use crate::sdk::{operator_account, GovApi, Standing, Validator};
use crate::state::{CommissionChange, GovProposal, GovState, SlowState, Ts, WalletState};
use std::collections::BTreeSet;
use std::time::Duration;

/// At start, this many of the latest proposals are read so that reminders of
/// proposals whose voting ended while the watch was down resolve.
const LATEST: u32 = 20;
/// Ended proposals remembered (their reminders are cleared while they are).
const ENDED_KEPT: usize = 100;

/// What the slow reads need and remember between polls.
#[derive(Debug)]
pub struct Slow {
    interval: Duration,
    /// Our validator's account, when governance is watched.
    voter: Option<String>,
    operator: Option<String>,
    wallets: Vec<WalletConfig>,
    read_at: Option<Ts>,
    /// Proposals our vote was seen on (a vote can change, never go away).
    voted: BTreeSet<u64>,
    /// The last commission rate seen.
    commission: Option<String>,
}

impl Slow {
    /// The slow reads of chain `cfg`.
    pub fn new(cfg: &ChainConfig) -> Self {
        let voter = cfg
            .operator_address
            .as_deref()
            .filter(|_| cfg.governance)
            .and_then(operator_account);
        Self {
            interval: cfg.sdk_slow_interval,
            voter,
            operator: cfg.operator_address.clone(),
            wallets: cfg.wallets.clone(),
            read_at: None,
            voted: BTreeSet::new(),
            commission: None,
        }
    }

    /// The state before anything is read: the wallets with their levels.
    pub fn initial(&self) -> SlowState {
        SlowState {
            wallets: self.wallets.iter().map(wallet_state).collect(),
            ..SlowState::default()
        }
    }

    /// Whether the slow reads are due at `now`.
    pub fn due(&self, now: Ts) -> bool {
        self.read_at
            .is_none_or(|t| now - t >= self.interval.as_secs_f64())
    }

    /// Note our validator as just read (every poll): a change of its commission rate.
    pub fn commission(&mut self, v: Option<&Validator>, st: &mut SlowState, now: Ts) {
        let Some(rate) = v.and_then(|v| v.commission_rate.clone()) else {
            return;
        };
        if let Some(old) = self.commission.replace(rate.clone()) {
            if old != rate {
                st.commission_change = Some(CommissionChange {
                    from: old,
                    to: rate,
                    at: now,
                });
            }
        }
    }

    /// Read everything from `src` into `st`.
    pub async fn read(&mut self, src: &Source, st: &mut SlowState, now: Ts) {
        let first = self.read_at.is_none();
        self.read_at = Some(now);
        let mut errors = Vec::new();
        if let Some(voter) = self.voter.clone() {
            if let Err(e) = self.gov(src, &voter, st, first, now).await {
                errors.push(format!("governance: {e}"));
            }
        }
        for (w, s) in self.wallets.iter().zip(st.wallets.iter_mut()) {
            match src.balance(&w.address, &w.denom).await {
                Ok(Reply::Data(amount)) => {
                    s.amount = Some(amount.to_string());
                    s.balance = Some(w.display(amount));
                    s.updated_at = Some(now);
                    s.error = None;
                }
                Ok(Reply::Unavailable) => s.error = Some("the bank module is not served".into()),
                Ok(Reply::NotFound(m)) => s.error = Some(m),
                Err(e) => s.error = Some(e.to_string()),
            }
        }
        if let Some(op) = self.operator.clone() {
            match standing(src, &op).await {
                Ok(Some(s)) => st.standing = Some(s),
                Ok(None) => {}
                Err(e) => errors.push(format!("staking: {e}")),
            }
        }
        st.error = (!errors.is_empty()).then(|| errors.join("; "));
    }

    async fn gov(
        &mut self,
        src: &Source,
        voter: &str,
        st: &mut SlowState,
        first: bool,
        now: Ts,
    ) -> Result<(), SdkError> {
        let (api, proposals) = match src.voting_proposals().await? {
            Reply::Data(d) => d,
            Reply::Unavailable | Reply::NotFound(_) => {
                st.gov = None;
                return Ok(());
            }
        };
        let mut list = Vec::new();
        for p in proposals {
            if !self.voted.contains(&p.id) && src.voted(api, p.id, voter).await? {
                self.voted.insert(p.id);
            }
            list.push(GovProposal {
                voted: self.voted.contains(&p.id),
                proposal: p,
            });
        }
        let voting: BTreeSet<u64> = list.iter().map(|p| p.proposal.id).collect();
        let mut ended: Vec<u64> = st.gov.as_ref().map_or_else(Vec::new, |g| {
            let left = g.proposals.iter().map(|p| p.proposal.id);
            g.ended.iter().copied().chain(left).collect()
        });
        if first {
            ended.extend(latest(src, api).await);
        }
        ended.retain(|id| !voting.contains(id));
        ended.sort_unstable();
        ended.dedup();
        let drop = ended.len().saturating_sub(ENDED_KEPT);
        ended.drain(..drop);
        self.voted.retain(|id| voting.contains(id));
        st.gov = Some(GovState {
            api,
            voter: voter.to_string(),
            proposals: list,
            ended,
            updated_at: now,
        });
        Ok(())
    }
}

async fn latest(src: &Source, api: GovApi) -> Vec<u64> {
    src.latest_proposals(api, LATEST).await.unwrap_or_else(|e| {
        tracing::debug!(url = %src.url(), "latest proposals not read: {e}");
        Vec::new()
    })
}

/// Our validator among the bonded validators; `None` when the chain has no staking
/// module.
async fn standing(src: &Source, operator: &str) -> Result<Option<Standing>, SdkError> {
    let params = match src.staking_params().await? {
        Reply::Data(p) => p,
        _ => return Ok(None),
    };
    match src.bonded().await? {
        Reply::Data(b) => Ok(Some(Standing::of(operator, &b, params))),
        _ => Ok(None),
    }
}

fn wallet_state(w: &WalletConfig) -> WalletState {
    WalletState {
        name: w.name.clone(),
        address: w.address.clone(),
        denom: w.denom.clone(),
        amount: None,
        balance: None,
        exponent: w.exponent,
        warning: w.warning,
        critical: w.critical,
        updated_at: None,
        error: None,
    }
}

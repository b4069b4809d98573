//! A chain's Cosmos SDK data as the watch keeps it, and what it means now (window
//! share, blocks and time until jail, upgrade countdown), derived with the chain's
//! own block checks.

use super::chain::{ChainState, Sign, SourceState};
use super::sdk_slow::SlowState;
use crate::sdk::{Assessment, SigningInfo, SlashingParams, UpgradePlan, Validator, Via};
use crate::time::Ts;
use serde::Serialize;

/// A chain's Cosmos SDK data, as its collector last read it.
#[derive(Debug, Clone, Serialize)]
pub struct SdkState {
    /// How it is read: `rest` or `abci`.
    pub via: Via,
    /// Its endpoints in failover order (REST, or RPC for ABCI queries).
    pub sources: Vec<SourceState>,
    /// Our operator address, if configured.
    pub operator_address: Option<String>,
    /// Our consensus address in bech32, if it can be derived.
    pub consensus_address: Option<String>,
    /// The last poll read every query from a healthy endpoint (the data is current).
    pub fresh: bool,
    /// When the data was last read.
    pub updated_at: Option<Ts>,
    /// Latest height of the endpoint the data came from.
    pub height: Option<u64>,
    /// Average time between recent blocks, from block headers.
    pub block_time_seconds: Option<f64>,
    /// Recent misses per block from the change of `missed_blocks_counter` (used when the
    /// watch has no block observations of its own).
    pub counter_miss_rate: Option<f64>,
    /// Slashing parameters.
    pub slashing_params: Option<SlashingParams>,
    /// Our signing info.
    pub signing_info: Option<SigningInfo>,
    /// Our validator.
    pub validator: Option<Validator>,
    /// The scheduled upgrade, if any.
    pub upgrade_plan: Option<UpgradePlan>,
    /// Our validator in the chain's price-oracle module, when one is configured.
    pub oracle: Option<crate::sdk::Oracle>,
    /// Modules this chain does not serve (`slashing`, `staking`, `upgrade`).
    pub unavailable: Vec<String>,
    /// What the chain says does not exist (our validator or its signing info).
    pub not_found: Vec<String>,
    /// Since when our validator has been out of the active set while not jailed.
    pub inactive_since: Option<Ts>,
    /// Derived values, refreshed whenever the chain or this data changes.
    pub assessment: Assessment,
    /// Governance, wallets and standing, read every `sdk_slow_interval`.
    pub slow: SlowState,
}

impl SdkState {
    /// The state before anything is read.
    pub fn new(
        via: Via,
        urls: &[String],
        operator: Option<String>,
        consensus: Option<String>,
    ) -> Self {
        Self {
            via,
            sources: urls
                .iter()
                .map(|u| SourceState::new(u.trim_end_matches('/')))
                .collect(),
            operator_address: operator,
            consensus_address: consensus,
            fresh: false,
            updated_at: None,
            height: None,
            block_time_seconds: None,
            counter_miss_rate: None,
            slashing_params: None,
            signing_info: None,
            validator: None,
            upgrade_plan: None,
            oracle: None,
            unavailable: vec![],
            not_found: vec![],
            inactive_since: None,
            assessment: Assessment::default(),
            slow: SlowState::default(),
        }
    }
}

/// Recompute `c.sdk.assessment` (after the chain's blocks or the SDK data changed).
pub fn refresh(c: &mut ChainState) {
    let a = assess(c);
    if let Some(s) = c.sdk.as_mut() {
        s.assessment = a.unwrap_or_default();
    }
}

/// Recent miss rate from the watch's own block checks: 1 while the validator is in a
/// run of at least five misses (it is down now), else the share of the last 100
/// checked blocks, so scattered misses neither page nor flap. (rate, blocks it is
/// measured over).
pub fn grid_miss_rate(c: &ChainState) -> Option<(f64, u64)> {
    let checked: Vec<bool> = c
        .grid
        .iter()
        .rev()
        .filter(|e| e.sign != Sign::NotInSet)
        .take(100)
        .map(|e| e.sign == Sign::Missed)
        .collect();
    if checked.is_empty() {
        return None;
    }
    let run = checked.iter().take_while(|m| **m).count();
    if run >= 5 {
        return Some((1.0, run as u64));
    }
    let missed = checked.iter().filter(|m| **m).count();
    Some((missed as f64 / checked.len() as f64, checked.len() as u64))
}

/// What the SDK data of `c` means now; `None` when the chain has no SDK data.
pub fn assess(c: &ChainState) -> Option<Assessment> {
    let s = c.sdk.as_ref()?;
    let mut a = Assessment::default();
    // The staking module says; without it (a chain without staking, or our operator
    // address not configured), a jail that has not ended yet still shows.
    let jailed = s.validator.as_ref().map(|v| v.jailed).or_else(|| {
        let until = s.signing_info.as_ref()?.jailed_until?;
        (until > s.updated_at?).then_some(true)
    });
    let tombstoned = s.signing_info.as_ref().map(|i| i.tombstoned);
    a.jailed = jailed;
    a.tombstoned = tombstoned;
    a.bonded = s.validator.as_ref().map(Validator::bonded);
    let (rate, rate_blocks) = match grid_miss_rate(c) {
        Some((r, n)) => (Some(r), Some(n)),
        None => (s.counter_miss_rate, s.counter_miss_rate.map(|_| 0)),
    };
    a.miss_rate = rate;
    a.miss_rate_blocks = rate_blocks;
    if let (Some(p), Some(i)) = (&s.slashing_params, &s.signing_info) {
        let allowed = p.allowed_missed_blocks;
        a.missed_in_window = Some(i.missed_blocks_counter);
        a.allowed_missed = Some(allowed);
        a.window_missed_ratio = Some(if allowed == 0 {
            if i.missed_blocks_counter == 0 {
                0.0
            } else {
                f64::INFINITY
            }
        } else {
            i.missed_blocks_counter as f64 / allowed as f64
        });
        let out = jailed == Some(true) || i.tombstoned;
        if !out {
            let needed = (allowed + 1).saturating_sub(i.missed_blocks_counter).max(1);
            // The chain does not jail before a whole window has passed since start.
            let earliest = s.height.map_or(0, |h| {
                (i.start_height + p.signed_blocks_window + 1).saturating_sub(h)
            });
            let worst = needed.max(earliest);
            a.jail_in_blocks_if_down = Some(worst);
            a.jail_in_seconds_if_down = s.block_time_seconds.map(|t| worst as f64 * t);
            // Heading to jail only if, kept up, the rate fills the window past the limit.
            if let Some(r) =
                rate.filter(|r| *r > 0.0 && r * p.signed_blocks_window as f64 > allowed as f64)
            {
                // (Less a hair, so 101 / 0.1 stays 1010 despite binary fractions.)
                let blocks = ((needed as f64 / r - 1e-9).ceil() as u64).max(earliest);
                a.jail_in_blocks = Some(blocks);
                a.jail_in_seconds = s.block_time_seconds.map(|t| blocks as f64 * t);
            }
        }
    }
    if let (Some(plan), Some(h)) = (&s.upgrade_plan, s.height) {
        let left = plan.height as i64 - h as i64;
        a.upgrade_in_blocks = Some(left);
        a.upgrade_in_seconds = s.block_time_seconds.map(|t| left.max(0) as f64 * t);
    }
    Some(a)
}

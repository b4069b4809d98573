//! Cosmos SDK data of a chain, read over its REST API or by ABCI query: slashing
//! window and signing info, our validator in the staking module, and the scheduled
//! software upgrade. This file holds what is kept, what is derived from it (window
//! share, blocks and time until jail, upgrade countdown) and the chain's settings for it.

use crate::config::ChainConfig;
use crate::sdk_abci::Abci;
use crate::sdk_rest::Rest;
use crate::sdk_source::{Source, Via};
use crate::state::{ChainState, Sign, SourceState, Ts};
use serde::Serialize;

/// Slashing parameters (`/cosmos/slashing/v1beta1/params`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlashingParams {
    /// Blocks in the sliding window.
    pub signed_blocks_window: u64,
    /// Share of the window a validator must sign, as the chain writes it.
    pub min_signed_per_window: String,
    /// Misses the chain allows in the window: one more and the validator is jailed.
    pub allowed_missed_blocks: u64,
    /// How long a downtime jail lasts, as the chain writes it (e.g. `600s`).
    pub downtime_jail_duration: String,
    /// Share of stake slashed for downtime.
    pub slash_fraction_downtime: String,
}

/// Our validator's signing info (`/cosmos/slashing/v1beta1/signing_infos/{valcons}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SigningInfo {
    /// Consensus address (bech32).
    pub address: String,
    /// Height from which the window counts for it.
    pub start_height: u64,
    /// Missed blocks in the current window.
    pub missed_blocks_counter: u64,
    /// Jailed until this time (unix seconds); `None` when never jailed.
    pub jailed_until: Option<Ts>,
    /// Slashed for double signing: it can never validate again.
    pub tombstoned: bool,
}

/// Our validator in the staking module (`/cosmos/staking/v1beta1/validators/{valoper}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Validator {
    /// Operator address (bech32).
    pub operator_address: String,
    /// Its name.
    pub moniker: String,
    /// `BOND_STATUS_BONDED` (in the active set), `BOND_STATUS_UNBONDING` or `BOND_STATUS_UNBONDED`.
    pub status: String,
    /// Jailed now.
    pub jailed: bool,
    /// Bonded tokens (base units).
    pub tokens: String,
}

impl Validator {
    /// In the active set.
    pub fn bonded(&self) -> bool {
        self.status == "BOND_STATUS_BONDED"
    }
}

/// A scheduled software upgrade (`/cosmos/upgrade/v1beta1/current_plan`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpgradePlan {
    /// Upgrade name (the handler the new binary must have).
    pub name: String,
    /// The chain halts at this height until nodes run the new binary.
    pub height: u64,
    /// Free text, often binaries' URLs.
    pub info: String,
}

/// What the data means now, derived by [`assess`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Assessment {
    /// Missed blocks in the slashing window.
    pub missed_in_window: Option<u64>,
    /// Misses the chain allows in the window.
    pub allowed_missed: Option<u64>,
    /// `missed_in_window / allowed_missed`: 1 is the brink, above it the validator is jailed.
    pub window_missed_ratio: Option<f64>,
    /// Recent share of blocks missed, 0..1.
    pub miss_rate: Option<f64>,
    /// How many blocks `miss_rate` is measured over (0: from the change of the counter).
    pub miss_rate_blocks: Option<u64>,
    /// Blocks until jail at the current miss rate; `None` when not heading there.
    pub jail_in_blocks: Option<u64>,
    /// The same in seconds at the average block time.
    pub jail_in_seconds: Option<f64>,
    /// Blocks until jail if it misses every block from now (the worst case).
    pub jail_in_blocks_if_down: Option<u64>,
    /// The same in seconds at the average block time.
    pub jail_in_seconds_if_down: Option<f64>,
    /// Jailed now.
    pub jailed: Option<bool>,
    /// Tombstoned.
    pub tombstoned: Option<bool>,
    /// In the active set.
    pub bonded: Option<bool>,
    /// Blocks until the scheduled upgrade (0 or less: its height is reached).
    pub upgrade_in_blocks: Option<i64>,
    /// The same in seconds at the average block time.
    pub upgrade_in_seconds: Option<f64>,
}

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
    /// Modules this chain does not serve (`slashing`, `staking`, `upgrade`).
    pub unavailable: Vec<String>,
    /// What the chain says does not exist (our validator or its signing info).
    pub not_found: Vec<String>,
    /// Since when our validator has been out of the active set while not jailed.
    pub inactive_since: Option<Ts>,
    /// Derived values, refreshed whenever the chain or this data changes.
    pub assessment: Assessment,
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
            unavailable: vec![],
            not_found: vec![],
            inactive_since: None,
            assessment: Assessment::default(),
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

/// Misses allowed in a window: `window - round(min_signed * window)`, rounding half to
/// even on the exact decimal as the chain does. `None` when `min_signed` is not a
/// decimal between 0 and 1.
pub fn allowed_missed(window: u64, min_signed: &str) -> Option<u64> {
    const SCALE: u128 = 1_000_000_000_000_000_000;
    let (int, frac) = min_signed.split_once('.').unwrap_or((min_signed, ""));
    if int.is_empty()
        || frac.len() > 18
        || !int.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let int: u128 = int.parse().ok()?;
    let frac: u128 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<18}").parse().ok()?
    };
    let fixed = int.checked_mul(SCALE)?.checked_add(frac)?;
    if fixed > SCALE {
        return None;
    }
    let product = fixed.checked_mul(u128::from(window))?;
    let (q, r) = (product / SCALE, product % SCALE);
    let signed = if r > SCALE / 2 || (r == SCALE / 2 && q % 2 == 1) {
        q + 1
    } else {
        q
    };
    Some(window.saturating_sub(u64::try_from(signed).ok()?))
}

/// The chain's account prefix (`cosmos`): `bech32_prefix`, or the operator address's
/// prefix without `valoper`.
pub fn account_prefix(c: &ChainConfig) -> Option<String> {
    if let Some(p) = &c.bech32_prefix {
        return Some(p.clone());
    }
    let (hrp, _) = crate::bech32::decode(c.operator_address.as_deref()?).ok()?;
    hrp.strip_suffix("valoper")
        .filter(|p| !p.is_empty())
        .map(str::to_string)
}

/// Our consensus address in bech32 (`<prefix>valcons1...`) from the hex
/// `validator_address`, when the prefix is known.
pub fn consensus_address(c: &ChainConfig) -> Option<String> {
    let bytes = crate::bech32::hex_bytes(c.validator_address.as_deref()?)?;
    Some(crate::bech32::encode(
        &format!("{}valcons", account_prefix(c)?),
        &bytes,
    ))
}

/// Where the chain's Cosmos SDK data is read from, if it is read: its `rest` endpoints,
/// or its `rpc` endpoints by ABCI query.
pub fn sources(
    c: &ChainConfig,
    http: &reqwest::Client,
    timeout: std::time::Duration,
) -> Option<(Via, Vec<Source>)> {
    if c.abci_query {
        let rpcs = c
            .rpc
            .iter()
            .map(|u| Source::Abci(Abci::new(crate::rpc::Rpc::new(http.clone(), u, timeout))));
        Some((Via::Abci, rpcs.collect()))
    } else if !c.rest.is_empty() {
        let rests = c
            .rest
            .iter()
            .map(|u| Source::Rest(Rest::new(http.clone(), u, timeout)));
        Some((Via::Rest, rests.collect()))
    } else {
        None
    }
}

/// The SDK part of a chain's section on the status page.
pub(crate) fn page_fragment(c: &ChainState) -> String {
    use crate::page::esc;
    let Some(s) = &c.sdk else {
        return String::new();
    };
    let a = &s.assessment;
    let mut parts: Vec<String> = Vec::new();
    if let Some(v) = &s.validator {
        let class = if v.bonded() { "ok" } else { "bad" };
        parts.push(format!(
            "validator {} <span class={class}>{}</span>",
            esc(&v.moniker),
            esc(&v.status)
        ));
    }
    if a.jailed == Some(true) {
        parts.push("<span class=bad>JAILED</span>".into());
    }
    if a.tombstoned == Some(true) {
        parts.push("<span class=bad>TOMBSTONED</span>".into());
    }
    if let (Some(m), Some(al), Some(p)) = (a.missed_in_window, a.allowed_missed, &s.slashing_params)
    {
        let share = a.window_missed_ratio.unwrap_or(0.0) * 100.0;
        parts.push(format!(
            "missed {m} in the {}-block window, {share:.0}% of the {al} allowed",
            p.signed_blocks_window
        ));
    }
    if let Some(b) = a.jail_in_blocks {
        let t = a
            .jail_in_seconds
            .map_or(String::new(), |t| format!(", ~{}", crate::rules::human(t)));
        parts.push(format!("<span class=bad>jailed in ~{b} blocks{t}</span>"));
    }
    if let (Some(plan), Some(b)) = (&s.upgrade_plan, a.upgrade_in_blocks) {
        let t = a
            .upgrade_in_seconds
            .map_or(String::new(), |t| format!(", ~{}", crate::rules::human(t)));
        parts.push(format!(
            "upgrade {} at height {} ({b} blocks{t})",
            esc(&plan.name),
            plan.height
        ));
    }
    if !s.unavailable.is_empty() {
        parts.push(format!("not served: {}", esc(&s.unavailable.join(", "))));
    }
    if !s.fresh {
        parts.push("<span class=bad>data not current</span>".into());
    }
    let mut h = format!("<p>Cosmos SDK: {}</p>", parts.join(" &middot; "));
    h.push_str(&format!(
        "<table><tr><th>{}</th><th>state</th></tr>",
        esc(s.via.endpoint())
    ));
    for src in &s.sources {
        let st = if src.healthy {
            "<span class=ok>up</span>".to_string()
        } else {
            format!(
                "<span class=bad>down</span> {}",
                esc(src.error.as_deref().unwrap_or(""))
            )
        };
        h.push_str(&format!("<tr><td>{}</td><td>{st}</td></tr>", esc(&src.url)));
    }
    h.push_str("</table>");
    h
}

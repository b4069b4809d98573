//! Rules: pure functions from what was observed to firing or clear conditions.
//!
//! A rule that has no data for a subject says nothing about it, so an alert is
//! never resolved (or raised) because a source went quiet.

use crate::duration;
use crate::state::{Observed, Ts};
use crate::Severity;
use serde::Deserialize;
use std::time::Duration;

/// Thresholds on a count (blocks, peers): `warning` and `critical` levels, and how
/// long the condition must hold before it fires.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountRule {
    /// Warning level.
    pub warning: u64,
    /// Critical level.
    pub critical: u64,
    /// The condition must hold this long before it fires.
    #[serde(default, rename = "for", with = "duration")]
    pub for_: Duration,
}

/// Thresholds on how long something has lasted.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DurationRule {
    /// Warning after this long.
    #[serde(with = "duration")]
    pub warning: Duration,
    /// Critical after this long.
    #[serde(with = "duration")]
    pub critical: Duration,
}

/// Thresholds on a share in percent (0-100).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PercentRule {
    /// Warning at or above this percentage.
    pub warning: f64,
    /// Critical at or above this percentage.
    pub critical: f64,
    /// The condition must hold this long before it fires.
    #[serde(default, rename = "for", with = "duration")]
    pub for_: Duration,
}

/// Thresholds on a ratio such as load per CPU.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatioRule {
    /// Warning at or above this value.
    pub warning: f64,
    /// Critical at or above this value.
    pub critical: f64,
    /// The condition must hold this long before it fires.
    #[serde(default, rename = "for", with = "duration")]
    pub for_: Duration,
}

/// Every rule's thresholds (`[rules.NAME]` tables; each has working defaults).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// Our validator missed this many blocks in a row.
    #[serde(default = "default_missed_in_a_row")]
    pub missed_in_a_row: CountRule,
    /// No new block for this long.
    #[serde(default = "default_chain_stalled")]
    pub chain_stalled: DurationRule,
    /// A node's RPC has not answered (or answered wrongly) for this long.
    #[serde(default = "default_node_down")]
    pub node_down: DurationRule,
    /// A node has been catching up for this long.
    #[serde(default = "default_node_catching_up")]
    pub node_catching_up: DurationRule,
    /// A node is this many blocks behind the best height.
    #[serde(default = "default_node_behind")]
    pub node_behind: CountRule,
    /// A node has fewer peers than this (`critical` <= `warning`).
    #[serde(default = "default_peers_low")]
    pub peers_low: CountRule,
    /// A node's Prometheus metrics endpoint has failed for this long.
    #[serde(default = "default_node_metrics_down")]
    pub node_metrics_down: DurationRule,
    /// A recent height needed this round to commit (0 is normal; each more round is a
    /// failed proposal or a vote that did not gather), over the chain's last
    /// `grid_blocks` blocks.
    #[serde(default = "default_consensus_rounds")]
    pub consensus_rounds: CountRule,
    /// Voting power missing from the chain's last commit, percent (at 33.4 the chain
    /// halts), as its nodes' metrics report it.
    #[serde(default = "default_missing_power")]
    pub missing_power: PercentRule,
    /// A chain RPC endpoint has failed for this long (critical only when all of a
    /// chain's endpoints fail).
    #[serde(default = "default_source_unhealthy")]
    pub source_unhealthy: DurationRule,
    /// A host's node_exporter has not answered for this long.
    #[serde(default = "default_exporter_down")]
    pub exporter_down: DurationRule,
    /// Disk used, percent.
    #[serde(default = "default_disk_used")]
    pub disk_used: PercentRule,
    /// Disk predicted full within this long (`critical` <= `warning`).
    #[serde(default = "default_disk_full_in")]
    pub disk_full_in: DurationRule,
    /// Samples older than this are not used for the disk-fill prediction.
    #[serde(default = "default_disk_fill_window", with = "duration")]
    pub disk_fill_window: Duration,
    /// Memory used, percent.
    #[serde(default = "default_memory_used")]
    pub memory_used: PercentRule,
    /// 1-minute load average per CPU.
    #[serde(default = "default_load_per_cpu")]
    pub load_per_cpu: RatioRule,
    /// A signer's metrics endpoint has not answered for this long.
    #[serde(default = "default_signer_down")]
    pub signer_down: DurationRule,
    /// A signer has had no connection to a node for this long.
    #[serde(default = "default_signer_node_disconnected")]
    pub signer_node_disconnected: DurationRule,
    /// A signer refused this many requests in the last 10 minutes, counting only
    /// `signer_refusal_reasons`.
    #[serde(default = "default_signer_refusals")]
    pub signer_refusals: CountRule,
    /// Refusal reasons that count. Regressions and conflicting data are left out by
    /// default: with redundant validator nodes the slower node is refused routinely.
    #[serde(default = "default_signer_refusal_reasons")]
    pub signer_refusal_reasons: Vec<String>,
    /// Our validator's missed blocks in the slashing window, as a percentage of the
    /// misses the chain allows before jailing (Cosmos SDK chains with `rest`).
    #[serde(default = "default_window_missed")]
    pub window_missed: PercentRule,
    /// Projected time until our validator is jailed at its current miss rate
    /// (`critical` <= `warning`).
    #[serde(default = "default_jail_in")]
    pub jail_in: DurationRule,
    /// Our validator has been out of the active set, not jailed, for this long.
    #[serde(default = "default_validator_inactive")]
    pub validator_inactive: DurationRule,
    /// A scheduled software upgrade is this close, at the current block time
    /// (`critical` <= `warning`).
    #[serde(default = "default_upgrade_in")]
    pub upgrade_in: DurationRule,
}

impl Default for RulesConfig {
    fn default() -> Self {
        Self {
            missed_in_a_row: default_missed_in_a_row(),
            chain_stalled: default_chain_stalled(),
            node_down: default_node_down(),
            node_catching_up: default_node_catching_up(),
            node_behind: default_node_behind(),
            peers_low: default_peers_low(),
            node_metrics_down: default_node_metrics_down(),
            consensus_rounds: default_consensus_rounds(),
            missing_power: default_missing_power(),
            source_unhealthy: default_source_unhealthy(),
            exporter_down: default_exporter_down(),
            disk_used: default_disk_used(),
            disk_full_in: default_disk_full_in(),
            disk_fill_window: default_disk_fill_window(),
            memory_used: default_memory_used(),
            load_per_cpu: default_load_per_cpu(),
            signer_down: default_signer_down(),
            signer_node_disconnected: default_signer_node_disconnected(),
            signer_refusals: default_signer_refusals(),
            signer_refusal_reasons: default_signer_refusal_reasons(),
            window_missed: default_window_missed(),
            jail_in: default_jail_in(),
            validator_inactive: default_validator_inactive(),
            upgrade_in: default_upgrade_in(),
        }
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}
fn default_missed_in_a_row() -> CountRule {
    CountRule {
        warning: 3,
        critical: 10,
        for_: Duration::ZERO,
    }
}
fn default_chain_stalled() -> DurationRule {
    DurationRule {
        warning: secs(60),
        critical: secs(180),
    }
}
fn default_node_down() -> DurationRule {
    DurationRule {
        warning: secs(30),
        critical: secs(120),
    }
}
fn default_node_catching_up() -> DurationRule {
    DurationRule {
        warning: secs(60),
        critical: secs(600),
    }
}
fn default_node_behind() -> CountRule {
    CountRule {
        warning: 5,
        critical: 50,
        for_: secs(30),
    }
}
fn default_peers_low() -> CountRule {
    CountRule {
        warning: 3,
        critical: 1,
        for_: secs(60),
    }
}
fn default_source_unhealthy() -> DurationRule {
    DurationRule {
        warning: secs(30),
        critical: secs(60),
    }
}
fn default_exporter_down() -> DurationRule {
    DurationRule {
        warning: secs(60),
        critical: secs(300),
    }
}
fn default_disk_used() -> PercentRule {
    PercentRule {
        warning: 80.0,
        critical: 90.0,
        for_: secs(60),
    }
}
fn default_disk_full_in() -> DurationRule {
    DurationRule {
        warning: secs(24 * 3600),
        critical: secs(4 * 3600),
    }
}
fn default_disk_fill_window() -> Duration {
    secs(6 * 3600)
}
fn default_memory_used() -> PercentRule {
    PercentRule {
        warning: 90.0,
        critical: 97.0,
        for_: secs(300),
    }
}
fn default_signer_down() -> DurationRule {
    DurationRule {
        warning: secs(30),
        critical: secs(120),
    }
}
fn default_signer_node_disconnected() -> DurationRule {
    DurationRule {
        warning: secs(30),
        critical: secs(120),
    }
}
fn default_signer_refusals() -> CountRule {
    CountRule {
        warning: 1,
        critical: 10,
        for_: Duration::ZERO,
    }
}
fn default_signer_refusal_reasons() -> Vec<String> {
    [
        "malformed",
        "wrong_chain",
        "below_floor",
        "above_max_height",
    ]
    .map(String::from)
    .to_vec()
}
fn default_window_missed() -> PercentRule {
    PercentRule {
        warning: 50.0,
        critical: 75.0,
        for_: Duration::ZERO,
    }
}
fn default_jail_in() -> DurationRule {
    DurationRule {
        warning: secs(2 * 3600),
        critical: secs(30 * 60),
    }
}
fn default_validator_inactive() -> DurationRule {
    DurationRule {
        warning: Duration::ZERO,
        critical: secs(30 * 60),
    }
}
fn default_upgrade_in() -> DurationRule {
    DurationRule {
        warning: secs(48 * 3600),
        critical: secs(3600),
    }
}
fn default_node_metrics_down() -> DurationRule {
    DurationRule {
        warning: secs(120),
        critical: secs(1800),
    }
}
fn default_consensus_rounds() -> CountRule {
    CountRule {
        warning: 2,
        critical: 4,
        for_: Duration::ZERO,
    }
}
fn default_missing_power() -> PercentRule {
    PercentRule {
        warning: 10.0,
        critical: 25.0,
        for_: secs(60),
    }
}
fn default_load_per_cpu() -> RatioRule {
    RatioRule {
        warning: 2.0,
        critical: 4.0,
        for_: secs(300),
    }
}

impl RulesConfig {
    /// Append every problem to `p`.
    pub fn validate(&self, p: &mut Vec<String>) {
        let up = |p: &mut Vec<String>, name: &str, w: f64, c: f64| {
            if c < w {
                p.push(format!(
                    "rules.{name}: critical ({c}) must not be below warning ({w})"
                ));
            }
        };
        let down = |p: &mut Vec<String>, name: &str, w: f64, c: f64| {
            if c > w {
                p.push(format!(
                    "rules.{name}: critical ({c}) must not be above warning ({w}); lower is worse here"
                ));
            }
        };
        let r = self;
        up(
            p,
            "missed_in_a_row",
            r.missed_in_a_row.warning as f64,
            r.missed_in_a_row.critical as f64,
        );
        if r.missed_in_a_row.warning == 0 {
            p.push("rules.missed_in_a_row: warning must be at least 1".into());
        }
        for (name, d) in [
            ("chain_stalled", r.chain_stalled),
            ("node_down", r.node_down),
            ("node_catching_up", r.node_catching_up),
            ("source_unhealthy", r.source_unhealthy),
            ("exporter_down", r.exporter_down),
            ("node_metrics_down", r.node_metrics_down),
            ("signer_down", r.signer_down),
            ("signer_node_disconnected", r.signer_node_disconnected),
            ("validator_inactive", r.validator_inactive),
        ] {
            up(p, name, d.warning.as_secs_f64(), d.critical.as_secs_f64());
        }
        up(
            p,
            "node_behind",
            r.node_behind.warning as f64,
            r.node_behind.critical as f64,
        );
        up(
            p,
            "consensus_rounds",
            r.consensus_rounds.warning as f64,
            r.consensus_rounds.critical as f64,
        );
        if r.consensus_rounds.warning == 0 {
            p.push(
                "rules.consensus_rounds: warning must be at least 1 (round 0 is every height)"
                    .into(),
            );
        }
        if r.node_behind.warning == 0 {
            p.push("rules.node_behind: warning must be at least 1".into());
        }
        down(
            p,
            "peers_low",
            r.peers_low.warning as f64,
            r.peers_low.critical as f64,
        );
        down(
            p,
            "disk_full_in",
            r.disk_full_in.warning.as_secs_f64(),
            r.disk_full_in.critical.as_secs_f64(),
        );
        for (name, d) in [("jail_in", r.jail_in), ("upgrade_in", r.upgrade_in)] {
            down(p, name, d.warning.as_secs_f64(), d.critical.as_secs_f64());
        }
        for (name, pr) in [
            ("disk_used", r.disk_used),
            ("memory_used", r.memory_used),
            ("window_missed", r.window_missed),
            ("missing_power", r.missing_power),
        ] {
            up(p, name, pr.warning, pr.critical);
            for v in [pr.warning, pr.critical] {
                if !(0.0..=100.0).contains(&v) {
                    p.push(format!(
                        "rules.{name}: {v} is not a percentage between 0 and 100"
                    ));
                }
            }
        }
        up(
            p,
            "load_per_cpu",
            r.load_per_cpu.warning,
            r.load_per_cpu.critical,
        );
        if r.disk_fill_window.is_zero() {
            p.push("rules.disk_fill_window must be above 0s".into());
        }
    }
}

/// A condition that holds now.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// One alert per key.
    pub key: String,
    /// Rule name.
    pub rule: &'static str,
    /// How bad.
    pub severity: Severity,
    /// Chain it is about.
    pub chain: Option<String>,
    /// Node it is about.
    pub node: Option<String>,
    /// Host it is about.
    pub host: Option<String>,
    /// One line for a person on call.
    pub summary: String,
    /// The condition must hold this long before it fires.
    pub hold: Duration,
}

/// What an alert is about: a chain, a node of a chain, or a host.
#[derive(Debug, Clone, Default)]
pub(crate) struct About {
    chain: Option<String>,
    node: Option<String>,
    host: Option<String>,
}

impl About {
    /// A chain.
    pub(crate) fn chain(id: &str) -> Self {
        Self {
            chain: Some(id.to_string()),
            ..Self::default()
        }
    }

    /// A node of a chain.
    pub(crate) fn node(chain: &str, name: &str) -> Self {
        Self {
            chain: Some(chain.to_string()),
            node: Some(name.to_string()),
            host: None,
        }
    }

    /// A host.
    pub(crate) fn host(name: &str) -> Self {
        Self {
            host: Some(name.to_string()),
            ..Self::default()
        }
    }

    /// The condition `rule` holds for it, under `key`.
    pub(crate) fn condition(
        &self,
        rule: &'static str,
        key: String,
        severity: Severity,
        summary: String,
        hold: Duration,
    ) -> Condition {
        Condition {
            key,
            rule,
            severity,
            chain: self.chain.clone(),
            node: self.node.clone(),
            host: self.host.clone(),
            summary,
            hold,
        }
    }
}

/// What a rule says about one subject.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The condition holds.
    Firing(Condition),
    /// The subject was checked and is fine: resolve its alert if any.
    Clear(String),
}

/// Evaluate every rule. Subjects without data give no outcome.
pub fn evaluate(cfg: &RulesConfig, obs: &Observed, now: Ts) -> Vec<Outcome> {
    let mut out = Vec::new();
    crate::rules_chain::evaluate(cfg, obs, now, &mut out);
    crate::rules_consensus::evaluate(cfg, obs, now, &mut out);
    crate::rules_host::evaluate(cfg, obs, now, &mut out);
    crate::rules_signer::evaluate(cfg, obs, now, &mut out);
    crate::rules_sdk::evaluate(cfg, obs, now, &mut out);
    out
}

/// The severity of `value` against rising levels.
pub(crate) fn level_up(value: f64, warning: f64, critical: f64) -> Option<Severity> {
    if value >= critical {
        Some(Severity::Critical)
    } else if value >= warning {
        Some(Severity::Warning)
    } else {
        None
    }
}

/// The severity of `value` against falling levels (lower is worse).
pub(crate) fn level_down(value: f64, warning: f64, critical: f64) -> Option<Severity> {
    if value < critical {
        Some(Severity::Critical)
    } else if value < warning {
        Some(Severity::Warning)
    } else {
        None
    }
}

/// Human text for a number of seconds.
pub(crate) fn human(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    humantime::format_duration(Duration::from_secs(s)).to_string()
}

/// Push `Firing` when `severity` is set, else `Clear`.
pub(crate) fn push(
    out: &mut Vec<Outcome>,
    key: String,
    severity: Option<Severity>,
    make: impl FnOnce(Severity) -> Condition,
) {
    match severity {
        Some(s) => out.push(Outcome::Firing(make(s))),
        None => out.push(Outcome::Clear(key)),
    }
}

/// Push `Firing` when `severity` is set, nothing otherwise: for conditions that hold
/// but have not lasted long enough yet (an alert from before a restart stays).
pub(crate) fn push_held(
    out: &mut Vec<Outcome>,
    severity: Option<Severity>,
    make: impl FnOnce(Severity) -> Condition,
) {
    if let Some(s) = severity {
        out.push(Outcome::Firing(make(s)));
    }
}

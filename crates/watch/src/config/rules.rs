//! Rule thresholds: `[rules.NAME]` tables, each with working defaults.

use super::rule_defaults::*;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Thresholds on a count (blocks, peers): `warning` and `critical` levels, and how
/// long the condition must hold before it fires.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CountRule {
    /// Warning level.
    pub warning: u64,
    /// Critical level.
    pub critical: u64,
    /// The condition must hold this long before it fires.
    #[serde(default, rename = "for", with = "confkit::duration")]
    pub for_: Duration,
}

/// Thresholds on how long something has lasted.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DurationRule {
    /// Warning after this long.
    #[serde(with = "confkit::duration")]
    pub warning: Duration,
    /// Critical after this long.
    #[serde(with = "confkit::duration")]
    pub critical: Duration,
}

/// Thresholds on a share in percent (0-100).
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PercentRule {
    /// Warning at or above this percentage.
    pub warning: f64,
    /// Critical at or above this percentage.
    pub critical: f64,
    /// The condition must hold this long before it fires.
    #[serde(default, rename = "for", with = "confkit::duration")]
    pub for_: Duration,
}

/// Thresholds on a ratio such as load per CPU.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RatioRule {
    /// Warning at or above this value.
    pub warning: f64,
    /// Critical at or above this value.
    pub critical: f64,
    /// The condition must hold this long before it fires.
    #[serde(default, rename = "for", with = "confkit::duration")]
    pub for_: Duration,
}

/// A condition without levels (its severity is fixed): how long it must hold before
/// it fires.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HoldRule {
    /// The condition must hold this long before it fires.
    #[serde(default, rename = "for", with = "confkit::duration")]
    pub for_: Duration,
}

/// A notice that fires once when something changed and resolves on its own after
/// `keep`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeRule {
    /// The alert resolves this long after the change was seen.
    #[serde(with = "confkit::duration")]
    pub keep: Duration,
}

/// Every rule's thresholds (`[rules.NAME]` tables; each has working defaults).
#[derive(Debug, Clone, Deserialize, Serialize)]
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
    /// A node's `/status` took this long to answer (an RPC node's users wait as long;
    /// tighten it for `[roles.rpc]`).
    #[serde(default = "default_rpc_slow")]
    pub rpc_slow: DurationRule,
    /// A node serves less history than its `history` says, for this long.
    #[serde(default = "default_rpc_history")]
    pub rpc_history: HoldRule,
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
    /// A host is down: its node_exporter and every node and signer that names it
    /// (`host = ...`) have not answered for this long. It inhibits the alerts it causes
    /// (see the default `[[inhibit]]`).
    #[serde(default = "default_host_down")]
    pub host_down: DurationRule,
    /// A notification channel failed this many deliveries in a row (any success
    /// resets the count); the alert goes to `fallback_channel`.
    #[serde(default = "default_channel_failing")]
    pub channel_failing: CountRule,
    /// Disk used, percent.
    #[serde(default = "default_disk_used")]
    pub disk_used: PercentRule,
    /// Disk predicted full within this long (`critical` <= `warning`).
    #[serde(default = "default_disk_full_in")]
    pub disk_full_in: DurationRule,
    /// Samples older than this are not used for the disk-fill prediction.
    #[serde(default = "default_disk_fill_window", with = "confkit::duration")]
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
    /// A signer's key for a chain has been sealed (from the vault, waiting for its
    /// custodians) for this long.
    #[serde(default = "default_signer_sealed")]
    pub signer_sealed: DurationRule,
    /// A signer refused this many requests in the last 10 minutes, counting only
    /// `signer_refusal_reasons`.
    #[serde(default = "default_signer_refusals")]
    pub signer_refusals: CountRule,
    /// Refusal reasons that count. Regressions and conflicting data are left out by
    /// default: with redundant validator nodes the slower node is refused routinely.
    #[serde(default = "default_signer_refusal_reasons")]
    pub signer_refusal_reasons: Vec<String>,
    /// A threshold cosigner's metrics have not answered, or every other cosigner has
    /// had its link to it down, for this long.
    #[serde(default = "default_cosigner_down")]
    pub cosigner_down: DurationRule,
    /// Fewer than t + 1 cosigners of a group reachable (one more loss stops signing):
    /// a warning once it has held this long.
    #[serde(default = "default_threshold_at_risk")]
    pub threshold_at_risk: HoldRule,
    /// Fewer than t cosigners reachable from the cosigners that answer (the key cannot
    /// sign): critical once it has held this long.
    #[serde(default = "default_threshold_lost")]
    pub threshold_lost: HoldRule,
    /// Share requests a cosigner refused (or bad shares it received) for one reason in
    /// the last 10 minutes; `conflicting_data` is critical from the first.
    #[serde(default = "default_cosigner_refusals")]
    pub cosigner_refusals: CountRule,
    /// Refusal reasons `cosigner_refusals` leaves out: regressions, which racing
    /// coordinators of redundant validator nodes cause routinely.
    #[serde(default = "default_cosigner_refusals_ignored")]
    pub cosigner_refusals_ignored: Vec<String>,
    /// Signatures a cosigner coordinated for a chain that failed (not enough shares in
    /// time) in the last 10 minutes.
    #[serde(default = "default_cosigner_failures")]
    pub cosigner_failures: CountRule,
    /// Mean round trip of a cosigner's share requests to a peer over the last 5 minutes.
    #[serde(default = "default_cosigner_slow")]
    pub cosigner_slow: DurationRule,
    /// Our validator's missed blocks in the slashing window, as a percentage of the
    /// misses the chain allows before jailing (Cosmos SDK chains with `rest`).
    #[serde(default = "default_window_missed")]
    pub window_missed: PercentRule,
    /// Our validator's missed votes in the price-oracle module's slash window
    /// (`[chain.oracle]`), as a percentage of the misses the window allows before it is
    /// slashed and jailed at the window's end.
    #[serde(default = "default_oracle_missed")]
    pub oracle_missed: PercentRule,
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
    /// A scheduled snapshot job (`bulwark snapshot run` reporting through the host's
    /// node_exporter) last succeeded this long ago.
    #[serde(default = "default_snapshot_stale")]
    pub snapshot_stale: DurationRule,
    /// A scheduled snapshot job's last attempt failed (a warning) and has stayed so
    /// this long.
    #[serde(default = "default_snapshot_failed")]
    pub snapshot_failed: HoldRule,
    /// Another watch of a redundant pair (`[[peer]]`) has not answered for this long.
    #[serde(default = "default_peer_down")]
    pub peer_down: DurationRule,
    /// Time left in the voting period of a governance proposal our validator has not
    /// voted on (`critical` <= `warning`): warning below `warning`, critical below
    /// `critical`; with more time left it is an `info` reminder.
    #[serde(default = "default_gov_unvoted")]
    pub gov_unvoted: DurationRule,
    /// Our validator is among the last `warning` (`critical`) places of a full active
    /// set, where a validator with more stake would push it out (`critical` <=
    /// `warning`).
    #[serde(default = "default_validator_rank")]
    pub validator_rank: CountRule,
    /// Our validator's commission rate changed (a warning, kept for `keep`).
    #[serde(default = "default_commission_changed")]
    pub commission_changed: NoticeRule,
    /// Blocks our validator proposed among the chain's last `grid_blocks` that were
    /// empty while most other proposers' blocks carried transactions.
    #[serde(default = "default_empty_proposals")]
    pub empty_proposals: CountRule,
    /// Turns to propose our validator missed among the chain's last `grid_blocks`,
    /// by height: heights committed in a later round than the one it was to propose.
    #[serde(default = "default_proposals_missed")]
    pub proposals_missed: CountRule,
    /// A relayer node's Hermes telemetry (`hermes` in its `[[node]]`) has failed for
    /// this long.
    #[serde(default = "default_relayer_telemetry_down")]
    pub relayer_telemetry_down: DurationRule,
    /// Packets waiting on one channel end of a relayer's Hermes (`backlog_size`), for
    /// `for` (a backlog that does not drain).
    #[serde(default = "default_relayer_backlog")]
    pub relayer_backlog: CountRule,
    /// Errors a relayer's Hermes met broadcasting or simulating transactions in the last
    /// 10 minutes.
    #[serde(default = "default_relayer_errors")]
    pub relayer_errors: CountRule,
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
            rpc_slow: default_rpc_slow(),
            rpc_history: default_rpc_history(),
            node_metrics_down: default_node_metrics_down(),
            consensus_rounds: default_consensus_rounds(),
            missing_power: default_missing_power(),
            source_unhealthy: default_source_unhealthy(),
            exporter_down: default_exporter_down(),
            host_down: default_host_down(),
            channel_failing: default_channel_failing(),
            disk_used: default_disk_used(),
            disk_full_in: default_disk_full_in(),
            disk_fill_window: default_disk_fill_window(),
            memory_used: default_memory_used(),
            load_per_cpu: default_load_per_cpu(),
            signer_down: default_signer_down(),
            signer_node_disconnected: default_signer_node_disconnected(),
            signer_sealed: default_signer_sealed(),
            signer_refusals: default_signer_refusals(),
            signer_refusal_reasons: default_signer_refusal_reasons(),
            cosigner_down: default_cosigner_down(),
            threshold_at_risk: default_threshold_at_risk(),
            threshold_lost: default_threshold_lost(),
            cosigner_refusals: default_cosigner_refusals(),
            cosigner_refusals_ignored: default_cosigner_refusals_ignored(),
            cosigner_failures: default_cosigner_failures(),
            cosigner_slow: default_cosigner_slow(),
            window_missed: default_window_missed(),
            oracle_missed: default_oracle_missed(),
            jail_in: default_jail_in(),
            validator_inactive: default_validator_inactive(),
            upgrade_in: default_upgrade_in(),
            snapshot_stale: default_snapshot_stale(),
            snapshot_failed: default_snapshot_failed(),
            peer_down: default_peer_down(),
            gov_unvoted: default_gov_unvoted(),
            validator_rank: default_validator_rank(),
            commission_changed: default_commission_changed(),
            empty_proposals: default_empty_proposals(),
            proposals_missed: default_proposals_missed(),
            relayer_telemetry_down: default_relayer_telemetry_down(),
            relayer_backlog: default_relayer_backlog(),
            relayer_errors: default_relayer_errors(),
        }
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
            ("host_down", r.host_down),
            ("node_metrics_down", r.node_metrics_down),
            ("signer_down", r.signer_down),
            ("signer_node_disconnected", r.signer_node_disconnected),
            ("signer_sealed", r.signer_sealed),
            ("cosigner_down", r.cosigner_down),
            ("cosigner_slow", r.cosigner_slow),
            ("rpc_slow", r.rpc_slow),
            ("validator_inactive", r.validator_inactive),
            ("snapshot_stale", r.snapshot_stale),
            ("peer_down", r.peer_down),
            ("relayer_telemetry_down", r.relayer_telemetry_down),
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
        for (name, d) in [
            ("jail_in", r.jail_in),
            ("upgrade_in", r.upgrade_in),
            ("gov_unvoted", r.gov_unvoted),
        ] {
            down(p, name, d.warning.as_secs_f64(), d.critical.as_secs_f64());
        }
        for (name, pr) in [
            ("disk_used", r.disk_used),
            ("memory_used", r.memory_used),
            ("window_missed", r.window_missed),
            ("oracle_missed", r.oracle_missed),
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
        for (name, c) in [
            ("relayer_backlog", r.relayer_backlog),
            ("relayer_errors", r.relayer_errors),
        ] {
            up(p, name, c.warning as f64, c.critical as f64);
            if c.warning == 0 {
                p.push(format!("rules.{name}: warning must be at least 1"));
            }
        }
        up(
            p,
            "cosigner_refusals",
            r.cosigner_refusals.warning as f64,
            r.cosigner_refusals.critical as f64,
        );
        if r.cosigner_refusals.warning == 0 {
            p.push("rules.cosigner_refusals: warning must be at least 1".into());
        }
        up(
            p,
            "cosigner_failures",
            r.cosigner_failures.warning as f64,
            r.cosigner_failures.critical as f64,
        );
        if r.cosigner_failures.warning == 0 {
            p.push("rules.cosigner_failures: warning must be at least 1".into());
        }
        down(
            p,
            "validator_rank",
            r.validator_rank.warning as f64,
            r.validator_rank.critical as f64,
        );
        up(
            p,
            "empty_proposals",
            r.empty_proposals.warning as f64,
            r.empty_proposals.critical as f64,
        );
        up(
            p,
            "proposals_missed",
            r.proposals_missed.warning as f64,
            r.proposals_missed.critical as f64,
        );
        if r.proposals_missed.warning == 0 {
            p.push("rules.proposals_missed: warning must be at least 1".into());
        }
        if r.empty_proposals.warning == 0 {
            p.push("rules.empty_proposals: warning must be at least 1".into());
        }
        if r.commission_changed.keep.is_zero() {
            p.push("rules.commission_changed: keep must be above 0s".into());
        }
        up(
            p,
            "channel_failing",
            r.channel_failing.warning as f64,
            r.channel_failing.critical as f64,
        );
        if r.channel_failing.warning == 0 {
            p.push("rules.channel_failing: warning must be at least 1".into());
        }
        if r.disk_fill_window.is_zero() {
            p.push("rules.disk_fill_window must be above 0s".into());
        }
    }
}

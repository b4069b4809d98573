//! The default thresholds of every rule.

use super::rules::{CountRule, DurationRule, HoldRule, NoticeRule, PercentRule, RatioRule};
use std::time::Duration;

pub(super) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}
pub(super) fn default_missed_in_a_row() -> CountRule {
    CountRule {
        warning: 3,
        critical: 10,
        for_: Duration::ZERO,
    }
}
pub(super) fn default_chain_stalled() -> DurationRule {
    DurationRule {
        warning: secs(60),
        critical: secs(180),
    }
}
pub(super) fn default_node_down() -> DurationRule {
    DurationRule {
        warning: secs(30),
        critical: secs(120),
    }
}
pub(super) fn default_node_catching_up() -> DurationRule {
    DurationRule {
        warning: secs(60),
        critical: secs(600),
    }
}
pub(super) fn default_node_behind() -> CountRule {
    CountRule {
        warning: 5,
        critical: 50,
        for_: secs(30),
    }
}
pub(super) fn default_peers_low() -> CountRule {
    CountRule {
        warning: 3,
        critical: 1,
        for_: secs(60),
    }
}
pub(super) fn default_source_unhealthy() -> DurationRule {
    DurationRule {
        warning: secs(30),
        critical: secs(60),
    }
}
pub(super) fn default_exporter_down() -> DurationRule {
    DurationRule {
        warning: secs(60),
        critical: secs(300),
    }
}
pub(super) fn default_host_down() -> DurationRule {
    DurationRule {
        warning: secs(30),
        critical: secs(60),
    }
}
pub(super) fn default_channel_failing() -> CountRule {
    CountRule {
        warning: 3,
        critical: 10,
        for_: Duration::ZERO,
    }
}
pub(super) fn default_disk_used() -> PercentRule {
    PercentRule {
        warning: 80.0,
        critical: 90.0,
        for_: secs(60),
    }
}
pub(super) fn default_disk_full_in() -> DurationRule {
    DurationRule {
        warning: secs(24 * 3600),
        critical: secs(4 * 3600),
    }
}
pub(super) fn default_disk_fill_window() -> Duration {
    secs(6 * 3600)
}
pub(super) fn default_memory_used() -> PercentRule {
    PercentRule {
        warning: 90.0,
        critical: 97.0,
        for_: secs(300),
    }
}
pub(super) fn default_signer_down() -> DurationRule {
    DurationRule {
        warning: secs(30),
        critical: secs(120),
    }
}
pub(super) fn default_signer_node_disconnected() -> DurationRule {
    DurationRule {
        warning: secs(30),
        critical: secs(120),
    }
}
pub(super) fn default_signer_sealed() -> DurationRule {
    DurationRule {
        warning: secs(0),
        critical: secs(60),
    }
}
pub(super) fn default_signer_refusals() -> CountRule {
    CountRule {
        warning: 1,
        critical: 10,
        for_: Duration::ZERO,
    }
}
pub(super) fn default_signer_refusal_reasons() -> Vec<String> {
    [
        "malformed",
        "wrong_chain",
        "below_floor",
        "above_max_height",
        // The key could not sign (a PKCS#11 token gone).
        "key_failed",
    ]
    .map(String::from)
    .to_vec()
}
pub(super) fn default_window_missed() -> PercentRule {
    PercentRule {
        warning: 50.0,
        critical: 75.0,
        for_: Duration::ZERO,
    }
}
pub(super) fn default_oracle_missed() -> PercentRule {
    PercentRule {
        warning: 50.0,
        critical: 80.0,
        for_: Duration::ZERO,
    }
}
pub(super) fn default_jail_in() -> DurationRule {
    DurationRule {
        warning: secs(2 * 3600),
        critical: secs(30 * 60),
    }
}
pub(super) fn default_validator_inactive() -> DurationRule {
    DurationRule {
        warning: Duration::ZERO,
        critical: secs(30 * 60),
    }
}
pub(super) fn default_upgrade_in() -> DurationRule {
    DurationRule {
        warning: secs(48 * 3600),
        critical: secs(3600),
    }
}
pub(super) fn default_node_metrics_down() -> DurationRule {
    DurationRule {
        warning: secs(120),
        critical: secs(1800),
    }
}
pub(super) fn default_relayer_telemetry_down() -> DurationRule {
    DurationRule {
        warning: secs(120),
        critical: secs(1800),
    }
}
pub(super) fn default_relayer_backlog() -> CountRule {
    CountRule {
        warning: 20,
        critical: 200,
        for_: secs(600),
    }
}
pub(super) fn default_relayer_errors() -> CountRule {
    CountRule {
        warning: 5,
        critical: 50,
        for_: Duration::ZERO,
    }
}
pub(super) fn default_consensus_rounds() -> CountRule {
    CountRule {
        warning: 2,
        critical: 4,
        for_: Duration::ZERO,
    }
}
pub(super) fn default_missing_power() -> PercentRule {
    PercentRule {
        warning: 10.0,
        critical: 25.0,
        for_: secs(60),
    }
}
pub(super) fn default_load_per_cpu() -> RatioRule {
    RatioRule {
        warning: 2.0,
        critical: 4.0,
        for_: secs(300),
    }
}
pub(super) fn default_cosigner_down() -> DurationRule {
    DurationRule {
        warning: secs(30),
        critical: secs(300),
    }
}
pub(super) fn default_threshold_at_risk() -> HoldRule {
    // A cosigner restarting is not worth a page; one gone for longer is.
    HoldRule { for_: secs(30) }
}
pub(super) fn default_snapshot_stale() -> DurationRule {
    // Daily snapshots: a warning once one is missed, critical after two.
    DurationRule {
        warning: secs(26 * 3600),
        critical: secs(50 * 3600),
    }
}
pub(super) fn default_rpc_slow() -> DurationRule {
    DurationRule {
        warning: secs(2),
        critical: secs(10),
    }
}
pub(super) fn default_rpc_history() -> HoldRule {
    HoldRule { for_: secs(60) }
}
pub(super) fn default_peer_down() -> DurationRule {
    DurationRule {
        warning: secs(60),
        critical: secs(180),
    }
}
pub(super) fn default_snapshot_failed() -> HoldRule {
    HoldRule { for_: secs(0) }
}
pub(super) fn default_threshold_lost() -> HoldRule {
    HoldRule { for_: secs(5) }
}
pub(super) fn default_cosigner_refusals() -> CountRule {
    CountRule {
        warning: 1,
        critical: 10,
        for_: Duration::ZERO,
    }
}
pub(super) fn default_cosigner_refusals_ignored() -> Vec<String> {
    ["height_regression", "round_regression", "step_regression"]
        .map(String::from)
        .to_vec()
}
pub(super) fn default_cosigner_failures() -> CountRule {
    // One failed signature is a missed vote; a run of them is downtime.
    CountRule {
        warning: 1,
        critical: 5,
        for_: Duration::ZERO,
    }
}
pub(super) fn default_cosigner_slow() -> DurationRule {
    DurationRule {
        warning: Duration::from_millis(250),
        critical: secs(1),
    }
}
pub(super) fn default_gov_unvoted() -> DurationRule {
    DurationRule {
        warning: secs(72 * 3600),
        critical: secs(12 * 3600),
    }
}
pub(super) fn default_validator_rank() -> CountRule {
    CountRule {
        warning: 10,
        critical: 3,
        for_: Duration::ZERO,
    }
}
pub(super) fn default_commission_changed() -> NoticeRule {
    NoticeRule { keep: secs(3600) }
}
pub(super) fn default_empty_proposals() -> CountRule {
    CountRule {
        warning: 2,
        critical: 5,
        for_: Duration::ZERO,
    }
}
pub(super) fn default_proposals_missed() -> CountRule {
    // The weighted round-robin puts a validator within a block or two of its share.
    CountRule {
        warning: 2,
        critical: 5,
        for_: Duration::ZERO,
    }
}

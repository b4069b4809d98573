//! The node and host rules: down, catching up, behind, peers (and a node's own
//! `peers_low`), disks, memory and load.

use super::*;

#[test]
fn node_down_catching_up_behind_and_peers() {
    let cfg = RulesConfig::default();
    let mut down = node("s0", None, None);
    down.up = false;
    down.down_since = Some(900.0);
    down.error = Some("unreachable: Connection refused".into());
    let mut fresh_down = node("s1", None, None);
    fresh_down.up = false;
    fresh_down.down_since = Some(995.0);
    let behind = node("s2", Some(100), Some(10));
    let lonely = node("s3", Some(160), Some(0));
    let mut syncing = node("s4", Some(160), Some(5));
    syncing.catching_up = Some(true);
    syncing.catching_up_since = Some(900.0);
    let obs = Observed {
        chains: vec![chain(0)],
        nodes: vec![down, fresh_down, behind, lonely, syncing],
        ..Default::default()
    };
    let out = evaluate(&cfg, &obs, 1000.0);
    assert_eq!(severity(&out, "node_down/s0"), Some(Severity::Warning));
    let Some(Outcome::Firing(c)) = find(&out, "node_down/s0") else {
        panic!()
    };
    assert_eq!(
        c.summary,
        "s0 (sentry, c-1) has been down for 1m 40s: unreachable: Connection refused; check the process and its host"
    );
    assert!(find(&out, "node_down/s1").is_none(), "held, not cleared");
    assert!(
        find(&out, "node_behind/s0").is_none(),
        "no data for a down node"
    );
    assert_eq!(
        severity(&out, "node_behind/s2"),
        Some(Severity::Critical),
        "60 behind the best (160)"
    );
    assert!(is_clear(&out, "node_behind/s3"));
    assert_eq!(severity(&out, "peers_low/s3"), Some(Severity::Critical));
    assert!(is_clear(&out, "peers_low/s2"));
    assert_eq!(
        severity(&out, "node_catching_up/s4"),
        Some(Severity::Warning)
    );
    assert!(is_clear(&out, "node_down/s2"));
}

#[test]
fn disk_memory_and_load() {
    let cfg = RulesConfig::default();
    let host = HostState {
        name: "h".into(),
        remote: true,
        up: true,
        error: None,
        down_since: None,
        filesystems: vec![
            FsState {
                mountpoint: "/".into(),
                size_bytes: 100.0,
                avail_bytes: 15.0,
                used_ratio: 0.85,
                full_in_seconds: Some(3.0 * 3600.0),
            },
            FsState {
                mountpoint: "/data".into(),
                size_bytes: 100.0,
                avail_bytes: 50.0,
                used_ratio: 0.5,
                full_in_seconds: None,
            },
        ],
        load_per_cpu: Some(0.5),
        memory_used_ratio: Some(0.98),
    };
    let obs = Observed {
        hosts: vec![host],
        ..Default::default()
    };
    let out = evaluate(&cfg, &obs, 1000.0);
    assert_eq!(severity(&out, "disk_used/h//"), Some(Severity::Warning));
    assert_eq!(severity(&out, "disk_full_in/h//"), Some(Severity::Critical));
    let Some(Outcome::Firing(c)) = find(&out, "disk_full_in/h//") else {
        panic!()
    };
    assert_eq!(
        c.summary,
        "host h: disk / will be full in about 3h at the current rate (85.0% used now); prune or grow it before then"
    );
    assert!(is_clear(&out, "disk_used/h//data"));
    assert!(is_clear(&out, "disk_full_in/h//data"));
    assert_eq!(severity(&out, "memory_used/h"), Some(Severity::Critical));
    assert!(is_clear(&out, "load_per_cpu/h"));
    assert!(is_clear(&out, "exporter_down/h"));
}

#[test]
fn a_node_own_peers_low_replaces_the_rule_thresholds() {
    // A validator behind one sentry: one peer is normal, none is critical.
    let own = crate::config::CountRule {
        warning: 1,
        critical: 1,
        for_: std::time::Duration::ZERO,
    };
    let with_peers = |peers, peers_low| NodeState {
        role: Role::Validator,
        peers_low,
        ..node("v0", Some(11), Some(peers))
    };
    let at = |n: NodeState| {
        let obs = Observed {
            chains: vec![chain(0)],
            nodes: vec![n],
            ..Default::default()
        };
        evaluate(&RulesConfig::default(), &obs, 1001.0)
    };
    // The rule's own thresholds (warning below 3, critical below 1) warn at one peer.
    assert_eq!(
        severity(&at(with_peers(1, None)), "peers_low/v0"),
        Some(Severity::Warning)
    );
    assert!(is_clear(&at(with_peers(1, Some(own))), "peers_low/v0"));
    let out = at(with_peers(0, Some(own)));
    assert_eq!(severity(&out, "peers_low/v0"), Some(Severity::Critical));
    let Some(Outcome::Firing(c)) = find(&out, "peers_low/v0") else {
        panic!()
    };
    assert!(
        c.summary.contains("(warning below 1, critical below 1)"),
        "{}",
        c.summary
    );
}

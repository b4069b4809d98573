//! The node and host rules: down, catching up, behind, peers (and a node's own
//! `peers_low`, and levels per chain and node), disks, memory and load.

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
        snapshots: vec![],
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
fn each_chain_and_node_is_judged_by_its_own_levels() {
    // Two chains with the same miss pattern; a validator behind one sentry.
    let config = crate::Config::parse(
        r#"
state_path = "w"
[[chain]]
id = "c-1"
rpc = ["http://a:1"]
[[chain]]
id = "c-2"
rpc = ["http://b:1"]
rules.missed_in_a_row = { warning = 10, critical = 30 }
[[node]]
name = "v0"
chain = "c-1"
role = "validator"
rpc = "http://a:1"
rules.peers_low = { warning = 1, critical = 1 }
[[node]]
name = "s0"
chain = "c-1"
role = "sentry"
rpc = "http://a:2"
"#,
    )
    .unwrap();
    let levels = crate::config::Levels::new(&config).unwrap();
    let mut c2 = chain(5);
    c2.id = "c-2".into();
    let nodes = |peers| {
        vec![
            NodeState {
                role: Role::Validator,
                ..node("v0", Some(11), Some(peers))
            },
            node("s0", Some(11), Some(peers)),
        ]
    };
    let at = |peers| {
        let obs = Observed {
            chains: vec![chain(5), c2.clone()],
            nodes: nodes(peers),
            ..Default::default()
        };
        crate::rules::evaluate(&levels, &obs, 1001.0)
    };
    let out = at(1);
    // [rules] warn at 3 in a row: c-1 fires, c-2 (its own warning at 10) does not.
    assert_eq!(
        severity(&out, "missed_in_a_row/c-1"),
        Some(Severity::Warning)
    );
    assert!(is_clear(&out, "missed_in_a_row/c-2"), "{out:#?}");
    // One peer: normal for the validator, a warning for the sentry ([rules]: below 3).
    assert!(is_clear(&out, "peers_low/v0"));
    assert_eq!(severity(&out, "peers_low/s0"), Some(Severity::Warning));
    let out = at(0);
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

#[test]
fn stale_and_failed_snapshot_jobs() {
    let job = |name: &str, last_success: Option<f64>, failed: bool| SnapshotJobState {
        job: name.into(),
        chain: Some("c-1".into()),
        last_success,
        last_attempt: Some(90_000.0),
        last_failed: failed,
    };
    let hour = 3600.0;
    let now = 100.0 * hour;
    let host = |up| HostState {
        name: "h".into(),
        remote: true,
        up,
        error: None,
        down_since: None,
        filesystems: vec![],
        load_per_cpu: None,
        memory_used_ratio: None,
        snapshots: vec![
            job("fresh", Some(now - hour), false),
            job("late", Some(now - 27.0 * hour), false),
            job("gone", Some(now - 51.0 * hour), true),
            job("never", None, true),
        ],
    };
    let obs = |up| Observed {
        hosts: vec![host(up)],
        ..Default::default()
    };
    let out = evaluate(&RulesConfig::default(), &obs(true), now);
    assert!(is_clear(&out, "snapshot_stale/h/fresh"));
    assert!(is_clear(&out, "snapshot_failed/h/fresh"));
    assert_eq!(
        severity(&out, "snapshot_stale/h/late"),
        Some(Severity::Warning)
    );
    assert_eq!(
        severity(&out, "snapshot_stale/h/gone"),
        Some(Severity::Critical)
    );
    assert_eq!(
        severity(&out, "snapshot_failed/h/gone"),
        Some(Severity::Warning)
    );
    let Some(Outcome::Firing(c)) = find(&out, "snapshot_failed/h/never") else {
        panic!("{out:#?}")
    };
    assert_eq!(c.chain.as_deref(), Some("c-1"), "routed by its chain");
    assert!(c.summary.contains("never succeeded"), "{}", c.summary);
    assert!(
        find(&out, "snapshot_stale/h/never").is_none(),
        "no success to judge"
    );
    let Some(Outcome::Firing(c)) = find(&out, "snapshot_stale/h/late") else {
        panic!()
    };
    assert!(
        c.summary
            .starts_with("snapshot job late (c-1) on h: its newest snapshot is 1day 3h old"),
        "{}",
        c.summary
    );
    // A host whose exporter does not answer says nothing about its jobs.
    let out = evaluate(&RulesConfig::default(), &obs(false), now);
    assert!(
        !out.iter().any(|o| format!("{o:?}").contains("snapshot_")),
        "{out:#?}"
    );
}

#[test]
fn rpc_nodes_slow_or_serving_too_little_history() {
    use crate::config::History;
    let rpc = |name: &str, latency: f64, earliest: u64, history| NodeState {
        role: Role::Rpc,
        latency_seconds: Some(latency),
        earliest_height: Some(earliest),
        history: Some(history),
        ..node(name, Some(100_000), Some(10))
    };
    let obs = Observed {
        chains: vec![chain(0)],
        nodes: vec![
            rpc("fast-archive", 0.1, 1, History::Archive),
            rpc("pruned-archive", 0.1, 90_001, History::Archive),
            rpc("slow", 3.0, 1, History::Blocks(1000)),
            rpc("short", 0.1, 99_500, History::Blocks(1000)),
            rpc("enough", 0.1, 99_001, History::Blocks(1000)),
        ],
        ..Default::default()
    };
    let out = evaluate(&RulesConfig::default(), &obs, 1001.0);
    assert!(is_clear(&out, "rpc_slow/fast-archive"));
    assert_eq!(severity(&out, "rpc_slow/slow"), Some(Severity::Warning));
    assert!(is_clear(&out, "rpc_history/fast-archive"));
    assert!(is_clear(&out, "rpc_history/enough"));
    assert_eq!(severity(&out, "rpc_history/short"), Some(Severity::Warning));
    let Some(Outcome::Firing(c)) = find(&out, "rpc_history/pruned-archive") else {
        panic!("{out:#?}")
    };
    assert!(
        c.summary.starts_with("pruned-archive (rpc, c-1) serves blocks from height 90001 only (10000 blocks) but should serve every block (archive)"),
        "{}",
        c.summary
    );
    assert_eq!(c.hold, std::time::Duration::from_secs(60));
}

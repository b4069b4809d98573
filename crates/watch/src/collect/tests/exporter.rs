//! node_exporter parsing and the disk-fill prediction.

use crate::collect::exporter::{host_metrics, parse, FillHistory};

const SCRAPE: &str = r#"# HELP node_filesystem_avail_bytes Filesystem space available to non-root users in bytes.
# TYPE node_filesystem_avail_bytes gauge
node_filesystem_avail_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 2.5e+10
node_filesystem_avail_bytes{device="/dev/sdb1",fstype="xfs",mountpoint="/var/lib/cosmos"} 1e+11
node_filesystem_avail_bytes{device="tmpfs",fstype="tmpfs",mountpoint="/run"} 1e+09
node_filesystem_size_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 1e+11
node_filesystem_size_bytes{device="/dev/sdb1",fstype="xfs",mountpoint="/var/lib/cosmos"} 1e+12
node_filesystem_size_bytes{device="tmpfs",fstype="tmpfs",mountpoint="/run"} 2e+09
# TYPE node_load1 gauge
node_load1 3
node_cpu_seconds_total{cpu="0",mode="idle"} 100.5
node_cpu_seconds_total{cpu="0",mode="user"} 10
node_cpu_seconds_total{cpu="1",mode="idle"} 99
node_memory_MemTotal_bytes 1.6e+10
node_memory_MemAvailable_bytes 4e+09
weird_label{a="x\"}y",b="z\\"} 7
broken line without value
"#;

#[test]
fn parses_samples_with_labels_and_escapes() {
    let s = parse(SCRAPE);
    assert_eq!(s.len(), 13, "{s:#?}");
    let w = s.iter().find(|s| s.name == "weird_label").unwrap();
    assert_eq!(w.labels["a"], "x\"}y");
    assert_eq!(w.labels["b"], "z\\");
    assert_eq!(w.value, 7.0);
}

#[test]
fn host_metrics_from_a_scrape() {
    let m = host_metrics(&parse(SCRAPE), &[]);
    let mounts: Vec<_> = m
        .filesystems
        .iter()
        .map(|f| f.mountpoint.as_str())
        .collect();
    assert_eq!(mounts, ["/", "/var/lib/cosmos"], "tmpfs is skipped");
    assert_eq!(m.filesystems[0].size_bytes, 1e11);
    assert_eq!(m.filesystems[0].avail_bytes, 2.5e10);
    assert_eq!(m.load1, Some(3.0));
    assert_eq!(m.cpus, 2);
    assert_eq!(m.memory_used_ratio, Some(0.75));
    let only = host_metrics(&parse(SCRAPE), &["/run".to_string()]);
    assert_eq!(only.filesystems.len(), 1);
    assert_eq!(only.filesystems[0].mountpoint, "/run");
}

#[test]
fn snapshot_jobs_from_the_textfile_metrics() {
    let text = format!(
        "{SCRAPE}\n# HELP bulwark_snapshot_last_success_timestamp_seconds x\n\
         bulwark_snapshot_last_success_timestamp_seconds{{job=\"hub\",chain=\"cosmoshub-4\"}} 100\n\
         bulwark_snapshot_last_attempt_timestamp_seconds{{job=\"hub\",chain=\"cosmoshub-4\"}} 200\n\
         bulwark_snapshot_last_attempt_failed{{job=\"hub\",chain=\"cosmoshub-4\"}} 1\n\
         bulwark_snapshot_successes_total{{job=\"new\",chain=\"\"}} 0\n\
         node_textfile_mtime_seconds{{file=\"bulwark_snapshot.prom\"}} 1.7e9\n"
    );
    let m = host_metrics(&parse(&text), &[]);
    assert_eq!(
        m.snapshots,
        [
            crate::state::SnapshotJobState {
                job: "hub".into(),
                chain: Some("cosmoshub-4".into()),
                last_success: Some(100.0),
                last_attempt: Some(200.0),
                last_failed: true,
            },
            crate::state::SnapshotJobState {
                job: "new".into(),
                chain: None,
                last_success: None,
                last_attempt: None,
                last_failed: false,
            },
        ]
    );
    assert!(host_metrics(&parse(SCRAPE), &[]).snapshots.is_empty());
}

#[test]
fn disk_fill_prediction_is_a_linear_fit() {
    let mut h = FillHistory::default();
    assert_eq!(h.seconds_until_full(0.0), None);
    // 1000 bytes free, losing 10 bytes a second.
    for t in 0..10 {
        h.push(t as f64, 1000.0 - 10.0 * t as f64, 3600.0);
    }
    let left = h.seconds_until_full(0.0).unwrap();
    assert!((left - 91.0).abs() < 1e-6, "{left}");
    // Noise around the same line gives about the same answer.
    let mut n = FillHistory::default();
    for t in 0..10 {
        let noise = if t % 2 == 0 { 3.0 } else { -3.0 };
        n.push(t as f64, 1000.0 - 10.0 * t as f64 + noise, 3600.0);
    }
    let left = n.seconds_until_full(0.0).unwrap();
    assert!((left - 91.0).abs() < 2.0, "{left}");
    // Flat or growing free space: no prediction.
    let mut f = FillHistory::default();
    for t in 0..5 {
        f.push(t as f64, 500.0 + t as f64, 3600.0);
    }
    assert_eq!(f.seconds_until_full(0.0), None);
    // Old samples leave the window.
    let mut w = FillHistory::default();
    w.push(0.0, 0.0, 10.0);
    for t in 100..105 {
        w.push(t as f64, 2000.0 - (t - 100) as f64 * 100.0, 10.0);
    }
    let left = w.seconds_until_full(0.0).unwrap();
    assert!((left - 16.0).abs() < 1e-6, "{left}");
    // Samples over too short a span predict nothing, however steep the line.
    let mut s = FillHistory::default();
    for t in 0..30 {
        s.push(t as f64, 1e6 - 1e4 * t as f64, 3600.0);
    }
    assert_eq!(s.seconds_until_full(900.0), None);
    assert!(s.seconds_until_full(29.0).is_some());
}

#[test]
fn nan_and_infinite_readings_are_ignored_not_taken_as_a_full_disk() {
    let text = "\
node_filesystem_size_bytes{mountpoint=\"/\",fstype=\"ext4\"} 1000
node_filesystem_avail_bytes{mountpoint=\"/\",fstype=\"ext4\"} NaN
node_filesystem_size_bytes{mountpoint=\"/data\",fstype=\"ext4\"} +Inf
node_filesystem_avail_bytes{mountpoint=\"/data\",fstype=\"ext4\"} 10
node_memory_MemTotal_bytes NaN
node_memory_MemAvailable_bytes 5
";
    let m = host_metrics(&parse(text), &[]);
    assert!(m.filesystems.is_empty(), "{:?}", m.filesystems);
    assert_eq!(m.memory_used_ratio, None);

    let mut h = FillHistory::default();
    for (t, avail) in [(0.0, 100.0), (1.0, f64::NAN), (2.0, 90.0)] {
        h.push(t, avail, 3600.0);
    }
    assert_eq!(h.seconds_until_full(0.0), None);
}

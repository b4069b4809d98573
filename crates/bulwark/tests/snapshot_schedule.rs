//! `bulwark snapshot run`: a devnet node snapshotted on a schedule, pruned to its
//! retention after each snapshot, its last results in the status file.

mod common;

use common::*;
use serde_json::Value;
use snapshot::schedule::{Config, Job};
use std::time::{Duration, Instant};
use testkit::snapshot::store_snapshots;

#[test]
fn scheduled_snapshots_keep_the_retention_and_report_their_status() {
    let net = bulwark().devnet();
    net.up(&["--validators", "1", "--signer", "file"]);
    net.wait_status("height 3", Duration::from_secs(90), |s| best_height(s) >= 3);
    let tmp = net.tmp.path();
    let store = tmp.join("store");
    let status_file = tmp.join("status.json");
    let config = Config {
        status_file: Some(status_file.clone()),
        jobs: vec![Job {
            name: "sentry".into(),
            store: store.to_str().unwrap().into(),
            credentials: None,
            every: Duration::from_secs(2),
            keep_last: 2,
            keep_daily: 0,
            home: None,
            stop_cmd: None,
            start_cmd: None,
            devnet: Some(net.dir.clone()),
            node: Some("sentry0".into()),
            rpc: None,
            jobs: 4,
            max_rate: None,
        }],
    };
    let path = tmp.join("snapshot.toml");
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
    let mut daemon = bulwark().daemon(
        &[
            "--log-level",
            "info",
            "snapshot",
            "run",
            "--config",
            path.to_str().unwrap(),
        ],
        &tmp.join("run.log"),
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        let s: Option<Value> = std::fs::read(&status_file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        if let Some(s) = s.filter(|s| s["sentry"]["successes"].as_u64() >= Some(3)) {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "no three snapshots; log:\n{}",
            daemon.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(status["sentry"]["last_error"].is_null(), "{status:#}");
    assert_eq!(status["sentry"]["failures"], 0, "{status:#}");
    let last = status["sentry"]["last_snapshot"].as_str().unwrap();
    let kept = store_snapshots(&store);
    assert!(
        kept.len() <= 2 && kept.iter().any(|k| k == last),
        "{kept:?} {status:#}"
    );
    assert_eq!(daemon.terminate(), Some(0), "{}", daemon.log_text());
    // The node it paused runs on.
    net.wait_status("sentry0 running", Duration::from_secs(30), |s| {
        node(s, "sentry0")["height"].as_u64().is_some()
    });

    // A schedule with problems names all of them and exits 2.
    std::fs::write(
        &path,
        "[[job]]\nname = \"x\"\nstore = \"ftp://nowhere\"\nevery = \"1h\"\n",
    )
    .unwrap();
    let out = bulwark().run(&["snapshot", "run", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = text(&out);
    assert!(
        err.contains("unknown scheme") && err.contains("keep_last") && err.contains("how to pause"),
        "{err}"
    );
}

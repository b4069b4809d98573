//! `bulwark snapshot run`: a devnet node snapshotted on a schedule, pruned to its
//! retention after each snapshot, its last results in the status file and in a metrics
//! file that a real node_exporter serves (textfile collector) to a `bulwark watch`,
//! which alerts when the newest snapshot is too old or the last attempt failed.

mod common;

use common::*;
use serde_json::Value;
use snapshot::schedule::{Config, Job};
use std::time::{Duration, Instant};
use testkit::snapshot::store_snapshots;
use watch::config::{DurationRule, HostConfig};

#[test]
fn scheduled_snapshots_keep_the_retention_and_report_their_status() {
    let net = bulwark().devnet();
    net.up(&["--validators", "1", "--signer", "file"]);
    net.wait_status("height 3", Duration::from_secs(90), |s| best_height(s) >= 3);
    let tmp = net.tmp.path();
    let store = tmp.join("store");
    let status_file = tmp.join("status.json");
    let textfiles = tmp.join("textfile");
    std::fs::create_dir_all(&textfiles).unwrap();
    let ne_port = free_port();
    let _ne = spawn(
        "/usr/bin/prometheus-node-exporter",
        &[
            format!("--web.listen-address=127.0.0.1:{ne_port}"),
            format!("--collector.textfile.directory={}", textfiles.display()),
        ],
    );
    let watch_port = free_port();
    let mut w = watch::Config::new(tmp.join("watch.sqlite"));
    w.listen = ([127, 0, 0, 1], watch_port).into();
    w.poll_interval = Duration::from_millis(300);
    w.hosts.push(HostConfig {
        name: "snap-host".into(),
        node_exporter: Some(format!("http://127.0.0.1:{ne_port}/metrics")),
        mountpoints: vec!["/".into()],
        rules: Default::default(),
        labels: Default::default(),
    });
    w.rules.snapshot_stale = DurationRule {
        warning: Duration::from_secs(10),
        critical: Duration::from_secs(3600),
    };
    let wcfg = tmp.join("watch.toml");
    std::fs::write(&wcfg, w.to_toml().unwrap()).unwrap();
    let watch = bulwark().daemon(
        &["watch", "run", "--config", wcfg.to_str().unwrap()],
        &tmp.join("watch.log"),
    );
    let job = |s: &Value| s["hosts"][0]["snapshots"][0].clone();
    let firing = |s: &Value, key: &str| {
        s["alerts"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["key"] == key))
    };
    let config = Config {
        status_file: Some(status_file.clone()),
        metrics_file: Some(textfiles.join("bulwark_snapshot.prom")),
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
            freeze: false,
            pid_cmd: None,
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
    // The watch reads the job through node_exporter, with the chain it snapshots.
    let chain = net.status()["chain_id"].as_str().unwrap().to_string();
    let s = wait_api(watch_port, "the snapshot job seen", &watch, |s| {
        job(s)["last_success"].as_f64().is_some()
    });
    assert_eq!(job(&s)["job"], "sentry", "{s:#}");
    assert_eq!(job(&s)["chain"], chain.as_str(), "{s:#}");
    assert_eq!(job(&s)["last_failed"], false, "{s:#}");
    assert_eq!(daemon.terminate(), Some(0), "{}", daemon.log_text());
    // The node it paused runs on.
    net.wait_status("sentry0 running", Duration::from_secs(30), |s| {
        node(s, "sentry0")["height"].as_u64().is_some()
    });
    // No snapshot for longer than the warning level: the watch says so.
    let s = wait_api(watch_port, "snapshot_stale", &watch, |s| {
        firing(s, "snapshot_stale/snap-host/sentry")
    });
    let alert = s["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == "snapshot_stale/snap-host/sentry")
        .unwrap()
        .clone();
    assert_eq!(alert["chain"], chain.as_str(), "{alert:#}");
    assert!(!firing(&s, "snapshot_failed/snap-host/sentry"), "{s:#}");

    // Restarted while its node is down: the attempt fails, the watch says so, and the
    // status file still knows the last success from before the restart.
    let before: Value = serde_json::from_slice(&std::fs::read(&status_file).unwrap()).unwrap();
    assert!(net.cmd("stop", &["sentry0"]).status.success());
    let mut daemon = bulwark().daemon(
        &["snapshot", "run", "--config", path.to_str().unwrap()],
        &tmp.join("run2.log"),
    );
    wait_api(watch_port, "snapshot_failed", &watch, |s| {
        firing(s, "snapshot_failed/snap-host/sentry")
    });
    let after: Value = serde_json::from_slice(&std::fs::read(&status_file).unwrap()).unwrap();
    assert_eq!(
        after["sentry"]["last_success_unix"], before["sentry"]["last_success_unix"],
        "{after:#}"
    );
    assert_eq!(after["sentry"]["successes"], before["sentry"]["successes"]);
    assert!(after["sentry"]["last_error"].is_string(), "{after:#}");
    assert_eq!(daemon.terminate(), Some(0), "{}", daemon.log_text());
    net.up(&[]);

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

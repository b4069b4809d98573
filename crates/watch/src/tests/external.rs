//! Against real Prometheus tools from Debian (`scripts/install-deps` installs them):
//! Alertmanager receives and resolves an alert, node_exporter is scraped, and
//! `promtool check metrics` accepts `/metrics`.

use crate::config::{ChannelConfig, HostConfig, RouteConfig};
use crate::engine::alert::Engine;
use crate::engine::store::Store;
use crate::notify::dispatch::{Dispatcher, Sender};
use crate::rules::{Condition, Outcome};
use crate::serve::metrics::Metrics;
use crate::Severity;
use prometheus_client::registry::Registry;
use serde_json::Value;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::port::free_port;
use testkit::process::{tool, Proc};

const INSTALL: &str = "run scripts/install-deps (Debian packages prometheus-alertmanager, prometheus-node-exporter, prometheus)";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn get_until(url: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    loop {
        if let Ok(r) = reqwest::get(url).await {
            if r.status().is_success() {
                last = r.text().await.unwrap_or_default();
                if pred(&last) {
                    return last;
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; last body: {last}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn alertmanager_receives_and_resolves_an_alert() {
    let bin = tool("/usr/bin/prometheus-alertmanager", INSTALL);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("am.yml");
    std::fs::write(
        &cfg,
        "route:\n  receiver: none\nreceivers:\n  - name: none\n",
    )
    .unwrap();
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("am.log")).unwrap();
    let _am = Proc(
        Command::new(bin)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let am = format!("http://127.0.0.1:{port}");
    let db = dir.path().join("w.sqlite");
    let routes = vec![RouteConfig {
        channels: vec!["am".into()],
        min_severity: Severity::Warning,
        ..RouteConfig::new(&[], Severity::Warning)
    }];
    let mut engine = Engine::new(
        Store::open(&db).unwrap(),
        crate::engine::routing::Routing::of_routes(routes.clone(), Duration::from_secs(600)),
    )
    .unwrap();
    let mut reg = Registry::default();
    let mut d = Dispatcher {
        store: Store::open(&db).unwrap(),
        channels: [(
            "am".to_string(),
            ChannelConfig::Alertmanager {
                name: "am".into(),
                url: am.clone(),
                resend_interval: Duration::from_secs(60),
            },
        )]
        .into(),
        routes,
        sender: Sender {
            http: reqwest::Client::new(),
            timeout: Duration::from_secs(5),
            generator_url: "http://127.0.0.1:9750/api/status".into(),
            tls: Default::default(),
        },
        metrics: Arc::new(Metrics::register(&mut reg)),
        shared: Arc::new(crate::serve::http::Shared::new(
            Registry::default(),
            tokio::sync::mpsc::channel(1).0,
        )),
    };
    let cond = Outcome::Firing(Condition {
        key: "missed_in_a_row/c-1".into(),
        rule: "missed_in_a_row",
        severity: Severity::Warning,
        chain: Some("c-1".into()),
        node: None,
        host: None,
        summary: "c-1: our validator AABBCCDD missed 3 blocks in a row".into(),
        hold: Duration::ZERO,
    });
    rt().block_on(async {
        get_until(&format!("{am}/-/ready"), "Alertmanager ready", |_| true).await;
        engine.apply(vec![cond], crate::state::now()).unwrap();
        d.deliver_due().await.unwrap();
        assert_eq!(d.store.queued().unwrap(), 0, "delivered");
        let body = get_until(
            &format!("{am}/api/v2/alerts"),
            "the alert in Alertmanager",
            |b| b.contains("missed_in_a_row/c-1"),
        )
        .await;
        let alerts: Vec<Value> = serde_json::from_str(&body).unwrap();
        assert_eq!(alerts.len(), 1, "{body}");
        let a = &alerts[0];
        assert_eq!(a["labels"]["alertname"], "missed_in_a_row");
        assert_eq!(a["labels"]["severity"], "warning");
        assert_eq!(a["labels"]["chain"], "c-1");
        assert_eq!(a["labels"]["source"], "bulwark-watch");
        assert_eq!(
            a["annotations"]["summary"],
            "c-1: our validator AABBCCDD missed 3 blocks in a row"
        );
        assert_eq!(a["status"]["state"], "active");
        assert_eq!(a["generatorURL"], "http://127.0.0.1:9750/api/status");
        // Resolve: endsAt is set and Alertmanager stops listing it as active.
        engine
            .apply(
                vec![Outcome::Clear("missed_in_a_row/c-1".into())],
                crate::state::now(),
            )
            .unwrap();
        d.deliver_due().await.unwrap();
        assert_eq!(d.store.queued().unwrap(), 0);
        get_until(
            &format!("{am}/api/v2/alerts?active=true"),
            "the alert resolved",
            |b| serde_json::from_str::<Vec<Value>>(b).is_ok_and(|v| v.is_empty()),
        )
        .await;
    });
}

#[test]
fn node_exporter_is_scraped_and_the_local_host_read_agrees() {
    let bin = tool("/usr/bin/prometheus-node-exporter", INSTALL);
    let port = free_port();
    let _ne = Proc(
        Command::new(bin)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let cfg = HostConfig {
        name: "local".into(),
        node_exporter: Some(format!("http://127.0.0.1:{port}/metrics")),
        mountpoints: vec!["/".into()],
        rules: Default::default(),
        labels: Default::default(),
    };
    let mut c = crate::collect::nodes::HostCollector::new(
        cfg,
        reqwest::Client::new(),
        Duration::from_secs(5),
        Duration::from_secs(3600),
    );
    rt().block_on(async {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            c.poll(crate::state::now()).await;
            if c.state.up {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "node_exporter never answered: {:?}",
                c.state.error
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let s = &c.state;
    assert_eq!(s.filesystems.len(), 1, "{s:#?}");
    assert_eq!(s.filesystems[0].mountpoint, "/");
    assert!(
        s.filesystems[0].size_bytes > 0.0 && (0.0..=1.0).contains(&s.filesystems[0].used_ratio),
        "{s:#?}"
    );
    assert!(s.load_per_cpu.is_some_and(|l| l >= 0.0), "{s:#?}");
    assert!(
        s.memory_used_ratio.is_some_and(|m| m > 0.0 && m < 1.0),
        "{s:#?}"
    );

    // Without an exporter the watch reads its own host, and agrees with node_exporter.
    let local = |mountpoints: Vec<String>| {
        let cfg = HostConfig {
            name: "self".into(),
            node_exporter: None,
            mountpoints,
            rules: Default::default(),
            labels: Default::default(),
        };
        let mut c = crate::collect::nodes::HostCollector::new(
            cfg,
            reqwest::Client::new(),
            Duration::from_secs(5),
            Duration::from_secs(3600),
        );
        rt().block_on(c.poll(crate::state::now()));
        c.state
    };
    let l = local(vec!["/".into()]);
    assert!(l.up && l.error.is_none(), "{l:#?}");
    assert_eq!(l.filesystems.len(), 1, "{l:#?}");
    let (ours, theirs) = (&l.filesystems[0], &s.filesystems[0]);
    assert_eq!(ours.size_bytes, theirs.size_bytes, "{l:#?}\n{s:#?}");
    assert!(
        (ours.avail_bytes - theirs.avail_bytes).abs() < 256.0 * 1024.0 * 1024.0,
        "{l:#?}\n{s:#?}"
    );
    let (m1, m2) = (l.memory_used_ratio.unwrap(), s.memory_used_ratio.unwrap());
    assert!((m1 - m2).abs() < 0.05, "memory {m1} vs {m2}");
    let (l1, l2) = (l.load_per_cpu.unwrap(), s.load_per_cpu.unwrap());
    assert!((l1 - l2).abs() < 1.0, "load per CPU {l1} vs {l2}");

    // Every real filesystem when none is named: "/" is one, pseudo ones are not.
    let all = local(vec![]);
    assert!(
        all.filesystems.iter().any(|f| f.mountpoint == "/"),
        "{all:#?}"
    );
    assert!(
        !all.filesystems
            .iter()
            .any(|f| f.mountpoint == "/proc" || f.mountpoint.starts_with("/sys")),
        "{all:#?}"
    );

    // A mount point that is not there: the host is down, and the error says why.
    let missing = local(vec!["/no/such/mount".into()]);
    assert!(!missing.up, "{missing:#?}");
    assert_eq!(
        missing.error.as_deref(),
        Some("mount point \"/no/such/mount\" is not mounted on this host (see /proc/self/mounts)")
    );
}

#[test]
fn local_host_files_parse() {
    use crate::collect::localhost::{count_cpus, parse_loadavg, parse_meminfo, parse_mounts};
    assert_eq!(parse_loadavg("0.52 0.48 0.40 2/345 12345\n"), Some(0.52));
    assert_eq!(parse_loadavg("garbage"), None);
    assert_eq!(
        count_cpus("cpu  1 2 3\ncpu0 1 2 3\ncpu1 4 5 6\nintr 9\n"),
        2
    );
    assert_eq!(
        parse_meminfo("MemTotal:       1000 kB\nMemFree:   10 kB\nMemAvailable:    250 kB\n"),
        Some(0.75)
    );
    assert_eq!(parse_meminfo("MemTotal: 0 kB\nMemAvailable: 0 kB\n"), None);
    assert_eq!(
        parse_mounts("/dev/vda / ext4 rw 0 0\n/dev/vdb /mnt/my\\040disk xfs rw 0 0\n"),
        vec![
            ("/".to_string(), "ext4".to_string()),
            ("/mnt/my disk".to_string(), "xfs".to_string())
        ]
    );
}

#[test]
fn promtool_accepts_the_metrics() {
    let bin = tool("/usr/bin/promtool", INSTALL);
    let mut reg = Registry::default();
    let m = Metrics::register(&mut reg);
    let obs = crate::state::Observed {
        chains: vec![crate::state::ChainState {
            height: Some(10),
            height_seen_at: Some(1.0),
            height_observed_at: Some(1.0),
            checked_height: Some(9),
            missed_in_a_row: 1,
            signed_total: 8,
            missed_total: 1,
            ..crate::state::ChainState::new("c-1", Some("AA".into()), vec![])
        }],
        ..Default::default()
    };
    m.update(&obs, std::iter::empty(), 2.0);
    m.notification("hook", true);
    let text = crate::serve::metrics::render(&reg);
    let mut p = Command::new(bin)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    p.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = p.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("bulwark_watch_validator_missed_blocks_total{chain=\"c-1\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("bulwark_watch_alerts_firing{severity=\"critical\"} 0"),
        "{text}"
    );
}

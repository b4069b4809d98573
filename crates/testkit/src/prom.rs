//! Prometheus: a real Alertmanager, `promtool`, and reading a text exposition.

use crate::http::http_body;
use crate::port::free_port;
use crate::process::{spawn, text, tool, Proc};
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A real Alertmanager on loopback keeping its data in `dir`, and its URL, once it
/// says it is ready.
pub fn alertmanager(dir: &Path) -> (Proc, String) {
    std::fs::create_dir_all(dir).unwrap();
    let cfg = dir.join("am.yml");
    std::fs::write(
        &cfg,
        "route:\n  receiver: none\nreceivers:\n  - name: none\n",
    )
    .unwrap();
    start_alertmanager(dir, &cfg, &["--cluster.listen-address=".into()])
}

/// `n` real Alertmanagers gossiping as one cluster on loopback (the second and later
/// join the first), each sending what it decides to `webhook` (resolves too), every
/// alert in a group of its own with short waits; their URLs, once the cluster has
/// formed.
pub fn alertmanager_cluster(dir: &Path, n: usize, webhook: &str) -> Vec<(Proc, String)> {
    std::fs::create_dir_all(dir).unwrap();
    let cfg = dir.join("am.yml");
    std::fs::write(
        &cfg,
        format!(
            "route:\n  receiver: hook\n  group_by: ['alert_key']\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: {webhook}\n        send_resolved: true\n"
        ),
    )
    .unwrap();
    let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
    let mut out = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        let mut args = vec![
            format!("--cluster.listen-address=127.0.0.1:{p}"),
            format!("--cluster.advertise-address=127.0.0.1:{p}"),
            "--cluster.peer-timeout=3s".into(),
            "--cluster.gossip-interval=100ms".into(),
            "--cluster.pushpull-interval=1s".into(),
        ];
        if i > 0 {
            args.push(format!("--cluster.peer=127.0.0.1:{}", ports[0]));
        }
        out.push(start_alertmanager(&dir.join(format!("am{i}")), &cfg, &args));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for (_, url) in &out {
        loop {
            let status = http_body(&format!("{url}/api/v2/status"));
            let peers = serde_json::from_str::<serde_json::Value>(&status)
                .ok()
                .and_then(|v| v["cluster"]["peers"].as_array().map(Vec::len));
            if peers == Some(n) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the Alertmanager cluster did not form: {status}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    out
}

fn start_alertmanager(dir: &Path, cfg: &Path, cluster: &[String]) -> (Proc, String) {
    let port = free_port();
    std::fs::create_dir_all(dir).unwrap();
    let mut args = vec![
        format!("--config.file={}", cfg.display()),
        format!("--storage.path={}", dir.join("data").display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
    ];
    args.extend_from_slice(cluster);
    let p = spawn("/usr/bin/prometheus-alertmanager", &args);
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err()
        || !http_body(&format!("{url}/-/ready")).contains("OK")
    {
        assert!(Instant::now() < deadline, "Alertmanager did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    (p, url)
}

/// Run Debian's `promtool` (package `prometheus`) with `args`, and `stdin` as its input:
/// (success, stdout and stderr).
pub fn promtool(args: &[&str], stdin: &[u8]) -> (bool, String) {
    let bin = tool("/usr/bin/promtool", "run scripts/install-deps");
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let o = child.wait_with_output().unwrap();
    (o.status.success(), text(&o))
}

/// The value of one sample in a text exposition (`name{labels}` exactly as rendered).
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// The value of `series` in the exposition served at `url`, if it answers and has it.
pub fn scraped(url: &str, series: &str) -> Option<f64> {
    crate::http::get(url).and_then(|(_, body)| sample(&body, series))
}

/// Wait (up to a minute) until `ok` holds for `series` at `url`; on failure, the log of
/// `daemon`, the process serving it.
pub fn wait_scraped(
    url: &str,
    series: &str,
    daemon: &crate::process::Daemon,
    ok: impl Fn(Option<f64>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ok(scraped(url, series)) {
        assert!(
            Instant::now() < deadline,
            "{series} never reached what was waited for (last {:?}); log:\n{}",
            scraped(url, series),
            daemon.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

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
    let port = free_port();
    std::fs::create_dir_all(dir).unwrap();
    let cfg = dir.join("am.yml");
    std::fs::write(
        &cfg,
        "route:\n  receiver: none\nreceivers:\n  - name: none\n",
    )
    .unwrap();
    let p = spawn(
        "/usr/bin/prometheus-alertmanager",
        &[
            format!("--config.file={}", cfg.display()),
            format!("--storage.path={}", dir.join("data").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--cluster.listen-address=".into(),
        ],
    );
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

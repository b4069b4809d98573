//! Helpers for end-to-end tests that run the real `bulwark` binary against real CometBFT.

#![allow(dead_code)]

pub mod node;
pub mod sdk;
pub mod trickle;
pub mod votes;

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The `bulwark` binary under test.
pub fn bulwark() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bulwark"));
    c.env_remove("BULWARK_DEVNET_DIR");
    c
}

/// Run `bulwark` with `args` and return its output.
pub fn run(args: &[&str]) -> Output {
    bulwark().args(args).output().expect("bulwark runs")
}

/// Stdout and stderr of an output, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Assert success and parse stdout as JSON.
pub fn json(o: &Output) -> Value {
    assert!(o.status.success(), "{}", text(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(o)))
}

/// A devnet in a temp directory, destroyed (processes stopped) when dropped.
pub struct Devnet {
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
}

impl Devnet {
    /// A devnet directory that does not exist yet.
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("devnet");
        Self { tmp, dir }
    }

    pub fn dir_str(&self) -> &str {
        self.dir.to_str().expect("utf-8 path")
    }

    /// `bulwark devnet VERB --dir DIR ARGS...`
    pub fn cmd(&self, verb: &str, args: &[&str]) -> Output {
        let mut all = vec!["devnet", verb, "--dir", self.dir_str()];
        all.extend_from_slice(args);
        run(&all)
    }

    /// `up` with `args`; panics on failure.
    pub fn up(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        json(&self.cmd("up", &all))
    }

    pub fn status(&self) -> Value {
        json(&self.cmd("status", &["--json"]))
    }

    /// Poll `status` until `pred` holds, or panic at the deadline with the last status.
    pub fn wait_status(&self, what: &str, limit: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let s = self.status();
            if pred(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; last status:\n{s:#}");
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.cmd("down", &[]);
    }
}

/// Highest height any node reports.
pub fn best_height(status: &Value) -> u64 {
    nodes(status)
        .iter()
        .filter_map(|n| n["height"].as_u64())
        .max()
        .unwrap_or(0)
}

/// The nodes of a status.
pub fn nodes(status: &Value) -> Vec<Value> {
    status["nodes"].as_array().cloned().unwrap_or_default()
}

/// The node called `name`.
pub fn node(status: &Value, name: &str) -> Value {
    nodes(status)
        .into_iter()
        .find(|n| n["name"] == name)
        .unwrap_or_else(|| panic!("no node {name} in {status:#}"))
}

/// Pids of processes whose command line mentions `path`.
pub fn processes_under(path: &Path) -> Vec<u32> {
    let needle = path.to_string_lossy().into_owned();
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let zombie = stat
                .rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('Z'));
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            !zombie && String::from_utf8_lossy(&cmd).contains(&needle)
        })
        .collect()
}

/// Plain HTTP GET of a CometBFT RPC path; returns the `result` object.
pub fn rpc_get(base: &str, path: &str) -> Value {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET /{path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: {e}: {resp}"));
    v["result"].clone()
}

/// kvstore size over RPC (`/abci_info` data is `{"size":N}`).
pub fn kvstore_size(rpc_url: &str) -> u64 {
    let info = rpc_get(rpc_url, "abci_info");
    let data = info["response"]["data"].as_str().unwrap_or("{}");
    let v: Value = serde_json::from_str(data).unwrap_or_default();
    v["size"]
        .as_u64()
        .unwrap_or_else(|| panic!("no size in abci_info: {info}"))
}

/// Signers of the canonical commit some node reports, if at least `min_height`.
pub fn commit_signers(status: &Value, min_height: u64) -> Option<(u64, Vec<String>)> {
    nodes(status)
        .iter()
        .filter_map(|n| {
            let h = n["last_commit"]["height"].as_u64()?;
            let signed = n["last_commit"]["signed"]
                .as_array()?
                .iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect();
            (h >= min_height).then_some((h, signed))
        })
        .max_by_key(|(h, _)| *h)
}

/// Which of `from..=to` have `validator`'s signature in their canonical commit, and
/// whether any block carries evidence (read from each block over RPC).
pub struct ChainScan {
    pub signed: Vec<u64>,
    pub missed: Vec<u64>,
    pub evidence: Vec<(u64, Value)>,
}

pub fn scan_chain(rpc: &str, address: &str, from: u64, to: u64) -> ChainScan {
    let mut scan = ChainScan {
        signed: vec![],
        missed: vec![],
        evidence: vec![],
    };
    for h in from..=to {
        let block = rpc_get(rpc, &format!("block?height={}", h + 1));
        let ev = &block["block"]["evidence"]["evidence"];
        if ev.as_array().is_some_and(|a| !a.is_empty()) {
            scan.evidence.push((h + 1, ev.clone()));
        }
        let sigs = block["block"]["last_commit"]["signatures"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let ours = sigs.iter().any(|s| {
            s["validator_address"]
                .as_str()
                .is_some_and(|a| a.eq_ignore_ascii_case(address))
                && s["block_id_flag"].as_u64() == Some(2)
        });
        if ours {
            scan.signed.push(h);
        } else {
            scan.missed.push(h);
        }
    }
    scan
}

/// Address of a genesis validator from a status.
pub fn validator_address(status: &Value, name: &str) -> String {
    status["validators"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["name"] == name))
        .and_then(|v| v["address"].as_str())
        .unwrap_or_else(|| panic!("no validator {name}"))
        .to_string()
}

/// Plain HTTP GET returning the body.
pub fn http_body(url: &str) -> String {
    let rest = url.trim_start_matches("http://");
    let (addr, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET /{path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    resp.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

/// `bulwark signer state init --chain-id CHAIN --height H --state PATH`; panics on failure.
pub fn state_init(chain: &str, height: i64, path: &Path) {
    let o = run(&[
        "signer",
        "state",
        "init",
        "--chain-id",
        chain,
        "--height",
        &height.to_string(),
        "--state",
        path.to_str().expect("utf-8 path"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
}

/// `bulwark signer state show --json --state PATH`.
pub fn state_show(path: &Path) -> Value {
    json(&run(&[
        "signer",
        "state",
        "show",
        "--json",
        "--state",
        path.to_str().expect("utf-8 path"),
    ]))
}

// ---------------------------------------------------------------------------
// Watch: a local HTTP receiver for notifications, and a child `bulwark` daemon.

/// A helper process (Alertmanager, node_exporter), killed when dropped.
pub struct Proc(std::process::Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tool(path: &str) -> &str {
    assert!(
        std::path::Path::new(path).exists(),
        "{path} is missing: run scripts/install-deps"
    );
    path
}

/// Start `bin` (a Debian tool installed by scripts/install-deps) with `args`.
pub fn spawn(bin: &str, args: &[String]) -> Proc {
    Proc(
        std::process::Command::new(tool(bin))
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{bin}: {e}")),
    )
}

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

/// A local HTTP server that answers every request with `status` and `body`, and
/// records each request's body (e.g. a webhook receiver, or an RPC returning garbage).
pub struct HttpStub {
    pub url: String,
    pub bodies: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl HttpStub {
    pub fn start(status: &'static str, body: &'static str) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind stub");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let rec = bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = answer_stub(stream, status, body, &rec);
            }
        });
        Self { url, bodies }
    }

    /// Recorded bodies parsed as JSON (non-JSON bodies are skipped).
    pub fn json_bodies(&self) -> Vec<Value> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .filter_map(|b| serde_json::from_str(b).ok())
            .collect()
    }

    /// Poll until a recorded JSON body satisfies `pred`, or panic at the deadline.
    pub fn wait_for(&self, what: &str, limit: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(v) = self.json_bodies().into_iter().find(|v| pred(v)) {
                return v;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; received:\n{:#?}",
                    self.json_bodies()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn answer_stub(
    mut s: TcpStream,
    status: &str,
    body: &str,
    rec: &std::sync::Mutex<Vec<String>>,
) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head_end, len) = loop {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (i + 4, len);
        }
    };
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let req_body = String::from_utf8_lossy(&buf[head_end..]).into_owned();
    rec.lock().unwrap().push(req_body);
    write!(
        s,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `bulwark` daemon child, killed when dropped.
pub struct Daemon {
    pub child: std::process::Child,
    pub log: PathBuf,
}

impl Daemon {
    /// Start `bulwark ARGS` with stderr in `log`.
    pub fn start(args: &[&str], log: &Path) -> Self {
        let err = std::fs::File::create(log).expect("log file");
        let child = bulwark()
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(err)
            .spawn()
            .expect("bulwark starts");
        Self {
            child,
            log: log.to_path_buf(),
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then wait (with a deadline) for the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        use nix::sys::signal::{kill, Signal};
        use nix::unistd::Pid;
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(st) = self.child.try_wait().expect("wait") {
                return st.code();
            }
            if Instant::now() > deadline {
                panic!("daemon did not stop on SIGTERM; log:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The watch's `/api/status`.
pub fn api(port: u16) -> Value {
    let body = http_body(&format!("http://127.0.0.1:{port}/api/status"));
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("/api/status not JSON ({e}): {body}"))
}

/// Poll the watch's `/api/status` (up to a minute) until `pred` holds.
pub fn wait_api(port: u16, what: &str, d: &Daemon, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let s = api(port);
            if pred(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; status:\n{s:#}\nlog:\n{}",
                    d.log_text()
                );
            }
        } else if Instant::now() > deadline {
            panic!("watch never listened on {port}; log:\n{}", d.log_text());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A webhook payload for `key` with `status` (firing or resolved).
pub fn is(v: &Value, key: &str, status: &str) -> bool {
    v["key"] == key && v["status"] == status
}

/// How many webhook payloads for `key` with `status` arrived.
pub fn count(hook: &HttpStub, key: &str, status: &str) -> usize {
    hook.json_bodies()
        .iter()
        .filter(|v| is(v, key, status))
        .count()
}

/// Run Debian's `promtool` (package `prometheus`) with `args`, and `stdin` as its input:
/// (success, stdout and stderr).
pub fn promtool(args: &[&str], stdin: &[u8]) -> (bool, String) {
    let bin = "/usr/bin/promtool";
    assert!(
        Path::new(bin).exists(),
        "{bin} is missing: run scripts/install-deps"
    );
    let mut child = Command::new(bin)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let o = child.wait_with_output().unwrap();
    (o.status.success(), text(&o))
}

//! A real SMTP server (aiosmtpd, see `smtp_sink.py` beside this crate's manifest)
//! that records every message it accepts.

use crate::ca::TestCa;
use serde_json::Value;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PYTHON: &str = "/usr/bin/python3";

fn sink_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("smtp_sink.py")
}

/// How the SMTP server is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Plain text.
    Plain,
    /// STARTTLS required.
    Starttls,
    /// Implicit TLS.
    Tls,
}

/// A running aiosmtpd, killed when dropped.
#[derive(Debug)]
pub struct SmtpSink {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Where it writes one JSON file per message.
    pub out: PathBuf,
    child: Child,
}

impl SmtpSink {
    /// Start a server on `port` (0: any free one) writing messages into `out`; `tls`
    /// is required for STARTTLS and TLS, `auth` (`user:password`) makes AUTH required.
    pub fn start(
        out: &Path,
        port: u16,
        mode: Mode,
        tls: Option<&TestCa>,
        auth: Option<&str>,
    ) -> Self {
        assert!(
            Path::new(PYTHON).exists()
                && Command::new(PYTHON)
                    .args(["-c", "import aiosmtpd"])
                    .status()
                    .is_ok_and(|s| s.success()),
            "{PYTHON} with aiosmtpd is missing: run scripts/install-deps (Debian package python3-aiosmtpd)"
        );
        std::fs::create_dir_all(out).unwrap();
        let mut cmd = Command::new(PYTHON);
        cmd.arg(sink_script())
            .arg("--out")
            .arg(out)
            .arg("--port")
            .arg(port.to_string())
            .arg("--mode")
            .arg(match mode {
                Mode::Plain => "plain",
                Mode::Starttls => "starttls",
                Mode::Tls => "tls",
            });
        if let Some(ca) = tls {
            cmd.arg("--cert").arg(&ca.cert).arg("--key").arg(&ca.key);
        }
        if let Some(a) = auth {
            cmd.arg("--auth").arg(a);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the SMTP server");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the SMTP server says where it listens");
        let port = line
            .trim()
            .strip_prefix("LISTENING ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the SMTP server did not start: {line:?}"));
        Self {
            port,
            out: out.to_path_buf(),
            child,
        }
    }

    /// Messages received so far, oldest first.
    pub fn messages(&self) -> Vec<Value> {
        messages_in(&self.out)
    }

    /// Wait until at least `n` messages arrived; return all of them.
    pub fn wait_for(&self, n: usize, limit: Duration) -> Vec<Value> {
        let deadline = Instant::now() + limit;
        loop {
            let m = self.messages();
            if m.len() >= n {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {n} messages; got {m:#?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The messages an [`SmtpSink`] wrote into `out`, oldest first.
pub fn messages_in(out: &Path) -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(out)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    files
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect()
}

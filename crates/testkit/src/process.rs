//! Child processes for tests: the `bulwark` binary under test, helper tools killed on
//! drop, and daemons whose stderr goes to a log file.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `bulwark` binary under test (its path is `CARGO_BIN_EXE_bulwark` in the
/// binary's own tests).
#[derive(Debug, Clone)]
pub struct Bulwark {
    bin: PathBuf,
}

impl Bulwark {
    pub fn new(bin: impl Into<PathBuf>) -> Self {
        Self { bin: bin.into() }
    }

    pub fn path(&self) -> &Path {
        &self.bin
    }

    /// A command for the binary, without the caller's `BULWARK_DEVNET_DIR`.
    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.env_remove("BULWARK_DEVNET_DIR");
        c
    }

    /// Run `bulwark ARGS` and return its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("bulwark runs")
    }

    /// Run `bulwark ARGS` with `typed` on its standard input (an operator answering a
    /// prompt) and collect its output.
    pub fn run_typed(&self, args: &[&str], typed: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bulwark runs");
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(typed.as_bytes())
            .expect("writing the answer");
        child.wait_with_output().expect("bulwark exits")
    }

    /// Start `bulwark ARGS` as a daemon with stderr in `log`.
    pub fn daemon(&self, args: &[&str], log: &Path) -> Daemon {
        let err = std::fs::File::create(log).expect("log file");
        let child = self
            .command()
            .args(args)
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("bulwark starts");
        Daemon {
            child,
            log: log.to_path_buf(),
        }
    }
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

/// A child process, killed when dropped.
#[derive(Debug)]
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `path`, after checking that the tool is installed; `install` says how to get it.
pub fn tool<'a>(path: &'a str, install: &str) -> &'a str {
    assert!(Path::new(path).exists(), "{path} is missing: {install}");
    path
}

/// Start `bin` (a Debian tool installed by scripts/install-deps) with `args`, output
/// discarded.
pub fn spawn(bin: &str, args: &[String]) -> Proc {
    Proc(
        Command::new(tool(bin, "run scripts/install-deps"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{bin}: {e}")),
    )
}

/// Wait for `child` to exit: its code, or `None` after `within`.
pub fn wait_exit(child: &mut Child, within: Duration) -> Option<i32> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(st) = child.try_wait().unwrap() {
            return st.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// A daemon child with its stderr in a log file, killed when dropped.
#[derive(Debug)]
pub struct Daemon {
    pub child: Child,
    pub log: PathBuf,
}

impl Daemon {
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Send it SIGHUP (a reload).
    pub fn hangup(&self) {
        use nix::sys::signal::{kill, Signal};
        use nix::unistd::Pid;
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGHUP).expect("SIGHUP sent");
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

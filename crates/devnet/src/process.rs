//! Node processes: started detached with a pid file and a log each, stopped by pid.

use crate::error::{DevnetError, Result};
use crate::manifest::Node;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Path of a node's pid file.
pub fn pid_file(dir: &Path, node: &str) -> PathBuf {
    dir.join("run").join(format!("{node}.pid"))
}

/// Path of a node's log file.
pub fn log_file(dir: &Path, node: &str) -> PathBuf {
    dir.join("logs").join(format!("{node}.log"))
}

/// A process the devnet runs: a node, or val0's signer.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Name: pid file `run/<name>.pid`, log `logs/<name>.log`.
    pub name: String,
    /// Program and arguments.
    pub program: PathBuf,
    /// Arguments.
    pub args: Vec<std::ffi::OsString>,
    /// An argument that identifies this process (a node's home, the signer's config), so
    /// a recycled pid is never mistaken for it.
    pub marker: PathBuf,
}

impl Spec {
    /// `cometbft start --home <home>` for `node`.
    pub fn node(dir: &Path, binary: &Path, node: &Node) -> Spec {
        let home = dir.join(&node.home);
        Spec {
            name: node.name.clone(),
            program: binary.to_path_buf(),
            args: vec!["start".into(), "--home".into(), home.clone().into()],
            marker: home,
        }
    }
}

impl Spec {
    /// `bulwark --log-level info VERB run --config CONFIG`: a devnet service (val0's
    /// signer, the watch), known by its config file.
    pub fn bulwark(name: &str, verb: &str, config: PathBuf, bulwark: &Path) -> Spec {
        Spec {
            name: name.into(),
            program: bulwark.to_path_buf(),
            args: vec![
                "--log-level".into(),
                "info".into(),
                verb.into(),
                "run".into(),
                "--config".into(),
                config.clone().into(),
            ],
            marker: config,
        }
    }
}

/// Start a process detached in its own process group, logging to its log file.
pub fn start(dir: &Path, spec: &Spec) -> Result<u32> {
    let log_path = log_file(dir, &spec.name);
    for d in [dir.join("run"), dir.join("logs")] {
        std::fs::create_dir_all(&d).map_err(|e| DevnetError::io(&d, e))?;
    }
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| DevnetError::io(&log_path, e))?;
    let err_log = log.try_clone().map_err(|e| DevnetError::io(&log_path, e))?;
    let child = Command::new(&spec.program)
        .args(&spec.args)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err_log)
        .process_group(0)
        .spawn()
        .map_err(|e| DevnetError::io(&spec.program, e))?;
    let pid = child.id();
    let pid_path = pid_file(dir, &spec.name);
    std::fs::write(&pid_path, format!("{pid}\n")).map_err(|e| DevnetError::io(&pid_path, e))?;
    Ok(pid)
}

/// The pid of a process when it is running (pid file present and the process is it).
pub fn running_pid(dir: &Path, name: &str, marker: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(pid_file(dir, name)).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    is_our_process(pid, marker).then_some(pid)
}

/// The pid of `node` when it is running.
pub fn node_pid(dir: &Path, node: &Node) -> Option<u32> {
    running_pid(dir, &node.name, &dir.join(&node.home))
}

/// Stop a process if it runs: SIGTERM, then SIGKILL after `grace`. Removes the pid file.
pub fn stop(dir: &Path, name: &str, marker: &Path, grace: Duration) -> bool {
    let pid_path = pid_file(dir, name);
    let Some(pid) = running_pid(dir, name, marker) else {
        let _ = std::fs::remove_file(&pid_path);
        return false;
    };
    signal_and_wait(pid, marker, grace);
    let _ = std::fs::remove_file(&pid_path);
    true
}

/// Stop `node` if it runs.
pub fn stop_node(dir: &Path, node: &Node, grace: Duration) -> bool {
    stop(dir, &node.name, &dir.join(&node.home), grace)
}

/// Send `SIGKILL` to a process at once (for failure drills).
pub fn kill_now(dir: &Path, name: &str, marker: &Path) -> bool {
    match running_pid(dir, name, marker) {
        Some(pid) => {
            let _ = kill(to_pid(pid), Signal::SIGKILL);
            true
        }
        None => false,
    }
}

fn signal_and_wait(pid: u32, marker: &Path, grace: Duration) {
    let _ = kill(to_pid(pid), Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !is_our_process(pid, marker) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = kill(to_pid(pid), Signal::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && is_our_process(pid, marker) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// True when `pid` is alive (not a zombie) and has `marker` on its command line.
pub fn is_our_process(pid: u32, marker: &Path) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state is the first field after the parenthesised command name.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    if matches!(state, Some("Z") | Some("X") | None) {
        return false;
    }
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let marker = marker.as_os_str().as_encoded_bytes();
    cmdline.split(|b| *b == 0).any(|arg| arg == marker)
}

/// How a child this process just started has ended, or `None` while it runs. Asked of
/// the kernel, not of `/proc`: right after the spawn returns, the child may not have
/// its new command line yet, so [`is_our_process`] can say no for a healthy child.
pub fn ended(pid: u32) -> Option<String> {
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    match waitpid(to_pid(pid), Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::Exited(_, code)) => Some(format!("the process exited with code {code}")),
        Ok(WaitStatus::Signaled(_, sig, _)) => Some(format!("the process was killed by {sig}")),
        Ok(_) => None,
        Err(e) => Some(format!("the process is gone ({e})")),
    }
}

/// The last `n` lines of a file (empty when it cannot be read).
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn to_pid(pid: u32) -> Pid {
    Pid::from_raw(i32::try_from(pid).unwrap_or(i32::MAX))
}

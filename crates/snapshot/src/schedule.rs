//! `bulwark snapshot run --config`: snapshots on a schedule, each followed by a prune
//! with the job's retention, and a status file saying how each job last went (for
//! monitoring: a stale `last_success_unix` or a set `last_error` is worth a page), also
//! as Prometheus text for node_exporter's textfile collector, which `bulwark watch`
//! reads (`snapshot_stale`, `snapshot_failed`).

use crate::create::{self, CreateOptions, NodeControl, NodeMeta, Source};
use crate::error::{Result, SnapshotError};
use crate::prune::{self, Retention};
use crate::store::Store;
use crate::{lease, node};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The schedule file (TOML).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where each job's last result is written (JSON), if anywhere.
    #[serde(default)]
    pub status_file: Option<PathBuf>,
    /// The same, as Prometheus text (`*.prom`) for node_exporter's textfile collector
    /// (`--collector.textfile.directory`): `bulwark_snapshot_last_success_timestamp_seconds`,
    /// `bulwark_snapshot_last_attempt_timestamp_seconds`, `bulwark_snapshot_last_attempt_failed`.
    #[serde(default)]
    pub metrics_file: Option<PathBuf>,
    /// The jobs.
    #[serde(default, rename = "job")]
    pub jobs: Vec<Job>,
}

/// One node snapshotted on a schedule.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Job {
    /// A name for logs and the status file.
    pub name: String,
    /// The store URL.
    pub store: String,
    /// S3 credentials file (else the environment).
    #[serde(default)]
    pub credentials: Option<PathBuf>,
    /// How often.
    #[serde(with = "confkit::duration")]
    pub every: Duration,
    /// Keep the newest N snapshots of the chain.
    #[serde(default)]
    pub keep_last: usize,
    /// Keep the newest of each of the last D days.
    #[serde(default)]
    pub keep_daily: usize,
    /// The node's home (with `stop_cmd`/`start_cmd`).
    #[serde(default)]
    pub home: Option<PathBuf>,
    /// Stops the node.
    #[serde(default)]
    pub stop_cmd: Option<String>,
    /// Starts it.
    #[serde(default)]
    pub start_cmd: Option<String>,
    /// A devnet directory (with `node`), instead of commands.
    #[serde(default)]
    pub devnet: Option<PathBuf>,
    /// The devnet node.
    #[serde(default)]
    pub node: Option<String>,
    /// The node's RPC (default: from its config.toml, or the devnet's).
    #[serde(default)]
    pub rpc: Option<String>,
    /// Freeze the node in place instead of stopping it ([`crate::freeze`]): with
    /// `devnet`/`node`, or with `home` and `pid_cmd`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub freeze: bool,
    /// Prints the node binary's process id, run before each snapshot (e.g.
    /// `systemctl show -p MainPID --value gaiad`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_cmd: Option<String>,
    /// Chunks uploaded at once.
    #[serde(default = "default_jobs")]
    pub jobs: usize,
    /// Upload bytes per second at most.
    #[serde(default)]
    pub max_rate: Option<u64>,
}

fn default_jobs() -> usize {
    8
}

/// A schedule file that cannot be used: every problem at once.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {}", problems.join("; "))]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub problems: Vec<String>,
}

impl Config {
    /// Read and check `path`.
    pub fn load(path: &Path) -> std::result::Result<Config, ConfigError> {
        let err = |problems| ConfigError {
            path: path.to_path_buf(),
            problems,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(vec![e.to_string()]))?;
        let c: Config = toml::from_str(&text).map_err(|e| err(vec![e.to_string()]))?;
        let problems = c.validate();
        if problems.is_empty() {
            Ok(c)
        } else {
            Err(err(problems))
        }
    }

    /// Every problem of the schedule.
    pub fn validate(&self) -> Vec<String> {
        let mut p = vec![];
        if self.jobs.is_empty() {
            p.push("no [[job]]: add one per node to snapshot".into());
        }
        if let Some(f) = &self.metrics_file {
            if f.extension().is_none_or(|e| e != "prom") {
                p.push(format!(
                    "metrics_file {}: node_exporter's textfile collector reads only *.prom files: name it e.g. bulwark_snapshot.prom",
                    f.display()
                ));
            }
        }
        let mut names = std::collections::HashSet::new();
        for j in &self.jobs {
            let n = &j.name;
            if !names.insert(n.as_str()) {
                p.push(format!("job {n:?} is defined twice"));
            }
            if j.every < Duration::from_secs(1) {
                p.push(format!("job {n:?}: every must be at least 1s"));
            }
            if j.keep_last == 0 && j.keep_daily == 0 {
                p.push(format!(
                    "job {n:?}: set keep_last and/or keep_daily (else the store only grows)"
                ));
            }
            if j.jobs == 0 {
                p.push(format!("job {n:?}: jobs must be at least 1"));
            }
            let commands = j.stop_cmd.is_some() || j.start_cmd.is_some();
            let devnet = j.devnet.is_some() || j.node.is_some();
            if j.pid_cmd.is_some() && !j.freeze {
                p.push(format!("job {n:?}: pid_cmd is only for freeze = true"));
            }
            match (j.freeze, commands, devnet) {
                (true, true, _) => p.push(format!(
                    "job {n:?}: freeze = true freezes the node in place; it takes no stop_cmd/start_cmd"
                )),
                (true, false, false) => {
                    if j.home.is_none() || j.pid_cmd.is_none() {
                        p.push(format!(
                            "job {n:?}: freeze = true needs devnet and node, or home and pid_cmd (prints the node's process id)"
                        ));
                    }
                }
                (false, true, true) => p.push(format!(
                    "job {n:?}: use stop_cmd/start_cmd or devnet/node, not both"
                )),
                (false, false, false) => p.push(format!(
                    "job {n:?}: say how to pause the node: stop_cmd and start_cmd (with home), or devnet and node"
                )),
                (false, true, false) => {
                    if j.stop_cmd.is_none() || j.start_cmd.is_none() {
                        p.push(format!("job {n:?}: stop_cmd and start_cmd go together"));
                    }
                    if j.home.is_none() {
                        p.push(format!("job {n:?}: stop_cmd needs home (the node's home)"));
                    }
                }
                (_, false, true) => {
                    if j.devnet.is_none() || j.node.is_none() {
                        p.push(format!("job {n:?}: devnet and node go together"));
                    }
                }
            }
            if let Err(e) = Store::open_check(&j.store, j.credentials.as_deref()) {
                p.push(format!("job {n:?}: {e}"));
            }
        }
        p
    }
}

/// How each job last went, as written to the status file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct JobStatus {
    /// The chain of the last snapshot taken.
    #[serde(default)]
    pub chain_id: Option<String>,
    /// Last attempt (seconds since the epoch).
    pub last_attempt_unix: Option<i64>,
    /// Last success.
    pub last_success_unix: Option<i64>,
    /// The last snapshot taken.
    pub last_snapshot: Option<String>,
    /// Why the last attempt failed (`None` after a success).
    pub last_error: Option<String>,
    /// Successes (kept across restarts through the status file).
    pub successes: u64,
    /// Failures (likewise).
    pub failures: u64,
}

/// A paused node for a job: its home, how to pause it, and its RPC.
pub type Target = (PathBuf, Box<dyn NodeControl>, String);

/// Run the schedule until `shutdown` resolves. `target` gives, for a job, the node to
/// pause. Each job runs first at start, then every `every` after its last start.
pub async fn run(
    config: &Config,
    target: impl Fn(&Job) -> Result<Target>,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let mut shutdown = std::pin::pin!(shutdown);
    let mut due: Vec<tokio::time::Instant> = config
        .jobs
        .iter()
        .map(|_| tokio::time::Instant::now())
        .collect();
    // A restart keeps what the status file knew: the last success stays the last one.
    let mut status: BTreeMap<String, JobStatus> = config
        .status_file
        .as_deref()
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    status.retain(|name, _| config.jobs.iter().any(|j| &j.name == name));
    loop {
        let (i, when) = due
            .iter()
            .enumerate()
            .min_by_key(|(_, t)| **t)
            .map(|(i, t)| (i, *t))
            .expect("a validated schedule has jobs");
        tokio::select! {
            () = tokio::time::sleep_until(when) => {}
            () = &mut shutdown => return Ok(()),
        }
        let job = &config.jobs[i];
        due[i] = tokio::time::Instant::now() + job.every;
        let st = status.entry(job.name.clone()).or_default();
        st.last_attempt_unix = Some(lease::now_unix());
        let outcome = tokio::select! {
            r = run_job(job, &target) => r,
            () = &mut shutdown => return Ok(()),
        };
        match outcome {
            Ok((id, chain_id)) => {
                tracing::info!(job = %job.name, snapshot = %id, "snapshot taken and retention applied");
                st.last_success_unix = st.last_attempt_unix;
                st.last_snapshot = Some(id);
                st.chain_id = Some(chain_id);
                st.last_error = None;
                st.successes += 1;
            }
            Err(e) => {
                tracing::error!(job = %job.name, error = %e, "snapshot failed");
                st.last_error = Some(e.to_string());
                st.failures += 1;
            }
        }
        if let Some(path) = &config.status_file {
            let body = serde_json::to_vec_pretty(&status).expect("serializes");
            write_atomically(path, &body)?;
        }
        if let Some(path) = &config.metrics_file {
            write_atomically(path, metrics_text(&status).as_bytes())?;
        }
    }
}

/// A metric family of the status: name, help and its value for a job.
type Family = (&'static str, &'static str, fn(&JobStatus) -> Option<f64>);

/// The status as Prometheus text, one series per job.
pub fn metrics_text(status: &BTreeMap<String, JobStatus>) -> String {
    let mut out = String::new();
    let families: [Family; 5] = [
        (
            "bulwark_snapshot_last_success_timestamp_seconds",
            "When the job's last snapshot was taken (seconds since the epoch).",
            |s| s.last_success_unix.map(|t| t as f64),
        ),
        (
            "bulwark_snapshot_last_attempt_timestamp_seconds",
            "When the job last tried.",
            |s| s.last_attempt_unix.map(|t| t as f64),
        ),
        (
            "bulwark_snapshot_last_attempt_failed",
            "1 if the job's last attempt failed (its error is in the daemon's log and status file).",
            |s| s.last_attempt_unix.map(|_| f64::from(u8::from(s.last_error.is_some()))),
        ),
        (
            "bulwark_snapshot_successes_total",
            "Snapshots the job took.",
            |s| Some(s.successes as f64),
        ),
        (
            "bulwark_snapshot_failures_total",
            "Attempts of the job that failed.",
            |s| Some(s.failures as f64),
        ),
    ];
    for (name, help, value) in families {
        let kind = if name.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        for (job, s) in status {
            if let Some(v) = value(s) {
                let chain = s.chain_id.as_deref().unwrap_or("");
                out.push_str(&format!(
                    "{name}{{job=\"{}\",chain=\"{}\"}} {v}\n",
                    escape(job),
                    escape(chain)
                ));
            }
        }
    }
    out
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

async fn run_job(job: &Job, target: &impl Fn(&Job) -> Result<Target>) -> Result<(String, String)> {
    let store = Store::open(&job.store, job.credentials.as_deref())?;
    let (home, mut control, rpc) = target(job)?;
    let pending = create::pending_dir(&home).join("pending.json");
    let meta = match node::node_info(&rpc).await {
        Ok(i) => NodeMeta {
            chain_id: i.chain_id,
            height: i.height,
            cometbft_version: i.cometbft_version,
            app_version: i.app_version,
        },
        Err(_) if pending.is_file() => NodeMeta {
            chain_id: node::chain_id(&home)?.unwrap_or_default(),
            ..NodeMeta::default()
        },
        Err(e) => return Err(e),
    };
    let opts = CreateOptions {
        jobs: job.jobs,
        max_rate: job.max_rate,
        rehash: false,
    };
    let source = Source::Pause {
        home,
        control: control.as_mut(),
        meta,
    };
    let report = create::create(&store, source, &opts, &indicatif::ProgressBar::hidden()).await?;
    let retention = Retention {
        keep_last: job.keep_last,
        keep_daily: job.keep_daily,
    };
    prune::prune(&store, retention).await?;
    Ok((report.id, report.chain_id))
}

/// Replace `path` with `body` so that a reader never sees half of it.
fn write_atomically(path: &Path, body: &[u8]) -> Result<()> {
    // node_exporter reads every *.prom in its directory: the temporary name is not one.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, body).map_err(|e| SnapshotError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| SnapshotError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_say_when_each_job_last_succeeded_and_whether_it_failed() {
        let mut status = BTreeMap::new();
        status.insert(
            "hub".to_string(),
            JobStatus {
                chain_id: Some("cosmoshub-4".into()),
                last_attempt_unix: Some(200),
                last_success_unix: Some(100),
                last_error: Some("store unreachable".into()),
                successes: 3,
                failures: 1,
                ..JobStatus::default()
            },
        );
        status.insert("new".to_string(), JobStatus::default());
        let text = metrics_text(&status);
        for line in [
            "bulwark_snapshot_last_success_timestamp_seconds{job=\"hub\",chain=\"cosmoshub-4\"} 100",
            "bulwark_snapshot_last_attempt_timestamp_seconds{job=\"hub\",chain=\"cosmoshub-4\"} 200",
            "bulwark_snapshot_last_attempt_failed{job=\"hub\",chain=\"cosmoshub-4\"} 1",
            "bulwark_snapshot_failures_total{job=\"hub\",chain=\"cosmoshub-4\"} 1",
            "bulwark_snapshot_successes_total{job=\"new\",chain=\"\"} 0",
            "# TYPE bulwark_snapshot_last_attempt_failed gauge",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} not in:\n{text}");
        }
        // A job that never ran says nothing about its last attempt.
        assert!(!text.contains("last_attempt_failed{job=\"new\""), "{text}");
    }

    #[test]
    fn the_example_parses_and_bad_schedules_list_every_problem() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshot.example.toml");
        let c = Config::load(&example).unwrap();
        assert_eq!(c.jobs.len(), 2);
        assert_eq!(c.jobs[0].every, Duration::from_secs(6 * 3600));
        let back: Config = toml::from_str(&toml::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);

        let bad: Config = toml::from_str(
            r#"
            [[job]]
            name = "a"
            store = "ftp://x"
            every = "0s"
            stop_cmd = "x"
            [[job]]
            name = "a"
            store = "/tmp/x"
            every = "1h"
            keep_last = 1
            "#,
        )
        .unwrap();
        let p = bad.validate().join("\n");
        for want in [
            "at least 1s",
            "keep_last",
            "go together",
            "needs home",
            "unknown scheme",
            "defined twice",
            "say how to pause",
        ] {
            assert!(p.contains(want), "{want} missing from:\n{p}");
        }
        let freeze: Config = toml::from_str(
            r#"
            [[job]]
            name = "by-pid"
            store = "/tmp/x"
            every = "1h"
            keep_last = 1
            home = "/var/lib/gaia"
            freeze = true
            pid_cmd = "systemctl show -p MainPID --value gaiad"
            [[job]]
            name = "no-pid"
            store = "/tmp/x"
            every = "1h"
            keep_last = 1
            home = "/var/lib/gaia"
            freeze = true
            [[job]]
            name = "both"
            store = "/tmp/x"
            every = "1h"
            keep_last = 1
            home = "/var/lib/gaia"
            freeze = true
            stop_cmd = "a"
            start_cmd = "b"
            [[job]]
            name = "stray"
            store = "/tmp/x"
            every = "1h"
            keep_last = 1
            home = "/var/lib/gaia"
            stop_cmd = "a"
            start_cmd = "b"
            pid_cmd = "c"
            "#,
        )
        .unwrap();
        let p = freeze.validate();
        assert_eq!(p.len(), 3, "{p:#?}");
        assert!(
            p[0].contains("\"no-pid\"") && p[0].contains("home and pid_cmd"),
            "{p:#?}"
        );
        assert!(
            p[1].contains("\"both\"") && p[1].contains("no stop_cmd"),
            "{p:#?}"
        );
        assert!(
            p[2].contains("\"stray\"") && p[2].contains("only for freeze"),
            "{p:#?}"
        );
        assert!(toml::from_str::<Config>("[[job]]\nname = \"a\"\ncolour = 1\n").is_err());
    }
}

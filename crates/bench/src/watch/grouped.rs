//! `watch grouped`: from a host's failure to the one grouped notification about it, on
//! the devnet of the latency part.
//!
//! The bench runs its own `bulwark watch` over the devnet as an operator with a fleet
//! would: every node (with its CometBFT metrics) and the signer watched, val0's two
//! nodes on one host, `val0-host`, whose node_exporter is a stand-in served by the
//! bench, and one route grouped by `host` (`group_wait` given) to a webhook receiver
//! in the bench, with the default inhibition (`host_down` holds back `node_down`,
//! `missed_in_a_row`, `signer_node_disconnected`, ... of its host). A trial kills the
//! host's parts at once (the exporter stops answering, `bulwark devnet stop val0
//! --kill` and `val0-backup --kill` at the same moment), waits for the host's grouped
//! notification and takes the time from the kill to its arrival. It then counts what
//! arrives for `group_interval` and 3 s more: exactly one notification must have come,
//! naming `host_down` of the host, with none of the alerts it holds back. Then the host
//! comes back (`bulwark devnet up`, the exporter again), and the next trial starts once
//! every alert has resolved and the group's resolve is out.

use super::cost::stop;
use super::devnet::Devnet;
use super::http::{self, Request, Response, Service};
use super::latency::{receiver, spawn_watch, Hook};
use crate::stats::median;
use anyhow::Context;
use serde::Serialize;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::port::try_free_port;
use testkit::watch_api::grouped_keys;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

/// The host val0's two nodes run on.
pub const HOST: &str = "val0-host";
/// The nodes on it.
const ON_HOST: [&str; 2] = [devnet::topology::OPERATOR, devnet::topology::BACKUP];
/// How often the watch polls.
const POLL: Duration = Duration::from_secs(1);
/// `node_down`, `exporter_down`, ... fire (warning) after this long.
const PART_DOWN_AFTER: Duration = Duration::from_secs(1);
/// `host_down` fires (warning) once every part of the host has been down this long.
const HOST_DOWN_AFTER: Duration = Duration::from_secs(2);
/// `missing_power` must hold this long before it fires.
const MISSING_POWER_FOR: Duration = Duration::from_secs(5);
/// After the first grouped notification, what arrives is counted for the group's
/// interval and this much more.
const COUNT_MARGIN: Duration = Duration::from_secs(3);

/// One trial.
#[derive(Debug, Clone, Serialize)]
pub struct GroupedTrial {
    /// Trial number.
    pub trial: usize,
    /// From the kill of the host's parts to the grouped notification's arrival, ms.
    pub latency_ms: f64,
    /// How long killing the parts took (the two `devnet stop --kill` commands), ms.
    pub kill_ms: f64,
    /// Notifications that arrived from the kill to the end of the count, all groups.
    pub notifications: usize,
    /// The keys of the alerts in the grouped notification.
    pub alerts: Vec<String>,
    /// The alerts the `host_down` in it names as held back.
    pub inhibits: Vec<String>,
    /// From the host's return to the group's resolve notification, seconds.
    pub resolved_after_s: f64,
}

/// The settings that bound the figure, and the trials.
#[derive(Debug, Clone, Serialize)]
pub struct GroupedResult {
    /// The grouped route's `group_wait`, seconds: a group's first change waits this
    /// long for the rest before it is sent.
    pub group_wait_s: f64,
    /// Its `group_interval` (= `group_wait`), seconds.
    pub group_interval_s: f64,
    /// The watch's poll interval, seconds.
    pub poll_interval_s: f64,
    /// `node_down`, `node_metrics_down`, `exporter_down`, `signer_node_disconnected`
    /// warning after, seconds.
    pub part_down_after_s: f64,
    /// `host_down` warning after, seconds.
    pub host_down_after_s: f64,
    /// How long after the first notification arrivals were counted, seconds.
    pub counted_for_s: f64,
    /// Median fault-to-notification, ms.
    pub median_ms: f64,
    /// Largest, ms.
    pub max_ms: f64,
    /// The trials.
    pub trials: Vec<GroupedTrial>,
}

/// The stand-in node_exporter of `val0-host`: a fixed, healthy host.
#[derive(Debug)]
struct Exporter;

const EXPORTER_TEXT: &str = "\
# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 81234.5
node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 12345.6
node_cpu_seconds_total{cpu=\"1\",mode=\"idle\"} 80987.1
node_cpu_seconds_total{cpu=\"1\",mode=\"user\"} 12501.2
# HELP node_filesystem_avail_bytes Filesystem space available to non-root users in bytes.
# TYPE node_filesystem_avail_bytes gauge
node_filesystem_avail_bytes{device=\"/dev/nvme0n1p2\",fstype=\"ext4\",mountpoint=\"/\"} 6.4e+11
# HELP node_filesystem_size_bytes Filesystem size in bytes.
# TYPE node_filesystem_size_bytes gauge
node_filesystem_size_bytes{device=\"/dev/nvme0n1p2\",fstype=\"ext4\",mountpoint=\"/\"} 1.0e+12
# HELP node_load1 1m load average.
# TYPE node_load1 gauge
node_load1 0.42
# HELP node_memory_MemAvailable_bytes Memory information field MemAvailable_bytes.
# TYPE node_memory_MemAvailable_bytes gauge
node_memory_MemAvailable_bytes 2.1e+10
# HELP node_memory_MemTotal_bytes Memory information field MemTotal_bytes.
# TYPE node_memory_MemTotal_bytes gauge
node_memory_MemTotal_bytes 3.2e+10
";

impl Service for Exporter {
    fn handle(&self, _req: &Request) -> Response {
        Response::metrics(EXPORTER_TEXT)
    }
}

/// The stand-in exporter on a fixed port, which can stop answering and come back.
struct StandIn {
    port: u16,
    parent: CancellationToken,
    running: Option<CancellationToken>,
}

impl StandIn {
    async fn start(&mut self) -> anyhow::Result<()> {
        let l = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .with_context(|| format!("binding the stand-in exporter to port {}", self.port))?;
        let t = self.parent.child_token();
        tokio::spawn(http::serve(l, Arc::new(Exporter), t.clone()));
        self.running = Some(t);
        Ok(())
    }

    /// Stop answering: the listener and every open connection close.
    fn stop(&mut self) {
        if let Some(t) = self.running.take() {
            t.cancel();
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/metrics", self.port)
    }
}

/// The watch's config: see the module's documentation.
fn config(
    devnet: &Devnet,
    dir: &Path,
    port: u16,
    hook: &str,
    exporter: &str,
    group_wait: Duration,
) -> anyhow::Result<String> {
    use watch::config::{
        ChainConfig, ChannelConfig, Config, CountRule, DurationRule, HostConfig, MatchValue,
        NodeConfig, PercentRule, RouteConfig, Severity, SignerConfig,
    };
    let m = &devnet.manifest;
    let secs = Duration::from_secs;
    let count = |warning, critical| CountRule {
        warning,
        critical,
        for_: Duration::ZERO,
    };
    let part = DurationRule {
        warning: PART_DOWN_AFTER,
        critical: secs(3600),
    };
    let mainnet = || [("env".to_string(), "mainnet".to_string())].into();
    let mut c = Config::new(dir.join("watch.sqlite"));
    c.listen = ([127, 0, 0, 1], port).into();
    c.poll_interval = POLL;
    c.request_timeout = secs(2);
    c.repeat_interval = secs(3600);
    let mut chain = ChainConfig::new(&m.chain_id, devnet.watch_rpcs());
    chain.validator_address = Some(devnet.val0_address());
    chain.labels = mainnet();
    c.chains.push(chain);
    for n in &m.nodes {
        c.nodes.push(NodeConfig {
            hermes: None,
            hermes_prefix: None,
            name: n.name.clone(),
            chain: m.chain_id.clone(),
            role: n.role,
            rpc: n.rpc_url(),
            metrics: Some(n.metrics_url()),
            history: None,
            rules: Default::default(),
            host: ON_HOST.contains(&n.name.as_str()).then(|| HOST.to_string()),
            labels: Default::default(),
        });
    }
    if let Some(url) = devnet.signer_metrics_url() {
        c.signers.push(SignerConfig::new("signer", url));
    }
    c.hosts.push(HostConfig {
        name: HOST.into(),
        node_exporter: Some(exporter.to_string()),
        mountpoints: vec!["/".into()],
        rules: Default::default(),
        // The host's own alerts (host_down) have no chain: the host gives its env.
        labels: mainnet(),
    });
    let r = &mut c.rules;
    r.node_down = part;
    r.node_metrics_down = part;
    r.exporter_down = part;
    r.signer_node_disconnected = part;
    r.source_unhealthy = part;
    r.host_down = DurationRule {
        warning: HOST_DOWN_AFTER,
        critical: secs(3600),
    };
    r.missed_in_a_row = count(2, 1000);
    // A quarter of the power goes with val0: an alert about the chain on val0's host
    // that host_down does not hold back, in the same group. Held 5 s, so that one late
    // precommit (a commit without one validator) on a busy machine does not fire it.
    r.missing_power = PercentRule {
        warning: 20.0,
        critical: 50.0,
        for_: MISSING_POWER_FOR,
    };
    // What a 4-validator devnet shows while one validator is gone, and is not the
    // host's: rounds, proposals, peers, lag.
    r.consensus_rounds = count(1000, 2000);
    r.node_behind = count(1000, 2000);
    r.proposals_missed = count(1000, 2000);
    r.peers_low = count(0, 0);
    r.node_catching_up = DurationRule {
        warning: secs(600),
        critical: secs(3600),
    };
    r.chain_stalled = DurationRule {
        warning: secs(600),
        critical: secs(3600),
    };
    c.channels.push(ChannelConfig::Webhook {
        name: "bench".into(),
        url: hook.to_string(),
    });
    let mut route = RouteConfig::new(&["bench"], Severity::Warning);
    route.matchers = [("env".to_string(), MatchValue::One("mainnet".into()))].into();
    route.group_by = vec!["host".into()];
    route.group_wait = Some(group_wait);
    c.routes.push(route);
    Ok(c.to_toml()?)
}

/// Run `trials` trials on `devnet` with the route's `group_wait`.
pub async fn run(
    bulwark: &Path,
    devnet: &Arc<Devnet>,
    trials: usize,
    group_wait: Duration,
    work: &Path,
    shutdown: &CancellationToken,
) -> anyhow::Result<GroupedResult> {
    let (hook_url, mut hooks) = receiver(shutdown).await?;
    let mut exporter = StandIn {
        port: try_free_port()?,
        parent: shutdown.clone(),
        running: None,
    };
    exporter.start().await?;
    let dir = work.join("grouped");
    std::fs::create_dir_all(&dir)?;
    let port = try_free_port()?;
    let cfg = config(devnet, &dir, port, &hook_url, &exporter.url(), group_wait)?;
    let mut watch = spawn_watch(bulwark, &dir, &cfg)?;
    let mut t = Trials {
        devnet,
        http: reqwest::Client::new(),
        port,
        group_wait,
        hooks: &mut hooks,
        exporter: &mut exporter,
    };
    let mut out = Vec::new();
    let mut res = Ok(());
    for trial in 0..trials {
        match t.trial(trial).await {
            Ok(x) => out.push(x),
            Err(e) => {
                res = Err(e.context(format!("grouped trial {trial}")));
                break;
            }
        }
    }
    stop(&mut watch);
    exporter.stop();
    res.with_context(|| format!("the watch's config and log are in {}", dir.display()))?;
    let _ = std::fs::remove_dir_all(&dir);
    let l: Vec<f64> = out.iter().map(|t| t.latency_ms).collect();
    Ok(GroupedResult {
        group_wait_s: group_wait.as_secs_f64(),
        group_interval_s: group_wait.as_secs_f64(),
        poll_interval_s: POLL.as_secs_f64(),
        part_down_after_s: PART_DOWN_AFTER.as_secs_f64(),
        host_down_after_s: HOST_DOWN_AFTER.as_secs_f64(),
        counted_for_s: (group_wait + COUNT_MARGIN).as_secs_f64(),
        median_ms: median(l.clone()),
        max_ms: l.iter().copied().fold(0.0, f64::max),
        trials: out,
    })
}

struct Trials<'a> {
    devnet: &'a Arc<Devnet>,
    http: reqwest::Client,
    port: u16,
    group_wait: Duration,
    hooks: &'a mut UnboundedReceiver<Hook>,
    exporter: &'a mut StandIn,
}

/// The host's group label of a webhook body, if it is a grouped one.
fn group_host(body: &Value) -> Option<&str> {
    body.pointer("/group/host").and_then(Value::as_str)
}

/// What is wrong with the grouped notification `body` of a host down, if anything:
/// it must hold the host's `host_down` firing, naming its nodes' `node_down` as held
/// back, and none of the alerts it holds back.
pub fn check_notification(body: &Value, host: &str, nodes: &[&str]) -> Result<Vec<String>, String> {
    let cause = format!("host_down/{host}");
    let alerts = body["alerts"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let a = alerts
        .iter()
        .find(|a| a["key"] == cause.as_str())
        .ok_or_else(|| format!("no {cause} in the grouped notification: {body:#}"))?;
    if a["kind"] != "firing"
        || !a["summary"]
            .as_str()
            .unwrap_or("")
            .starts_with(&format!("host {host}: down for "))
    {
        return Err(format!("{cause} is not a firing host-down alert: {a:#}"));
    }
    let inhibits: Vec<String> = a["inhibits"]
        .as_array()
        .map(|x| {
            x.iter()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    for n in nodes {
        let k = format!("node_down/{n}");
        if !inhibits.contains(&k) {
            return Err(format!("{cause} does not name {k} as held back: {a:#}"));
        }
    }
    let leaked: Vec<String> = grouped_keys(body)
        .into_iter()
        .filter(|k| inhibits.contains(k))
        .collect();
    if !leaked.is_empty() {
        return Err(format!(
            "the notification carries alerts {cause} holds back: {leaked:?}"
        ));
    }
    Ok(inhibits)
}

impl Trials<'_> {
    async fn status(&self) -> anyhow::Result<Value> {
        Ok(self
            .http
            .get(format!("http://127.0.0.1:{}/api/status", self.port))
            .timeout(Duration::from_secs(2))
            .send()
            .await?
            .json()
            .await?)
    }

    /// Wait until the host, every node and val0's signatures are seen and nothing fires.
    async fn healthy(&self, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        let mut last = Value::Null;
        while Instant::now() < deadline {
            if let Ok(s) = self.status().await {
                let nodes_up = s["nodes"]
                    .as_array()
                    .is_some_and(|n| n.iter().all(|n| n["up"] == true));
                let ok = s["hosts"][0]["up"] == true
                    && nodes_up
                    && s["chains"][0]["checked_height"].as_u64().is_some()
                    && s["chains"][0]["missed_in_a_row"] == 0
                    && s["alerts"].as_array().is_some_and(|a| a.is_empty());
                if ok {
                    return Ok(());
                }
                last = s["alerts"].clone();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        anyhow::bail!("the devnet and its host were not healthy with nothing firing after {within:?}; firing: {last}")
    }

    /// The next webhook, until `deadline`.
    async fn next(&mut self, deadline: tokio::time::Instant) -> Option<Hook> {
        tokio::time::timeout_at(deadline, self.hooks.recv())
            .await
            .ok()
            .flatten()
    }

    async fn trial(&mut self, trial: usize) -> anyhow::Result<GroupedTrial> {
        self.healthy(Duration::from_secs(120)).await?;
        // Let any group still waiting be told (a resolve), then start clean.
        tokio::time::sleep(self.group_wait + Duration::from_secs(1)).await;
        while self.hooks.try_recv().is_ok() {}

        // The host dies: everything on it at once.
        let t0 = Instant::now();
        self.exporter.stop();
        let kills: Vec<_> = ON_HOST
            .iter()
            .map(|n| {
                let (d, n) = (self.devnet.clone(), n.to_string());
                tokio::task::spawn_blocking(move || d.kill(&n))
            })
            .collect();
        for k in kills {
            k.await??;
        }
        let kill_ms = t0.elapsed().as_secs_f64() * 1e3;

        let mut seen: Vec<Value> = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        let first = loop {
            let h = self
                .next(deadline)
                .await
                .with_context(|| format!("no grouped notification for host {HOST} within 120 s of its failure; received: {seen:#?}"))?;
            let ours = group_host(&h.body) == Some(HOST) && h.body["status"] == "firing";
            seen.push(h.body.clone());
            if ours {
                break h;
            }
        };
        let latency_ms = first.at.saturating_duration_since(t0).as_secs_f64() * 1e3;
        let inhibits =
            check_notification(&first.body, HOST, &ON_HOST).map_err(anyhow::Error::msg)?;
        // Count what else arrives while a second notification of the group could.
        let until = tokio::time::Instant::from_std(first.at) + self.group_wait + COUNT_MARGIN;
        while let Some(h) = self.next(until).await {
            seen.push(h.body);
        }
        anyhow::ensure!(
            seen.len() == 1,
            "{} notifications arrived for one host failure, not one: {seen:#?}",
            seen.len()
        );
        eprintln!(
            "grouped trial={trial} fault->notification={latency_ms:.0}ms kill={kill_ms:.0}ms alerts={:?}",
            grouped_keys(&first.body)
        );

        // The host comes back.
        let back = Instant::now();
        let d = self.devnet.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || d.start_stopped()).await? {
            eprintln!("grouped: devnet up failed once, trying again: {e:#}");
            let d = self.devnet.clone();
            tokio::task::spawn_blocking(move || d.start_stopped()).await??;
        }
        self.exporter.start().await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
        let resolved = loop {
            let h = self
                .next(deadline)
                .await
                .context("no resolve of the host's group within 180 s of its return")?;
            let cause = format!("host_down/{HOST}");
            let resolves = h.body["alerts"].as_array().is_some_and(|a| {
                a.iter()
                    .any(|x| x["key"] == cause.as_str() && x["kind"] == "resolved")
            });
            if group_host(&h.body) == Some(HOST) && resolves {
                break h;
            }
        };
        Ok(GroupedTrial {
            trial,
            latency_ms,
            kill_ms,
            notifications: seen.len(),
            alerts: grouped_keys(&first.body),
            inhibits,
            resolved_after_s: resolved.at.saturating_duration_since(back).as_secs_f64(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(alerts: Value) -> Value {
        json!({ "source": "bulwark-watch", "status": "firing", "group": { "host": HOST }, "route": 1, "alerts": alerts })
    }

    fn host_down(inhibits: &[&str]) -> Value {
        json!({ "key": format!("host_down/{HOST}"), "rule": "host_down", "kind": "firing",
                "summary": format!("host {HOST}: down for 2s: neither its node_exporter nor anything on it answers"),
                "inhibits": inhibits })
    }

    #[test]
    fn one_notification_naming_the_cause() {
        let b = body(json!([
            host_down(&["node_down/val0", "node_down/val0-backup", "exporter_down/val0-host"]),
            { "key": "missing_power/devnet", "rule": "missing_power", "kind": "firing" }
        ]));
        assert_eq!(group_host(&b), Some(HOST));
        let held = check_notification(&b, HOST, &ON_HOST).unwrap();
        assert_eq!(held.len(), 3);
        assert_eq!(
            grouped_keys(&b),
            [format!("host_down/{HOST}"), "missing_power/devnet".into()]
        );
    }

    #[test]
    fn a_notification_without_the_cause_or_with_a_symptom_fails() {
        let symptom = json!({ "key": "node_down/val0", "rule": "node_down", "kind": "firing" });
        assert!(check_notification(&body(json!([symptom.clone()])), HOST, &ON_HOST).is_err());
        let leaked = body(json!([
            host_down(&["node_down/val0", "node_down/val0-backup"]),
            symptom
        ]));
        let e = check_notification(&leaked, HOST, &ON_HOST).unwrap_err();
        assert!(e.contains("holds back"), "{e}");
        let partial = body(json!([host_down(&["node_down/val0"])]));
        assert!(check_notification(&partial, HOST, &ON_HOST).is_err());
    }
}

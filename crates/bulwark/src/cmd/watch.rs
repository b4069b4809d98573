//! `bulwark watch`: chain and server monitoring with alerts.

use crate::exit::UsageError;
use crate::output::{Output, OutputArgs, Report};
use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;
use watch::test_alert::Outcome;
use watch::Silence;

/// Watch verbs.
#[derive(Debug, Subcommand)]
pub enum WatchCommand {
    /// Run the monitoring daemon: collectors, rules, alerts, /metrics and /api/status.
    Run(RunArgs),
    /// Show a running watch's chains, nodes and firing alerts.
    Status(StatusArgs),
    /// Silence alerts for a while (they still fire and resolve, nobody is notified).
    #[command(subcommand)]
    Silence(SilenceCommand),
    /// Send a test alert, then its resolve, through every channel (or those named), to
    /// prove they reach someone; exits 1 if any channel failed.
    TestAlert(TestAlertArgs),
    /// Check a configuration file without starting anything: every problem at once
    /// (exit 2), or what it watches (exit 0).
    Check(CheckArgs),
    /// Make a running watch read its configuration file again (as SIGHUP does), and
    /// show what changed; a file with problems is refused (exit 2) and the watch goes
    /// on as it was.
    Reload(StatusArgs),
}

/// Options of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Configuration file (TOML).
    #[arg(long, short)]
    config: PathBuf,
    /// Also show the levels every rule has for this chain and its nodes, and where
    /// each value comes from (default, [rules], or a chain's, role's or node's rules).
    #[arg(long)]
    chain: Option<String>,
    #[command(flatten)]
    out: OutputArgs,
}

/// Options of `test-alert`.
#[derive(Debug, Args)]
pub struct TestAlertArgs {
    /// The watch's configuration file (its channels).
    #[arg(long, short)]
    config: PathBuf,
    /// Only this channel (repeat for more).
    #[arg(long = "channel")]
    channels: Vec<String>,
    #[command(flatten)]
    out: OutputArgs,
}

/// Silence verbs (they edit the watch's database; a running watch picks them up).
#[derive(Debug, Subcommand)]
pub enum SilenceCommand {
    /// Add a silence; every matcher given must match.
    Add(SilenceAddArgs),
    /// List silences that have not ended.
    List(SilenceListArgs),
    /// Remove a silence by id.
    Remove(SilenceRemoveArgs),
}

/// Options of `silence add`.
#[derive(Debug, Args)]
pub struct SilenceAddArgs {
    /// The watch's configuration file (for `state_path`).
    #[arg(long, short)]
    config: PathBuf,
    /// How long, e.g. `2h`.
    #[arg(long = "for", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Why (shown by `silence list`).
    #[arg(long)]
    reason: String,
    /// Rule name, e.g. `node_down`.
    #[arg(long)]
    rule: Option<String>,
    /// Chain ID.
    #[arg(long)]
    chain: Option<String>,
    /// Node name.
    #[arg(long)]
    node: Option<String>,
    /// Host name.
    #[arg(long)]
    host: Option<String>,
    /// Start of the alert key, e.g. `disk_used/val-host/`.
    #[arg(long)]
    key_prefix: Option<String>,
    #[command(flatten)]
    out: OutputArgs,
}

/// Options of `silence list`.
#[derive(Debug, Args)]
pub struct SilenceListArgs {
    /// The watch's configuration file (for `state_path`).
    #[arg(long, short)]
    config: PathBuf,
    #[command(flatten)]
    out: OutputArgs,
}

/// Options of `silence remove`.
#[derive(Debug, Args)]
pub struct SilenceRemoveArgs {
    /// The watch's configuration file (for `state_path`).
    #[arg(long, short)]
    config: PathBuf,
    /// Silence id (from `silence list`).
    id: i64,
}

/// Options of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Configuration file (TOML); see crates/watch/watch.example.toml.
    #[arg(long, short)]
    config: PathBuf,
}

/// Options of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Base URL of the watch's HTTP listener.
    #[arg(long, default_value = "http://127.0.0.1:9750")]
    url: String,
    #[command(flatten)]
    out: OutputArgs,
}

/// Run a watch verb.
pub fn run(cmd: WatchCommand) -> anyhow::Result<()> {
    match cmd {
        WatchCommand::Run(a) => run_watch(&a),
        WatchCommand::Status(a) => a.out.output().render(&status(&a)?),
        WatchCommand::Silence(c) => silence(c),
        WatchCommand::TestAlert(a) => {
            let sent = test_alert(&a)?;
            a.out.output().render(&sent)?;
            sent.all_delivered()
        }
        WatchCommand::Check(a) => a.out.output().render(&check(&a)?),
        WatchCommand::Reload(a) => a.out.output().render(&reload(&a)?),
    }
}

/// What a reload did (`reload`).
#[derive(Serialize)]
#[serde(transparent)]
struct Reloaded(Value);

impl Report for Reloaded {
    fn text(&self) -> String {
        let c = &self.0["changes"];
        let list = |k: &str| {
            let v: Vec<&str> = c[k]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        let mut out = format!(
            "{} read again: added {}; removed {}; restarted {}; {} left running\n",
            self.0["config"].as_str().unwrap_or("the configuration"),
            list("added"),
            list("removed"),
            list("restarted"),
            c["kept"]
        );
        if let Some(r) = self.0["restart_needed"]
            .as_array()
            .filter(|r| !r.is_empty())
        {
            let names: Vec<&str> = r.iter().filter_map(Value::as_str).collect();
            out.push_str(&format!(
                "changed but applied only at start: {}; restart the watch for them\n",
                names.join(", ")
            ));
        }
        out
    }
}

fn reload(a: &StatusArgs) -> anyhow::Result<Reloaded> {
    let rt = super::runtime()?;
    match rt.block_on(watch::request_reload(&a.url, Duration::from_secs(30)))? {
        Ok(done) => Ok(Reloaded(done)),
        Err(why) => Err(UsageError(format!(
            "the watch refused the reload and goes on with the configuration it had: {why}"
        ))
        .into()),
    }
}

/// What a valid configuration watches (`check`). The fields are in byte order, the order
/// of the JSON `check --json` has always printed.
#[derive(Serialize)]
struct CheckSummary {
    chains: Vec<String>,
    channels: Vec<String>,
    config: String,
    cosmos_sdk_chains: Vec<String>,
    heartbeat: bool,
    hosts: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    levels: Option<watch::config::ChainLevels>,
    listen: String,
    nodes: Vec<String>,
    nodes_with_metrics: usize,
    routes: usize,
    signers: Vec<String>,
    state_path: String,
    valid: bool,
}

impl Report for CheckSummary {
    fn text(&self) -> String {
        let with = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        let mut out = format!(
            "{} is valid: {}, {} ({} with metrics), {}, {}, {}, {}{}\n",
            self.config,
            with(self.chains.len(), "chain"),
            with(self.nodes.len(), "node"),
            self.nodes_with_metrics,
            with(self.hosts.len(), "host"),
            with(self.signers.len(), "signer"),
            with(self.channels.len(), "channel"),
            with(self.routes, "route"),
            if self.heartbeat { ", a heartbeat" } else { "" }
        );
        if self.channels.is_empty() {
            out.push_str(
                "note: no [[channel]]: alerts show on the status page and in the log only\n",
            );
        }
        if let Some(l) = &self.levels {
            out.push_str(&levels_text(l));
        }
        out
    }
}

/// A chain's levels as text: one line per rule, then each node's differences.
fn levels_text(l: &watch::config::ChainLevels) -> String {
    use watch::config::RuleLevels;
    let rule_lines = |rules: &[RuleLevels]| -> String {
        let width = rules.iter().map(|r| r.rule.len()).max().unwrap_or(0);
        rules
            .iter()
            .map(|r| {
                let fields: Vec<String> = r
                    .fields
                    .iter()
                    .map(|f| {
                        let name = if f.field.is_empty() { "" } else { &f.field };
                        format!("{name} {} ({})", f.value, f.from)
                            .trim()
                            .to_string()
                    })
                    .collect();
                format!("  {:width$}  {}\n", r.rule, fields.join(", "))
            })
            .collect()
    };
    let mut out = format!(
        "\nlevels of chain {}{}:\n",
        l.chain,
        l.block_time
            .as_ref()
            .map(|b| format!(" (block time {b})"))
            .unwrap_or_default()
    );
    out.push_str(&rule_lines(&l.rules));
    for n in &l.nodes {
        if n.rules.is_empty() {
            out.push_str(&format!(
                "node {} ({}): the chain's levels\n",
                n.name, n.role
            ));
        } else {
            out.push_str(&format!(
                "node {} ({}): where it differs from the chain\n",
                n.name, n.role
            ));
            out.push_str(&rule_lines(&n.rules));
        }
    }
    out
}

fn check(a: &CheckArgs) -> anyhow::Result<CheckSummary> {
    let c = watch::Config::load(&a.config)?;
    let levels = match &a.chain {
        Some(id) => Some(watch::config::chain_levels(&c, id).map_err(UsageError)?),
        None => None,
    };
    Ok(CheckSummary {
        levels,
        chains: c.chains.iter().map(|ch| ch.id.clone()).collect(),
        channels: c
            .channels
            .iter()
            .map(|ch| format!("{} ({})", ch.name(), ch.kind()))
            .collect(),
        config: a.config.display().to_string(),
        cosmos_sdk_chains: c
            .chains
            .iter()
            .filter(|ch| ch.abci_query || !ch.rest.is_empty())
            .map(|ch| ch.id.clone())
            .collect(),
        heartbeat: c.heartbeat.is_some(),
        hosts: c.hosts.iter().map(|h| h.name.clone()).collect(),
        listen: c.listen.to_string(),
        nodes: c.nodes.iter().map(|n| n.name.clone()).collect(),
        nodes_with_metrics: c.nodes.iter().filter(|n| n.metrics.is_some()).count(),
        routes: c.routes.len(),
        signers: c.signers.iter().map(|s| s.name.clone()).collect(),
        state_path: c.state_path.display().to_string(),
        valid: true,
    })
}

/// What each channel did with the test alert (`test-alert`).
#[derive(Serialize)]
#[serde(transparent)]
struct TestAlerts(Vec<Outcome>);

impl TestAlerts {
    /// An error naming the channels that did not deliver, if any.
    fn all_delivered(&self) -> anyhow::Result<()> {
        let failed: Vec<&str> = self
            .0
            .iter()
            .filter(|o| !o.ok())
            .map(|o| o.channel.as_str())
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            anyhow::bail!(
                "{} of {} channels did not deliver the test alert: {}; check their URLs, keys and reachability",
                failed.len(),
                self.0.len(),
                failed.join(", ")
            )
        }
    }
}

impl Report for TestAlerts {
    fn text(&self) -> String {
        let mut out = String::new();
        for o in &self.0 {
            let what = match (&o.firing_error, &o.resolved_error) {
                (None, None) => "firing and resolved delivered".to_string(),
                (Some(e), _) => format!("FAILED: {e}"),
                (None, Some(e)) => format!("firing delivered, resolve FAILED: {e}"),
            };
            out.push_str(&format!("{} ({}): {what}\n", o.channel, o.kind));
        }
        out
    }
}

fn test_alert(a: &TestAlertArgs) -> anyhow::Result<TestAlerts> {
    let config = watch::Config::load(&a.config)?;
    if config.channels.is_empty() {
        return Err(UsageError(format!(
            "{} has no [[channel]]: add one (see crates/watch/watch.example.toml)",
            a.config.display()
        ))
        .into());
    }
    let rt = super::runtime()?;
    Ok(TestAlerts(
        rt.block_on(watch::test_alert::run(&config, &a.channels))?,
    ))
}

fn store(config: &std::path::Path) -> anyhow::Result<watch::Store> {
    let config = watch::Config::load(config)?;
    Ok(watch::Store::open(&config.state_path)?)
}

fn silence(cmd: SilenceCommand) -> anyhow::Result<()> {
    let now = watch::now();
    match cmd {
        SilenceCommand::Add(a) => {
            let s = Silence {
                id: 0,
                rule: a.rule,
                chain: a.chain,
                node: a.node,
                host: a.host,
                key_prefix: a.key_prefix,
                until: now + a.duration.as_secs_f64(),
                reason: a.reason,
                created_at: now,
            };
            if !s.has_matcher() {
                return Err(UsageError(
                    "give at least one of --rule, --chain, --node, --host, --key-prefix".into(),
                )
                .into());
            }
            let id = store(&a.config)?.add_silence(&s)?;
            a.out.output().render(&SilenceAdded(Silence { id, ..s }))
        }
        SilenceCommand::List(a) => a
            .out
            .output()
            .render(&Silences(store(&a.config)?.silences(now)?)),
        SilenceCommand::Remove(a) => {
            if !store(&a.config)?.remove_silence(a.id)? {
                return Err(UsageError(format!(
                    "no silence {}; see `bulwark watch silence list`",
                    a.id
                ))
                .into());
            }
            Output::Text.render(&SilenceRemoved { id: a.id })
        }
    }
}

/// The silence `silence add` stored.
#[derive(Serialize)]
#[serde(transparent)]
struct SilenceAdded(Silence);

impl Report for SilenceAdded {
    fn text(&self) -> String {
        format!(
            "silence {} until {}\n",
            self.0.id,
            watch::rfc3339(self.0.until)
        )
    }
}

/// The silences that have not ended (`silence list`).
#[derive(Serialize)]
#[serde(transparent)]
struct Silences(Vec<Silence>);

impl Report for Silences {
    fn text(&self) -> String {
        let mut out = String::new();
        for s in &self.0 {
            let m: Vec<String> = [
                ("rule", &s.rule),
                ("chain", &s.chain),
                ("node", &s.node),
                ("host", &s.host),
                ("key_prefix", &s.key_prefix),
            ]
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
            .collect();
            out.push_str(&format!(
                "{}  until {}  {}  ({})\n",
                s.id,
                watch::rfc3339(s.until),
                m.join(" "),
                s.reason
            ));
        }
        out
    }
}

/// The silence `silence remove` removed.
#[derive(Serialize)]
struct SilenceRemoved {
    id: i64,
}

impl Report for SilenceRemoved {
    fn text(&self) -> String {
        format!("silence {} removed\n", self.id)
    }
}

fn run_watch(a: &RunArgs) -> anyhow::Result<()> {
    let shutdown = tokio_util::sync::CancellationToken::new();
    let rt = super::runtime()?;
    let sd = shutdown.clone();
    rt.spawn(async move {
        super::wait_for_signal().await;
        tracing::info!("signal received; stopping");
        sd.cancel();
    });
    tracing::info!(config = %a.config.display(), "starting watch");
    rt.block_on(watch::run_file(&a.config, shutdown))?;
    Ok(())
}

/// A running watch's `/api/status` document (`status`).
#[derive(Serialize)]
#[serde(transparent)]
struct WatchStatus(Value);

impl Report for WatchStatus {
    fn text(&self) -> String {
        status_text(&self.0)
    }
}

fn status(a: &StatusArgs) -> anyhow::Result<WatchStatus> {
    let rt = super::runtime()?;
    Ok(WatchStatus(rt.block_on(watch::fetch_status(
        &a.url,
        Duration::from_secs(5),
    ))?))
}

fn status_text(doc: &Value) -> String {
    let mut out = String::new();
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    let opt = |v: &Value| match v {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    for c in list(&doc["chains"]) {
        let grid: String = list(&c["grid"])
            .iter()
            .rev()
            .take(40)
            .rev()
            .map(|e| match e["sign"].as_str() {
                Some("signed") => '+',
                Some("missed") => 'X',
                _ => '.',
            })
            .collect();
        out.push_str(&format!(
            "chain {}  height {}  missed in a row {}  signed {} missed {}\n  last blocks (old -> new, + signed, X missed): {grid}\n",
            opt(&c["id"]),
            opt(&c["height"]),
            opt(&c["missed_in_a_row"]),
            opt(&c["signed_total"]),
            opt(&c["missed_total"]),
        ));
        for s in list(&c["sources"]) {
            let state = if s["healthy"] == true {
                "ok".to_string()
            } else {
                opt(&s["error"])
            };
            out.push_str(&format!("  rpc {}: {state}\n", opt(&s["url"])));
        }
        out.push_str(&sdk_lines(&c["sdk"]));
    }
    for n in list(&doc["nodes"]) {
        let state = if n["up"] == true {
            "up".to_string()
        } else {
            format!("DOWN ({})", opt(&n["error"]))
        };
        out.push_str(&format!(
            "node {} ({}, {}): {state}  height {}  peers {}  catching up {}",
            opt(&n["name"]),
            opt(&n["role"]),
            opt(&n["chain"]),
            opt(&n["height"]),
            opt(&n["peers"]),
            opt(&n["catching_up"]),
        ));
        let m = &n["metrics"];
        if m["up"] == true {
            let f = &m["figures"];
            out.push_str(&format!(
                "  round {}  missing power {}  mempool {}",
                opt(&f["consensus_rounds"]),
                f["missing_power_ratio"]
                    .as_f64()
                    .map_or("-".into(), |r| format!("{:.1}%", r * 100.0)),
                opt(&f["mempool_txs"]),
            ));
        } else if m.is_object() {
            out.push_str(&format!("  metrics DOWN ({})", opt(&m["error"])));
        }
        out.push('\n');
    }
    for h in list(&doc["hosts"]) {
        let state = if h["up"] == true {
            "up".to_string()
        } else {
            format!("DOWN ({})", opt(&h["error"]))
        };
        out.push_str(&format!("host {}: {state}\n", opt(&h["name"])));
        for fs in list(&h["filesystems"]) {
            let used = fs["used_ratio"].as_f64().unwrap_or(0.0) * 100.0;
            out.push_str(&format!("  {} {used:.1}% used\n", opt(&fs["mountpoint"])));
        }
    }
    let alerts = list(&doc["alerts"]);
    out.push_str(&format!("{} alert(s) firing\n", alerts.len()));
    for a in alerts {
        let held = match a["inhibited_by"].as_str() {
            Some(by) => format!(" (inhibited by {by})"),
            None => String::new(),
        };
        out.push_str(&format!(
            "  [{}] {}{held}\n",
            opt(&a["severity"]),
            opt(&a["summary"])
        ));
    }
    for c in list(&doc["channels"]) {
        let failures = c["consecutive_failures"].as_u64().unwrap_or(0);
        if failures > 0 {
            out.push_str(&format!(
                "channel {} FAILING: {failures} deliveries in a row ({})\n",
                opt(&c["name"]),
                opt(&c["last_error"])
            ));
        }
    }
    out
}

/// The Cosmos SDK part of a chain in `watch status` (nothing when it is not read).
fn sdk_lines(s: &Value) -> String {
    if !s.is_object() {
        return String::new();
    }
    let a = &s["assessment"];
    let mut parts = Vec::new();
    let v = &s["validator"];
    if v.is_object() {
        parts.push(format!(
            "validator {} {}",
            v["moniker"].as_str().unwrap_or("?"),
            v["status"].as_str().unwrap_or("?")
        ));
    }
    if a["jailed"] == true {
        parts.push("JAILED".into());
    }
    if a["tombstoned"] == true {
        parts.push("TOMBSTONED".into());
    }
    if let (Some(m), Some(al), Some(w)) = (
        a["missed_in_window"].as_u64(),
        a["allowed_missed"].as_u64(),
        s["slashing_params"]["signed_blocks_window"].as_u64(),
    ) {
        parts.push(format!(
            "missed {m} of {al} allowed in the {w}-block window"
        ));
    }
    if let Some(b) = a["jail_in_blocks"].as_u64() {
        parts.push(format!("jailed in ~{b} blocks at the current miss rate"));
    }
    if let (Some(name), Some(h), Some(b)) = (
        s["upgrade_plan"]["name"].as_str(),
        s["upgrade_plan"]["height"].as_u64(),
        a["upgrade_in_blocks"].as_i64(),
    ) {
        parts.push(format!("upgrade {name} at height {h} ({b} blocks)"));
    }
    let slow = &s["slow"];
    if let (Some(r), Some(b)) = (
        slow["standing"]["rank"].as_u64(),
        slow["standing"]["bonded_validators"].as_u64(),
    ) {
        parts.push(format!("rank {r} of {b} bonded"));
    }
    let unvoted: Vec<String> = slow["gov"]["proposals"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["voted"] == false)
        .filter_map(|p| p["id"].as_u64())
        .map(|id| format!("#{id}"))
        .collect();
    if !unvoted.is_empty() {
        parts.push(format!("not voted: {}", unvoted.join(", ")));
    }
    for w in slow["wallets"].as_array().into_iter().flatten() {
        if let (Some(n), Some(a), Some(d)) = (
            w["name"].as_str(),
            w["amount"].as_str(),
            w["denom"].as_str(),
        ) {
            parts.push(format!("wallet {n} {a}{d}"));
        }
    }
    if s["fresh"] != true {
        parts.push("data not current".into());
    }
    let mut out = format!("  sdk: {}\n", parts.join("; "));
    for src in s["sources"].as_array().cloned().unwrap_or_default() {
        let state = if src["healthy"] == true {
            "ok".to_string()
        } else {
            src["error"].as_str().unwrap_or("-").to_string()
        };
        out.push_str(&format!(
            "  {} {}: {state}\n",
            s["via"].as_str().unwrap_or("?"),
            src["url"].as_str().unwrap_or("?")
        ));
    }
    out
}

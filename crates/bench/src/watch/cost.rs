//! `watch cost`: CPU and memory of a monitor following many replayed chains.
//!
//! Each run starts a fresh replay server, starts the monitor on a config for all its
//! chains, waits until every chain has a `NewBlock` subscription, lets it warm up, then
//! measures over a window: CPU from `/proc/<pid>/stat` (user + system, all threads)
//! and resident memory sampled every second from `/proc/<pid>/status`. A Bulwark run
//! also reads each chain's Cosmos SDK REST API, governance and wallet included; after
//! it, the run fails unless the watch read all of it for every chain (see
//! [`super::sdk_check`]), asked for nothing the replay does not serve, and made every
//! chain's slow reads within the window.

use super::fixture::Fixture;
use super::procstat;
use super::replay::{chain_id, Replay};
use super::sdk_check::{self, SdkCheck};
use super::Tool;
use crate::stats::median;
use anyhow::Context;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::port::try_free_port;

/// Options of one measurement.
#[derive(Debug, Clone)]
pub struct CostOptions {
    /// Replayed chains.
    pub chains: usize,
    /// Time between blocks of each chain.
    pub block_time: Duration,
    /// Time between the last subscription and the window.
    pub warmup: Duration,
    /// The measured window.
    pub window: Duration,
    /// Also check each chain's node (`[[node]]`, `/status` and `/net_info`) in Bulwark.
    pub nodes: bool,
    /// Bulwark's `sdk_slow_interval` (governance, wallets, standing).
    pub sdk_slow_interval: Duration,
    /// Where configs, state and logs go.
    pub work: PathBuf,
}

/// One measured run.
#[derive(Debug, Clone, Serialize)]
pub struct CostRun {
    /// Monitor name.
    pub tool: String,
    /// Run number.
    pub run: usize,
    /// CPU over the window, percent of one core.
    pub cpu_percent: f64,
    /// Median resident memory over the window, MiB.
    pub rss_median_mib: f64,
    /// Largest sampled resident memory, MiB.
    pub rss_max_mib: f64,
    /// Peak resident memory of the whole process life (VmHWM), MiB.
    pub rss_peak_mib: f64,
    /// Seconds from start until every chain had a `NewBlock` subscription.
    pub subscribed_after_s: f64,
    /// What the replay server answered per second during the window, all chains.
    pub served_per_second: serde_json::Value,
    /// Chains whose latest block the monitor had checked at the end (Bulwark only:
    /// read from its `/api/status`).
    pub chains_current: Option<usize>,
    /// Bulwark only: its Cosmos SDK reads at the end, from its `/api/status`.
    pub sdk: Option<SdkCheck>,
    /// Bulwark only: wallet balance reads during the window, all chains (one per
    /// chain every `sdk_slow_interval`, with the rest of the slow reads).
    pub wallet_reads_in_window: Option<u64>,
}

const MIB: f64 = 1024.0 * 1024.0;
/// Bulwark's `sdk_interval` in the cost runs (its default, made explicit).
pub const SDK_INTERVAL: Duration = Duration::from_secs(6);

/// Measure `tool` once.
pub async fn run_once(
    tool: &Tool,
    fixture: Arc<Fixture>,
    opts: &CostOptions,
    run: usize,
) -> anyhow::Result<CostRun> {
    let replay = Replay::start(fixture.clone(), opts.chains, opts.block_time).await?;
    let dir = opts.work.join(format!("{}-{run}", tool.name()));
    std::fs::create_dir_all(&dir)?;
    let val = fixture.meta.validator_address.clone();
    let (mut child, status_url) = match tool {
        Tool::Bulwark(exe) => {
            let port = try_free_port()?;
            let cfg = bulwark_config(&dir, port, &replay, &val, opts)?;
            let path = dir.join("watch.toml");
            std::fs::write(&path, cfg)?;
            let mut c = Command::new(exe);
            c.args(["watch", "run", "--config"]).arg(&path);
            (spawn(c, &dir)?, Some(format!("http://127.0.0.1:{port}")))
        }
        Tool::Tenderduty(exe) => {
            let cfg = tenderduty_config(&replay.urls, &super::cosmos::valcons(&val));
            let path = dir.join("config.yml");
            std::fs::write(&path, cfg)?;
            std::fs::create_dir_all(dir.join("chains.d"))?;
            let mut c = Command::new(exe);
            c.arg("-f")
                .arg(&path)
                .arg("-state")
                .arg(dir.join("state.json"))
                .arg("-cc")
                .arg(dir.join("chains.d"));
            (spawn(c, &dir)?, None)
        }
    };
    let res = measure(
        &mut child,
        &replay,
        opts,
        status_url.as_deref(),
        tool.name(),
        run,
    )
    .await;
    stop(&mut child);
    replay.stop();
    if res.is_ok() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    res.with_context(|| {
        format!(
            "{} run {run}; its files are in {}",
            tool.name(),
            dir.display()
        )
    })
}

async fn measure(
    child: &mut Child,
    replay: &Replay,
    opts: &CostOptions,
    status_url: Option<&str>,
    tool: &str,
    run: usize,
) -> anyhow::Result<CostRun> {
    let pid = child.id();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(180);
    while replay.subscribed() < opts.chains {
        if let Some(st) = child.try_wait()? {
            anyhow::bail!("exited early ({st})");
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {} of {} chains subscribed to NewBlock after 180 s",
            replay.subscribed(),
            opts.chains
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let subscribed_after_s = started.elapsed().as_secs_f64();
    tokio::time::sleep(opts.warmup).await;

    let tck = procstat::ticks_per_second();
    let served0 = replay.served();
    let wallet0 = replay.wallet_reads();
    let cpu0 = procstat::cpu_seconds(pid, tck)?;
    let t0 = Instant::now();
    let mut rss = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    while t0.elapsed() < opts.window {
        tick.tick().await;
        rss.push(procstat::memory(pid)?.0 as f64);
    }
    let cpu1 = procstat::cpu_seconds(pid, tck)?;
    let wall = t0.elapsed().as_secs_f64();
    let served1 = replay.served();
    let wallet1 = replay.wallet_reads();
    let (_, hwm) = procstat::memory(pid)?;
    let (chains_current, sdk) = match status_url {
        Some(u) => {
            let doc = api_status(u).await?;
            let current = chains_current(&doc, &replay.heights())?;
            let sdks: Vec<_> = replay.chains.iter().map(|c| &c.sdk).collect();
            (Some(current), Some(sdk_check::check(&doc, &sdks)))
        }
        None => (None, None),
    };
    let in_window: Vec<u64> = wallet1.iter().zip(&wallet0).map(|(a, b)| a - b).collect();
    if let Some(c) = &sdk {
        let unserved = replay.unserved.snapshot();
        anyhow::ensure!(
            unserved.is_empty(),
            "the watch asked the replayed REST API for what it does not serve, so its figure would not include those reads: {unserved:#?}"
        );
        anyhow::ensure!(
            c.complete(opts.chains),
            "the watch did not read every chain's Cosmos SDK data: {} of {} chains read, {} with their governance, wallet and standing; alerts firing besides the reminders: {:?}; {:#?}",
            c.chains_sdk_read,
            opts.chains,
            c.chains_slow_read,
            c.unexpected_alerts,
            c.problems
        );
        let missed = in_window.iter().filter(|n| **n == 0).count();
        anyhow::ensure!(
            missed == 0,
            "{missed} of {} chains made no slow read (governance, wallet, standing) in the {:?} window: give --window at least --sdk-slow-interval ({:?}) plus the SDK poll interval ({SDK_INTERVAL:?})",
            opts.chains,
            opts.window,
            opts.sdk_slow_interval
        );
    }
    let r = CostRun {
        tool: tool.to_string(),
        run,
        cpu_percent: (cpu1 - cpu0) / wall * 100.0,
        rss_median_mib: median(rss.clone()) / MIB,
        rss_max_mib: rss.iter().copied().fold(0.0, f64::max) / MIB,
        rss_peak_mib: hwm as f64 / MIB,
        subscribed_after_s,
        served_per_second: served1.rate_since(&served0, wall),
        chains_current,
        wallet_reads_in_window: sdk.as_ref().map(|_| in_window.iter().sum()),
        sdk,
    };
    Ok(r)
}

async fn api_status(url: &str) -> anyhow::Result<serde_json::Value> {
    Ok(reqwest::Client::new()
        .get(format!("{url}/api/status"))
        .timeout(Duration::from_secs(10))
        .send()
        .await?
        .json()
        .await?)
}

/// Chains whose checked height (the commit of the latest block read) is within two blocks
/// of the replayed height, with nothing counted as missed.
fn chains_current(doc: &serde_json::Value, heights: &[u64]) -> anyhow::Result<usize> {
    let chains = doc
        .get("chains")
        .and_then(|c| c.as_array())
        .context("no chains in /api/status")?;
    Ok(chains
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            let checked = c
                .get("checked_height")
                .and_then(|h| h.as_u64())
                .unwrap_or(0);
            let missed = c.get("missed_total").and_then(|h| h.as_u64()).unwrap_or(1);
            heights.get(*i).is_some_and(|h| checked + 3 >= *h) && missed == 0
        })
        .count())
}

fn spawn(mut c: Command, dir: &Path) -> anyhow::Result<Child> {
    let log = std::fs::File::create(dir.join("output.log"))?;
    c.stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .current_dir(dir)
        .spawn()
        .context("starting the monitor")
}

/// SIGTERM, then SIGKILL after 10 s.
pub fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Bulwark's config: one `[[chain]]` per replayed chain (its one RPC endpoint, with the
/// `NewBlock` websocket, and its REST API), as a fleet's would be: labels (`env`,
/// `team`), the chain's own rule levels (`[chain.rules]`, durations in blocks too),
/// governance reminders, a `[[chain.wallet]]`, `sdk_interval` and `sdk_slow_interval`
/// given; a webhook channel that nothing reaches in steady state, with a route per
/// `env` (mainnet grouped by chain).
fn bulwark_config(
    dir: &Path,
    port: u16,
    replay: &Replay,
    val: &str,
    opts: &CostOptions,
) -> anyhow::Result<String> {
    use watch::config::{
        ChainConfig, ChannelConfig, Config, CountRule, DurationRule, MatchValue, NodeConfig, Role,
        RouteConfig, RuleOverrides, Severity, WalletConfig,
    };
    let mut c = Config::new(dir.join("watch.sqlite"));
    c.listen = ([127, 0, 0, 1], port).into();
    let hours = |h: u64| Duration::from_secs(h * 3600);
    for (i, u) in replay.urls.iter().enumerate() {
        let sdk = &replay.chains[i].sdk;
        let mainnet = i % 2 == 0;
        let env = if mainnet { "mainnet" } else { "testnet" };
        let mut chain = ChainConfig::new(&chain_id(i), vec![u.clone()]);
        chain.validator_address = Some(val.to_string());
        chain.rest = vec![replay.rest_urls[i].clone()];
        chain.operator_address = Some(sdk.operator.clone());
        chain.sdk_interval = SDK_INTERVAL;
        chain.sdk_slow_interval = opts.sdk_slow_interval;
        chain.governance = true;
        chain.block_time = Some(opts.block_time);
        chain.labels = [("env", env), ("team", "core")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into();
        let in_a_row = if mainnet { (5, 20) } else { (10, 50) };
        let stalled: std::collections::BTreeMap<&str, &str> =
            [("warning", "30 blocks"), ("critical", "90 blocks")].into();
        chain.rules = RuleOverrides::default()
            .with(
                "missed_in_a_row",
                &CountRule {
                    warning: in_a_row.0,
                    critical: in_a_row.1,
                    for_: Duration::ZERO,
                },
            )
            .with("chain_stalled", &stalled)
            .with(
                "gov_unvoted",
                &DurationRule {
                    warning: hours(48),
                    critical: hours(12),
                },
            );
        chain.wallets = vec![WalletConfig {
            name: "relayer".into(),
            address: sdk.wallet.clone(),
            denom: super::sdk_json::DENOM.into(),
            exponent: 6,
            warning: 20.0,
            critical: 5.0,
        }];
        c.chains.push(chain);
        if opts.nodes {
            c.nodes.push(NodeConfig {
                hermes: None,
                hermes_prefix: None,
                name: format!("node-{i:03}"),
                chain: chain_id(i),
                role: Role::Validator,
                rpc: u.clone(),
                metrics: None,
                history: None,
                rules: Default::default(),
                host: None,
                labels: Default::default(),
            });
        }
    }
    c.channels.push(ChannelConfig::Webhook {
        name: "ops".into(),
        url: "http://127.0.0.1:9/alerts".into(),
    });
    let env = |v: &str| [("env".to_string(), MatchValue::One(v.into()))].into();
    let mut mainnet = RouteConfig::new(&["ops"], Severity::Warning);
    mainnet.matchers = env("mainnet");
    mainnet.group_by = vec!["chain".into()];
    mainnet.group_wait = Some(Duration::from_secs(30));
    c.routes.push(mainnet);
    let mut testnet = RouteConfig::new(&["ops"], Severity::Critical);
    testnet.matchers = env("testnet");
    c.routes.push(testnet);
    Ok(c.to_toml()?)
}

/// tenderduty's config: one chain per replayed chain with its one node, the alerts of
/// its example config, no notification service, and no dashboard or Prometheus server
/// (tenderduty binds those on every interface).
fn tenderduty_config(urls: &[String], valcons: &str) -> String {
    let mut t = String::from(
        "enable_dashboard: no\nlisten_port: 8888\nhide_logs: yes\nnode_down_alert_minutes: 3\n\
         node_down_alert_severity: critical\nprometheus_enabled: no\nprometheus_listen_port: 28686\n\
         pagerduty:\n  enabled: no\n  api_key: \"\"\n  default_severity: alert\n\
         discord:\n  enabled: no\n  webhook: \"\"\n\
         telegram:\n  enabled: no\n  api_key: \"\"\n  channel: \"\"\n\
         slack:\n  enabled: no\n  webhook: \"\"\nchains:\n",
    );
    for (i, u) in urls.iter().enumerate() {
        let _ = write!(
            t,
            "  \"{id}\":\n    chain_id: {id}\n    valoper_address: {valcons}\n    public_fallback: no\n    alerts:\n\
             \x20     stalled_enabled: yes\n      stalled_minutes: 10\n      consecutive_enabled: yes\n\
             \x20     consecutive_missed: 5\n      consecutive_priority: critical\n      percentage_enabled: no\n\
             \x20     percentage_missed: 10\n      percentage_priority: warning\n      alert_if_inactive: yes\n\
             \x20     alert_if_no_servers: yes\n    nodes:\n      - url: {u}\n        alert_if_down: yes\n",
            id = chain_id(i)
        );
    }
    t
}

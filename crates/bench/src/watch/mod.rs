//! `bulwark-bench watch`: what monitoring costs per chain, and how fast a missed
//! signature is notified.
//!
//! - `record`: start a devnet and save the RPC responses a monitor reads into a fixture.
//! - `replay`: serve many chains made from the fixture on loopback, for trying by hand.
//! - `bench`: the measurement behind BENCHMARKS.md. CPU and memory of `bulwark watch run`
//!   (and tenderduty, when given) following 100 replayed chains, each with its Cosmos
//!   SDK REST API, runs alternating between the tools; then, on a real devnet,
//!   block-to-notification latency and the time from a host's failure to one grouped
//!   notification.

mod cosmos;
mod cost;
pub(crate) mod devnet;
mod fixture;
mod grouped;
mod http;
mod latency;
mod procstat;
mod record;
mod replay;
mod rest;
mod sdk_check;
mod sdk_json;

use crate::stats::median;
use clap::{Args, Subcommand};
use cost::{CostOptions, CostRun};
use fixture::Fixture;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Watch benchmarks.
#[derive(Debug, Subcommand)]
pub enum WatchCommand {
    /// Record a fixture from a fresh devnet.
    Record(RecordArgs),
    /// Serve replayed chains until Ctrl-C, printing their URLs.
    Replay(ReplayArgs),
    /// Measure: cost per chain over replayed chains, then latency on a devnet.
    Bench(BenchArgs),
}

/// Options of `record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The bulwark binary (runs the devnet).
    #[arg(long, default_value = "target/release/bulwark")]
    bulwark: PathBuf,
    /// Fixture directory (replaced).
    #[arg(long, default_value = "bench/fixtures/watch")]
    out: PathBuf,
    /// Consecutive blocks to save.
    #[arg(long, default_value_t = 10)]
    blocks: u64,
    /// kvstore transactions per second sent while recording, so blocks carry some.
    #[arg(long, default_value_t = 5)]
    tps: u32,
}

/// Options of `replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Fixture directory.
    #[arg(long, default_value = "bench/fixtures/watch")]
    fixtures: PathBuf,
    /// Number of chains.
    #[arg(long, default_value_t = 100)]
    chains: usize,
    /// Time between blocks of each chain.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    block_time: Duration,
}

/// Options of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The bulwark binary.
    #[arg(long, default_value = "target/release/bulwark")]
    bulwark: PathBuf,
    /// The tenderduty binary; leave out to measure Bulwark alone.
    #[arg(long)]
    tenderduty: Option<PathBuf>,
    /// Fixture directory.
    #[arg(long, default_value = "bench/fixtures/watch")]
    fixtures: PathBuf,
    /// Chain counts to measure, e.g. 1,100.
    #[arg(long, value_delimiter = ',', default_value = "100")]
    chains: Vec<usize>,
    /// Time between blocks of each replayed chain.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    block_time: Duration,
    /// Time after every chain is subscribed and before the window.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// Measured window of each run: at least `--sdk-slow-interval` plus Bulwark's SDK
    /// poll interval (6 s), so that it holds every chain's slow reads.
    #[arg(long, default_value = "90s", value_parser = humantime::parse_duration)]
    window: Duration,
    /// Bulwark's `sdk_slow_interval`: each chain's governance proposals and votes, its
    /// wallet's balance and our validator's standing are read this often.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    sdk_slow_interval: Duration,
    /// Runs per tool and chain count.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Also give each chain a `[[node]]` in Bulwark's config (`/status` and `/net_info`
    /// every poll), which tenderduty has no equivalent of.
    #[arg(long)]
    nodes: bool,
    /// Latency trials on the devnet (0 skips the latency part).
    #[arg(long, default_value_t = 5)]
    latency_trials: usize,
    /// Trials of a host's failure to its one grouped notification, on the same devnet
    /// (0 skips them).
    #[arg(long, default_value_t = 3)]
    grouped_trials: usize,
    /// The `group_wait` of the grouped route in those trials (it bounds their figure). It
    /// must let the host's alerts gather: `host_down` comes about 1 s after the first
    /// `node_down`, `missing_power` about 6 s after the failure.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    group_wait: Duration,
    /// Skip the cost part.
    #[arg(long)]
    skip_cost: bool,
    /// Where to write the JSON results.
    #[arg(long, default_value = "bench/results/watch.json")]
    out: PathBuf,
}

/// A monitor under test.
#[derive(Debug, Clone)]
pub enum Tool {
    /// `bulwark watch run`.
    Bulwark(PathBuf),
    /// tenderduty v2.
    Tenderduty(PathBuf),
}

impl Tool {
    /// Its name in results.
    pub fn name(&self) -> &'static str {
        match self {
            Tool::Bulwark(_) => "bulwark",
            Tool::Tenderduty(_) => "tenderduty",
        }
    }
}

/// Run a watch benchmark verb.
pub fn run(cmd: WatchCommand) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    match cmd {
        WatchCommand::Record(a) => rt.block_on(record::record(
            &crate::executable(&a.bulwark)?,
            &a.out,
            a.blocks,
            a.tps,
        )),
        WatchCommand::Replay(a) => {
            let f = Arc::new(Fixture::load(&a.fixtures)?);
            rt.block_on(replay::serve_forever(f, a.chains, a.block_time))
        }
        WatchCommand::Bench(a) => rt.block_on(bench(a)),
    }
}

#[derive(Debug, Serialize)]
struct CostResult {
    tool: String,
    chains: usize,
    median_cpu_percent: f64,
    median_rss_mib: f64,
    max_rss_mib: f64,
    cpu_percent_per_chain: f64,
    rss_mib_per_chain: f64,
    /// Against the same tool's smallest chain count: what each added chain costs.
    marginal_cpu_percent_per_chain: Option<f64>,
    marginal_rss_mib_per_chain: Option<f64>,
    runs: Vec<CostRun>,
}

#[derive(Debug, Serialize)]
struct LatencyResult {
    trials: Vec<latency::Trial>,
    median_ms: f64,
    max_ms: f64,
    median_from_block_time_ms: f64,
    max_from_block_time_ms: f64,
}

/// Fill in the marginal cost per chain of each result against the same tool's result
/// with the fewest chains.
fn marginal(cost: &mut [CostResult]) {
    let base: Vec<(String, usize, f64, f64)> = cost
        .iter()
        .map(|c| {
            (
                c.tool.clone(),
                c.chains,
                c.median_cpu_percent,
                c.median_rss_mib,
            )
        })
        .collect();
    for c in cost.iter_mut() {
        let Some((_, n0, cpu0, rss0)) = base
            .iter()
            .filter(|b| b.0 == c.tool && b.1 < c.chains)
            .min_by_key(|b| b.1)
        else {
            continue;
        };
        let d = (c.chains - n0) as f64;
        c.marginal_cpu_percent_per_chain = Some((c.median_cpu_percent - cpu0) / d);
        c.marginal_rss_mib_per_chain = Some((c.median_rss_mib - rss0) / d);
    }
}

/// Start a devnet, run the latency trials and the grouped-notification trials on it,
/// and destroy it.
async fn devnet_trials(
    a: &BenchArgs,
    work: &std::path::Path,
) -> anyhow::Result<(Option<LatencyResult>, Option<grouped::GroupedResult>)> {
    if a.latency_trials == 0 && a.grouped_trials == 0 {
        return Ok((None, None));
    }
    let net = Arc::new(tokio::task::block_in_place(|| {
        devnet::Devnet::up(&a.bulwark)
    })?);
    let shutdown = CancellationToken::new();
    let res = async {
        let latency = if a.latency_trials > 0 {
            let trials = latency::run(&a.bulwark, &net, a.latency_trials, work, &shutdown).await?;
            let l: Vec<f64> = trials.iter().map(|t| t.latency_ms).collect();
            let b: Vec<f64> = trials.iter().map(|t| t.from_block_time_ms).collect();
            Some(LatencyResult {
                median_ms: median(l.clone()),
                max_ms: l.iter().copied().fold(0.0, f64::max),
                median_from_block_time_ms: median(b.clone()),
                max_from_block_time_ms: b.iter().copied().fold(0.0, f64::max),
                trials,
            })
        } else {
            None
        };
        let grouped = if a.grouped_trials > 0 {
            let g = grouped::run(
                &a.bulwark,
                &net,
                a.grouped_trials,
                a.group_wait,
                work,
                &shutdown,
            );
            Some(g.await?)
        } else {
            None
        };
        anyhow::Ok((latency, grouped))
    }
    .await;
    shutdown.cancel();
    tokio::task::block_in_place(|| net.destroy());
    res
}

async fn bench(mut a: BenchArgs) -> anyhow::Result<()> {
    let least = a.sdk_slow_interval + cost::SDK_INTERVAL;
    anyhow::ensure!(
        a.skip_cost || a.window >= least,
        "--window {:?} is shorter than --sdk-slow-interval ({:?}) plus Bulwark's SDK poll interval ({:?}): some chains' governance, wallet and standing reads would fall outside the window; give --window {:?} or more, or a shorter --sdk-slow-interval",
        a.window,
        a.sdk_slow_interval,
        cost::SDK_INTERVAL,
        least
    );
    // The monitors run in their own work directories: a relative path would name nothing.
    a.bulwark = crate::executable(&a.bulwark)?;
    a.tenderduty = a.tenderduty.as_deref().map(crate::executable).transpose()?;
    let work = std::env::temp_dir().join(format!("bulwark-bench-watch-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let fixture = Arc::new(Fixture::load(&a.fixtures)?);
    let mut tools = vec![Tool::Bulwark(a.bulwark.clone())];
    if let Some(t) = &a.tenderduty {
        tools.push(Tool::Tenderduty(t.clone()));
    }
    let mut cost = Vec::new();
    if !a.skip_cost {
        for &n in &a.chains {
            let opts = CostOptions {
                chains: n,
                block_time: a.block_time,
                warmup: a.warmup,
                window: a.window,
                nodes: a.nodes,
                sdk_slow_interval: a.sdk_slow_interval,
                work: work.clone(),
            };
            let mut runs: Vec<Vec<CostRun>> = vec![Vec::new(); tools.len()];
            for r in 0..a.runs {
                // Alternate the order so neither tool always runs on a warmer machine.
                let order: Vec<usize> = if r % 2 == 0 {
                    (0..tools.len()).collect()
                } else {
                    (0..tools.len()).rev().collect()
                };
                for k in order {
                    let c = cost::run_once(&tools[k], fixture.clone(), &opts, r).await?;
                    let sdk = c.sdk.as_ref().map(|s| {
                        format!(
                            " sdk_read={} slow_read={} wallet_reads_in_window={} alerts={:?}",
                            s.chains_sdk_read,
                            s.chains_slow_read,
                            c.wallet_reads_in_window.unwrap_or(0),
                            s.alerts
                        )
                    });
                    eprintln!(
                        "cost {:10} chains={n:<3} run={r} cpu={:5.2}% rss={:6.1}MiB max={:6.1}MiB peak={:6.1}MiB current={:?}{} served/s={}",
                        c.tool, c.cpu_percent, c.rss_median_mib, c.rss_max_mib, c.rss_peak_mib, c.chains_current, sdk.unwrap_or_default(), c.served_per_second
                    );
                    runs[k].push(c);
                }
            }
            for (k, rs) in runs.into_iter().enumerate() {
                let cpu = median(rs.iter().map(|r| r.cpu_percent).collect());
                let rss = median(rs.iter().map(|r| r.rss_median_mib).collect());
                cost.push(CostResult {
                    tool: tools[k].name().into(),
                    chains: n,
                    median_cpu_percent: cpu,
                    median_rss_mib: rss,
                    max_rss_mib: rs.iter().map(|r| r.rss_max_mib).fold(0.0, f64::max),
                    cpu_percent_per_chain: cpu / n as f64,
                    rss_mib_per_chain: rss / n as f64,
                    marginal_cpu_percent_per_chain: None,
                    marginal_rss_mib_per_chain: None,
                    runs: rs,
                });
            }
        }
        marginal(&mut cost);
    }
    let (latency, grouped) = devnet_trials(&a, &work).await?;
    let _ = std::fs::remove_dir_all(&work);

    if let Some(parent) = a.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let doc = serde_json::json!({
        "benchmark": "watch: cost per monitored chain over replayed chains; block-to-notification latency and host failure to one grouped notification on a devnet",
        "fixture": fixture.meta,
        "block_time_s": a.block_time.as_secs_f64(),
        "warmup_s": a.warmup.as_secs_f64(),
        "window_s": a.window.as_secs_f64(),
        "runs": a.runs,
        "bulwark_nodes_per_chain": usize::from(a.nodes),
        "bulwark_sdk_interval_s": cost::SDK_INTERVAL.as_secs_f64(),
        "bulwark_sdk_slow_interval_s": a.sdk_slow_interval.as_secs_f64(),
        "machine": crate::machine(),
        "cost": cost,
        "latency": latency,
        "grouped": grouped,
    });
    std::fs::write(&a.out, serde_json::to_string_pretty(&doc)? + "\n")?;
    if !cost.is_empty() {
        println!("| monitor | chains | CPU (% of one core) | RSS median | RSS max | CPU per chain | RSS per chain | added chain: CPU | added chain: RSS |");
        println!("|---|---|---|---|---|---|---|---|---|");
        let opt = |v: Option<f64>, unit: &str, digits: usize| {
            v.map_or("-".to_string(), |x| format!("{x:.digits$}{unit}"))
        };
        for c in &cost {
            println!(
                "| {} | {} | {:.2}% | {:.1} MiB | {:.1} MiB | {:.3}% | {:.2} MiB | {} | {} |",
                c.tool,
                c.chains,
                c.median_cpu_percent,
                c.median_rss_mib,
                c.max_rss_mib,
                c.cpu_percent_per_chain,
                c.rss_mib_per_chain,
                opt(c.marginal_cpu_percent_per_chain, "%", 3),
                opt(c.marginal_rss_mib_per_chain, " MiB", 2),
            );
        }
    }
    if let Some(l) = &latency {
        println!(
            "latency over {} trials: RPC->webhook median {:.0} ms, max {:.0} ms; block time->webhook median {:.0} ms, max {:.0} ms",
            l.trials.len(),
            l.median_ms,
            l.max_ms,
            l.median_from_block_time_ms,
            l.max_from_block_time_ms
        );
    }
    if let Some(g) = &grouped {
        println!(
            "grouped notification over {} trials (group_wait {:.0}s, host_down after {:.0}s, poll {:.0}s): host failure->one notification median {:.0} ms, max {:.0} ms",
            g.trials.len(),
            g.group_wait_s,
            g.host_down_after_s,
            g.poll_interval_s,
            g.median_ms,
            g.max_ms
        );
    }
    eprintln!("results written to {}", a.out.display());
    Ok(())
}

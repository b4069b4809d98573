//! `bulwark-bench`: measured, side-by-side comparisons behind BENCHMARKS.md.
//!
//! `signer`: sign round trips over loopback SecretConnection (CometBFT v0.38 prevotes and
//! precommits with vote-extension signatures), for one chain and for many chains at once,
//! against `bulwark signer run` and tmkms (softsign), on the same request stream, every
//! signature verified. Runs alternate between the signers; medians over runs are reported.
//! tmkms softsign holds one consensus key per process, so with several chains (each with
//! its own key) it runs one process per chain.
//!
//! `threshold`: 2-of-3 threshold signing latency with a set round trip between cosigners
//! in network namespaces, Bulwark beside Horcrux. See `threshold/mod.rs`.
//!
//! `threshold-devnet`: val0's missed blocks on a real devnet with its three 2-of-3
//! cosigners a set round trip apart. See `threshold/devnet.rs`.
//!
//! `watch`: what `bulwark watch run` costs per monitored chain (CPU and memory over 100
//! chains replayed from recorded devnet responses, beside tenderduty), and how fast a
//! missed signature reaches a webhook on a real devnet. See `watch/mod.rs`.

mod backends;
mod stats;
mod stream;
mod targets;
mod threshold;
mod watch;

use anyhow::Context;
use clap::Parser;
use ed25519_dalek::SigningKey;
use privval::Line;
use serde::Serialize;
use stats::{median, summarize, Summary};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use targets::{Chain, Kind};
use testkit::node::FakeNode;

/// Benchmarks behind BENCHMARKS.md. Without a subcommand: the signer against tmkms.
#[derive(Debug, Parser)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    #[command(flatten)]
    signer: Args,
}

#[derive(Debug, clap::Subcommand)]
enum Cmd {
    /// The watch: cost per monitored chain, and block-to-notification latency.
    #[command(subcommand)]
    Watch(watch::WatchCommand),
    /// Threshold signing: 2-of-3 latency with a set round trip between cosigners.
    Threshold(threshold::ThresholdArgs),
    /// Threshold signing on a devnet: val0's missed blocks with a set round trip between
    /// its cosigners.
    ThresholdDevnet(threshold::devnet::DevnetArgs),
}

/// Benchmark the signer against tmkms.
#[derive(Debug, clap::Args)]
struct Args {
    /// The bulwark binary (build it with `cargo build --release`).
    #[arg(long, default_value = "target/release/bulwark")]
    bulwark: PathBuf,
    /// The tmkms binary (`cargo install tmkms --features softsign`); leave out to skip tmkms.
    #[arg(long)]
    tmkms: Option<PathBuf>,
    /// Bulwark's key backends to run: file, pkcs11 (SoftHSM2), vault.
    #[arg(long, value_delimiter = ',', default_value = "file")]
    backends: Vec<String>,
    /// Chain counts to run, e.g. 1,20.
    #[arg(long, value_delimiter = ',', default_value = "1,20")]
    chains: Vec<usize>,
    /// Measured requests per run, spread over the chains.
    #[arg(long, default_value_t = 4000)]
    requests: u64,
    /// Warm-up requests per chain before measuring.
    #[arg(long, default_value_t = 50)]
    warmup: u64,
    /// Request stream.
    #[arg(long, value_enum, default_value_t = stream::Stream::Prevotes)]
    stream: stream::Stream,
    /// Runs per signer and chain count.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Where to write the JSON results.
    #[arg(long, default_value = "bench/results/signer.json")]
    out: PathBuf,
}

#[derive(Debug, Serialize)]
struct Result {
    signer: String,
    chains: usize,
    runs: Vec<Summary>,
    median_p50_us: f64,
    median_p99_us: f64,
    median_per_second: f64,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Some(Cmd::Watch(w)) => watch::run(w),
        Some(Cmd::Threshold(t)) => threshold::run(t),
        Some(Cmd::ThresholdDevnet(d)) => threshold::devnet::run(d),
        None => signer(cli.signer),
    }
}

/// `path` as an absolute path, so that it still names the program when it is started in
/// another directory (the monitors under test run in their own work directories).
pub(crate) fn executable(path: &Path) -> anyhow::Result<PathBuf> {
    std::fs::canonicalize(path).with_context(|| {
        format!(
            "{}: no such program; build it first (`cargo build --release -p bulwark` for \
             target/release/bulwark) or pass its path",
            path.display()
        )
    })
}

fn signer(args: Args) -> anyhow::Result<()> {
    let bulwark = executable(&args.bulwark)?;
    let mut kinds = Vec::new();
    for b in &args.backends {
        let kind = match b.as_str() {
            "file" => Kind::Bulwark,
            "pkcs11" => Kind::BulwarkPkcs11,
            "vault" => Kind::BulwarkVault,
            other => anyhow::bail!("--backends {other}: use file, pkcs11 or vault"),
        };
        kinds.push((kind, bulwark.clone()));
    }
    if let Some(t) = &args.tmkms {
        kinds.push((Kind::Tmkms, executable(t)?));
    }
    let work = std::env::temp_dir().join(format!("bulwark-bench-{}", std::process::id()));
    let mut results = Vec::new();
    for &n in &args.chains {
        let mut runs: Vec<Vec<Summary>> = vec![Vec::new(); kinds.len()];
        for r in 0..args.runs {
            // Alternate the order so neither signer always runs on a warmer machine.
            let order: Vec<usize> = if r % 2 == 0 {
                (0..kinds.len()).collect()
            } else {
                (0..kinds.len()).rev().collect()
            };
            for k in order {
                let (kind, exe) = &kinds[k];
                let dir = work.join(format!("{}-{n}-{r}", kind.name()));
                let s = run_once(*kind, exe, &dir, n, args.stream, args.requests, args.warmup)
                    .with_context(|| format!("{} with {n} chain(s), run {r}", kind.name()))?;
                eprintln!(
                    "{:8} chains={n:<3} run={r} p50={:7.1}us p99={:7.1}us {:8.0}/s",
                    kind.name(),
                    s.p50_us,
                    s.p99_us,
                    s.per_second
                );
                runs[k].push(s);
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
        for (k, rs) in runs.into_iter().enumerate() {
            results.push(Result {
                signer: kinds[k].0.name().into(),
                chains: n,
                median_p50_us: median(rs.iter().map(|s| s.p50_us).collect()),
                median_p99_us: median(rs.iter().map(|s| s.p99_us).collect()),
                median_per_second: median(rs.iter().map(|s| s.per_second).collect()),
                runs: rs,
            });
        }
    }
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let doc = serde_json::json!({
        "benchmark": "signer round trip, CometBFT v0.38 over loopback SecretConnection",
        "stream": format!("{:?}", args.stream).to_lowercase(),
        "requests_per_run": args.requests,
        "runs": args.runs,
        "machine": machine(),
        "results": results,
    });
    std::fs::write(&args.out, serde_json::to_string_pretty(&doc)? + "\n")?;
    println!("| signer | chains | p50 (us) | p99 (us) | signatures/s |");
    println!("|---|---|---|---|---|");
    for r in &results {
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.0} |",
            r.signer, r.chains, r.median_p50_us, r.median_p99_us, r.median_per_second
        );
    }
    eprintln!("results written to {}", args.out.display());
    Ok(())
}

fn run_once(
    kind: Kind,
    exe: &std::path::Path,
    dir: &std::path::Path,
    n: usize,
    stream: stream::Stream,
    requests: u64,
    warmup: u64,
) -> anyhow::Result<Summary> {
    let listeners = (0..n)
        .map(|_| FakeNode::bind())
        .collect::<std::io::Result<Vec<_>>>()?;
    let chains: Vec<Chain> = listeners
        .iter()
        .enumerate()
        .map(|(i, l)| Chain {
            id: format!("bench-{i}"),
            key: SigningKey::generate(&mut rand_core::OsRng),
            port: l.port,
        })
        .collect();
    let _signers = targets::start(kind, exe, dir, &chains)?;
    let node_key = SigningKey::generate(&mut rand_core::OsRng);
    let per_chain = requests.div_ceil(n as u64);
    let mut conns = Vec::new();
    for (l, c) in listeners.iter().zip(&chains) {
        let mut conn = l.accept_with(Line::V0_38, &node_key, Duration::from_secs(30))?;
        conn.set_nodelay(true)?;
        let key = stream::pub_key(&mut conn, &c.id)?;
        anyhow::ensure!(
            key == c.key.verifying_key(),
            "{} answered with another key",
            c.id
        );
        stream::drive(&mut conn, stream, &c.id, &key, 0, warmup)?;
        conns.push((conn, c.id.clone(), key));
    }
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(n + 1));
    let handles: Vec<_> = conns
        .into_iter()
        .map(|(mut conn, id, key)| {
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                stream::drive(&mut conn, stream, &id, &key, warmup, per_chain)
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.join().expect("driver thread")?);
    }
    Ok(summarize(all, start.elapsed()))
}

/// CPU model and core count, for results files.
pub(crate) fn machine() -> serde_json::Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|t| {
        t.lines()
            .find(|l| l.starts_with("model name"))
            .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
    });
    serde_json::json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
    })
}

//! `threshold`: signing latency of a 2-of-3 threshold signer with a set round trip
//! between cosigners, Bulwark beside Horcrux. Each cosigner runs in its own network
//! namespace; each cosigner-to-cosigner path goes through a link in the bench that adds
//! half the round trip each way. The bench plays the CometBFT v0.38 node of cosigner 1
//! (over SecretConnection), sends prevotes one after another and times each from write
//! to decoded response; every signature is verified with the validator's key. Runs
//! alternate between the signers.

mod bulwark;
pub(crate) mod devnet;
mod horcrux;

use crate::stats::{median, summarize, Summary};
use crate::stream::{drive, Stream};
use anyhow::Context;
use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};
use testkit::link::{Link, Shape};
use testkit::netns::Netns;
use testkit::node::NodeConn;

/// Benchmark threshold signing.
#[derive(Debug, clap::Args)]
pub struct ThresholdArgs {
    /// The bulwark binary (build it with `cargo build --release`).
    #[arg(long, default_value = "target/release/bulwark")]
    bulwark: PathBuf,
    /// The horcrux binary (v3.3.2, built by `scripts/install-deps`). Default:
    /// `$BULWARK_HORCRUX`, or the install-deps cache. Horcrux is skipped when it is absent.
    #[arg(long)]
    horcrux: Option<PathBuf>,
    /// Leave Horcrux out.
    #[arg(long)]
    no_horcrux: bool,
    /// Also run Horcrux with the node on a Raft follower (it forwards every request to
    /// the leader: one more round trip).
    #[arg(long)]
    horcrux_follower: bool,
    /// Round trips between cosigners to run, in milliseconds.
    #[arg(long, value_delimiter = ',', default_value = "0,20,80")]
    rtt: Vec<u64>,
    /// Measured requests per run.
    #[arg(long, default_value_t = 300)]
    requests: u64,
    /// Warm-up requests before measuring.
    #[arg(long, default_value_t = 20)]
    warmup: u64,
    /// Runs per signer and round trip.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Where to write the JSON results.
    #[arg(long, default_value = "bench/results/threshold.json")]
    out: PathBuf,
}

#[derive(Debug, Serialize)]
struct Row {
    signer: String,
    rtt_ms: u64,
    runs: Vec<Summary>,
    /// Per run: the requests that failed before the first signature that verified.
    startup_errors: Vec<Vec<String>>,
    median_p50_us: f64,
    median_p99_us: f64,
}

/// A signer under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Bulwark,
    /// Horcrux, the node's connection on the Raft leader.
    Horcrux,
    /// Horcrux, the node's connection on a follower.
    HorcruxFollower,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Bulwark => "bulwark",
            Target::Horcrux => "horcrux",
            Target::HorcruxFollower => "horcrux (node on a follower)",
        }
    }
}

const CHAIN: &str = "bench-threshold";
/// Every cosigner's p2p port inside its namespace.
const PORT: u16 = 7400;

/// One run: the inputs every target shares.
struct RunSpec<'a> {
    dir: &'a Path,
    rtt: Duration,
    warmup: u64,
    requests: u64,
}

/// Run the benchmark.
pub fn run(args: ThresholdArgs) -> anyhow::Result<()> {
    let bulwark = crate::executable(&args.bulwark)?;
    let horcrux = horcrux_binary(&args)?;
    let mut targets = vec![(Target::Bulwark, bulwark.as_path())];
    if let Some(h) = &horcrux {
        targets.push((Target::Horcrux, h.as_path()));
        if args.horcrux_follower {
            targets.push((Target::HorcruxFollower, h.as_path()));
        }
    }
    let work = std::env::temp_dir().join(format!("bulwark-bench-threshold-{}", std::process::id()));
    let mut rows = Vec::new();
    for &rtt in &args.rtt {
        let mut runs: Vec<Vec<Measured>> = (0..targets.len()).map(|_| Vec::new()).collect();
        for r in 0..args.runs {
            // Alternate which signer goes first.
            let mut order: Vec<usize> = (0..targets.len()).collect();
            if r % 2 == 1 {
                order.reverse();
            }
            for t in order {
                let (target, program) = targets[t];
                let dir = work.join(format!("{t}-{rtt}-{r}"));
                std::fs::create_dir_all(&dir)?;
                let spec = RunSpec {
                    dir: &dir,
                    rtt: Duration::from_millis(rtt),
                    warmup: args.warmup,
                    requests: args.requests,
                };
                let m = match target {
                    Target::Bulwark => bulwark::once(program, &spec),
                    // The node is cosigner 1's; make cosigner 1, or 2, the Raft leader.
                    Target::Horcrux => horcrux::once(program, &spec, 1),
                    Target::HorcruxFollower => horcrux::once(program, &spec, 2),
                }
                .with_context(|| {
                    format!(
                        "{} at {rtt} ms, run {r} (files in {})",
                        target.name(),
                        dir.display()
                    )
                })?;
                eprintln!(
                    "{:<28} rtt={rtt:>3}ms run={r} p50={:9.1}us p99={:9.1}us",
                    target.name(),
                    m.summary.p50_us,
                    m.summary.p99_us
                );
                for e in &m.startup_errors {
                    eprintln!("  before the first verified signature: {e}");
                }
                runs[t].push(m);
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
        for (t, runs) in runs.into_iter().enumerate() {
            let (summaries, startup_errors): (Vec<_>, Vec<_>) = runs
                .into_iter()
                .map(|m| (m.summary, m.startup_errors))
                .unzip();
            rows.push(Row {
                signer: targets[t].0.name().into(),
                rtt_ms: rtt,
                median_p50_us: median(summaries.iter().map(|s| s.p50_us).collect()),
                median_p99_us: median(summaries.iter().map(|s| s.p99_us).collect()),
                runs: summaries,
                startup_errors,
            });
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let doc = serde_json::json!({
        "benchmark": "2-of-3 threshold signing latency, CometBFT v0.38 prevotes, cosigners in network namespaces with a delaying link on each path",
        "requests_per_run": args.requests,
        "warmup": args.warmup,
        "runs": args.runs,
        "horcrux": horcrux.as_ref().map(|_| testkit::horcrux::HORCRUX_VERSION),
        "machine": crate::machine(),
        "results": rows,
    });
    std::fs::write(&args.out, serde_json::to_string_pretty(&doc)? + "\n")?;
    print_tables(&rows);
    eprintln!("results written to {}", args.out.display());
    Ok(())
}

/// The Horcrux binary to run, or `None` (with a message) to skip it.
fn horcrux_binary(args: &ThresholdArgs) -> anyhow::Result<Option<PathBuf>> {
    if args.no_horcrux {
        return Ok(None);
    }
    let path = args
        .horcrux
        .clone()
        .unwrap_or_else(testkit::horcrux::horcrux_path);
    if !path.is_file() {
        eprintln!(
            "threshold: no Horcrux at {}: running Bulwark only (scripts/install-deps builds Horcrux {}, or pass --horcrux PATH)",
            path.display(),
            testkit::horcrux::HORCRUX_VERSION
        );
        return Ok(None);
    }
    Ok(Some(crate::executable(&path)?))
}

fn print_tables(rows: &[Row]) {
    println!("| signer | round trip between cosigners | p50 (ms) | p99 (ms) |");
    println!("|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} ms | {:.2} | {:.2} |",
            r.signer,
            r.rtt_ms,
            r.median_p50_us / 1000.0,
            r.median_p99_us / 1000.0
        );
    }
    let of = |name: &str, rtt: u64| rows.iter().find(|r| r.signer == name && r.rtt_ms == rtt);
    let ratios: Vec<_> = rows
        .iter()
        .filter(|r| r.signer == Target::Bulwark.name())
        .filter_map(|b| of(Target::Horcrux.name(), b.rtt_ms).map(|h| (b, h)))
        .collect();
    if ratios.is_empty() {
        return;
    }
    println!();
    println!("| round trip | p50 Bulwark / Horcrux | p99 Bulwark / Horcrux |");
    println!("|---|---|---|");
    for (b, h) in ratios {
        println!(
            "| {} ms | {:.2}× | {:.2}× |",
            b.rtt_ms,
            b.median_p50_us / h.median_p50_us,
            b.median_p99_us / h.median_p99_us
        );
    }
}

/// The namespaces and the links between them.
struct Net {
    netns: Netns,
    /// links[i][j]: cosigner i's path to cosigner j.
    links: Vec<Vec<Option<Link>>>,
}

impl Net {
    /// Cosigner `i`'s address for cosigner `j`: the link between them.
    fn peer(&self, i: usize, j: usize) -> std::net::SocketAddr {
        self.links[i][j]
            .as_ref()
            .expect("a path to another cosigner")
            .addr
    }
}

fn network(rtt: Duration) -> Net {
    let netns = Netns::create(3);
    let links = (0..3)
        .map(|i| {
            (0..3)
                .map(|j| {
                    (i != j).then(|| {
                        Link::shaped(
                            &format!("{}:0", netns.host_addr(i)),
                            &format!("{}:{PORT}", netns.ns_addr(j)),
                            Shape::round_trip(rtt),
                        )
                    })
                })
                .collect()
        })
        .collect();
    Net { netns, links }
}

/// Child processes, killed on drop.
struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// What one run measured.
struct Measured {
    summary: Summary,
    /// The requests that failed before the first signature that verified, each with why.
    startup_errors: Vec<String>,
}

/// The measured part of a run on the node's connection. Until the cosigners can sign
/// (links up, nonces shared) a request may fail: each failure is noted and the next
/// request is for the next height (a signer may have stored what it answered for the
/// failed one). From the first signature that verifies, the rest of the warm-up, then
/// the measured requests, every one of which must verify.
fn measure(conn: &mut NodeConn, vk: &VerifyingKey, spec: &RunSpec) -> anyhow::Result<Measured> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut next = 0;
    let mut startup_errors = Vec::new();
    loop {
        let r = drive(conn, Stream::Prevotes, CHAIN, vk, next, 1);
        next += 1;
        match r {
            Ok(_) => break,
            Err(e) if Instant::now() < deadline => {
                startup_errors.push(format!("height {next}: {e:#}"));
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => return Err(e.context("the cosigners never signed")),
        }
    }
    drive(conn, Stream::Prevotes, CHAIN, vk, next, spec.warmup)?;
    next += spec.warmup;
    let start = Instant::now();
    let lat = drive(conn, Stream::Prevotes, CHAIN, vk, next, spec.requests)?;
    Ok(Measured {
        summary: summarize(lat, start.elapsed()),
        startup_errors,
    })
}

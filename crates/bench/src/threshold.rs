//! `threshold`: signing latency of a 2-of-3 threshold signer with a set round trip
//! between cosigners. Each cosigner runs in its own network namespace; each
//! cosigner-to-cosigner path goes through a link in the bench that adds half the round
//! trip each way. The bench plays the CometBFT v0.38 node of cosigner 1 (over
//! SecretConnection), sends prevotes one after another and times each from write to
//! decoded response; every signature is verified with the validator's key.

use crate::stats::{median, summarize, Summary};
use anyhow::Context;
use ed25519_dalek::VerifyingKey;
use privval::Line;
use serde::Serialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use testkit::link::{Link, Shape};
use testkit::netns::Netns;
use testkit::node::FakeNode;
use testkit::threshold::{cosigners_in, Topology};

/// Benchmark threshold signing.
#[derive(Debug, clap::Args)]
pub struct ThresholdArgs {
    /// The bulwark binary (build it with `cargo build --release`).
    #[arg(long, default_value = "target/release/bulwark")]
    bulwark: PathBuf,
    /// Round trips between cosigners to run, in milliseconds.
    #[arg(long, value_delimiter = ',', default_value = "0,20,80")]
    rtt: Vec<u64>,
    /// Measured requests per run.
    #[arg(long, default_value_t = 300)]
    requests: u64,
    /// Warm-up requests before measuring.
    #[arg(long, default_value_t = 20)]
    warmup: u64,
    /// Runs per round trip.
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
    median_p50_us: f64,
    median_p99_us: f64,
}

const CHAIN: &str = "bench-threshold";
const PORT: u16 = 7400;

/// Run the benchmark.
pub fn run(args: ThresholdArgs) -> anyhow::Result<()> {
    let bulwark = crate::executable(&args.bulwark)?;
    let work = std::env::temp_dir().join(format!("bulwark-bench-threshold-{}", std::process::id()));
    let mut rows = Vec::new();
    for &rtt in &args.rtt {
        let mut runs = Vec::new();
        for r in 0..args.runs {
            let dir = work.join(format!("bulwark-{rtt}-{r}"));
            std::fs::create_dir_all(&dir)?;
            let s = bulwark_once(
                &bulwark,
                &dir,
                Duration::from_millis(rtt),
                args.warmup,
                args.requests,
            )
            .with_context(|| format!("bulwark at {rtt} ms, run {r}"))?;
            eprintln!(
                "bulwark rtt={rtt:>3}ms run={r} p50={:9.1}us p99={:9.1}us",
                s.p50_us, s.p99_us
            );
            runs.push(s);
            let _ = std::fs::remove_dir_all(&dir);
        }
        rows.push(Row {
            signer: "bulwark".into(),
            rtt_ms: rtt,
            median_p50_us: median(runs.iter().map(|s| s.p50_us).collect()),
            median_p99_us: median(runs.iter().map(|s| s.p99_us).collect()),
            runs,
        });
    }
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let doc = serde_json::json!({
        "benchmark": "2-of-3 threshold signing latency, CometBFT v0.38 prevotes, cosigners in network namespaces with a delaying link on each path",
        "requests_per_run": args.requests,
        "runs": args.runs,
        "machine": crate::machine(),
        "results": rows,
    });
    std::fs::write(&args.out, serde_json::to_string_pretty(&doc)? + "\n")?;
    println!("| signer | round trip between cosigners | p50 (ms) | p99 (ms) |");
    println!("|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} ms | {:.2} | {:.2} |",
            r.signer,
            r.rtt_ms,
            r.median_p50_us / 1000.0,
            r.median_p99_us / 1000.0
        );
    }
    eprintln!("results written to {}", args.out.display());
    Ok(())
}

/// The namespaces and the links between them.
struct Net {
    netns: Netns,
    /// links[i][j]: cosigner i's path to cosigner j.
    links: Vec<Vec<Option<Link>>>,
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

struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn bulwark_once(
    bulwark: &Path,
    dir: &Path,
    rtt: Duration,
    warmup: u64,
    requests: u64,
) -> anyhow::Result<Summary> {
    let net = network(rtt);
    let node = FakeNode::bind_at(&format!("{}:0", net.netns.host_addr(0)))?;
    let (key_path, key) = testkit::signer::write_key(dir);
    let nodes: Vec<Vec<String>> = (0..3)
        .map(|i| {
            if i == 0 {
                vec![format!("tcp://{}:{}", net.netns.host_addr(0), node.port)]
            } else {
                vec![format!("unix://{}/absent-{i}.sock", dir.display())]
            }
        })
        .collect();
    let peer_addr = |i: usize, j: usize| -> SocketAddr {
        net.links[i][j]
            .as_ref()
            .expect("a path to another cosigner")
            .addr
    };
    let topology = Topology {
        listen: (0..3)
            .map(|i| (net.netns.ns_addr(i), PORT).into())
            .collect(),
        peer_addr: &peer_addr,
        edit: &|_| {},
    };
    let init = |state: &Path| {
        let ok = Command::new(bulwark)
            .args([
                "signer",
                "state",
                "init",
                "--chain-id",
                CHAIN,
                "--height",
                "0",
                "--state",
            ])
            .arg(state)
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "bulwark signer state init failed");
    };
    let configs = cosigners_in(dir, CHAIN, "v0.38", &key_path, 2, &nodes, init, &topology);
    let mut procs = Procs(Vec::new());
    for (i, c) in configs.iter().enumerate() {
        let log = std::fs::File::create(c.with_extension("log"))?;
        let child = Command::new("ip")
            .args(["netns", "exec", &net.netns.name(i)])
            .arg(bulwark)
            .args(["--log-level", "warn", "signer", "run", "--config"])
            .arg(c)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        procs.0.push(child);
    }
    let node_key = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
    let mut conn = node.accept_with(Line::V0_38, &node_key, Duration::from_secs(30))?;
    conn.set_nodelay(true)?;
    let vk: VerifyingKey = key.verifying_key();
    // Until the cosigners have their links and nonces, a request fails: warm up on the
    // first height until it signs, then the rest of the warm-up.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match crate::stream::drive(&mut conn, crate::stream::Stream::Prevotes, CHAIN, &vk, 0, 1) {
            Ok(_) => break,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => return Err(e.context("the cosigners never signed")),
        }
    }
    crate::stream::drive(
        &mut conn,
        crate::stream::Stream::Prevotes,
        CHAIN,
        &vk,
        1,
        warmup,
    )?;
    let start = Instant::now();
    let lat = crate::stream::drive(
        &mut conn,
        crate::stream::Stream::Prevotes,
        CHAIN,
        &vk,
        1 + warmup,
        requests,
    )?;
    drop(procs);
    Ok(summarize(lat, start.elapsed()))
}

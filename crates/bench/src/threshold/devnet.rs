//! `threshold-devnet`: val0's missed blocks on a real devnet when its three 2-of-3
//! cosigners sit a set round trip apart.
//!
//! `bulwark devnet up --signer threshold` (4 validators, so the chain goes on without
//! val0) in a temporary directory; then the bench stops the three cosigners, points
//! every `[[threshold.peer]] addr` of each cosigner's `signer.toml` at a link run by the
//! bench that adds the round trip (half each way) in front of that peer's listen
//! address, and starts the cosigners again the way the devnet does. Once val0's
//! signature is back in a commit it waits for `--blocks` more blocks and reads each of
//! their commits from val1's RPC: a block whose commit lacks val0's signature (absent or
//! nil) is missed.

use anyhow::Context;
use serde::Serialize;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};
use testkit::link::{Link, Shape};

use crate::watch::devnet::Devnet;

/// Missed blocks of a threshold-signed validator on the devnet.
#[derive(Debug, clap::Args)]
pub struct DevnetArgs {
    /// The bulwark binary (build it with `cargo build --release`).
    #[arg(long, default_value = "target/release/bulwark")]
    bulwark: PathBuf,
    /// Round trip added between cosigners, in milliseconds.
    #[arg(long, default_value_t = 80)]
    rtt: u64,
    /// Blocks to measure over.
    #[arg(long, default_value_t = 1000)]
    blocks: u64,
    /// Where to write the JSON results (replaced).
    #[arg(long, default_value = "bench/results/threshold-devnet.json")]
    out: PathBuf,
    /// Keep the devnet's directory (logs, configs) and leave it stopped.
    #[arg(long)]
    keep: bool,
    /// Whose cosigners sign for val0: Bulwark's (the devnet's own, restarted behind the
    /// links) or Horcrux's (needs root: network namespaces).
    #[arg(long, value_enum, default_value_t = Cosigners::Bulwark)]
    signer: Cosigners,
    /// The horcrux binary (v3.3.2, built by `scripts/install-deps --horcrux`). Default:
    /// `$BULWARK_HORCRUX`, or the install-deps cache.
    #[arg(long)]
    horcrux: Option<PathBuf>,
}

/// Whose cosigners sign for val0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Cosigners {
    Bulwark,
    Horcrux,
}

#[derive(Debug, Serialize)]
struct Outcome {
    signer: String,
    rtt_ms: u64,
    blocks: u64,
    first_height: u64,
    last_height: u64,
    missed: u64,
    missed_heights: Vec<u64>,
    evidence_blocks: usize,
    /// Mean block time over the window, from the block headers' times.
    block_time_ms: f64,
    /// Wall time of the window as the bench saw it.
    elapsed_seconds: f64,
    /// After the window: each cosigner's threshold metrics (round trips to its peers
    /// where it coordinated, signatures made, shares released and refused), as
    /// `/metrics` lines.
    cosigner_metrics: Vec<Vec<String>>,
}

/// Run the benchmark.
pub fn run(args: DevnetArgs) -> anyhow::Result<()> {
    let bulwark = crate::executable(&args.bulwark)?;
    anyhow::ensure!(args.blocks > 0, "--blocks must be at least 1");
    eprintln!("bringing up a devnet with val0 on three 2-of-3 cosigners");
    let net = Devnet::up_with(&bulwark, "threshold-devnet", &["--signer", "threshold"])?;
    let result = match args.signer {
        Cosigners::Bulwark => bulwark_cosigners(&net, &bulwark, &args),
        Cosigners::Horcrux => {
            let horcrux = crate::executable(
                &args
                    .horcrux
                    .clone()
                    .unwrap_or_else(testkit::horcrux::horcrux_path),
            );
            horcrux.and_then(|h| horcrux_cosigners(&net, &h, &args))
        }
    };
    if args.keep {
        let _ = std::process::Command::new(&bulwark)
            .arg("devnet")
            .arg("down")
            .arg("--dir")
            .arg(&net.dir)
            .output();
        eprintln!("devnet kept in {}", net.dir.display());
    } else {
        net.destroy();
    }
    let outcome = result?;
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let doc = serde_json::json!({
        "benchmark": "missed blocks of a 2-of-3 threshold-signed validator on the devnet, \
                      a set round trip between its cosigners",
        "measured_at": humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        "machine": crate::machine(),
        "results": [outcome],
    });
    std::fs::write(&args.out, serde_json::to_string_pretty(&doc)? + "\n")?;
    println!("| signer | round trip between cosigners | blocks | missed | block time |");
    println!("|---|---|---|---|---|");
    println!(
        "| {} | {} ms | {} ({}..={}) | {} | {:.0} ms |",
        outcome.signer,
        outcome.rtt_ms,
        outcome.blocks,
        outcome.first_height,
        outcome.last_height,
        outcome.missed,
        outcome.block_time_ms
    );
    eprintln!("results written to {}", args.out.display());
    Ok(())
}

/// Bulwark's cosigners: the devnet's own, restarted with every peer behind a link.
fn bulwark_cosigners(
    net: &Devnet,
    bulwark: &std::path::Path,
    args: &DevnetArgs,
) -> anyhow::Result<Outcome> {
    let dir = &net.dir;
    let manifest = &net.manifest;
    for id in devnet::cosigner::ids() {
        net.stop(&devnet::cosigner::name(id))?;
    }
    // One link per ordered pair of cosigners: i reaches peer j through links[(i, j)].
    let shape = Shape::round_trip(Duration::from_millis(args.rtt));
    let mut links = Vec::new();
    for id in devnet::cosigner::ids() {
        let path = devnet::cosigner::config_path(dir, id);
        let mut config = signer::config::Config::load(&path)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("reading {}", path.display()))?;
        let threshold = config
            .threshold
            .as_mut()
            .context("the cosigner's config has no [threshold]")?;
        for peer in &mut threshold.peers {
            let upstream = format!(
                "127.0.0.1:{}",
                devnet::cosigner::listen_port(manifest, peer.id)
            );
            let link = Link::shaped("127.0.0.1:0", &upstream, shape);
            peer.addr = link.addr;
            links.push(link);
        }
        let text = format!(
            "# Cosigner {id}, rewritten by `bulwark-bench threshold-devnet`: every peer \
             through a link adding {} ms to the round trip.\n\n{}",
            args.rtt,
            config.to_toml()
        );
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    for id in devnet::cosigner::ids() {
        devnet::process::start(dir, &devnet::cosigner::spec(dir, id, bulwark))
            .map_err(|e| anyhow::anyhow!("starting cosigner {id}: {e}"))?;
    }
    let metrics: Vec<String> = devnet::cosigner::ids()
        .map(|id| {
            format!(
                "http://127.0.0.1:{}/metrics",
                devnet::cosigner::metrics_port(manifest, id)
            )
        })
        .collect();
    let outcome = window(net, args, "bulwark", &metrics);
    drop(links);
    outcome
}

/// Horcrux's cosigners in place of the devnet's: val0's key split by `horcrux
/// create-ed25519-shards` (2 of 3), each cosigner in its own network namespace (Horcrux
/// binds its p2p port on all interfaces), its peers' p2p addresses on the delaying
/// links, and both val0 nodes in every cosigner's `chainNodes` through plain links on
/// the host side of its veth. Each starts from a sign state just above the chain's tip,
/// so nothing the Bulwark cosigners signed is signed again.
fn horcrux_cosigners(
    net: &Devnet,
    horcrux: &std::path::Path,
    args: &DevnetArgs,
) -> anyhow::Result<Outcome> {
    use std::process::{Command, Stdio};
    let dir = &net.dir;
    let manifest = &net.manifest;
    for id in devnet::cosigner::ids() {
        net.stop(&devnet::cosigner::name(id))?;
    }
    let rpc = manifest
        .node("val1")
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .rpc_url();
    let hnet = super::network(Duration::from_millis(args.rtt));
    let work = dir.join("horcrux");
    let key = devnet::generate::key_path(dir, devnet::topology::OPERATOR);
    testkit::horcrux::create_shards_with(horcrux, &work, &manifest.chain_id, &key, 2, 3);
    testkit::horcrux::create_ecies_shards_with(horcrux, &work, 3);
    let signer_ports: Vec<u16> = manifest
        .nodes
        .iter()
        .filter(|n| devnet::topology::is_operator_node(n))
        .filter_map(|n| n.signer_port)
        .collect();
    let mut node_links = Vec::new();
    let floor = height(&rpc)? + 2;
    let mut procs = super::Procs(Vec::new());
    for i in 0..3 {
        let home = work.join(format!("cosigner_{}", i + 1));
        let mut nodes = Vec::new();
        for port in &signer_ports {
            let link = Link::shaped(
                &format!("{}:0", hnet.netns.host_addr(i)),
                &format!("127.0.0.1:{port}"),
                Shape::default(),
            );
            nodes.push(format!("tcp://{}", link.addr));
            node_links.push(link);
        }
        let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
        std::fs::write(
            home.join("config.yaml"),
            super::horcrux::config_yaml(&hnet, i, &nodes),
        )?;
        std::fs::create_dir_all(home.join("state"))?;
        let state = format!(r#"{{"height":"{floor}","round":0,"step":0}}"#);
        testkit::horcrux::horcrux_with(
            horcrux,
            &home,
            &["state", "import", &manifest.chain_id],
            format!("{state}\n\n").as_bytes(),
        );
    }
    for i in 0..3 {
        let home = work.join(format!("cosigner_{}", i + 1));
        let log = std::fs::File::create(home.join("horcrux.log"))?;
        let child = Command::new("ip")
            .args(["netns", "exec", &hnet.netns.name(i)])
            .arg(horcrux)
            .arg("start")
            .arg("--home")
            .arg(&home)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        procs.0.push(child);
    }
    let outcome = window(net, args, "horcrux", &[]);
    if outcome.is_err() || args.keep {
        eprintln!("Horcrux's homes and logs are in {}", work.display());
    }
    drop(procs);
    drop(node_links);
    drop(hnet);
    outcome
}

/// Wait until val0 signs again after its cosigners were replaced, then measure the
/// next `--blocks` heights; `metrics` are the cosigners' `/metrics` URLs to read after.
fn window(
    net: &Devnet,
    args: &DevnetArgs,
    signer: &str,
    metrics: &[String],
) -> anyhow::Result<Outcome> {
    let dir = &net.dir;
    let rpc = net
        .manifest
        .node("val1")
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .rpc_url();
    let address = net.val0_address();
    // The window starts after the first commit carrying val0's signature made after the
    // restart (the restarted cosigners take their floor from the chain, a few heights
    // up: those heights are the restart's, not the round trip's).
    let restarted_at = height(&rpc)?;
    let deadline = Instant::now() + Duration::from_secs(180);
    let first = loop {
        let h = height(&rpc)?;
        if h >= restarted_at + 2 && signed(&rpc, &address, h - 1) {
            break h;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "val0 did not sign within 180 s of its cosigners' restart (logs in {})",
            dir.join("logs").display()
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    let last = first + args.blocks - 1;
    eprintln!(
        "val0 signs again; measuring heights {first}..={last} at {} ms",
        args.rtt
    );
    let started = Instant::now();
    let mut reported = first;
    // The commit of `last` is in block last + 1.
    loop {
        let h = height(&rpc)?;
        if h > last {
            break;
        }
        if h >= reported + 100 {
            reported = h;
            eprintln!("  height {h} of {}", last + 1);
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(10 * args.blocks + 120),
            "the chain stalled at height {h}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let elapsed = started.elapsed();
    let scan = testkit::devnet::scan_chain(&rpc, &address, first, last);
    let block_time_ms = match (block_time(&rpc, first), block_time(&rpc, last)) {
        (Some(a), Some(b)) if args.blocks > 1 => {
            b.duration_since(a).unwrap_or_default().as_secs_f64() * 1000.0
                / (args.blocks - 1) as f64
        }
        _ => elapsed.as_secs_f64() * 1000.0 / args.blocks as f64,
    };
    let cosigner_metrics = metrics
        .iter()
        .map(|url| {
            testkit::http::get(url)
                .map(|(_, body)| {
                    body.lines()
                        .filter(|l| {
                            l.starts_with("bulwark_threshold_peer_round_trip_seconds")
                                || l.starts_with("bulwark_threshold_signatures_total")
                                || l.starts_with("bulwark_threshold_shares_")
                        })
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    Ok(Outcome {
        signer: signer.into(),
        rtt_ms: args.rtt,
        blocks: args.blocks,
        first_height: first,
        last_height: last,
        missed: scan.missed.len() as u64,
        missed_heights: scan.missed,
        evidence_blocks: scan.evidence.len(),
        block_time_ms,
        elapsed_seconds: elapsed.as_secs_f64(),
        cosigner_metrics,
    })
}

/// The node's latest height.
fn height(rpc: &str) -> anyhow::Result<u64> {
    let status = testkit::http::rpc_get(rpc, "status");
    status["sync_info"]["latest_block_height"]
        .as_str()
        .and_then(|h| h.parse().ok())
        .with_context(|| format!("no latest height in {rpc}/status: {status}"))
}

/// Whether the commit of `h` carries `address`'s signature.
fn signed(rpc: &str, address: &str, h: u64) -> bool {
    !testkit::devnet::scan_chain(rpc, address, h, h)
        .signed
        .is_empty()
}

/// Block `h`'s header time.
fn block_time(rpc: &str, h: u64) -> Option<SystemTime> {
    let b = testkit::http::rpc_get(rpc, &format!("block?height={h}"));
    humantime::parse_rfc3339(b["block"]["header"]["time"].as_str()?).ok()
}

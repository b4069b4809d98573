//! `bulwark devnet`: a real local CometBFT network.

use super::{print_json, runtime};
use clap::{Args, Subcommand};
use devnet::status::CommitSigners;
use devnet::{DevnetStatus, Line, LoadOptions, UpOptions};
use std::io::{IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Devnet verbs.
#[derive(Debug, Subcommand)]
pub enum DevnetCommand {
    /// Generate the devnet if the directory holds none, then start every node.
    Up(UpArgs),
    /// Stop this devnet's nodes; data is kept.
    Down(DirArg),
    /// Stop one node (or `signer`, `watch`), e.g. for a failover drill; `up` starts it again.
    Stop(StopArgs),
    /// Stop this devnet's nodes and delete its directory.
    Destroy(DirArg),
    /// Show every node: role, URLs, height, peers, who signed the last block.
    Status(StatusArgs),
    /// Print the end of a node's log, and follow it with --follow.
    Logs(LogsArgs),
    /// Send kvstore transactions at a steady rate.
    Load(LoadArgs),
}

/// The devnet directory.
#[derive(Debug, Args)]
pub struct DirArg {
    /// Devnet directory.
    #[arg(long, default_value = "./devnet", env = "BULWARK_DEVNET_DIR")]
    pub dir: PathBuf,
}

/// Options of `up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Number of validators (default 4); val0 gets a backup node and a sentry.
    #[arg(long)]
    validators: Option<usize>,
    /// CometBFT line: v0.38 (default), v1.0 or v0.40.
    #[arg(long, value_parser = parse_line)]
    cometbft: Option<Line>,
    /// First of a block of consecutive ports on 127.0.0.1 (default: a free block).
    #[arg(long)]
    base_port: Option<u16>,
    /// Chain ID (default: bulwark-devnet- and a random suffix).
    #[arg(long)]
    chain_id: Option<String>,
    /// Where val0 signs: `file` (its key file on the primary node) or `bulwark` (a
    /// `bulwark signer` serving both val0 nodes).
    #[arg(long, value_parser = parse_signer)]
    signer: Option<devnet::SignerMode>,
    /// Turn vote extensions on from this height.
    #[arg(long)]
    vote_extensions_height: Option<i64>,
    /// How long to wait for the nodes and the first block.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Options of `stop`.
#[derive(Debug, Args)]
pub struct StopArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Node name, `signer` or `watch`.
    name: String,
    /// SIGKILL at once instead of a clean stop.
    #[arg(long)]
    kill: bool,
}

/// Options of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Print JSON (documented in the README).
    #[arg(long)]
    json: bool,
}

/// Options of `logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Node name, e.g. val0, val0-backup, sentry0, val1.
    node: String,
    /// Number of lines from the end.
    #[arg(short = 'n', long, default_value_t = 50)]
    lines: usize,
    /// Keep printing new lines as they are written.
    #[arg(short, long)]
    follow: bool,
}

/// Options of `load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Transactions per second.
    #[arg(long, default_value_t = 50)]
    tps: u32,
    /// How long to send, e.g. 30s or 5m.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_signer(s: &str) -> Result<devnet::SignerMode, String> {
    match s {
        "file" => Ok(devnet::SignerMode::File),
        "bulwark" => Ok(devnet::SignerMode::Bulwark),
        other => Err(format!("{other:?}: use file or bulwark")),
    }
}

fn parse_line(s: &str) -> Result<Line, String> {
    s.parse().map_err(|e: devnet::DevnetError| e.to_string())
}

/// Run a devnet verb.
pub fn run(cmd: DevnetCommand) -> anyhow::Result<()> {
    match cmd {
        DevnetCommand::Up(a) => up(a),
        DevnetCommand::Down(a) => {
            let stopped = devnet::down(&a.dir)?;
            eprintln!(
                "stopped {} node(s); data kept in {}",
                stopped.len(),
                a.dir.display()
            );
            Ok(())
        }
        DevnetCommand::Stop(a) => {
            let was = devnet::stop_one(&a.dir.dir, &a.name, a.kill)?;
            let how = if a.kill { "killed" } else { "stopped" };
            if was {
                eprintln!("{how} {}", a.name);
            } else {
                eprintln!("{} was not running", a.name);
            }
            Ok(())
        }
        DevnetCommand::Destroy(a) => {
            devnet::destroy(&a.dir)?;
            eprintln!("destroyed {}", a.dir.display());
            Ok(())
        }
        DevnetCommand::Status(a) => {
            let status = runtime()?.block_on(devnet::status(&a.dir.dir))?;
            if a.json {
                print_json(&status)
            } else {
                print_status(&status);
                Ok(())
            }
        }
        DevnetCommand::Logs(a) => logs(&a),
        DevnetCommand::Load(a) => load(&a),
    }
}

fn up(a: UpArgs) -> anyhow::Result<()> {
    let opts = UpOptions {
        dir: a.dir.dir.clone(),
        validators: a.validators,
        line: a.cometbft,
        base_port: a.base_port,
        chain_id: a.chain_id,
        vote_extensions_height: a.vote_extensions_height,
        cometbft_dir: devnet::cometbft::install_dir(),
        ready_timeout: a.timeout,
        signer: a.signer,
        bulwark_exe: std::env::current_exe()?,
    };
    let rt = runtime()?;
    let report = rt.block_on(devnet::up(&opts))?;
    let status = rt.block_on(devnet::status(&report.dir))?;
    if a.json {
        return print_json(&serde_json::json!({
            "created": report.created,
            "started": report.started,
            "already_running": report.already_running,
            "status": status,
        }));
    }
    let verb = if report.created {
        "created and started"
    } else {
        "started"
    };
    if report.started.is_empty() {
        eprintln!("devnet already running");
    } else {
        eprintln!("{verb} {} node(s)", report.started.len());
    }
    print_status(&status);
    Ok(())
}

fn print_status(s: &DevnetStatus) {
    let mut out = String::new();
    out.push_str(&format!(
        "devnet {} (CometBFT {}, val0 signer: {}) in {}\n",
        s.chain_id,
        s.cometbft,
        s.signer,
        s.dir.display()
    ));
    out.push_str(&format!(
        "{:<12} {:<9} {:>7} {:<9} {:>5}  {:<24} {}\n",
        "NODE", "ROLE", "HEIGHT", "STATE", "PEERS", "RPC", "LAST BLOCK SIGNED BY"
    ));
    for n in &s.nodes {
        let state = match (n.running, n.catching_up) {
            (false, _) => "stopped",
            (true, Some(true)) => "catching",
            (true, Some(false)) => "ok",
            (true, None) => "no-rpc",
        };
        out.push_str(&format!(
            "{:<12} {:<9} {:>7} {:<9} {:>5}  {:<24} {}\n",
            n.name,
            format!("{:?}", n.role).to_lowercase(),
            n.height.map_or("-".into(), |h| h.to_string()),
            state,
            n.peers.map_or("-".into(), |p| p.to_string()),
            n.rpc_url,
            n.last_commit.as_ref().map_or("-".into(), describe_commit),
        ));
    }
    if let Some(p) = &s.signer_process {
        out.push_str(&format!(
            "signer       {:<9} {:>7} {:<9} {:>5}  {}\n",
            "bulwark",
            "-",
            if p.running { "ok" } else { "stopped" },
            "-",
            p.metrics_url.as_deref().unwrap_or("-")
        ));
    }
    let w = &s.watch_process;
    out.push_str(&format!(
        "watch        {:<9} {:>7} {:<9} {:>5}  {} (status page; /api/status, /metrics)\n",
        "bulwark",
        "-",
        if w.running { "ok" } else { "stopped" },
        "-",
        w.url
    ));
    print!("{out}");
}

fn describe_commit(c: &CommitSigners) -> String {
    let mut s = format!("#{}: {}", c.height, c.signed.join(" "));
    if !c.nil.is_empty() {
        s.push_str(&format!(" (nil: {})", c.nil.join(" ")));
    }
    if !c.absent.is_empty() {
        s.push_str(&format!(" (missing: {})", c.absent.join(" ")));
    }
    s
}

fn logs(a: &LogsArgs) -> anyhow::Result<()> {
    let dir = devnet::manifest::absolute(&a.dir.dir);
    let manifest = devnet::Manifest::load(&dir)?;
    manifest.node(&a.node)?;
    let path = devnet::process::log_file(&dir, &a.node);
    let mut out = std::io::stdout().lock();
    let tail = devnet::process::tail(&path, a.lines);
    if !tail.is_empty() {
        writeln!(out, "{tail}")?;
    }
    if a.follow {
        follow(&path, &mut out)?;
    }
    Ok(())
}

/// Print what is appended to `path` until the process is interrupted.
fn follow(path: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let mut file = std::fs::File::open(path)?;
    let mut pos = file.seek(SeekFrom::End(0))?;
    let mut buf = Vec::new();
    loop {
        let len = std::fs::metadata(path)?.len();
        if len < pos {
            pos = 0; // truncated or replaced
            file = std::fs::File::open(path)?;
        }
        if len > pos {
            file.seek(SeekFrom::Start(pos))?;
            buf.clear();
            Read::by_ref(&mut file)
                .take(len - pos)
                .read_to_end(&mut buf)?;
            pos += buf.len() as u64;
            out.write_all(&buf)?;
            out.flush()?;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn load(a: &LoadArgs) -> anyhow::Result<()> {
    let opts = LoadOptions {
        tps: a.tps,
        duration: a.duration,
        progress: !a.json && std::io::stderr().is_terminal(),
    };
    let report = runtime()?.block_on(devnet::load(&a.dir.dir, &opts))?;
    if a.json {
        return print_json(&report);
    }
    println!(
        "sent {} txs in {:.1}s: {} accepted, {} rejected, {} failed; kvstore size {} -> {}",
        report.sent,
        report.elapsed_seconds,
        report.accepted,
        report.rejected,
        report.failed,
        report.size_before,
        report.size_after
    );
    Ok(())
}

//! `bulwark devnet`: a real local CometBFT network.

use super::runtime;
use crate::output::{Output, OutputArgs, Report};
use clap::{Args, Subcommand};
use devnet::status::CommitSigners;
use devnet::{DevnetStatus, Line, LoadOptions, LoadReport, UpOptions, UpReport};
use serde::{Serialize, Serializer};
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
    /// Stop one node (or `signer`, `cosigner-N`, `watch`), e.g. for a failover drill; `up`
    /// starts it again.
    Stop(StopArgs),
    /// Stop this devnet's nodes and delete its directory.
    Destroy(DirArg),
    /// Show every node: role, URLs, height, peers, who signed the last block.
    Status(StatusArgs),
    /// Print the end of a node's log, and follow it with --follow.
    Logs(LogsArgs),
    /// Send kvstore transactions at a steady rate.
    Load(LoadArgs),
    /// Let one val0 node accept only `signer` or only `signer-backup` (each has its own
    /// port at the node, and its own peer ID on noise://). Stops the node if it runs;
    /// `up` starts the signer it lets in, then the node. The devnet's door command for
    /// failovers.
    Door(DoorArgs),
    /// On a `--signer threshold` devnet: make cosigner-1 or cosigner-3 pin share 2 to
    /// `cosigner-2` or to `cosigner-standby` (a second host of share 2 with its own link
    /// key), restarting it when it runs. `up` starts the host both pin. The devnet's door
    /// command for replacing a cosigner.
    Repin(RepinArgs),
    /// Rehearse an operation on the devnet.
    #[command(subcommand)]
    Drill(DrillCommand),
}

/// Options of `door`.
#[derive(Debug, Args)]
pub struct DoorArgs {
    #[command(flatten)]
    dir: DirArg,
    /// val0's node: val0 or val0-backup.
    #[arg(long)]
    node: String,
    /// The signer it lets in: signer or signer-backup.
    #[arg(long, value_parser = parse_side)]
    to: devnet::SignerSide,
    #[command(flatten)]
    out: OutputArgs,
}

/// Options of `repin`.
#[derive(Debug, Args)]
pub struct RepinArgs {
    #[command(flatten)]
    dir: DirArg,
    /// The cosigner whose pin changes: cosigner-1 or cosigner-3.
    #[arg(long)]
    peer: String,
    /// The host of share 2 it pins: cosigner-2 or cosigner-standby.
    #[arg(long)]
    to: String,
    #[command(flatten)]
    out: OutputArgs,
}

/// Drills.
#[derive(Debug, Subcommand)]
pub enum DrillCommand {
    /// The whole failover on a `--signer bulwark` or `--signer file` devnet: val0's
    /// signing side is killed, a plan sees it silent, two of three generated approvers
    /// (ssh-keygen keys) approve, execute moves val0 to the other side; a report of each
    /// step's time and the blocks missed. On `--signer threshold`: cosigner-2 is killed
    /// and replaced by cosigner-standby, re-pinned at the other cosigners.
    Failover(DrillFailoverArgs),
}

/// Options of `drill failover`.
#[derive(Debug, Args)]
pub struct DrillFailoverArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Blocks of silence on chain the fence waits for after the doors close.
    #[arg(long, default_value_t = 3)]
    silent_blocks: u64,
    /// Only write the drill's failover config, approver keys and allowed_signers, and
    /// print the commands to run the failover by hand.
    #[arg(long)]
    prepare: bool,
    #[command(flatten)]
    out: OutputArgs,
}

fn parse_side(s: &str) -> Result<devnet::SignerSide, String> {
    devnet::SignerSide::from_name(s).ok_or_else(|| format!("{s:?}: use signer or signer-backup"))
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
    /// CometBFT line: v0.38 (default), v1.0, v0.40 or v0.37 (the v0.34/v0.37 protocol).
    #[arg(long, value_parser = parse_line)]
    cometbft: Option<Line>,
    /// First of a block of consecutive ports on 127.0.0.1 (default: a free block).
    #[arg(long)]
    base_port: Option<u16>,
    /// Chain ID (default: bulwark-devnet- and a random suffix).
    #[arg(long)]
    chain_id: Option<String>,
    /// Where val0 signs: `file` (its key file on the primary node), `bulwark` (a
    /// `bulwark signer` serving both val0 nodes) or `threshold` (its key split 2-of-3
    /// among three cosigners, `cosigner-1` .. `cosigner-3`, each serving both nodes).
    #[arg(long, value_parser = parse_signer)]
    signer: Option<devnet::SignerMode>,
    /// Turn vote extensions on from this height.
    #[arg(long)]
    vote_extensions_height: Option<i64>,
    /// How long to wait for the nodes and the first block.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    #[command(flatten)]
    out: OutputArgs,
}

/// Options of `stop`.
#[derive(Debug, Args)]
pub struct StopArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Node name, `signer`, `cosigner-1` .. `cosigner-3` or `watch`.
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
    #[command(flatten)]
    out: OutputArgs,
}

/// Options of `logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Node name, e.g. val0, val0-backup, sentry0, val1; or signer, cosigner-1, watch.
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
    /// Bytes of each transaction's value (default 16); large values grow the chain's
    /// data quickly (e.g. for snapshot tests and benchmarks).
    #[arg(long)]
    value_bytes: Option<usize>,
    #[command(flatten)]
    out: OutputArgs,
}

fn parse_signer(s: &str) -> Result<devnet::SignerMode, String> {
    match s {
        "file" => Ok(devnet::SignerMode::File),
        "bulwark" => Ok(devnet::SignerMode::Bulwark),
        "threshold" => Ok(devnet::SignerMode::Threshold),
        other => Err(format!("{other:?}: use file, bulwark or threshold")),
    }
}

fn parse_line(s: &str) -> Result<Line, String> {
    devnet::cometbft::parse_line(s).map_err(|e| e.to_string())
}

/// Run a devnet verb.
pub fn run(cmd: DevnetCommand) -> anyhow::Result<()> {
    match cmd {
        DevnetCommand::Up(a) => a.out.output().render(&up(a)?),
        DevnetCommand::Down(a) => Output::Text.render(&Down {
            stopped: devnet::down(&a.dir)?,
            dir: a.dir,
        }),
        DevnetCommand::Stop(a) => Output::Text.render(&Stopped {
            was_running: devnet::stop_one(&a.dir.dir, &a.name, a.kill)?,
            name: a.name,
            killed: a.kill,
        }),
        DevnetCommand::Destroy(a) => {
            devnet::destroy(&a.dir)?;
            Output::Text.render(&Destroyed { dir: a.dir })
        }
        DevnetCommand::Status(a) => a
            .out
            .output()
            .render(&runtime()?.block_on(devnet::status(&a.dir.dir))?),
        DevnetCommand::Logs(a) => logs(&a),
        DevnetCommand::Load(a) => a.out.output().render(&load(&a)?),
        DevnetCommand::Door(a) => a.out.output().render(&Door(devnet::door::door(
            &a.dir.dir,
            &a.node,
            a.to,
            &std::env::current_exe()?,
        )?)),
        DevnetCommand::Repin(a) => a.out.output().render(&Repin(devnet::repin::repin(
            &a.dir.dir,
            &a.peer,
            &a.to,
            &std::env::current_exe()?,
        )?)),
        DevnetCommand::Drill(DrillCommand::Failover(a)) => {
            let opts = failover::drill::DrillOptions {
                dir: a.dir.dir.clone(),
                bulwark: std::env::current_exe()?,
                silent_blocks: a.silent_blocks,
            };
            if a.prepare {
                return a
                    .out
                    .output()
                    .render(&Prepared(failover::drill::prepare(&opts)?));
            }
            let json = matches!(a.out.output(), Output::Json);
            let mut say = |line: &str| {
                if json {
                    eprintln!("{line}");
                } else {
                    println!("{line}");
                }
            };
            let report = failover::drill::run(&opts, &mut say)?;
            a.out.output().render(&Drilled(report))
        }
    }
}

/// What `up` did, and the devnet's status after it.
struct Up {
    report: UpReport,
    status: DevnetStatus,
}

impl Serialize for Up {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Through a JSON value, whose keys are sorted at every level (the status too):
        // the form `up --json` has always printed.
        serde_json::json!({
            "created": self.report.created,
            "started": self.report.started,
            "already_running": self.report.already_running,
            "status": self.status,
        })
        .serialize(s)
    }
}

impl Report for Up {
    fn text(&self) -> String {
        status_text(&self.status)
    }

    fn notice(&self) -> Option<String> {
        let verb = if self.report.created {
            "created and started"
        } else {
            "started"
        };
        Some(if self.report.started.is_empty() {
            "devnet already running".into()
        } else {
            format!("{verb} {} node(s)", self.report.started.len())
        })
    }
}

impl Report for DevnetStatus {
    fn text(&self) -> String {
        status_text(self)
    }
}

/// What `down` stopped.
#[derive(Serialize)]
struct Down {
    stopped: Vec<String>,
    dir: PathBuf,
}

impl Report for Down {
    fn notice(&self) -> Option<String> {
        Some(format!(
            "stopped {} node(s); data kept in {}",
            self.stopped.len(),
            self.dir.display()
        ))
    }
}

/// What `stop` did.
#[derive(Serialize)]
struct Stopped {
    name: String,
    killed: bool,
    was_running: bool,
}

impl Report for Stopped {
    fn notice(&self) -> Option<String> {
        let how = if self.killed { "killed" } else { "stopped" };
        Some(if self.was_running {
            format!("{how} {}", self.name)
        } else {
            format!("{} was not running", self.name)
        })
    }
}

/// The directory `destroy` deleted.
#[derive(Serialize)]
struct Destroyed {
    dir: PathBuf,
}

impl Report for Destroyed {
    fn notice(&self) -> Option<String> {
        Some(format!("destroyed {}", self.dir.display()))
    }
}

impl Report for LoadReport {
    fn text(&self) -> String {
        format!(
            "sent {} txs in {:.1}s: {} accepted, {} rejected, {} failed; kvstore size {} -> {}\n",
            self.sent,
            self.elapsed_seconds,
            self.accepted,
            self.rejected,
            self.failed,
            self.size_before,
            self.size_after
        )
    }
}

fn up(a: UpArgs) -> anyhow::Result<Up> {
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
    Ok(Up { report, status })
}

fn status_text(s: &DevnetStatus) -> String {
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
    for p in s.signer_process.iter().chain(&s.standby_signer_process) {
        // The standby shows only once it matters: running, or let in by a node.
        if p.name != "signer" && !p.running && p.let_in_by.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "{:<12} {:<9} {:>7} {:<9} {:>5}  {}{}\n",
            p.name,
            "bulwark",
            "-",
            if p.running { "ok" } else { "stopped" },
            "-",
            p.metrics_url.as_deref().unwrap_or("-"),
            if p.let_in_by.is_empty() {
                " (no node lets it in)".to_string()
            } else {
                String::new()
            }
        ));
    }
    for c in &s.cosigners {
        out.push_str(&format!(
            "{:<12} {:<9} {:>7} {:<9} {:>5}  {}\n",
            c.name,
            "cosigner",
            "-",
            if c.running { "ok" } else { "stopped" },
            "-",
            c.metrics_url
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
    out
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
    let service = a.node == devnet::watch::NAME
        || devnet::signer::processes(&dir, &manifest)
            .iter()
            .any(|(name, _)| *name == a.node);
    if !service {
        manifest.node(&a.node)?;
    }
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

fn load(a: &LoadArgs) -> anyhow::Result<LoadReport> {
    let opts = LoadOptions {
        tps: a.tps,
        duration: a.duration,
        progress: a.out.output() == Output::Text && std::io::stderr().is_terminal(),
        value_bytes: a.value_bytes,
    };
    Ok(runtime()?.block_on(devnet::load(&a.dir.dir, &opts))?)
}

#[derive(Debug, Serialize)]
struct Door(devnet::door::DoorReport);

#[derive(Debug, Serialize)]
struct Repin(devnet::repin::RepinReport);

impl Report for Repin {
    fn text(&self) -> String {
        format!(
            "{} pins {} for share 2 now (link key {}){}\n",
            self.0.peer,
            self.0.pins,
            self.0.link_public_key,
            if self.0.restarted {
                "; restarted to take it"
            } else {
                ""
            }
        )
    }
}

impl Report for Door {
    fn text(&self) -> String {
        format!(
            "{} lets in only {} now (port {}){}\n",
            self.0.node,
            self.0.open_to,
            self.0.port,
            if self.0.stopped {
                "; stopped, `up` starts it after that signer"
            } else {
                ""
            }
        )
    }
}

#[derive(Debug, Serialize)]
struct Drilled(failover::drill::DrillReport);

impl Report for Drilled {
    fn text(&self) -> String {
        let r = &self.0;
        let mut s = format!(
            "\nfailover drill: val0{} moved from {} to {}\n  plan      {}\n  approvers {}\n\n  {:<70} {:>7.1} s\n  {:<70} {:>7.1} s\n  {:<70} {:>7.1} s\n",
            if r.kind == "cosigner" { "'s share" } else { "" },
            r.from,
            r.to,
            r.plan_dir.display(),
            r.approvers.join(", "),
            if r.kind == "cosigner" {
                "kill until the plan (val0 signs on)"
            } else {
                "kill until silent on chain"
            },
            r.detect_seconds,
            "plan",
            r.plan_seconds,
            "two approvals",
            r.approve_seconds
        );
        for d in &r.steps {
            s.push_str(&format!(
                "  {:<70} {:>7.1} s\n",
                format!("execute: {}", d.step.describe()),
                d.seconds
            ));
        }
        s.push_str(&format!(
            "  {:<70} {:>7.1} s\n\n  last signed before  {}\n  first signed after  {}\n  blocks missed       {}\n  evidence against val0 {}\n",
            "kill until val0 signed again",
            r.total_seconds,
            r.last_signed_before.map_or("-".into(), |h| h.to_string()),
            r.first_signed_after.map_or("-".into(), |h| h.to_string()),
            r.blocks_missed,
            r.evidence
        ));
        s
    }
}

#[derive(Debug, Serialize)]
struct Prepared(failover::drill::Prepared);

impl Report for Prepared {
    fn text(&self) -> String {
        let p = &self.0;
        let c = p.config_path.display();
        let key = |i: usize| p.approvers[i].1.display().to_string();
        format!(
            "failover config  {c}\nallowed signers  {}\napprovers        {}\n\nBy hand:\n  bulwark devnet stop {} --kill            # its host dies\n  bulwark failover plan --config {c} --chain {} --from {} --to {} --as alice --key {}\n  bulwark failover approve PLAN --config {c} --as alice --key {}\n  bulwark failover approve PLAN --config {c} --as bob --key {}\n  bulwark failover execute PLAN --config {c} --as alice --key {}\n",
            p.allowed_signers.display(),
            p.approvers.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", "),
            p.from,
            p.chain_id,
            p.from,
            p.to,
            key(0),
            key(0),
            key(1),
            key(0)
        )
    }
}

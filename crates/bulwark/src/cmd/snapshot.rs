//! `bulwark snapshot`: incremental, verified snapshots of a node's data in a directory or
//! an S3-compatible bucket; restores that keep the node's own sign state.

mod pause;

use super::runtime;
use crate::exit::UsageError;
use crate::output::{Output, OutputArgs, Report};
use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Serialize;
use snapshot::archive::{ExportReport, ImportReport};
use snapshot::catalog::Summary;
use snapshot::prune::{PruneReport, Retention};
use snapshot::restore::{RestoreOptions, RestoreReport};
use snapshot::verify::VerifyReport;
use snapshot::{CreateOptions, CreateReport, NodeMeta, Source, Store};
use std::path::PathBuf;

/// Snapshot verbs.
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Take a snapshot of a node's data/ (and wasm/): the node is paused only while its
    /// files are hard-linked or copied aside, then chunks go up while it runs again.
    Create(CreateArgs),
    /// List the snapshots in a store.
    List(ListArgs),
    /// Read back every chunk of a snapshot and check every byte against its hash.
    Verify(VerifyArgs),
    /// Restore a snapshot into a stopped node's home, keeping its priv_validator_state.json
    /// and keys; resumable, and never a half-restored data/.
    Restore(RestoreArgs),
    /// Remove snapshots past their retention, then the chunks nothing references.
    Prune(PruneArgs),
    /// Write a snapshot as a .tar.lz4 or .tar.zst archive, the formats providers publish.
    Export(ExportArgs),
    /// Store a provider's .tar.lz4 or .tar.zst archive as a snapshot (any sign state or
    /// key file in it is left out).
    Import(ImportArgs),
    /// Take snapshots on a schedule, each followed by a prune to the job's retention
    /// (see crates/snapshot/snapshot.example.toml).
    Run(RunArgs),
}

/// Options of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The schedule (TOML).
    #[arg(long)]
    config: PathBuf,
}

/// Where snapshots are kept.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// A directory, file:///path, or s3://bucket/prefix[?endpoint=URL&region=R]. S3
    /// credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and
    /// AWS_SESSION_TOKEN, AWS_REGION, AWS_ENDPOINT_URL) or --credentials, never the URL.
    #[arg(long, env = "BULWARK_SNAPSHOT_STORE")]
    store: String,
    /// TOML file with access_key_id, secret_access_key (and optionally session_token,
    /// region, endpoint), mode 0600.
    #[arg(long)]
    credentials: Option<PathBuf>,
}

impl StoreArgs {
    /// The store, made if it is a directory that does not exist yet (create, import).
    fn open(&self) -> anyhow::Result<Store> {
        Ok(Store::open(&self.store, self.credentials.as_deref())?)
    }

    /// The store, which must exist (list, verify, restore, prune, export).
    fn open_existing(&self) -> anyhow::Result<Store> {
        Ok(Store::open_existing(
            &self.store,
            self.credentials.as_deref(),
        )?)
    }
}

/// Transfer tuning.
#[derive(Debug, Args)]
pub struct TransferArgs {
    /// Chunks transferred at once.
    #[arg(long, default_value_t = 8)]
    jobs: usize,
    /// Bytes per second at most (suffixes K, M, G: 50M), to spare the node's network.
    #[arg(long, value_parser = parse_rate)]
    max_rate: Option<u64>,
}

fn parse_rate(s: &str) -> Result<u64, String> {
    let (num, mult) = match s.chars().last() {
        Some('K' | 'k') => (&s[..s.len() - 1], 1 << 10),
        Some('M' | 'm') => (&s[..s.len() - 1], 1 << 20),
        Some('G' | 'g') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .map(|n| n * mult)
        .map_err(|_| format!("{s:?}: bytes per second, e.g. 500K or 50M"))
}

/// Options of `create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The node's home (holding config/ and data/); not needed with --devnet.
    #[arg(long)]
    home: Option<PathBuf>,
    /// Pause node --node of the devnet in this directory.
    #[arg(long, requires = "node", conflicts_with_all = ["stop_cmd", "from"])]
    devnet: Option<PathBuf>,
    /// The devnet node to snapshot (with --devnet).
    #[arg(long, requires = "devnet")]
    node: Option<String>,
    /// Shell command that stops the node (e.g. `systemctl stop gaiad`).
    #[arg(long, requires = "start_cmd", conflicts_with = "from")]
    stop_cmd: Option<String>,
    /// Shell command that starts it again.
    #[arg(long, requires = "stop_cmd")]
    start_cmd: Option<String>,
    /// Freeze the node in place (SIGSTOP, SIGCONT) for the copy instead of stopping
    /// and starting it: out for a fraction of a second, no restart, and a copy that is
    /// what a crash at that instant would leave (as a file system snapshot is). With
    /// --devnet, or with --home and --pid.
    #[arg(long, conflicts_with_all = ["stop_cmd", "from"])]
    freeze: bool,
    /// The node binary's process id (with --freeze and --home), e.g.
    /// `$(systemctl show -p MainPID --value gaiad)`; not a supervisor's such as cosmovisor.
    #[arg(long, requires = "freeze", conflicts_with = "devnet")]
    pid: Option<i32>,
    /// Read a copy of the home that nothing writes to (a ZFS/LVM/btrfs snapshot you
    /// made), instead of pausing the node. Needs --height.
    #[arg(long, requires = "height")]
    from: Option<PathBuf>,
    /// The height of the data (with --from).
    #[arg(long)]
    height: Option<u64>,
    /// Chain ID (with --from; default: the home's genesis).
    #[arg(long)]
    chain_id: Option<String>,
    /// The node's RPC (default: rpc.laddr of its config.toml), read for its height and
    /// versions before it is paused.
    #[arg(long)]
    rpc: Option<String>,
    /// Read and hash every table file, even those the last snapshot has unchanged.
    #[arg(long)]
    rehash: bool,
    #[command(flatten)]
    transfer: TransferArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Options of `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Options of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Snapshot id (default: the newest).
    #[arg(long)]
    snapshot: Option<String>,
    /// Chunks read at once.
    #[arg(long, default_value_t = 8)]
    jobs: usize,
    #[command(flatten)]
    output: OutputArgs,
}

/// Options of `restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The stopped node's home (created if missing).
    #[arg(long)]
    home: PathBuf,
    /// Snapshot id (default: the newest of the home's chain).
    #[arg(long)]
    snapshot: Option<String>,
    /// Restore even when the snapshot is below the node's sign state (the sign state is
    /// kept either way; the node replays up to it and signs only above it).
    #[arg(long)]
    allow_below_sign_state: bool,
    #[command(flatten)]
    transfer: TransferArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Options of `prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Keep the newest N snapshots of each chain.
    #[arg(long, default_value_t = 0)]
    keep_last: usize,
    /// Keep the newest snapshot of each of the last D days of each chain.
    #[arg(long, default_value_t = 0)]
    keep_daily: usize,
    #[command(flatten)]
    output: OutputArgs,
}

/// Options of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Snapshot id (default: the newest).
    #[arg(long)]
    snapshot: Option<String>,
    /// The archive to write: NAME.tar.lz4 or NAME.tar.zst.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    output: OutputArgs,
}

/// Options of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The archive: NAME.tar.lz4 or NAME.tar.zst, of data/ or of its contents.
    #[arg(long)]
    file: PathBuf,
    /// Its chain.
    #[arg(long)]
    chain_id: String,
    /// Its height (providers name it).
    #[arg(long)]
    height: u64,
    /// Chunks uploaded at once.
    #[arg(long, default_value_t = 8)]
    jobs: usize,
    #[command(flatten)]
    output: OutputArgs,
}

/// Run a snapshot verb.
pub fn run(cmd: SnapshotCommand) -> anyhow::Result<()> {
    let rt = runtime()?;
    match cmd {
        SnapshotCommand::Create(a) => {
            let out = a.output.output();
            out.render(&Created(rt.block_on(create(&a, out))?))
        }
        SnapshotCommand::List(a) => {
            let store = a.store.open_existing()?;
            let listed = rt.block_on(snapshot::catalog::all(&store))?;
            a.output
                .output()
                .render(&Listing(listed.iter().map(Summary::from).collect()))
        }
        SnapshotCommand::Verify(a) => {
            let out = a.output.output();
            let store = a.store.open_existing()?;
            let report = rt.block_on(async {
                let m = snapshot::catalog::load(&store, a.snapshot.as_deref(), None).await?;
                snapshot::verify::verify(&store, &m, a.jobs, &progress(out, "verify")).await
            })?;
            let ok = report.ok;
            let n = report.problems.len();
            out.render(&Verified(report))?;
            if ok {
                Ok(())
            } else {
                anyhow::bail!("the snapshot is damaged ({n} problems above): restore another snapshot and take a new one")
            }
        }
        SnapshotCommand::Restore(a) => {
            let out = a.output.output();
            let store = a.store.open_existing()?;
            let report = rt.block_on(async {
                let chain = snapshot::node::chain_id(&a.home)?;
                let m = snapshot::catalog::load(&store, a.snapshot.as_deref(), chain.as_deref())
                    .await?;
                let opts = RestoreOptions {
                    jobs: a.transfer.jobs,
                    max_rate: a.transfer.max_rate,
                    allow_below_sign_state: a.allow_below_sign_state,
                };
                snapshot::restore::restore(&store, &m, &a.home, &opts, &progress(out, "restore"))
                    .await
            })?;
            out.render(&Restored(report))
        }
        SnapshotCommand::Prune(a) => {
            let store = a.store.open_existing()?;
            let r = Retention {
                keep_last: a.keep_last,
                keep_daily: a.keep_daily,
            };
            let report = rt.block_on(snapshot::prune::prune(&store, r))?;
            a.output.output().render(&Pruned(report))
        }
        SnapshotCommand::Export(a) => {
            let store = a.store.open_existing()?;
            let report = rt.block_on(async {
                let m = snapshot::catalog::load(&store, a.snapshot.as_deref(), None).await?;
                snapshot::archive::export(&store, &m, &a.out).await
            })?;
            a.output.output().render(&Exported(report))
        }
        SnapshotCommand::Run(a) => {
            let config = snapshot::schedule::Config::load(&a.config)?;
            rt.block_on(snapshot::schedule::run(
                &config,
                schedule_target,
                super::wait_for_signal(),
            ))?;
            Ok(())
        }
        SnapshotCommand::Import(a) => {
            let out = a.output.output();
            let store = a.store.open()?;
            let meta = NodeMeta {
                chain_id: a.chain_id.clone(),
                height: a.height,
                cometbft_version: None,
                app_version: None,
            };
            let report = rt.block_on(snapshot::archive::import(
                &store,
                &a.file,
                meta,
                a.jobs,
                &progress(out, "import"),
            ))?;
            out.render(&Imported(report))
        }
    }
}

/// A progress bar on stderr with bytes and rate (none with --json, or off a terminal).
fn progress(out: Output, verb: &str) -> indicatif::ProgressBar {
    if out == Output::Json {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(0);
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    pb.set_prefix(verb.to_string());
    pb
}

async fn create(a: &CreateArgs, out: Output) -> anyhow::Result<CreateReport> {
    let store = a.store.open()?;
    let opts = CreateOptions {
        jobs: a.transfer.jobs,
        max_rate: a.transfer.max_rate,
        rehash: a.rehash,
    };
    let pb = progress(out, "create");
    if let Some(root) = &a.from {
        let home = a.home.clone().unwrap_or_else(|| root.clone());
        let chain_id = match &a.chain_id {
            Some(c) => c.clone(),
            None => snapshot::node::chain_id(root)?
                .or(snapshot::node::chain_id(&home)?)
                .ok_or_else(|| {
                    UsageError(format!(
                        "no config/genesis.json under {} or {}: pass --chain-id",
                        root.display(),
                        home.display()
                    ))
                })?,
        };
        let meta = NodeMeta {
            chain_id,
            height: a.height.expect("clap requires --height with --from"),
            cometbft_version: None,
            app_version: None,
        };
        let source = Source::Frozen {
            root: root.clone(),
            meta,
        };
        return Ok(snapshot::create(&store, source, &opts, &pb).await?);
    }
    let (home, mut control, rpc): (PathBuf, Box<dyn snapshot::NodeControl>, Option<String>) =
        if let (Some(dir), Some(name)) = (&a.devnet, &a.node) {
            let node = pause::DevnetNode::new(dir.clone(), name)?;
            let rpc = Some(a.rpc.clone().unwrap_or_else(|| node.rpc_url()));
            if a.freeze {
                let pid = node.pid().ok_or_else(|| {
                    anyhow::anyhow!(
                        "devnet node {name} is not running: nothing to freeze (start it with `bulwark devnet up`)"
                    )
                })?;
                let f = snapshot::freeze::Freeze::new(pid, rpc.clone())?;
                (node.home(), Box::new(f), rpc)
            } else {
                (node.home(), Box::new(node), rpc)
            }
        } else if let (true, Some(pid)) = (a.freeze, a.pid) {
            let (home, rpc) = home_and_rpc(a, "--freeze --pid")?;
            let f = snapshot::freeze::Freeze::new(pid, rpc.clone())?;
            (home, Box::new(f), rpc)
        } else if a.freeze {
            return Err(UsageError(
                "--freeze needs the node: --devnet DIR --node NAME, or --home and --pid".into(),
            )
            .into());
        } else if let (Some(stop), Some(start)) = (&a.stop_cmd, &a.start_cmd) {
            let (home, rpc) = home_and_rpc(a, "--stop-cmd")?;
            let c = snapshot::pause::Commands {
                stop: stop.clone(),
                start: start.clone(),
                rpc: rpc.clone(),
            };
            (home, Box::new(c), rpc)
        } else {
            return Err(UsageError(
                "say how to pause the node: --devnet DIR --node NAME, --stop-cmd and --start-cmd, or --from a frozen copy of its home with --height".into(),
            )
            .into());
        };
    let rpc = rpc.ok_or_else(|| {
        UsageError(format!(
            "no RPC address for the node at {} (rpc.laddr is a unix socket or missing): pass --rpc",
            home.display()
        ))
    })?;
    let pending = snapshot::create::pending_dir(&home).join("pending.json");
    let meta = match snapshot::node::node_info(&rpc).await {
        Ok(info) => NodeMeta {
            chain_id: info.chain_id,
            height: info.height,
            cometbft_version: info.cometbft_version,
            app_version: info.app_version,
        },
        // An interrupted create resumes from its frozen copy, whose record names the
        // chain; the node need not answer for that.
        Err(_) if pending.is_file() => NodeMeta {
            chain_id: snapshot::node::chain_id(&home)?.unwrap_or_default(),
            ..NodeMeta::default()
        },
        Err(e) => {
            return Err(e).context("reading the node's height and versions before pausing it")
        }
    };
    if let Some(genesis) = snapshot::node::chain_id(&home)? {
        if !meta.chain_id.is_empty() && genesis != meta.chain_id {
            return Err(UsageError(format!(
                "the RPC at {rpc} serves chain {}, but {} is a node of {genesis}: pass the node's own --rpc",
                meta.chain_id,
                home.display()
            ))
            .into());
        }
    }
    let source = Source::Pause {
        home,
        control: control.as_mut(),
        meta,
    };
    Ok(snapshot::create(&store, source, &opts, &pb).await?)
}

/// `--home` (which `what` needs) and the node's RPC: `--rpc`, else its config's.
fn home_and_rpc(a: &CreateArgs, what: &str) -> anyhow::Result<(PathBuf, Option<String>)> {
    let home = a
        .home
        .clone()
        .ok_or_else(|| UsageError(format!("{what} needs --home (the node's home directory)")))?;
    let rpc = match &a.rpc {
        Some(r) => Some(r.clone()),
        None => snapshot::node::rpc_url(&home)?,
    };
    Ok((home, rpc))
}

/// The node a scheduled job pauses.
fn schedule_target(job: &snapshot::schedule::Job) -> snapshot::Result<snapshot::schedule::Target> {
    if let (Some(dir), Some(name)) = (&job.devnet, &job.node) {
        let node = pause::DevnetNode::new(dir.clone(), name)
            .map_err(|e| snapshot::SnapshotError::Node(format!("job {}: {e:#}", job.name)))?;
        let rpc = job.rpc.clone().unwrap_or_else(|| node.rpc_url());
        if job.freeze {
            let pid = node.pid().ok_or_else(|| {
                snapshot::SnapshotError::Node(format!(
                    "job {}: devnet node {name} is not running: nothing to freeze",
                    job.name
                ))
            })?;
            let f = snapshot::freeze::Freeze::new(pid, Some(rpc.clone()))?;
            return Ok((node.home(), Box::new(f), rpc));
        }
        return Ok((node.home(), Box::new(node), rpc));
    }
    let home = job.home.clone().expect("a validated job has a home");
    let rpc = match &job.rpc {
        Some(r) => r.clone(),
        None => snapshot::node::rpc_url(&home)?.ok_or_else(|| {
            snapshot::SnapshotError::Usage(format!(
                "job {}: no RPC address in {}/config/config.toml: set rpc",
                job.name,
                home.display()
            ))
        })?,
    };
    if let (true, Some(cmd)) = (job.freeze, &job.pid_cmd) {
        let pid = snapshot::freeze::pid_from_cmd(cmd)?;
        let f = snapshot::freeze::Freeze::new(pid, Some(rpc.clone()))?;
        return Ok((home, Box::new(f), rpc));
    }
    let c = snapshot::pause::Commands {
        stop: job.stop_cmd.clone().expect("validated"),
        start: job.start_cmd.clone().expect("validated"),
        rpc: Some(rpc.clone()),
    };
    Ok((home, Box::new(c), rpc))
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
}

struct Created(CreateReport);

impl Serialize for Created {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl Report for Created {
    fn text(&self) -> String {
        let r = &self.0;
        let mut t = format!(
            "snapshot     {}\nchain        {} at height {}\nfiles        {} ({} reused unchanged)\nchunks       {} ({} new, {} already stored)\ndata         {}\nuploaded     {}\n",
            r.id,
            r.chain_id,
            r.height,
            r.stats.files,
            r.stats.files_reused,
            r.stats.chunks,
            r.stats.chunks_uploaded,
            r.stats.chunks_reused,
            mib(r.stats.bytes),
            mib(r.stats.bytes_uploaded)
        );
        match r.downtime_seconds {
            Some(d) => t.push_str(&format!("node down    {d:.2} s\n")),
            None if r.resumed => {
                t.push_str("node down    0 s (resumed from the copy frozen before)\n")
            }
            None => t.push_str("node down    0 s (read from a frozen copy)\n"),
        }
        t
    }

    fn notice(&self) -> Option<String> {
        Some(format!(
            "snapshot {} stored in {} in {:.1} s",
            self.0.id, self.0.store, self.0.elapsed_seconds
        ))
    }
}

#[derive(Serialize)]
#[serde(transparent)]
struct Listing(Vec<Summary>);

impl Report for Listing {
    fn text(&self) -> String {
        let mut t = String::new();
        for s in &self.0 {
            match (&s.id, &s.error) {
                (Some(id), _) => t.push_str(&format!(
                    "{id}  {}  height {}  {} files  {}\n",
                    s.created.as_deref().unwrap_or("?"),
                    s.height.unwrap_or(0),
                    s.files.unwrap_or(0),
                    mib(s.bytes.unwrap_or(0))
                )),
                (None, e) => t.push_str(&format!(
                    "{}  CORRUPT: {}\n",
                    s.key,
                    e.as_deref().unwrap_or("?")
                )),
            }
        }
        if self.0.is_empty() {
            t.push_str("no snapshots\n");
        }
        t
    }
}

#[derive(Serialize)]
#[serde(transparent)]
struct Verified(VerifyReport);

impl Report for Verified {
    fn text(&self) -> String {
        let r = &self.0;
        let mut t = format!(
            "snapshot     {}\nfiles        {}\nchunks       {}\nbytes        {}\n",
            r.id,
            r.files,
            r.chunks,
            mib(r.bytes)
        );
        for p in &r.problems {
            t.push_str(&format!(
                "DAMAGED      {}: {}{}\n",
                p.file,
                p.chunk
                    .as_ref()
                    .map(|c| format!("chunk {c} "))
                    .unwrap_or_default(),
                p.problem
            ));
        }
        t
    }

    fn notice(&self) -> Option<String> {
        self.0
            .ok
            .then(|| format!("snapshot {} verified: every byte matches", self.0.id))
    }
}

#[derive(Serialize)]
#[serde(transparent)]
struct Restored(RestoreReport);

impl Report for Restored {
    fn text(&self) -> String {
        let r = &self.0;
        let state = match (&r.sign_state, r.sign_state_height) {
            (Some(p), Some(h)) => format!("kept {p} (height {h})"),
            _ => "none: put this validator's own priv_validator_state.json in place before starting it (a node that never signed can take a fresh one from `cometbft init`); never copy another node's".into(),
        };
        format!(
            "snapshot     {}\nchain        {} at height {}\nhome         {}\nfiles        {} ({} already restored by an earlier run)\ndata         {} at {}/s\nsign state   {state}\n",
            r.id,
            r.chain_id,
            r.height,
            r.home.display(),
            r.files,
            r.files_resumed,
            mib(r.bytes),
            mib(r.bytes_per_second as u64)
        )
    }

    fn notice(&self) -> Option<String> {
        Some(format!(
            "restored {} in {:.1} s",
            self.0.id, self.0.elapsed_seconds
        ))
    }
}

#[derive(Serialize)]
#[serde(transparent)]
struct Pruned(PruneReport);

impl Report for Pruned {
    fn text(&self) -> String {
        let r = &self.0;
        let mut t = String::new();
        for id in &r.removed {
            t.push_str(&format!("removed      {id}\n"));
        }
        for id in &r.kept {
            t.push_str(&format!("kept         {id}\n"));
        }
        for id in &r.being_restored {
            t.push_str(&format!(
                "kept         {id} (past its retention, but a restore is reading it)\n"
            ));
        }
        t.push_str(&format!(
            "chunks       {} removed ({})\n",
            r.chunks_removed,
            mib(r.bytes_removed)
        ));
        if let Some(why) = &r.chunks_skipped {
            t.push_str(&format!("note         {why}\n"));
        }
        t
    }
}

#[derive(Serialize)]
#[serde(transparent)]
struct Exported(ExportReport);

impl Report for Exported {
    fn notice(&self) -> Option<String> {
        Some(format!(
            "wrote {} ({} files, {} of data, {} archive)",
            self.0.file.display(),
            self.0.files,
            mib(self.0.bytes),
            mib(self.0.archive_bytes)
        ))
    }
}

#[derive(Serialize)]
#[serde(transparent)]
struct Imported(ImportReport);

impl Report for Imported {
    fn text(&self) -> String {
        let r = &self.0;
        let mut t = format!(
            "snapshot     {}\nfiles        {}\nchunks       {} ({} new)\n",
            r.id, r.stats.files, r.stats.chunks, r.stats.chunks_uploaded
        );
        for l in &r.left_out {
            t.push_str(&format!("left out     {l}\n"));
        }
        t
    }
}

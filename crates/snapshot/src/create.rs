//! `create`: pause the node only for as long as it takes to freeze its data, then chunk
//! and upload from the frozen copy while the node runs again.
//!
//! Freezing hard-links the table files (they are never changed in place, so the link
//! keeps the bytes of the moment even after compaction deletes the name) and copies the
//! few files the node rewrites or appends to. The frozen tree lives in
//! `<home>/.bulwark-snapshot/` (same file system, so links work) with `pending.json`
//! beside it once it is complete; a create that is interrupted after that resumes from
//! the same tree without pausing the node again, and skips the chunks already stored.

use crate::chunk::{self, FileKind};
use crate::error::{Result, SnapshotError};
use crate::ingest::{self, Ingest, IngestStats, RateLimit};
use crate::manifest::{self, FileEntry, Manifest, FORMAT};
use crate::store::Store;
use crate::{catalog, lease, node};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// Stops and starts the node whose data is snapshotted.
pub trait NodeControl {
    /// What it controls, for the manifest and messages (`devnet node val1`).
    fn describe(&self) -> String;
    /// Stop the node; return once it has exited.
    fn stop(&mut self) -> Result<()>;
    /// Start the node again; return once it serves (or has been started).
    fn start(&mut self) -> Result<()>;
    /// Whether [`NodeControl::stop`] freezes the node in place (it keeps its files open)
    /// instead of making it exit ([`crate::freeze`]).
    fn in_place(&self) -> bool {
        false
    }
}

/// What the snapshot is of.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct NodeMeta {
    /// Chain ID.
    pub chain_id: String,
    /// Height.
    pub height: u64,
    /// CometBFT version.
    pub cometbft_version: Option<String>,
    /// App version.
    pub app_version: Option<String>,
}

/// Where the data comes from.
pub enum Source<'a> {
    /// A node home, read with the node paused by `control`.
    Pause {
        /// The node's home.
        home: PathBuf,
        /// Stops and starts the node.
        control: &'a mut dyn NodeControl,
        /// What the node said before it was paused.
        meta: NodeMeta,
    },
    /// A copy of a home that nothing writes to (a file system snapshot).
    Frozen {
        /// Its root (holding `data/`, and `wasm/` when there is one).
        root: PathBuf,
        /// What it is of.
        meta: NodeMeta,
    },
}

impl std::fmt::Debug for Source<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Pause { home, control, .. } => {
                write!(f, "Pause({}, {})", home.display(), control.describe())
            }
            Source::Frozen { root, .. } => write!(f, "Frozen({})", root.display()),
        }
    }
}

/// Options of a create.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    /// Chunks uploaded at once.
    pub jobs: usize,
    /// Upload bytes per second at most.
    pub max_rate: Option<u64>,
    /// Read every table file, even those an earlier snapshot has with the same size and
    /// modification time.
    pub rehash: bool,
}

/// What a create did.
#[derive(Debug, Clone, Serialize)]
pub struct CreateReport {
    /// The new snapshot.
    pub id: String,
    /// Its chain.
    pub chain_id: String,
    /// Its height.
    pub height: u64,
    /// The store.
    pub store: String,
    /// Counts.
    #[serde(flatten)]
    pub stats: IngestStats,
    /// How long the node was stopped (none when read from a frozen copy or resumed).
    pub downtime_seconds: Option<f64>,
    /// Whether it went on from an interrupted create.
    pub resumed: bool,
    /// How long the create took.
    pub elapsed_seconds: f64,
}

/// The frozen tree's record, written once the tree is complete.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    id: String,
    created_unix: u64,
    meta: NodeMeta,
    source: String,
    downtime_seconds: f64,
}

/// `<home>/.bulwark-snapshot`: the frozen tree of an unfinished create.
pub fn pending_dir(home: &Path) -> PathBuf {
    home.join(".bulwark-snapshot")
}

/// Take a snapshot into `store`.
pub async fn create(
    store: &Store,
    source: Source<'_>,
    opts: &CreateOptions,
    progress: &indicatif::ProgressBar,
) -> Result<CreateReport> {
    let started = Instant::now();
    let (root, pending, resumed, pending_path) = match source {
        Source::Frozen { root, meta } => {
            if !root.join("data").is_dir() {
                return Err(SnapshotError::Usage(format!(
                    "{} has no data/ directory: --from names a copy of the node home",
                    root.display()
                )));
            }
            let now = lease::now_unix() as u64;
            let p = Pending {
                id: manifest::make_id(&meta.chain_id, meta.height, now),
                created_unix: now,
                source: format!("frozen copy {}", root.display()),
                meta,
                downtime_seconds: 0.0,
            };
            (root, p, false, None)
        }
        Source::Pause {
            home,
            control,
            meta,
        } => {
            let dir = pending_dir(&home);
            let record = dir.join("pending.json");
            match read_pending(&record) {
                Some(p) if p.meta.chain_id == meta.chain_id => {
                    tracing::info!(id = %p.id, "resuming an interrupted create");
                    (dir.join("tree"), p, true, Some(dir))
                }
                _ => {
                    let p = freeze_paused(&home, &dir, control, meta)?;
                    (dir.join("tree"), p, false, Some(dir))
                }
            }
        }
    };

    tracing::debug!(seconds = started.elapsed().as_secs_f64(), "data frozen");
    let lease = lease::for_create(store, &pending.id).await?;
    tracing::debug!(seconds = started.elapsed().as_secs_f64(), "lease taken");
    let result = ingest_tree(store, &root, &pending, opts, progress).await;
    tracing::debug!(seconds = started.elapsed().as_secs_f64(), "chunks stored");
    let (dirs, files, stats) = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = lease.release().await;
            return Err(e);
        }
    };
    if lease.lapsed() {
        let _ = lease.release().await;
        return Err(SnapshotError::Node(format!(
            "this create could not renew its lease on {} for {} s, so a prune may have removed chunks it reuses; run the same create again: it resumes and uploads only what is missing",
            store.url(),
            lease::TTL.as_secs()
        )));
    }
    let id = match catalog::unique_id(store, &pending.id).await {
        Ok(id) => id,
        Err(e) => {
            let _ = lease.release().await;
            return Err(e);
        }
    };
    let m = Manifest {
        format: FORMAT,
        id,
        created: manifest::rfc3339(pending.created_unix),
        created_unix: pending.created_unix,
        chain_id: pending.meta.chain_id.clone(),
        height: pending.meta.height,
        cometbft_version: pending.meta.cometbft_version.clone(),
        app_version: pending.meta.app_version.clone(),
        source: pending.source.clone(),
        dirs,
        files,
    };
    store
        .put(&Manifest::key_of(&m.id), Bytes::from(m.to_bytes()))
        .await?;
    lease.release().await?;
    tracing::debug!(
        seconds = started.elapsed().as_secs_f64(),
        "manifest written"
    );
    if let Some(dir) = pending_path {
        std::fs::remove_dir_all(&dir).map_err(|e| SnapshotError::io(&dir, e))?;
    }
    Ok(CreateReport {
        id: m.id,
        chain_id: m.chain_id,
        height: m.height,
        store: store.url().to_string(),
        stats,
        downtime_seconds: (!resumed && pending.downtime_seconds > 0.0)
            .then_some(pending.downtime_seconds),
        resumed,
        elapsed_seconds: started.elapsed().as_secs_f64(),
    })
}

fn read_pending(path: &Path) -> Option<Pending> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Stop the node, freeze its data into `dir/tree`, start it again, and record the tree.
fn freeze_paused(
    home: &Path,
    dir: &Path,
    control: &mut dyn NodeControl,
    meta: NodeMeta,
) -> Result<Pending> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| SnapshotError::io(dir, e))?;
    }
    let tree = dir.join("tree");
    std::fs::create_dir_all(&tree).map_err(|e| SnapshotError::io(&tree, e))?;
    let t0 = Instant::now();
    if let Err(e) = control.stop() {
        // It may have stopped halfway: bring it back before reporting.
        let _ = control.start();
        return Err(e);
    }
    let stopped = if control.in_place() {
        Ok(())
    } else {
        wait_stopped(home)
    };
    tracing::debug!(seconds = t0.elapsed().as_secs_f64(), "node paused");
    let frozen = stopped.and_then(|()| copy_aside(home, &tree));
    tracing::debug!(
        seconds = t0.elapsed().as_secs_f64(),
        "files linked and copied aside"
    );
    let restarted = control.start();
    let downtime = t0.elapsed().as_secs_f64();
    tracing::debug!(seconds = downtime, "node serving again");
    // The copies are made durable with the node running again: they are in the page
    // cache already, and nothing is recorded before they are on disk.
    frozen.and_then(|copied| sync_all(&copied))?;
    restarted?;
    let now = lease::now_unix() as u64;
    let p = Pending {
        id: manifest::make_id(&meta.chain_id, meta.height, now),
        created_unix: now,
        meta,
        source: control.describe(),
        downtime_seconds: downtime,
    };
    let record = dir.join("pending.json");
    let mut f = std::fs::File::create(&record).map_err(|e| SnapshotError::io(&record, e))?;
    f.write_all(&serde_json::to_vec(&p).expect("serializes"))
        .and_then(|()| f.sync_all())
        .map_err(|e| SnapshotError::io(&record, e))?;
    Ok(p)
}

/// Wait until nothing holds the node's databases or serves its RPC.
fn wait_stopped(home: &Path) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match node::running(home)? {
            None => return Ok(()),
            Some(why) if Instant::now() > deadline => {
                return Err(SnapshotError::NodeRunning(format!(
                    "the node at {} still runs after it was told to stop ({why}); nothing was read: check the stop command",
                    home.display()
                )))
            }
            Some(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Copy `home`'s data and wasm into `tree`, durably: table files hard-linked, the rest
/// copied (with their modification times), keys and sign state left out.
pub fn freeze(home: &Path, tree: &Path) -> Result<()> {
    copy_aside(home, tree).and_then(|copied| sync_all(&copied))
}

/// Flush `files` to disk.
fn sync_all(files: &[PathBuf]) -> Result<()> {
    for f in files {
        std::fs::File::open(f)
            .and_then(|out| out.sync_all())
            .map_err(|e| SnapshotError::io(f, e))?;
    }
    Ok(())
}

/// [`freeze`] without the flush: returns the files it copied (the ones to flush).
fn copy_aside(home: &Path, tree: &Path) -> Result<Vec<PathBuf>> {
    let mut copied = Vec::new();
    let (dirs, files) = ingest::walk(home)?;
    for d in &dirs {
        let p = tree.join(d);
        std::fs::create_dir_all(&p).map_err(|e| SnapshotError::io(&p, e))?;
    }
    for f in &files {
        let dst = tree.join(&f.rel);
        let linked =
            ingest::immutable(chunk::kind_of(&f.path)) && std::fs::hard_link(&f.path, &dst).is_ok();
        if !linked {
            std::fs::copy(&f.path, &dst).map_err(|e| SnapshotError::io(&f.path, e))?;
            let out = std::fs::File::options()
                .write(true)
                .open(&dst)
                .map_err(|e| SnapshotError::io(&dst, e))?;
            let mtime = SystemTime::UNIX_EPOCH + Duration::from_nanos(f.mtime_ns.max(0) as u64);
            out.set_modified(mtime)
                .map_err(|e| SnapshotError::io(&dst, e))?;
            copied.push(dst);
        }
    }
    Ok(copied)
}

/// Chunk and upload every file of `root`; returns the manifest's dirs and files.
async fn ingest_tree(
    store: &Store,
    root: &Path,
    pending: &Pending,
    opts: &CreateOptions,
    progress: &indicatif::ProgressBar,
) -> Result<(Vec<String>, Vec<FileEntry>, IngestStats)> {
    let previous: HashMap<String, FileEntry> = if opts.rehash {
        HashMap::new()
    } else {
        catalog::newest(store, &pending.meta.chain_id)
            .await?
            .map(|m| m.files.into_iter().map(|f| (f.path.clone(), f)).collect())
            .unwrap_or_default()
    };
    let t = Instant::now();
    let known = ingest::stored_chunks(store).await?;
    tracing::debug!(
        seconds = t.elapsed().as_secs_f64(),
        chunks = known.len(),
        "stored chunks listed"
    );
    let root = root.to_path_buf();
    let (dirs, found) = tokio::task::spawn_blocking(move || ingest::walk(&root)).await??;
    tracing::debug!(
        seconds = t.elapsed().as_secs_f64(),
        files = found.len(),
        "tree walked"
    );
    progress.set_length(found.iter().map(|f| f.size).sum());
    let (tx, rx) = tokio::sync::mpsc::channel(opts.jobs.max(1) * 2);
    let pb = progress.clone();
    let reader = tokio::task::spawn_blocking(move || -> Result<(Vec<FileEntry>, IngestStats)> {
        let mut ing = Ingest::new(known, tx);
        let mut entries = Vec::with_capacity(found.len());
        for f in found {
            let same = previous.get(&f.rel).filter(|p| {
                p.kind == FileKind::Table
                    && p.size == f.size
                    && p.mtime_ns == f.mtime_ns
                    && ing.has_all(p)
            });
            if let Some(p) = same {
                ing.reuse(p);
                entries.push(FileEntry {
                    mode: f.mode,
                    ..p.clone()
                });
            } else {
                let file =
                    std::fs::File::open(&f.path).map_err(|e| SnapshotError::io(&f.path, e))?;
                let entry = ing
                    .file(&f.rel, std::io::BufReader::new(file), f.mode, f.mtime_ns)
                    .map_err(|e| SnapshotError::io(&f.path, e))?;
                entries.push(entry);
            }
            pb.inc(f.size);
        }
        Ok((entries, ing.stats))
    });
    let limit = RateLimit::new(opts.max_rate);
    let uploaded = ingest::upload(store, rx, opts.jobs, &limit).await;
    let read = reader.await?;
    // A failed upload makes the reader fail too ("the upload stopped"): report the cause.
    let sent = uploaded?;
    let (files, mut stats) = read?;
    stats.bytes_uploaded = sent;
    progress.finish_and_clear();
    Ok((dirs, files, stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freeze_links_tables_copies_the_rest_and_leaves_out_the_sign_state() {
        use std::os::unix::fs::MetadataExt;
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        std::fs::create_dir_all(home.join("data/state.db")).unwrap();
        std::fs::write(home.join("data/state.db/000001.ldb"), b"table").unwrap();
        std::fs::write(home.join("data/state.db/000002.log"), b"journal").unwrap();
        std::fs::write(home.join("data/priv_validator_state.json"), b"{}").unwrap();
        let tree = tmp.path().join("tree");
        freeze(&home, &tree).unwrap();
        let ino = |p: &Path| std::fs::metadata(p).unwrap().ino();
        assert_eq!(
            ino(&home.join("data/state.db/000001.ldb")),
            ino(&tree.join("data/state.db/000001.ldb"))
        );
        assert_ne!(
            ino(&home.join("data/state.db/000002.log")),
            ino(&tree.join("data/state.db/000002.log"))
        );
        assert_eq!(
            std::fs::metadata(home.join("data/state.db/000002.log"))
                .unwrap()
                .mtime(),
            std::fs::metadata(tree.join("data/state.db/000002.log"))
                .unwrap()
                .mtime()
        );
        // The node appends to its journal after it restarts; the frozen copy keeps the
        // bytes of the moment.
        std::fs::write(home.join("data/state.db/000002.log"), b"journal+more").unwrap();
        assert_eq!(
            std::fs::read(tree.join("data/state.db/000002.log")).unwrap(),
            b"journal"
        );
        assert!(!tree.join("data/priv_validator_state.json").exists());
    }
}

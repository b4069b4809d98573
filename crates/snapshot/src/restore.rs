//! `restore`: rebuild a home's `data/` (and `wasm/`) from a snapshot, keeping the node's
//! own sign state and keys.
//!
//! Everything is written into `<home>/.bulwark-restore/<id>/` first, each file as
//! `<name>.part`, checked against its hash and renamed once whole. When every file is
//! there, a marker goes into each finished directory, the node's own
//! `priv_validator_state.json` (and any key file kept under `data/`) is copied in, and
//! each directory is swapped with the home's by one `renameat2(RENAME_EXCHANGE)` (two
//! renames where the file system cannot exchange). So at every moment the home has
//! either its old `data/` or the whole new one, never a half-restored one; an
//! interrupted restore run again goes on where it stopped, re-checking the files it had
//! finished.

use crate::chunk::Hash;
use crate::error::{Result, SnapshotError};
use crate::fetch;
use crate::ingest::RateLimit;
use crate::manifest::{self, FileEntry, Manifest};
use crate::node;
use crate::store::Store;
use futures::StreamExt;
use serde::Serialize;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// Marker written into a finished directory before it is swapped in.
pub const MARKER: &str = ".bulwark-restore-complete";

/// Options of a restore.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// Chunks fetched at once.
    pub jobs: usize,
    /// Download bytes per second at most.
    pub max_rate: Option<u64>,
    /// Restore a snapshot older than the node's sign state.
    pub allow_below_sign_state: bool,
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    /// The snapshot.
    pub id: String,
    /// Its chain.
    pub chain_id: String,
    /// Its height.
    pub height: u64,
    /// The home restored into.
    pub home: PathBuf,
    /// Files restored.
    pub files: usize,
    /// Bytes restored.
    pub bytes: u64,
    /// Files an interrupted restore had already finished (re-checked, not fetched).
    pub files_resumed: usize,
    /// The sign state file kept, with its height, or `None` when the home had none.
    pub sign_state: Option<String>,
    /// Height of the kept sign state.
    pub sign_state_height: Option<u64>,
    /// How long it took.
    pub elapsed_seconds: f64,
    /// Bytes restored per second.
    pub bytes_per_second: f64,
}

/// `<home>/.bulwark-restore/<id>`.
pub fn stage_dir(home: &Path, id: &str) -> PathBuf {
    home.join(".bulwark-restore").join(id)
}

/// Restore snapshot `m` from `store` into `home`.
pub async fn restore(
    store: &Store,
    m: &Manifest,
    home: &Path,
    opts: &RestoreOptions,
    progress: &indicatif::ProgressBar,
) -> Result<RestoreReport> {
    let started = Instant::now();
    if let Some(why) = still_running(home)? {
        return Err(SnapshotError::NodeRunning(format!(
            "the node at {} is running ({why}); stop it first: a restore replaces its data",
            home.display()
        )));
    }
    if let Some(chain) = node::chain_id(home)? {
        if chain != m.chain_id {
            return Err(SnapshotError::WrongChain {
                snapshot: m.chain_id.clone(),
                home_chain: chain,
                home: home.to_path_buf(),
            });
        }
    }
    let state_path = node::sign_state_path(home)?;
    let state_height = node::sign_state_height(&state_path)?;
    if let Some(h) = state_height {
        if h > m.height && !opts.allow_below_sign_state {
            return Err(SnapshotError::BelowSignState {
                snapshot: m.height,
                sign_state: h,
                path: state_path,
            });
        }
    }
    let tops: Vec<String> = manifest::DIRS
        .iter()
        .filter(|d| {
            m.dirs.iter().any(|x| x == *d)
                || m.files.iter().any(|f| f.path.starts_with(&format!("{d}/")))
        })
        .map(|d| d.to_string())
        .collect();
    let stage = stage_dir(home, &m.id);
    forget_other_restores(home, &m.id)?;
    let swapped = |d: &str| home.join(d).join(MARKER).is_file();
    let mut files_resumed = 0;
    if !tops.iter().all(|d| swapped(d)) {
        // A prune keeps this snapshot while the lease is held (see `lease`).
        let lease = crate::lease::for_restore(store, &m.id, home).await?;
        let filled = match store.get(&Manifest::key_of(&m.id)).await {
            Ok(Some(_)) => fill_stage(store, m, &stage, opts, progress).await,
            Ok(None) => Err(SnapshotError::NotFound(format!(
                "snapshot {} was removed from {} (a prune) before this restore began; nothing was changed in {}: pick another with `bulwark snapshot list`",
                m.id,
                store.url(),
                home.display()
            ))),
            Err(e) => Err(e),
        };
        let released = lease.release().await;
        files_resumed = filled?;
        released?;
        for d in &tops {
            if swapped(d) {
                continue;
            }
            keep_own_files(home, &stage, d, &state_path)?;
            let marker = stage.join(d).join(MARKER);
            write_synced(&marker, m.id.as_bytes())?;
            swap(&stage.join(d), &home.join(d))?;
            sync_dir(home)?;
        }
    }
    for d in &tops {
        let marker = home.join(d).join(MARKER);
        std::fs::remove_file(&marker).map_err(|e| SnapshotError::io(&marker, e))?;
    }
    let restore_root = home.join(".bulwark-restore");
    std::fs::remove_dir_all(&stage).map_err(|e| SnapshotError::io(&stage, e))?;
    let _ = std::fs::remove_dir(&restore_root);
    let elapsed = started.elapsed().as_secs_f64();
    let kept_height = node::sign_state_height(&state_path)?;
    Ok(RestoreReport {
        id: m.id.clone(),
        chain_id: m.chain_id.clone(),
        height: m.height,
        home: home.to_path_buf(),
        files: m.files.len(),
        bytes: m.bytes(),
        files_resumed,
        sign_state: kept_height.map(|_| state_path.display().to_string()),
        sign_state_height: kept_height,
        elapsed_seconds: elapsed,
        bytes_per_second: m.bytes() as f64 / elapsed.max(1e-6),
    })
}

/// Why the node at `home` runs, checked again for a few seconds: a process that was
/// just stopped can hold its database locks for a moment after it is reported gone (its
/// other threads still closing).
fn still_running(home: &Path) -> Result<Option<String>> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match node::running(home)? {
            Some(why) if Instant::now() >= deadline => return Ok(Some(why)),
            Some(_) => std::thread::sleep(Duration::from_millis(100)),
            None => return Ok(None),
        }
    }
}

/// Clear what restores of other snapshots left: a marker in a directory they had
/// already swapped in (that data is whole), and their unfinished staging directories
/// (a restore of this snapshot replaces whatever they would have written).
fn forget_other_restores(home: &Path, id: &str) -> Result<()> {
    for d in manifest::DIRS {
        let marker = home.join(d).join(MARKER);
        if let Ok(other) = std::fs::read_to_string(&marker) {
            if other != id {
                std::fs::remove_file(&marker).map_err(|e| SnapshotError::io(&marker, e))?;
            }
        }
    }
    let root = home.join(".bulwark-restore");
    for e in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        if e.file_name() != std::ffi::OsStr::new(id) {
            let p = e.path();
            tracing::info!(dir = %p.display(), "removing an unfinished restore of another snapshot");
            std::fs::remove_dir_all(&p).map_err(|e| SnapshotError::io(&p, e))?;
        }
    }
    Ok(())
}

/// Write every file of `m` into `stage`; returns how many were already there.
async fn fill_stage(
    store: &Store,
    m: &Manifest,
    stage: &Path,
    opts: &RestoreOptions,
    progress: &indicatif::ProgressBar,
) -> Result<usize> {
    for d in &m.dirs {
        let p = stage.join(d);
        std::fs::create_dir_all(&p).map_err(|e| SnapshotError::io(&p, e))?;
    }
    progress.set_length(m.bytes());
    // Files an earlier run finished are checked again, not fetched.
    let (stage_owned, files) = (stage.to_path_buf(), m.files.clone());
    let done: Vec<bool> = tokio::task::spawn_blocking(move || {
        files
            .iter()
            .map(|f| finished(&stage_owned.join(&f.path), f))
            .collect()
    })
    .await?;
    let resumed = done.iter().filter(|d| **d).count();
    let mut todo: Vec<FileEntry> = vec![];
    for (f, d) in m.files.iter().zip(&done) {
        if *d {
            progress.inc(f.size);
        } else if f.chunks.is_empty() {
            finish(stage, f, &mut Writer::open(stage, f)?)?;
        } else {
            todo.push(f.clone());
        }
    }
    let limit = RateLimit::new(opts.max_rate);
    // Chunks are fetched, decompressed and checked `jobs` at a time; one thread writes
    // them out in order (and hashes each whole file), so the disk streams while the
    // next chunks are being opened.
    let (tx, rx) = tokio::sync::mpsc::channel::<(usize, usize, Vec<u8>)>(opts.jobs.max(1) * 2);
    let writer = {
        let (stage, todo) = (stage.to_path_buf(), todo.clone());
        tokio::task::spawn_blocking(move || write_chunks(&stage, &todo, rx))
    };
    let mut stream = std::pin::pin!(fetch::chunks(store, &todo, opts.jobs, &limit));
    let mut failed = None;
    while let Some(f) = stream.next().await {
        let data = match f.data {
            Ok(d) => d,
            Err(e) => {
                failed = Some(e);
                break;
            }
        };
        let n = data.len() as u64;
        if tx.send((f.file, f.chunk, data)).await.is_err() {
            // The writer stopped on an error, which it returns below.
            break;
        }
        progress.inc(n);
    }
    drop(tx);
    let written = writer.await?;
    if let Some(e) = failed {
        return Err(e);
    }
    written?;
    // Everything reaches the disk before anything is swapped in: the files (also those
    // an earlier run finished), then the directories. One pass at the end rather than a
    // flush per file keeps the disk streaming; a crash before it costs nothing, since a
    // rerun hashes every staged file again.
    let paths: Vec<PathBuf> = m.files.iter().map(|f| stage.join(&f.path)).collect();
    sync_all(paths).await?;
    for d in &m.dirs {
        sync_dir(&stage.join(d))?;
    }
    progress.finish_and_clear();
    Ok(resumed)
}

/// Write the chunks `rx` brings, in order, into the files of `todo` under `stage`: each
/// file as `<name>.part`, renamed once whole and its hash checked.
fn write_chunks(
    stage: &Path,
    todo: &[FileEntry],
    mut rx: tokio::sync::mpsc::Receiver<(usize, usize, Vec<u8>)>,
) -> Result<()> {
    let mut current: Option<(usize, Writer)> = None;
    while let Some((file, chunk, data)) = rx.blocking_recv() {
        if current.as_ref().is_none_or(|(i, _)| *i != file) {
            current = Some((file, Writer::open(stage, &todo[file])?));
        }
        let (_, w) = current.as_mut().expect("just set");
        w.write(&data)?;
        if chunk + 1 == todo[file].chunks.len() {
            let (i, mut w) = current.take().expect("just set");
            finish(stage, &todo[i], &mut w)?;
        }
    }
    Ok(())
}

/// `fsync` every file of `paths`, a few at a time.
async fn sync_all(paths: Vec<PathBuf>) -> Result<()> {
    let per = paths.len().div_ceil(4).max(1);
    let mut tasks = vec![];
    for part in paths.chunks(per) {
        let part = part.to_vec();
        tasks.push(tokio::task::spawn_blocking(move || {
            for p in part {
                std::fs::File::open(&p)
                    .and_then(|f| f.sync_all())
                    .map_err(|e| SnapshotError::io(&p, e))?;
            }
            Ok::<_, SnapshotError>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

/// A file being written as `<name>.part`.
struct Writer {
    part: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
    /// The whole file's hash so far; `None` for a file of one chunk, whose checked chunk
    /// hash is the file's hash.
    hasher: Option<blake3::Hasher>,
}

impl Writer {
    fn open(stage: &Path, f: &FileEntry) -> Result<Writer> {
        let part = stage.join(format!("{}.part", f.path));
        let file = std::fs::File::create(&part).map_err(|e| SnapshotError::io(&part, e))?;
        Ok(Writer {
            part,
            out: std::io::BufWriter::with_capacity(crate::WRITE_PIECE, file),
            hasher: (f.chunks.len() != 1).then(blake3::Hasher::new),
        })
    }

    fn write(&mut self, data: &[u8]) -> Result<()> {
        if let Some(h) = self.hasher.as_mut() {
            h.update(data);
        }
        for piece in data.chunks(crate::WRITE_PIECE) {
            self.out
                .write_all(piece)
                .map_err(|e| SnapshotError::io(&self.part, e))?;
        }
        Ok(())
    }
}

/// Check the whole file's hash, set its mode and time and give it its name (it reaches
/// the disk with the others, before the swap).
fn finish(stage: &Path, f: &FileEntry, w: &mut Writer) -> Result<()> {
    let got: Hash = match &w.hasher {
        Some(h) => h.finalize().into(),
        None => f.chunks[0].hash,
    };
    if got != f.hash {
        return Err(SnapshotError::BadChunk {
            file: f.path.clone(),
            chunk: "(whole file)".into(),
            problem: format!("its chunks hash to {got}, the manifest says {}", f.hash),
        });
    }
    let part = w.part.clone();
    w.out.flush().map_err(|e| SnapshotError::io(&part, e))?;
    let file = w.out.get_ref();
    file.set_permissions(std::fs::Permissions::from_mode(f.mode & 0o7777))
        .and_then(|()| {
            file.set_modified(
                SystemTime::UNIX_EPOCH + Duration::from_nanos(f.mtime_ns.max(0) as u64),
            )
        })
        .map_err(|e| SnapshotError::io(&part, e))?;
    let dst = stage.join(&f.path);
    std::fs::rename(&part, &dst).map_err(|e| SnapshotError::io(&dst, e))
}

/// Whether `path` already holds exactly `f`.
fn finished(path: &Path, f: &FileEntry) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if meta.len() != f.size {
        return false;
    }
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0; 1 << 20];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                h.update(&buf[..n]);
            }
            Err(_) => return false,
        }
    }
    Hash::from(h.finalize()) == f.hash
}

/// Copy the node's own sign state and key files from `home/<top>` into the staged
/// directory, so the swap keeps them.
fn keep_own_files(home: &Path, stage: &Path, top: &str, state_path: &Path) -> Result<()> {
    let old = home.join(top);
    let mut keep: Vec<PathBuf> = manifest::NEVER
        .iter()
        .map(|n| old.join(n))
        .filter(|p| p.is_file())
        .collect();
    if state_path.starts_with(&old) && state_path.is_file() && !keep.iter().any(|p| p == state_path)
    {
        keep.push(state_path.to_path_buf());
    }
    for src in keep {
        let rel = src.strip_prefix(&old).expect("under the old directory");
        let dst = stage.join(top).join(rel);
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent).map_err(|e| SnapshotError::io(parent, e))?;
        }
        let bytes = std::fs::read(&src).map_err(|e| SnapshotError::io(&src, e))?;
        write_synced(&dst, &bytes)?;
        let mode = std::fs::metadata(&src)
            .map_err(|e| SnapshotError::io(&src, e))?
            .permissions();
        std::fs::set_permissions(&dst, mode).map_err(|e| SnapshotError::io(&dst, e))?;
    }
    Ok(())
}

/// Put `new` where `old` is: exchanged atomically when `old` exists.
fn swap(new: &Path, old: &Path) -> Result<()> {
    if !old.exists() {
        return std::fs::rename(new, old).map_err(|e| SnapshotError::io(old, e));
    }
    use nix::fcntl::{renameat2, RenameFlags};
    match renameat2(None, new, None, old, RenameFlags::RENAME_EXCHANGE) {
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOSYS) => {
            // No exchange on this file system: move the old one aside, then the new one
            // in. In between the home has no data/, and a node will not start on that.
            let aside = new.with_extension("old");
            std::fs::rename(old, &aside).map_err(|e| SnapshotError::io(old, e))?;
            std::fs::rename(new, old).map_err(|e| SnapshotError::io(old, e))?;
            std::fs::rename(&aside, new).map_err(|e| SnapshotError::io(new, e))
        }
        Err(e) => Err(SnapshotError::io(old, e.into())),
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = std::fs::File::create(path).map_err(|e| SnapshotError::io(path, e))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| SnapshotError::io(path, e))
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| SnapshotError::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::create::{create, CreateOptions, NodeMeta, Source};

    fn write(p: &Path, bytes: &[u8]) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    #[tokio::test]
    async fn restores_over_old_data_keeping_the_sign_state() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        let big: Vec<u8> = (0..2_000_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        write(&src.join("data/blockstore.db/000005.ldb"), &big);
        write(&src.join("data/blockstore.db/000006.log"), b"journal");
        write(&src.join("data/blockstore.db/LOCK"), b"");
        write(
            &src.join("data/priv_validator_state.json"),
            br#"{"height":"99"}"#,
        );
        write(&src.join("wasm/contract.wasm"), b"\0asm");
        std::fs::create_dir_all(src.join("data/empty.db")).unwrap();
        let store = Store::open(tmp.path().join("store").to_str().unwrap(), None).unwrap();
        let meta = NodeMeta {
            chain_id: "c-1".into(),
            height: 10,
            ..NodeMeta::default()
        };
        let opts = CreateOptions {
            jobs: 2,
            max_rate: None,
            rehash: false,
        };
        let pb = indicatif::ProgressBar::hidden();
        let made = create(
            &store,
            Source::Frozen {
                root: src.clone(),
                meta,
            },
            &opts,
            &pb,
        )
        .await
        .unwrap();
        let m = crate::catalog::load(&store, Some(&made.id), None)
            .await
            .unwrap();
        assert!(m
            .files
            .iter()
            .all(|f| !f.path.ends_with("priv_validator_state.json")));

        let home = tmp.path().join("home");
        write(&home.join("config/genesis.json"), br#"{"chain_id":"c-1"}"#);
        write(&home.join("data/old.db/000001.ldb"), b"old");
        let state = br#"{"height":"12","round":0,"step":3}"#;
        write(&home.join("data/priv_validator_state.json"), state);
        let ropts = RestoreOptions {
            jobs: 2,
            max_rate: None,
            allow_below_sign_state: false,
        };
        let e = restore(&store, &m, &home, &ropts, &pb).await.unwrap_err();
        assert!(
            matches!(
                e,
                SnapshotError::BelowSignState {
                    sign_state: 12,
                    snapshot: 10,
                    ..
                }
            ),
            "{e}"
        );
        assert!(home.join("data/old.db/000001.ldb").is_file());
        let ropts = RestoreOptions {
            allow_below_sign_state: true,
            ..ropts
        };
        let r = restore(&store, &m, &home, &ropts, &pb).await.unwrap();
        assert_eq!(r.sign_state_height, Some(12));
        assert_eq!(
            std::fs::read(home.join("data/priv_validator_state.json")).unwrap(),
            state
        );
        assert_eq!(
            std::fs::read(home.join("data/blockstore.db/000005.ldb")).unwrap(),
            big
        );
        assert_eq!(
            std::fs::read(home.join("wasm/contract.wasm")).unwrap(),
            b"\0asm"
        );
        assert!(home.join("data/empty.db").is_dir());
        assert!(!home.join("data/old.db").exists());
        assert!(!home.join("data").join(MARKER).exists());
        assert!(!home.join(".bulwark-restore").exists());

        let other = tmp.path().join("other");
        write(&other.join("config/genesis.json"), br#"{"chain_id":"c-2"}"#);
        let e = restore(&store, &m, &other, &ropts, &pb).await.unwrap_err();
        assert!(matches!(e, SnapshotError::WrongChain { .. }), "{e}");
    }

    /// A snapshot of `src` at `height` in `store`, as listed.
    async fn snapshot_of(store: &Store, src: &Path, height: u64) -> Manifest {
        let meta = NodeMeta {
            chain_id: "c-1".into(),
            height,
            ..NodeMeta::default()
        };
        let opts = CreateOptions {
            jobs: 2,
            max_rate: None,
            rehash: false,
        };
        let source = Source::Frozen {
            root: src.to_path_buf(),
            meta,
        };
        let pb = indicatif::ProgressBar::hidden();
        let made = create(store, source, &opts, &pb).await.unwrap();
        crate::catalog::load(store, Some(&made.id), None)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_prune_keeps_the_snapshot_a_restore_is_reading() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        // Five table files of bytes that do not compress: five chunks, so that the rate
        // limit holds the restore open for about 4 s.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut noise = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 32) as u8
                })
                .collect()
        };
        let old: Vec<Vec<u8>> = (0..5).map(|_| noise(300_000)).collect();
        for (i, bytes) in old.iter().enumerate() {
            write(&src.join(format!("data/blockstore.db/00000{i}.ldb")), bytes);
        }
        let store = Store::open(tmp.path().join("store").to_str().unwrap(), None).unwrap();
        let first = snapshot_of(&store, &src, 10).await;
        std::fs::remove_dir_all(src.join("data/blockstore.db")).unwrap();
        write(&src.join("data/blockstore.db/000007.ldb"), b"newer table");
        let second = snapshot_of(&store, &src, 20).await;

        // The first snapshot is restored slowly (about 3 s) while a prune that keeps
        // only the newest runs.
        let home = tmp.path().join("home");
        let ropts = RestoreOptions {
            jobs: 1,
            max_rate: Some(300_000),
            allow_below_sign_state: false,
        };
        let (st, m, h, o) = (store.clone(), first.clone(), home.clone(), ropts.clone());
        let restoring = tokio::spawn(async move {
            restore(&st, &m, &h, &o, &indicatif::ProgressBar::hidden()).await
        });
        let deadline = Instant::now() + std::time::Duration::from_secs(20);
        while !store
            .list("leases/")
            .await
            .unwrap()
            .iter()
            .any(|o| o.key.contains("restore-"))
        {
            if restoring.is_finished() {
                panic!("the restore ended first: {:?}", restoring.await.unwrap());
            }
            assert!(Instant::now() < deadline, "the restore took no lease");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let keep_newest = crate::prune::Retention {
            keep_last: 1,
            keep_daily: 0,
        };
        let r = crate::prune::prune(&store, keep_newest).await.unwrap();
        assert_eq!(r.kept, vec![second.id.clone()]);
        assert_eq!(r.being_restored, vec![first.id.clone()]);
        assert!(r.removed.is_empty() && r.chunks_removed == 0, "{r:?}");
        let done = restoring.await.unwrap().unwrap();
        assert_eq!(done.id, first.id);
        for (i, bytes) in old.iter().enumerate() {
            let path = home.join(format!("data/blockstore.db/00000{i}.ldb"));
            assert_eq!(&std::fs::read(path).unwrap(), bytes);
        }

        // With the restore done, the next prune removes it and its chunks.
        let r = crate::prune::prune(&store, keep_newest).await.unwrap();
        assert_eq!(r.removed, vec![first.id.clone()]);
        assert!(r.chunks_removed > 0, "{r:?}");
        // A restore of a snapshot a prune has removed since it was listed changes nothing.
        let fresh = tmp.path().join("fresh");
        std::fs::create_dir_all(&fresh).unwrap();
        let e = restore(
            &store,
            &first,
            &fresh,
            &ropts,
            &indicatif::ProgressBar::hidden(),
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("was removed from"), "{e}");
        assert!(!fresh.join("data").exists());
    }
}

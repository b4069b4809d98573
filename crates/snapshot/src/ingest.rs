//! Turning files into stored chunks: a reading thread cuts, hashes and compresses; the
//! async side uploads up to `jobs` chunks at once. Chunks already in the store (or
//! already queued in this run) are skipped, which is also what makes an interrupted
//! upload resume where it stopped.

use crate::chunk::{self, FileKind, Hash};
use crate::error::{Result, SnapshotError};
use crate::manifest::{self, ChunkRef, FileEntry};
use crate::store::Store;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use std::collections::HashSet;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts of an ingest.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct IngestStats {
    /// Files in the snapshot.
    pub files: u64,
    /// Files (not empty) every chunk of which was already stored.
    pub files_reused: u64,
    /// Chunks in the snapshot.
    pub chunks: u64,
    /// Chunks uploaded by this run.
    pub chunks_uploaded: u64,
    /// Chunks already in the store.
    pub chunks_reused: u64,
    /// Bytes of the snapshot's files.
    pub bytes: u64,
    /// Bytes uploaded (compressed).
    pub bytes_uploaded: u64,
}

/// A chunk to upload (compressed by the uploader, so that several compress at once).
#[derive(Debug)]
pub struct Job {
    hash: Hash,
    data: Vec<u8>,
}

/// The reading side: call [`Ingest::file`] for every file, in a blocking thread.
#[derive(Debug)]
pub struct Ingest {
    known: HashSet<Hash>,
    tx: tokio::sync::mpsc::Sender<Job>,
    /// What was done so far.
    pub stats: IngestStats,
}

impl Ingest {
    /// An ingest that skips the chunks in `known` and sends the rest to `tx`.
    pub fn new(known: HashSet<Hash>, tx: tokio::sync::mpsc::Sender<Job>) -> Ingest {
        Ingest {
            known,
            tx,
            stats: IngestStats::default(),
        }
    }

    /// Whether every chunk of `entry` is stored or queued.
    pub fn has_all(&self, entry: &FileEntry) -> bool {
        entry.chunks.iter().all(|c| self.known.contains(&c.hash))
    }

    /// Count a file reused from an earlier manifest without reading it.
    pub fn reuse(&mut self, entry: &FileEntry) {
        self.stats.files += 1;
        self.stats.files_reused += 1;
        self.stats.chunks += entry.chunks.len() as u64;
        self.stats.chunks_reused += entry.chunks.len() as u64;
        self.stats.bytes += entry.size;
    }

    /// Cut, hash and queue the file read from `reader`, stored at `rel`.
    pub fn file(
        &mut self,
        rel: &str,
        reader: impl Read,
        mode: u32,
        mtime_ns: i64,
    ) -> std::io::Result<FileEntry> {
        let kind = chunk::kind_of(Path::new(rel));
        let mut hasher = blake3::Hasher::new();
        let mut chunks = vec![];
        let mut size = 0u64;
        let mut all_known = true;
        for piece in chunk::pieces(reader, kind) {
            let piece = piece?;
            hasher.update(&piece);
            // The first piece's hash is the file hasher's state so far; only later
            // pieces are hashed twice (most table files are one piece).
            let hash = if chunks.is_empty() {
                Hash::from(hasher.finalize())
            } else {
                Hash::of(&piece)
            };
            size += piece.len() as u64;
            chunks.push(ChunkRef {
                hash,
                size: piece.len() as u64,
            });
            if self.known.insert(hash) {
                all_known = false;
                self.stats.chunks_uploaded += 1;
                self.tx
                    .blocking_send(Job { hash, data: piece })
                    .map_err(|_| std::io::Error::other("the upload stopped"))?;
            } else {
                self.stats.chunks_reused += 1;
            }
        }
        self.stats.files += 1;
        self.stats.files_reused += u64::from(all_known && !chunks.is_empty());
        self.stats.chunks += chunks.len() as u64;
        self.stats.bytes += size;
        Ok(FileEntry {
            path: rel.to_string(),
            size,
            mode,
            mtime_ns,
            kind,
            hash: hasher.finalize().into(),
            chunks,
        })
    }
}

/// Compress and upload every job from `rx` to `store`, `jobs` at a time, no faster
/// than `limit`. Returns the bytes uploaded.
pub async fn upload(
    store: &Store,
    rx: tokio::sync::mpsc::Receiver<Job>,
    jobs: usize,
    limit: &RateLimit,
) -> Result<u64> {
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|j| (j, rx)) })
        .map(|job| async move {
            let data = tokio::task::spawn_blocking(move || chunk::compress(&job.data))
                .await?
                .map_err(|e| SnapshotError::Task(format!("zstd: {e}")))?;
            let n = data.len() as u64;
            limit.acquire(n).await;
            store
                .put(&Store::chunk_key(&job.hash), Bytes::from(data))
                .await
                .map(|()| n)
        })
        .buffer_unordered(jobs.max(1))
        .try_fold(0, |sum, n| async move { Ok(sum + n) })
        .await
}

/// The hashes of every chunk in `store`.
pub async fn stored_chunks(store: &Store) -> Result<HashSet<Hash>> {
    Ok(store
        .list("chunks/")
        .await?
        .into_iter()
        .filter_map(|o| o.key.rsplit('/').next().and_then(|n| n.parse().ok()))
        .collect())
}

/// A byte rate limit shared by concurrent transfers (`None`: unlimited).
#[derive(Debug)]
pub struct RateLimit {
    bytes_per_second: Option<u64>,
    next: Mutex<Instant>,
}

impl RateLimit {
    /// A limit of `bytes_per_second`, or none.
    pub fn new(bytes_per_second: Option<u64>) -> RateLimit {
        RateLimit {
            bytes_per_second: bytes_per_second.filter(|b| *b > 0),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Wait until `n` more bytes may go.
    pub async fn acquire(&self, n: u64) {
        let Some(rate) = self.bytes_per_second else {
            return;
        };
        let start = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let start = (*next).max(Instant::now());
            *next = start + Duration::from_secs_f64(n as f64 / rate as f64);
            start
        };
        tokio::time::sleep_until(start.into()).await;
    }
}

/// A file found under a tree.
#[derive(Debug, Clone)]
pub struct Found {
    /// Path relative to the tree's root (`data/...`).
    pub rel: String,
    /// Absolute path.
    pub path: PathBuf,
    /// Permission bits.
    pub mode: u32,
    /// Modification time, ns.
    pub mtime_ns: i64,
    /// Size.
    pub size: u64,
}

/// The directories and files of `root/data` and `root/wasm`, sorted, without keys and
/// sign states. Symlinks are refused: node data has none, and following one could
/// snapshot something outside the home.
pub fn walk(root: &Path) -> Result<(Vec<String>, Vec<Found>)> {
    let mut dirs = vec![];
    let mut files = vec![];
    for top in manifest::DIRS {
        let dir = root.join(top);
        if dir.is_dir() {
            walk_dir(root, &dir, &mut dirs, &mut files)?;
        }
    }
    dirs.sort();
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok((dirs, files))
}

fn walk_dir(root: &Path, dir: &Path, dirs: &mut Vec<String>, files: &mut Vec<Found>) -> Result<()> {
    let rel = |p: &Path| {
        p.strip_prefix(root)
            .expect("under the root")
            .to_string_lossy()
            .into_owned()
    };
    dirs.push(rel(dir));
    let entries = std::fs::read_dir(dir).map_err(|e| SnapshotError::io(dir, e))?;
    for e in entries {
        let e = e.map_err(|e| SnapshotError::io(dir, e))?;
        let path = e.path();
        let meta = std::fs::symlink_metadata(&path).map_err(|e| SnapshotError::io(&path, e))?;
        if meta.is_dir() {
            walk_dir(root, &path, dirs, files)?;
        } else if meta.is_file() {
            if manifest::is_excluded(&path) {
                continue;
            }
            files.push(Found {
                rel: rel(&path),
                path,
                mode: meta.mode() & 0o7777,
                mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
                size: meta.len(),
            });
        } else {
            return Err(SnapshotError::Home(format!(
                "{} is a symlink or special file; a snapshot holds plain files only: replace it by the file it names, or take the snapshot from a copy",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Whether `kind` files are never changed in place (and so may be hard-linked).
pub fn immutable(kind: FileKind) -> bool {
    kind == FileKind::Table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ingests_once_and_skips_what_is_stored() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path().join("s").to_str().unwrap(), None).unwrap();
        let mut x = 99u64;
        let data: Vec<u8> = (0..3_000_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let run = |known: HashSet<Hash>, data: Vec<u8>| {
            let store = store.clone();
            async move {
                let (tx, rx) = tokio::sync::mpsc::channel(4);
                let reader = tokio::task::spawn_blocking(move || {
                    let mut ing = Ingest::new(known, tx);
                    let a = ing
                        .file("data/a.db/000001.ldb", &data[..], 0o644, 1)
                        .unwrap();
                    let b = ing
                        .file("data/a.db/000002.log", &data[..], 0o644, 1)
                        .unwrap();
                    (ing.stats, a, b)
                });
                let sent = upload(&store, rx, 2, &RateLimit::new(None)).await.unwrap();
                let (mut stats, a, b) = reader.await.unwrap();
                stats.bytes_uploaded = sent;
                (stats, a, b)
            }
        };
        let (first, a, b) = run(HashSet::new(), data.clone()).await;
        assert_eq!(a.chunks.len(), 1);
        assert_eq!(a.hash, Hash::of(&data));
        assert_eq!(b.hash, a.hash);
        assert!(b.chunks.len() > 1);
        assert_eq!(first.files, 2);
        assert_eq!(first.bytes, 6_000_000);
        let stored = stored_chunks(&store).await.unwrap();
        assert_eq!(stored.len() as u64, first.chunks_uploaded);
        let (second, ..) = run(stored, data).await;
        assert_eq!(second.chunks_uploaded, 0);
        assert_eq!(second.files_reused, 2);
        assert_eq!(second.chunks_reused, second.chunks);
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_limit_spaces_transfers() {
        let limit = RateLimit::new(Some(1000));
        let t0 = tokio::time::Instant::now();
        limit.acquire(500).await;
        limit.acquire(500).await;
        limit.acquire(10).await;
        assert!(t0.elapsed() >= Duration::from_millis(1000));
    }

    #[test]
    fn walk_leaves_out_keys_and_sign_state() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        std::fs::create_dir_all(r.join("data/state.db")).unwrap();
        std::fs::create_dir_all(r.join("config")).unwrap();
        std::fs::write(r.join("data/state.db/000001.ldb"), b"t").unwrap();
        std::fs::write(r.join("data/priv_validator_state.json"), b"{}").unwrap();
        std::fs::write(r.join("config/priv_validator_key.json"), b"{}").unwrap();
        let (dirs, files) = walk(r).unwrap();
        assert_eq!(dirs, ["data", "data/state.db"]);
        let names: Vec<&str> = files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(names, ["data/state.db/000001.ldb"]);
        std::os::unix::fs::symlink("/etc/passwd", r.join("data/x")).unwrap();
        assert!(walk(r).unwrap_err().to_string().contains("symlink"));
    }
}

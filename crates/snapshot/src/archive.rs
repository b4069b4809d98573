//! Export to and import from the `tar.lz4` and `tar.zst` archives snapshot providers
//! publish. An import leaves out any `priv_validator_state.json` or key file the archive
//! carries: a sign state from someone else's node must never land on a validator.

use crate::chunk;
use crate::create::NodeMeta;
use crate::error::{Result, SnapshotError};
use crate::ingest::{self, Ingest, IngestStats, RateLimit};
use crate::manifest::{self, FileEntry, Manifest, FORMAT};
use crate::store::Store;
use crate::{catalog, lease};
use bytes::Bytes;
use serde::Serialize;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

/// zstd level of exported `tar.zst` archives: zstd's default, as snapshot providers
/// publish them (an export is made once and downloaded many times).
const EXPORT_ZSTD_LEVEL: i32 = 3;

/// Archive formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.tar.lz4` (LZ4 frame).
    Lz4,
    /// `.tar.zst`.
    Zstd,
}

impl Format {
    /// The format a file name asks for.
    pub fn of(path: &Path) -> Result<Format> {
        let name = path.to_string_lossy();
        if name.ends_with(".tar.lz4") {
            Ok(Format::Lz4)
        } else if name.ends_with(".tar.zst") || name.ends_with(".tar.zstd") {
            Ok(Format::Zstd)
        } else {
            Err(SnapshotError::Usage(format!(
                "{name}: the archive's name must end in .tar.lz4 or .tar.zst"
            )))
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// The snapshot.
    pub id: String,
    /// The archive.
    pub file: PathBuf,
    /// Files in it.
    pub files: usize,
    /// Bytes of data.
    pub bytes: u64,
    /// Size of the archive.
    pub archive_bytes: u64,
}

/// What an import stored.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// The new snapshot.
    pub id: String,
    /// Counts.
    #[serde(flatten)]
    pub stats: IngestStats,
    /// Entries left out (sign states, keys, links).
    pub left_out: Vec<String>,
}

/// Write snapshot `m` as an archive at `out` (through `<out>.part`, renamed when whole).
pub async fn export(store: &Store, m: &Manifest, out: &Path) -> Result<ExportReport> {
    let format = Format::of(out)?;
    let part = PathBuf::from(format!("{}.part", out.display()));
    let (store2, m2, part2) = (store.clone(), m.clone(), part.clone());
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || write_archive(&handle, &store2, &m2, &part2, format))
        .await??;
    std::fs::rename(&part, out).map_err(|e| SnapshotError::io(out, e))?;
    let archive_bytes = std::fs::metadata(out)
        .map_err(|e| SnapshotError::io(out, e))?
        .len();
    Ok(ExportReport {
        id: m.id.clone(),
        file: out.to_path_buf(),
        files: m.files.len(),
        bytes: m.bytes(),
        archive_bytes,
    })
}

fn write_archive(
    handle: &tokio::runtime::Handle,
    store: &Store,
    m: &Manifest,
    part: &Path,
    format: Format,
) -> Result<()> {
    let io = |e: std::io::Error| SnapshotError::io(part, e);
    let file = std::io::BufWriter::new(std::fs::File::create(part).map_err(io)?);
    let enc: Box<dyn Write> = match format {
        Format::Lz4 => Box::new(lz4_flex::frame::FrameEncoder::new(file).auto_finish()),
        Format::Zstd => Box::new(
            zstd::Encoder::new(file, EXPORT_ZSTD_LEVEL)
                .map_err(io)?
                .auto_finish(),
        ),
    };
    let mut tar = tar::Builder::new(enc);
    for d in &m.dirs {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        h.set_mtime(m.created_unix);
        tar.append_data(&mut h, format!("{d}/"), std::io::empty())
            .map_err(io)?;
    }
    for f in &m.files {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(f.mode);
        h.set_size(f.size);
        h.set_mtime((f.mtime_ns / 1_000_000_000).max(0) as u64);
        let reader = ChunkReader {
            handle,
            store,
            file: f,
            next: 0,
            buf: vec![],
            pos: 0,
            error: None,
        };
        let mut reader = reader;
        let res = tar.append_data(&mut h, &f.path, &mut reader);
        if let Some(e) = reader.error.take() {
            return Err(e);
        }
        res.map_err(io)?;
    }
    let mut enc = tar.into_inner().map_err(io)?;
    enc.flush().map_err(io)?;
    drop(enc);
    std::fs::File::open(part)
        .and_then(|f| f.sync_all())
        .map_err(io)
}

/// A file's bytes, read chunk by chunk from the store and checked.
struct ChunkReader<'a> {
    handle: &'a tokio::runtime::Handle,
    store: &'a Store,
    file: &'a FileEntry,
    next: usize,
    buf: Vec<u8>,
    pos: usize,
    error: Option<SnapshotError>,
}

impl Read for ChunkReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.buf.len() {
            let Some(c) = self.file.chunks.get(self.next) else {
                return Ok(0);
            };
            self.next += 1;
            let bad = |problem: String| SnapshotError::BadChunk {
                file: self.file.path.clone(),
                chunk: c.hash.to_hex(),
                problem,
            };
            let got = self
                .handle
                .block_on(self.store.get(&Store::chunk_key(&c.hash)));
            let data = match got {
                Ok(Some(stored)) => chunk::open(&stored, c.hash, c.size).map_err(bad),
                Ok(None) => Err(bad("is missing from the store".into())),
                Err(e) => Err(e),
            };
            match data {
                Ok(d) => {
                    self.buf = d;
                    self.pos = 0;
                }
                Err(e) => {
                    let msg = e.to_string();
                    self.error = Some(e);
                    return Err(std::io::Error::other(msg));
                }
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Store the archive at `path` as a new snapshot of `meta`.
pub async fn import(
    store: &Store,
    path: &Path,
    meta: NodeMeta,
    jobs: usize,
    progress: &indicatif::ProgressBar,
) -> Result<ImportReport> {
    let format = Format::of(path)?;
    let file = std::fs::File::open(path).map_err(|e| SnapshotError::io(path, e))?;
    progress.set_length(file.metadata().map(|m| m.len()).unwrap_or(0));
    let now = lease::now_unix() as u64;
    let id = manifest::make_id(&meta.chain_id, meta.height, now);
    let lease = lease::for_create(store, &id).await?;
    let known = match ingest::stored_chunks(store).await {
        Ok(k) => k,
        Err(e) => {
            let _ = lease.release().await;
            return Err(e);
        }
    };
    let (tx, rx) = tokio::sync::mpsc::channel(jobs.max(1) * 2);
    let (p, pb) = (path.to_path_buf(), progress.clone());
    let reader =
        tokio::task::spawn_blocking(move || read_archive(&p, file, format, known, tx, &pb));
    let limit = RateLimit::new(None);
    let uploaded = ingest::upload(store, rx, jobs, &limit).await;
    let read = reader.await;
    let result = uploaded.and_then(|sent| {
        read.map_err(SnapshotError::from)
            .and_then(|r| r)
            .map(|(d, f, mut stats, l)| {
                stats.bytes_uploaded = sent;
                (d, f, stats, l)
            })
    });
    let (dirs, files, stats, left_out) = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = lease.release().await;
            return Err(e);
        }
    };
    let id = catalog::unique_id(store, &id).await?;
    let m = Manifest {
        format: FORMAT,
        id: id.clone(),
        created: manifest::rfc3339(now),
        created_unix: now,
        chain_id: meta.chain_id,
        height: meta.height,
        cometbft_version: meta.cometbft_version,
        app_version: meta.app_version,
        source: format!("import {}", path.display()),
        dirs,
        files,
    };
    store
        .put(&Manifest::key_of(&id), Bytes::from(m.to_bytes()))
        .await?;
    lease.release().await?;
    progress.finish_and_clear();
    Ok(ImportReport {
        id,
        stats,
        left_out,
    })
}

type Read4 = (Vec<String>, Vec<FileEntry>, IngestStats, Vec<String>);

fn read_archive(
    path: &Path,
    file: std::fs::File,
    format: Format,
    known: std::collections::HashSet<chunk::Hash>,
    tx: tokio::sync::mpsc::Sender<ingest::Job>,
    progress: &indicatif::ProgressBar,
) -> Result<Read4> {
    let bad = |reason: String| SnapshotError::Archive {
        path: path.to_path_buf(),
        reason,
    };
    let counted = progress.wrap_read(std::io::BufReader::new(file));
    let dec: Box<dyn Read> = match format {
        Format::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(counted)),
        Format::Zstd => Box::new(zstd::Decoder::new(counted).map_err(|e| bad(e.to_string()))?),
    };
    let mut ar = tar::Archive::new(dec);
    let mut ing = Ingest::new(known, tx);
    let mut dirs = std::collections::BTreeSet::new();
    let mut files = vec![];
    let mut left_out = vec![];
    for entry in ar.entries().map_err(|e| bad(e.to_string()))? {
        let entry = entry.map_err(|e| bad(e.to_string()))?;
        let raw = entry.path().map_err(|e| bad(e.to_string()))?.into_owned();
        let Some(rel) = normalize(&raw) else {
            continue;
        };
        let kind = entry.header().entry_type();
        if manifest::is_excluded(Path::new(&rel)) {
            left_out.push(rel);
            continue;
        }
        manifest::check_path(&rel).map_err(bad)?;
        // Every parent directory of an entry is part of the snapshot.
        let mut parent = Path::new(&rel).parent();
        while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
            dirs.insert(p.to_string_lossy().into_owned());
            parent = p.parent();
        }
        if kind.is_dir() {
            dirs.insert(rel);
        } else if kind.is_file() {
            let mode = entry.header().mode().unwrap_or(0o644);
            let mtime = entry.header().mtime().unwrap_or(0) as i64 * 1_000_000_000;
            let e = ing
                .file(&rel, entry, mode, mtime)
                .map_err(|e| bad(format!("{rel}: {e}")))?;
            files.push(e);
        } else {
            left_out.push(rel);
        }
    }
    if !dirs.contains("data") {
        return Err(bad(
            "it holds no data/ files: is it a node snapshot archive?".into(),
        ));
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((dirs.into_iter().collect(), files, ing.stats, left_out))
}

/// An archive path as a snapshot path: `./` dropped, and under `data/` unless it is
/// already under `data/` or `wasm/` (providers ship either the home's `data/` or its
/// contents). `None` for the archive's root itself.
fn normalize(raw: &Path) -> Option<String> {
    let parts: Vec<String> = raw
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.is_empty() {
        return None;
    }
    let joined = parts.join("/");
    if manifest::DIRS.contains(&parts[0].as_str()) {
        Some(joined)
    } else {
        Some(format!("data/{joined}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_paths_land_under_data() {
        assert_eq!(
            normalize(Path::new("./data/state.db/1.ldb")).unwrap(),
            "data/state.db/1.ldb"
        );
        assert_eq!(
            normalize(Path::new("state.db/1.ldb")).unwrap(),
            "data/state.db/1.ldb"
        );
        assert_eq!(normalize(Path::new("wasm/x.wasm")).unwrap(), "wasm/x.wasm");
        assert_eq!(normalize(Path::new("./")), None);
        assert!(Format::of(Path::new("a.tar.gz")).is_err());
        assert_eq!(Format::of(Path::new("a.tar.lz4")).unwrap(), Format::Lz4);
    }
}

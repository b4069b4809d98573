//! A snapshot's manifest: what it is of (chain, height, versions) and every file with its
//! chunks. Stored as `snapshots/<id>.json`, written after every chunk it names, so a
//! snapshot exists in a store only once it is whole.

use crate::chunk::{FileKind, Hash};
use serde::{Deserialize, Serialize};
use std::path::{Component, Path};

/// The manifest format this code writes and reads.
pub const FORMAT: u32 = 1;

/// Top-level directories of a node home that a snapshot holds.
pub const DIRS: [&str; 2] = ["data", "wasm"];

/// File names a snapshot never holds, wherever they are: the validator's sign state and
/// keys stay with the node they belong to.
pub const NEVER: [&str; 3] = [
    "priv_validator_state.json",
    "priv_validator_key.json",
    "node_key.json",
];

/// A snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// `<chain>-<height>-<UTC time>`, unique in a store.
    pub id: String,
    /// When it was taken (UTC, RFC 3339).
    pub created: String,
    /// When it was taken (seconds since the Unix epoch).
    pub created_unix: u64,
    /// The chain.
    pub chain_id: String,
    /// The node's last block height when it was paused (the data holds at least this).
    pub height: u64,
    /// CometBFT version of the node, when known.
    pub cometbft_version: Option<String>,
    /// The application's version, when known.
    pub app_version: Option<String>,
    /// How the data was read (`devnet node val1`, `stop and start commands`, ...).
    pub source: String,
    /// Directories, relative to the home (so empty ones come back too).
    pub dirs: Vec<String>,
    /// Files, relative to the home.
    pub files: Vec<FileEntry>,
}

/// One file of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Relative path (`data/blockstore.db/000012.ldb`).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Unix permission bits.
    pub mode: u32,
    /// Modification time (nanoseconds since the epoch), to spot unchanged table files.
    pub mtime_ns: i64,
    /// How it was chunked.
    pub kind: FileKind,
    /// BLAKE3 of the whole file.
    pub hash: Hash,
    /// Its chunks, in order.
    pub chunks: Vec<ChunkRef>,
}

/// A chunk of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkRef {
    /// BLAKE3 of its bytes (its name in the store).
    pub hash: Hash,
    /// Its length, uncompressed.
    pub size: u64,
}

impl Manifest {
    /// The store key of the manifest of snapshot `id`.
    pub fn key_of(id: &str) -> String {
        format!("snapshots/{id}.json")
    }

    /// Total bytes of its files.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// Parse and check a manifest: its format, and that every path is a plain relative
    /// path under `data/` or `wasm/`, never a key or sign state, and every file's chunks
    /// add up to its size. A restore writes only where a checked manifest says.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, String> {
        let m: Manifest = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if m.format != FORMAT {
            return Err(format!(
                "format {} (this bulwark reads format {FORMAT}: use a matching version)",
                m.format
            ));
        }
        let mut problems = vec![];
        for d in &m.dirs {
            if let Err(e) = check_path(d) {
                problems.push(e);
            }
        }
        for f in &m.files {
            if let Err(e) = check_path(&f.path) {
                problems.push(e);
            }
            let sum: u64 = f.chunks.iter().map(|c| c.size).sum();
            if sum != f.size {
                problems.push(format!(
                    "{}: chunks add up to {sum} bytes, the file has {}",
                    f.path, f.size
                ));
            }
        }
        if problems.is_empty() {
            Ok(m)
        } else {
            Err(problems.join("; "))
        }
    }

    /// The manifest as stored.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("a manifest serializes");
        v.push(b'\n');
        v
    }
}

/// Whether a relative path may be in a snapshot.
pub fn check_path(p: &str) -> Result<(), String> {
    let path = Path::new(p);
    let mut comps = path.components();
    let first = match comps.next() {
        Some(Component::Normal(c)) => c.to_str().unwrap_or(""),
        _ => return Err(format!("{p:?} is not a relative path")),
    };
    if !DIRS.contains(&first) {
        return Err(format!("{p:?} is outside data/ and wasm/"));
    }
    if !comps.all(|c| matches!(c, Component::Normal(_))) {
        return Err(format!("{p:?} is not a plain relative path"));
    }
    if is_excluded(path) {
        return Err(format!(
            "{p:?} is a key or sign state, which no snapshot holds"
        ));
    }
    Ok(())
}

/// Whether a snapshot must leave the file at `path` out.
pub fn is_excluded(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| NEVER.contains(&n))
}

/// Seconds since the epoch as RFC 3339 UTC (`2026-12-01T17:04:36Z`).
pub fn rfc3339(unix: u64) -> String {
    let (y, mo, d) = civil(unix / 86_400);
    let s = unix % 86_400;
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// The UTC day (`2026-12-01`) of a time.
pub fn day_of(unix: u64) -> String {
    rfc3339(unix)[..10].to_string()
}

/// A snapshot id: `<chain>-<height>-<compact UTC time>`.
pub fn make_id(chain_id: &str, height: u64, unix: u64) -> String {
    let t: String = rfc3339(unix)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!("{chain_id}-{height}-{t}")
}

/// Days since the epoch to (year, month, day), after Howard Hinnant's `civil_from_days`.
fn civil(days: u64) -> (i64, u64, u64) {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u64;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u64;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        let h = Hash::of(b"abc");
        Manifest {
            format: FORMAT,
            id: make_id("chain-1", 42, 1_764_608_676),
            created: rfc3339(1_764_608_676),
            created_unix: 1_764_608_676,
            chain_id: "chain-1".into(),
            height: 42,
            cometbft_version: Some("0.38.26".into()),
            app_version: Some("1".into()),
            source: "test".into(),
            dirs: vec!["data".into(), "data/blockstore.db".into()],
            files: vec![FileEntry {
                path: "data/blockstore.db/000001.ldb".into(),
                size: 3,
                mode: 0o644,
                mtime_ns: 1,
                kind: FileKind::Table,
                hash: h,
                chunks: vec![ChunkRef { hash: h, size: 3 }],
            }],
        }
    }

    #[test]
    fn round_trips_and_names_itself() {
        let m = sample();
        assert_eq!(Manifest::parse(&m.to_bytes()).unwrap(), m);
        assert_eq!(m.id, "chain-1-42-20251201T170436Z");
        assert_eq!(m.created, "2025-12-01T17:04:36Z");
        assert_eq!(
            Manifest::key_of(&m.id),
            "snapshots/chain-1-42-20251201T170436Z.json"
        );
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(day_of(951_782_400), "2000-02-29");
    }

    #[test]
    fn refuses_paths_outside_data_keys_and_bad_sizes() {
        for bad in [
            "../etc/passwd",
            "/etc/passwd",
            "config/priv_validator_key.json",
            "data/../../x",
            "data/priv_validator_state.json",
            "wasm/node_key.json",
        ] {
            let mut m = sample();
            m.files[0].path = bad.into();
            let e = Manifest::parse(&m.to_bytes()).unwrap_err();
            assert!(e.contains(bad), "{bad}: {e}");
        }
        let mut m = sample();
        m.files[0].size = 4;
        assert!(Manifest::parse(&m.to_bytes())
            .unwrap_err()
            .contains("add up"));
        let mut m = sample();
        m.format = 9;
        assert!(Manifest::parse(&m.to_bytes())
            .unwrap_err()
            .contains("format 9"));
        assert!(Manifest::parse(b"{not json").is_err());
        assert!(check_path("data/state.db/000001.log").is_ok());
    }
}

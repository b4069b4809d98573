//! How files become chunks: table files whole, everything else by content-defined
//! chunking; each chunk named by the BLAKE3 hash of its bytes and stored zstd-compressed.
//!
//! goleveldb's `.ldb` and Pebble's `.sst` table files never change once written
//! (compaction writes new ones and deletes old ones), so a table file is stored whole and
//! a later snapshot that still has it reuses it by its hash. The same holds for the
//! consensus WAL's rotated files (`cs.wal/wal.000`, `wal.001`, ...: CometBFT renames the
//! head to the next index when it is full and never writes it again; on a busy node they
//! are hundreds of megabytes), so they are kept the same way. Only a file larger than
//! [`TABLE_PIECE`] is cut, at fixed offsets, to bound memory. Everything else (`*.log`
//! journals, `MANIFEST-*`, the WAL's head `cs.wal/wal`, `wasm/` files) goes through
//! FastCDC, so an append or an edit in the middle changes only the chunks around it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

/// Smallest content-defined chunk.
pub const CDC_MIN: usize = 256 * 1024;
/// Average content-defined chunk.
pub const CDC_AVG: usize = 1024 * 1024;
/// Largest content-defined chunk.
pub const CDC_MAX: usize = 4 * 1024 * 1024;
/// Table files larger than this are cut into pieces of this size.
pub const TABLE_PIECE: usize = 16 * 1024 * 1024;
/// zstd level of stored chunks. Level 1: on a devnet node's 2 GB `data/` it stored about
/// what level 3 does (table files gain little from level 3's longer match search, and
/// snappy-compressed ones nothing) in well under half the time; compressing was the
/// largest single cost of an incremental create (the snapshot section of BENCHMARKS.md).
pub const ZSTD_LEVEL: i32 = 1;

/// How a file is chunked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// A file that never changes once written (a `.ldb` or `.sst` table, a rotated
    /// consensus WAL file): stored whole.
    Table,
    /// Anything else: content-defined chunks.
    Chunked,
}

/// The kind of the file at `path` (by its name).
pub fn kind_of(path: &Path) -> FileKind {
    match path.extension().and_then(|e| e.to_str()) {
        Some("ldb") | Some("sst") => FileKind::Table,
        _ if is_rotated_wal(path) => FileKind::Table,
        _ => FileKind::Chunked,
    }
}

/// `cs.wal/wal.NNN`: a full consensus WAL file that CometBFT rotated out of the head.
fn is_rotated_wal(path: &Path) -> bool {
    let in_wal_dir = path
        .parent()
        .and_then(|d| d.file_name())
        .is_some_and(|d| d == "cs.wal");
    let index = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("wal."));
    in_wal_dir && index.is_some_and(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
}

/// The pieces of `reader` for a file of `kind`, in order.
pub fn pieces<'a, R: Read + 'a>(
    reader: R,
    kind: FileKind,
) -> Box<dyn Iterator<Item = std::io::Result<Vec<u8>>> + 'a> {
    match kind {
        FileKind::Table => Box::new(Fixed {
            reader,
            size: TABLE_PIECE,
            done: false,
        }),
        FileKind::Chunked => Box::new(
            fastcdc::v2020::StreamCDC::new(reader, CDC_MIN, CDC_AVG, CDC_MAX).map(|c| {
                c.map(|c| c.data).map_err(|e| match e {
                    fastcdc::v2020::Error::IoError(e) => e,
                    other => std::io::Error::other(other.to_string()),
                })
            }),
        ),
    }
}

/// Fixed-size pieces; the last one shorter, none for an empty file.
struct Fixed<R> {
    reader: R,
    size: usize,
    done: bool,
}

impl<R: Read> Iterator for Fixed<R> {
    type Item = std::io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut buf = Vec::with_capacity(self.size.min(1 << 20));
        match (&mut self.reader)
            .take(self.size as u64)
            .read_to_end(&mut buf)
        {
            Ok(n) => {
                if n < self.size {
                    self.done = true;
                }
                (n > 0).then_some(Ok(buf))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// A BLAKE3 hash, written as 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The hash of `data`.
    pub fn of(data: &[u8]) -> Hash {
        Hash(*blake3::hash(data).as_bytes())
    }

    /// The hex form.
    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }
}

impl From<blake3::Hash> for Hash {
    fn from(h: blake3::Hash) -> Self {
        Hash(*h.as_bytes())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl FromStr for Hash {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = hex::decode(s).map_err(|e| format!("not a hash ({e}): {s:?}"))?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| format!("a hash has 64 hex digits: {s:?}"))?;
        Ok(Hash(arr))
    }
}

impl Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A chunk as stored: zstd-compressed.
pub fn compress(data: &[u8]) -> std::io::Result<Vec<u8>> {
    zstd::bulk::compress(data, ZSTD_LEVEL)
}

/// A stored chunk's bytes, checked: decompressed, of `len` bytes, hashing to `hash`.
/// The error says what is wrong with it.
pub fn open(stored: &[u8], hash: Hash, len: u64) -> Result<Vec<u8>, String> {
    let data = zstd::bulk::decompress(stored, len as usize + 1)
        .map_err(|e| format!("does not decompress ({e})"))?;
    if data.len() as u64 != len {
        return Err(format!("has {} bytes, the manifest says {len}", data.len()));
    }
    let got = Hash::of(&data);
    if got != hash {
        return Err(format!("hashes to {got}, not to its name"));
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, seed: u64) -> Vec<u8> {
        // xorshift: incompressible, reproducible.
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    fn cut(bytes: &[u8], kind: FileKind) -> Vec<Vec<u8>> {
        pieces(bytes, kind).collect::<std::io::Result<_>>().unwrap()
    }

    #[test]
    fn table_files_are_whole_and_others_chunked() {
        assert_eq!(
            kind_of(Path::new("data/blockstore.db/000123.ldb")),
            FileKind::Table
        );
        assert_eq!(
            kind_of(Path::new("data/application.db/000001.sst")),
            FileKind::Table
        );
        assert_eq!(
            kind_of(Path::new("data/state.db/000124.log")),
            FileKind::Chunked
        );
        assert_eq!(
            kind_of(Path::new("data/state.db/MANIFEST-000002")),
            FileKind::Chunked
        );
        // The consensus WAL: rotated files are never written again, its head is.
        for rotated in ["data/cs.wal/wal.000", "/home/n/data/cs.wal/wal.1234"] {
            assert_eq!(kind_of(Path::new(rotated)), FileKind::Table, "{rotated}");
        }
        for other in [
            "data/cs.wal/wal",
            "data/cs.wal/wal.",
            "data/cs.wal/wal.00x",
            "data/cs.wal/wal.000.tmp",
            "data/other/wal.000",
        ] {
            assert_eq!(kind_of(Path::new(other)), FileKind::Chunked, "{other}");
        }
        let d = data(5 * 1024 * 1024, 7);
        assert_eq!(cut(&d, FileKind::Table), vec![d.clone()]);
        let chunks = cut(&d, FileKind::Chunked);
        assert!(chunks.len() >= 2, "{}", chunks.len());
        assert!(chunks.iter().all(|c| c.len() <= CDC_MAX));
        assert_eq!(chunks.concat(), d);
        assert!(cut(&[], FileKind::Table).is_empty());
        assert!(cut(&[], FileKind::Chunked).is_empty());
    }

    #[test]
    fn big_table_files_are_cut_at_fixed_offsets() {
        let d = data(TABLE_PIECE * 2 + 10, 3);
        let p = cut(&d, FileKind::Table);
        assert_eq!(
            p.iter().map(Vec::len).collect::<Vec<_>>(),
            [TABLE_PIECE, TABLE_PIECE, 10]
        );
        let exact = data(TABLE_PIECE, 4);
        assert_eq!(cut(&exact, FileKind::Table).len(), 1);
    }

    #[test]
    fn an_insert_changes_only_the_chunks_around_it() {
        let d = data(8 * 1024 * 1024, 11);
        let mut edited = d.clone();
        edited.splice(3_000_000..3_000_000, b"inserted".iter().copied());
        let a: Vec<Hash> = cut(&d, FileKind::Chunked)
            .iter()
            .map(|c| Hash::of(c))
            .collect();
        let b: Vec<Hash> = cut(&edited, FileKind::Chunked)
            .iter()
            .map(|c| Hash::of(c))
            .collect();
        let shared = b.iter().filter(|h| a.contains(h)).count();
        assert!(shared + 2 >= a.len(), "shared {shared} of {}", a.len());
        assert_ne!(a, b);
    }

    #[test]
    fn stored_chunks_are_checked() {
        let d = data(100_000, 5);
        let h = Hash::of(&d);
        let stored = compress(&d).unwrap();
        assert_eq!(open(&stored, h, d.len() as u64).unwrap(), d);
        let mut other = d.clone();
        other[10] ^= 1;
        let bad = compress(&other).unwrap();
        assert!(open(&bad, h, d.len() as u64)
            .unwrap_err()
            .contains("hashes to"));
        assert!(open(b"garbage", h, 5).unwrap_err().contains("decompress"));
        assert!(open(&stored, h, 99).is_err());
        let hex = h.to_hex();
        assert_eq!(hex.parse::<Hash>().unwrap(), h);
        assert!("xyz".parse::<Hash>().is_err());
        assert!("abcd".parse::<Hash>().is_err());
    }
}

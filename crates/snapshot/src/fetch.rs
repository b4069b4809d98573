//! Reading a snapshot's chunks back, in file order, each checked against its hash.

use crate::chunk;
use crate::error::SnapshotError;
use crate::ingest::RateLimit;
use crate::manifest::FileEntry;
use crate::store::Store;
use futures::{Stream, StreamExt};

/// A chunk read back: which file, which of its chunks, and its bytes or what is wrong.
#[derive(Debug)]
pub struct Fetched {
    /// Index into the files given.
    pub file: usize,
    /// Index into that file's chunks.
    pub chunk: usize,
    /// The checked bytes.
    pub data: Result<Vec<u8>, SnapshotError>,
}

/// Every chunk of `files`, in order, `jobs` fetched at once, no faster than `limit`.
pub fn chunks<'a>(
    store: &'a Store,
    files: &'a [FileEntry],
    jobs: usize,
    limit: &'a RateLimit,
) -> impl Stream<Item = Fetched> + 'a {
    let refs = files
        .iter()
        .enumerate()
        .flat_map(|(fi, f)| f.chunks.iter().enumerate().map(move |(ci, c)| (fi, ci, *c)));
    futures::stream::iter(refs)
        .map(move |(fi, ci, c)| async move {
            let bad = |problem: String| SnapshotError::BadChunk {
                file: files[fi].path.clone(),
                chunk: c.hash.to_hex(),
                problem,
            };
            let data = match store.get(&Store::chunk_key(&c.hash)).await {
                Ok(Some(stored)) => {
                    limit.acquire(stored.len() as u64).await;
                    // Off the async workers, so that chunks decompress and hash in parallel.
                    match tokio::task::spawn_blocking(move || chunk::open(&stored, c.hash, c.size))
                        .await
                    {
                        Ok(r) => r.map_err(bad),
                        Err(e) => Err(SnapshotError::from(e)),
                    }
                }
                Ok(None) => Err(bad("is missing from the store".into())),
                Err(e) => Err(e),
            };
            Fetched {
                file: fi,
                chunk: ci,
                data,
            }
        })
        .buffered(jobs.max(1))
}

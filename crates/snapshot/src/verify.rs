//! `verify`: read back every chunk of a snapshot and hash every byte.

use crate::chunk::Hash;
use crate::error::{Result, SnapshotError};
use crate::fetch;
use crate::ingest::RateLimit;
use crate::manifest::Manifest;
use crate::store::Store;
use futures::StreamExt;
use serde::Serialize;

/// Something wrong with a snapshot.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    /// The file it damages.
    pub file: String,
    /// The chunk, when one is at fault.
    pub chunk: Option<String>,
    /// What is wrong.
    pub problem: String,
}

/// What `verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The snapshot.
    pub id: String,
    /// Its chain.
    pub chain_id: String,
    /// Its height.
    pub height: u64,
    /// Files checked.
    pub files: usize,
    /// Chunks read.
    pub chunks: usize,
    /// Bytes hashed.
    pub bytes: u64,
    /// Whether everything matched.
    pub ok: bool,
    /// Everything that did not.
    pub problems: Vec<Problem>,
}

/// Check every chunk and every file of `m`.
pub async fn verify(
    store: &Store,
    m: &Manifest,
    jobs: usize,
    progress: &indicatif::ProgressBar,
) -> Result<VerifyReport> {
    progress.set_length(m.bytes());
    let limit = RateLimit::new(None);
    let mut problems = vec![];
    let mut hashers: Vec<Option<blake3::Hasher>> = m
        .files
        .iter()
        .map(|_| Some(blake3::Hasher::new()))
        .collect();
    let mut chunks = 0;
    let mut bytes = 0;
    let mut stream = std::pin::pin!(fetch::chunks(store, &m.files, jobs, &limit));
    while let Some(f) = stream.next().await {
        chunks += 1;
        match f.data {
            Ok(data) => {
                bytes += data.len() as u64;
                progress.inc(data.len() as u64);
                if let Some(h) = hashers[f.file].as_mut() {
                    h.update(&data);
                }
            }
            Err(SnapshotError::BadChunk {
                file,
                chunk,
                problem,
            }) => {
                hashers[f.file] = None;
                problems.push(Problem {
                    file,
                    chunk: Some(chunk),
                    problem,
                });
            }
            Err(e) => return Err(e),
        }
    }
    for (file, h) in m.files.iter().zip(hashers) {
        if let Some(h) = h {
            let got: Hash = h.finalize().into();
            if got != file.hash {
                problems.push(Problem {
                    file: file.path.clone(),
                    chunk: None,
                    problem: format!("its chunks hash to {got}, the manifest says {}", file.hash),
                });
            }
        }
    }
    progress.finish_and_clear();
    Ok(VerifyReport {
        id: m.id.clone(),
        chain_id: m.chain_id.clone(),
        height: m.height,
        files: m.files.len(),
        chunks,
        bytes,
        ok: problems.is_empty(),
        problems,
    })
}

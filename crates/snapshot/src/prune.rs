//! `prune`: drop snapshots past their retention, then the chunks nothing references.
//!
//! Retention is per chain: the newest `keep_last` snapshots, and the newest snapshot of
//! each of the `keep_daily` most recent UTC days that have one. Chunks are deleted only
//! when no readable manifest names them, never while a manifest cannot be read (it
//! might name them), and never while a create is running (see `lease` for why that
//! keeps a concurrent create whole). A snapshot being restored is kept, whatever the
//! retention says, until a prune that runs after the restore.

use crate::catalog;
use crate::error::{Result, SnapshotError};
use crate::lease;
use crate::manifest::{self, Manifest};
use crate::store::Store;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// How many snapshots to keep.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// The newest N of each chain.
    pub keep_last: usize,
    /// The newest of each of the last D days of each chain.
    pub keep_daily: usize,
}

/// What a prune did.
#[derive(Debug, Clone, Serialize)]
pub struct PruneReport {
    /// Snapshots kept.
    pub kept: Vec<String>,
    /// Snapshots removed.
    pub removed: Vec<String>,
    /// Snapshots kept past their retention because a restore is reading them.
    pub being_restored: Vec<String>,
    /// Chunks removed.
    pub chunks_removed: usize,
    /// Bytes they took in the store.
    pub bytes_removed: u64,
    /// Why chunk removal was skipped, if it was.
    pub chunks_skipped: Option<String>,
}

/// Which of `snapshots` (one chain's, any order) `r` keeps.
pub fn keep(snapshots: &[&Manifest], r: Retention) -> HashSet<String> {
    let mut sorted: Vec<&&Manifest> = snapshots.iter().collect();
    sorted.sort_by_key(|m| std::cmp::Reverse((m.created_unix, m.id.clone())));
    let mut kept: HashSet<String> = sorted
        .iter()
        .take(r.keep_last)
        .map(|m| m.id.clone())
        .collect();
    let mut days: Vec<String> = vec![];
    for m in &sorted {
        let day = manifest::day_of(m.created_unix);
        if !days.contains(&day) {
            if days.len() == r.keep_daily {
                break;
            }
            days.push(day);
            kept.insert(m.id.clone());
        }
    }
    kept
}

/// Apply `r` to `store`.
pub async fn prune(store: &Store, r: Retention) -> Result<PruneReport> {
    if r.keep_last == 0 && r.keep_daily == 0 {
        return Err(SnapshotError::Usage(
            "--keep-last 0 and --keep-daily 0 would remove every snapshot; keep at least one"
                .into(),
        ));
    }
    let listed = catalog::all(store).await?;
    let readable: Vec<&Manifest> = listed
        .iter()
        .filter_map(|l| l.manifest.as_ref().ok())
        .collect();
    let corrupt: Vec<&str> = listed
        .iter()
        .filter(|l| l.manifest.is_err())
        .map(|l| l.key.as_str())
        .collect();
    let mut by_chain: BTreeMap<&str, Vec<&Manifest>> = BTreeMap::new();
    for m in &readable {
        by_chain.entry(m.chain_id.as_str()).or_default().push(m);
    }
    let mut kept_ids = HashSet::new();
    for list in by_chain.values() {
        kept_ids.extend(keep(list, r));
    }
    // The marker first: from here on a restore that starts waits for this prune, and
    // one that started before is seen here.
    let (guard, running) = lease::for_prune(store).await?;
    let mut report = PruneReport {
        kept: vec![],
        removed: vec![],
        being_restored: vec![],
        chunks_removed: 0,
        bytes_removed: 0,
        chunks_skipped: None,
    };
    for m in &readable {
        if kept_ids.contains(&m.id) {
            report.kept.push(m.id.clone());
        } else if running.restoring.contains(&m.id) {
            kept_ids.insert(m.id.clone());
            report.being_restored.push(m.id.clone());
        } else if let Err(e) = store.delete(&Manifest::key_of(&m.id)).await {
            let _ = guard.release().await;
            return Err(e);
        } else {
            report.removed.push(m.id.clone());
        }
    }
    if !corrupt.is_empty() {
        report.chunks_skipped = Some(format!(
            "manifests that cannot be read may name chunks, so none were removed: {}; remove them once you know they are not needed",
            corrupt.join(", ")
        ));
    } else if !running.creates.is_empty() {
        report.chunks_skipped = Some(format!(
            "a create is running ({}); its chunks are not referenced yet, so none were removed: prune again when it is done",
            running.creates.join(", ")
        ));
    }
    if report.chunks_skipped.is_some() {
        guard.release().await?;
        return Ok(report);
    }
    let result = remove_unreferenced(store, &kept_ids, &readable).await;
    guard.release().await?;
    let (n, bytes) = result?;
    report.chunks_removed = n;
    report.bytes_removed = bytes;
    Ok(report)
}

async fn remove_unreferenced(
    store: &Store,
    kept: &HashSet<String>,
    manifests: &[&Manifest],
) -> Result<(usize, u64)> {
    let referenced: HashSet<_> = manifests
        .iter()
        .filter(|m| kept.contains(&m.id))
        .flat_map(|m| m.files.iter().flat_map(|f| f.chunks.iter().map(|c| c.hash)))
        .collect();
    let doomed: Vec<(String, u64)> = store
        .list("chunks/")
        .await?
        .into_iter()
        .filter(|o| {
            o.key
                .rsplit('/')
                .next()
                .and_then(|n| n.parse().ok())
                .is_some_and(|h| !referenced.contains(&h))
        })
        .map(|o| (o.key, o.size))
        .collect();
    let n = doomed.len();
    let bytes = doomed.iter().map(|(_, s)| s).sum();
    futures::stream::iter(doomed)
        .map(|(k, _)| async move { store.delete(&k).await })
        .buffer_unordered(8)
        .try_collect::<Vec<()>>()
        .await?;
    Ok((n, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(id: &str, unix: u64) -> Manifest {
        Manifest {
            format: manifest::FORMAT,
            id: id.into(),
            created: manifest::rfc3339(unix),
            created_unix: unix,
            chain_id: "c".into(),
            height: unix,
            cometbft_version: None,
            app_version: None,
            source: "t".into(),
            dirs: vec![],
            files: vec![],
        }
    }

    #[test]
    fn keeps_the_last_n_and_one_a_day() {
        let day = 86_400;
        let all = [
            snap("d1a", day + 10),
            snap("d1b", day + 20),
            snap("d2a", 2 * day + 10),
            snap("d3a", 3 * day + 10),
            snap("d3b", 3 * day + 20),
            snap("d3c", 3 * day + 30),
        ];
        let refs: Vec<&Manifest> = all.iter().collect();
        let k = |last, daily| {
            let mut v: Vec<String> = keep(
                &refs,
                Retention {
                    keep_last: last,
                    keep_daily: daily,
                },
            )
            .into_iter()
            .collect();
            v.sort();
            v
        };
        assert_eq!(k(2, 0), ["d3b", "d3c"]);
        assert_eq!(k(0, 2), ["d2a", "d3c"]);
        assert_eq!(k(1, 3), ["d1b", "d2a", "d3c"]);
        assert_eq!(k(10, 10).len(), 6);
    }
}

//! Why a create running beside a prune never loses a chunk.
//!
//! A create reuses chunks that are already in the store, including chunks that no
//! manifest references yet or any more, and writes its manifest only at the end. A prune
//! deletes chunks that no manifest references. Run blindly side by side, a prune could
//! delete a chunk a create has just decided to reuse, and the create's manifest would
//! then name a missing chunk.
//!
//! So both announce themselves before they look, and each looks for the other after
//! announcing (the two-flag handshake of Dekker's mutual exclusion):
//!
//! 1. A create writes `leases/create-<id>.json`, then lists `leases/prune-*`. While a
//!    live prune marker is there it waits (and gives up with an error after
//!    [`WAIT_FOR_PRUNE`]). Only then does it list the chunks it may reuse.
//! 2. A prune writes `leases/prune-<id>.json`, then lists `leases/create-*`. If any live
//!    create lease is there it removes its marker and deletes no chunk (manifests past
//!    their retention are still removed: a create never reads an old manifest's chunks
//!    without finding them in its own listing).
//!
//! The store is strongly consistent for a write followed by a list (local directories,
//! and S3 since December 2020), so of two that announce themselves at about the same
//! time at least one sees the other: either the create waits until the prune is done,
//! or the prune deletes nothing. A lease is live while it is younger than [`TTL`]; a
//! running create or prune rewrites it every [`HEARTBEAT`], so one that crashed stops
//! blocking the other after at most [`TTL`]. A create that could not renew its lease in
//! time (the host slept, the store was unreachable) may have been outlived by a prune,
//! so before writing its manifest it lists the chunks again and uploads any that went
//! missing ([`Lease::lapsed`]).

use crate::error::{Result, SnapshotError};
use crate::store::Store;
use bytes::Bytes;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A lease older than this is a crashed process's and is ignored.
pub const TTL: Duration = Duration::from_secs(600);
/// How often a live lease is rewritten.
pub const HEARTBEAT: Duration = Duration::from_secs(60);
/// How long a create waits for a running prune.
pub const WAIT_FOR_PRUNE: Duration = Duration::from_secs(900);

/// Seconds since the epoch.
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A held lease, rewritten in the background until released.
#[derive(Debug)]
pub struct Lease {
    store: Store,
    key: String,
    renewed: Arc<AtomicI64>,
    task: tokio::task::JoinHandle<()>,
}

impl Lease {
    async fn write(store: &Store, key: &str) -> Result<()> {
        let body = serde_json::json!({
            "pid": std::process::id(),
            "written_unix": now_unix(),
        });
        store.put(key, Bytes::from(body.to_string())).await
    }

    async fn take(store: &Store, key: String) -> Result<Lease> {
        Self::write(store, &key).await?;
        let renewed = Arc::new(AtomicI64::new(now_unix()));
        let (s, k, r) = (store.clone(), key.clone(), renewed.clone());
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(HEARTBEAT).await;
                if Self::write(&s, &k).await.is_ok() {
                    r.store(now_unix(), Ordering::Relaxed);
                }
            }
        });
        Ok(Lease {
            store: store.clone(),
            key,
            renewed,
            task,
        })
    }

    /// Whether the lease went unrenewed for longer than [`TTL`] at some point, so that
    /// another process may have taken it for a crashed one's.
    pub fn lapsed(&self) -> bool {
        now_unix() - self.renewed.load(Ordering::Relaxed) >= TTL.as_secs() as i64 - 5
    }

    /// Stop renewing and remove the lease.
    pub async fn release(self) -> Result<()> {
        self.task.abort();
        self.store.delete(&self.key).await
    }
}

/// Live leases under `leases/<kind>-`.
async fn live(store: &Store, kind: &str) -> Result<Vec<String>> {
    let now = now_unix();
    Ok(store
        .list("leases/")
        .await?
        .into_iter()
        .filter(|o| {
            o.key
                .rsplit('/')
                .next()
                .is_some_and(|n| n.starts_with(&format!("{kind}-")))
                && now - o.modified_unix < TTL.as_secs() as i64
        })
        .map(|o| o.key)
        .collect())
}

/// Take a create's lease for snapshot `id`, after any running prune has finished.
pub async fn for_create(store: &Store, id: &str) -> Result<Lease> {
    let lease = Lease::take(store, format!("leases/create-{id}.json")).await?;
    let deadline = tokio::time::Instant::now() + WAIT_FOR_PRUNE;
    loop {
        let prunes = live(store, "prune").await?;
        if prunes.is_empty() {
            return Ok(lease);
        }
        if tokio::time::Instant::now() > deadline {
            let _ = lease.release().await;
            return Err(SnapshotError::Node(format!(
                "a prune has been running on {} for more than {} s ({}); wait for it, or remove that lease if no prune is running, then run the create again",
                store.url(),
                WAIT_FOR_PRUNE.as_secs(),
                prunes.join(", ")
            )));
        }
        tracing::info!(?prunes, "waiting for a running prune to finish");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Take a prune's marker, unless a create is running: then `Ok(None)` and the names of
/// the creates' leases.
pub async fn for_prune(store: &Store) -> Result<Result<Lease, Vec<String>>> {
    let id = format!("{}-{}", now_unix(), std::process::id());
    let lease = Lease::take(store, format!("leases/prune-{id}.json")).await?;
    let creates = live(store, "create").await?;
    if creates.is_empty() {
        Ok(Ok(lease))
    } else {
        lease.release().await?;
        Ok(Err(creates))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_prune_backs_off_while_a_create_holds_its_lease() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path().to_str().unwrap(), None).unwrap();
        let create = for_create(&store, "c1").await.unwrap();
        assert!(!create.lapsed());
        let refused = for_prune(&store).await.unwrap().unwrap_err();
        assert_eq!(refused, vec!["leases/create-c1.json".to_string()]);
        // The prune's marker is gone again, so the create's next lease is not held up.
        assert_eq!(store.list("leases/").await.unwrap().len(), 1);
        create.release().await.unwrap();
        let prune = for_prune(&store).await.unwrap().unwrap();
        assert_eq!(live(&store, "prune").await.unwrap().len(), 1);
        prune.release().await.unwrap();
        assert!(store.list("leases/").await.unwrap().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_create_waits_for_a_running_prune() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path().to_str().unwrap(), None).unwrap();
        let prune = for_prune(&store).await.unwrap().unwrap();
        let s = store.clone();
        let create = tokio::spawn(async move { for_create(&s, "c2").await });
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(!create.is_finished());
        prune.release().await.unwrap();
        let lease = tokio::time::timeout(Duration::from_secs(10), create)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        lease.release().await.unwrap();
    }
}

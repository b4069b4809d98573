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
//! A restore downloads the chunks of one snapshot, which a prune could remove when that
//! snapshot is past its retention. It announces itself the same way:
//!
//! 3. A restore writes `leases/restore-<target>-<snapshot>.json` (`<target>` a hash of
//!    the host and the home restored into, so that a resume after a crash takes the
//!    same lease and releases it when done), then waits for live
//!    prune markers like a create, then checks that its snapshot's manifest is still
//!    there. A prune, after writing its marker, keeps every snapshot a live restore lease
//!    names (its manifest and its chunks) until the next prune.
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
    after_prunes(store, lease, "create").await
}

/// Take a restore's lease for snapshot `id` into `home` on this host, after any running
/// prune has finished; a prune that starts later keeps the snapshot.
pub async fn for_restore(store: &Store, id: &str, home: &std::path::Path) -> Result<Lease> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let home = std::path::absolute(home).unwrap_or_else(|_| home.to_path_buf());
    let target = blake3::hash(format!("{}\n{}", host.trim(), home.display()).as_bytes());
    let key = format!("leases/restore-{}-{id}.json", &target.to_hex()[..16]);
    let lease = Lease::take(store, key).await?;
    after_prunes(store, lease, "restore").await
}

/// Hold `lease` until no live prune marker is left, or give up after [`WAIT_FOR_PRUNE`].
async fn after_prunes(store: &Store, lease: Lease, what: &str) -> Result<Lease> {
    let deadline = tokio::time::Instant::now() + WAIT_FOR_PRUNE;
    loop {
        let prunes = live(store, "prune").await?;
        if prunes.is_empty() {
            return Ok(lease);
        }
        if tokio::time::Instant::now() > deadline {
            let _ = lease.release().await;
            return Err(SnapshotError::Node(format!(
                "a prune has been running on {} for more than {} s ({}); wait for it, or remove that lease if no prune is running, then run the {what} again",
                store.url(),
                WAIT_FOR_PRUNE.as_secs(),
                prunes.join(", ")
            )));
        }
        tracing::info!(?prunes, "waiting for a running prune to finish");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// What a prune found running once its marker was written.
#[derive(Debug)]
pub struct Running {
    /// Live create leases: no chunk may be removed.
    pub creates: Vec<String>,
    /// Snapshots being restored: kept, with their chunks.
    pub restoring: Vec<String>,
}

/// Take a prune's marker and see what is running.
pub async fn for_prune(store: &Store) -> Result<(Lease, Running)> {
    let id = format!("{}-{}", now_unix(), std::process::id());
    let lease = Lease::take(store, format!("leases/prune-{id}.json")).await?;
    let creates = live(store, "create").await?;
    let restoring = live(store, "restore")
        .await?
        .iter()
        .filter_map(|k| restored_snapshot(k))
        .collect();
    Ok((lease, Running { creates, restoring }))
}

/// The snapshot a restore lease key names.
fn restored_snapshot(key: &str) -> Option<String> {
    let name = key.rsplit('/').next()?.strip_prefix("restore-")?;
    let name = name.strip_suffix(".json")?;
    Some(name.split_once('-')?.1.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_prune_sees_the_creates_and_restores_that_hold_leases() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path().to_str().unwrap(), None).unwrap();
        let create = for_create(&store, "c1").await.unwrap();
        assert!(!create.lapsed());
        let restore = for_restore(&store, "120-abc-def", tmp.path())
            .await
            .unwrap();
        // A second restore into the same home (a resume) holds the same lease.
        let again = for_restore(&store, "120-abc-def", tmp.path())
            .await
            .unwrap();
        assert_eq!(live(&store, "restore").await.unwrap().len(), 1);
        again.task.abort();
        let (prune, running) = for_prune(&store).await.unwrap();
        assert_eq!(running.creates, vec!["leases/create-c1.json".to_string()]);
        assert_eq!(running.restoring, vec!["120-abc-def".to_string()]);
        prune.release().await.unwrap();
        create.release().await.unwrap();
        restore.release().await.unwrap();
        let (prune, running) = for_prune(&store).await.unwrap();
        assert!(running.creates.is_empty() && running.restoring.is_empty());
        assert_eq!(live(&store, "prune").await.unwrap().len(), 1);
        prune.release().await.unwrap();
        assert!(store.list("leases/").await.unwrap().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_create_waits_for_a_running_prune() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path().to_str().unwrap(), None).unwrap();
        let (prune, _) = for_prune(&store).await.unwrap();
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

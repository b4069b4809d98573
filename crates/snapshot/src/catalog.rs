//! The snapshots in a store: their manifests, read and checked.

use crate::error::{Result, SnapshotError};
use crate::manifest::Manifest;
use crate::store::Store;
use futures::StreamExt;
use serde::Serialize;

/// A manifest found in the store, or why it cannot be read.
#[derive(Debug, Clone)]
pub struct Listed {
    /// Its key.
    pub key: String,
    /// The manifest, or the problem.
    pub manifest: std::result::Result<Manifest, String>,
}

/// One line of `list`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Snapshot id (`None` when its manifest is corrupt).
    pub id: Option<String>,
    /// Manifest key.
    pub key: String,
    /// Chain.
    pub chain_id: Option<String>,
    /// Height.
    pub height: Option<u64>,
    /// When taken.
    pub created: Option<String>,
    /// Files.
    pub files: Option<usize>,
    /// Bytes of data.
    pub bytes: Option<u64>,
    /// CometBFT version.
    pub cometbft_version: Option<String>,
    /// Why the manifest cannot be read.
    pub error: Option<String>,
}

impl From<&Listed> for Summary {
    fn from(l: &Listed) -> Self {
        match &l.manifest {
            Ok(m) => Summary {
                id: Some(m.id.clone()),
                key: l.key.clone(),
                chain_id: Some(m.chain_id.clone()),
                height: Some(m.height),
                created: Some(m.created.clone()),
                files: Some(m.files.len()),
                bytes: Some(m.bytes()),
                cometbft_version: m.cometbft_version.clone(),
                error: None,
            },
            Err(e) => Summary {
                id: None,
                key: l.key.clone(),
                chain_id: None,
                height: None,
                created: None,
                files: None,
                bytes: None,
                cometbft_version: None,
                error: Some(e.clone()),
            },
        }
    }
}

/// Every manifest, oldest first (corrupt ones last).
pub async fn all(store: &Store) -> Result<Vec<Listed>> {
    let keys: Vec<String> = store
        .list("snapshots/")
        .await?
        .into_iter()
        .map(|o| o.key)
        .filter(|k| k.ends_with(".json"))
        .collect();
    let mut listed: Vec<Listed> = futures::stream::iter(keys)
        .map(|key| async move {
            let manifest = match store.get(&key).await? {
                Some(bytes) => Manifest::parse(&bytes),
                None => Err("removed while listing".to_string()),
            };
            Ok::<_, SnapshotError>(Listed { key, manifest })
        })
        .buffered(8)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_>>()?;
    listed.sort_by_key(|l| match &l.manifest {
        Ok(m) => (0, m.created_unix, m.id.clone()),
        Err(_) => (1, 0, l.key.clone()),
    });
    Ok(listed)
}

/// The newest readable snapshot of `chain_id`.
pub async fn newest(store: &Store, chain_id: &str) -> Result<Option<Manifest>> {
    Ok(all(store)
        .await?
        .into_iter()
        .filter_map(|l| l.manifest.ok())
        .rfind(|m| m.chain_id == chain_id))
}

/// Snapshot `id`, or the newest one (of `chain_id` when given).
pub async fn load(store: &Store, id: Option<&str>, chain_id: Option<&str>) -> Result<Manifest> {
    if let Some(id) = id {
        let key = Manifest::key_of(id);
        let bytes = store.get(&key).await?.ok_or_else(|| {
            SnapshotError::NotFound(format!(
                "no snapshot {id} in {}; `bulwark snapshot list --store {}` shows what is there",
                store.url(),
                store.url()
            ))
        })?;
        let m = Manifest::parse(&bytes).map_err(|reason| SnapshotError::CorruptManifest {
            url: store.url().to_string(),
            key: key.clone(),
            reason,
        })?;
        if m.id != id {
            return Err(SnapshotError::CorruptManifest {
                url: store.url().to_string(),
                key,
                reason: format!("it names itself {}", m.id),
            });
        }
        return Ok(m);
    }
    all(store)
        .await?
        .into_iter()
        .filter_map(|l| l.manifest.ok())
        .rfind(|m| chain_id.is_none_or(|c| c == m.chain_id))
        .ok_or_else(|| {
            SnapshotError::NotFound(format!(
                "no snapshot{} in {}; take one with `bulwark snapshot create`",
                chain_id.map(|c| format!(" of {c}")).unwrap_or_default(),
                store.url()
            ))
        })
}

/// `id`, or `id-2`, `id-3`, ... when a snapshot of that id is already stored (two taken
/// at the same height within a second).
pub async fn unique_id(store: &Store, id: &str) -> Result<String> {
    let mut candidate = id.to_string();
    let mut n = 1;
    while store.get(&Manifest::key_of(&candidate)).await?.is_some() {
        n += 1;
        candidate = format!("{id}-{n}");
    }
    Ok(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[tokio::test]
    async fn ids_taken_twice_in_a_second_get_a_suffix() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path().to_str().unwrap(), None).unwrap();
        assert_eq!(unique_id(&store, "c-5-x").await.unwrap(), "c-5-x");
        store
            .put(&Manifest::key_of("c-5-x"), Bytes::from_static(b"{}"))
            .await
            .unwrap();
        assert_eq!(unique_id(&store, "c-5-x").await.unwrap(), "c-5-x-2");
        store
            .put(&Manifest::key_of("c-5-x-2"), Bytes::from_static(b"{}"))
            .await
            .unwrap();
        assert_eq!(unique_id(&store, "c-5-x").await.unwrap(), "c-5-x-3");
        let listed = all(&store).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().all(|l| l.manifest.is_err()));
        assert!(load(&store, None, None).await.is_err());
    }
}

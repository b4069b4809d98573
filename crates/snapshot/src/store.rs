//! Where snapshots live: a local directory or an S3-compatible bucket, behind one
//! interface (`object_store`). Layout inside the store:
//!
//! ```text
//! chunks/<2 hex>/<64 hex>   a chunk, zstd-compressed, named by the BLAKE3 of its bytes
//! snapshots/<id>.json       a manifest, written after every chunk it names
//! leases/<id>.json          a create in progress (see `lease`)
//! ```
//!
//! Objects are written whole or not at all (a local put goes through a temp file and a
//! rename; S3 puts are atomic), so an interrupted upload leaves nothing half-written
//! that a later run would take for done.

use crate::chunk::Hash;
use crate::error::{Result, SnapshotError};
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjPath;
use object_store::prefix::PrefixStore;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};
use serde::Deserialize;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// An object in the store.
#[derive(Debug, Clone)]
pub struct Object {
    /// Its key.
    pub key: String,
    /// Last modified, seconds since the epoch.
    pub modified_unix: i64,
    /// Its size in bytes.
    pub size: u64,
}

/// A store of snapshots.
#[derive(Debug, Clone)]
pub struct Store {
    url: String,
    inner: Arc<dyn ObjectStore>,
}

/// S3 credentials from a file (`--credentials`): TOML, mode 0600.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsFile {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    region: Option<String>,
    endpoint: Option<String>,
}

impl Store {
    /// Open the store at `url`: a directory (`/path`, `./path` or `file:///path`, created
    /// if missing) or `s3://bucket[/prefix][?endpoint=URL&region=R]`. S3 credentials come
    /// from `credentials` (a TOML file with `access_key_id`, `secret_access_key` and
    /// optionally `session_token`, `region`, `endpoint`) or else from the environment
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
    /// `AWS_ENDPOINT_URL`); never from the URL.
    pub fn open(url: &str, credentials: Option<&Path>) -> Result<Store> {
        let bad = |reason: String| SnapshotError::StoreConfig {
            url: url.to_string(),
            reason,
        };
        if let Some(rest) = url.strip_prefix("s3://") {
            return Self::open_s3(url, rest, credentials);
        }
        if url.contains("://") && !url.starts_with("file://") {
            return Err(bad(
                "unknown scheme: use a directory, file:///path or s3://bucket/prefix".into(),
            ));
        }
        if credentials.is_some() {
            return Err(bad("--credentials is for s3:// stores".into()));
        }
        let dir = PathBuf::from(url.strip_prefix("file://").unwrap_or(url));
        std::fs::create_dir_all(&dir).map_err(|e| SnapshotError::io(&dir, e))?;
        let fs = LocalFileSystem::new_with_prefix(&dir).map_err(|e| bad(e.to_string()))?;
        Ok(Store {
            url: url.to_string(),
            inner: Arc::new(fs),
        })
    }

    fn open_s3(url: &str, rest: &str, credentials: Option<&Path>) -> Result<Store> {
        let bad = |reason: String| SnapshotError::StoreConfig {
            url: url.to_string(),
            reason,
        };
        let u = parse_s3(url, rest)?;
        let (bucket, prefix) = (u.bucket.as_str(), u.prefix.as_str());
        let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
        let mut region = u.region.or_else(|| {
            std::env::var("AWS_REGION")
                .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
                .ok()
        });
        let mut endpoint = u.endpoint.or_else(|| {
            std::env::var("AWS_ENDPOINT_URL")
                .or_else(|_| std::env::var("AWS_ENDPOINT"))
                .ok()
        });
        let mut have_key = std::env::var_os("AWS_ACCESS_KEY_ID").is_some()
            && std::env::var_os("AWS_SECRET_ACCESS_KEY").is_some();
        if let Some(path) = credentials {
            let c = read_credentials(path).map_err(bad)?;
            b = b
                .with_access_key_id(c.access_key_id)
                .with_secret_access_key(c.secret_access_key);
            if let Some(t) = c.session_token {
                b = b.with_token(t);
            }
            region = c.region.or(region);
            endpoint = c.endpoint.or(endpoint);
            have_key = true;
        }
        if !have_key {
            return Err(bad(
                "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --credentials FILE (TOML with access_key_id and secret_access_key, mode 0600)".into(),
            ));
        }
        // An unreachable store should fail in seconds, not after object_store's default
        // three minutes of retries.
        b = b
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(30),
                ..RetryConfig::default()
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(120)),
            );
        // After the client options, which would reset it.
        b = b.with_region(region.unwrap_or_else(|| "us-east-1".into()));
        if let Some(e) = endpoint {
            b = b.with_allow_http(e.starts_with("http://")).with_endpoint(e);
        }
        // object_store's HTTP client uses rustls with ring, as the rest of Bulwark does.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let s3 = b.build().map_err(|e| bad(e.to_string()))?;
        let inner: Arc<dyn ObjectStore> = if prefix.trim_matches('/').is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(PrefixStore::new(s3, prefix.trim_matches('/')))
        };
        Ok(Store {
            url: url.to_string(),
            inner,
        })
    }

    /// Open a store to read from: like [`Store::open`], but a directory store must
    /// exist already (a mistyped path is an error, not a new empty store).
    pub fn open_existing(url: &str, credentials: Option<&Path>) -> Result<Store> {
        if !url.starts_with("s3://") {
            let dir = Path::new(url.strip_prefix("file://").unwrap_or(url));
            if !dir.is_dir() {
                return Err(SnapshotError::StoreConfig {
                    url: url.to_string(),
                    reason: format!(
                        "{} is not a directory: check the path (a store is made by the first `bulwark snapshot create`)",
                        dir.display()
                    ),
                });
            }
        }
        Self::open(url, credentials)
    }

    /// Check `url` and `credentials` as [`Store::open`] would, without creating a
    /// directory or reaching a server.
    pub fn open_check(url: &str, credentials: Option<&Path>) -> Result<()> {
        if let Some(rest) = url.strip_prefix("s3://") {
            return parse_s3(url, rest).map(|_| ());
        }
        if url.contains("://") && !url.starts_with("file://") {
            return Err(SnapshotError::StoreConfig {
                url: url.to_string(),
                reason: "unknown scheme: use a directory, file:///path or s3://bucket/prefix"
                    .into(),
            });
        }
        if credentials.is_some() {
            return Err(SnapshotError::StoreConfig {
                url: url.to_string(),
                reason: "credentials are for s3:// stores".into(),
            });
        }
        Ok(())
    }

    /// The URL it was opened with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The key of a chunk.
    pub fn chunk_key(hash: &Hash) -> String {
        let h = hash.to_hex();
        format!("chunks/{}/{h}", &h[..2])
    }

    fn err(&self, op: &'static str, key: &str, e: object_store::Error) -> SnapshotError {
        SnapshotError::Store {
            url: self.url.clone(),
            op,
            key: key.to_string(),
            reason: e.to_string(),
        }
    }

    /// Write `bytes` at `key` (whole, replacing what is there).
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<()> {
        // In parts of WRITE_PIECE (slices of the same bytes, no copy): a directory store
        // writes each part with its own write; S3 sends the parts as one body.
        let parts = (0..bytes.len())
            .step_by(crate::WRITE_PIECE)
            .map(|i| bytes.slice(i..bytes.len().min(i + crate::WRITE_PIECE)));
        self.inner
            .put(&ObjPath::from(key), parts.collect())
            .await
            .map(|_| ())
            .map_err(|e| self.err("put", key, e))
    }

    /// The object at `key`, or `None` when there is none.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        match self.inner.get(&ObjPath::from(key)).await {
            Ok(r) => r
                .bytes()
                .await
                .map(Some)
                .map_err(|e| self.err("get", key, e)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err("get", key, e)),
        }
    }

    /// Every object under `prefix` (e.g. `chunks/`).
    pub async fn list(&self, prefix: &str) -> Result<Vec<Object>> {
        let p = ObjPath::from(prefix.trim_end_matches('/'));
        let metas: Vec<_> = self
            .inner
            .list(Some(&p))
            .try_collect()
            .await
            .map_err(|e| self.err("list", prefix, e))?;
        Ok(metas
            .into_iter()
            .map(|m| Object {
                key: m.location.to_string(),
                modified_unix: m.last_modified.timestamp(),
                size: m.size,
            })
            .collect())
    }

    /// Remove `key`; a key already gone is fine.
    pub async fn delete(&self, key: &str) -> Result<()> {
        match self.inner.delete(&ObjPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.err("delete", key, e)),
        }
    }
}

/// The parts of an `s3://` URL.
struct S3Url {
    bucket: String,
    prefix: String,
    endpoint: Option<String>,
    region: Option<String>,
}

fn parse_s3(url: &str, rest: &str) -> Result<S3Url> {
    let bad = |reason: String| SnapshotError::StoreConfig {
        url: url.to_string(),
        reason,
    };
    let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
    if location.contains('@') {
        return Err(bad(
            "credentials never go in the URL (they would show in process lists and shell history): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use --credentials FILE".into(),
        ));
    }
    let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
    if bucket.is_empty() {
        return Err(bad("no bucket: use s3://bucket/prefix".into()));
    }
    let mut u = S3Url {
        bucket: bucket.to_string(),
        prefix: prefix.to_string(),
        endpoint: None,
        region: None,
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("endpoint", v)) => u.endpoint = Some(v.to_string()),
            Some(("region", v)) => u.region = Some(v.to_string()),
            _ => {
                return Err(bad(format!(
                    "unknown option {pair:?} (the URL takes endpoint= and region=)"
                )))
            }
        }
    }
    Ok(u)
}

fn read_credentials(path: &Path) -> std::result::Result<CredentialsFile, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(format!(
            "{} is readable by others (mode {:o}): chmod 600 it",
            path.display(),
            meta.permissions().mode() & 0o777
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_directory_store_puts_gets_lists_and_deletes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("store");
        let s = Store::open(dir.to_str().unwrap(), None).unwrap();
        assert!(s.get("snapshots/none.json").await.unwrap().is_none());
        let h = Hash::of(b"x");
        let key = Store::chunk_key(&h);
        assert!(key.starts_with(&format!("chunks/{}/", &h.to_hex()[..2])));
        s.put(&key, Bytes::from_static(b"abc")).await.unwrap();
        s.put("snapshots/a.json", Bytes::from_static(b"{}"))
            .await
            .unwrap();
        assert_eq!(&s.get(&key).await.unwrap().unwrap()[..], b"abc");
        let chunks = s.list("chunks/").await.unwrap();
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].key, key);
        assert_eq!(chunks[0].size, 3);
        assert!(s.list("leases/").await.unwrap().is_empty());
        s.delete(&key).await.unwrap();
        s.delete(&key).await.unwrap();
        assert!(s.list("chunks/").await.unwrap().is_empty());
        let f = Store::open_existing(&format!("file://{}", dir.display()), None).unwrap();
        assert_eq!(f.list("snapshots").await.unwrap().len(), 1);
        let e = Store::open_existing(tmp.path().join("nope").to_str().unwrap(), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not a directory"), "{e}");
        assert!(!tmp.path().join("nope").exists());
    }

    #[test]
    fn bad_urls_and_credentials_say_what_to_do() {
        let e = Store::open("s3://key:secret@bucket/x", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("never go in the URL"), "{e}");
        let e = Store::open("ftp://x", None).unwrap_err().to_string();
        assert!(e.contains("unknown scheme"), "{e}");
        let e = Store::open("s3:///x", None).unwrap_err().to_string();
        assert!(e.contains("no bucket"), "{e}");
        let e = Store::open("s3://b/x?color=red", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown option"), "{e}");
        let tmp = tempfile::tempdir().unwrap();
        let cred = tmp.path().join("cred.toml");
        std::fs::write(&cred, "access_key_id = \"a\"\nsecret_access_key = \"b\"\n").unwrap();
        std::fs::set_permissions(&cred, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Store::open("s3://b/x", Some(&cred))
            .unwrap_err()
            .to_string();
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&cred, std::fs::Permissions::from_mode(0o600)).unwrap();
        Store::open("s3://b/x?endpoint=http://127.0.0.1:1", Some(&cred)).unwrap();
        assert!(Store::open(tmp.path().to_str().unwrap(), Some(&cred)).is_err());
    }
}

//! Alert state in SQLite: the firing alerts, the groups of grouped routes and an
//! outbox of notifications, changed together in one transaction so a restart neither
//! loses nor repeats an alert.

use crate::engine::alert::Alert;
use crate::engine::message::Message;
use crate::engine::silence::Silence;
use crate::state::Ts;
use rusqlite::{params, Connection};
use std::path::{Path, PathBuf};

mod groups;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("alert database {path}: {source}; check that the directory exists and is writable, and that no other watch uses the file")]
    Sqlite {
        /// Database file.
        path: PathBuf,
        /// Cause.
        source: rusqlite::Error,
    },
    /// A stored row cannot be decoded.
    #[error("alert database {path}: corrupt row: {message}; move the file away to start with no alert state")]
    Corrupt {
        /// Database file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// One queued notification for one channel.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    /// Row id.
    pub id: i64,
    /// Channel name.
    pub channel: String,
    /// What to send.
    pub message: Message,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// A connection to the alert database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Open (and create) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let e = |source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(e)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(e)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS alerts (
                 key TEXT PRIMARY KEY,
                 body TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS silences (
                 id INTEGER PRIMARY KEY AUTOINCREMENT,
                 body TEXT NOT NULL,
                 until REAL NOT NULL
             );
             CREATE TABLE IF NOT EXISTS groups (
                 route INTEGER NOT NULL,
                 gkey TEXT NOT NULL,
                 body TEXT NOT NULL,
                 PRIMARY KEY (route, gkey)
             );
             CREATE TABLE IF NOT EXISTS outbox (
                 id INTEGER PRIMARY KEY AUTOINCREMENT,
                 channel TEXT NOT NULL,
                 body TEXT NOT NULL,
                 attempts INTEGER NOT NULL DEFAULT 0,
                 next_at REAL NOT NULL
             );",
        )
        .map_err(e)?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
        })
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn corrupt(&self, e: serde_json::Error) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    /// Every firing alert.
    pub fn firing(&self) -> Result<Vec<Alert>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT body FROM alerts ORDER BY key")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for body in rows {
            let body = body.map_err(|e| self.err(e))?;
            out.push(serde_json::from_str(&body).map_err(|e| self.corrupt(e))?);
        }
        Ok(out)
    }

    /// Record an alert change (`upsert` or, when `None`, delete `key`) and queue
    /// `message` for `channels`, atomically.
    pub fn commit(
        &mut self,
        key: &str,
        upsert: Option<&Alert>,
        message: &Message,
        channels: &[String],
        now: Ts,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_string(message).map_err(|e| self.corrupt(e))?;
        let alert = upsert
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| self.corrupt(e))?;
        let path = self.path.clone();
        let e = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(e)?;
        match alert {
            Some(a) => tx
                .execute(
                    "INSERT INTO alerts (key, body) VALUES (?1, ?2)
                     ON CONFLICT(key) DO UPDATE SET body = excluded.body",
                    params![key, a],
                )
                .map_err(e)?,
            None => tx
                .execute("DELETE FROM alerts WHERE key = ?1", params![key])
                .map_err(e)?,
        };
        for c in channels {
            tx.execute(
                "INSERT INTO outbox (channel, body, next_at) VALUES (?1, ?2, ?3)",
                params![c, body, now],
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)
    }

    /// Record an alert as it is now, queuing nothing.
    pub fn save_alert(&self, a: &Alert) -> Result<(), StoreError> {
        let body = serde_json::to_string(a).map_err(|e| self.corrupt(e))?;
        self.conn
            .execute(
                "INSERT INTO alerts (key, body) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET body = excluded.body",
                params![a.key, body],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Queued notifications due at `now`, oldest first.
    pub fn due(&self, now: Ts, limit: usize) -> Result<Vec<OutboxItem>, StoreError> {
        let mut st = self
            .conn
            .prepare(
                "SELECT id, channel, body, attempts FROM outbox WHERE next_at <= ?1
                 ORDER BY id LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![now, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, u32>(3)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, channel, body, attempts) = row.map_err(|e| self.err(e))?;
            out.push(OutboxItem {
                id,
                channel,
                message: Message::decode(&body).map_err(|e| self.corrupt(e))?,
                attempts,
            });
        }
        Ok(out)
    }

    /// Number of queued notifications.
    pub fn queued(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// A notification was delivered.
    pub fn delivered(&self, id: i64) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM outbox WHERE id = ?1", params![id])
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// A delivery failed; try again at `next_at`.
    pub fn retry_at(&self, id: i64, next_at: Ts) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, next_at = ?2 WHERE id = ?1",
                params![id, next_at],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Store a silence; returns its id.
    pub fn add_silence(&self, s: &Silence) -> Result<i64, StoreError> {
        let body = serde_json::to_string(s).map_err(|e| self.corrupt(e))?;
        self.conn
            .execute(
                "INSERT INTO silences (body, until) VALUES (?1, ?2)",
                params![body, s.until],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Silences that have not ended at `now`.
    pub fn silences(&self, now: Ts) -> Result<Vec<Silence>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT id, body FROM silences WHERE until > ?1 ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![now], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, body) = row.map_err(|e| self.err(e))?;
            let mut s: Silence = serde_json::from_str(&body).map_err(|e| self.corrupt(e))?;
            s.id = id;
            out.push(s);
        }
        Ok(out)
    }

    /// Remove a silence; false when there is none with that id.
    pub fn remove_silence(&self, id: i64) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute("DELETE FROM silences WHERE id = ?1", params![id])
            .map_err(|e| self.err(e))?;
        Ok(n > 0)
    }
}

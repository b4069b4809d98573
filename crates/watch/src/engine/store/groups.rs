//! The groups of grouped routes in the alert database.

use super::{Store, StoreError};
use crate::engine::group::GroupState;
use crate::engine::message::Message;
use crate::state::Ts;
use rusqlite::params;

impl Store {
    /// Record the state of group `gkey` of route `route` (or, when `None`, forget it)
    /// and queue `message`, if any, for `channels`, atomically.
    pub fn commit_group(
        &mut self,
        route: usize,
        gkey: &str,
        state: Option<&GroupState>,
        message: Option<&Message>,
        channels: &[String],
        now: Ts,
    ) -> Result<(), StoreError> {
        let state = state
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| self.corrupt(e))?;
        let body = message
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| self.corrupt(e))?;
        let path = self.path.clone();
        let e = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(e)?;
        match state {
            Some(st) => tx
                .execute(
                    "INSERT INTO groups (route, gkey, body) VALUES (?1, ?2, ?3)
                     ON CONFLICT(route, gkey) DO UPDATE SET body = excluded.body",
                    params![route as i64, gkey, st],
                )
                .map_err(e)?,
            None => tx
                .execute(
                    "DELETE FROM groups WHERE route = ?1 AND gkey = ?2",
                    params![route as i64, gkey],
                )
                .map_err(e)?,
        };
        if let Some(body) = body {
            for c in channels {
                tx.execute(
                    "INSERT INTO outbox (channel, body, next_at) VALUES (?1, ?2, ?3)",
                    params![c, body, now],
                )
                .map_err(e)?;
            }
        }
        tx.commit().map_err(e)
    }

    /// Every group's state: (route index, group key, state).
    pub fn groups(&self) -> Result<Vec<(usize, String, GroupState)>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT route, gkey, body FROM groups ORDER BY route, gkey")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (route, gkey, body) = row.map_err(|e| self.err(e))?;
            let state = serde_json::from_str(&body).map_err(|e| self.corrupt(e))?;
            out.push((route as usize, gkey, state));
        }
        Ok(out)
    }
}

//! The audit trail: an append-only file of JSON lines, each entry holding the hash of
//! the one before it, signed by the actor's SSH key where there is one.
//!
//! Editing an entry breaks its hash; removing or reordering entries breaks the chain of
//! `prev` hashes and sequence numbers; removing entries from the end is caught by the
//! head file beside the log (`LOG.head`, rewritten after every append), and by any head
//! an operator keeps elsewhere (`bulwark audit verify --head SEQ:HASH`). Every append is
//! flushed (`fdatasync`) before it returns, under an exclusive lock on the log.

use crate::allowed::AllowedSigners;
use crate::sshsig::{self, Identity};
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::SystemTime;

/// The `sshsig` namespace of audit entries.
pub const NAMESPACE: &str = "bulwark-audit";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Why the log could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A file operation failed.
    #[error("audit log {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The log is damaged; nothing is appended to it.
    #[error("audit log {path} is damaged ({reason}); nothing was appended. Run `bulwark audit verify --log {path}` and restore the log from a copy")]
    Damaged {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The actor's key could not sign.
    #[error(transparent)]
    Sign(#[from] sshsig::SigError),
}

/// One entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// 1, 2, 3, ...
    pub seq: u64,
    /// When, RFC 3339 UTC.
    pub time: String,
    /// Who: a person's principal, or a process such as `signer`.
    pub actor: String,
    /// What, e.g. `failover.approve`.
    pub action: String,
    /// The details.
    pub detail: serde_json::Value,
    /// Hash of the entry before (zeros for the first).
    pub prev: String,
    /// SHA-256 of this entry's fields above, hex.
    pub hash: String,
    /// The actor's public key (OpenSSH), when the entry is signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// `sshsig` signature over `hash` in namespace `bulwark-audit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    seq: u64,
    time: &'a str,
    actor: &'a str,
    action: &'a str,
    detail: &'a serde_json::Value,
    prev: &'a str,
}

impl Entry {
    fn body_hash(&self) -> String {
        let body = Body {
            seq: self.seq,
            time: &self.time,
            actor: &self.actor,
            action: &self.action,
            detail: &self.detail,
            prev: &self.prev,
        };
        hex::encode(Sha256::digest(
            serde_json::to_vec(&body).expect("an entry serializes"),
        ))
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Head {
    seq: u64,
    hash: String,
}

/// An audit log file.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    /// The log at `path` (created on the first append).
    pub fn new(path: impl Into<PathBuf>) -> AuditLog {
        AuditLog { path: path.into() }
    }

    fn head_path(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".head");
        PathBuf::from(p)
    }

    fn io(&self, source: std::io::Error) -> AuditError {
        AuditError::Io {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// Append an entry, signed by `identity` when given, and flush it.
    pub fn append(
        &self,
        actor: &str,
        action: &str,
        detail: serde_json::Value,
        identity: Option<&Identity>,
    ) -> Result<Entry, AuditError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| self.io(e))?;
        }
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&self.path)
            .map_err(|e| self.io(e))?;
        let mut file = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, e)| self.io(std::io::Error::from(e)))?;
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(|e| self.io(e))?;
        let last = match text.lines().rev().find(|l| !l.trim().is_empty()) {
            None => None,
            Some(line) => Some(self.parse_line(line)?),
        };
        if !text.is_empty() && !text.ends_with('\n') {
            return Err(self.damaged("the last line is cut off".into()));
        }
        let mut entry = Entry {
            seq: last.as_ref().map_or(1, |e| e.seq + 1),
            time: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            actor: actor.into(),
            action: action.into(),
            detail,
            prev: last.map_or(GENESIS.into(), |e| e.hash),
            hash: String::new(),
            key: None,
            sig: None,
        };
        entry.hash = entry.body_hash();
        if let Some(id) = identity {
            entry.key = Some(sshsig::openssh_line(id.public_key()));
            entry.sig = Some(id.sign(NAMESPACE, entry.hash.as_bytes())?);
        }
        let mut line = serde_json::to_string(&entry).expect("an entry serializes");
        line.push('\n');
        file.write_all(line.as_bytes()).map_err(|e| self.io(e))?;
        file.sync_data().map_err(|e| self.io(e))?;
        self.write_head(&entry)?;
        Ok(entry)
    }

    fn write_head(&self, entry: &Entry) -> Result<(), AuditError> {
        let head = self.head_path();
        let tmp = head.with_extension("head.tmp");
        let body = serde_json::to_vec(&Head {
            seq: entry.seq,
            hash: entry.hash.clone(),
        })
        .expect("a head serializes");
        let mut f = File::create(&tmp).map_err(|e| self.io(e))?;
        f.write_all(&body).map_err(|e| self.io(e))?;
        f.sync_data().map_err(|e| self.io(e))?;
        std::fs::rename(&tmp, &head).map_err(|e| self.io(e))?;
        if let Some(dir) = head.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| self.io(e))?;
        }
        Ok(())
    }

    fn damaged(&self, reason: String) -> AuditError {
        AuditError::Damaged {
            path: self.path.display().to_string(),
            reason,
        }
    }

    fn parse_line(&self, line: &str) -> Result<Entry, AuditError> {
        serde_json::from_str(line)
            .map_err(|e| self.damaged(format!("an entry does not parse: {e}")))
    }

    /// Every entry, in order (no checks; see [`AuditLog::verify`]).
    pub fn entries(&self) -> Result<Vec<Entry>, AuditError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io(e)),
        };
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| self.parse_line(l))
            .collect()
    }

    /// Check the whole log: every line parses, sequence numbers run 1, 2, 3, every
    /// `prev` is the hash before, every hash is right, every signature verifies under
    /// the key it names (and, with `allowed`, that key belongs to the entry's actor),
    /// the head file and `expect_head` (`SEQ:HASH`) are entries of this log, and none
    /// is past its end.
    pub fn verify(
        &self,
        allowed: Option<&AllowedSigners>,
        expect_head: Option<&str>,
    ) -> Result<Verified, Vec<String>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) => return Err(vec![format!("{}: {e}", self.path.display())]),
        };
        let mut problems = Vec::new();
        let mut entries: Vec<Entry> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let n = i + 1;
            let e: Entry = match serde_json::from_str(line) {
                Ok(e) => e,
                Err(err) => {
                    problems.push(format!("line {n}: not an audit entry ({err})"));
                    continue;
                }
            };
            let want_seq = entries.last().map_or(1, |p| p.seq + 1);
            let want_prev = entries.last().map_or(GENESIS, |p| p.hash.as_str());
            if e.seq != want_seq {
                problems.push(format!(
                    "line {n}: entry {} where entry {want_seq} belongs (entries removed or reordered)",
                    e.seq
                ));
            }
            if e.prev != want_prev {
                problems.push(format!(
                    "line {n}: entry {} does not follow the entry before it (its prev hash differs: removed, reordered or edited)",
                    e.seq
                ));
            }
            if e.body_hash() != e.hash {
                problems.push(format!(
                    "line {n}: entry {} was edited (its hash does not match its contents)",
                    e.seq
                ));
            }
            problems.extend(
                check_signature(&e, allowed)
                    .err()
                    .map(|p| format!("line {n}: entry {}: {p}", e.seq)),
            );
            entries.push(e);
        }
        let heads = [
            std::fs::read(self.head_path())
                .ok()
                .map(|b| (String::from_utf8_lossy(&b).to_string(), "the head file")),
            expect_head.map(|h| (h.to_string(), "the expected head")),
        ];
        for (raw, what) in heads.into_iter().flatten() {
            let head = serde_json::from_str::<Head>(&raw).ok().or_else(|| {
                let (s, h) = raw.trim().split_once(':')?;
                Some(Head {
                    seq: s.parse().ok()?,
                    hash: h.into(),
                })
            });
            match head {
                None => problems.push(format!("{what} does not parse: {raw:?}")),
                Some(h) => match entries.iter().find(|e| e.seq == h.seq) {
                    None => problems.push(format!(
                        "{what} names entry {} but the log ends at {}: entries were removed from the end",
                        h.seq,
                        entries.last().map_or(0, |e| e.seq)
                    )),
                    Some(e) if e.hash != h.hash => problems.push(format!(
                        "{what} names entry {} with another hash: the log was rewritten",
                        h.seq
                    )),
                    Some(_) => {}
                },
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Verified {
            entries: entries.len() as u64,
            signed: entries.iter().filter(|e| e.sig.is_some()).count() as u64,
            head: entries
                .last()
                .map(|e| format!("{}:{}", e.seq, e.hash))
                .unwrap_or_default(),
        })
    }
}

fn check_signature(e: &Entry, allowed: Option<&AllowedSigners>) -> Result<(), String> {
    let (key, sig) = match (&e.key, &e.sig) {
        (None, None) => return Ok(()),
        (Some(k), Some(s)) => (k, s),
        _ => return Err("a key without a signature, or a signature without a key".into()),
    };
    let key = ssh_key::PublicKey::from_openssh(key).map_err(|err| format!("bad key: {err}"))?;
    sshsig::verify(&key, NAMESPACE, e.hash.as_bytes(), sig).map_err(|err| err.to_string())?;
    if let Some(allowed) = allowed {
        let at = humantime::parse_rfc3339(&e.time).unwrap_or_else(|_| SystemTime::now());
        allowed.check(&e.actor, &key, NAMESPACE, at)?;
    }
    Ok(())
}

/// What a good log holds.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Verified {
    /// How many entries.
    pub entries: u64,
    /// How many of them are signed.
    pub signed: u64,
    /// The last entry as `SEQ:HASH`, to keep elsewhere and check against later.
    pub head: String,
}

#[cfg(test)]
mod float_tests {
    use super::*;

    /// Step timings and other measured floats in the details must read back to the same
    /// bits, or the entry's hash no longer matches: 2,000 random timings, then `verify`.
    #[test]
    fn floats_in_details_read_back_to_the_same_hash() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("audit.log"));
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let seconds = (x >> 11) as f64 / (1u64 << 53) as f64 * 100.0;
            log.append("t", "x", serde_json::json!({ "seconds": seconds }), None)
                .unwrap();
        }
        if let Err(p) = log.verify(None, None) {
            panic!("{} of 2000 entries do not verify, e.g. {}", p.len(), p[0]);
        }
    }
}

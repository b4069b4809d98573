//! Approvals: a person signs a short message naming the plan, its digest and an expiry
//! with their own SSH key (`sshsig`, namespace `bulwark-failover`). Each approval is two
//! files in the plan's `approvals/` directory, `NAME.txt` and `NAME.txt.sig`, which
//! OpenSSH checks by itself:
//!
//! ```text
//! ssh-keygen -Y verify -f allowed_signers -I NAME -n bulwark-failover \
//!     -s approvals/NAME.txt.sig < approvals/NAME.txt
//! ```

use crate::config::Config;
use crate::plan;
use audit::{sshsig, AllowedSigners, Identity};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The `sshsig` namespace of approvals.
pub const NAMESPACE: &str = "bulwark-failover";
const HEADER: &str = "bulwark failover approval";

/// What an approval says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Approval {
    /// Plan ID.
    pub plan: String,
    /// SHA-256 of `plan.json`.
    pub digest: String,
    /// Who approves (their principal in `allowed_signers`).
    pub approver: String,
    /// When.
    pub approved: String,
    /// Until when it counts.
    pub expires: String,
}

impl Approval {
    /// The signed text.
    pub fn message(&self) -> String {
        format!(
            "{HEADER}\nplan: {}\ndigest: sha256:{}\napprover: {}\napproved: {}\nexpires: {}\n",
            self.plan, self.digest, self.approver, self.approved, self.expires
        )
    }

    /// Parse the signed text.
    pub fn parse(text: &str) -> Result<Approval, String> {
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err(format!("it does not start with {HEADER:?}"));
        }
        let mut field = |name: &str| {
            lines
                .next()
                .and_then(|l| l.strip_prefix(&format!("{name}: ")))
                .map(str::to_string)
                .ok_or_else(|| format!("line `{name}: ...` is missing"))
        };
        let plan = field("plan")?;
        let digest = field("digest")?;
        let digest = digest
            .strip_prefix("sha256:")
            .ok_or("the digest is not sha256:...")?
            .to_string();
        Ok(Approval {
            plan,
            digest,
            approver: field("approver")?,
            approved: field("approved")?,
            expires: field("expires")?,
        })
    }
}

/// A principal usable as a file name: letters, digits, `@ . _ -`.
pub fn check_principal(p: &str) -> Result<(), String> {
    let ok = !p.is_empty()
        && !p.starts_with('.')
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{p:?} is not a usable approver name: use letters, digits, @ . _ - as in allowed_signers"
        ))
    }
}

/// Why an approval was not made.
#[derive(Debug, thiserror::Error)]
pub enum ApproveError {
    /// The approver may not approve, or asked for too long.
    #[error("{0}")]
    Refused(String),
    /// The plan cannot be read.
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    /// `allowed_signers` cannot be read.
    #[error(transparent)]
    Allowed(#[from] audit::allowed::AllowedError),
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] sshsig::SigError),
    /// The audit log could not take the approval.
    #[error(transparent)]
    Audit(#[from] audit::log::AuditError),
    /// Writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

/// Sign the plan in `dir` as `approver` with `identity`, valid for `ttl` (at most the
/// config's `approval_ttl`). Returns the approval's two files.
pub fn approve(
    cfg: &Config,
    dir: &Path,
    approver: &str,
    identity: &Identity,
    ttl: Option<Duration>,
) -> Result<(Approval, PathBuf, PathBuf), ApproveError> {
    check_principal(approver).map_err(ApproveError::Refused)?;
    let (p, bytes) = plan::load(dir)?;
    let allowed = AllowedSigners::load(&cfg.allowed_signers)?;
    let now = SystemTime::now();
    allowed
        .check(approver, identity.public_key(), NAMESPACE, now)
        .map_err(|why| {
            ApproveError::Refused(format!(
                "{why} ({}, key {}); nothing was signed",
                cfg.allowed_signers.display(),
                sshsig::fingerprint(identity.public_key())
            ))
        })?;
    let ttl = ttl.unwrap_or(cfg.approval_ttl);
    if ttl > cfg.approval_ttl {
        return Err(ApproveError::Refused(format!(
            "--ttl {} is longer than approval_ttl {} in the failover config",
            humantime::format_duration(ttl),
            humantime::format_duration(cfg.approval_ttl)
        )));
    }
    let a = Approval {
        plan: p.id.clone(),
        digest: plan::digest(&bytes),
        approver: approver.into(),
        approved: humantime::format_rfc3339_seconds(now).to_string(),
        expires: humantime::format_rfc3339_seconds(now + ttl).to_string(),
    };
    let msg = a.message();
    let sig = identity.sign(NAMESPACE, msg.as_bytes())?;
    let adir = dir.join("approvals");
    std::fs::create_dir_all(&adir).map_err(|source| ApproveError::Io {
        path: adir.display().to_string(),
        source,
    })?;
    let txt = adir.join(format!("{approver}.txt"));
    let sig_path = adir.join(format!("{approver}.txt.sig"));
    for (path, body) in [(&txt, msg.as_bytes()), (&sig_path, sig.as_bytes())] {
        confkit::file::write_durable(path, body).map_err(|source| ApproveError::Io {
            path: path.display().to_string(),
            source,
        })?;
    }
    audit::AuditLog::new(&cfg.audit_log).append(
        approver,
        "failover.approve",
        serde_json::json!({"plan": a.plan, "digest": a.digest, "expires": a.expires}),
        Some(identity),
    )?;
    Ok((a, txt, sig_path))
}

/// One approval that counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Valid {
    /// Who.
    pub approver: String,
    /// Their key's fingerprint.
    pub key: String,
    /// Until when.
    pub expires: String,
}

/// The approvals of a plan, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quorum {
    /// How many are needed.
    pub needed: usize,
    /// The ones that count (one per person and per key).
    pub valid: Vec<Valid>,
    /// The ones that do not, each with why.
    pub invalid: Vec<String>,
}

impl Quorum {
    /// Whether enough people approved.
    pub fn reached(&self) -> bool {
        self.valid.len() >= self.needed
    }
}

/// Check every approval of the plan in `dir` (whose exact bytes are `bytes`) at `now`.
pub fn quorum(
    cfg: &Config,
    dir: &Path,
    plan: &plan::Plan,
    bytes: &[u8],
    now: SystemTime,
) -> Result<Quorum, ApproveError> {
    let allowed = AllowedSigners::load(&cfg.allowed_signers)?;
    let digest = plan::digest(bytes);
    let mut q = Quorum {
        needed: cfg.approvals,
        valid: Vec::new(),
        invalid: Vec::new(),
    };
    let adir = dir.join("approvals");
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&adir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    for txt in files {
        let name = txt
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        match check_one(cfg, &allowed, plan, &digest, &txt, now) {
            Ok(v)
                if q.valid
                    .iter()
                    .any(|o| o.approver == v.approver || o.key == v.key) =>
            {
                q.invalid.push(format!(
                    "{name}: {} or their key already counted once",
                    v.approver
                ))
            }
            Ok(v) => q.valid.push(v),
            Err(why) => q.invalid.push(format!("{name}: {why}")),
        }
    }
    Ok(q)
}

fn check_one(
    cfg: &Config,
    allowed: &AllowedSigners,
    plan: &plan::Plan,
    digest: &str,
    txt: &Path,
    now: SystemTime,
) -> Result<Valid, String> {
    let text = std::fs::read_to_string(txt).map_err(|e| e.to_string())?;
    let mut sig_path = txt.as_os_str().to_owned();
    sig_path.push(".sig");
    let pem =
        std::fs::read_to_string(&sig_path).map_err(|e| format!("no signature beside it: {e}"))?;
    let key = sshsig::signer_of(&pem).map_err(|e| e.to_string())?;
    sshsig::verify(&key, NAMESPACE, text.as_bytes(), &pem).map_err(|e| e.to_string())?;
    let a = Approval::parse(&text)?;
    let stem = txt.file_stem().unwrap_or_default().to_string_lossy();
    if a.approver != stem {
        return Err(format!(
            "it names approver {} but is filed as {stem}",
            a.approver
        ));
    }
    if a.plan != plan.id {
        return Err(format!("it approves another plan ({})", a.plan));
    }
    if a.digest != digest {
        return Err("it approves other plan contents (the plan was edited after it was signed, or the approval was made for another plan)".into());
    }
    let time = |s: &str| humantime::parse_rfc3339(s).map_err(|e| format!("bad time {s:?}: {e}"));
    let (approved, expires) = (time(&a.approved)?, time(&a.expires)?);
    if expires <= now {
        return Err(format!("it expired at {}", a.expires));
    }
    if expires.duration_since(approved).unwrap_or(Duration::MAX) > cfg.approval_ttl {
        return Err(format!(
            "it is valid for longer than approval_ttl {}",
            humantime::format_duration(cfg.approval_ttl)
        ));
    }
    if approved > now + Duration::from_secs(300) {
        return Err(format!("it is dated in the future ({})", a.approved));
    }
    allowed.check(&a.approver, &key, NAMESPACE, approved)?;
    Ok(Valid {
        approver: a.approver,
        key: sshsig::fingerprint(&key),
        expires: a.expires,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_reads_back_and_bad_ones_are_named() {
        let a = Approval {
            plan: "c-a-to-b-1".into(),
            digest: "ab".repeat(32),
            approver: "bob".into(),
            approved: "2026-12-01T00:00:00Z".into(),
            expires: "2026-12-01T04:00:00Z".into(),
        };
        assert_eq!(Approval::parse(&a.message()).unwrap(), a);
        assert!(Approval::parse("hello")
            .unwrap_err()
            .contains("does not start"));
        let cut = a.message().replace("approver: bob\n", "");
        assert!(
            Approval::parse(&cut).unwrap_err().contains("approver"),
            "{cut}"
        );
    }

    #[test]
    fn principals_must_be_file_names() {
        assert!(check_principal("alice@ops.example").is_ok());
        for bad in ["", "../x", ".hidden", "a b", "a/b"] {
            assert!(check_principal(bad).is_err(), "{bad}");
        }
    }
}

//! The vault file (JSON, mode 0600): the data key's public half, each custodian's
//! encrypted share of the data key, and the entries encrypted to the data key. Nothing
//! in it is readable without t custodians; the public keys, addresses and names are in
//! the clear so that `vault list` and a sealed signer need no secret.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

pub(crate) const FORMAT: u32 = 1;

/// One custodian's share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodianShare {
    /// Custodian name.
    pub name: String,
    /// `ssh` or `age`.
    pub kind: String,
    /// Their public key (an OpenSSH line, or `age1...`).
    pub recipient: String,
    /// Their share, encrypted to `recipient` (age format, base64).
    pub share: String,
    /// SHA-256 of vault ID and the plain share: a wrong share is known before use.
    pub commitment: String,
}

/// One secret in the vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Name: the chain ID for a consensus key (`key = "vault:NAME"`), or a secret's name.
    pub name: String,
    /// `consensus_key` or `secret`.
    pub kind: String,
    /// For keys: `ed25519` or `secp256k1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_type: Option<String>,
    /// For keys: the public key, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// For keys: the consensus address, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The secret (the key file's contents), encrypted to the data key (age, base64).
    pub ciphertext: String,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultFile {
    /// File format.
    pub format: u32,
    /// Random ID, bound into every share's commitment.
    pub id: String,
    /// Shares needed to open it.
    pub threshold: usize,
    /// The data key's age recipient: entries are encrypted to it.
    pub recipient: String,
    /// One share per custodian.
    pub custodians: Vec<CustodianShare>,
    /// The secrets.
    pub entries: Vec<Entry>,
}

/// Why the vault file is not usable.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Cannot read or write it.
    #[error("vault {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// It is damaged or not a vault.
    #[error("vault {path} is damaged or not a vault: {reason}. Nothing was opened; restore it from a copy")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

impl VaultFile {
    /// Read and check `path`.
    pub fn load(path: &Path) -> Result<VaultFile, FileError> {
        let bytes = std::fs::read(path).map_err(|source| FileError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let corrupt = |reason: String| FileError::Corrupt {
            path: path.display().to_string(),
            reason,
        };
        let v: VaultFile = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        v.check().map_err(|p| corrupt(p.join("; ")))?;
        Ok(v)
    }

    /// Everything that can be checked without a secret.
    pub fn check(&self) -> Result<(), Vec<String>> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut p = Vec::new();
        if self.format != FORMAT {
            p.push(format!("format {} is not {FORMAT}", self.format));
        }
        if self.threshold < 1 || self.threshold > self.custodians.len() {
            p.push(format!(
                "threshold {} of {} custodians",
                self.threshold,
                self.custodians.len()
            ));
        }
        if <age::x25519::Recipient as std::str::FromStr>::from_str(&self.recipient).is_err() {
            p.push("the data key's recipient does not parse".into());
        }
        for c in &self.custodians {
            if b64.decode(&c.share).is_err()
                || hex::decode(&c.commitment).map(|h| h.len()) != Ok(32)
            {
                p.push(format!("custodian {}'s share is damaged", c.name));
            }
            if self.custodians.iter().filter(|o| o.name == c.name).count() > 1 {
                p.push(format!("two custodians are called {}", c.name));
            }
        }
        for e in &self.entries {
            if b64.decode(&e.ciphertext).is_err() {
                p.push(format!("entry {}'s ciphertext is damaged", e.name));
            }
            if self.entries.iter().filter(|o| o.name == e.name).count() > 1 {
                p.push(format!("two entries are called {}", e.name));
            }
        }
        if p.is_empty() {
            Ok(())
        } else {
            Err(p)
        }
    }

    /// Write to `path` (mode 0600) through a temporary file, flushed, then renamed.
    pub fn save(&self, path: &Path) -> Result<(), FileError> {
        let io = |source| FileError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io)?;
        let mut text = serde_json::to_vec_pretty(self).expect("a vault serializes");
        text.push(b'\n');
        f.write_all(&text).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)
    }

    /// The entry `name`.
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// The custodian `name`.
    pub fn custodian(&self, name: &str) -> Option<&CustodianShare> {
        self.custodians.iter().find(|c| c.name == name)
    }
}

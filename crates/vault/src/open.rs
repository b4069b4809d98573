//! Opening a vault: custodians' shares are checked one by one against their
//! commitments, and with `threshold` of them the data key is rebuilt, checked against
//! the vault's recipient, and kept in memory only.

use crate::file::{Entry, VaultFile};
use crate::seal::commitment;
use base64::Engine;
use std::str::FromStr;
use zeroize::Zeroizing;

/// Why a share was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No such custodian in this vault.
    #[error("{0} is not a custodian of this vault")]
    Unknown(String),
    /// This custodian's share is already counted.
    #[error("{0}'s share is already counted; each custodian counts once")]
    Duplicate(String),
    /// The share does not match the custodian's commitment.
    #[error(
        "{0}'s share does not match the one made for them (a wrong key, or another vault's share)"
    )]
    Wrong(String),
    /// The shares rebuilt a key that is not this vault's.
    #[error("the shares do not rebuild this vault's data key: {0}")]
    Rebuild(String),
}

/// A vault being opened.
#[derive(Debug)]
pub struct Opening {
    vault: VaultFile,
    shares: Vec<(String, Zeroizing<Vec<u8>>)>,
}

/// An open vault: its data key in memory.
pub struct Opened {
    vault: VaultFile,
    key: age::x25519::Identity,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("vault", &self.vault.id)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl Opening {
    /// Start opening `vault`.
    pub fn new(vault: VaultFile) -> Opening {
        Opening {
            vault,
            shares: Vec::new(),
        }
    }

    /// The vault.
    pub fn vault(&self) -> &VaultFile {
        &self.vault
    }

    /// Shares counted so far.
    pub fn have(&self) -> usize {
        self.shares.len()
    }

    /// Shares needed.
    pub fn need(&self) -> usize {
        self.vault.threshold
    }

    /// Take `name`'s share; with enough shares, the open vault.
    pub fn add(
        &mut self,
        name: &str,
        share: Zeroizing<Vec<u8>>,
    ) -> Result<Option<Opened>, Refusal> {
        let c = self
            .vault
            .custodian(name)
            .ok_or_else(|| Refusal::Unknown(name.into()))?;
        if self.shares.iter().any(|(n, _)| n == name) {
            return Err(Refusal::Duplicate(name.into()));
        }
        if commitment(&self.vault.id, &share) != c.commitment {
            return Err(Refusal::Wrong(name.into()));
        }
        self.shares.push((name.into(), share));
        if self.shares.len() < self.vault.threshold {
            return Ok(None);
        }
        let parsed: Vec<blahaj::Share> = self
            .shares
            .iter()
            .map(|(_, s)| {
                blahaj::Share::try_from(s.as_slice()).map_err(|e| Refusal::Rebuild(e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        let sharks = blahaj::Sharks(u8::try_from(self.vault.threshold).unwrap_or(u8::MAX));
        let secret = Zeroizing::new(
            sharks
                .recover(&parsed)
                .map_err(|e| Refusal::Rebuild(e.to_string()))?,
        );
        let text =
            std::str::from_utf8(&secret).map_err(|_| Refusal::Rebuild("not a key".into()))?;
        let key =
            age::x25519::Identity::from_str(text).map_err(|e| Refusal::Rebuild(e.to_string()))?;
        if key.to_public().to_string() != self.vault.recipient {
            return Err(Refusal::Rebuild(
                "it is not the key the entries are encrypted to".into(),
            ));
        }
        Ok(Some(Opened {
            vault: self.vault.clone(),
            key,
        }))
    }
}

impl Opened {
    /// The vault it opens.
    pub fn vault(&self) -> &VaultFile {
        &self.vault
    }

    /// An entry's secret.
    pub fn decrypt(&self, entry: &Entry) -> Result<Zeroizing<Vec<u8>>, String> {
        let ct = base64::engine::general_purpose::STANDARD
            .decode(&entry.ciphertext)
            .map_err(|e| format!("entry {}: {e}", entry.name))?;
        age::decrypt(&self.key, &ct)
            .map(Zeroizing::new)
            .map_err(|e| {
                format!(
                    "entry {} does not decrypt with this vault's key: {e}",
                    entry.name
                )
            })
    }
}

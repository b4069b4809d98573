//! Making and changing a vault: `init` splits a new data key among the custodians,
//! `add` encrypts a secret to the data key (no custodian needed), `rekey` makes a new
//! data key for new custodians or a new threshold from an opened vault, in memory only.

use crate::custodians::Custodian;
use crate::file::{CustodianShare, Entry, VaultFile, FORMAT};
use crate::open::Opened;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::str::FromStr;
use zeroize::Zeroizing;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Why a vault could not be made or changed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The request is not allowed (threshold, names).
    #[error("{0}")]
    Refused(String),
    /// Encryption failed.
    #[error("{0}")]
    Crypto(String),
}

/// SHA-256 of the vault ID and a plain share, hex.
pub(crate) fn commitment(id: &str, share: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(id.as_bytes());
    h.update([0]);
    h.update(share);
    hex::encode(h.finalize())
}

/// A new vault for `custodians`, any `threshold` of whom open it. A threshold below 2
/// needs `allow_single` (one custodian alone could then open it).
pub fn init(
    custodians: &[Custodian],
    threshold: usize,
    allow_single: bool,
) -> Result<VaultFile, SealError> {
    let id = hex::encode(rand::random::<[u8; 16]>());
    let data = age::x25519::Identity::generate();
    split(&id, &data, custodians, threshold, allow_single, Vec::new())
}

fn split(
    id: &str,
    data: &age::x25519::Identity,
    custodians: &[Custodian],
    threshold: usize,
    allow_single: bool,
    entries: Vec<Entry>,
) -> Result<VaultFile, SealError> {
    let n = custodians.len();
    if threshold > n {
        return Err(SealError::Refused(format!(
            "threshold {threshold} is more than the {n} custodians"
        )));
    }
    if threshold < 2 && !allow_single {
        return Err(SealError::Refused(format!(
            "threshold {threshold}: one custodian alone could open the vault; use 2 or more, or --allow-single-custodian if that is what you want"
        )));
    }
    if threshold < 1 || n > 255 {
        return Err(SealError::Refused(
            "the threshold must be at least 1, and at most 255 custodians".into(),
        ));
    }
    use age::secrecy::ExposeSecret;
    let secret = Zeroizing::new(data.to_string().expose_secret().as_bytes().to_vec());
    let sharks = blahaj::Sharks(u8::try_from(threshold).expect("checked"));
    let mut shares = Vec::new();
    for (c, share) in custodians.iter().zip(sharks.dealer(&secret)) {
        let plain = Zeroizing::new(Vec::from(&share));
        let enc = c
            .encrypt(&plain)
            .map_err(|e| SealError::Crypto(format!("custodian {}: {e}", c.name)))?;
        shares.push(CustodianShare {
            name: c.name.clone(),
            kind: if c.ssh.is_some() { "ssh" } else { "age" }.into(),
            recipient: c
                .ssh
                .clone()
                .or(c.age.clone())
                .unwrap_or_default()
                .trim()
                .to_string(),
            share: B64.encode(enc),
            commitment: commitment(id, &plain),
        });
    }
    Ok(VaultFile {
        format: FORMAT,
        id: id.into(),
        threshold,
        recipient: data.to_public().to_string(),
        custodians: shares,
        entries,
    })
}

/// What is known in the clear about a key being added.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    /// `ed25519` or `secp256k1`.
    pub key_type: String,
    /// Public key, base64.
    pub public_key: String,
    /// Consensus address, hex.
    pub address: String,
}

/// Add `secret` under `name`: a consensus key (with `key`) or an operational secret.
pub fn add(
    vault: &mut VaultFile,
    name: &str,
    secret: &[u8],
    key: Option<KeyInfo>,
) -> Result<(), SealError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(SealError::Refused(format!(
            "{name:?} is not a usable entry name"
        )));
    }
    if vault.entry(name).is_some() {
        return Err(SealError::Refused(format!(
            "the vault already holds {name}; nothing was changed"
        )));
    }
    let r = age::x25519::Recipient::from_str(&vault.recipient)
        .map_err(|e| SealError::Crypto(e.to_string()))?;
    let ct = age::encrypt(&r, secret).map_err(|e| SealError::Crypto(e.to_string()))?;
    vault.entries.push(Entry {
        name: name.into(),
        kind: if key.is_some() {
            "consensus_key"
        } else {
            "secret"
        }
        .into(),
        key_type: key.as_ref().map(|k| k.key_type.clone()),
        public_key: key.as_ref().map(|k| k.public_key.clone()),
        address: key.map(|k| k.address),
        ciphertext: B64.encode(ct),
    });
    Ok(())
}

/// A new vault with a new data key for `custodians` and `threshold`, holding the same
/// entries, re-encrypted in memory from `opened`.
pub fn rekey(
    opened: &Opened,
    custodians: &[Custodian],
    threshold: usize,
    allow_single: bool,
) -> Result<VaultFile, SealError> {
    let data = age::x25519::Identity::generate();
    let id = hex::encode(rand::random::<[u8; 16]>());
    let mut next = split(&id, &data, custodians, threshold, allow_single, Vec::new())?;
    for e in &opened.vault().entries {
        let plain = opened.decrypt(e).map_err(SealError::Crypto)?;
        let ct = age::encrypt(&data.to_public(), &plain)
            .map_err(|e| SealError::Crypto(e.to_string()))?;
        next.entries.push(Entry {
            ciphertext: B64.encode(ct),
            ..e.clone()
        });
    }
    Ok(next)
}

//! The custodian's side: their share decrypted on their own machine with their own
//! identity (an SSH private key, passphrase-protected or not, or an age identity file).

use crate::file::CustodianShare;
use base64::Engine;
use std::path::Path;
use zeroize::Zeroizing;

/// Why a share could not be decrypted.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    /// The identity file is unusable.
    #[error("identity {path}: {reason}")]
    Identity {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The share does not decrypt with it.
    #[error("your share does not decrypt with {path}: {reason}. Use the key whose public half is yours in the vault ({recipient})")]
    Decrypt {
        /// The identity file.
        path: String,
        /// What failed.
        reason: String,
        /// The key the share is encrypted to.
        recipient: String,
    },
}

/// A passphrase from a file or the terminal, for an encrypted SSH key.
#[derive(Clone)]
struct Passphrase(Option<age::secrecy::SecretString>);

impl age::Callbacks for Passphrase {
    fn display_message(&self, _message: &str) {}
    fn confirm(&self, _message: &str, _yes: &str, _no: Option<&str>) -> Option<bool> {
        None
    }
    fn request_public_string(&self, _description: &str) -> Option<String> {
        None
    }
    fn request_passphrase(&self, _description: &str) -> Option<age::secrecy::SecretString> {
        self.0.clone()
    }
}

/// Decrypt `share` with the identity at `path`; `passphrase` opens an encrypted SSH key.
pub fn decrypt_share(
    share: &CustodianShare,
    path: &Path,
    passphrase: Option<age::secrecy::SecretString>,
) -> Result<Zeroizing<Vec<u8>>, ShareError> {
    let id_err = |reason: String| ShareError::Identity {
        path: path.display().to_string(),
        reason,
    };
    let ct = base64::engine::general_purpose::STANDARD
        .decode(&share.share)
        .map_err(|e| id_err(format!("the vault's share for you is damaged: {e}")))?;
    let dec_err = |reason: String| ShareError::Decrypt {
        path: path.display().to_string(),
        reason,
        recipient: share.recipient.clone(),
    };
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| id_err(e.to_string()))?);
    let plain = if share.kind == "ssh" {
        let id = age::ssh::Identity::from_buffer(
            std::io::BufReader::new(bytes.as_slice()),
            Some(path.display().to_string()),
        )
        .map_err(|e| id_err(format!("not an SSH private key: {e}")))?;
        match id {
            age::ssh::Identity::Unsupported(k) => {
                return Err(id_err(format!("unsupported SSH key ({k:?})")))
            }
            age::ssh::Identity::Encrypted(_) if passphrase.is_none() => return Err(id_err(
                "the key is protected by a passphrase; give --passphrase-file or run on a terminal"
                    .into(),
            )),
            id => {
                let id = id.with_callbacks(Passphrase(passphrase));
                age::decrypt(&id, &ct).map_err(|e| match e {
                    age::DecryptError::KeyDecryptionFailed => {
                        id_err("wrong passphrase for this key".into())
                    }
                    other => dec_err(other.to_string()),
                })?
            }
        }
    } else {
        let text =
            std::str::from_utf8(&bytes).map_err(|_| id_err("not an age identity file".into()))?;
        let ids = age::IdentityFile::from_buffer(text.as_bytes())
            .map_err(|e| id_err(format!("not an age identity file: {e}")))?
            .into_identities()
            .map_err(|e| id_err(format!("not an age identity file: {e}")))?;
        let d = age::Decryptor::new(ct.as_slice()).map_err(|e| dec_err(e.to_string()))?;
        let mut r = d
            .decrypt(ids.iter().map(|i| i.as_ref() as &dyn age::Identity))
            .map_err(|e| dec_err(e.to_string()))?;
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut r, &mut out).map_err(|e| dec_err(e.to_string()))?;
        out
    };
    Ok(Zeroizing::new(plain))
}

//! Key backends. The soft backend reads a key file into zeroizing memory, and parses it
//! there without copying the secret (`privval::key_file`).

use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

pub mod pkcs11;

/// Something that holds a consensus key and signs with it.
pub trait KeyBackend: Send + Sync + std::fmt::Debug {
    /// The public key.
    fn public_key(&self) -> privval::PublicKey;
    /// Sign `msg` (canonical sign bytes).
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError>;
    /// Why it cannot sign now (a sealed vault key), checked before the guard decides.
    fn sealed(&self) -> Option<String> {
        None
    }
}

/// Why a key could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file cannot be read.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Group or others may read the file.
    #[error(
        "key file {path} is readable by group or others (mode {mode:04o}); refusing to use it. \
         Run `chmod 600 {path}` and check who may have copied it"
    )]
    LoosePermissions {
        /// The file.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
    },
    /// The contents are not a key Bulwark reads.
    #[error(
        "key file {path}: {reason}. Expected a CometBFT priv_validator_key.json or a tmkms \
         softsign key (base64 of a 32-byte Ed25519 seed or a 64-byte keypair)"
    )]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A threshold key was asked to sign alone.
    #[error("a threshold key signs only through its cosigners")]
    ThresholdOnly,
    /// A vault key before its custodians opened the vault.
    #[error("{0}")]
    Sealed(String),
    /// A PKCS#11 token failed.
    #[error("{0}")]
    Token(String),
    /// The key type is known but not supported by this backend.
    #[error("key file {path}: {key_type} keys are not supported; use an Ed25519 or secp256k1 key")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The type found.
        key_type: String,
    },
}

/// The public half of a threshold key: the signer signs with it only through its
/// cosigners (`chain::cosign`), never alone.
#[derive(Debug, Clone)]
pub struct GroupKey {
    public: privval::PublicKey,
}

impl GroupKey {
    /// The group key of `share`.
    pub fn of(share: &threshold::share::Share) -> GroupKey {
        GroupKey {
            public: privval::PublicKey::Ed25519(share.group_public_key().to_vec()),
        }
    }
}

impl KeyBackend for GroupKey {
    fn public_key(&self) -> privval::PublicKey {
        self.public.clone()
    }

    fn sign(&self, _msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        Err(KeyError::ThresholdOnly)
    }
}

/// A consensus key held in memory (zeroized on drop): Ed25519, or secp256k1 for chains
/// that use it.
pub struct SoftKey {
    key: Secret,
}

enum Secret {
    Ed25519(SigningKey),
    Secp256k1(k256::ecdsa::SigningKey),
}

impl std::fmt::Debug for SoftKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftKey")
            .field("public", &hex::encode(self.public_key().bytes()))
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl SoftKey {
    /// Load a key file, refusing one that group or others can read.
    pub fn load(path: &Path) -> Result<SoftKey, KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::LoosePermissions {
                path: path.to_path_buf(),
                mode,
            });
        }
        let bytes = Zeroizing::new(std::fs::read(path).map_err(io)?);
        Self::parse(path, &bytes)
    }

    /// The Ed25519 seed, for moving the key into a token (zeroized on drop).
    pub fn ed25519_seed(&self) -> Option<Zeroizing<[u8; 32]>> {
        match &self.key {
            Secret::Ed25519(k) => Some(Zeroizing::new(k.to_bytes())),
            Secret::Secp256k1(_) => None,
        }
    }

    /// Parse key file contents (`path` only names the file in errors).
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<SoftKey, KeyError> {
        let fmt = |reason: &str| KeyError::Format {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        let text = std::str::from_utf8(bytes).map(str::trim);
        let raw: Zeroizing<Vec<u8>> = match text {
            Ok(t) if t.starts_with('{') => {
                let parsed =
                    privval::key_file::parse(t.as_bytes()).map_err(|e| fmt(&e.to_string()))?;
                match parsed.key_type.as_str() {
                    "tendermint/PrivKeyEd25519" => parsed.secret,
                    "tendermint/PrivKeySecp256k1" => {
                        let key =
                            k256::ecdsa::SigningKey::from_slice(&parsed.secret).map_err(|_| {
                                fmt("priv_key.value is not a valid secp256k1 secret key")
                            })?;
                        return Ok(SoftKey {
                            key: Secret::Secp256k1(key),
                        });
                    }
                    other => {
                        return Err(KeyError::Unsupported {
                            path: path.to_path_buf(),
                            key_type: other.to_string(),
                        })
                    }
                }
            }
            Ok(t) => match base64::engine::general_purpose::STANDARD.decode(t.as_bytes()) {
                Ok(b) => Zeroizing::new(b),
                Err(_) => Zeroizing::new(bytes.to_vec()),
            },
            Err(_) => Zeroizing::new(bytes.to_vec()),
        };
        let key = match raw.len() {
            32 => SigningKey::from_bytes(raw[..].try_into().expect("32 bytes")),
            64 => {
                let key = SigningKey::from_bytes(raw[..32].try_into().expect("32 bytes"));
                if key.verifying_key().as_bytes() != &raw[32..] {
                    return Err(fmt(
                        "the public half of the 64-byte keypair does not match its secret half",
                    ));
                }
                key
            }
            n => return Err(fmt(&format!("key material is {n} bytes, not 32 or 64"))),
        };
        Ok(SoftKey {
            key: Secret::Ed25519(key),
        })
    }

    /// Wrap an in-memory Ed25519 key (tests, benchmarks).
    pub fn from_signing_key(key: SigningKey) -> SoftKey {
        SoftKey {
            key: Secret::Ed25519(key),
        }
    }
}

impl KeyBackend for SoftKey {
    fn public_key(&self) -> privval::PublicKey {
        match &self.key {
            Secret::Ed25519(k) => {
                privval::PublicKey::Ed25519(k.verifying_key().as_bytes().to_vec())
            }
            Secret::Secp256k1(k) => privval::PublicKey::Secp256k1(
                k.verifying_key().to_encoded_point(true).as_bytes().to_vec(),
            ),
        }
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.key {
            Secret::Ed25519(k) => Ok(k.sign(msg).to_bytes().to_vec()),
            // CometBFT: ECDSA over SHA-256 of the message, RFC 6979 nonces, 64-byte r||s
            // with s in the lower half of the order.
            Secret::Secp256k1(k) => {
                let sig: k256::ecdsa::Signature = k256::ecdsa::signature::Signer::sign(k, msg);
                let sig = sig.normalize_s().unwrap_or(sig);
                Ok(sig.to_bytes().to_vec())
            }
        }
    }
}

/// The libp2p peer ID of the Ed25519 key in `path` (a connection key or a CometBFT
/// `node_key.json`), for `noise://` addresses.
pub fn peer_id(path: &Path) -> Result<String, KeyError> {
    let key = connection_key(Some(path))?;
    Ok(privval::transport::peer_id(&key.verifying_key()))
}

/// Write a new Ed25519 key to `path` (mode 0600, base64 of the seed) unless the file
/// exists.
pub fn generate_key_file(path: &Path) -> Result<(), KeyError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let key = SigningKey::generate(&mut rand_core::OsRng);
    let text = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(key.to_bytes()));
    let mut f = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(io(e)),
    };
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(io)
}

/// Load the connection key (Ed25519), or make a fresh one when `path` is `None`.
pub fn connection_key(path: Option<&Path>) -> Result<SigningKey, KeyError> {
    match path {
        Some(p) => match SoftKey::load(p)?.key {
            Secret::Ed25519(k) => Ok(k),
            Secret::Secp256k1(_) => Err(KeyError::Unsupported {
                path: p.to_path_buf(),
                key_type: "secp256k1 (a connection key must be Ed25519)".into(),
            }),
        },
        None => Ok(SigningKey::generate(&mut rand_core::OsRng)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const COMETBFT_KEY: &str = r#"{
      "address": "EBEBEB484004ACBFAB78E398732765076F457A81",
      "pub_key": {"type": "tendermint/PubKeyEd25519", "value": "hIS6wuRTA5CfctAdQEUuDnf1YvC31SYrSHEhKRsfm+U="},
      "priv_key": {"type": "tendermint/PrivKeyEd25519", "value": "JrrY1b7BKbojJt4Dz+jV83OtHXReL/pofGIk8k89n62EhLrC5FMDkJ9y0B1ARS4Od/Vi8LfVJitIcSEpGx+b5Q=="}
    }"#;

    fn write(dir: &Path, name: &str, body: &[u8], mode: u32) -> PathBuf {
        let p = dir.join(name);
        let mut f = std::fs::File::create(&p).unwrap();
        f.write_all(body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn reads_a_cometbft_key_file() {
        let d = tempfile::tempdir().unwrap();
        let k = SoftKey::load(&write(d.path(), "k.json", COMETBFT_KEY.as_bytes(), 0o600)).unwrap();
        let privval::PublicKey::Ed25519(pk) = k.public_key() else {
            panic!()
        };
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(pk),
            "hIS6wuRTA5CfctAdQEUuDnf1YvC31SYrSHEhKRsfm+U="
        );
        assert!(!format!("{k:?}").contains("JrrY"));
        assert!(format!("{k:?}").contains("<redacted>"));
    }

    #[test]
    fn reads_tmkms_softsign_keys() {
        let d = tempfile::tempdir().unwrap();
        let seed = [7u8; 32];
        let b64 = base64::engine::general_purpose::STANDARD.encode(seed);
        let a = SoftKey::load(&write(d.path(), "a.key", b64.as_bytes(), 0o600)).unwrap();
        let b = SoftKey::load(&write(d.path(), "b.key", &seed, 0o400)).unwrap();
        assert_eq!(a.public_key(), b.public_key());
    }

    #[test]
    fn refuses_a_key_readable_by_others() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "k.json", COMETBFT_KEY.as_bytes(), 0o644);
        let err = SoftKey::load(&p).unwrap_err().to_string();
        assert!(
            err.contains("mode 0644") && err.contains("chmod 600"),
            "{err}"
        );
        let p = write(d.path(), "g.json", COMETBFT_KEY.as_bytes(), 0o640);
        assert!(matches!(
            SoftKey::load(&p),
            Err(KeyError::LoosePermissions { .. })
        ));
    }

    #[test]
    fn reads_a_secp256k1_key_and_signs_low_s_over_sha256() {
        use k256::ecdsa::signature::Verifier;
        let d = tempfile::tempdir().unwrap();
        let json = format!(
            r#"{{"address":"","pub_key":{{"type":"tendermint/PubKeySecp256k1","value":""}},"priv_key":{{"type":"tendermint/PrivKeySecp256k1","value":"{}"}}}}"#,
            base64::engine::general_purpose::STANDARD.encode([0x42u8; 32])
        );
        let k = SoftKey::load(&write(d.path(), "s.json", json.as_bytes(), 0o600)).unwrap();
        let privval::PublicKey::Secp256k1(pk) = k.public_key() else {
            panic!("not secp256k1")
        };
        assert_eq!(pk.len(), 33);
        let vk = k256::ecdsa::VerifyingKey::from_sec1_bytes(&pk).unwrap();
        for msg in [&b"vote"[..], b"another vote", b""] {
            let sig = k.sign(msg).unwrap();
            assert_eq!(sig.len(), 64);
            let sig = k256::ecdsa::Signature::from_slice(&sig).unwrap();
            assert!(sig.normalize_s().is_none(), "s must already be low");
            vk.verify(msg, &sig).unwrap();
        }
        assert!(format!("{k:?}").contains("<redacted>"));
        let bad = json.replace(
            &base64::engine::general_purpose::STANDARD.encode([0x42u8; 32]),
            "AAAA",
        );
        let p = write(d.path(), "bad.json", bad.as_bytes(), 0o600);
        assert!(matches!(SoftKey::load(&p), Err(KeyError::Format { .. })));
    }

    #[test]
    fn refuses_garbage_and_other_key_types() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "x", b"not a key at all", 0o600);
        assert!(matches!(SoftKey::load(&p), Err(KeyError::Format { .. })));
        let bls = COMETBFT_KEY.replace("tendermint/PrivKeyEd25519", "cometbft/PrivKeyBls12_381");
        let p = write(d.path(), "s.json", bls.as_bytes(), 0o600);
        assert!(matches!(
            SoftKey::load(&p),
            Err(KeyError::Unsupported { .. })
        ));
        let mut pair = [1u8; 64];
        pair[63] ^= 1;
        let p = write(d.path(), "p", &pair, 0o600);
        assert!(SoftKey::load(&p)
            .unwrap_err()
            .to_string()
            .contains("does not match"));
    }
}

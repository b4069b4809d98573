//! Keys from the vault (`key = "vault:NAME"`): the signer starts sealed, connects to its
//! nodes, answers pings and public-key requests, and signs nothing until `threshold`
//! custodians have given their shares over the unseal channel. Then each key is held in
//! memory only: the process's pages are locked (never swapped; every signer is also
//! made undumpable at start: no core file, no ptrace by the same user). A restart is
//! sealed again. A PKCS#11 token's PIN can come from the vault the same way
//! (`pin = "vault:NAME"`, a secret): that chain is sealed until the vault opens too.

use crate::config::{vault_entry, Config};
use crate::keys::pkcs11::Pin;
use crate::keys::{KeyBackend, KeyError, SoftKey};
use crate::metrics::{ChainLabels, Metrics, ShareRefusalLabels};
use crate::shutdown::Shutdown;
use std::collections::HashMap;
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use vault::unseal::Unsealer;
use vault::{Opening, VaultFile};
use zeroize::Zeroizing;

/// One chain's key in the vault.
#[derive(Debug)]
pub struct VaultKey {
    name: String,
    public: privval::PublicKey,
    key: RwLock<Option<SoftKey>>,
    have: Arc<AtomicUsize>,
    need: usize,
}

impl KeyBackend for VaultKey {
    fn public_key(&self) -> privval::PublicKey {
        self.public.clone()
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &*self.key.read().unwrap_or_else(|p| p.into_inner()) {
            Some(k) => k.sign(msg),
            None => Err(KeyError::Sealed(self.sealed().unwrap_or_default())),
        }
    }

    fn sealed(&self) -> Option<String> {
        let open = self.key.read().unwrap_or_else(|p| p.into_inner()).is_some();
        (!open).then(|| {
            format!(
                "sealed: {} of {} shares (vault key {}); custodians open it with `bulwark vault unseal`",
                self.have.load(Ordering::Relaxed),
                self.need,
                self.name
            )
        })
    }
}

impl KeyBackend for Arc<VaultKey> {
    fn public_key(&self) -> privval::PublicKey {
        self.as_ref().public_key()
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.as_ref().sign(msg)
    }

    fn sealed(&self) -> Option<String> {
        self.as_ref().sealed()
    }
}

/// A secret from the vault (a token's PIN), held in memory once the vault is open.
pub struct VaultSecret {
    name: String,
    value: RwLock<Option<Zeroizing<String>>>,
    have: Arc<AtomicUsize>,
    need: usize,
}

impl std::fmt::Debug for VaultSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultSecret")
            .field("name", &self.name)
            .field("open", &self.sealed().is_none())
            .finish()
    }
}

impl Pin for VaultSecret {
    fn read(&self) -> Result<Zeroizing<String>, KeyError> {
        match &*self.value.read().unwrap_or_else(|p| p.into_inner()) {
            Some(v) => Ok(v.clone()),
            None => Err(KeyError::Sealed(self.sealed().unwrap_or_default())),
        }
    }

    fn sealed(&self) -> Option<String> {
        let open = self
            .value
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_some();
        (!open).then(|| {
            format!(
                "sealed: {} of {} shares (vault secret {}); custodians open it with `bulwark vault unseal`",
                self.have.load(Ordering::Relaxed),
                self.need,
                self.name
            )
        })
    }
}

/// Why the vault keys could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SealedError {
    /// The vault file.
    #[error(transparent)]
    File(#[from] vault::file::FileError),
    /// A chain names an entry the vault does not hold.
    #[error("chain {chain}: the vault holds no consensus key {name} (it has: {have}); add it with `bulwark vault add --chain {name} --key FILE`")]
    NoEntry {
        /// Chain ID.
        chain: String,
        /// Entry name.
        name: String,
        /// What the vault holds.
        have: String,
    },
    /// A chain's PIN names a secret the vault does not hold.
    #[error("chain {chain}: the vault holds no secret {name} for the PKCS#11 PIN (it has: {have}); add it with `bulwark vault add-secret {name} PIN_FILE`")]
    NoSecret {
        /// Chain ID.
        chain: String,
        /// Entry name.
        name: String,
        /// What the vault holds.
        have: String,
    },
    /// The entry's public key does not parse.
    #[error("vault entry {0}: its public key is damaged")]
    BadPublic(String),
    /// The unseal link key.
    #[error("vault.link_key {path}: {reason}")]
    LinkKey {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The unseal address.
    #[error("vault.listen {addr}: {error}")]
    Listen {
        /// The address.
        addr: String,
        /// The error.
        error: std::io::Error,
    },
    /// Memory could not be locked or the process made undumpable.
    #[error("cannot protect the keys' memory ({0}); raise the memlock limit (systemd LimitMEMLOCK=infinity) or run with CAP_IPC_LOCK")]
    Memory(String),
}

/// The vault keys of every chain, and the channel that opens them.
#[derive(Debug)]
pub struct Sealed {
    keys: HashMap<String, Arc<VaultKey>>,
    /// Chain ID to the name of its key in the vault.
    chains: HashMap<String, String>,
    secrets: HashMap<String, Arc<VaultSecret>>,
    /// Chain ID to the name of its token PIN in the vault.
    pins: HashMap<String, String>,
    vault: VaultFile,
    have: Arc<AtomicUsize>,
}

impl Sealed {
    /// The key of chain `id`, when it is a vault key.
    pub fn key_for(&self, chain: &str) -> Option<Arc<VaultKey>> {
        self.chains
            .get(chain)
            .and_then(|n| self.keys.get(n))
            .cloned()
    }

    /// The token PIN of chain `id`, when it is in the vault.
    pub fn pin_for(&self, chain: &str) -> Option<Arc<VaultSecret>> {
        self.pins
            .get(chain)
            .and_then(|n| self.secrets.get(n))
            .cloned()
    }

    /// Every chain with something from the vault, and whether it is still sealed.
    fn chain_states(&self) -> Vec<(String, bool)> {
        let keys = self.chains.iter().map(|(c, n)| {
            (
                c.clone(),
                self.keys.get(n).is_none_or(|k| k.sealed().is_some()),
            )
        });
        let pins = self.pins.iter().map(|(c, n)| {
            (
                c.clone(),
                self.secrets.get(n).is_none_or(|k| k.sealed().is_some()),
            )
        });
        keys.chain(pins).collect()
    }

    fn all_open(&self) -> bool {
        self.chain_states().iter().all(|(_, sealed)| !sealed)
    }
}

/// Read the vault and make a sealed key for every chain whose key is `vault:NAME`.
pub fn prepare(config: &Config) -> Result<Option<Sealed>, SealedError> {
    let Some(vc) = &config.vault else {
        return Ok(None);
    };
    let vault = VaultFile::load(&vc.file)?;
    nix::sys::mman::mlockall(
        nix::sys::mman::MlockAllFlags::MCL_CURRENT | nix::sys::mman::MlockAllFlags::MCL_FUTURE,
    )
    .map_err(|e| SealedError::Memory(format!("mlockall: {e}")))?;
    let have = Arc::new(AtomicUsize::new(0));
    let mut keys = HashMap::new();
    let mut chains = HashMap::new();
    let mut secrets = HashMap::new();
    let mut pins = HashMap::new();
    let names = || {
        vault
            .entries
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for c in &config.chains {
        if let Some(name) = c.pkcs11.as_ref().and_then(|p| p.vault_pin()) {
            vault
                .entry(name)
                .filter(|e| e.kind == "secret")
                .ok_or_else(|| SealedError::NoSecret {
                    chain: c.id.clone(),
                    name: name.into(),
                    have: names(),
                })?;
            secrets.entry(name.to_string()).or_insert_with(|| {
                Arc::new(VaultSecret {
                    name: name.into(),
                    value: RwLock::new(None),
                    have: have.clone(),
                    need: vault.threshold,
                })
            });
            pins.insert(c.id.clone(), name.to_string());
        }
        let Some(name) = c.key.as_deref().and_then(vault_entry) else {
            continue;
        };
        let entry = vault
            .entry(name)
            .filter(|e| e.kind == "consensus_key")
            .ok_or_else(|| SealedError::NoEntry {
                chain: c.id.clone(),
                name: name.into(),
                have: names(),
            })?;
        let public = public_of(entry).ok_or_else(|| SealedError::BadPublic(name.into()))?;
        keys.entry(name.to_string()).or_insert_with(|| {
            Arc::new(VaultKey {
                name: name.into(),
                public,
                key: RwLock::new(None),
                have: have.clone(),
                need: vault.threshold,
            })
        });
        chains.insert(c.id.clone(), name.to_string());
    }
    Ok(Some(Sealed {
        keys,
        chains,
        secrets,
        pins,
        vault,
        have,
    }))
}

fn public_of(e: &vault::file::Entry) -> Option<privval::PublicKey> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(e.public_key.as_deref()?)
        .ok()?;
    match e.key_type.as_deref()? {
        "ed25519" => Some(privval::PublicKey::Ed25519(bytes)),
        "secp256k1" => Some(privval::PublicKey::Secp256k1(bytes)),
        _ => None,
    }
}

/// Listen for custodians until the vault opens or `shutdown` fires.
pub fn start(
    sealed: Sealed,
    config: &Config,
    metrics: &Metrics,
    shutdown: Shutdown,
) -> Result<std::thread::JoinHandle<()>, SealedError> {
    let vc = config.vault.as_ref().expect("prepare checked [vault]");
    let key = threshold::link::LinkKey::load(&vc.link_key).map_err(|e| SealedError::LinkKey {
        path: vc.link_key.display().to_string(),
        reason: e.to_string(),
    })?;
    let listener = TcpListener::bind(vc.listen).map_err(|error| SealedError::Listen {
        addr: vc.listen.to_string(),
        error,
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|error| SealedError::Listen {
            addr: vc.listen.to_string(),
            error,
        })?;
    metrics
        .vault_shares_needed
        .set(sealed.vault.threshold as i64);
    for (chain, _) in sealed.chain_states() {
        metrics
            .vault_sealed
            .get_or_create(&ChainLabels { chain })
            .set(1);
    }
    tracing::warn!(
        addr = %vc.listen,
        link_public_key = %key.public(),
        need = sealed.vault.threshold,
        "sealed: signing nothing until {} custodians run `bulwark vault unseal`",
        sealed.vault.threshold
    );
    let unsealer = Arc::new(Unsealer::new(key, Opening::new(sealed.vault.clone())));
    let sealed = Arc::new(sealed);
    let metrics = metrics.clone();
    let audit = config.audit_log.clone().map(audit::AuditLog::new);
    Ok(std::thread::Builder::new()
        .name("unseal".into())
        .spawn(move || loop {
            if shutdown.is_triggered() || sealed.all_open() {
                return;
            }
            match listener.accept() {
                Ok((stream, from)) => {
                    let _ = stream.set_nonblocking(false);
                    let (u, s, m, a) = (
                        unsealer.clone(),
                        sealed.clone(),
                        metrics.clone(),
                        audit.clone(),
                    );
                    std::thread::spawn(move || one(&u, &s, &m, a.as_ref(), stream, from));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => {
                    tracing::warn!("unseal listener: {e}");
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        })
        .expect("spawn the unseal thread"))
}

fn one(
    unsealer: &Unsealer,
    sealed: &Sealed,
    metrics: &Metrics,
    audit: Option<&audit::AuditLog>,
    stream: std::net::TcpStream,
    from: std::net::SocketAddr,
) {
    let outcome = match unsealer.serve(stream) {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(%from, "unseal connection failed: {e}");
            return;
        }
    };
    let record = |action: &str, detail: serde_json::Value| {
        if let Some(log) = audit {
            if let Err(e) = log.append(&outcome.custodian, action, detail, None) {
                tracing::error!("cannot write the audit log: {e}");
            }
        }
    };
    let r = &outcome.reply;
    if r.accepted {
        sealed.have.store(r.have, Ordering::Relaxed);
        metrics.vault_shares.set(r.have as i64);
        tracing::info!(custodian = %outcome.custodian, %from, have = r.have, need = r.need, "unseal share accepted");
        record(
            "vault.share",
            serde_json::json!({"vault": sealed.vault.id, "from": from.to_string(), "have": r.have, "need": r.need}),
        );
    } else {
        let reason = r.reason.clone().unwrap_or_default();
        let label = if reason.contains("not a custodian") {
            "unknown_custodian"
        } else if reason.contains("already counted") {
            "duplicate"
        } else if reason.contains("does not match") {
            "wrong_share"
        } else if reason.contains("signature") {
            "bad_signature"
        } else {
            "other"
        };
        metrics
            .vault_share_refusals
            .get_or_create(&ShareRefusalLabels {
                reason: label.into(),
            })
            .inc();
        tracing::warn!(custodian = %outcome.custodian, %from, "unseal share refused: {reason}");
        record(
            "vault.share_refused",
            serde_json::json!({"vault": sealed.vault.id, "from": from.to_string(), "reason": reason}),
        );
    }
    let Some(opened) = outcome.opened else {
        return;
    };
    for (name, key) in &sealed.keys {
        let entry = opened.vault().entry(name).expect("prepare found it");
        let soft = opened
            .decrypt(entry)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                SoftKey::parse(Path::new(&format!("vault:{name}")), &bytes)
                    .map_err(|e| e.to_string())
            });
        match soft {
            Ok(k) if k.public_key() == key.public => {
                *key.key.write().unwrap_or_else(|p| p.into_inner()) = Some(k);
            }
            Ok(_) => {
                tracing::error!(entry = %name, "the vault's key {name} does not match its public key; it stays sealed")
            }
            Err(e) => {
                tracing::error!(entry = %name, "cannot open vault key {name}: {e}; it stays sealed")
            }
        }
    }
    for (name, secret) in &sealed.secrets {
        let entry = opened.vault().entry(name).expect("prepare found it");
        match opened
            .decrypt(entry)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                std::str::from_utf8(&bytes)
                    .map(|t| Zeroizing::new(t.trim_end_matches(['\n', '\r']).to_string()))
                    .map_err(|_| "it is not text".to_string())
            }) {
            Ok(pin) => {
                *secret.value.write().unwrap_or_else(|p| p.into_inner()) = Some(pin);
            }
            Err(e) => {
                tracing::error!(entry = %name, "cannot open vault secret {name}: {e}; it stays sealed")
            }
        }
    }
    for (chain, sealed) in sealed.chain_states() {
        metrics
            .vault_sealed
            .get_or_create(&ChainLabels { chain })
            .set(i64::from(sealed));
    }
    tracing::warn!(vault = %sealed.vault.id, "vault opened: signing");
    record(
        "vault.opened",
        serde_json::json!({"vault": sealed.vault.id, "keys": sealed.keys.keys().collect::<Vec<_>>(), "secrets": sealed.secrets.keys().collect::<Vec<_>>()}),
    );
}

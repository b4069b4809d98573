//! Ed25519 keys in a PKCS#11 token (SoftHSM2, a YubiHSM 2, a cloud HSM): the signer
//! signs through the token with `CKM_EDDSA`, and the key never leaves it. Only keys the
//! token marks sensitive and not extractable are used. The PIN comes from a file or from
//! the vault (never the command line); with a vault PIN the key is sealed until the
//! custodians open the vault. A token that goes away fails each signature with a clear
//! error; the next signature opens a new session and logs in again, initializing the
//! module again when the token is gone from it (a remote module whose server restarted
//! comes back only that way). Every login goes to the key's login hook (the audit trail).

use super::{KeyBackend, KeyError};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// `[chain.pkcs11]`: the token and key a chain signs with.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pkcs11Config {
    /// The PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    /// The token's label.
    pub token: String,
    /// The key's label (`CKA_LABEL`).
    pub key: String,
    /// A file holding the user PIN (mode 0600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_file: Option<PathBuf>,
    /// The PIN from the vault, `vault:NAME`: a secret added with `bulwark vault
    /// add-secret NAME FILE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
}

impl Pkcs11Config {
    /// The vault secret holding the PIN, when `pin` names one.
    pub fn vault_pin(&self) -> Option<&str> {
        self.pin.as_deref().and_then(|p| p.strip_prefix("vault:"))
    }

    /// What is wrong with where the PIN comes from.
    pub fn pin_problem(&self) -> Option<String> {
        match (&self.pin_file, &self.pin) {
            (Some(_), Some(_)) => Some("set pin_file or pin, not both".into()),
            (None, None) => Some(
                "no PIN: set pin_file (a file of mode 0600) or pin = \"vault:NAME\" (a secret \
                 added with `bulwark vault add-secret`)"
                    .into(),
            ),
            (None, Some(p)) if self.vault_pin().is_none_or(str::is_empty) => Some(format!(
                "pin {p:?} is not vault:NAME; a PIN never goes in the config: put it in a \
                 file (pin_file) or in the vault (`bulwark vault add-secret`)"
            )),
            _ => None,
        }
    }
}

/// Where a token's PIN comes from.
pub trait Pin: Send + Sync + std::fmt::Debug {
    /// The PIN.
    fn read(&self) -> Result<Zeroizing<String>, KeyError>;
    /// Why the PIN cannot be had yet (a vault not opened).
    fn sealed(&self) -> Option<String> {
        None
    }
}

/// A PIN in a file of mode 0600.
#[derive(Debug)]
pub struct PinFile(pub PathBuf);

impl Pin for PinFile {
    fn read(&self) -> Result<Zeroizing<String>, KeyError> {
        read_pin(&self.0)
    }
}

/// Called after every login with why it happened (`start`, `unsealed`, `token back`).
pub type LoginHook = Box<dyn Fn(&str) + Send + Sync>;

/// The Ed25519 curve's OID, DER (`CKA_EC_PARAMS`).
const ED25519_OID: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];

/// A session logged in to the token, on the module's generation it was opened in.
struct Open {
    session: Session,
    handle: ObjectHandle,
    generation: u64,
}

/// A key in a token.
pub struct Pkcs11Key {
    config: Pkcs11Config,
    module: Arc<Module>,
    public: [u8; 32],
    pin: Arc<dyn Pin>,
    on_login: LoginHook,
    logged_in: AtomicBool,
    session: Mutex<Option<Open>>,
}

impl std::fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Key")
            .field("token", &self.config.token)
            .field("key", &self.config.key)
            .field("public", &hex::encode(self.public))
            .finish()
    }
}

fn token_err(c: &Pkcs11Config, what: &str, e: impl std::fmt::Display) -> KeyError {
    KeyError::Token(format!(
        "PKCS#11 token {:?} ({}): {what}: {e}",
        c.token,
        c.module.display()
    ))
}

/// Read the PIN file, refusing one that others can read.
pub fn read_pin(path: &Path) -> Result<Zeroizing<String>, KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::LoosePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io)?);
    Ok(Zeroizing::new(
        text.trim_end_matches(['\n', '\r']).to_string(),
    ))
}

/// Loaded PKCS#11 modules, one context per module: a module is initialized once per
/// process, however many chains use it.
#[derive(Debug, Default)]
pub struct Modules {
    loaded: Mutex<Vec<Arc<Module>>>,
}

impl Modules {
    /// The module of `c`, loading and initializing it the first time.
    pub fn context(&self, c: &Pkcs11Config) -> Result<Arc<Module>, KeyError> {
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = loaded.iter().find(|m| m.path == c.module) {
            return Ok(m.clone());
        }
        let ctx = Pkcs11::new(&c.module).map_err(|e| token_err(c, "cannot load the module", e))?;
        ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .map_err(|e| token_err(c, "cannot initialize the module", e))?;
        let m = Arc::new(Module {
            path: c.module.clone(),
            ctx,
            generation: AtomicU64::new(0),
            reset_at: Mutex::new(None),
        });
        loaded.push(m.clone());
        Ok(m)
    }
}

/// One loaded module. Its generation goes up each time it is initialized again; a
/// session from an older generation is gone.
#[derive(Debug)]
pub struct Module {
    path: PathBuf,
    ctx: Pkcs11,
    generation: AtomicU64,
    reset_at: Mutex<Option<Instant>>,
}

/// The shortest time between two initializations of one module.
const RESET_EVERY: Duration = Duration::from_secs(1);

impl Module {
    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Finalize and initialize the module again, at most once every `RESET_EVERY`: a
    /// token that is gone from it (a remote module whose server went away, a slot
    /// removed) shows again only after that. Every key of the module then opens a new
    /// session before its next signature.
    fn reset(&self, c: &Pkcs11Config) -> Result<(), KeyError> {
        let mut at = self.reset_at.lock().unwrap_or_else(|p| p.into_inner());
        if at.is_some_and(|t| t.elapsed() < RESET_EVERY) {
            return Ok(());
        }
        *at = Some(Instant::now());
        // Finalizing a module whose far end is gone may fail; initializing is what counts.
        let _ = self.ctx.clone().finalize();
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.ctx
            .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .map_err(|e| token_err(c, "cannot initialize the module again", e))
    }
}

/// Load the module and log in to the token named in `c` with the PIN from its file.
pub fn open(modules: &Modules, c: &Pkcs11Config) -> Result<(Arc<Module>, Session), KeyError> {
    let module = modules.context(c)?;
    let pin = PinFile(c.pin_file.clone().unwrap_or_default());
    let session = session(&module.ctx, c, Some(&pin))?;
    Ok((module, session))
}

/// A session on the token of `c`, logged in when a PIN is given.
fn session(ctx: &Pkcs11, c: &Pkcs11Config, pin: Option<&dyn Pin>) -> Result<Session, KeyError> {
    let slots = ctx
        .get_slots_with_token()
        .map_err(|e| token_err(c, "cannot list slots", e))?;
    let mut labels = Vec::new();
    let slot = slots
        .into_iter()
        .find(|s| {
            let label = ctx
                .get_token_info(*s)
                .map(|i| i.label().to_string())
                .unwrap_or_default();
            labels.push(label.clone());
            label == c.token
        })
        .ok_or_else(|| token_err(c, "no such token", format!("the module shows {labels:?}")))?;
    let s = ctx
        .open_rw_session(slot)
        .map_err(|e| token_err(c, "cannot open a session", e))?;
    let Some(pin) = pin else {
        return Ok(s);
    };
    let pin = pin.read()?;
    match s.login(UserType::User, Some(&AuthPin::new(pin.as_str().into()))) {
        // A login holds for every session of this process on the token (another chain's key).
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {
            Ok(s)
        }
        Err(e) => Err(token_err(c, "login failed (check the PIN)", e)),
    }
}

fn find(s: &Session, c: &Pkcs11Config, class: ObjectClass) -> Result<Vec<ObjectHandle>, KeyError> {
    s.find_objects(&[
        Attribute::Class(class),
        Attribute::KeyType(KeyType::EC_EDWARDS),
        Attribute::Label(c.key.as_bytes().to_vec()),
    ])
    .map_err(|e| token_err(c, "cannot search the token", e))
}

/// The private key (sensitive, not extractable) and its public key, logged in.
fn find_key(s: &Session, c: &Pkcs11Config) -> Result<(ObjectHandle, [u8; 32]), KeyError> {
    let private = find(s, c, ObjectClass::PRIVATE_KEY)?;
    let [handle] = private.as_slice() else {
        return Err(token_err(
            c,
            &format!("key {:?}", c.key),
            format!(
                "{} Ed25519 private keys have this label; exactly one is needed",
                private.len()
            ),
        ));
    };
    let attrs = s
        .get_attributes(
            *handle,
            &[AttributeType::Extractable, AttributeType::Sensitive],
        )
        .map_err(|e| token_err(c, "cannot read the key's attributes", e))?;
    for a in attrs {
        match a {
            Attribute::Extractable(true) => {
                return Err(token_err(
                    c,
                    &format!("key {:?}", c.key),
                    "it is extractable; use a key the token never lets out (CKA_EXTRACTABLE false)",
                ))
            }
            Attribute::Sensitive(false) => {
                return Err(token_err(
                    c,
                    &format!("key {:?}", c.key),
                    "it is not sensitive (CKA_SENSITIVE false)",
                ))
            }
            _ => {}
        }
    }
    Ok((*handle, find_public(s, c, true)?))
}

/// The key's public key; `logged_in` says whether the session could see private objects.
fn find_public(s: &Session, c: &Pkcs11Config, logged_in: bool) -> Result<[u8; 32], KeyError> {
    let public = find(s, c, ObjectClass::PUBLIC_KEY)?;
    let [pub_handle] = public.as_slice() else {
        let why = if logged_in {
            "the token holds no public key object with this label"
        } else {
            "without logging in (the PIN is in the vault, still sealed) the token shows no \
             public key object with this label; make the public key object public \
             (CKA_PRIVATE false, as `bulwark signer pkcs11 import` does) or keep the PIN in \
             a file"
        };
        return Err(token_err(c, &format!("key {:?}", c.key), why));
    };
    let point = s
        .get_attributes(*pub_handle, &[AttributeType::EcPoint])
        .map_err(|e| token_err(c, "cannot read the public key", e))?;
    let Some(Attribute::EcPoint(p)) = point.into_iter().next() else {
        return Err(token_err(c, "the public key", "it has no CKA_EC_POINT"));
    };
    // DER OCTET STRING (04 20 ..32 bytes..), or the raw 32 bytes some tokens return.
    let raw = match p.as_slice() {
        [0x04, 0x20, rest @ ..] if rest.len() == 32 => rest,
        rest if rest.len() == 32 => rest,
        _ => {
            return Err(token_err(
                c,
                "the public key",
                "CKA_EC_POINT is not an Ed25519 point",
            ))
        }
    };
    Ok(raw.try_into().expect("32 bytes"))
}

impl Pkcs11Key {
    /// Find the key. With a PIN at hand, log in now (and tell `on_login`); with a
    /// sealed PIN only the public key is read, and the first signature after the vault
    /// opens logs in.
    pub fn open(
        modules: &Modules,
        config: &Pkcs11Config,
        pin: Arc<dyn Pin>,
        on_login: LoginHook,
    ) -> Result<Pkcs11Key, KeyError> {
        let module = modules.context(config)?;
        let generation = module.generation();
        let (public, open) = if pin.sealed().is_some() {
            let s = session(&module.ctx, config, None)?;
            (find_public(&s, config, false)?, None)
        } else {
            let session = session(&module.ctx, config, Some(pin.as_ref()))?;
            let (handle, public) = find_key(&session, config)?;
            on_login("start");
            (
                public,
                Some(Open {
                    session,
                    handle,
                    generation,
                }),
            )
        };
        Ok(Pkcs11Key {
            config: config.clone(),
            module,
            public,
            logged_in: AtomicBool::new(open.is_some()),
            pin,
            on_login,
            session: Mutex::new(open),
        })
    }

    /// A new session, logged in; the module initialized again first if the token is
    /// not there.
    fn reopen(&self) -> Result<Open, KeyError> {
        let generation = self.module.generation();
        let session = match session(&self.module.ctx, &self.config, Some(self.pin.as_ref())) {
            Ok(s) => s,
            Err(first) => {
                self.module.reset(&self.config)?;
                if self.module.generation() == generation {
                    return Err(first);
                }
                session(&self.module.ctx, &self.config, Some(self.pin.as_ref()))?
            }
        };
        let (handle, public) = find_key(&session, &self.config)?;
        if public != self.public {
            return Err(token_err(
                &self.config,
                "the token shows another key under this label",
                hex::encode(public),
            ));
        }
        let why = if self.logged_in.swap(true, Ordering::SeqCst) {
            "token back"
        } else {
            "unsealed"
        };
        tracing::warn!(token = %self.config.token, key = %self.config.key, "PKCS#11 login ({why}): new session");
        (self.on_login)(why);
        Ok(Open {
            session,
            handle,
            generation: self.module.generation(),
        })
    }
}

impl KeyBackend for Pkcs11Key {
    fn public_key(&self) -> privval::PublicKey {
        privval::PublicKey::Ed25519(self.public.to_vec())
    }

    fn sealed(&self) -> Option<String> {
        self.pin
            .sealed()
            .map(|s| format!("{s} (the PIN of PKCS#11 token {:?})", self.config.token))
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        if let Some(why) = self.sealed() {
            return Err(KeyError::Sealed(why));
        }
        let mut g = self.session.lock().unwrap_or_else(|p| p.into_inner());
        // A session from before the module was initialized again is gone.
        if g.as_ref()
            .is_some_and(|o| o.generation != self.module.generation())
        {
            *g = None;
        }
        if g.is_none() {
            *g = Some(self.reopen()?);
        }
        let o = g.as_ref().expect("set above");
        match o.session.sign(
            &Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
            o.handle,
            msg,
        ) {
            Ok(sig) if sig.len() == 64 => Ok(sig),
            Ok(sig) => Err(token_err(
                &self.config,
                "sign",
                format!("a {}-byte signature", sig.len()),
            )),
            Err(e) if session_gone(&e) => {
                *g = None;
                Err(token_err(
                    &self.config,
                    "sign failed (the token may be gone; the next request tries a new session)",
                    e,
                ))
            }
            Err(e) => Err(token_err(&self.config, "sign failed", e)),
        }
    }
}

/// Whether `e` says the session or the token is gone (rather than that this request
/// failed): only then is a new session worth opening.
fn session_gone(e: &cryptoki::error::Error) -> bool {
    use cryptoki::error::{Error, RvError};
    matches!(
        e,
        Error::Pkcs11(
            RvError::GeneralError
                | RvError::DeviceError
                | RvError::DeviceMemory
                | RvError::DeviceRemoved
                | RvError::TokenNotPresent
                | RvError::TokenNotRecognized
                | RvError::SessionClosed
                | RvError::SessionHandleInvalid
                | RvError::ObjectHandleInvalid
                | RvError::KeyHandleInvalid
                | RvError::UserNotLoggedIn
                | RvError::CryptokiNotInitialized,
            _
        )
    )
}

/// Import an Ed25519 key into the token as a sensitive, non-extractable private key
/// with its public key, both labelled `c.key`. Returns the public key.
pub fn import(c: &Pkcs11Config, seed: &[u8; 32]) -> Result<[u8; 32], KeyError> {
    let (_module, s) = open(&Modules::default(), c)?;
    let label = Attribute::Label(c.key.as_bytes().to_vec());
    let existing = s
        .find_objects(std::slice::from_ref(&label))
        .map_err(|e| token_err(c, "cannot search the token", e))?;
    if !existing.is_empty() {
        return Err(token_err(
            c,
            &format!("key {:?}", c.key),
            "the token already holds objects with this label; nothing was imported",
        ));
    }
    let public = ed25519_dalek::SigningKey::from_bytes(seed)
        .verifying_key()
        .to_bytes();
    s.create_object(&[
        Attribute::Class(ObjectClass::PRIVATE_KEY),
        Attribute::KeyType(KeyType::EC_EDWARDS),
        Attribute::EcParams(ED25519_OID.to_vec()),
        Attribute::Value(seed.to_vec()),
        label.clone(),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
    ])
    .map_err(|e| token_err(c, "cannot create the private key", e))?;
    let mut point = vec![0x04, 0x20];
    point.extend_from_slice(&public);
    s.create_object(&[
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::KeyType(KeyType::EC_EDWARDS),
        Attribute::EcParams(ED25519_OID.to_vec()),
        Attribute::EcPoint(point),
        label,
        Attribute::Token(true),
        // Readable without logging in, so that a signer whose PIN is in the vault knows
        // its public key while sealed.
        Attribute::Private(false),
        Attribute::Verify(true),
    ])
    .map_err(|e| token_err(c, "cannot create the public key", e))?;
    Ok(public)
}

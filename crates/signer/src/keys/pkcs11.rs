//! Ed25519 keys in a PKCS#11 token (SoftHSM2, a YubiHSM 2, a cloud HSM): the signer
//! signs through the token with `CKM_EDDSA`, and the key never leaves it. Only keys the
//! token marks sensitive and not extractable are used. The PIN comes from a file (never
//! the command line). A token that goes away fails each signature with a clear error;
//! the next signature opens a new session and logs in again.

use super::{KeyBackend, KeyError};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
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
    pub pin_file: PathBuf,
}

/// The Ed25519 curve's OID, DER (`CKA_EC_PARAMS`).
const ED25519_OID: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];

/// A key in a token.
pub struct Pkcs11Key {
    config: Pkcs11Config,
    ctx: Pkcs11,
    public: [u8; 32],
    session: Mutex<Option<(Session, ObjectHandle)>>,
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
    loaded: Mutex<Vec<(PathBuf, Pkcs11)>>,
}

impl Modules {
    /// The context of `c.module`, loading and initializing it the first time.
    pub fn context(&self, c: &Pkcs11Config) -> Result<Pkcs11, KeyError> {
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, ctx)) = loaded.iter().find(|(m, _)| *m == c.module) {
            return Ok(ctx.clone());
        }
        let ctx = Pkcs11::new(&c.module).map_err(|e| token_err(c, "cannot load the module", e))?;
        ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .map_err(|e| token_err(c, "cannot initialize the module", e))?;
        loaded.push((c.module.clone(), ctx.clone()));
        Ok(ctx)
    }
}

/// Load the module and log in to the token named in `c`.
pub fn open(modules: &Modules, c: &Pkcs11Config) -> Result<(Pkcs11, Session), KeyError> {
    let ctx = modules.context(c)?;
    let session = session(&ctx, c)?;
    Ok((ctx, session))
}

fn session(ctx: &Pkcs11, c: &Pkcs11Config) -> Result<Session, KeyError> {
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
    let pin = read_pin(&c.pin_file)?;
    match s.login(UserType::User, Some(&AuthPin::new(pin.as_str().into()))) {
        // A login holds for every session of this process on the token (another chain's key).
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {
            Ok(s)
        }
        Err(e) => Err(token_err(c, "login failed (check the PIN file)", e)),
    }
}

fn find_key(s: &Session, c: &Pkcs11Config) -> Result<(ObjectHandle, [u8; 32]), KeyError> {
    let label = Attribute::Label(c.key.as_bytes().to_vec());
    let find = |class| {
        s.find_objects(&[
            Attribute::Class(class),
            Attribute::KeyType(KeyType::EC_EDWARDS),
            label.clone(),
        ])
        .map_err(|e| token_err(c, "cannot search the token", e))
    };
    let private = find(ObjectClass::PRIVATE_KEY)?;
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
    let public = find(ObjectClass::PUBLIC_KEY)?;
    let [pub_handle] = public.as_slice() else {
        return Err(token_err(
            c,
            &format!("key {:?}", c.key),
            "the token holds no public key object with this label",
        ));
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
    Ok((*handle, raw.try_into().expect("32 bytes")))
}

impl Pkcs11Key {
    /// Log in and find the key.
    pub fn open(modules: &Modules, config: &Pkcs11Config) -> Result<Pkcs11Key, KeyError> {
        let (ctx, s) = open(modules, config)?;
        let (handle, public) = find_key(&s, config)?;
        Ok(Pkcs11Key {
            config: config.clone(),
            ctx,
            public,
            session: Mutex::new(Some((s, handle))),
        })
    }
}

impl KeyBackend for Pkcs11Key {
    fn public_key(&self) -> privval::PublicKey {
        privval::PublicKey::Ed25519(self.public.to_vec())
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut g = self.session.lock().unwrap_or_else(|p| p.into_inner());
        if g.is_none() {
            let s = session(&self.ctx, &self.config)?;
            let (handle, public) = find_key(&s, &self.config)?;
            if public != self.public {
                return Err(token_err(
                    &self.config,
                    "the token came back with another key",
                    hex::encode(public),
                ));
            }
            tracing::warn!(token = %self.config.token, "PKCS#11 token back: new session, logged in");
            *g = Some((s, handle));
        }
        let (s, handle) = g.as_ref().expect("set above");
        match s.sign(
            &Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
            *handle,
            msg,
        ) {
            Ok(sig) if sig.len() == 64 => Ok(sig),
            Ok(sig) => Err(token_err(
                &self.config,
                "sign",
                format!("a {}-byte signature", sig.len()),
            )),
            Err(e) => {
                *g = None;
                Err(token_err(
                    &self.config,
                    "sign failed (the token may be gone; the next request tries a new session)",
                    e,
                ))
            }
        }
    }
}

/// Import an Ed25519 key into the token as a sensitive, non-extractable private key
/// with its public key, both labelled `c.key`. Returns the public key.
pub fn import(c: &Pkcs11Config, seed: &[u8; 32]) -> Result<[u8; 32], KeyError> {
    let (_ctx, s) = open(&Modules::default(), c)?;
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
        Attribute::Verify(true),
    ])
    .map_err(|e| token_err(c, "cannot create the public key", e))?;
    Ok(public)
}

//! The link key: this cosigner's X25519 static secret, and its key file.
//!
//! The file holds one line: the standard base64 of the 32-byte secret. It is created
//! with mode 0600 and refused when group or others may read it.

use super::{LinkError, LinkPublic};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand_core::{OsRng, RngCore};
use snow::params::DHChoice;
use snow::resolvers::{CryptoResolver, DefaultResolver};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use zeroize::Zeroizing;

/// What a key file should hold, for error messages.
const FORMAT: &str = "a link key file holds one line: the standard base64 of a 32-byte \
                      X25519 secret (44 characters)";

/// This cosigner's link key: an X25519 static secret, zeroized on drop.
pub struct LinkKey {
    secret: Zeroizing<[u8; 32]>,
    public: LinkPublic,
}

impl fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkKey")
            .field("public", &self.public.to_string())
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl LinkKey {
    /// A fresh random key.
    pub fn generate() -> LinkKey {
        let mut secret = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(&mut secret[..]);
        LinkKey::from_secret(secret)
    }

    fn from_secret(secret: Zeroizing<[u8; 32]>) -> LinkKey {
        let mut dh = DefaultResolver
            .resolve_dh(&DHChoice::Curve25519)
            .expect("snow's default resolver has X25519");
        dh.set(&secret[..]);
        let mut public = [0u8; 32];
        public.copy_from_slice(dh.pubkey());
        LinkKey {
            secret,
            public: LinkPublic(public),
        }
    }

    /// Load a key file, refusing one that group or others can read.
    pub fn load(path: &Path) -> Result<LinkKey, LinkError> {
        let file_err = |reason: String| LinkError::KeyFile {
            path: path.to_path_buf(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| file_err(e.to_string()))?;
        if !meta.is_file() {
            return Err(file_err("is not a regular file".into()));
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(LinkError::LoosePermissions {
                path: path.to_path_buf(),
                mode,
            });
        }
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| file_err(e.to_string()))?);
        let secret = parse(&bytes).map_err(|what| file_err(format!("{what}; {FORMAT}")))?;
        Ok(LinkKey::from_secret(secret))
    }

    /// Write this key to a new file `path` with mode 0600, refusing to overwrite an
    /// existing file; the file and its directory are synced before this returns.
    pub fn write_new(&self, path: &Path) -> Result<(), LinkError> {
        let file_err = |reason: String| LinkError::KeyFile {
            path: path.to_path_buf(),
            reason,
        };
        let mut text = Zeroizing::new(STANDARD.encode(&self.secret[..]));
        text.push('\n');
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| match e.kind() {
                ErrorKind::AlreadyExists => file_err(
                    "already exists; refusing to overwrite a link key (move the old file \
                     away first if it is really to be replaced)"
                        .into(),
                ),
                _ => file_err(e.to_string()),
            })?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| file_err(e.to_string()))?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| file_err(format!("syncing its directory: {e}")))
    }

    /// The public key, which peers pin.
    pub fn public(&self) -> LinkPublic {
        self.public
    }

    /// The secret, for the handshake.
    pub(crate) fn secret(&self) -> &[u8] {
        &self.secret[..]
    }
}

/// The secret in a key file's contents. Errors never quote the contents.
fn parse(bytes: &[u8]) -> Result<Zeroizing<[u8; 32]>, String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| "is not text".to_string())?
        .trim();
    if text.is_empty() {
        return Err("is empty".into());
    }
    if text.len() != 44 {
        return Err(format!("holds {} characters", text.len()));
    }
    let mut buf = Zeroizing::new([0u8; 33]);
    let n = STANDARD
        .decode_slice(text, &mut buf[..])
        .map_err(|_| "is not standard base64".to_string())?;
    if n != 32 {
        return Err(format!("decodes to {n} bytes"));
    }
    let mut secret = Zeroizing::new([0u8; 32]);
    secret.copy_from_slice(&buf[..32]);
    Ok(secret)
}

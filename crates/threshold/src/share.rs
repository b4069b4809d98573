//! A cosigner's share of one validator key, and its file.
//!
//! ```json
//! {"type":"bulwark/threshold-share-ed25519","version":1,"threshold":2,"total":3,"id":1,
//!  "group_public_key":"<base64 of the 32-byte Ed25519 public key>",
//!  "verifying_shares":{"1":"<hex 32>","2":"<hex 32>","3":"<hex 32>"},
//!  "signing_share":"<hex 32>"}
//! ```
//!
//! The group key is written as in `priv_validator_key.json`'s `pub_key.value`; verifying
//! shares are compressed points, the signing share a little-endian scalar. Ids run
//! 1..=total, as Horcrux numbers its shards. A file is checked whole as it loads: its
//! signing share must give its own verifying share, and every verifying share must lie on
//! one polynomial of degree threshold-1 whose value at 0 is the group key, so that any
//! `threshold` cosigners sign for that key.

use base64::Engine;
use frost_ed25519::keys::{KeyPackage, PublicKeyPackage, SigningShare, VerifyingShare};
use frost_ed25519::{Identifier, VerifyingKey};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

pub(crate) mod check;
mod file;

use check::{Inconsistency, Point};

/// The most shares a key is split into.
pub const MAX_TOTAL: u16 = 255;

/// A share file is a few KB; anything much bigger is not one.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// What to do about a damaged share file.
const RESTORE: &str = "The file is damaged or mixes shares of different splits: restore it from \
                       the copy kept at split time, or split the key again";

/// Why a share could not be read, checked or written.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    /// The file cannot be read or written.
    #[error("share file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Group or others may read the file.
    #[error(
        "share file {path} is readable by group or others (mode {mode:04o}); refusing to use it. \
         Run `chmod 600 {path}` and check who may have copied it"
    )]
    LoosePermissions {
        /// The file.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
    },
    /// `write_new` found a file in the way.
    #[error(
        "share file {path} already exists; refusing to overwrite it (it may be the only copy \
         of a share). Move it away first, or write to another path"
    )]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The contents are not a share file.
    #[error(
        "share file {path}: {reason}. Expected a Bulwark threshold share written by \
         `bulwark threshold split`"
    )]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Threshold, total or id are out of bounds.
    #[error("share file {path}: {reason}")]
    Parameters {
        /// The file.
        path: PathBuf,
        /// What is wrong, and what to do.
        reason: String,
    },
    /// The signing share does not give this id's verifying share.
    #[error(
        "share file {path}: its signing share does not match the verifying share of its id \
         {id}. {RESTORE}"
    )]
    WrongSigningShare {
        /// The file.
        path: PathBuf,
        /// The file's id.
        id: u16,
    },
    /// Some verifying shares are off the polynomial of the others.
    #[error(
        "share file {path}: the verifying shares do not lie on one polynomial of degree \
         {degree}: those of ids {ids:?} disagree with ids 1..={threshold}. {RESTORE}"
    )]
    NotOnPolynomial {
        /// The file.
        path: PathBuf,
        /// threshold - 1.
        degree: u16,
        /// The threshold.
        threshold: u16,
        /// The ids off the polynomial through ids 1..=threshold.
        ids: Vec<u16>,
    },
    /// The verifying shares agree, but not with the group key.
    #[error(
        "share file {path}: the verifying shares do not interpolate to the group public key. \
         {RESTORE}"
    )]
    GroupKeyMismatch {
        /// The file.
        path: PathBuf,
    },
}

impl ShareError {
    /// True when the operator gave the wrong file, a loose one or one in the way (exit 2);
    /// false for I/O failures and damaged files.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::LoosePermissions { .. }
                | Self::Exists { .. }
                | Self::Format { .. }
                | Self::Parameters { .. }
        )
    }
}

/// The FROST identifier of share `id` (1..=total, as Horcrux numbers its shards, and as
/// `frost_ed25519::keys::IdentifierList::Default` makes them).
///
/// # Panics
///
/// If `id` is 0, which no share has.
pub fn identifier(id: u16) -> Identifier {
    Identifier::try_from(id).expect("share ids start at 1")
}

/// A cosigner's share of one validator key. The signing share lives only in the key
/// package (frost's `SigningShare`, zeroized when the package drops); `Debug` prints
/// `<redacted>` for it.
pub struct Share {
    id: u16,
    total: u16,
    group_public_key: [u8; 32],
    key_package: KeyPackage,
    public: PublicKeyPackage,
}

impl std::fmt::Debug for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Share")
            .field("id", &self.id)
            .field("threshold", &self.threshold())
            .field("total", &self.total)
            .field("group_public_key", &hex::encode(self.group_public_key))
            .field("signing_share", &"<redacted>")
            .finish()
    }
}

/// Everything a share is checked on, decoded.
struct Parts<'a> {
    path: &'a Path,
    id: u16,
    threshold: u16,
    total: u16,
    group: [u8; 32],
    /// Ids 1..=total in order, with their encodings and points.
    verifying: Vec<(u16, [u8; 32], Point)>,
    signing: &'a SigningShare,
}

impl Share {
    /// Load a share file, refusing one that group or others can read.
    pub fn load(path: &Path) -> Result<Share, ShareError> {
        let io = |source| ShareError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(ShareError::LoosePermissions {
                path: path.to_path_buf(),
                mode,
            });
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(format_error(
                path,
                format!("it is {} bytes, far too big for a share", meta.len()),
            ));
        }
        // Room for the whole file up front, so that reading never reallocates (which would
        // leave a copy of the secret behind in freed memory).
        let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len() as usize + 1));
        file.take(MAX_FILE_BYTES)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        Self::parse(path, &bytes)
    }

    /// Parse and check share file contents (`path_for_errors` only names the file in
    /// errors).
    pub fn parse(path_for_errors: &Path, bytes: &[u8]) -> Result<Share, ShareError> {
        let path = path_for_errors;
        let text = std::str::from_utf8(bytes)
            .map_err(|_| format_error(path, "it is not UTF-8 text".into()))?;
        // serde_json's messages name a position or a field, never the secret's value.
        let f: file::FileIn = serde_json::from_str(text)
            .map_err(|e| format_error(path, format!("not a valid share file: {e}")))?;
        if f.kind != file::TYPE {
            return Err(format_error(
                path,
                format!("its type is {:?}, not {:?}", f.kind, file::TYPE),
            ));
        }
        if f.version != file::VERSION {
            return Err(format_error(
                path,
                format!(
                    "version {} is not one this Bulwark reads (it reads version {}); \
                     use the Bulwark release that wrote it",
                    f.version,
                    file::VERSION
                ),
            ));
        }
        check_parameters(path, f.threshold, f.total)?;
        check_id(path, f.id, f.total)?;

        let group = decode_group_key(path, &f.group_public_key)?;
        let verifying = decode_verifying_shares(path, f.total, &f.verifying_shares.0)?;

        let hex_secret = f.signing_share.0;
        let mut raw = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(hex_secret, &mut raw[..]).map_err(|_| {
            format_error(path, "signing_share is not 64 hex digits (32 bytes)".into())
        })?;
        let signing = Zeroizing::new(SigningShare::deserialize(&raw[..]).map_err(|_| {
            format_error(
                path,
                "signing_share is not a scalar below the group order".into(),
            )
        })?);
        Self::assemble(
            Parts {
                path,
                id: f.id,
                threshold: f.threshold,
                total: f.total,
                group,
                verifying,
                signing: &signing,
            },
            true,
        )
    }

    /// A share from frost's packages (as `keys::split` and a `KeyPackage::try_from` of its
    /// secret shares make them), checked as a loaded file is.
    pub fn from_parts(
        key_package: KeyPackage,
        public: PublicKeyPackage,
        total: u16,
    ) -> Result<Share, ShareError> {
        Self::from_parts_checked(key_package, public, total, true)
    }

    /// `from_parts`; `whole` = false skips the polynomial check, for the shares of one
    /// split whose shared public package has been checked once already.
    pub(crate) fn from_parts_checked(
        key_package: KeyPackage,
        public: PublicKeyPackage,
        total: u16,
        whole: bool,
    ) -> Result<Share, ShareError> {
        let path = Path::new("(new share)");
        let threshold = *key_package.min_signers();
        check_parameters(path, threshold, total)?;
        if public.min_signers().is_some_and(|t| t != threshold) {
            return Err(parameters(
                path,
                format!(
                    "the key package's threshold {threshold} differs from the public \
                     package's {:?}",
                    public.min_signers()
                ),
            ));
        }
        let id = (1..=total)
            .find(|i| identifier(*i) == *key_package.identifier())
            .ok_or_else(|| {
                parameters(
                    path,
                    format!("its identifier is none of the ids 1..={total}"),
                )
            })?;
        let bytes32 = |v: Result<Vec<u8>, frost_ed25519::Error>, what: &str| {
            v.ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| format_error(path, format!("{what} is not a 32-byte point")))
        };
        let group = bytes32(public.verifying_key().serialize(), "the group key")?;
        if key_package.verifying_key() != public.verifying_key() {
            return Err(ShareError::GroupKeyMismatch {
                path: path.to_path_buf(),
            });
        }
        let entries = public
            .verifying_shares()
            .iter()
            .map(|(ident, share)| {
                let id = (1..=total)
                    .find(|i| identifier(*i) == *ident)
                    .map_or_else(|| "?".to_string(), |i| i.to_string());
                Ok((
                    id,
                    hex::encode(bytes32(share.serialize(), "a verifying share")?),
                ))
            })
            .collect::<Result<Vec<_>, ShareError>>()?;
        let verifying = decode_verifying_shares(path, total, &entries)?;
        if *key_package.verifying_share() != VerifyingShare::from(*key_package.signing_share()) {
            return Err(ShareError::WrongSigningShare {
                path: path.to_path_buf(),
                id,
            });
        }
        let share = Self::assemble(
            Parts {
                path,
                id,
                threshold,
                total,
                group,
                verifying,
                signing: key_package.signing_share(),
            },
            whole,
        )?;
        // Keep the caller's packages (the same values assemble rebuilt).
        Ok(Share {
            key_package,
            public,
            ..share
        })
    }

    /// Check the parts and build the packages.
    fn assemble(p: Parts<'_>, whole: bool) -> Result<Share, ShareError> {
        let own = &p.verifying[usize::from(p.id) - 1];
        let from_secret = VerifyingShare::from(*p.signing).serialize().ok();
        if from_secret.as_deref() != Some(&own.1[..]) {
            return Err(ShareError::WrongSigningShare {
                path: p.path.to_path_buf(),
                id: p.id,
            });
        }
        let group_point = check::point(&p.group).ok_or_else(|| {
            format_error(
                p.path,
                "group_public_key is not a valid Ed25519 public key".into(),
            )
        })?;
        if whole {
            let points: Vec<(u16, Point)> = p.verifying.iter().map(|(i, _, y)| (*i, *y)).collect();
            match check::polynomial(p.threshold, &group_point, &points) {
                Ok(()) => {}
                Err(Inconsistency::OffPolynomial(ids)) => {
                    return Err(ShareError::NotOnPolynomial {
                        path: p.path.to_path_buf(),
                        degree: p.threshold - 1,
                        threshold: p.threshold,
                        ids,
                    })
                }
                Err(Inconsistency::GroupKey) => {
                    return Err(ShareError::GroupKeyMismatch {
                        path: p.path.to_path_buf(),
                    })
                }
            }
        }
        let invalid = |what: &str| format_error(p.path, format!("{what} is not a valid point"));
        let verifying_key =
            VerifyingKey::deserialize(&p.group).map_err(|_| invalid("group_public_key"))?;
        let shares = p
            .verifying
            .iter()
            .map(|(i, bytes, _)| {
                VerifyingShare::deserialize(bytes)
                    .map(|s| (identifier(*i), s))
                    .map_err(|_| invalid(&format!("verifying share {i}")))
            })
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        let own_share = shares[&identifier(p.id)];
        Ok(Share {
            id: p.id,
            total: p.total,
            group_public_key: p.group,
            key_package: KeyPackage::new(
                identifier(p.id),
                *p.signing,
                own_share,
                verifying_key,
                p.threshold,
            ),
            public: PublicKeyPackage::new(shares, verifying_key, Some(p.threshold)),
        })
    }

    /// Write this share to a new file `path` (mode 0600), synced with its directory.
    /// Refuses to overwrite anything.
    pub fn write_new(&self, path: &Path) -> Result<(), ShareError> {
        let io = |source| ShareError::Io {
            path: path.to_path_buf(),
            source,
        };
        let bytes = self.to_json();
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => ShareError::Exists {
                    path: path.to_path_buf(),
                },
                _ => io(e),
            })?;
        if let Err(e) = file.write_all(&bytes).and_then(|()| file.sync_all()) {
            drop(file);
            let _ = std::fs::remove_file(path);
            return Err(io(e));
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| ShareError::Io {
                path: dir.to_path_buf(),
                source: e,
            })
    }

    /// The file's contents, in zeroizing memory.
    fn to_json(&self) -> Zeroizing<Vec<u8>> {
        let secret = Zeroizing::new(self.key_package.signing_share().serialize());
        let mut secret_hex = Zeroizing::new([0u8; 64]);
        hex::encode_to_slice(&secret[..], &mut secret_hex[..]).expect("32 bytes make 64 digits");
        let verifying: Vec<(u16, String)> = self
            .public
            .verifying_shares()
            .iter()
            .map(|(ident, share)| {
                let id = (1..=self.total)
                    .find(|i| identifier(*i) == *ident)
                    .expect("checked ids");
                let bytes = share.serialize().expect("checked points");
                (id, hex::encode(bytes))
            })
            .collect();
        let group = base64::engine::general_purpose::STANDARD.encode(self.group_public_key);
        let out = file::FileOut {
            kind: file::TYPE,
            version: file::VERSION,
            threshold: self.threshold(),
            total: self.total,
            id: self.id,
            group_public_key: &group,
            verifying_shares: &verifying,
            signing_share: std::str::from_utf8(&secret_hex[..]).expect("hex is ASCII"),
        };
        // Room for everything up front: a reallocation would leave a copy of the secret
        // behind in freed memory.
        let room = 1024 + 100 * usize::from(self.total);
        let mut buf = Zeroizing::new(Vec::with_capacity(room));
        serde_json::to_writer_pretty(&mut *buf, &out).expect("a share serializes");
        buf.push(b'\n');
        debug_assert!(buf.capacity() == room, "the buffer grew");
        buf
    }

    /// This share's id, 1..=total.
    pub fn id(&self) -> u16 {
        self.id
    }

    /// How many shares sign.
    pub fn threshold(&self) -> u16 {
        *self.key_package.min_signers()
    }

    /// How many shares exist.
    pub fn total(&self) -> u16 {
        self.total
    }

    /// The validator's Ed25519 public key.
    pub fn group_public_key(&self) -> [u8; 32] {
        self.group_public_key
    }

    /// frost's key package: this id's signing and verifying shares and the group key.
    pub fn key_package(&self) -> &KeyPackage {
        &self.key_package
    }

    /// frost's public package: every id's verifying share and the group key.
    pub fn public_key_package(&self) -> &PublicKeyPackage {
        &self.public
    }
}

fn format_error(path: &Path, reason: String) -> ShareError {
    ShareError::Format {
        path: path.to_path_buf(),
        reason,
    }
}

fn parameters(path: &Path, reason: String) -> ShareError {
    ShareError::Parameters {
        path: path.to_path_buf(),
        reason,
    }
}

/// Threshold and total within bounds, with more than half the shares needed to sign.
pub(crate) fn parameter_problem(threshold: u16, total: u16) -> Option<String> {
    if total > MAX_TOTAL {
        return Some(format!(
            "{total} shares are more than the {MAX_TOTAL} supported"
        ));
    }
    if threshold < 2 {
        return Some(format!(
            "threshold {threshold} lets a single share sign alone; use at least 2"
        ));
    }
    if threshold > total {
        return Some(format!(
            "threshold {threshold} is more than the {total} shares, so nothing could sign"
        ));
    }
    if u32::from(threshold) * 2 <= u32::from(total) {
        return Some(format!(
            "threshold {threshold} of {total} is not more than half the shares: with \
             t <= n/2 two disjoint groups of cosigners could each sign a different block \
             (a double-sign). Use at least {} of {total}",
            total / 2 + 1
        ));
    }
    None
}

fn check_parameters(path: &Path, threshold: u16, total: u16) -> Result<(), ShareError> {
    match parameter_problem(threshold, total) {
        Some(reason) => Err(parameters(path, reason)),
        None => Ok(()),
    }
}

fn check_id(path: &Path, id: u16, total: u16) -> Result<(), ShareError> {
    if id == 0 || id > total {
        return Err(parameters(
            path,
            format!("its id {id} is not one of the ids 1..={total}"),
        ));
    }
    Ok(())
}

fn decode_group_key(path: &Path, b64: &str) -> Result<[u8; 32], ShareError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| format_error(path, "group_public_key is not base64".into()))?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
        format_error(
            path,
            format!("group_public_key is {} bytes, not 32", b.len()),
        )
    })?;
    if check::point(&bytes).is_none() {
        return Err(format_error(
            path,
            "group_public_key is not a valid Ed25519 public key (not a canonical point of \
             prime order)"
                .into(),
        ));
    }
    Ok(bytes)
}

/// `entries` (id as decimal text, hex point) as ids 1..=total in order, with their points.
fn decode_verifying_shares(
    path: &Path,
    total: u16,
    entries: &[(String, String)],
) -> Result<Vec<(u16, [u8; 32], Point)>, ShareError> {
    let mut found: BTreeMap<u16, ([u8; 32], Point)> = BTreeMap::new();
    for (key, value) in entries {
        let id = key
            .parse::<u16>()
            .ok()
            .filter(|i| (1..=total).contains(i) && i.to_string() == *key)
            .ok_or_else(|| {
                format_error(
                    path,
                    format!("verifying_shares has id {key:?}, not one of 1..={total}"),
                )
            })?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(value, &mut bytes).map_err(|_| {
            format_error(
                path,
                format!("verifying share {id} is not 64 hex digits (32 bytes)"),
            )
        })?;
        let point = check::point(&bytes).ok_or_else(|| {
            format_error(
                path,
                format!(
                    "verifying share {id} is not a valid point (not a canonical point of \
                     prime order)"
                ),
            )
        })?;
        if found.insert(id, (bytes, point)).is_some() {
            return Err(format_error(
                path,
                format!("verifying_shares has id {id} twice"),
            ));
        }
    }
    let missing: Vec<u16> = (1..=total).filter(|i| !found.contains_key(i)).collect();
    if !missing.is_empty() {
        return Err(format_error(
            path,
            format!("verifying_shares lacks ids {missing:?} (it needs every id 1..={total})"),
        ));
    }
    Ok(found.into_iter().map(|(i, (b, p))| (i, b, p)).collect())
}

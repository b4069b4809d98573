//! Importing a Horcrux (v3) threshold key: its shard files become Bulwark shares, its
//! sign states a guard state.
//!
//! Horcrux's trusted dealer (`tsed25519.DealShares` over the expanded Ed25519 secret)
//! makes Shamir shares `f(x)` of the secret scalar on a polynomial of degree t-1, shard `i`
//! at `x = i` (its `id`). FROST's `Identifier::try_from(i)` is the scalar `i`, and a FROST
//! signing share is the same kind of Shamir share of the same secret, so a shard's secret
//! is, unchanged, the FROST signing share of the identifier with its id; Ed25519 and FROST
//! agree on the group key `f(0)·B`. The expanded secret Horcrux shares is the clamped
//! scalar before reduction mod the group order, which changes nothing mod the order.
//!
//! Horcrux keeps no verifying shares (each cosigner's `f(i)·B`), which FROST needs for
//! every cosigner. They come from the shards: with all n shard files, each is `share·B`;
//! with fewer, from the polynomial through the given shares and, when that is too few
//! points, the group key (`f(0)·B`): with t-1 shard files (one, for 2 of n), the
//! polynomial through the group key and those shares fixes every verifying share.
//!
//! Before a share is returned the import is proven where it can be: the group key of the
//! shares is the key every shard names; with t or more shard files, the given shares lie
//! on one polynomial of degree t-1 through the group key, and every t of them (or groups
//! that between them use every share) make a FROST signature that `ed25519_dalek` accepts
//! under `verify_strict` for that key. With t-1 shard files nothing can be signed, and the
//! derived verifying shares are right exactly when the shard is: compare them between the
//! cosigners (`bulwark threshold show`), or import with all shard files once.

pub mod shard;
pub mod state;

use crate::share::{self, check, identifier, Share, ShareError};
use frost_ed25519::keys::{KeyPackage, PublicKeyPackage, VerifyingShare};
use frost_ed25519::{Ed25519Group, Group, VerifyingKey};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

pub use shard::Shard;

/// The message the import's self-check signs. The signatures never leave memory.
const CHECK_MESSAGE: &[u8] = b"bulwark threshold import-horcrux self-check";

/// A shard file is about 150 bytes; anything much bigger is not one.
const MAX_FILE_BYTES: u64 = 1 << 16;

/// Why Horcrux shards or states could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum HorcruxError {
    /// A file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Threshold and share count are out of bounds, or no shard was given.
    #[error("{0}")]
    Parameters(String),
    /// A file is not a Horcrux shard file.
    #[error(
        "{path}: {reason}. Expected a Horcrux Ed25519 shard file ({{chain}}_shard.json, \
         written by `horcrux create-ed25519-shards`)"
    )]
    Shard {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A shard's id is above the number of shares.
    #[error(
        "{path}: shard id {id} is above --shares {total}; pass the number of shards the key \
         was split into (`horcrux create-ed25519-shards --shards`)"
    )]
    IdAboveTotal {
        /// The file.
        path: PathBuf,
        /// Its id.
        id: u16,
        /// `--shares`.
        total: u16,
    },
    /// Two files hold the same id.
    #[error(
        "{first} and {second} are both shard {id}; pass each cosigner's shard once (the \
         shards of one key are cosigner_1/ .. cosigner_N/{{chain}}_shard.json)"
    )]
    DuplicateId {
        /// The id.
        id: u16,
        /// The first file with it.
        first: PathBuf,
        /// The second.
        second: PathBuf,
    },
    /// Shards of different validator keys.
    #[error(
        "{path} is a shard of validator key {key}, but {first_path} is one of {first_key}; \
         pass the shards of one key only"
    )]
    OtherKey {
        /// The odd file.
        path: PathBuf,
        /// Its key, base64, and address.
        key: String,
        /// The first file.
        first_path: PathBuf,
        /// The first file's key, base64, and address.
        first_key: String,
    },
    /// The shards' secrets do not fit together or with the key they name.
    #[error(
        "the shards {paths:?} do not lie on one polynomial of degree {degree} through their \
         public key{detail}: they are not all from one `horcrux create-ed25519-shards` run \
         of this key (every run makes a new polynomial), or one is damaged, or --threshold \
         is not the one they were made with. Pass the shards of one run and its threshold"
    )]
    Inconsistent {
        /// The files given.
        paths: Vec<PathBuf>,
        /// threshold - 1.
        degree: u16,
        /// Which ones are off, when known.
        detail: String,
    },
    /// Too few shard files to know every verifying share.
    #[error(
        "{given} shard file(s) cannot give the other cosigners' verifying shares with \
         --threshold {threshold}: pass all {total} shard files (or at least {need}); only \
         with threshold 2 does one shard and the public key fix the others"
    )]
    TooFew {
        /// Files given.
        given: usize,
        /// The threshold.
        threshold: u16,
        /// `--shares`.
        total: u16,
        /// threshold - 1.
        need: u16,
    },
    /// A made share failed its checks, or the self-check failed (nothing is returned).
    #[error("the import failed its self-check; nothing was written: {0}")]
    Check(String),
    /// A made share failed its checks (nothing is returned).
    #[error("the import made an inconsistent share; nothing was written: {0}")]
    Share(#[from] ShareError),
    /// A sign state file is not usable.
    #[error("{path}: {reason}")]
    State {
        /// The file.
        path: PathBuf,
        /// What is wrong, and what to do.
        reason: String,
    },
}

impl HorcruxError {
    /// True when the operator gave the wrong files or parameters (exit 2); false for I/O
    /// failures and failed self-checks.
    pub fn is_usage(&self) -> bool {
        !matches!(self, Self::Io { .. } | Self::Check(_) | Self::Share(_))
    }
}

/// The shares made from Horcrux shards.
#[derive(Debug)]
pub struct Imported {
    /// One share per shard given, in id order.
    pub shares: Vec<Share>,
    /// True when the verifying shares were derived from t-1 shards and the group key, so
    /// the shards could not be checked against each other or signed with.
    pub derived: bool,
    /// How many groups of t shares signed in the self-check (0 with fewer than t shards).
    pub signed_groups: usize,
}

/// Read and parse a shard file (its bytes kept in zeroizing memory).
pub fn load(path: &Path) -> Result<Shard, HorcruxError> {
    let io = |source| HorcruxError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len > MAX_FILE_BYTES {
        return Err(shard_error(
            path,
            format!("it is {len} bytes, far too big for a shard"),
        ));
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(len as usize + 1));
    file.take(MAX_FILE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    shard::parse(&bytes).map_err(|reason| shard_error(path, reason))
}

/// Turn Horcrux shards (with the files they came from, for messages) of a `threshold`-of-
/// `total` key into Bulwark shares, checked as the module describes.
pub fn import(
    shards: &[(PathBuf, Shard)],
    threshold: u16,
    total: u16,
) -> Result<Imported, HorcruxError> {
    if let Some(reason) = share::parameter_problem(threshold, total) {
        return Err(HorcruxError::Parameters(reason));
    }
    let Some((first_path, first)) = shards.first() else {
        return Err(HorcruxError::Parameters(
            "no shard file given; pass --shard for each Horcrux shard file to import".into(),
        ));
    };
    let mut by_id: BTreeMap<u16, &(PathBuf, Shard)> = BTreeMap::new();
    for entry in shards {
        let (path, s) = entry;
        if s.id > total {
            return Err(HorcruxError::IdAboveTotal {
                path: path.clone(),
                id: s.id,
                total,
            });
        }
        if s.public_key != first.public_key {
            return Err(HorcruxError::OtherKey {
                path: path.clone(),
                key: describe(&s.public_key),
                first_path: first_path.clone(),
                first_key: describe(&first.public_key),
            });
        }
        if let Some((other, _)) = by_id.insert(s.id, entry) {
            return Err(HorcruxError::DuplicateId {
                id: s.id,
                first: other.clone(),
                second: path.clone(),
            });
        }
    }
    let group = check::point(&first.public_key).ok_or_else(|| {
        shard_error(
            first_path,
            "pubKey is not a valid Ed25519 public key".into(),
        )
    })?;
    let given: Vec<(u16, check::Point)> = by_id
        .values()
        .map(|(_, s)| (s.id, Ed25519Group::generator() * s.secret.to_scalar()))
        .collect();
    let paths: Vec<PathBuf> = by_id.values().map(|(p, _)| p.clone()).collect();
    let t = usize::from(threshold);
    let (base, derived) = if given.len() >= t {
        match check::polynomial(threshold, &group, &given) {
            Ok(()) => {}
            Err(check::Inconsistency::OffPolynomial(ids)) => {
                let base: Vec<u16> = given[..t].iter().map(|(i, _)| *i).collect();
                return Err(HorcruxError::Inconsistent {
                    paths,
                    degree: threshold - 1,
                    detail: format!(" (shards {ids:?} are off the one through shards {base:?})"),
                });
            }
            Err(check::Inconsistency::GroupKey) => {
                return Err(HorcruxError::Inconsistent {
                    paths,
                    degree: threshold - 1,
                    detail: " (they agree with each other, not with the public key)".into(),
                });
            }
        }
        (given[..t].to_vec(), false)
    } else if given.len() + 1 == t {
        let mut base = vec![(0u16, group)];
        base.extend_from_slice(&given);
        (base, true)
    } else {
        return Err(HorcruxError::TooFew {
            given: given.len(),
            threshold,
            total,
            need: threshold - 1,
        });
    };

    let verifying_key = VerifyingKey::deserialize(&first.public_key)
        .map_err(|_| shard_error(first_path, "pubKey is not a valid point".into()))?;
    let mut verifying = BTreeMap::new();
    for x in 1..=total {
        let y = check::interpolate(&base, x);
        verifying.insert(identifier(x), VerifyingShare::new(y));
    }
    // The polynomial must give back every given share and the group key (by construction
    // when derived; a check of the arithmetic either way).
    for (x, y) in &given {
        if verifying[&identifier(*x)] != VerifyingShare::new(*y) {
            return Err(HorcruxError::Check(format!(
                "the verifying share of shard {x} is not its secret share times the base point"
            )));
        }
    }
    if check::interpolate(&base, 0) != group {
        return Err(HorcruxError::Check(
            "the shares do not interpolate to the public key".into(),
        ));
    }
    let public = PublicKeyPackage::new(verifying.clone(), verifying_key, Some(threshold));
    let mut out = Vec::with_capacity(by_id.len());
    for (id, (_, s)) in &by_id {
        let key_package = KeyPackage::new(
            identifier(*id),
            *s.secret,
            verifying[&identifier(*id)],
            verifying_key,
            threshold,
        );
        // The shared public package is checked whole once, with the first share.
        let whole = out.is_empty();
        out.push(Share::from_parts_checked(
            key_package,
            public.clone(),
            total,
            whole,
        )?);
    }
    for s in &out {
        if s.group_public_key() != first.public_key {
            return Err(HorcruxError::Check(format!(
                "share {}'s group key is not the shards' public key",
                s.id()
            )));
        }
    }
    let signed_groups = if derived {
        0
    } else {
        self_check(&out, threshold, &first.public_key)?
    };
    Ok(Imported {
        shares: out,
        derived,
        signed_groups,
    })
}

/// Every `threshold` of `shares` (or groups that between them use every share) sign, and
/// `ed25519_dalek` must accept each signature for `public`. Returns the groups signed.
fn self_check(shares: &[Share], threshold: u16, public: &[u8; 32]) -> Result<usize, HorcruxError> {
    let original = ed25519_dalek::VerifyingKey::from_bytes(public)
        .map_err(|_| HorcruxError::Check("the public key is not a valid Ed25519 key".into()))?;
    let n = u16::try_from(shares.len()).expect("at most 255 shares");
    let groups = crate::split::signing_groups(n, threshold);
    for group in &groups {
        let signers: Vec<&Share> = group.iter().map(|i| &shares[*i]).collect();
        let ids: Vec<u16> = signers.iter().map(|s| s.id()).collect();
        let signature = crate::split::sign(&signers, CHECK_MESSAGE)
            .map_err(|e| HorcruxError::Check(format!("shares {ids:?} could not sign: {e}")))?;
        original
            .verify_strict(CHECK_MESSAGE, &signature)
            .map_err(|e| {
                HorcruxError::Check(format!(
                    "the signature of shares {ids:?} does not verify under the public key: {e}"
                ))
            })?;
    }
    Ok(groups.len())
}

fn shard_error(path: &Path, reason: String) -> HorcruxError {
    HorcruxError::Shard {
        path: path.to_path_buf(),
        reason,
    }
}

/// An Ed25519 public key in base64 and its CometBFT address (the first 20 bytes of its
/// SHA-256).
fn describe(key: &[u8; 32]) -> String {
    use base64::Engine;
    use sha2::Digest;
    format!(
        "{} (address {})",
        base64::engine::general_purpose::STANDARD.encode(key),
        hex::encode_upper(&sha2::Sha256::digest(key)[..20])
    )
}

#[cfg(test)]
mod tests;

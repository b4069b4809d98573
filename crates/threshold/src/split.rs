//! Splitting an existing CometBFT Ed25519 key into t-of-n shares (trusted dealer).
//!
//! The Ed25519 secret scalar is derived as Ed25519 derives it (SHA-512 of the 32-byte
//! seed, first half clamped, reduced mod the group order) and shared with
//! `frost_ed25519::keys::split`, ids 1..=n. Before any share is returned the split is
//! proven: the group key is the key file's public key, and every `threshold` of the shares
//! (or, when there are too many such groups, groups that between them use every share)
//! make a FROST signature that `ed25519_dalek` accepts, under `verify_strict`, for the
//! original public key.

use crate::share::check::Scalar;
use crate::share::{self, identifier, Share, ShareError};
use frost_ed25519::keys::{IdentifierList, KeyPackage};
use frost_ed25519::rand_core::OsRng;
use frost_ed25519::{round1, round2, SigningKey, SigningPackage};
use sha2::{Digest, Sha256, Sha512};
use std::collections::BTreeMap;
use zeroize::Zeroizing;

/// The message the self-check signs. The signatures never leave memory.
const CHECK_MESSAGE: &[u8] = b"bulwark threshold split self-check";

/// Up to this many groups of `threshold` shares, every group signs in the self-check.
const ALL_GROUPS_UP_TO: u128 = 256;

const ED25519_PRIV: &str = "tendermint/PrivKeyEd25519";
const ED25519_PUB: &str = "tendermint/PubKeyEd25519";

/// Why a key could not be split.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    /// Threshold and share count are out of bounds.
    #[error("{0}")]
    Parameters(String),
    /// The key file is not a usable CometBFT Ed25519 key.
    #[error("key file: {0}. Expected a CometBFT priv_validator_key.json with an Ed25519 key")]
    Key(String),
    /// The key is not Ed25519.
    #[error(
        "key file holds a {0} key, which cannot be split: threshold signing here is FROST \
         over Ed25519. Keep a {0} key on a single signer (`bulwark signer`)"
    )]
    Unsupported(String),
    /// frost refused the split.
    #[error("frost could not split the key: {0}")]
    Frost(String),
    /// A made share failed its own checks (a bug: nothing was returned or written).
    #[error("the split made an inconsistent share; nothing was written: {0}")]
    Share(#[from] ShareError),
    /// The self-check failed (a bug: nothing was returned or written).
    #[error("the split failed its self-check; nothing was written: {0}")]
    Check(String),
}

impl SplitError {
    /// True for a wrong key file or parameters (exit 2); false when splitting itself
    /// failed.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::Parameters(_) | Self::Key(_) | Self::Unsupported(_)
        )
    }
}

/// Refuse a threshold below 2, one that is not more than half the shares (t <= n/2), or
/// more than 255 shares.
pub fn check_parameters(threshold: u16, total: u16) -> Result<(), SplitError> {
    match share::parameter_problem(threshold, total) {
        Some(reason) => Err(SplitError::Parameters(reason)),
        None => Ok(()),
    }
}

/// Split the Ed25519 key of a CometBFT `priv_validator_key.json` (its bytes) into `total`
/// shares with ids 1..=total, any `threshold` of which sign for the key.
pub fn split(key_file_bytes: &[u8], threshold: u16, total: u16) -> Result<Vec<Share>, SplitError> {
    check_parameters(threshold, total)?;
    let (seed, public) = read_key(key_file_bytes)?;
    let scalar = secret_scalar(&seed);
    drop(seed);
    let signing_key = SigningKey::from_scalar(*scalar)
        .map_err(|e| SplitError::Key(format!("its secret scalar is unusable ({e})")))?;
    drop(scalar);
    if frost_ed25519::VerifyingKey::from(&signing_key)
        .serialize()
        .ok()
        .as_deref()
        != Some(&public[..])
    {
        return Err(SplitError::Check(
            "the derived secret scalar does not give the key file's public key".into(),
        ));
    }

    let (secret_shares, public_package) = frost_ed25519::keys::split(
        &signing_key,
        total,
        threshold,
        IdentifierList::Default,
        &mut OsRng,
    )
    .map_err(|e| SplitError::Frost(e.to_string()))?;
    drop(signing_key);

    let mut shares = Vec::with_capacity(usize::from(total));
    for (id, secret_share) in secret_shares {
        // `try_from` checks the share against the dealer's commitment.
        let key_package =
            KeyPackage::try_from(secret_share).map_err(|e| SplitError::Frost(e.to_string()))?;
        if *key_package.identifier() != identifier(shares.len() as u16 + 1) {
            return Err(SplitError::Check(format!(
                "frost made the shares out of order (identifier {id:?})"
            )));
        }
        // The shared public package is checked whole once, with the first share.
        let whole = shares.is_empty();
        shares.push(Share::from_parts_checked(
            key_package,
            public_package.clone(),
            total,
            whole,
        )?);
    }
    if shares.len() != usize::from(total) {
        return Err(SplitError::Check(format!(
            "frost made {} shares, not {total}",
            shares.len()
        )));
    }
    for s in &shares {
        if s.group_public_key() != public {
            return Err(SplitError::Check(format!(
                "share {}'s group key is not the key file's public key",
                s.id()
            )));
        }
    }
    let original = ed25519_dalek::VerifyingKey::from_bytes(&public)
        .map_err(|_| SplitError::Key("its public key is not a valid Ed25519 point".into()))?;
    for group in signing_groups(total, threshold) {
        let signers: Vec<&Share> = group.iter().map(|i| &shares[*i]).collect();
        let ids: Vec<u16> = signers.iter().map(|s| s.id()).collect();
        let signature = sign(&signers, CHECK_MESSAGE)
            .map_err(|e| SplitError::Check(format!("shares {ids:?} could not sign: {e}")))?;
        original
            .verify_strict(CHECK_MESSAGE, &signature)
            .map_err(|e| {
                SplitError::Check(format!(
                    "the signature of shares {ids:?} does not verify under the original key: {e}"
                ))
            })?;
    }
    Ok(shares)
}

/// The key file's 32-byte seed and public key, checked against each other.
fn read_key(bytes: &[u8]) -> Result<(Zeroizing<[u8; 32]>, [u8; 32]), SplitError> {
    let k = privval::key_file::parse(bytes).map_err(|e| SplitError::Key(e.to_string()))?;
    match k.key_type.as_str() {
        ED25519_PRIV => {}
        "tendermint/PrivKeySecp256k1" => return Err(SplitError::Unsupported("secp256k1".into())),
        other => return Err(SplitError::Unsupported(other.to_string())),
    }
    if k.secret.len() != 64 {
        return Err(SplitError::Key(format!(
            "priv_key.value is {} bytes, not the 64 of an Ed25519 seed and public key",
            k.secret.len()
        )));
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    seed.copy_from_slice(&k.secret[..32]);
    let mut public = [0u8; 32];
    public.copy_from_slice(&k.secret[32..]);
    let derived = ed25519_dalek::SigningKey::from_bytes(&seed)
        .verifying_key()
        .to_bytes();
    if derived != public {
        return Err(SplitError::Key(
            "the public half of priv_key.value does not match its seed".into(),
        ));
    }
    if let Some(pub_key) = &k.public {
        let key_type = &pub_key.key_type;
        let value = pub_key
            .decode()
            .map_err(|e| SplitError::Key(e.to_string()))?;
        if key_type.as_deref().is_some_and(|t| t != ED25519_PUB) {
            return Err(SplitError::Key(format!(
                "pub_key.type is {key_type:?}, not {ED25519_PUB:?}"
            )));
        }
        if value[..] != public[..] {
            return Err(SplitError::Key(
                "pub_key.value does not match priv_key".into(),
            ));
        }
    }
    if let Some(address) = &k.address {
        let expected = hex::encode_upper(&Sha256::digest(public)[..20]);
        if !address.eq_ignore_ascii_case(&expected) {
            return Err(SplitError::Key(format!(
                "address {address} is not the address of its key ({expected})"
            )));
        }
    }
    Ok((seed, public))
}

/// The Ed25519 secret scalar of a seed: SHA-512 of the seed, first half clamped (RFC
/// 8032 section 5.1.5), reduced mod the group order (which keeps its public key and its
/// signatures).
fn secret_scalar(seed: &[u8; 32]) -> Zeroizing<Scalar> {
    let mut hash = Zeroizing::new([0u8; 64]);
    Sha512::new().chain_update(seed).finalize_into(
        sha2::digest::generic_array::GenericArray::from_mut_slice(&mut hash[..]),
    );
    let mut lower = Zeroizing::new([0u8; 32]);
    lower.copy_from_slice(&hash[..32]);
    lower[0] &= 248;
    lower[31] &= 127;
    lower[31] |= 64;
    Zeroizing::new(Scalar::from_bytes_mod_order(*lower))
}

/// One FROST signing round (commit, sign, aggregate) of `signers` over `msg`.
pub(crate) fn sign(signers: &[&Share], msg: &[u8]) -> Result<ed25519_dalek::Signature, String> {
    let mut nonces = BTreeMap::new();
    let mut commitments = BTreeMap::new();
    for s in signers {
        let (n, c) = round1::commit(s.key_package().signing_share(), &mut OsRng);
        let id = *s.key_package().identifier();
        nonces.insert(id, n);
        commitments.insert(id, c);
    }
    let package = SigningPackage::new(commitments, msg);
    let mut signature_shares = BTreeMap::new();
    for s in signers {
        let id = *s.key_package().identifier();
        let share =
            round2::sign(&package, &nonces[&id], s.key_package()).map_err(|e| e.to_string())?;
        signature_shares.insert(id, share);
    }
    let public = signers[0].public_key_package();
    let signature =
        frost_ed25519::aggregate(&package, &signature_shares, public).map_err(|e| e.to_string())?;
    let bytes = signature.serialize().map_err(|e| e.to_string())?;
    let bytes: [u8; 64] = bytes
        .try_into()
        .map_err(|_| "the signature is not 64 bytes".to_string())?;
    Ok(ed25519_dalek::Signature::from_bytes(&bytes))
}

/// The groups of `threshold` share indices (0-based) the self-check signs with: every
/// group when there are at most `ALL_GROUPS_UP_TO`, else consecutive groups (wrapping
/// around) that between them use every share.
pub(crate) fn signing_groups(total: u16, threshold: u16) -> Vec<Vec<usize>> {
    let (n, t) = (usize::from(total), usize::from(threshold));
    if binomial(n, t) <= ALL_GROUPS_UP_TO {
        let mut groups = Vec::new();
        let mut group: Vec<usize> = (0..t).collect();
        loop {
            groups.push(group.clone());
            // The next combination in lexicographic order.
            let Some(i) = (0..t).rev().find(|&i| group[i] != i + n - t) else {
                return groups;
            };
            group[i] += 1;
            for j in i + 1..t {
                group[j] = group[j - 1] + 1;
            }
        }
    }
    (0..n.div_ceil(t))
        .map(|g| (0..t).map(|k| (g * t + k) % n).collect())
        .collect()
}

/// n choose k, saturating.
fn binomial(n: usize, k: usize) -> u128 {
    (0..k).fold(1u128, |acc, i| {
        acc.saturating_mul((n - i) as u128) / (i as u128 + 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scalar_is_the_one_ed25519_signs_with() {
        for seed in [[0u8; 32], [7u8; 32], [0xff; 32]] {
            let ours = secret_scalar(&seed);
            let dalek = ed25519_dalek::SigningKey::from_bytes(&seed).to_scalar();
            assert_eq!(ours.to_bytes(), dalek.to_bytes());
        }
    }

    #[test]
    fn every_group_signs_while_there_are_few() {
        assert_eq!(
            signing_groups(3, 2),
            vec![vec![0, 1], vec![0, 2], vec![1, 2]]
        );
        assert_eq!(signing_groups(5, 3).len(), 10);
        assert_eq!(signing_groups(7, 4).len(), 35);
        assert_eq!(binomial(10, 6), 210);
        // 7 of 12 has 792 groups: a few consecutive ones cover every share.
        let groups = signing_groups(12, 7);
        assert_eq!(
            groups,
            vec![vec![0, 1, 2, 3, 4, 5, 6], vec![7, 8, 9, 10, 11, 0, 1]]
        );
        assert!(binomial(255, 128) > ALL_GROUPS_UP_TO);
    }
}

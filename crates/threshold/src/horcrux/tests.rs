//! Shards made as Horcrux makes them (Shamir shares of the secret scalar at x = id),
//! through frost's dealer for the polynomial; the real binary's files are tested in
//! `crates/bulwark/tests/threshold_horcrux.rs`.

use super::*;
use frost_ed25519::keys::IdentifierList;
use frost_ed25519::rand_core::OsRng;
use frost_ed25519::SigningKey;

/// The shards of a fresh key, t of n, and the key's public bytes.
fn deal(threshold: u16, total: u16) -> (Vec<(PathBuf, Shard)>, [u8; 32]) {
    let key = SigningKey::new(&mut OsRng);
    let (secret, _) =
        frost_ed25519::keys::split(&key, total, threshold, IdentifierList::Default, &mut OsRng)
            .unwrap();
    let public: [u8; 32] = VerifyingKey::from(&key)
        .serialize()
        .unwrap()
        .try_into()
        .unwrap();
    let shards = (1..=total)
        .map(|id| {
            let s = &secret[&identifier(id)];
            (
                PathBuf::from(format!("cosigner_{id}/c_shard.json")),
                Shard {
                    id,
                    public_key: public,
                    secret: Zeroizing::new(*s.signing_share()),
                },
            )
        })
        .collect();
    (shards, public)
}

fn take(shards: &[(PathBuf, Shard)], ids: &[u16]) -> Vec<(PathBuf, Shard)> {
    ids.iter()
        .map(|id| {
            let (p, s) = &shards[usize::from(*id) - 1];
            (
                p.clone(),
                Shard {
                    id: s.id,
                    public_key: s.public_key,
                    secret: Zeroizing::new(*s.secret),
                },
            )
        })
        .collect()
}

#[test]
fn all_shards_import_and_sign_for_the_key() {
    let (shards, public) = deal(2, 3);
    let imported = import(&shards, 2, 3).unwrap();
    assert!(!imported.derived);
    assert_eq!(imported.signed_groups, 3);
    assert_eq!(imported.shares.len(), 3);
    for (i, s) in imported.shares.iter().enumerate() {
        assert_eq!(s.id(), i as u16 + 1);
        assert_eq!(s.group_public_key(), public);
    }
}

#[test]
fn one_shard_with_threshold_two_gives_the_same_verifying_shares() {
    let (shards, _) = deal(2, 3);
    let all = import(&shards, 2, 3).unwrap();
    for id in 1..=3u16 {
        let one = import(&take(&shards, &[id]), 2, 3).unwrap();
        assert!(one.derived);
        assert_eq!(one.signed_groups, 0);
        assert_eq!(
            one.shares[0].public_key_package(),
            all.shares[0].public_key_package()
        );
    }
    // Three of five with two shards: t - 1 also fixes the polynomial with the key.
    let (shards, _) = deal(3, 5);
    let all = import(&shards, 3, 5).unwrap();
    let two = import(&take(&shards, &[2, 5]), 3, 5).unwrap();
    assert_eq!(
        two.shares[0].public_key_package(),
        all.shares[0].public_key_package()
    );
}

#[test]
fn too_few_shards_for_the_threshold_are_refused() {
    let (shards, _) = deal(3, 5);
    let e = import(&take(&shards, &[1]), 3, 5).unwrap_err();
    assert!(matches!(e, HorcruxError::TooFew { .. }), "{e}");
    assert!(e.to_string().contains("pass all 5 shard files"), "{e}");
    assert!(e.is_usage());
}

#[test]
fn shards_of_another_key_or_another_split_are_refused() {
    let (a, _) = deal(2, 3);
    let (b, _) = deal(2, 3);
    let mut mixed = take(&a, &[1, 2]);
    mixed.extend(take(&b, &[3]));
    let e = import(&mixed, 2, 3).unwrap_err();
    assert!(matches!(e, HorcruxError::OtherKey { .. }), "{e}");
    assert!(e.to_string().contains("cosigner_3/c_shard.json"), "{e}");

    // Same key, another split: shard 3's public key is right, its secret off the line.
    let mut other_split = take(&b, &[3]);
    other_split[0].1.public_key = a[0].1.public_key;
    let mut mixed = take(&a, &[1, 2]);
    mixed.extend(other_split);
    let e = import(&mixed, 2, 3).unwrap_err();
    assert!(matches!(e, HorcruxError::Inconsistent { .. }), "{e}");
    assert!(e.to_string().contains("shards [3] are off"), "{e}");
    assert!(e.is_usage());

    // Two shards of one split claiming another key.
    let mut lying = take(&b, &[1, 2]);
    for (_, s) in &mut lying {
        s.public_key = a[0].1.public_key;
    }
    let e = import(&lying, 2, 3).unwrap_err();
    assert!(e.to_string().contains("not with the public key"), "{e}");
}

#[test]
fn bad_ids_and_parameters_are_refused() {
    let (shards, _) = deal(2, 3);
    let e = import(&shards, 2, 2).unwrap_err();
    assert!(e.is_usage(), "{e}");
    let e = import(&take(&shards, &[3]), 2, 2).unwrap_err();
    assert!(matches!(e, HorcruxError::IdAboveTotal { id: 3, .. }), "{e}");
    let mut twice = take(&shards, &[1]);
    twice.extend(take(&shards, &[1]));
    let e = import(&twice, 2, 3).unwrap_err();
    assert!(matches!(e, HorcruxError::DuplicateId { id: 1, .. }), "{e}");
    let e = import(&[], 2, 3).unwrap_err();
    assert!(matches!(e, HorcruxError::Parameters(_)), "{e}");
    let e = import(&shards, 1, 3).unwrap_err();
    assert!(matches!(e, HorcruxError::Parameters(_)), "{e}");
}

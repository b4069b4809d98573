//! The store's safety nets: a zeroed slot, a replaced or removed file.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use guard::slots::SLOT_SIZE;
use guard::{Hrs, Request, SignState, StateStore, Step, StoreError};

const CHAIN: &str = "safety-chain";

fn signed(height: i64, data: u8) -> SignState {
    let sign_bytes = vec![data, 1, 2, 3];
    let unstamped = vec![data, 1, 2, 0];
    SignState::signed(
        &Request {
            chain_id: CHAIN,
            hrs: Hrs::new(height, 0, Step::Prevote),
            sign_bytes: &sign_bytes,
            unstamped: &unstamped,
        },
        vec![0x55; 64],
    )
}

/// A store that has written `records` records after creation.
fn store_with(dir: &Path, records: i64) -> (StateStore, PathBuf) {
    let path = dir.join("chain.state");
    let mut store = StateStore::create(&path, &SignState::initial(CHAIN)).unwrap();
    for h in 1..=records {
        store.persist(&signed(h, h as u8)).unwrap();
    }
    (store, path)
}

fn zero_slot(path: &Path, slot: usize) {
    let file = OpenOptions::new().write(true).open(path).unwrap();
    file.write_all_at(&[0u8; SLOT_SIZE], (slot * SLOT_SIZE) as u64)
        .unwrap();
}

#[test]
fn a_new_file_with_one_empty_slot_is_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = store_with(dir.path(), 0);
    drop(store);
    let parsed = guard::parse_state_file(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(parsed.damage, None);
    StateStore::open(&path, CHAIN).expect("a fresh file opens");
}

#[test]
fn a_zeroed_slot_beside_a_later_record_refuses_to_open_until_repaired() {
    for (records, zeroed) in [(1, 0), (2, 1)] {
        let dir = tempfile::tempdir().unwrap();
        // records = 1: seq 2 in B, A (seq 1) zeroed; records = 2: seq 3 in A, B zeroed.
        let (store, path) = store_with(dir.path(), records);
        let kept = store.state().clone();
        let seq = store.sequence();
        drop(store);
        zero_slot(&path, zeroed);

        let parsed = guard::parse_state_file(&std::fs::read(&path).unwrap()).unwrap();
        let damage = parsed.damage.clone().expect("damage reported");
        assert!(damage.zeroed && damage.slot == zeroed, "{damage:?}");
        assert_eq!(parsed.state, kept);

        let err = StateStore::open(&path, CHAIN).expect_err("refused");
        assert!(matches!(err, StoreError::ZeroedSlot { .. }), "{err:?}");
        let (z, k) = if zeroed == 0 { ('A', 'B') } else { ('B', 'A') };
        let text = err.to_string();
        for part in [
            format!("sign-state file {} is damaged", path.display()),
            format!(
                "slot {z} is all zero beside slot {k} (sequence {seq}, {})",
                kept.hrs()
            ),
            "something zeroed this one".into(),
            "the signer refuses to start with it".into(),
            format!(
                "bulwark signer state repair --state {} --chain-id {CHAIN}",
                path.display()
            ),
            "bulwark signer state set --height H".into(),
        ] {
            assert!(text.contains(&part), "{text} lacks {part}");
        }

        // The repair confirms the record the operator saw.
        let err = StateStore::repair(&path, CHAIN, seq + 7).expect_err("stale confirmation");
        assert!(matches!(err, StoreError::RepairChanged { .. }), "{err}");
        let (store, damage) = StateStore::repair(&path, CHAIN, seq).unwrap();
        assert_eq!(damage.slot, zeroed);
        assert_eq!(store.state(), &kept);
        assert_eq!(store.sequence(), seq + 1);
        drop(store);

        let parsed = guard::parse_state_file(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(parsed.damage, None);
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        assert_eq!(parsed.slot, zeroed);
        let (store, _) = StateStore::open(&path, CHAIN).expect("healthy after repair");
        assert_eq!(store.state(), &kept);
        drop(store);
        let err = StateStore::repair(&path, CHAIN, seq + 1).expect_err("healthy");
        assert!(matches!(err, StoreError::NothingToRepair { .. }), "{err}");
    }
}

#[test]
fn a_removed_state_file_stops_all_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = store_with(dir.path(), 5);
    std::fs::remove_file(&path).unwrap();
    let err = store.persist(&signed(6, 6)).expect_err("removed");
    assert!(matches!(err, StoreError::Replaced { .. }), "{err:?}");
    let text = err.to_string();
    for part in [
        format!(
            "sign-state file {} was removed or renamed while this signer held it",
            path.display()
        ),
        "the last record this signer wrote is at height 5 round 0 step prevote".into(),
        "it signs nothing more for this chain".into(),
        "no signature was released".into(),
        "bulwark signer state set".into(),
    ] {
        assert!(text.contains(&part), "{text} lacks {part}");
    }
    assert_eq!(store.state(), &signed(5, 5), "the state did not move");
    // Even with a file back at the path, the store stays stopped.
    StateStore::create(&path, &SignState::initial(CHAIN)).unwrap();
    let err = store.persist(&signed(7, 7)).expect_err("poisoned");
    assert!(matches!(err, StoreError::Poisoned { .. }), "{err:?}");
    assert!(err.to_string().contains("was removed or renamed"), "{err}");
}

#[test]
fn a_state_file_replaced_under_the_store_is_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = store_with(dir.path(), 5);
    let other = dir.path().join("other.state");
    drop(StateStore::create(&other, &SignState::floor(CHAIN, 2)).unwrap());
    std::fs::rename(&other, &path).unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = store.persist(&signed(6, 6)).expect_err("replaced");
    assert!(
        err.to_string()
            .contains("was replaced by another file while this signer held it"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the new file is untouched"
    );
    let err = store
        .set_allow_lower(&SignState::floor(CHAIN, 1))
        .expect_err("poisoned");
    assert!(matches!(err, StoreError::Poisoned { .. }), "{err:?}");
}

#[test]
fn a_state_file_reached_through_a_symlink_is_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let (store, real) = store_with(dir.path(), 1);
    drop(store);
    let link = dir.path().join("link.state");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let (mut store, _) = StateStore::open(&link, CHAIN).unwrap();
    store
        .persist(&signed(2, 2))
        .expect("a symlink names the locked file");
}

//! The durable sign-state store, in temporary directories.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use guard::slots::{self, FILE_SIZE, SLOT_SIZE};
use guard::{Decision, Hrs, Limits, Request, SignState, StateStore, Step, StoreError};

const CHAIN: &str = "store-chain";

fn signed(height: i64, round: i32, step: Step, data: u8) -> SignState {
    let sign_bytes = vec![data, 1, 2, 3];
    let unstamped = vec![data, 1, 2, 0];
    SignState::signed(
        &Request {
            chain_id: CHAIN,
            hrs: Hrs::new(height, round, step),
            sign_bytes: &sign_bytes,
            unstamped: &unstamped,
        },
        vec![0x55; 64],
    )
}

fn new_store(dir: &Path) -> (StateStore, PathBuf) {
    let path = dir.join("state.bin");
    let store = StateStore::create(&path, &SignState::initial(CHAIN)).expect("create");
    (store, path)
}

fn corrupt(path: &Path, offset: usize, bytes: &[u8]) {
    let file = OpenOptions::new().write(true).open(path).expect("open");
    file.write_all_at(bytes, offset as u64).expect("write");
}

fn expect_corrupt(path: &Path, fragment: &str) {
    let err = StateStore::open(path, CHAIN).expect_err("should be corrupt");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("is corrupt"), "{text}");
    assert!(text.contains(fragment), "{text} lacks {fragment}");
    assert!(text.contains("refuses to start"), "{text}");
    assert!(text.contains("bulwark signer state import"), "{text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
}

#[test]
fn roundtrip_through_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = new_store(dir.path());
    assert_eq!(std::fs::metadata(&path).unwrap().len(), FILE_SIZE as u64);
    assert_eq!(store.sequence(), 1);
    let states = [
        signed(1, 0, Step::Propose, 1),
        signed(1, 0, Step::Prevote, 2),
        signed(1, 0, Step::Precommit, 3),
        signed(2, 1, Step::Prevote, 4),
    ];
    for s in &states {
        store.persist(s).unwrap();
        assert_eq!(store.state(), s);
    }
    assert_eq!(store.sequence(), 5);
    drop(store);
    let (store, warnings) = StateStore::open(&path, CHAIN).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(store.state(), &states[3]);
    assert_eq!(store.sequence(), 5);
    assert_eq!(store.path(), path.as_path());
}

#[test]
fn persisting_the_same_state_again_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = new_store(dir.path());
    let s = signed(3, 0, Step::Prevote, 1);
    store.persist(&s).unwrap();
    store.persist(&s).unwrap();
    assert_eq!(store.sequence(), 2);
}

#[test]
fn record_persists_before_returning_the_signature() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = new_store(dir.path());
    let req = Request {
        chain_id: CHAIN,
        hrs: Hrs::new(9, 0, Step::Precommit),
        sign_bytes: &[1, 2, 3],
        unstamped: &[1, 2, 0],
    };
    let Decision::Sign(permit) = store.decide(&Limits::default(), &req) else {
        panic!("expected Sign")
    };
    let signature = store.record(permit, vec![7; 64]).unwrap();
    assert_eq!(signature, vec![7; 64]);
    let on_disk = slots::parse_state_file(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(on_disk.state, SignState::signed(&req, vec![7; 64]));
    assert!(matches!(
        store.decide(&Limits::default(), &req),
        Decision::ReturnStored { .. }
    ));
}

#[test]
fn create_refuses_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = new_store(dir.path());
    drop(store);
    let err = StateStore::create(&path, &SignState::initial(CHAIN)).unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err:?}");
    assert!(err.to_string().contains("already exists"));
    // The existing file is untouched and no temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("state.bin")]);
}

#[test]
fn open_of_missing_file_says_how_to_create_one() {
    let dir = tempfile::tempdir().unwrap();
    let err = StateStore::open(dir.path().join("nope.bin"), CHAIN).unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("bulwark signer state import"));
}

#[test]
fn torn_newest_slot_falls_back_to_the_older_record() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = new_store(dir.path());
    let older = signed(5, 0, Step::Prevote, 1);
    let newer = signed(5, 0, Step::Precommit, 2);
    store.persist(&older).unwrap(); // seq 2, slot B
    store.persist(&newer).unwrap(); // seq 3, slot A
    drop(store);
    // Tear the newest record (slot A) half way through its payload.
    corrupt(&path, slots::HEADER_SIZE + 10, &[0xFF; 40]);
    let (store, warnings) = StateStore::open(&path, CHAIN).unwrap();
    assert_eq!(store.state(), &older);
    assert_eq!(store.sequence(), 2);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("slot A is damaged"), "{}", warnings[0]);
    assert!(warnings[0].contains("raise the floor"), "{}", warnings[0]);
}

#[test]
fn next_write_after_fallback_goes_to_the_damaged_slot() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = new_store(dir.path());
    store.persist(&signed(5, 0, Step::Prevote, 1)).unwrap(); // slot B
    drop(store);
    corrupt(&path, 0, b"garbage!"); // slot A loses its magic
    let (mut store, warnings) = StateStore::open(&path, CHAIN).unwrap();
    assert_eq!(warnings.len(), 1);
    let next = signed(6, 0, Step::Propose, 2);
    store.persist(&next).unwrap();
    drop(store);
    let (store, warnings) = StateStore::open(&path, CHAIN).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(store.state(), &next);
}

#[test]
fn both_slots_corrupt_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = new_store(dir.path());
    store.persist(&signed(5, 0, Step::Prevote, 1)).unwrap();
    drop(store);
    corrupt(&path, 30, &[0xAB; 8]);
    corrupt(&path, SLOT_SIZE + 30, &[0xAB; 8]);
    expect_corrupt(&path, "checksum does not match");
}

#[test]
fn never_completed_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zero.bin");
    std::fs::write(&path, vec![0u8; FILE_SIZE]).unwrap();
    expect_corrupt(&path, "never written");
}

#[test]
fn truncated_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = new_store(dir.path());
    store.persist(&signed(5, 0, Step::Prevote, 1)).unwrap();
    drop(store);
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len((SLOT_SIZE + 100) as u64)
        .unwrap();
    expect_corrupt(&path, "expected 8192");
}

#[test]
fn overlong_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = new_store(dir.path());
    drop(store);
    corrupt(&path, FILE_SIZE, b"x");
    expect_corrupt(&path, "expected 8192");
}

#[test]
fn empty_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.bin");
    std::fs::write(&path, b"").unwrap();
    expect_corrupt(&path, "the file is empty");
}

#[test]
fn unknown_format_version_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = new_store(dir.path());
    drop(store);
    corrupt(&path, 8, &7u32.to_le_bytes());
    expect_corrupt(&path, "format version 7");
}

#[test]
fn second_open_fails_while_the_lock_is_held() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = new_store(dir.path());
    let err = StateStore::open(&path, CHAIN).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "another signer process holds the lock on {}; two signers on one state could double-sign. Stop the other process first.",
            path.display()
        )
    );
    drop(store);
    let (first, _) = StateStore::open(&path, CHAIN).expect("open after the holder is gone");
    assert!(matches!(
        StateStore::open(&path, CHAIN),
        Err(StoreError::Locked { .. })
    ));
    drop(first);
}

#[test]
fn wrong_chain_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = new_store(dir.path());
    drop(store);
    let err = StateStore::open(&path, "other-chain").unwrap_err();
    assert!(matches!(err, StoreError::WrongChain { .. }), "{err:?}");
    assert!(err.to_string().contains("belongs to chain `store-chain`"));
}

#[test]
fn lowering_is_refused_unless_explicit() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = new_store(dir.path());
    let high = signed(10, 2, Step::Prevote, 1);
    store.persist(&high).unwrap();
    for lower in [
        signed(9, 5, Step::Precommit, 1),
        signed(10, 1, Step::Precommit, 1),
        signed(10, 2, Step::Propose, 1),
        SignState::initial(CHAIN),
    ] {
        let err = store.persist(&lower).unwrap_err();
        assert!(matches!(err, StoreError::Regression { .. }), "{err:?}");
        assert!(err.to_string().contains("bulwark signer state set"));
        assert_eq!(store.state(), &high);
    }
    let err = store.persist(&signed(10, 2, Step::Prevote, 2)).unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");

    let floor = SignState::floor(CHAIN, 3);
    store.set_allow_lower(&floor).unwrap();
    assert_eq!(store.state(), &floor);
    drop(store);
    let (store, _) = StateStore::open(&path, CHAIN).unwrap();
    assert_eq!(store.state(), &floor);
}

#[test]
fn state_of_another_chain_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = new_store(dir.path());
    let mut other = signed(10, 0, Step::Prevote, 1);
    other.chain_id = "other".into();
    assert!(matches!(
        store.persist(&other),
        Err(StoreError::ChainMismatch { .. })
    ));
    assert!(matches!(
        store.set_allow_lower(&other),
        Err(StoreError::ChainMismatch { .. })
    ));
}

#[test]
fn oversized_record_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = new_store(dir.path());
    let mut big = signed(10, 0, Step::Prevote, 1);
    big.sign_bytes = vec![1; SLOT_SIZE];
    let err = store.persist(&big).unwrap_err();
    assert!(matches!(err, StoreError::TooLarge { .. }), "{err:?}");
    assert_eq!(store.sequence(), 1);
}

#[test]
fn invalid_initial_state_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err =
        StateStore::create(dir.path().join("s.bin"), &SignState::floor(CHAIN, -5)).unwrap_err();
    assert!(matches!(err, StoreError::InvalidState { .. }), "{err:?}");
    assert!(!dir.path().join("s.bin").exists());
}

#[test]
fn complete_adds_the_signature_to_a_share_record_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut store, path) = new_store(dir.path());
    let mut share = signed(5, 0, Step::Prevote, 7);
    share.signature.clear();
    store.persist(&share).expect("persist share record");
    // Other sign bytes: nothing written.
    assert!(!store.complete(&[9, 9], vec![1; 64]).expect("complete"));
    assert!(store.state().signature.is_empty());
    // The record's own sign bytes: the signature is added and durable.
    assert!(store
        .complete(&share.sign_bytes, vec![0x55; 64])
        .expect("complete"));
    assert_eq!(store.state(), &signed(5, 0, Step::Prevote, 7));
    drop(store);
    let (mut store, _) = StateStore::open(&path, CHAIN).expect("reopen");
    assert_eq!(store.state(), &signed(5, 0, Step::Prevote, 7));
    // A record that already holds a signature is left alone.
    assert!(!store
        .complete(&share.sign_bytes, vec![0x66; 64])
        .expect("complete"));
    assert_eq!(store.state().signature, vec![0x55; 64]);
}

//! Property tests of the signer loop built from the guard and the store:
//! decide -> (if Sign) build the new state -> persist -> release.
//!
//! Whatever the sequence of requests (duplicates, timestamp-only changes,
//! conflicting data from redundant nodes) and crashes (before persisting,
//! between persisting and replying, in the middle of a slot write), no two
//! released signatures share a height/round/step over different data, every
//! released signature is on disk first, and the persisted state never goes
//! back.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::FileExt;
use std::path::Path;

use guard::slots::SLOT_SIZE;
use guard::{Decision, Hrs, Limits, Request, SignState, StateStore, Step, StoreError};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

const CHAIN: &str = "prop-chain";

/// Where a request lands, relative to the persisted state or anywhere.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// A random position in a small range (mostly regressions once the
    /// state has moved on).
    At(Hrs),
    /// Exactly the persisted position (a node re-asking, or a redundant
    /// node asking for the same step with other data).
    Stored,
    /// The next step (or the next round after a precommit).
    NextStep,
    /// Propose in the next round.
    NextRound,
    /// Propose at the next height.
    NextHeight,
}

/// Where the process dies while handling a request.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Crash {
    No,
    /// After signing, before persisting.
    BeforePersist,
    /// After persisting, before replying.
    AfterPersist,
}

#[derive(Clone, Debug)]
enum Op {
    /// A sign request: target position, block data variant, timestamp.
    Request {
        target: Target,
        data: u8,
        ts: u8,
        crash: Crash,
    },
    /// The process dies in the middle of writing a slot: `len` bytes of
    /// `fill` land in the slot being written.
    TornWrite { len: usize, fill: u8 },
    /// A clean restart.
    Restart,
}

fn hrs_strategy() -> impl Strategy<Value = Hrs> {
    (1i64..=4, 0i32..=2, 1u8..=3).prop_map(|(h, r, s)| {
        let step = match s {
            1 => Step::Propose,
            2 => Step::Prevote,
            _ => Step::Precommit,
        };
        Hrs::new(h, r, step)
    })
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let target = prop_oneof![
        3 => hrs_strategy().prop_map(Target::At),
        3 => Just(Target::Stored),
        3 => Just(Target::NextStep),
        1 => Just(Target::NextRound),
        1 => Just(Target::NextHeight),
    ];
    let crash = prop_oneof![
        8 => Just(Crash::No),
        1 => Just(Crash::BeforePersist),
        1 => Just(Crash::AfterPersist),
    ];
    prop_oneof![
        10 => (target, 0u8..3, 0u8..3, crash)
            .prop_map(|(target, data, ts, crash)| Op::Request { target, data, ts, crash }),
        1 => (1usize..SLOT_SIZE, any::<u8>()).prop_map(|(len, fill)| Op::TornWrite { len, fill }),
        1 => Just(Op::Restart),
    ]
}

fn resolve(target: Target, stored: Hrs) -> Hrs {
    let next_round = Hrs::new(stored.height.max(1), stored.round + 1, Step::Propose);
    match target {
        Target::At(hrs) => hrs,
        Target::Stored if stored.height >= 1 => stored,
        Target::Stored => Hrs::new(1, 0, Step::Propose),
        Target::NextStep => match stored.step {
            _ if stored.height < 1 => Hrs::new(1, 0, Step::Propose),
            Step::Initial => Hrs::new(stored.height, stored.round, Step::Propose),
            Step::Propose => Hrs::new(stored.height, stored.round, Step::Prevote),
            Step::Prevote => Hrs::new(stored.height, stored.round, Step::Precommit),
            Step::Precommit => next_round,
        },
        Target::NextRound => next_round,
        Target::NextHeight => Hrs::new(stored.height + 1, 0, Step::Propose),
    }
}

/// Sign bytes embed the position, the data and the timestamp; the
/// unstamped form zeroes the timestamp byte.
fn message(hrs: Hrs, data: u8, ts: u8) -> (Vec<u8>, Vec<u8>) {
    let mut bytes = hrs.height.to_le_bytes().to_vec();
    bytes.extend_from_slice(&hrs.round.to_le_bytes());
    bytes.push(hrs.step.as_cometbft());
    bytes.push(data);
    let mut unstamped = bytes.clone();
    bytes.push(ts + 1);
    unstamped.push(0);
    (bytes, unstamped)
}

fn unstamp(sign_bytes: &[u8]) -> Vec<u8> {
    let mut out = sign_bytes.to_vec();
    if let Some(last) = out.last_mut() {
        *last = 0;
    }
    out
}

fn fake_sign(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

fn reopen(path: &Path) -> StateStore {
    let (store, _warnings) = StateStore::open(path, CHAIN).expect("reopen");
    store
}

struct World {
    /// Released signatures by position: the unstamped data they cover.
    released: HashMap<Hrs, HashSet<Vec<u8>>>,
    /// The highest persisted position seen so far.
    high_water: Hrs,
}

impl World {
    fn check_persisted(&mut self, store: &StateStore) -> Result<(), TestCaseError> {
        let now = store.state().hrs();
        prop_assert!(
            now >= self.high_water,
            "persisted state went back from {} to {}",
            self.high_water,
            now
        );
        self.high_water = now;
        Ok(())
    }

    fn release(
        &mut self,
        store: &StateStore,
        hrs: Hrs,
        signature: &[u8],
        sign_bytes: &[u8],
    ) -> Result<(), TestCaseError> {
        let expected = fake_sign(sign_bytes);
        prop_assert_eq!(signature, expected.as_slice());
        prop_assert!(
            store.state().hrs() >= hrs,
            "released {} before it was persisted",
            hrs
        );
        let set = self.released.entry(hrs).or_default();
        set.insert(unstamp(sign_bytes));
        prop_assert!(
            set.len() == 1,
            "two signatures over different data at {}",
            hrs
        );
        Ok(())
    }
}

/// One request through the loop; `crash` says where the process dies.
fn handle(
    store: &mut StateStore,
    world: &mut World,
    hrs: Hrs,
    data: u8,
    ts: u8,
    crash: Crash,
) -> Result<(), TestCaseError> {
    let (sign_bytes, unstamped) = message(hrs, data, ts);
    let req = Request {
        chain_id: CHAIN,
        hrs,
        sign_bytes: &sign_bytes,
        unstamped: &unstamped,
    };
    match store.decide(&Limits::default(), &req) {
        Decision::Sign(permit) => {
            let signature = fake_sign(permit.sign_bytes());
            if crash == Crash::BeforePersist {
                return Ok(());
            }
            let signature = store.record(permit, signature).map_err(|e| {
                TestCaseError::fail(format!(
                    "the guard allowed {hrs} but the store refused: {e}"
                ))
            })?;
            world.check_persisted(store)?;
            if crash == Crash::AfterPersist {
                return Ok(());
            }
            world.release(store, hrs, &signature, &sign_bytes)?;
        }
        Decision::ReturnStored {
            signature,
            sign_bytes: stored,
        } => {
            prop_assert_eq!(unstamp(&stored), unstamped);
            if crash == Crash::No {
                world.release(store, hrs, &signature, &stored)?;
            }
        }
        Decision::Refuse(_) => {}
    }
    Ok(())
}

/// Writes `len` bytes of `fill` into the slot the next persist would use,
/// as a write torn by a crash would.
fn tear(path: &Path, len: usize, fill: u8) {
    let bytes = std::fs::read(path).expect("read state file");
    let parsed = guard::parse_state_file(&bytes).expect("valid before tearing");
    let victim = 1 - parsed.slot;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open for tearing");
    file.write_all_at(&vec![fill; len], (victim * SLOT_SIZE) as u64)
        .expect("tear");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn no_conflicting_signatures_and_no_regression(ops in prop::collection::vec(op_strategy(), 1..60)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.bin");
        let mut store = StateStore::create(&path, &SignState::initial(CHAIN)).expect("create");
        let mut world = World {
            released: HashMap::new(),
            high_water: store.state().hrs(),
        };
        for op in ops {
            match op {
                Op::Request { target, data, ts, crash } => {
                    let hrs = resolve(target, store.state().hrs());
                    handle(&mut store, &mut world, hrs, data, ts, crash)?;
                    if crash != Crash::No {
                        drop(store);
                        store = reopen(&path);
                    }
                }
                Op::TornWrite { len, fill } => {
                    let before = store.state().clone();
                    let seq = store.sequence();
                    drop(store);
                    tear(&path, len, fill);
                    store = match StateStore::open(&path, CHAIN) {
                        Ok((store, _)) => store,
                        // Zeros over the whole record of the older slot:
                        // refused until the operator confirms the newest.
                        Err(StoreError::ZeroedSlot { seq: found, .. }) => {
                            prop_assert_eq!(found, seq);
                            StateStore::repair(&path, CHAIN, seq).expect("repair").0
                        }
                        Err(e) => return Err(TestCaseError::fail(format!("reopen after a torn write: {e}"))),
                    };
                    prop_assert_eq!(store.state(), &before);
                }
                Op::Restart => {
                    drop(store);
                    store = reopen(&path);
                }
            }
            world.check_persisted(&store)?;
        }
    }

    #[test]
    fn decide_never_signs_at_or_below_the_stored_position(
        stored in hrs_strategy(),
        requested in hrs_strategy(),
        data in 0u8..3,
        ts in 0u8..3,
        stored_data in 0u8..3,
    ) {
        let (sb, us) = message(stored, stored_data, 0);
        let state = SignState::signed(
            &Request { chain_id: CHAIN, hrs: stored, sign_bytes: &sb, unstamped: &us },
            fake_sign(&sb),
        );
        let (sign_bytes, unstamped) = message(requested, data, ts);
        let req = Request { chain_id: CHAIN, hrs: requested, sign_bytes: &sign_bytes, unstamped: &unstamped };
        match guard::decide(&state, &Limits::default(), &req) {
            Decision::Sign(_) => prop_assert!(requested > stored),
            Decision::ReturnStored { signature, sign_bytes } => {
                prop_assert_eq!(requested, stored);
                prop_assert_eq!(data, stored_data);
                prop_assert_eq!(sign_bytes, sb);
                prop_assert_eq!(signature, fake_sign(&state.sign_bytes));
            }
            Decision::Refuse(_) => {
                prop_assert!(requested < stored || (requested == stored && data != stored_data));
            }
        }
    }
}

fn limits_strategy() -> impl Strategy<Value = Limits> {
    (
        prop::option::of(0i64..400),
        prop::option::of(0i64..3_000),
        prop::option::of(0i64..60),
        prop::option::of(0i64..2_000),
    )
        .prop_map(
            |(floor_height, max_height, max_height_jump, chain_tip)| Limits {
                floor_height,
                max_height,
                max_height_jump,
                chain_tip,
            },
        )
}

/// A request height: a step near the stored height, or anywhere.
fn height_strategy() -> impl Strategy<Value = (bool, i64)> {
    prop_oneof![
        3 => (Just(true), -3i64..120),
        1 => (Just(false), 1i64..3_000),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// With any limits (changing between requests, as a chain tip does), no
    /// request is signed further above the last signed height than the
    /// jump bound unless the chain tip in force allows it.
    #[test]
    fn nothing_is_signed_above_the_jump_bound_without_a_tip_that_allows_it(
        start in 0i64..1_000,
        steps in prop::collection::vec(
            (limits_strategy(), height_strategy(), 0i32..3, 1u8..=3, 0u8..3),
            1..40,
        ),
    ) {
        let mut state = SignState::floor(CHAIN, start);
        for (limits, (relative, h), round, step, data) in steps {
            let height = if relative { (state.height + h).max(1) } else { h };
            let step = match step {
                1 => Step::Propose,
                2 => Step::Prevote,
                _ => Step::Precommit,
            };
            let hrs = Hrs::new(height, round, step);
            let (sign_bytes, unstamped) = message(hrs, data, 0);
            let req = Request { chain_id: CHAIN, hrs, sign_bytes: &sign_bytes, unstamped: &unstamped };
            if let Decision::Sign(permit) = guard::decide(&state, &limits, &req) {
                if let Some(jump) = limits.max_height_jump {
                    let from_state = height <= state.height.saturating_add(jump);
                    let from_tip = limits
                        .chain_tip
                        .is_some_and(|t| height <= t.saturating_add(jump));
                    prop_assert!(
                        from_state || from_tip,
                        "signed {} from {} with jump {} and tip {:?}",
                        height, state.height, jump, limits.chain_tip
                    );
                }
                let signature = fake_sign(permit.sign_bytes());
                state = permit.into_state(signature);
            }
        }
    }
}

//! Arbitrary bytes as a Cosmos SDK ABCI query answer: as the protobuf value of every
//! query the watch makes, and as the JSON `response` object around it. The watch may
//! call it garbage, never panic, and never accept data about another validator, a vote
//! by another voter, or a slashing window that allows more misses than it has blocks.

#![no_main]

use libfuzzer_sys::fuzz_target;
use watch::decoders::{sdk_abci, sdk_proto, sdk_proto_slow};

const CONS: &str = "cosmosvalcons12f3epkqest9nn2l0vfnqjs55sdqvh8zkey7h42";
const VALOPER: &str = "cosmosvaloper1q374dg5e2z2w05kpxn4vueh9wmvnvhlpxehlzg";

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = sdk_abci::classify("/x", &v);
    }
    let _ = sdk_proto::legacy_dec(data, "x");
    let _ = sdk_proto::upgrade_plan(data);
    if let Ok(p) = sdk_proto::slashing_params(data) {
        assert!(p.signed_blocks_window > 0);
        assert!(p.allowed_missed_blocks <= p.signed_blocks_window);
    }
    if let Ok(i) = sdk_proto::signing_info(data, CONS) {
        assert_eq!(i.address, CONS);
    }
    if let Ok(val) = sdk_proto::validator(data, VALOPER) {
        assert_eq!(val.operator_address, VALOPER);
        assert!(val.status.starts_with("BOND_STATUS_"));
    }
    let _ = sdk_proto_slow::proposals(data);
    let _ = sdk_proto_slow::vote(data, "cosmos1x");
    let _ = sdk_proto_slow::balance(data, "uatom");
    if let Ok(p) = sdk_proto_slow::staking_params(data) {
        assert!(p.max_validators > 0);
    }
    let _ = sdk_proto_slow::validators(data);
});

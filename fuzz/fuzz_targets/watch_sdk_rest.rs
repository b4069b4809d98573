//! Arbitrary bytes as a Cosmos SDK REST answer (with an arbitrary HTTP status), read
//! as every query the watch makes, and as a bech32 address: the watch may call it
//! garbage, never panic, and never accept data about another validator, a balance of
//! another denomination, or a slashing window that allows more misses than it has
//! blocks.

#![no_main]

use libfuzzer_sys::fuzz_target;
use watch::bech32;
use watch::decoders::GovApi;
use watch::decoders::{sdk_rest, sdk_rest_slow, sdk_source};

const CONS: &str = "cosmosvalcons12f3epkqest9nn2l0vfnqjs55sdqvh8zkey7h42";
const VALOPER: &str = "cosmosvaloper1q374dg5e2z2w05kpxn4vueh9wmvnvhlpxehlzg";

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok((hrp, bytes)) = bech32::decode(s) {
            assert_eq!(bech32::decode(&bech32::encode(&hrp, &bytes)), Ok((hrp, bytes)));
        }
    }
    let Some((&code, body)) = data.split_first() else {
        return;
    };
    let status = [200u16, 404, 500, 501][usize::from(code % 4)];
    let Ok(sdk_source::Reply::Data(v)) = sdk_rest::classify("/x", status, body) else {
        return;
    };
    let _ = sdk_rest::parse_head("/x", &v);
    let _ = sdk_rest::parse_upgrade_plan("/x", &v);
    if let Ok(p) = sdk_rest::parse_slashing_params("/x", &v) {
        assert!(p.signed_blocks_window > 0);
        assert!(p.allowed_missed_blocks <= p.signed_blocks_window);
    }
    if let Ok(i) = sdk_rest::parse_signing_info("/x", &v, CONS) {
        assert_eq!(i.address, CONS);
    }
    if let Ok(val) = sdk_rest::parse_validator("/x", &v, VALOPER) {
        assert_eq!(val.operator_address, VALOPER);
    }
    for api in [GovApi::V1, GovApi::V1beta1] {
        let _ = sdk_rest_slow::parse_proposals("/x", &v, api);
    }
    let _ = sdk_rest_slow::parse_balance("/x", &v, "uatom");
    if let Ok(p) = sdk_rest_slow::parse_staking_params("/x", &v) {
        assert!(p.max_validators > 0);
    }
    let _ = sdk_rest_slow::parse_validators("/x", &v);
});

//! Arbitrary bytes as a CometBFT RPC response body, read as `/status`, `/block`,
//! `/validators` and a `NewBlock` event's value: the watch may call it garbage, never
//! panic, and never accept a block of another height or a signature flag CometBFT does
//! not define.

#![no_main]

use libfuzzer_sys::fuzz_target;
use watch::rpc;

fuzz_target!(|data: &[u8]| {
    let Some((&h, body)) = data.split_first() else {
        return;
    };
    let Ok(result) = rpc::parse_result(body) else {
        return;
    };
    let _ = rpc::parse_status(&result);
    let height = u64::from(h);
    if let Ok(block) = rpc::parse_block(&result, height) {
        assert_eq!(block.height, height);
        assert!(block.signatures.iter().all(|(f, _)| (1..=3).contains(f)));
    }
    if let Ok(block) = rpc::parse_event_block(&result) {
        assert!(block.signatures.iter().all(|(f, _)| (1..=3).contains(f)));
    }
    if let Ok((_, addrs)) = rpc::parse_validators(&result) {
        assert!(addrs.iter().all(|a| !a.chars().any(|c| c.is_ascii_lowercase())));
    }
});

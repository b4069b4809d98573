//! Arbitrary bytes as a CometBFT RPC response body, read as `/status`, `/net_info`,
//! `/block`, `/commit`, `/validators` and a `NewBlock` event's value (the parsers the
//! watch, the signer's chain checks and the devnet share): each may call it garbage,
//! never panic, and never accept a block of another height or a signature flag
//! CometBFT does not define.

#![no_main]

use libfuzzer_sys::fuzz_target;

fn flags_ok(c: &comet::Commit) -> bool {
    c.signatures
        .iter()
        .all(|s| (comet::FLAG_ABSENT..=comet::FLAG_NIL).contains(&s.flag))
}

fuzz_target!(|data: &[u8]| {
    let Some((&h, body)) = data.split_first() else {
        return;
    };
    let Ok(result) = comet::parse_result(body) else {
        return;
    };
    let _ = comet::parse_status(&result);
    let _ = comet::parse_peer_count(&result);
    let height = u64::from(h);
    if let Ok(block) = comet::parse_block(&result, height) {
        assert_eq!(block.height, height);
        assert!(flags_ok(&block.last_commit));
    }
    if let Ok(block) = comet::parse_event_block(&result) {
        assert!(flags_ok(&block.last_commit));
    }
    if let Ok(commit) = comet::parse_commit(&result) {
        assert!(flags_ok(&commit));
    }
    if let Ok((_, addrs)) = comet::parse_validators(&result) {
        assert!(addrs.iter().all(|a| !a.chars().any(|c| c.is_ascii_lowercase())));
    }
});

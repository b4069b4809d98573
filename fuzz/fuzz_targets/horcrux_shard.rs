//! Arbitrary bytes into the Horcrux shard file parser and the Horcrux sign state reader.
//! Neither may panic; a parsed shard's id is at least 1, and an error never carries the
//! `privateShard` value.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match threshold::horcrux::shard::parse(data) {
        Ok(shard) => assert!(shard.id >= 1),
        Err(reason) => {
            if let Some(secret) = private_shard(data) {
                assert!(secret.len() < 8 || !reason.contains(secret), "{reason}");
            }
        }
    }
    if let Ok(state) = threshold::horcrux::state::read_state(data, "fuzz-chain") {
        assert!(state.signature.is_empty());
    }
});

/// The `privateShard` string of the input, when it is JSON with one.
fn private_shard(data: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(data).ok()?;
    let start = text.find("\"privateShard\":\"")? + 16;
    let len = text[start..].find('"')?;
    Some(&text[start..start + len])
}

//! Arbitrary text as a signer configuration: parsing and validation may refuse, never
//! panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = toml::from_str::<signer::Config>(text) {
        let _ = config.validate();
    }
});

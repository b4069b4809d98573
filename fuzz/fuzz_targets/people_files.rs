//! Arbitrary text as the files people and their tools hand to Bulwark: an
//! `allowed_signers` file, a failover approval, an audit log line, a vault file, and
//! a `custodians.toml`. Each may be refused, never panic; an approval that parses
//! writes back to the same text.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = audit::AllowedSigners::parse(text);
    if let Ok(a) = failover::approve::Approval::parse(text) {
        let again = failover::approve::Approval::parse(&a.message()).expect("a written approval parses");
        assert_eq!(again, a);
    }
    let _ = serde_json::from_str::<audit::Entry>(text);
    if let Ok(v) = serde_json::from_str::<vault::VaultFile>(text) {
        let _ = v.check();
    }
    let _ = toml::from_str::<toml::Value>(text);
});

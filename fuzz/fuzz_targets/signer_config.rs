//! Arbitrary text as a signer configuration: parsing and validation may refuse, never
//! panic, and a configuration that parses writes back to text that parses the same.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = toml::from_str::<signer::config::TextConfig>(text) {
        if let Ok(parsed) = config.parse() {
            assert!(parsed.validate().is_ok());
            let again = toml::from_str::<signer::config::TextConfig>(&parsed.to_toml())
                .expect("a written config reads back")
                .parse()
                .expect("a written config parses");
            assert_eq!(again.to_toml(), parsed.to_toml());
        }
    }
});

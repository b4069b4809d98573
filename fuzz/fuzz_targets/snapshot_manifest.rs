//! Arbitrary bytes into the snapshot manifest parser (a manifest comes from a store that
//! may be damaged or written by someone else) and the stored-chunk reader. Neither may
//! panic; a manifest that parses names only plain paths under data/ or wasm/, never a
//! key or sign state, with chunks that add up to each file's size, and reads back the
//! same after it is written.

#![no_main]

use libfuzzer_sys::fuzz_target;
use snapshot::chunk::{self, Hash};
use snapshot::manifest::{self, Manifest};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Manifest::parse(data) {
        for f in &m.files {
            assert!(manifest::check_path(&f.path).is_ok(), "{}", f.path);
            assert_eq!(f.chunks.iter().map(|c| c.size).sum::<u64>(), f.size);
        }
        for d in &m.dirs {
            assert!(manifest::check_path(d).is_ok(), "{d}");
        }
        assert_eq!(Manifest::parse(&m.to_bytes()).as_ref(), Ok(&m));
    }
    let len = data.first().map_or(0, |b| u64::from(*b) * 1024);
    if let Ok(bytes) = chunk::open(data, Hash::of(data), len) {
        assert_eq!(bytes.len() as u64, len);
    }
});

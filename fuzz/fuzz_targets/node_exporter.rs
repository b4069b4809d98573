//! Arbitrary text as a node_exporter scrape: parsing skips what it cannot read, and the
//! host figures derived from it stay in range (no NaN disk, no memory share outside
//! 0..1, no negative or infinite time until full).

#![no_main]

use libfuzzer_sys::fuzz_target;
use watch::decoders::exporter::{self, FillHistory};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let samples = exporter::parse(text);
    let m = exporter::host_metrics(&samples, &[]);
    if let Some(r) = m.memory_used_ratio {
        assert!((0.0..=1.0).contains(&r));
    }
    let mut history = FillHistory::default();
    for (i, fs) in m.filesystems.iter().enumerate() {
        assert!(fs.size_bytes.is_finite() && fs.size_bytes > 0.0);
        assert!(fs.avail_bytes.is_finite());
        history.push(i as f64, fs.avail_bytes, 1e9);
    }
    if let Some(s) = history.seconds_until_full(0.0) {
        assert!(s.is_finite() && s >= 0.0);
    }
});

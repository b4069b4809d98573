//! Arbitrary byte streams, split at arbitrary points, into the frame decoder. It may
//! refuse, never panic, and never yield a frame over its limit.

#![no_main]

use libfuzzer_sys::fuzz_target;
use privval::FrameDecoder;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let mut dec = FrameDecoder::new(1024);
    let step = usize::from(split).max(1);
    for chunk in rest.chunks(step) {
        if dec.push(chunk).is_err() {
            return;
        }
        while let Some(frame) = dec.pop() {
            assert!(frame.len() <= 1024);
        }
    }
});

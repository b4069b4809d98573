//! Arbitrary bytes into every decoder of sign-state input: the state-file
//! parser, the slot payload decoder, and the CometBFT and tmkms importers.
//! None may panic, and whatever the state-file parser accepts must survive
//! a re-encode.

#![no_main]

use guard::slots::{self, FILE_SIZE, SLOT_SIZE};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = guard::parse_state_file(data) {
        reencode(&parsed);
    }

    // The checksum keeps random bytes away from the payload decoder, so
    // feed it directly too, and as a correctly framed slot.
    let decoded = slots::decode_payload(data);
    if let Ok(state) = &decoded {
        assert_eq!(
            slots::decode_payload(&slots::encode_payload(state)).as_ref(),
            Ok(state)
        );
    }
    if data.len() <= slots::MAX_PAYLOAD {
        let framed = guard::parse_state_file(&frame(data));
        assert_eq!(framed.map(|p| p.state).ok(), decoded.ok());
    }

    let _ = guard::import_cometbft_state(data, "fuzz-chain");
    let _ = guard::import_tmkms_state(data, "fuzz-chain");
});

/// A state file whose slot A holds `payload` with a valid header and
/// checksum, and whose slot B was never written.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut file = vec![0u8; FILE_SIZE];
    file[0..8].copy_from_slice(&slots::MAGIC);
    file[8..12].copy_from_slice(&slots::FORMAT_VERSION.to_le_bytes());
    file[12..20].copy_from_slice(&1u64.to_le_bytes());
    file[20..24].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    let mut hasher = Sha256::new();
    hasher.update(&file[0..24]);
    hasher.update(payload);
    let digest = hasher.finalize();
    file[24..56].copy_from_slice(&digest);
    file[slots::HEADER_SIZE..slots::HEADER_SIZE + payload.len()].copy_from_slice(payload);
    file
}

fn reencode(parsed: &guard::ParsedStateFile) {
    let slot = slots::encode_slot(parsed.seq, &parsed.state).expect("a parsed record fits");
    let mut file = vec![0u8; FILE_SIZE];
    file[parsed.slot * SLOT_SIZE..(parsed.slot + 1) * SLOT_SIZE].copy_from_slice(&slot);
    let again = guard::parse_state_file(&file).expect("re-encoded file parses");
    assert_eq!(again.state, parsed.state);
    assert_eq!(again.seq, parsed.seq);
}

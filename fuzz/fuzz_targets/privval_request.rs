//! Arbitrary bytes from a node into the request and response decoders of every line.
//! None may panic; whatever decodes must encode again and decode to the same value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use privval::{decode_request, decode_response, encode_request, encode_response, Line};

fuzz_target!(|data: &[u8]| {
    for line in Line::ALL {
        if let Ok(req) = decode_request(line, data) {
            let _ = req.signable();
            if let Ok(bytes) = encode_request(line, &req) {
                assert_eq!(decode_request(line, &bytes).as_ref(), Ok(&req));
            }
        }
        if let Ok(resp) = decode_response(line, data) {
            if let Ok(bytes) = encode_response(line, &resp) {
                assert_eq!(decode_response(line, &bytes).as_ref(), Ok(&resp));
            }
        }
    }
    let _ = privval::unstamped_sign_bytes(data);
    let _ = privval::vote_extension_from_sign_bytes(data);
});

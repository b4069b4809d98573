//! Framing edge cases: split and merged pushes, limits, bad varints,
//! garbage.

use privval::{encode_frame, FrameDecoder, FrameError, Line, DEFAULT_MAX_FRAME_SIZE};
use proptest::prelude::*;

fn drain(dec: &mut FrameDecoder) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| dec.pop()).collect()
}

#[test]
fn default_limit_is_cometbfts() {
    assert_eq!(DEFAULT_MAX_FRAME_SIZE, 10 * 1024);
    assert_eq!(FrameDecoder::default().max_frame_size(), 10 * 1024);
    assert_eq!(
        FrameDecoder::for_line(Line::V0_40).max_frame_size(),
        1_056_218
    );
}

#[test]
fn encodes_varint_prefix() {
    assert_eq!(encode_frame(&[]), vec![0]);
    assert_eq!(encode_frame(&[7; 3]), vec![3, 7, 7, 7]);
    let big = encode_frame(&[1; 300]);
    assert_eq!(&big[..2], &[0xac, 0x02]);
    assert_eq!(big.len(), 302);
}

#[test]
fn byte_by_byte() {
    let msgs: Vec<Vec<u8>> = vec![b"hello".to_vec(), vec![], vec![9; 200], b"x".to_vec()];
    let stream: Vec<u8> = msgs.iter().flat_map(|m| encode_frame(m)).collect();
    let mut dec = FrameDecoder::default();
    let mut got = Vec::new();
    for b in &stream {
        dec.push(std::slice::from_ref(b)).unwrap();
        got.extend(drain(&mut dec));
    }
    assert_eq!(got, msgs);
    assert!(!dec.has_partial_frame());
}

#[test]
fn two_frames_in_one_push() {
    let mut stream = encode_frame(b"first");
    stream.extend(encode_frame(b"second"));
    stream.extend(&encode_frame(b"third")[..3]);
    let mut dec = FrameDecoder::default();
    dec.push(&stream).unwrap();
    assert_eq!(dec.pop().as_deref(), Some(&b"first"[..]));
    assert_eq!(dec.pop().as_deref(), Some(&b"second"[..]));
    assert_eq!(dec.pop(), None);
    assert!(dec.has_partial_frame());
    dec.push(b"ird").unwrap();
    assert_eq!(dec.pop().as_deref(), Some(&b"third"[..]));
}

#[test]
fn limit_is_inclusive() {
    let mut dec = FrameDecoder::new(5);
    dec.push(&encode_frame(&[1; 5])).unwrap();
    assert_eq!(dec.pop(), Some(vec![1; 5]));
}

#[test]
fn oversized_prefix_fails_before_the_body() {
    let mut dec = FrameDecoder::default();
    // 10241 = 0x2801: varint 0x81 0x50. Only the prefix is pushed.
    let err = dec.push(&[0x81, 0x50]).unwrap_err();
    assert_eq!(
        err,
        FrameError::TooLarge {
            len: 10_241,
            max: 10_240
        }
    );
    assert!(err.to_string().contains("10240"));
    // The error sticks: the stream is out of sync.
    assert_eq!(dec.push(b"more").unwrap_err(), err);
}

#[test]
fn oversized_prefix_fails_before_it_is_complete() {
    let mut dec = FrameDecoder::new(100);
    // The first byte already says more than 100, whatever follows.
    let err = dec.push(&[0xff]).unwrap_err();
    assert!(
        matches!(err, FrameError::TooLarge { max: 100, .. }),
        "{err:?}"
    );
}

#[test]
fn huge_prefix_is_refused() {
    let mut dec = FrameDecoder::default();
    let mut prefix = Vec::new();
    prost::encoding::encode_varint(u64::MAX, &mut prefix);
    assert!(matches!(
        dec.push(&prefix),
        Err(FrameError::TooLarge { .. })
    ));
}

#[test]
fn varint_longer_than_ten_bytes_overflows() {
    // Non-minimal zeros keep the value small, so only the length can fail.
    let mut dec = FrameDecoder::default();
    let err = dec.push(&[0x80; 10]).unwrap_err();
    assert_eq!(err, FrameError::VarintOverflow);
    let mut dec = FrameDecoder::default();
    let mut tenth = vec![0x80; 9];
    tenth.push(0x02);
    assert_eq!(dec.push(&tenth).unwrap_err(), FrameError::VarintOverflow);
}

#[test]
fn non_minimal_varint_is_accepted_like_go() {
    // binary.ReadUvarint accepts padded encodings.
    let mut dec = FrameDecoder::default();
    dec.push(&[0x83, 0x80, 0x00, 1, 2, 3]).unwrap();
    assert_eq!(dec.pop(), Some(vec![1, 2, 3]));
}

#[test]
fn truncated_varint_waits_for_more() {
    let mut dec = FrameDecoder::default();
    dec.push(&[0x81]).unwrap();
    assert_eq!(dec.pop(), None);
    assert!(dec.has_partial_frame());
    dec.push(&[0x01]).unwrap();
    dec.push(&[7; 128]).unwrap();
    // One byte of the 129-byte body is still missing.
    assert_eq!(dec.pop(), None);
    dec.push(&[7]).unwrap();
    assert_eq!(dec.pop(), Some(vec![7; 129]));
    assert!(!dec.has_partial_frame());
}

#[test]
fn frames_before_an_error_can_be_popped() {
    let mut stream = encode_frame(b"ok");
    stream.extend([0xff, 0xff, 0xff]);
    let mut dec = FrameDecoder::default();
    assert!(dec.push(&stream).is_err());
    assert_eq!(dec.pop().as_deref(), Some(&b"ok"[..]));
    assert_eq!(dec.pop(), None);
}

proptest! {
    #[test]
    fn any_split_gives_the_same_frames(
        msgs in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..8),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
    ) {
        let stream: Vec<u8> = msgs.iter().flat_map(|m| encode_frame(m)).collect();
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        points.push(0);
        points.push(stream.len());
        points.sort_unstable();
        let mut dec = FrameDecoder::default();
        let mut got = Vec::new();
        for w in points.windows(2) {
            dec.push(&stream[w[0]..w[1]]).unwrap();
            got.extend(drain(&mut dec));
        }
        prop_assert_eq!(got, msgs);
        prop_assert!(!dec.has_partial_frame());
    }

    #[test]
    fn garbage_never_panics_or_buffers_past_the_limit(
        data in prop::collection::vec(any::<u8>(), 0..2000),
        max in 0usize..600,
    ) {
        let mut dec = FrameDecoder::new(max);
        let _ = dec.push(&data);
        for frame in drain(&mut dec) {
            prop_assert!(frame.len() <= max);
        }
    }
}

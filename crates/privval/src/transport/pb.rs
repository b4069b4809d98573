//! The few protobuf bytes-fields the transport handshakes read.

/// Length-delimited fields of `msg` (field number, bytes); other wire types are refused,
/// since the handshake messages hold only bytes fields.
pub(super) fn fields(mut msg: &[u8]) -> Result<Vec<(u64, &[u8])>, String> {
    let mut out = Vec::new();
    while !msg.is_empty() {
        let (key, rest) = take_varint(msg).ok_or("truncated field key")?;
        if key & 7 != 2 {
            return Err("unexpected protobuf wire type".into());
        }
        let (len, rest) = take_varint(rest).ok_or("truncated field length")?;
        let len = usize::try_from(len).map_err(|_| "field too long")?;
        if rest.len() < len {
            return Err("truncated field".into());
        }
        out.push((key >> 3, &rest[..len]));
        msg = &rest[len..];
    }
    Ok(out)
}

fn take_varint(b: &[u8]) -> Option<(u64, &[u8])> {
    let mut v = 0u64;
    for (i, byte) in b.iter().enumerate().take(10) {
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, &b[i + 1..]));
        }
    }
    None
}

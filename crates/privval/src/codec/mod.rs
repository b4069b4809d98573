//! Per-line encoding and decoding of `privval.Message`, and the table of
//! which message exists in which line.

mod v0_34;
mod v0_38;
mod v1;

use crate::api::{Request, Response};
use crate::error::{DecodeError, EncodeError};
use crate::line::Line;

/// A decoded message, either direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Message {
    /// Node to signer.
    Request(Request),
    /// Signer to node.
    Response(Response),
}

/// One `privval.Message` oneof field.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MessageInfo {
    /// Oneof field number.
    pub tag: u32,
    /// Protobuf message name.
    pub name: &'static str,
    /// Lines that have it.
    pub lines: &'static str,
}

const ALL_LINES: &str = "every line (v0.34 to v1.0)";

/// Every oneof field of `privval.Message` in any supported line. Tags 9
/// and 10 exist only in v1.0 (forks of v0.x may use them for other
/// messages).
pub(crate) const MESSAGES: [MessageInfo; 10] = [
    info(1, "PubKeyRequest", ALL_LINES),
    info(2, "PubKeyResponse", ALL_LINES),
    info(3, "SignVoteRequest", ALL_LINES),
    info(4, "SignedVoteResponse", ALL_LINES),
    info(5, "SignProposalRequest", ALL_LINES),
    info(6, "SignedProposalResponse", ALL_LINES),
    info(7, "PingRequest", ALL_LINES),
    info(8, "PingResponse", ALL_LINES),
    info(9, "SignBytesRequest", "v1.0"),
    info(10, "SignBytesResponse", "v1.0"),
];

const fn info(tag: u32, name: &'static str, lines: &'static str) -> MessageInfo {
    MessageInfo { tag, name, lines }
}

/// Decodes one `privval.Message` (without its length prefix).
pub(crate) fn decode(line: Line, bytes: &[u8]) -> Result<Message, DecodeError> {
    let decoded = match line {
        Line::V0_34 => v0_34::decode(bytes)?,
        Line::V0_38 | Line::V0_40 => v0_38::decode(line, bytes)?,
        Line::V1_0 => v1::decode(bytes)?,
    };
    decoded.ok_or_else(|| no_oneof_error(line, bytes))
}

/// Encodes a request as a `privval.Message` (without length prefix).
pub(crate) fn encode_request(line: Line, req: &Request) -> Result<Vec<u8>, EncodeError> {
    match line {
        Line::V0_34 => v0_34::encode_request(req),
        Line::V0_38 | Line::V0_40 => v0_38::encode_request(line, req),
        Line::V1_0 => v1::encode_request(req),
    }
}

/// Encodes a response as a `privval.Message` (without length prefix).
pub(crate) fn encode_response(line: Line, resp: &Response) -> Result<Vec<u8>, EncodeError> {
    match line {
        Line::V0_34 => v0_34::encode_response(resp),
        Line::V0_38 | Line::V0_40 => v0_38::encode_response(line, resp),
        Line::V1_0 => v1::encode_response(resp),
    }
}

/// `skip_extension_signing` exists only in v1.0; `false` is what older
/// lines mean anyway.
fn check_no_skip(line: Line, skip_extension_signing: bool) -> Result<(), EncodeError> {
    if skip_extension_signing {
        return Err(EncodeError::NotInLine {
            line,
            what: "skip_extension_signing",
            lines: "v1.0",
        });
    }
    Ok(())
}

fn no_sign_bytes(line: Line, what: &'static str) -> EncodeError {
    EncodeError::NotInLine {
        line,
        what,
        lines: "v1.0",
    }
}

/// Why a message that decoded fine has no oneof field of `line`.
fn no_oneof_error(line: Line, bytes: &[u8]) -> DecodeError {
    let tags = top_level_tags(bytes);
    if let Some(known) = tags
        .iter()
        .find_map(|tag| MESSAGES.iter().find(|m| m.tag == *tag))
    {
        return DecodeError::NotInLine {
            line,
            tag: known.tag,
            name: known.name,
            lines: known.lines,
        };
    }
    match tags.first() {
        Some(&tag) => DecodeError::UnknownMessage { line, tag },
        None => DecodeError::Empty { line },
    }
}

/// Field numbers at the top level of a protobuf message, in order, up to
/// the first malformed byte.
fn top_level_tags(mut bytes: &[u8]) -> Vec<u32> {
    let mut tags = Vec::new();
    while !bytes.is_empty() {
        let Some(key) = read_varint(&mut bytes) else {
            break;
        };
        let Ok(tag) = u32::try_from(key >> 3) else {
            break;
        };
        tags.push(tag);
        let skipped = match key & 7 {
            0 => read_varint(&mut bytes).map(|_| ()),
            1 => advance(&mut bytes, 8),
            2 => read_varint(&mut bytes)
                .and_then(|len| usize::try_from(len).ok())
                .and_then(|len| advance(&mut bytes, len)),
            5 => advance(&mut bytes, 4),
            _ => None,
        };
        if skipped.is_none() {
            break;
        }
    }
    tags
}

fn read_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for i in 0..10 {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn advance(bytes: &mut &[u8], n: usize) -> Option<()> {
    *bytes = bytes.get(n..)?;
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_tags() {
        // field 9 (len 0), field 11 varint 5, field 3 fixed64
        let bytes = [0x4a, 0x00, 0x58, 0x05, 0x19, 1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(top_level_tags(&bytes), vec![9, 11, 3]);
        assert_eq!(top_level_tags(&[0x4a, 0x05, 0x00]), vec![9]);
        assert_eq!(top_level_tags(&[0xff; 12]), Vec::<u32>::new());
    }

    #[test]
    fn table_is_ordered_by_tag() {
        for (i, m) in MESSAGES.iter().enumerate() {
            assert_eq!(m.tag as usize, i + 1);
        }
    }
}

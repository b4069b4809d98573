//! Errors of decoding and encoding privval messages.

use std::fmt;

use crate::line::{Line, SUPPORTED_LINES};

/// Which side of the connection sends a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Node to signer.
    Request,
    /// Signer to node.
    Response,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Request => "request",
            Direction::Response => "response",
        })
    }
}

/// A privval message that cannot be decoded for the configured line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not a valid protobuf `privval.Message`.
    #[error("malformed privval message for CometBFT {line}: {reason}; the peer may not speak the privval protocol or the stream lost sync: check the peer address and the configured line, then reconnect")]
    Protobuf {
        /// The configured line.
        line: Line,
        /// What the protobuf decoder reported.
        reason: String,
    },
    /// The message sets no oneof field at all.
    #[error("empty privval message for CometBFT {line}: no message type is set; check that the peer speaks the privval protocol")]
    Empty {
        /// The configured line.
        line: Line,
    },
    /// The oneof tag is not a privval message in any supported line.
    #[error("unknown privval message (oneof tag {tag}) for CometBFT {line}: no supported line ({SUPPORTED_LINES}) defines it; the peer may run a CometBFT fork that adds its own messages: run a supported release")]
    UnknownMessage {
        /// The configured line.
        line: Line,
        /// The oneof field number seen.
        tag: u32,
    },
    /// The message exists, but not in the configured line.
    #[error("{name} (oneof tag {tag}) exists only in CometBFT {lines}, but this connection is configured for {line}; set the line to the node's CometBFT version")]
    NotInLine {
        /// The configured line.
        line: Line,
        /// The oneof field number seen.
        tag: u32,
        /// The message name.
        name: &'static str,
        /// The lines that have the message.
        lines: &'static str,
    },
    /// A response where a request was expected, or the reverse.
    #[error("got a {name} where a {expected} was expected: the peer is on the wrong side of the privval connection; check which side dials (the signer dials the node's priv_validator_laddr)")]
    WrongDirection {
        /// The configured line.
        line: Line,
        /// The message name.
        name: &'static str,
        /// What the caller expected.
        expected: Direction,
    },
    /// A field the message cannot do without is absent.
    #[error("{message} from CometBFT {line} has no {field}; {hint}")]
    MissingField {
        /// The configured line.
        line: Line,
        /// The message name.
        message: &'static str,
        /// The field name.
        field: &'static str,
        /// What it likely means.
        hint: &'static str,
    },
    /// A timestamp that Go's time conversion refuses.
    #[error("{message} from CometBFT {line} carries an invalid timestamp ({seconds} s, {nanos} ns): CometBFT accepts years 1 to 9999 and nanos below 1e9, so the peer is broken or not CometBFT")]
    InvalidTimestamp {
        /// The configured line.
        line: Line,
        /// The message name.
        message: &'static str,
        /// Seconds sent.
        seconds: i64,
        /// Nanos sent.
        nanos: i32,
    },
    /// A public key type the configured line does not have.
    #[error("PubKeyResponse carries a {key_type} public key, which CometBFT {line} does not know (it exists in {lines}); set the line to the node's CometBFT version")]
    KeyTypeNotInLine {
        /// The configured line.
        line: Line,
        /// The key type.
        key_type: &'static str,
        /// The lines that know it.
        lines: &'static str,
    },
    /// A v1.0 `pub_key_type` string CometBFT v1.0 does not know.
    #[error("PubKeyResponse names key type `{key_type}`, which CometBFT v1.0 does not know (it knows ed25519, secp256k1, bls12_381); check the signer's key configuration")]
    UnknownKeyType {
        /// The type string sent.
        key_type: String,
    },
}

/// A message that cannot be encoded for the configured line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The message or one of its fields does not exist in the line.
    #[error("{what} cannot be sent to CometBFT {line}: it exists only in {lines}; check the configured line or leave it out")]
    NotInLine {
        /// The configured line.
        line: Line,
        /// What cannot be represented.
        what: &'static str,
        /// The lines that have it.
        lines: &'static str,
    },
    /// A timestamp Go's time conversion refuses (CometBFT fails to encode
    /// it as well).
    #[error("cannot encode timestamp ({seconds} s, {nanos} ns): CometBFT accepts years 1 to 9999 and nanos in 0..1e9")]
    InvalidTimestamp {
        /// Seconds.
        seconds: i64,
        /// Nanos.
        nanos: i32,
    },
    /// The message is longer than the line's frame limit.
    #[error("the privval message is {size} bytes, over CometBFT {line}'s limit of {max} bytes; the peer would drop the connection, so send an error response instead")]
    TooLarge {
        /// The configured line.
        line: Line,
        /// Encoded size.
        size: usize,
        /// The line's limit.
        max: usize,
    },
}

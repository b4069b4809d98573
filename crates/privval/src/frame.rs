//! Length-delimited framing (CometBFT's `protoio` delimited reader/writer).
//!
//! Every `privval.Message` on the connection is preceded by its length as
//! an unsigned LEB128 varint. CometBFT refuses a length over the line's
//! limit ([`Line::max_frame_size`]) as soon as it has read the prefix, and
//! so does [`FrameDecoder`]: it never buffers more than one frame body of
//! at most the limit.

use std::collections::VecDeque;

use crate::line::{Line, MAX_FRAME_SIZE_10_KIB};

/// The frame limit CometBFT v0.34 through v0.39 and v1.0 apply
/// (`maxRemoteSignerMsgSize = 1024 * 10`).
pub const DEFAULT_MAX_FRAME_SIZE: usize = MAX_FRAME_SIZE_10_KIB;

/// Longest varint of a 64-bit value (`binary.MaxVarintLen64`).
pub const MAX_VARINT_LEN: usize = 10;

/// A stream that cannot be framed. After one, the stream is out of sync:
/// close the connection.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The length prefix is over the limit.
    #[error("privval frame of {len} bytes exceeds the limit of {max} bytes; the peer is not a CometBFT node/signer of this line or is misbehaving: close the connection (raise the limit only if the node's limit is higher)")]
    TooLarge {
        /// Announced length (at least this much, if the prefix was cut
        /// short because it was already over the limit).
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The varint runs past 10 bytes or past 64 bits.
    #[error("privval length prefix is not a valid varint (longer than {MAX_VARINT_LEN} bytes or over 64 bits); the stream is corrupt: close the connection")]
    VarintOverflow,
}

/// Prefixes `message` with its length as an unsigned varint
/// (`protoio.NewDelimitedWriter(...).WriteMsg`).
pub fn encode_frame(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + MAX_VARINT_LEN);
    prost::encoding::encode_varint(message.len() as u64, &mut out);
    out.extend_from_slice(message);
    out
}

/// Where the decoder is inside the current frame.
#[derive(Clone, Debug)]
enum State {
    /// Reading the varint: value so far and bytes read.
    Prefix { value: u64, len: usize },
    /// Reading the body: bytes still missing.
    Body { missing: usize, body: Vec<u8> },
}

impl State {
    const START: State = State::Prefix { value: 0, len: 0 };
}

/// Incremental frame decoder: [`push`](FrameDecoder::push) bytes as they
/// arrive, [`pop`](FrameDecoder::pop) whole messages.
///
/// After an error every later `push` returns the same error; frames
/// completed before it can still be popped.
#[derive(Clone, Debug)]
pub struct FrameDecoder {
    max_frame_size: usize,
    state: State,
    ready: VecDeque<Vec<u8>>,
    failed: Option<FrameError>,
}

impl Default for FrameDecoder {
    fn default() -> FrameDecoder {
        FrameDecoder::new(DEFAULT_MAX_FRAME_SIZE)
    }
}

impl FrameDecoder {
    /// A decoder that refuses frames over `max_frame_size` bytes (not
    /// counting the length prefix).
    pub fn new(max_frame_size: usize) -> FrameDecoder {
        FrameDecoder {
            max_frame_size,
            state: State::START,
            ready: VecDeque::new(),
            failed: None,
        }
    }

    /// A decoder with the limit of `line`'s nodes.
    pub fn for_line(line: Line) -> FrameDecoder {
        FrameDecoder::new(line.max_frame_size())
    }

    /// The limit in force.
    pub fn max_frame_size(&self) -> usize {
        self.max_frame_size
    }

    /// Feeds received bytes. Fails as soon as a length prefix is invalid or
    /// over the limit, without buffering the frame body.
    pub fn push(&mut self, mut data: &[u8]) -> Result<(), FrameError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        while !data.is_empty() {
            if let Err(err) = self.step(&mut data) {
                self.failed = Some(err.clone());
                return Err(err);
            }
        }
        Ok(())
    }

    /// The next complete message (without its length prefix), if any.
    pub fn pop(&mut self) -> Option<Vec<u8>> {
        self.ready.pop_front()
    }

    /// Whether bytes of an unfinished frame are buffered (a connection
    /// closed now would cut a message short).
    pub fn has_partial_frame(&self) -> bool {
        !matches!(self.state, State::Prefix { len: 0, .. })
    }

    /// Consumes bytes of the current frame from `data`.
    fn step(&mut self, data: &mut &[u8]) -> Result<(), FrameError> {
        match &mut self.state {
            State::Prefix { value, len } => {
                let Some((&byte, rest)) = data.split_first() else {
                    return Ok(());
                };
                *data = rest;
                // binary.ReadUvarint: the 10th byte may only hold the top bit.
                if *len == MAX_VARINT_LEN - 1 && byte > 1 {
                    return Err(FrameError::VarintOverflow);
                }
                *value |= u64::from(byte & 0x7f) << (7 * *len);
                *len += 1;
                let over = usize::try_from(*value).map_or(true, |v| v > self.max_frame_size);
                if over {
                    return Err(FrameError::TooLarge {
                        len: *value,
                        max: self.max_frame_size,
                    });
                }
                if byte & 0x80 != 0 {
                    return Ok(());
                }
                // Not over max_frame_size, checked above.
                let missing = usize::try_from(*value).unwrap_or(0);
                if missing == 0 {
                    // An empty message: complete with its prefix.
                    self.state = State::START;
                    self.ready.push_back(Vec::new());
                } else {
                    self.state = State::Body {
                        missing,
                        body: Vec::with_capacity(missing),
                    };
                }
                Ok(())
            }
            State::Body { missing, body } => {
                let take = (*missing).min(data.len());
                body.extend_from_slice(&data[..take]);
                *data = &data[take..];
                *missing -= take;
                if *missing == 0 {
                    let body = std::mem::take(body);
                    self.state = State::START;
                    self.ready.push_back(body);
                }
                Ok(())
            }
        }
    }
}

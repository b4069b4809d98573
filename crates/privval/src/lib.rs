//! CometBFT privval wire protocol: messages per CometBFT line, framing,
//! canonical sign bytes.
//!
//! * [`Line`] names the CometBFT release line a node runs; the messages
//!   differ between lines (see its docs).
//! * [`decode_request`] / [`encode_response`] are the signer's side,
//!   [`encode_request`] / [`decode_response`] the node's, all over the
//!   line-independent [`Request`] and [`Response`].
//! * [`FrameDecoder`] and [`encode_frame`] handle the varint length prefix.
//! * [`key_file`] reads CometBFT's `priv_validator_key.json` (FilePV's key file).
//! * [`vote_sign_bytes`], [`proposal_sign_bytes`] and
//!   [`vote_extension_sign_bytes`] give the bytes a key signs;
//!   [`Request::signable`] gives them with height/round/step and their
//!   unstamped form for a double-sign guard.
//!
//! Encodings match CometBFT's Go code byte for byte; the tests check this
//! against vectors produced by CometBFT itself (`tools/vectors`).

#![forbid(unsafe_code)]

pub mod api;
mod codec;
mod convert;
pub mod error;
pub mod frame;
pub mod key_file;
pub mod line;
pub mod proto;
pub mod sign_bytes;
pub mod transport;
pub mod types;

pub use api::{
    decode_request, decode_response, encode_request, encode_request_frame, encode_response,
    encode_response_frame, InvalidVoteType, Request, Response, ResponseKind, Signable,
};
pub use error::{DecodeError, Direction, EncodeError};
pub use frame::{encode_frame, FrameDecoder, FrameError, DEFAULT_MAX_FRAME_SIZE};
pub use line::{Line, ParseLineError, SUPPORTED_LINES};
pub use sign_bytes::{
    proposal_sign_bytes, read_consensus_sign_bytes, unstamped_proposal_sign_bytes,
    unstamped_sign_bytes, unstamped_vote_sign_bytes, vote_extension_from_sign_bytes,
    vote_extension_sign_bytes, vote_sign_bytes, ConsensusSignBytes, SignBytesError, Unstamped,
};
pub use types::{
    BlockId, Hrs, PartSetHeader, Proposal, PublicKey, RemoteSignerError, SignedMsgType, Step,
    Timestamp, Vote,
};

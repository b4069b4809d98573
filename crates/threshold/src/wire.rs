//! The messages cosigners exchange over their links, as JSON inside the link's encrypted
//! frames. A coordinator asks; the cosigner at the other end answers each request with
//! exactly one response carrying the request's id.
//!
//! Two requests exist: `Commit` (make nonces ahead and send their commitments, FROST's
//! preprocessing, off the signing path) and `Sign` (one round trip per signature: the
//! message, and for each signing package the nonce to use and everyone's commitments).

use frost_ed25519::round1::SigningCommitments;
use frost_ed25519::round2::SignatureShare;
use serde::{Deserialize, Serialize};

/// Most nonces one `Commit` may ask for.
pub const MAX_COMMIT_BATCH: u16 = 256;

/// One frame on a link.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Frame<T> {
    /// Chosen by the asking side, increasing on each link; the answer carries it back.
    pub id: u64,
    /// The request or the response.
    pub body: T,
}

/// What a coordinator asks of a cosigner.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Request {
    /// Make `count` nonces for `chain_id`, kept for this link only, and send their
    /// commitments.
    Commit {
        /// The chain whose share the nonces are for.
        chain_id: String,
        /// How many (at most [`MAX_COMMIT_BATCH`]).
        count: u16,
    },
    /// Release shares of signatures over `job`.
    Sign(SignRequest),
}

/// A request for signature shares.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    /// The chain.
    pub chain_id: String,
    /// The group public key the coordinator signs for (hex), so that a share of another
    /// key is never made by mistake.
    pub group_key: String,
    /// What is signed.
    pub job: Job,
    /// One signing package per signer set and message; the shares come back in this
    /// order.
    pub packages: Vec<Package>,
    /// The coordinator's own last signed height for the chain (its durable state before
    /// this job), which lets a cosigner that is behind confirm a height jump
    /// ([`crate::tips`]).
    #[serde(default)]
    pub last_signed: Option<i64>,
}

/// What a signature is over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Job {
    /// A vote or proposal: its canonical sign bytes, and for a precommit for a block the
    /// canonical vote extension sign bytes when the node wants the extension signed.
    Consensus {
        /// Canonical vote or proposal sign bytes (hex in JSON).
        #[serde(with = "hex_bytes")]
        sign_bytes: Vec<u8>,
        /// Canonical vote extension sign bytes.
        #[serde(with = "hex_opt", default)]
        extension: Option<Vec<u8>>,
    },
    /// Arbitrary bytes (CometBFT v1 `SignBytesRequest`), where the chain allows it.
    Raw {
        /// The bytes.
        #[serde(with = "hex_bytes")]
        bytes: Vec<u8>,
    },
}

/// Which of a job's messages a package signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// The vote, proposal or raw bytes.
    Main,
    /// The vote extension.
    Extension,
}

/// One signing package for the cosigner that receives it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    /// Which message.
    pub part: Part,
    /// The receiver's nonce to use (an id it gave in a `Commitments` answer on this link).
    pub nonce: u64,
    /// Every signer's commitment, by share id, the receiver's included.
    pub commitments: Vec<(u16, SigningCommitments)>,
}

/// What a cosigner answers.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Response {
    /// Answer to `Commit`: nonce ids and their commitments.
    Commitments {
        /// The chain.
        chain_id: String,
        /// `(nonce id, commitments)`.
        list: Vec<(u64, SigningCommitments)>,
        /// The answering cosigner's last signed height for the chain ([`crate::tips`]).
        #[serde(default)]
        last_signed: Option<i64>,
    },
    /// Answer to `Sign`: one share per package, in order.
    Shares {
        /// The shares.
        shares: Vec<SignatureShare>,
    },
    /// The request was refused; nothing was signed.
    Refused {
        /// A short stable code (a metrics label).
        reason: String,
        /// What is wrong and what to do.
        message: String,
    },
}

impl Response {
    /// A refusal.
    pub fn refused(reason: &str, message: impl Into<String>) -> Response {
        Response::Refused {
            reason: reason.to_string(),
            message: message.into(),
        }
    }
}

/// Encodes a frame.
pub fn encode<T: Serialize>(frame: &Frame<T>) -> Vec<u8> {
    serde_json::to_vec(frame).unwrap_or_default()
}

/// Decodes a frame; the error says what is wrong with it.
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<Frame<T>, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("malformed cosigner message: {e}"))
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(text).map_err(serde::de::Error::custom)
    }
}

mod hex_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match b {
            Some(b) => s.serialize_some(&hex::encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|t| hex::decode(t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_garbage_is_an_error() {
        let f = Frame {
            id: 7,
            body: Request::Sign(SignRequest {
                chain_id: "c".into(),
                group_key: "00".into(),
                job: Job::Consensus {
                    sign_bytes: vec![1, 2],
                    extension: Some(vec![3]),
                },
                packages: vec![],
                last_signed: Some(41),
            }),
        };
        let back: Frame<Request> = decode(&encode(&f)).unwrap();
        assert_eq!(back.id, 7);
        let Request::Sign(s) = back.body else {
            panic!("not a sign request")
        };
        assert_eq!(
            s.job,
            Job::Consensus {
                sign_bytes: vec![1, 2],
                extension: Some(vec![3])
            }
        );
        assert_eq!(s.last_signed, Some(41));
        assert!(decode::<Request>(b"{\"id\":1}").is_err());
        assert!(decode::<Request>(b"\xff").is_err());
        let extra = br#"{"id":1,"body":{"commit":{"chain_id":"c","count":1,"x":2}}}"#;
        assert!(decode::<Request>(extra).is_err());
    }
}

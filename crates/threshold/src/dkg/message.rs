//! The messages of a DKG run, as JSON inside the links' encrypted frames, and the hashes
//! that bind them to one run.
//!
//! Every message after `hello` carries the session id: the SHA-256 of the parameters and
//! every participant's random hello nonce, so a message of another run is refused.

use frost_ed25519::keys::dkg::round1;
use frost_ed25519::keys::PublicKeyPackage;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The protocol version in every hello.
pub(crate) const VERSION: u16 = 2;

/// One message on a DKG link.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Message {
    /// The first message: who this is, what it runs, and its share of the session id.
    Hello {
        /// Protocol version.
        version: u16,
        /// The sender's share id.
        id: u16,
        /// The threshold the sender was given.
        threshold: u16,
        /// Every participant's id, sorted, as the sender's config has them.
        ids: Vec<u16>,
        /// 32 random bytes (hex).
        nonce: String,
    },
    /// The sender's round-1 package (its commitment and proof of knowledge).
    Round1 {
        /// The session id (hex).
        session: String,
        /// The package.
        package: round1::Package,
    },
    /// The hash of every round-1 package the sender holds (its own included).
    Echo {
        /// The session id (hex).
        session: String,
        /// The hash (hex).
        digest: String,
    },
    /// The recipient's secret share from the sender (hex of frost's encoding).
    Round2 {
        /// The session id (hex).
        session: String,
        /// The package, secret.
        package: String,
    },
    /// What the sender ended with: the group key and the hash of the public key package.
    Done {
        /// The session id (hex).
        session: String,
        /// The group public key (hex).
        group_public_key: String,
        /// SHA-256 of the public key package (hex).
        public_package: String,
    },
    /// The sender has made its share durable (not yet under its final name).
    Kept {
        /// The session id (hex).
        session: String,
    },
    /// The sender gave up; the reason, for the operator.
    Abort {
        /// Why.
        reason: String,
    },
}

impl Message {
    /// The kind, for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Message::Hello { .. } => "hello",
            Message::Round1 { .. } => "round-1 package",
            Message::Echo { .. } => "round-1 echo",
            Message::Round2 { .. } => "round-2 package",
            Message::Done { .. } => "group key",
            Message::Kept { .. } => "kept share",
            Message::Abort { .. } => "abort",
        }
    }

    /// The session id the message carries, if any.
    pub(crate) fn session(&self) -> Option<&str> {
        match self {
            Message::Round1 { session, .. }
            | Message::Echo { session, .. }
            | Message::Round2 { session, .. }
            | Message::Done { session, .. }
            | Message::Kept { session } => Some(session),
            Message::Hello { .. } | Message::Abort { .. } => None,
        }
    }
}

/// The session id: SHA-256 of the version, the threshold and each participant's id and
/// hello nonce, in id order.
pub(crate) fn session_id(threshold: u16, nonces: &BTreeMap<u16, [u8; 32]>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"bulwark-threshold-dkg-session/1");
    h.update(VERSION.to_be_bytes());
    h.update(threshold.to_be_bytes());
    h.update((nonces.len() as u16).to_be_bytes());
    for (id, nonce) in nonces {
        h.update(id.to_be_bytes());
        h.update(nonce);
    }
    h.finalize().into()
}

/// The echo: SHA-256 of the session id and every round-1 package, in id order.
pub(crate) fn echo_digest(
    session: &[u8; 32],
    packages: &BTreeMap<u16, round1::Package>,
) -> Result<[u8; 32], frost_ed25519::Error> {
    let mut h = Sha256::new();
    h.update(b"bulwark-threshold-dkg-echo/1");
    h.update(session);
    for (id, package) in packages {
        let bytes = package.serialize()?;
        h.update(id.to_be_bytes());
        h.update((bytes.len() as u32).to_be_bytes());
        h.update(&bytes);
    }
    Ok(h.finalize().into())
}

/// SHA-256 of a public key package's encoding.
pub(crate) fn public_digest(public: &PublicKeyPackage) -> Result<[u8; 32], frost_ed25519::Error> {
    Ok(Sha256::digest(public.serialize()?).into())
}

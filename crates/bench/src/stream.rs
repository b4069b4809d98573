//! The benchmark's request stream: what the node side (the test kit's fake node) sends,
//! timed per round trip, with every signature verified.

use anyhow::{bail, Context};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use privval::{
    BlockId, PartSetHeader, PublicKey, Request, Response, SignedMsgType, Timestamp, Vote,
};
use std::time::{Duration, Instant};
use testkit::node::NodeConn;

/// The signer's public key for `chain_id`.
pub fn pub_key(conn: &mut NodeConn, chain_id: &str) -> anyhow::Result<VerifyingKey> {
    match conn.try_call(&Request::PubKey {
        chain_id: chain_id.into(),
    })? {
        Response::PubKey {
            pub_key: PublicKey::Ed25519(k),
        } => Ok(VerifyingKey::from_bytes(k.as_slice().try_into()?)?),
        other => bail!("unexpected answer to PubKeyRequest: {other:?}"),
    }
}

/// Which requests the "node" sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Stream {
    /// One prevote for a block per height.
    Prevotes,
    /// A prevote then a precommit for a block per height (precommits carry a
    /// vote-extension signature in v0.38 where the signer makes one).
    Votes,
}

/// The `i`-th request of the stream, with heights from 1 and timestamps that advance.
pub fn request(stream: Stream, chain_id: &str, i: u64) -> Request {
    let (height, msg_type) = match stream {
        Stream::Prevotes => ((i + 1) as i64, SignedMsgType::Prevote),
        Stream::Votes if i % 2 == 0 => ((i / 2 + 1) as i64, SignedMsgType::Prevote),
        Stream::Votes => ((i / 2 + 1) as i64, SignedMsgType::Precommit),
    };
    let h = (height as u64).to_le_bytes();
    let mut hash = [0u8; 32];
    hash[..8].copy_from_slice(&h);
    Request::SignVote {
        chain_id: chain_id.into(),
        vote: Vote {
            msg_type,
            height,
            round: 0,
            block_id: BlockId {
                hash: hash.to_vec(),
                part_set_header: PartSetHeader {
                    total: 1,
                    hash: hash.to_vec(),
                },
            },
            timestamp: Timestamp {
                seconds: 1_800_000_000 + height,
                nanos: (i % 2) as i32 * 1000,
            },
            validator_address: vec![7; 20],
            validator_index: 0,
            ..Vote::default()
        },
        skip_extension_signing: false,
    }
}

/// Run `count` requests from `start` on one connection; return each round trip. Every
/// signature is verified, and every extension signature the signer returns.
pub fn drive(
    conn: &mut NodeConn,
    stream: Stream,
    chain_id: &str,
    key: &VerifyingKey,
    start: u64,
    count: u64,
) -> anyhow::Result<Vec<Duration>> {
    let mut lat = Vec::with_capacity(count as usize);
    for i in start..start + count {
        let req = request(stream, chain_id, i);
        let t = Instant::now();
        let resp = conn.try_call(&req)?;
        lat.push(t.elapsed());
        let Response::SignedVote { vote: signed } = resp else {
            bail!("request {i} on {chain_id} was not signed: {resp:?}");
        };
        // What CometBFT takes from the answer: the signatures and the timestamp, on its own
        // vote (Horcrux leaves every other field of the answer empty).
        let Request::SignVote { mut vote, .. } = req else {
            bail!("request {i} is not a vote")
        };
        vote.timestamp = signed.timestamp;
        vote.signature = signed.signature;
        vote.extension_signature = signed.extension_signature;
        let sig = Signature::from_slice(&vote.signature).context("signature length")?;
        key.verify(&privval::vote_sign_bytes(chain_id, &vote), &sig)
            .with_context(|| format!("request {i} on {chain_id}: signature does not verify"))?;
        if vote.signs_extension() && !vote.extension_signature.is_empty() {
            let ext = Signature::from_slice(&vote.extension_signature)
                .context("extension signature length")?;
            key.verify(&privval::vote_extension_sign_bytes(chain_id, &vote), &ext)
                .with_context(|| {
                    format!("request {i} on {chain_id}: extension signature does not verify")
                })?;
        }
    }
    Ok(lat)
}

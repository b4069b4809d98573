//! What the chain says about this key before the signer signs anything: where the chain
//! is (the floor: nothing at or below its tip + 1 is signed), where this key last signed,
//! and whether another signer is live with the same key (doppelganger check).
//!
//! Why tip + 1: the newest commit an endpoint can show is the one for its tip, read
//! from `/commit?height=tip`. A validator that was live has almost surely precommitted
//! at the tip, and may already have prevoted (and precommitted) at tip + 1, and prevotes
//! never appear on chain at all. So a signer that does not know its own newest record
//! (a lost or restored state, another host that was signing) must stay silent through
//! tip + 1.

use crate::sources::{self, Problem, Report, Sources};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// Why the chain could not be read, or why it forbids starting.
#[derive(Debug, thiserror::Error)]
pub enum FloorError {
    /// No endpoint is usable.
    #[error(
        "no usable RPC source for this chain: {0}. The signer will not guess where the chain \
         is. Fix the nodes or `rpc`; if the chain is halted (an upgrade) and this sign state \
         is this validator's newest, start with --skip-chain-checks (it says so in the log \
         and in bulwark_signer_chain_checks_skipped)"
    )]
    NoUsableSource(String),
    /// An endpoint serves another chain.
    #[error("an RPC endpoint serves another chain: {0}. Fix `rpc` for this chain")]
    WrongChain(String),
    /// The key type has no known address, so the chain cannot be searched for it.
    #[error("the chain checks cannot find {0} keys on chain; remove `rpc` for this chain or use an Ed25519 or secp256k1 key")]
    UnknownAddress(String),
    /// An endpoint failed in the middle of a check.
    #[error("RPC {url}: {problem}; the chain check cannot finish. Fix the endpoint or `rpc`")]
    Source {
        /// The endpoint.
        url: String,
        /// What went wrong.
        problem: Problem,
    },
    /// Another signer is live with this key.
    #[error(
        "doppelganger: block {height} carries a signature by this validator ({address}) that \
         this signer did not make. Another signer is live with this key; refusing to start. \
         Stop the other signer, then start this one again"
    )]
    Doppelganger {
        /// Height of the signature.
        height: u64,
        /// Validator address.
        address: String,
    },
    /// The chain did not progress enough to watch.
    #[error("watched for {waited:?} but the chain made only {seen} of {wanted} blocks; is it halted? Refusing to start without the doppelganger check (set doppelganger_blocks = 0 to skip it)")]
    Stalled {
        /// Blocks seen.
        seen: u64,
        /// Blocks wanted.
        wanted: u64,
        /// How long it waited.
        waited: Duration,
    },
}

/// The consensus address of a public key, hex: the first 20 bytes of SHA-256 for
/// Ed25519, RIPEMD-160 of SHA-256 of the compressed key for secp256k1 (as CometBFT).
/// None for key types the signer has no key backend for.
pub fn address(key: &privval::PublicKey) -> Option<String> {
    let digest: Vec<u8> = match key {
        privval::PublicKey::Ed25519(pk) => Sha256::digest(pk)[..20].to_vec(),
        privval::PublicKey::Secp256k1(pk) => {
            use ripemd::Ripemd160;
            Ripemd160::digest(Sha256::digest(pk)).to_vec()
        }
        _ => return None,
    };
    Some(hex::encode_upper(digest))
}

/// Where the chain is, from every usable endpoint.
#[derive(Debug, Clone)]
pub struct Survey {
    /// Every endpoint's answer.
    pub reports: Vec<Report>,
    /// The highest tip of the usable endpoints.
    pub tip: u64,
    /// The usable endpoint that showed it.
    pub best: String,
}

/// A read-only view of one chain through its RPC endpoints.
#[derive(Debug, Clone)]
pub struct ChainView {
    sources: Sources,
}

impl ChainView {
    /// A view of `chain_id` through `rpc`.
    pub fn new(chain_id: &str, rpc: &[String], timeout: Duration, max_block_age: Duration) -> Self {
        ChainView {
            sources: Sources::new(chain_id, rpc, timeout, max_block_age),
        }
    }

    /// Ask every endpoint; fail when none is usable, naming each.
    pub fn survey(&self) -> Result<Survey, FloorError> {
        self.best_of(self.sources.survey())
    }

    fn best_of(&self, reports: Vec<Report>) -> Result<Survey, FloorError> {
        let best = reports
            .iter()
            .filter_map(|r| r.result.as_ref().ok().map(|t| (t.height, r.url.clone())))
            .max_by_key(|(h, _)| *h);
        match best {
            Some((tip, best)) => Ok(Survey { reports, tip, best }),
            None => Err(FloorError::NoUsableSource(sources::describe(&reports))),
        }
    }

    /// Like [`ChainView::survey`], retried until one endpoint is usable or `wait` has
    /// passed (a network that is starting, nodes that are restarting). An endpoint of
    /// another chain is a configuration error and fails at once. `stop` ends the wait
    /// early with the last error.
    pub fn survey_within(
        &self,
        wait: Duration,
        stop: &dyn Fn() -> bool,
    ) -> Result<Survey, FloorError> {
        let begin = Instant::now();
        loop {
            let reports = self.sources.survey();
            let wrong_chain = reports
                .iter()
                .any(|r| matches!(r.result, Err(Problem::WrongChain { .. })));
            if wrong_chain {
                return Err(FloorError::WrongChain(sources::describe(&reports)));
            }
            match self.best_of(reports) {
                Ok(s) => return Ok(s),
                Err(e) if begin.elapsed() >= wait || stop() => return Err(e),
                Err(e) => {
                    tracing::info!("waiting for a usable RPC source: {e}");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        }
    }

    /// Whether the commit for `height` (from `/commit?height=`, which for the tip is the
    /// commit the node has seen) carries a signature by `address`.
    pub fn signed_at(&self, url: &str, height: u64, address: &str) -> Result<bool, FloorError> {
        let fail = |problem| FloorError::Source {
            url: url.into(),
            problem,
        };
        let commit = self.sources.commit(url, height).map_err(fail)?;
        Ok(commit.signed_by(address))
    }

    /// The last height, from `tip` down `scan` blocks, where `url` shows a signature by
    /// `address`.
    pub fn last_signed_height(
        &self,
        url: &str,
        tip: u64,
        address: &str,
        scan: u64,
    ) -> Result<Option<u64>, FloorError> {
        let oldest = tip.saturating_sub(scan).max(1);
        for h in (oldest..=tip).rev() {
            if self.signed_at(url, h, address)? {
                return Ok(Some(h));
            }
        }
        Ok(None)
    }

    /// Watch `blocks` new heights on `url`; fail if any carries a signature by
    /// `address`. Returns early (Ok) when `stop` says so.
    ///
    /// Heights up to the watch's start tip + 1 are left out: a signer that has just been
    /// stopped may have signed them before the watch began. A height is read once it is
    /// below the tip, from its canonical commit (the tip's own commit is only the votes
    /// the node had seen when it moved on, and often lacks a slower validator's).
    pub fn doppelganger_check(
        &self,
        url: &str,
        address: &str,
        blocks: u64,
        limit: Duration,
        stop: &dyn Fn() -> bool,
    ) -> Result<(), FloorError> {
        let tip_of = |url: &str| {
            self.sources.tip(url).map_err(|problem| FloorError::Source {
                url: url.into(),
                problem,
            })
        };
        let start = tip_of(url)?.height + 1;
        let last = start + blocks;
        let begin = Instant::now();
        let mut checked = start;
        while checked < last {
            let tip = tip_of(url)?.height;
            while checked < tip.saturating_sub(1).min(last) {
                checked += 1;
                if self.signed_at(url, checked, address)? {
                    return Err(FloorError::Doppelganger {
                        height: checked,
                        address: address.into(),
                    });
                }
            }
            if checked >= last || stop() {
                return Ok(());
            }
            if begin.elapsed() > limit {
                return Err(FloorError::Stalled {
                    seen: checked - start,
                    wanted: blocks,
                    waited: limit,
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(())
    }
}

/// Asks the chain where its tip is when a request jumps far ahead, at most once per
/// `min_interval` (a node that sends jumps in a loop costs one survey per interval).
#[derive(Debug)]
pub struct TipProbe {
    view: ChainView,
    min_interval: Duration,
    last: std::sync::Mutex<Option<Instant>>,
}

impl TipProbe {
    /// A probe through `view`.
    pub fn new(view: ChainView, min_interval: Duration) -> TipProbe {
        TipProbe {
            view,
            min_interval,
            last: std::sync::Mutex::new(None),
        }
    }

    /// The highest usable tip now, or None (no usable endpoint, or asked too recently).
    pub fn tip(&self) -> Option<u64> {
        {
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|t| t.elapsed() < self.min_interval) {
                return None;
            }
            *last = Some(Instant::now());
        }
        match self.view.survey() {
            Ok(s) => {
                tracing::info!(tip = s.tip, source = %s.best, "chain tip read to check a height jump");
                Some(s.tip)
            }
            Err(e) => {
                tracing::warn!("cannot check a height jump against the chain: {e}");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ed25519_address_is_the_first_20_bytes_of_sha256() {
        // priv_validator_key.json from `cometbft init`: address EBEB..7A81.
        let pk = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            "hIS6wuRTA5CfctAdQEUuDnf1YvC31SYrSHEhKRsfm+U=",
        )
        .unwrap();
        assert_eq!(
            address(&privval::PublicKey::Ed25519(pk)).unwrap(),
            "EBEBEB484004ACBFAB78E398732765076F457A81"
        );
    }

    #[test]
    fn secp256k1_address_is_ripemd160_of_sha256() {
        // The address CometBFT v0.38.26's crypto/secp256k1 `PubKey.Address()` gives
        // this compressed key.
        let pk = hex::decode("02950e1cdfcb133d6024109fd489f734eeb4502418e538c28481f22bce276f248c")
            .unwrap();
        assert_eq!(
            address(&privval::PublicKey::Secp256k1(pk)).unwrap(),
            "7C2BB42A8BE69791EC763E51F5A49BCD41E82237"
        );
    }

    #[test]
    fn no_usable_endpoint_names_each() {
        let v = ChainView::new(
            "c",
            &["http://127.0.0.1:1".into(), "http://127.0.0.1:2".into()],
            Duration::from_millis(500),
            Duration::from_secs(60),
        );
        let e = v.survey().unwrap_err().to_string();
        assert!(
            e.contains("no usable RPC source")
                && e.contains("127.0.0.1:1: unreachable")
                && e.contains("127.0.0.1:2: unreachable")
                && e.contains("--skip-chain-checks"),
            "{e}"
        );
    }
}

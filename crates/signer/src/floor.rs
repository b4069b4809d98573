//! What the chain says about this key, before the signer signs anything: the last
//! height the chain carries its signature (a floor), and whether another signer is
//! live with the same key (doppelganger check).

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// Why the chain could not be read, or why it forbids starting.
#[derive(Debug, thiserror::Error)]
pub enum FloorError {
    /// No RPC endpoint answered.
    #[error("no RPC endpoint answered ({0}); the signer will not guess where the chain is. Fix `rpc` for this chain or remove it to skip the chain checks")]
    Unreachable(String),
    /// An endpoint serves another chain.
    #[error("RPC {url} serves chain {got:?}, not {expected:?}; fix `rpc` for this chain")]
    WrongChain {
        /// The endpoint.
        url: String,
        /// The chain it serves.
        got: String,
        /// The configured chain.
        expected: String,
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

/// The consensus address of an Ed25519 key: the first 20 bytes of its SHA-256, hex.
pub fn ed25519_address(pub_key: &[u8]) -> String {
    hex::encode_upper(&Sha256::digest(pub_key)[..20])
}

/// A read-only view of one chain through its RPC endpoints (first that answers wins).
#[derive(Debug, Clone)]
pub struct ChainView {
    chain_id: String,
    rpc: Vec<String>,
    agent: ureq::Agent,
}

impl ChainView {
    /// A view of `chain_id` through `rpc`.
    pub fn new(chain_id: &str, rpc: &[String], timeout: Duration) -> ChainView {
        ChainView {
            chain_id: chain_id.into(),
            rpc: rpc
                .iter()
                .map(|u| u.trim_end_matches('/').to_string())
                .collect(),
            agent: ureq::AgentBuilder::new().timeout(timeout).build(),
        }
    }

    fn get(&self, path: &str) -> Result<Value, FloorError> {
        let mut errors = Vec::new();
        for base in &self.rpc {
            let url = format!("{base}/{path}");
            match self.agent.get(&url).call() {
                Ok(resp) => match resp.into_json::<Value>() {
                    Ok(v) if v.get("result").is_some() => return Ok(v["result"].clone()),
                    Ok(v) => errors.push(format!(
                        "{url}: {}",
                        v.get("error").cloned().unwrap_or_default()
                    )),
                    Err(e) => errors.push(format!("{url}: not JSON: {e}")),
                },
                Err(e) => errors.push(format!("{url}: {e}")),
            }
        }
        Err(FloorError::Unreachable(errors.join("; ")))
    }

    /// Latest height, after checking every reachable endpoint serves this chain.
    pub fn latest_height(&self) -> Result<u64, FloorError> {
        let st = self.get("status")?;
        let network = st["node_info"]["network"].as_str().unwrap_or("");
        if network != self.chain_id {
            return Err(FloorError::WrongChain {
                url: self.rpc.join(", "),
                got: network.into(),
                expected: self.chain_id.clone(),
            });
        }
        st["sync_info"]["latest_block_height"]
            .as_str()
            .and_then(|h| h.parse().ok())
            .ok_or_else(|| FloorError::Unreachable("status has no latest_block_height".into()))
    }

    /// Whether the commit for `height` (stored in block `height + 1`) carries a signature by
    /// `address` (a vote for the block or for nil: both are signatures by the key).
    pub fn signed_at(&self, height: u64, address: &str) -> Result<bool, FloorError> {
        let b = self.get(&format!("block?height={}", height + 1))?;
        let sigs = b["block"]["last_commit"]["signatures"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Ok(sigs.iter().any(|s| {
            s["validator_address"]
                .as_str()
                .is_some_and(|a| a.eq_ignore_ascii_case(address))
                && matches!(s["block_id_flag"].as_u64(), Some(2) | Some(3))
        }))
    }

    /// The last height within `scan` blocks of the tip where the chain carries a
    /// signature by `address`.
    pub fn last_signed_height(&self, address: &str, scan: u64) -> Result<Option<u64>, FloorError> {
        let tip = self.latest_height()?;
        // The newest commit in a block is for tip - 1.
        let newest = tip.saturating_sub(1);
        let oldest = newest.saturating_sub(scan).max(1);
        for h in (oldest..=newest).rev() {
            if self.signed_at(h, address)? {
                return Ok(Some(h));
            }
        }
        Ok(None)
    }

    /// Watch `blocks` new blocks; fail if any carries a signature by `address`. Returns
    /// early (Ok) when `stop` says so.
    pub fn doppelganger_check(
        &self,
        address: &str,
        blocks: u64,
        limit: Duration,
        stop: &dyn Fn() -> bool,
    ) -> Result<(), FloorError> {
        // Only heights voted on after the watch began count: the commit for the tip's
        // height may hold votes a signer that has just been stopped made before.
        let start = self.latest_height()?;
        let begin = Instant::now();
        let mut checked = start;
        while checked < start + blocks {
            let tip = self.latest_height()?;
            while checked + 1 < tip {
                checked += 1;
                if self.signed_at(checked, address)? {
                    return Err(FloorError::Doppelganger {
                        height: checked,
                        address: address.into(),
                    });
                }
            }
            if checked >= start + blocks {
                break;
            }
            if stop() {
                return Ok(());
            }
            if begin.elapsed() > limit {
                return Err(FloorError::Stalled {
                    seen: checked.saturating_sub(start),
                    wanted: blocks,
                    waited: limit,
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_is_the_first_20_bytes_of_sha256() {
        // priv_validator_key.json from `cometbft init`: address EBEB..7A81.
        let pk = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            "hIS6wuRTA5CfctAdQEUuDnf1YvC31SYrSHEhKRsfm+U=",
        )
        .unwrap();
        assert_eq!(
            ed25519_address(&pk),
            "EBEBEB484004ACBFAB78E398732765076F457A81"
        );
    }

    #[test]
    fn unreachable_rpc_is_a_clear_error() {
        let v = ChainView::new(
            "c",
            &["http://127.0.0.1:1".into()],
            Duration::from_millis(500),
        );
        let e = v.latest_height().unwrap_err().to_string();
        assert!(
            e.contains("no RPC endpoint answered") && e.contains("127.0.0.1:1"),
            "{e}"
        );
    }
}

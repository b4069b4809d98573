//! A chain whose key is a threshold key: this process holds one share.
//!
//! As coordinator (a node's request arrived here), the chain's guard decides under the
//! store lock exactly as for a single key; the requests go out to the peers, the record
//! (sign bytes, no signature yet) is made durable, and only then is this cosigner's own
//! share computed and the signature combined. As cosigner (a peer's request), the same
//! guard, with the share rules, decides and records before the share leaves
//! ([`ShareGuard::approve`]). One coordination per chain at a time, so a second node
//! asking for the same step waits for the first signature and gets it back.

use super::{codes, error, ChainSigner, Outcome};
use crate::metrics::RefusalLabels;
use guard::Decision;
use privval::{Request, Response, SignedMsgType};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;
use threshold::coordinate::{Coordinator, Report};
use threshold::metrics::{Metrics as TMetrics, RefusalLabels as TRefusal, SignatureLabels};
use threshold::serve::{Refusal, ShareGuard};
use threshold::tips::PeerTips;
use threshold::wire::Job;

/// The threshold part of a chain signer.
#[derive(Debug)]
pub struct ThresholdSide {
    chain_id: String,
    coordinator: OnceLock<Coordinator>,
    coordinating: Mutex<()>,
    metrics: TMetrics,
    peer_names: Vec<(u16, String)>,
    tips: Arc<PeerTips>,
}

impl ThresholdSide {
    /// A side whose coordinator is attached once the links are up.
    pub fn new(chain_id: &str, metrics: TMetrics, peer_names: Vec<(u16, String)>) -> ThresholdSide {
        ThresholdSide {
            chain_id: chain_id.to_string(),
            coordinator: OnceLock::new(),
            coordinating: Mutex::new(()),
            metrics,
            peer_names,
            tips: Arc::default(),
        }
    }

    /// What the peers report of their sign states for this chain.
    pub fn tips(&self) -> Arc<PeerTips> {
        self.tips.clone()
    }

    /// The highest height that enough peers report having signed to make a signing set
    /// with this cosigner (`t - 1` of them); `None` before the links are up or while
    /// fewer have reported.
    pub(super) fn vouched_tip(&self) -> Option<i64> {
        let t = self.coordinator.get()?.threshold();
        self.tips.vouched(usize::from(t.saturating_sub(1)))
    }

    /// Attach the coordinator (once).
    pub fn attach(&self, c: Coordinator) {
        let _ = self.coordinator.set(c);
    }

    fn name(&self, id: u16) -> String {
        self.peer_names
            .iter()
            .find(|(i, _)| *i == id)
            .map_or_else(|| format!("cosigner-{id}"), |(_, n)| n.clone())
    }

    /// Coordinate `job`: send (with this cosigner's `last_signed` height, for peers that
    /// are behind), then `record` (this cosigner's record, durable before its own share
    /// is made), then combine. `Err` says why nothing was signed.
    fn coordinate(
        &self,
        chain_id: &str,
        job: &Job,
        last_signed: Option<i64>,
        record: impl FnOnce() -> Result<(), String>,
    ) -> Result<threshold::coordinate::Signed, String> {
        let coordinator = self
            .coordinator
            .get()
            .ok_or("the cosigner links are not up yet")?;
        let pending = coordinator
            .start(job, last_signed)
            .map_err(|e| e.to_string())?;
        record()?;
        let (result, report) = pending.finish();
        self.observe(chain_id, &report, result.is_ok());
        result.map_err(|e| e.to_string())
    }

    /// Sign arbitrary bytes (v1 `SignBytesRequest`); the peers apply their own policy.
    pub fn sign_raw(&self, value: &[u8]) -> Result<Vec<u8>, String> {
        let job = Job::Raw {
            bytes: value.to_vec(),
        };
        self.coordinate(&self.chain_id.clone(), &job, None, || Ok(()))
            .map(|s| s.main)
    }

    fn observe(&self, chain: &str, report: &Report, ok: bool) {
        for (peer, reason, message) in &report.refusals {
            tracing::warn!(chain, peer = %self.name(*peer), reason = %reason, "cosigner refused its share: {message}");
            self.metrics
                .peer_refusals
                .get_or_create(&TRefusal {
                    chain: chain.to_string(),
                    peer: self.name(*peer),
                    reason: reason.clone(),
                })
                .inc();
        }
        for peer in &report.bad_shares {
            tracing::error!(chain, peer = %self.name(*peer), "a cosigner's share does not verify: wrong share file or a faulty cosigner");
            self.metrics
                .peer_refusals
                .get_or_create(&TRefusal {
                    chain: chain.to_string(),
                    peer: self.name(*peer),
                    reason: "bad_share".into(),
                })
                .inc();
        }
        self.metrics
            .signatures
            .get_or_create(&SignatureLabels {
                chain: chain.to_string(),
                result: if ok { "signed" } else { "failed" }.into(),
            })
            .inc();
    }
}

impl ChainSigner {
    /// Attach this chain's threshold side (before it is shared).
    pub fn with_threshold(mut self, side: ThresholdSide) -> ChainSigner {
        self.threshold = Some(side);
        self
    }

    /// The threshold side, when the key is a threshold key.
    pub fn threshold(&self) -> Option<&ThresholdSide> {
        self.threshold.as_ref()
    }

    pub(super) fn sign_threshold(
        &self,
        t: &ThresholdSide,
        req: Request,
        signable: privval::Signable,
        start: Instant,
    ) -> (Response, Outcome) {
        let extension = match &req {
            Request::SignVote { chain_id, vote, .. } if self.wants_extension(&req) => {
                Some(privval::vote_extension_sign_bytes(chain_id, vote))
            }
            _ => None,
        };
        let greq = guard::Request {
            chain_id: &self.chain_id,
            hrs: signable.hrs,
            sign_bytes: &signable.sign_bytes,
            unstamped: &signable.unstamped,
        };
        self.confirm_height_jump(&greq);
        let _one = t.coordinating.lock().unwrap_or_else(|p| p.into_inner());
        let Ok(store) = self.store.lock() else {
            return self.poisoned(&req);
        };
        let limits = self.limits();
        let last_signed = Some(store.state().height);
        let decision = store.decide_share(&limits, &greq);
        tracing::debug!(chain = %self.chain_id, hrs = ?signable.hrs, decision = decision_name(&decision), "a node asked for a signature");
        let (bytes, stored_ts, result) = match decision {
            Decision::Sign(permit) => {
                let job = Job::Consensus {
                    sign_bytes: permit.sign_bytes().to_vec(),
                    extension,
                };
                let bytes = permit.sign_bytes().to_vec();
                // The store lock is released as soon as the record is durable, before
                // the wait for the peers, which may be asking this cosigner meanwhile.
                let record = move || {
                    let mut store = store;
                    store.record(permit, Vec::new()).map(|_| ()).map_err(|e| {
                        format!("sign state could not be persisted, refusing to sign: {e}")
                    })
                };
                let result = t.coordinate(&self.chain_id, &job, last_signed, record);
                (bytes, None, result)
            }
            Decision::ReturnStored {
                signature,
                sign_bytes,
            } => {
                let ts = match privval::unstamped_sign_bytes(&sign_bytes) {
                    Ok(u) => u.timestamp,
                    Err(e) => return (error(&req, codes::INTERNAL, e.to_string()), Outcome::Error),
                };
                drop(store);
                if !signature.is_empty() && extension.is_none() {
                    return self.respond(req, signature, None, Some(ts), Outcome::Resigned, start);
                }
                // The same data again, with no signature stored here (a share given to
                // another coordinator) or an extension to sign: sign the stored bytes.
                let job = Job::Consensus {
                    sign_bytes: sign_bytes.clone(),
                    extension,
                };
                let result = t.coordinate(&self.chain_id, &job, last_signed, || Ok(()));
                (sign_bytes, Some(ts), result)
            }
            Decision::Refuse(r) => {
                drop(store);
                self.count_refusal(r.code());
                let outcome = Outcome::Refused(r.code());
                return (error(&req, codes::REFUSED, r.to_string()), outcome);
            }
        };
        let signed = match result {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(chain = %self.chain_id, hrs = ?signable.hrs, "no threshold signature: {e}");
                return (error(&req, codes::INTERNAL, e), Outcome::Error);
            }
        };
        if let Ok(mut store) = self.store.lock() {
            // Best effort: the share record is durable already; this only lets a node
            // asking again get the signature back.
            if let Err(e) = store.complete(&bytes, signed.main.clone()) {
                tracing::warn!(chain = %self.chain_id, "could not store the finished signature: {e}");
            }
        }
        self.metrics
            .last_height
            .get_or_create(&self.chain_labels())
            .set(signable.hrs.height);
        let outcome = if stored_ts.is_some() {
            Outcome::Resigned
        } else {
            Outcome::Signed
        };
        self.respond(
            req,
            signed.main,
            signed.extension,
            stored_ts,
            outcome,
            start,
        )
    }

    fn respond(
        &self,
        req: Request,
        signature: Vec<u8>,
        extension_signature: Option<Vec<u8>>,
        timestamp: Option<privval::Timestamp>,
        outcome: Outcome,
        start: Instant,
    ) -> (Response, Outcome) {
        let resp = match req {
            Request::SignVote { mut vote, .. } => {
                if let Some(ts) = timestamp {
                    vote.timestamp = ts;
                }
                vote.signature = signature;
                if let Some(e) = extension_signature {
                    vote.extension_signature = e;
                }
                Response::SignedVote { vote }
            }
            Request::SignProposal { mut proposal, .. } => {
                if let Some(ts) = timestamp {
                    proposal.timestamp = ts;
                }
                proposal.signature = signature;
                Response::SignedProposal { proposal }
            }
            _ => unreachable!("only consensus requests get here"),
        };
        self.metrics
            .sign_seconds
            .get_or_create(&self.chain_labels())
            .observe(start.elapsed().as_secs_f64());
        (resp, outcome)
    }

    fn count_refusal(&self, reason: &str) {
        self.metrics
            .refusals
            .get_or_create(&RefusalLabels {
                chain: self.chain_id.clone(),
                reason: reason.into(),
            })
            .inc();
    }
}

impl ShareGuard for ChainSigner {
    fn last_signed_height(&self) -> Option<i64> {
        Some(self.last_signed().height)
    }

    fn approve(&self, job: &Job) -> Result<(), Refusal> {
        let (sign_bytes, extension) = match job {
            Job::Raw { bytes } => return self.approve_raw(bytes),
            Job::Consensus {
                sign_bytes,
                extension,
            } => (sign_bytes, extension),
        };
        let parsed = privval::read_consensus_sign_bytes(sign_bytes)
            .map_err(|e| Refusal::new("malformed", e.to_string()))?;
        if parsed.chain_id != self.chain_id {
            return Err(Refusal::new(
                "wrong_chain",
                format!(
                    "the sign bytes are for chain {:?}, this share is for {:?}",
                    parsed.chain_id, self.chain_id
                ),
            ));
        }
        if let Some(ext) = extension {
            let e = privval::vote_extension_from_sign_bytes(ext).ok_or_else(|| {
                Refusal::new(
                    "malformed",
                    "the extension bytes are not a canonical vote extension",
                )
            })?;
            let matches = self.line.has_vote_extensions()
                && parsed.msg_type == SignedMsgType::Precommit
                && parsed.for_block
                && e.height == parsed.hrs.height
                && e.round == i64::from(parsed.hrs.round)
                && e.chain_id == self.chain_id;
            if !matches {
                return Err(Refusal::new(
                    "extension_mismatch",
                    "a vote extension is signed only with a precommit for a block at its own height and round, on a line with extensions",
                ));
            }
        }
        let greq = guard::Request {
            chain_id: &self.chain_id,
            hrs: parsed.hrs,
            sign_bytes,
            unstamped: &parsed.unstamped,
        };
        self.confirm_height_jump(&greq);
        let Ok(mut store) = self.store.lock() else {
            return Err(Refusal::new("internal", self.poisoned_message()));
        };
        let decision = store.decide_share(&self.limits(), &greq);
        tracing::debug!(chain = %self.chain_id, hrs = ?parsed.hrs, decision = decision_name(&decision), "a peer asked for a share");
        match decision {
            Decision::Sign(permit) => {
                store.record(permit, Vec::new()).map_err(|e| {
                    Refusal::new(
                        "internal",
                        format!(
                            "sign state could not be persisted, refusing to release the share: {e}"
                        ),
                    )
                })?;
                drop(store);
                self.metrics
                    .last_height
                    .get_or_create(&self.chain_labels())
                    .set(parsed.hrs.height);
                Ok(())
            }
            Decision::ReturnStored { .. } => Ok(()),
            Decision::Refuse(r) => {
                drop(store);
                self.count_refusal(r.code());
                Err(Refusal::new(r.code(), r.to_string()))
            }
        }
    }
}

fn decision_name(d: &Decision) -> &'static str {
    match d {
        Decision::Sign(_) => "sign",
        Decision::ReturnStored { .. } => "same_data",
        Decision::Refuse(r) => r.code(),
    }
}

impl ChainSigner {
    fn approve_raw(&self, bytes: &[u8]) -> Result<(), Refusal> {
        if !self.allow_sign_bytes {
            return Err(Refusal::new(
                "sign_bytes_disabled",
                "signing arbitrary bytes is disabled for this chain on this cosigner (allow_sign_bytes)",
            ));
        }
        if privval::unstamped_sign_bytes(bytes).is_ok()
            || privval::vote_extension_from_sign_bytes(bytes).is_some()
        {
            return Err(Refusal::new(
                "sign_bytes_consensus",
                "refusing raw bytes that are a vote, proposal or vote extension: that would bypass the double-sign guard",
            ));
        }
        Ok(())
    }
}

//! One chain: its key, its guarded sign state, and the answer to each request.
//!
//! All node connections of a chain share one `ChainSigner`, so a primary and a backup
//! node can never make it sign twice: the guard decides under one lock, and the new state
//! is durable before the signature is handed back.

use crate::floor::TipProbe;
use crate::keys::KeyBackend;
use crate::metrics::{ChainLabels, Metrics, RefusalLabels, RequestLabels};
use guard::{Decision, Limits, StateStore};
use privval::{Line, RemoteSignerError, Request, Response, SignedMsgType};
use std::sync::Mutex;
use std::time::Instant;

pub mod cosign;
mod poison;

/// Error codes in `RemoteSignerError` (CometBFT logs them; it does not act on them).
pub mod codes {
    /// The double-sign guard refused the request.
    pub const REFUSED: i32 = 1;
    /// The request names another chain.
    pub const WRONG_CHAIN: i32 = 2;
    /// The request is malformed or not allowed in this line.
    pub const BAD_REQUEST: i32 = 3;
    /// The signer failed (state could not be persisted, key failure).
    pub const INTERNAL: i32 = 4;
}

/// A chain's signer.
#[derive(Debug)]
pub struct ChainSigner {
    chain_id: String,
    line: Line,
    key: Box<dyn KeyBackend>,
    store: Mutex<StateStore>,
    limits: Mutex<Limits>,
    allow_sign_bytes: bool,
    metrics: Metrics,
    tip_probe: Option<TipProbe>,
    threshold: Option<cosign::ThresholdSide>,
}

/// What happened to a request, for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A new signature was made.
    Signed,
    /// The stored signature was returned.
    Resigned,
    /// The guard (or the sign-bytes policy) refused, with the reason code (a
    /// `bulwark_signer_refusals_total` reason for the guard's refusals).
    Refused(&'static str),
    /// A bad request or an internal failure.
    Error,
    /// Ping or public key.
    Ok,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Signed => "signed",
            Outcome::Resigned => "resigned",
            Outcome::Refused(_) => "refused",
            Outcome::Error => "error",
            Outcome::Ok => "ok",
        }
    }
}

impl ChainSigner {
    /// A signer for `chain_id` speaking `line`.
    pub fn new(
        chain_id: String,
        line: Line,
        key: Box<dyn KeyBackend>,
        store: StateStore,
        limits: Limits,
        allow_sign_bytes: bool,
        metrics: Metrics,
    ) -> ChainSigner {
        let height = store.state().height;
        let s = ChainSigner {
            chain_id,
            line,
            key,
            store: Mutex::new(store),
            limits: Mutex::new(limits),
            allow_sign_bytes,
            metrics,
            tip_probe: None,
            threshold: None,
        };
        s.metrics
            .last_height
            .get_or_create(&s.chain_labels())
            .set(height);
        s
    }

    /// Chain ID.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// Protocol line.
    pub fn line(&self) -> Line {
        self.line
    }

    /// The signer's public key.
    pub fn public_key(&self) -> privval::PublicKey {
        self.key.public_key()
    }

    /// Confirm height jumps (requests more than `max_height_jump` above the last signed
    /// height) against the chain through `probe`.
    pub fn with_tip_probe(mut self, probe: TipProbe) -> ChainSigner {
        self.tip_probe = Some(probe);
        self
    }

    /// Raise the floor: nothing below `height` will be signed.
    pub fn raise_floor(&self, height: i64) {
        let mut l = self.lock_limits();
        l.floor_height = Some(l.floor_height.map_or(height, |f| f.max(height)));
    }

    /// Record a chain tip a usable source has shown (it only goes up).
    pub fn raise_chain_tip(&self, tip: i64) {
        let mut l = self.lock_limits();
        l.chain_tip = Some(l.chain_tip.map_or(tip, |t| t.max(tip)));
    }

    /// The current limits.
    pub fn limits(&self) -> Limits {
        *self.lock_limits()
    }

    /// The limits are plain values set whole, never left half-written, so a lock
    /// poisoned elsewhere still holds a valid value.
    fn lock_limits(&self) -> std::sync::MutexGuard<'_, Limits> {
        self.limits.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When `req` would be refused as a height jump, find where the chain's tip is and
    /// record it; the guard then decides with the fresh tip. For a threshold key, first
    /// from what the peers report of their own sign states (enough of them to make a
    /// signing set with this cosigner); then from the chain's RPC, out of the store lock,
    /// so other nodes are not held up.
    fn confirm_height_jump(&self, req: &guard::Request<'_>) {
        if !self.jumps(req) {
            return;
        }
        if let Some(tip) = self.threshold.as_ref().and_then(|t| t.vouched_tip()) {
            self.raise_chain_tip(tip);
            if !self.jumps(req) {
                return;
            }
        }
        if let Some(tip) = self.tip_probe.as_ref().and_then(|p| p.tip()) {
            self.raise_chain_tip(i64::try_from(tip).unwrap_or(i64::MAX));
        }
    }

    /// True when `req` is a height jump with the limits known now.
    fn jumps(&self, req: &guard::Request<'_>) -> bool {
        let Ok(store) = self.store.lock() else {
            return false;
        };
        guard::height_jump(store.state(), &self.limits(), req.hrs.height).is_err()
    }

    /// The last signed height, round and step.
    pub fn last_signed(&self) -> guard::Hrs {
        let store = self.store.lock();
        store.unwrap_or_else(|p| p.into_inner()).state().hrs()
    }

    /// Answer one request.
    pub fn handle(&self, req: Request) -> (Response, Outcome) {
        let kind = request_type(&req);
        let (resp, outcome) = self.answer(req);
        self.metrics
            .requests
            .get_or_create(&RequestLabels {
                chain: self.chain_id.clone(),
                r#type: kind.into(),
                result: outcome.as_str().into(),
            })
            .inc();
        (resp, outcome)
    }

    fn answer(&self, req: Request) -> (Response, Outcome) {
        if let Some(id) = req.chain_id() {
            if id != self.chain_id {
                let msg = format!(
                    "wrong chain ID: the node asked for {id:?} but this signer is configured for {:?}; \
                     check the node's genesis and the signer's [[chain]] id",
                    self.chain_id
                );
                return (error(&req, codes::WRONG_CHAIN, msg), Outcome::Error);
            }
        }
        let signs = matches!(
            req,
            Request::SignVote { .. } | Request::SignProposal { .. } | Request::SignBytes { .. }
        );
        if let Some(why) = self.key.sealed().filter(|_| signs) {
            let msg = format!("{why}; nothing was signed");
            return (error(&req, codes::REFUSED, msg), Outcome::Refused("sealed"));
        }
        match req {
            Request::Ping => (Response::Ping, Outcome::Ok),
            Request::PubKey { .. } => (
                Response::PubKey {
                    pub_key: self.key.public_key(),
                },
                Outcome::Ok,
            ),
            Request::SignBytes { ref value } => {
                if !self.allow_sign_bytes {
                    let msg = "signing arbitrary bytes is disabled for this chain; set allow_sign_bytes = true in its [[chain]] only if the chain needs it".to_string();
                    let r = Outcome::Refused("sign_bytes_disabled");
                    return (error(&req, codes::BAD_REQUEST, msg), r);
                }
                if self.store.is_poisoned() {
                    return self.poisoned(&req);
                }
                if privval::unstamped_sign_bytes(value).is_ok() {
                    let msg = "refusing SignBytes over bytes that parse as a canonical vote or proposal: that would bypass the double-sign guard".to_string();
                    let r = Outcome::Refused("sign_bytes_consensus");
                    return (error(&req, codes::REFUSED, msg), r);
                }
                if privval::vote_extension_from_sign_bytes(value).is_some() {
                    let msg = "refusing SignBytes over bytes that are a canonical vote extension: extensions are signed only with their precommit, through the double-sign guard".to_string();
                    let r = Outcome::Refused("sign_bytes_vote_extension");
                    return (error(&req, codes::REFUSED, msg), r);
                }
                let signed = match &self.threshold {
                    Some(t) => t.sign_raw(value),
                    None => self.key.sign(value).map_err(|e| e.to_string()),
                };
                match signed {
                    Ok(signature) => (Response::SignBytes { signature }, Outcome::Signed),
                    Err(e) => (error(&req, codes::INTERNAL, e), Outcome::Error),
                }
            }
            Request::SignVote { .. } | Request::SignProposal { .. } => self.sign_consensus(req),
        }
    }

    /// The checks every vote or proposal passes before the guard sees it; the request's
    /// sign bytes when it passes.
    fn signable(&self, req: &Request) -> Result<privval::Signable, Box<(Response, Outcome)>> {
        let signable = match req.signable() {
            Ok(Some(s)) => s,
            Ok(None) => unreachable!("votes and proposals are signable"),
            Err(e) => {
                return Err(Box::new((
                    error(req, codes::BAD_REQUEST, e.to_string()),
                    Outcome::Error,
                )))
            }
        };
        let block_id = match req {
            Request::SignVote { vote, .. } => &vote.block_id,
            Request::SignProposal { proposal, .. } => &proposal.block_id,
            _ => unreachable!("only consensus requests get here"),
        };
        if let Err(e) = block_id.validate() {
            let msg = format!("malformed block ID ({e}); refusing");
            return Err(Box::new((
                error(req, codes::BAD_REQUEST, msg),
                Outcome::Error,
            )));
        }
        if let Request::SignVote { vote, .. } = req {
            if !self.line.has_vote_extensions() && !vote.extension.is_empty() {
                let msg = format!(
                    "vote extensions do not exist in CometBFT {}; refusing",
                    self.line
                );
                return Err(Box::new((
                    error(req, codes::BAD_REQUEST, msg),
                    Outcome::Error,
                )));
            }
            if !vote.signs_extension() && !vote.extension.is_empty() {
                let msg = "a vote extension is only allowed on a precommit for a block; refusing"
                    .to_string();
                return Err(Box::new((
                    error(req, codes::BAD_REQUEST, msg),
                    Outcome::Error,
                )));
            }
        }
        Ok(signable)
    }

    /// Whether the node wants the vote extension of `req` signed (every precommit for a
    /// block on lines with extensions, unless the node asks to skip it).
    fn wants_extension(&self, req: &Request) -> bool {
        match req {
            Request::SignVote {
                vote,
                skip_extension_signing,
                ..
            } => {
                self.line.has_vote_extensions() && !skip_extension_signing && vote.signs_extension()
            }
            _ => false,
        }
    }

    fn sign_consensus(&self, req: Request) -> (Response, Outcome) {
        let start = Instant::now();
        let signable = match self.signable(&req) {
            Ok(s) => s,
            Err(answer) => return *answer,
        };
        if let Some(t) = &self.threshold {
            return self.sign_threshold(t, req, signable, start);
        }
        let greq = guard::Request {
            chain_id: &self.chain_id,
            hrs: signable.hrs,
            sign_bytes: &signable.sign_bytes,
            unstamped: &signable.unstamped,
        };
        self.confirm_height_jump(&greq);
        // Decide, sign and persist under the chain's lock; the signature leaves this block
        // only once its record is durable.
        let (signature, timestamp, outcome) = {
            let Ok(mut store) = self.store.lock() else {
                return self.poisoned(&req);
            };
            let limits = *self.lock_limits();
            match store.decide(&limits, &greq) {
                Decision::Sign(permit) => {
                    let sig = match self.key.sign(permit.sign_bytes()) {
                        Ok(s) => s,
                        // Nothing was signed and nothing recorded; counted and logged
                        // like a refusal so that a failing key (a token gone) is seen.
                        Err(e) => {
                            self.metrics
                                .refusals
                                .get_or_create(&RefusalLabels {
                                    chain: self.chain_id.clone(),
                                    reason: "key_failed".into(),
                                })
                                .inc();
                            let msg = format!("{e}; nothing was signed");
                            let outcome = Outcome::Refused("key_failed");
                            return (error(&req, codes::INTERNAL, msg), outcome);
                        }
                    };
                    match store.record(permit, sig) {
                        Ok(sig) => (sig, None, Outcome::Signed),
                        Err(e) => {
                            let msg =
                                format!("sign state could not be persisted, refusing to sign: {e}");
                            tracing::error!(chain = %self.chain_id, "{msg}");
                            return (error(&req, codes::INTERNAL, msg), Outcome::Error);
                        }
                    }
                }
                Decision::ReturnStored {
                    signature,
                    sign_bytes,
                } => match privval::unstamped_sign_bytes(&sign_bytes) {
                    Ok(u) => (signature, Some(u.timestamp), Outcome::Resigned),
                    Err(e) => return (error(&req, codes::INTERNAL, e.to_string()), Outcome::Error),
                },
                Decision::Refuse(r) => {
                    self.metrics
                        .refusals
                        .get_or_create(&RefusalLabels {
                            chain: self.chain_id.clone(),
                            reason: r.code().into(),
                        })
                        .inc();
                    // The session logs it, rate-limited per node and reason.
                    let outcome = Outcome::Refused(r.code());
                    return (error(&req, codes::REFUSED, r.to_string()), outcome);
                }
            }
        };
        let labels = self.chain_labels();
        if outcome == Outcome::Signed {
            self.metrics
                .last_height
                .get_or_create(&labels)
                .set(signable.hrs.height);
        }
        let resp = match req {
            Request::SignVote {
                chain_id,
                mut vote,
                skip_extension_signing,
            } => {
                if let Some(ts) = timestamp {
                    vote.timestamp = ts;
                }
                vote.signature = signature;
                // Extension signatures are not slashable and CometBFT's own signer makes
                // them afresh each time; they go with every precommit for a block.
                if self.line.has_vote_extensions()
                    && !skip_extension_signing
                    && vote.signs_extension()
                {
                    match self
                        .key
                        .sign(&privval::vote_extension_sign_bytes(&chain_id, &vote))
                    {
                        Ok(s) => vote.extension_signature = s,
                        Err(e) => {
                            let r = Request::SignVote {
                                chain_id,
                                vote,
                                skip_extension_signing,
                            };
                            return (error(&r, codes::INTERNAL, e.to_string()), Outcome::Error);
                        }
                    }
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
            .get_or_create(&labels)
            .observe(start.elapsed().as_secs_f64());
        (resp, outcome)
    }

    fn chain_labels(&self) -> ChainLabels {
        ChainLabels {
            chain: self.chain_id.clone(),
        }
    }
}

fn error(req: &Request, code: i32, description: String) -> Response {
    req.error_response(RemoteSignerError { code, description })
        .unwrap_or(Response::Ping)
}

fn request_type(req: &Request) -> &'static str {
    match req {
        Request::PubKey { .. } => "pubkey",
        Request::Ping => "ping",
        Request::SignBytes { .. } => "sign_bytes",
        Request::SignProposal { .. } => "proposal",
        Request::SignVote { vote, .. } => match vote.msg_type {
            SignedMsgType::Prevote => "prevote",
            SignedMsgType::Precommit => "precommit",
            _ => "vote_other",
        },
    }
}

//! The cosigner side: answer a coordinator's requests on one link.
//!
//! A share leaves only after three checks: the nonces named are ones this cosigner made
//! for this link and never used (they are taken out first, so a replay finds nothing);
//! the packages are for this chain's key and carry this cosigner's commitments; and the
//! cosigner's own guard accepted the message and made its record durable.

use crate::nonces::Issued;
use crate::tips::PeerTips;
use crate::wire::{Frame, Job, Package, Part, Request, Response, SignRequest, MAX_COMMIT_BATCH};
use frost_ed25519::keys::KeyPackage;
use frost_ed25519::round1::SigningNonces;
use frost_ed25519::{round2, Identifier, SigningPackage};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Most packages one `Sign` request may carry.
pub const MAX_PACKAGES: usize = 64;

/// The double-sign guard of one chain, as a cosigner uses it before releasing a share.
pub trait ShareGuard: Send + Sync + std::fmt::Debug {
    /// Check `job` against this cosigner's sign state and make the record durable;
    /// `Ok` means the share may leave.
    fn approve(&self, job: &Job) -> Result<(), Refusal>;

    /// This cosigner's last signed height for the chain, told to the peers with its
    /// nonce commitments ([`crate::tips`]); `None` tells nothing.
    fn last_signed_height(&self) -> Option<i64> {
        None
    }
}

/// Why a share was not released.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// A short stable code (a metrics label).
    pub reason: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

impl Refusal {
    /// A refusal.
    pub fn new(reason: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            reason,
            message: message.into(),
        }
    }
}

/// One chain this cosigner holds a share for.
#[derive(Debug, Clone)]
pub struct ServedChain {
    /// This cosigner's share.
    pub key: KeyPackage,
    /// The chain's guard.
    pub guard: Arc<dyn ShareGuard>,
    /// What the peers report of their sign states for the chain, which the guard reads
    /// to confirm height jumps.
    pub tips: Arc<PeerTips>,
}

/// Every chain this cosigner serves.
#[derive(Debug, Default)]
pub struct Server {
    chains: HashMap<String, ServedChain>,
}

impl Server {
    /// Serve `chain_id` with `chain`.
    pub fn add(&mut self, chain_id: &str, chain: ServedChain) {
        self.chains.insert(chain_id.to_string(), chain);
    }

    /// Peer `peer` reports its last signed height for `chain_id`.
    pub fn note_tip(&self, chain_id: &str, peer: u16, height: i64) {
        if let Some(c) = self.chains.get(chain_id) {
            c.tips.note(peer, height);
        }
    }

    /// A session for the link with the cosigner whose share id is `coordinator`.
    pub fn session(self: &Arc<Self>, coordinator: u16) -> Session {
        Session {
            server: Arc::clone(self),
            coordinator,
            issued: Issued::default(),
            last_id: 0,
        }
    }
}

/// The state of one link: the nonces made for its coordinator, and the last request id.
#[derive(Debug)]
pub struct Session {
    server: Arc<Server>,
    coordinator: u16,
    issued: Issued,
    last_id: u64,
}

impl Session {
    /// The coordinator's share id.
    pub fn coordinator(&self) -> u16 {
        self.coordinator
    }

    /// Answer one request. A refusal says why; nothing is signed then.
    pub fn handle(&mut self, frame: Frame<Request>) -> (Frame<Response>, Option<Refusal>) {
        let id = frame.id;
        let answer = if id <= self.last_id {
            Err(Refusal::new(
                "replay",
                format!(
                    "request id {id} is not above the last one ({}) on this link: a replayed or reordered message; nothing signed",
                    self.last_id
                ),
            ))
        } else {
            self.last_id = id;
            match frame.body {
                Request::Commit { chain_id, count } => self.commit(&chain_id, count),
                Request::Sign(req) => self.sign(req),
            }
        };
        match answer {
            Ok(body) => (Frame { id, body }, None),
            Err(r) => (
                Frame {
                    id,
                    body: Response::refused(r.reason, r.message.clone()),
                },
                Some(r),
            ),
        }
    }

    fn chain(&self, chain_id: &str) -> Result<ServedChain, Refusal> {
        self.server.chains.get(chain_id).cloned().ok_or_else(|| {
            Refusal::new(
                "unknown_chain",
                format!("this cosigner holds no share for chain {chain_id:?}; check the [[chain]] sections of both cosigners"),
            )
        })
    }

    fn commit(&mut self, chain_id: &str, count: u16) -> Result<Response, Refusal> {
        let chain = self.chain(chain_id)?;
        if count > MAX_COMMIT_BATCH {
            return Err(Refusal::new(
                "malformed",
                format!("asked for {count} nonces at once; at most {MAX_COMMIT_BATCH}"),
            ));
        }
        let list = self
            .issued
            .issue(chain_id, chain.key.signing_share(), usize::from(count));
        Ok(Response::Commitments {
            chain_id: chain_id.to_string(),
            list,
            last_signed: chain.guard.last_signed_height(),
        })
    }

    fn sign(&mut self, req: SignRequest) -> Result<Response, Refusal> {
        let chain = self.chain(&req.chain_id)?;
        let ours = hex::encode(
            chain
                .key
                .verifying_key()
                .serialize()
                .map_err(|e| Refusal::new("internal", e.to_string()))?,
        );
        if req.group_key != ours {
            return Err(Refusal::new(
                "wrong_key",
                format!(
                    "the request is for group key {} but this cosigner's share of chain {:?} is of key {ours}; the two cosigners hold shares of different keys, check their share files",
                    req.group_key, req.chain_id
                ),
            ));
        }
        if req.packages.is_empty() || req.packages.len() > MAX_PACKAGES {
            return Err(Refusal::new(
                "malformed",
                format!(
                    "{} packages; 1 to {MAX_PACKAGES} allowed",
                    req.packages.len()
                ),
            ));
        }
        // Take every nonce out before anything else, so that none can ever be used twice.
        let mut nonces = Vec::with_capacity(req.packages.len());
        for p in &req.packages {
            match self.issued.take(&req.chain_id, p.nonce) {
                Some(n) => nonces.push(n),
                None => {
                    return Err(Refusal::new(
                        "unknown_nonce",
                        format!("nonce {} was not made on this link or is used already: a replayed or stale request; nothing signed", p.nonce),
                    ))
                }
            }
        }
        let packages = req
            .packages
            .iter()
            .zip(&nonces)
            .map(|(p, n)| self.package(&chain.key, &req.job, p, n))
            .collect::<Result<Vec<_>, _>>()?;
        // The coordinator's own state, from a well-formed request on its pinned link:
        // the guard may confirm a height jump with it.
        if let Some(h) = req.last_signed {
            chain.tips.note(self.coordinator, h);
        }
        chain.guard.approve(&req.job)?;
        let shares = packages
            .iter()
            .zip(&nonces)
            .map(|(pkg, n)| round2::sign(pkg, n, &chain.key))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Refusal::new("bad_package", format!("signing failed: {e}")))?;
        Ok(Response::Shares { shares })
    }

    /// The signing package for `p`, checked: this cosigner's and the coordinator's
    /// commitments in it, ours the nonce's.
    fn package(
        &self,
        key: &KeyPackage,
        job: &Job,
        p: &Package,
        nonces: &SigningNonces,
    ) -> Result<SigningPackage, Refusal> {
        let bad = |m: String| Refusal::new("bad_package", m);
        let message = match (job, p.part) {
            (Job::Consensus { sign_bytes, .. }, Part::Main) => sign_bytes,
            (Job::Raw { bytes }, Part::Main) => bytes,
            (
                Job::Consensus {
                    extension: Some(e), ..
                },
                Part::Extension,
            ) => e,
            _ => {
                return Err(bad(
                    "a package for a vote extension the job does not carry".into()
                ))
            }
        };
        let mut commitments = BTreeMap::new();
        for (id, c) in &p.commitments {
            let ident =
                Identifier::try_from(*id).map_err(|e| bad(format!("share id {id}: {e}")))?;
            if commitments.insert(ident, *c).is_some() {
                return Err(bad(format!("share id {id} appears twice")));
            }
        }
        let me = *key.identifier();
        if commitments.get(&me) != Some(nonces.commitments()) {
            return Err(bad(
                "the package does not carry this cosigner's commitment for the nonce named".into(),
            ));
        }
        let coordinator = Identifier::try_from(self.coordinator)
            .map_err(|e| bad(format!("coordinator id: {e}")))?;
        if !commitments.contains_key(&coordinator) {
            return Err(bad(
                "the package leaves out the coordinator that sent it".into()
            ));
        }
        if commitments.len() != usize::from(*key.min_signers()) {
            return Err(bad(format!(
                "{} signers in the package; the key needs exactly {}",
                commitments.len(),
                key.min_signers()
            )));
        }
        Ok(SigningPackage::new(commitments, message))
    }
}

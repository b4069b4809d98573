//! The coordinator side: one node request becomes one signature in one round trip.
//!
//! The coordinator picks signer sets of `t` (itself and `t - 1` peers, best first),
//! makes its own nonces on the spot, takes each peer's next pre-shared commitment, and
//! sends every peer one request holding a package for each set it is in. The first set
//! whose shares all arrive and verify makes the signature; the rest are dropped (their
//! nonces are spent, never reused). The coordinator computes its own share only in
//! [`Pending::finish`], after the caller has made its own record durable.

use crate::wire::{Job, Package, Part, Response, SignRequest};
use frost_ed25519::keys::{KeyPackage, PublicKeyPackage};
use frost_ed25519::round1::{self, SigningCommitments, SigningNonces};
use frost_ed25519::round2::SignatureShare;
use frost_ed25519::{Identifier, SigningPackage};
use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most signer sets tried at once for one signature.
pub const MAX_SETS: usize = 6;

/// An answer from a peer, or why there is none.
pub type Reply = (u16, Result<Response, String>);

/// The links from this coordinator to its peers.
pub trait PeerSet: Send + Sync + std::fmt::Debug {
    /// Share ids of the peers that are connected now, best (fastest) first.
    fn ready(&self) -> Vec<u16>;
    /// Take the next commitment `peer` made for `chain_id` (spent from now on).
    fn take_commitment(&self, peer: u16, chain_id: &str) -> Option<(u64, SigningCommitments)>;
    /// Send `req` to `peer`; its answer or the link's failure goes to `reply`.
    fn send(&self, peer: u16, req: SignRequest, reply: Sender<Reply>);
}

/// Why no signature was made. Nothing was signed by this coordinator then.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoordError {
    /// Not enough peers are connected with nonces ready.
    #[error("threshold signing needs {needed} more cosigner(s) but only {ready} are connected with nonces ready{}", problems_text(.problems))]
    TooFewPeers {
        /// Peers needed besides this one.
        needed: usize,
        /// Peers ready.
        ready: usize,
        /// What is known about the others.
        problems: Vec<(u16, String)>,
    },
    /// No signer set completed.
    #[error("no {threshold} cosigners agreed on this signature{}", problems_text(.problems))]
    NoQuorum {
        /// The threshold.
        threshold: u16,
        /// Each peer's problem.
        problems: Vec<(u16, String)>,
    },
    /// Local failure.
    #[error("threshold signing failed: {0}")]
    Internal(String),
}

fn problems_text(problems: &[(u16, String)]) -> String {
    problems
        .iter()
        .map(|(id, p)| format!("; cosigner {id}: {p}"))
        .collect()
}

/// A finished threshold signature.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The Ed25519 signature over the main message.
    pub main: Vec<u8>,
    /// Over the vote extension, when the job had one.
    pub extension: Option<Vec<u8>>,
    /// The peers whose shares made it.
    pub signers: Vec<u16>,
}

/// What happened with each peer during one signature, for metrics and logs.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Round-trip times of the answers that arrived.
    pub round_trips: Vec<(u16, Duration)>,
    /// Peers that refused, with the reason code and message.
    pub refusals: Vec<(u16, String, String)>,
    /// Peers whose shares did not verify.
    pub bad_shares: Vec<u16>,
}

/// One chain's coordinator.
#[derive(Debug)]
pub struct Coordinator {
    chain_id: String,
    key: KeyPackage,
    public: PublicKeyPackage,
    group_key: String,
    peers: Arc<dyn PeerSet>,
    timeout: Duration,
}

struct Set {
    peers: Vec<u16>,
    main: (SigningPackage, SigningNonces),
    extension: Option<(SigningPackage, SigningNonces)>,
    shares: HashMap<(u16, Part), SignatureShare>,
    failed: bool,
}

/// A signature under way: requests sent, shares not yet combined.
pub struct Pending {
    chain_id: String,
    key: KeyPackage,
    public: PublicKeyPackage,
    threshold: u16,
    sets: Vec<Set>,
    /// Per peer: which set and part each of its packages is.
    slots: HashMap<u16, Vec<(usize, Part)>>,
    rx: Receiver<Reply>,
    sent_at: Instant,
    deadline: Instant,
    report: Report,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("chain_id", &self.chain_id)
            .field("sets", &self.sets.len())
            .finish()
    }
}

impl Coordinator {
    /// A coordinator for `chain_id` with this cosigner's share.
    pub fn new(
        chain_id: &str,
        key: KeyPackage,
        public: PublicKeyPackage,
        peers: Arc<dyn PeerSet>,
        timeout: Duration,
    ) -> Result<Coordinator, CoordError> {
        let group_key = hex::encode(
            public
                .verifying_key()
                .serialize()
                .map_err(|e| CoordError::Internal(e.to_string()))?,
        );
        Ok(Coordinator {
            chain_id: chain_id.to_string(),
            key,
            public,
            group_key,
            peers,
            timeout,
        })
    }

    /// The threshold.
    pub fn threshold(&self) -> u16 {
        *self.key.min_signers()
    }

    /// Send the requests for `job` to the peers of up to [`MAX_SETS`] signer sets, with
    /// this cosigner's `last_signed` height (its durable state before `job`).
    pub fn start(&self, job: &Job, last_signed: Option<i64>) -> Result<Pending, CoordError> {
        let need = usize::from(self.threshold()) - 1;
        let ready = self.peers.ready();
        if ready.len() < need {
            return Err(CoordError::TooFewPeers {
                needed: need,
                ready: ready.len(),
                problems: Vec::new(),
            });
        }
        let with_ext = matches!(
            job,
            Job::Consensus {
                extension: Some(_),
                ..
            }
        );
        let me = u16::from_be_bytes(id_bytes(self.key.identifier()));
        let mut sets = Vec::new();
        let mut requests: HashMap<u16, Vec<Package>> = HashMap::new();
        let mut slots: HashMap<u16, Vec<(usize, Part)>> = HashMap::new();
        let mut dry = Vec::new();
        for group in combinations(&ready, need).take(MAX_SETS) {
            // Take each peer's commitments; a set with a peer out of nonces is skipped.
            let mut taken: Vec<(u16, Part, u64, SigningCommitments)> = Vec::new();
            let parts: &[Part] = if with_ext {
                &[Part::Main, Part::Extension]
            } else {
                &[Part::Main]
            };
            let mut complete = true;
            'peers: for &peer in &group {
                for &part in parts {
                    match self.peers.take_commitment(peer, &self.chain_id) {
                        Some((nonce, c)) => taken.push((peer, part, nonce, c)),
                        None => {
                            dry.push(peer);
                            complete = false;
                            break 'peers;
                        }
                    }
                }
            }
            if !complete {
                continue;
            }
            let idx = sets.len();
            let make = |part: Part| -> Result<Made, CoordError> {
                let (nonces, mine) =
                    round1::commit(self.key.signing_share(), &mut rand_core::OsRng);
                let mut list = vec![(me, mine)];
                list.extend(taken.iter().filter(|t| t.1 == part).map(|t| (t.0, t.3)));
                let map: BTreeMap<Identifier, SigningCommitments> = list
                    .iter()
                    .map(|(id, c)| Ok((identifier(*id)?, *c)))
                    .collect::<Result<_, CoordError>>()?;
                let msg = message(job, part);
                Ok((SigningPackage::new(map, msg), nonces, list))
            };
            let (main_pkg, main_nonces, main_list) = make(Part::Main)?;
            let ext = if with_ext {
                Some(make(Part::Extension)?)
            } else {
                None
            };
            for (peer, part, nonce, _) in &taken {
                let list = match part {
                    Part::Main => main_list.clone(),
                    Part::Extension => ext.as_ref().map(|e| e.2.clone()).unwrap_or_default(),
                };
                requests.entry(*peer).or_default().push(Package {
                    part: *part,
                    nonce: *nonce,
                    commitments: list,
                });
                slots.entry(*peer).or_default().push((idx, *part));
            }
            sets.push(Set {
                peers: group.clone(),
                main: (main_pkg, main_nonces),
                extension: ext.map(|(p, n, _)| (p, n)),
                shares: HashMap::new(),
                failed: false,
            });
        }
        if sets.is_empty() {
            dry.sort_unstable();
            dry.dedup();
            return Err(CoordError::TooFewPeers {
                needed: need,
                ready: ready.len() - dry.len(),
                problems: dry
                    .into_iter()
                    .map(|p| (p, "no nonces ready yet".to_string()))
                    .collect(),
            });
        }
        let (tx, rx) = mpsc::channel();
        let sent_at = Instant::now();
        for (peer, packages) in requests {
            let req = SignRequest {
                chain_id: self.chain_id.clone(),
                group_key: self.group_key.clone(),
                job: job.clone(),
                packages,
                last_signed,
            };
            self.peers.send(peer, req, tx.clone());
        }
        Ok(Pending {
            chain_id: self.chain_id.clone(),
            key: self.key.clone(),
            public: self.public.clone(),
            threshold: self.threshold(),
            sets,
            slots,
            rx,
            sent_at,
            deadline: sent_at + self.timeout,
            report: Report::default(),
        })
    }
}

impl Pending {
    /// Wait for the shares and combine the first set that completes, with this
    /// cosigner's own shares made now. Call it only once this cosigner's record of the
    /// job is durable.
    pub fn finish(mut self) -> (Result<Signed, CoordError>, Report) {
        let mut problems: HashMap<u16, String> = HashMap::new();
        let mut waiting: Vec<u16> = self.slots.keys().copied().collect();
        while !waiting.is_empty() {
            let left = self.deadline.saturating_duration_since(Instant::now());
            let (peer, answer) = match self.rx.recv_timeout(left) {
                Ok(r) => r,
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => break,
            };
            waiting.retain(|p| *p != peer);
            let slots = self.slots.get(&peer).cloned().unwrap_or_default();
            match answer {
                Ok(Response::Shares { shares }) if shares.len() == slots.len() => {
                    self.report.round_trips.push((peer, self.sent_at.elapsed()));
                    for ((set, part), share) in slots.into_iter().zip(shares) {
                        self.sets[set].shares.insert((peer, part), share);
                    }
                }
                Ok(Response::Shares { shares }) => {
                    let msg = format!("sent {} shares for {} packages", shares.len(), slots.len());
                    self.fail_peer(peer, &mut problems, msg);
                }
                Ok(Response::Refused { reason, message }) => {
                    self.report.round_trips.push((peer, self.sent_at.elapsed()));
                    self.report
                        .refusals
                        .push((peer, reason.clone(), message.clone()));
                    self.fail_peer(
                        peer,
                        &mut problems,
                        format!("refused ({reason}): {message}"),
                    );
                }
                Ok(Response::Commitments { .. }) => {
                    self.fail_peer(peer, &mut problems, "answered with commitments".into());
                }
                Err(e) => self.fail_peer(peer, &mut problems, e),
            }
            for i in 0..self.sets.len() {
                if let Some(signed) = self.try_set(i, &mut problems) {
                    return (Ok(signed), self.report);
                }
            }
            if self.sets.iter().all(|s| s.failed) {
                break;
            }
        }
        for peer in waiting {
            problems
                .entry(peer)
                .or_insert_with(|| "no answer in time".to_string());
        }
        let mut problems: Vec<(u16, String)> = problems.into_iter().collect();
        problems.sort();
        (
            Err(CoordError::NoQuorum {
                threshold: self.threshold,
                problems,
            }),
            self.report,
        )
    }

    fn fail_peer(&mut self, peer: u16, problems: &mut HashMap<u16, String>, why: String) {
        for s in &mut self.sets {
            if s.peers.contains(&peer) {
                s.failed = true;
            }
        }
        problems.insert(peer, why);
    }

    fn try_set(&mut self, i: usize, problems: &mut HashMap<u16, String>) -> Option<Signed> {
        let set = &self.sets[i];
        let parts: &[Part] = if set.extension.is_some() {
            &[Part::Main, Part::Extension]
        } else {
            &[Part::Main]
        };
        if set.failed
            || !set.peers.iter().all(|p| {
                parts
                    .iter()
                    .all(|part| set.shares.contains_key(&(*p, *part)))
            })
        {
            return None;
        }
        let main = self.combine(i, Part::Main);
        let ext = self.sets[i]
            .extension
            .as_ref()
            .map(|_| self.combine(i, Part::Extension));
        match (main, ext.transpose()) {
            (Ok(main), Ok(extension)) => Some(Signed {
                main,
                extension,
                signers: self.sets[i].peers.clone(),
            }),
            (Err(culprits), _) | (_, Err(culprits)) => {
                self.sets[i].failed = true;
                for c in culprits {
                    self.report.bad_shares.push(c);
                    problems.insert(c, "its share does not verify against its public share: a wrong share file, or a faulty cosigner".into());
                }
                None
            }
        }
    }

    /// Own share now, then aggregate (which verifies the result against the group key).
    fn combine(&self, i: usize, part: Part) -> Result<Vec<u8>, Vec<u16>> {
        let set = &self.sets[i];
        let (pkg, nonces) = match part {
            Part::Main => &set.main,
            Part::Extension => set.extension.as_ref().ok_or_else(Vec::new)?,
        };
        let own = frost_ed25519::round2::sign(pkg, nonces, &self.key).map_err(|_| Vec::new())?;
        let mut shares = BTreeMap::new();
        shares.insert(*self.key.identifier(), own);
        for p in &set.peers {
            let id = identifier(*p).map_err(|_| vec![*p])?;
            shares.insert(id, set.shares[&(*p, part)]);
        }
        match frost_ed25519::aggregate(pkg, &shares, &self.public) {
            Ok(sig) => sig.serialize().map_err(|_| Vec::new()),
            Err(e) => Err(e
                .culprits()
                .iter()
                .map(|c| u16::from_be_bytes(id_bytes(c)))
                .collect()),
        }
    }
}

fn message(job: &Job, part: Part) -> &[u8] {
    match (job, part) {
        (Job::Consensus { sign_bytes, .. }, Part::Main) => sign_bytes,
        (Job::Consensus { extension, .. }, Part::Extension) => extension.as_deref().unwrap_or(&[]),
        (Job::Raw { bytes }, _) => bytes,
    }
}

fn identifier(id: u16) -> Result<Identifier, CoordError> {
    Identifier::try_from(id).map_err(|e| CoordError::Internal(format!("share id {id}: {e}")))
}

/// The share id behind an identifier made from a `u16` (FROST serializes the scalar
/// little-endian).
fn id_bytes(id: &Identifier) -> [u8; 2] {
    let b = id.serialize();
    [
        b.get(1).copied().unwrap_or(0),
        b.first().copied().unwrap_or(0),
    ]
}

/// A package, this cosigner's nonces for it, and everyone's commitments.
type Made = (
    SigningPackage,
    SigningNonces,
    Vec<(u16, SigningCommitments)>,
);

/// Every `k`-subset of `items`, in order (best peers first).
fn combinations(items: &[u16], k: usize) -> impl Iterator<Item = Vec<u16>> + '_ {
    let n = items.len();
    let mut idx: Vec<usize> = (0..k).collect();
    let mut done = k > n;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let out = idx.iter().map(|&i| items[i]).collect();
        // Advance to the next combination.
        let mut i = k;
        loop {
            if i == 0 {
                done = true;
                break;
            }
            i -= 1;
            if idx[i] < n - k + i {
                idx[i] += 1;
                for j in i + 1..k {
                    idx[j] = idx[j - 1] + 1;
                }
                break;
            }
        }
        Some(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_in_order() {
        let c: Vec<_> = combinations(&[2, 3, 4], 2).collect();
        assert_eq!(c, vec![vec![2, 3], vec![2, 4], vec![3, 4]]);
        let one: Vec<_> = combinations(&[5, 6], 1).collect();
        assert_eq!(one, vec![vec![5], vec![6]]);
        assert_eq!(combinations(&[1], 2).count(), 0);
        assert_eq!(
            combinations(&[1, 2], 0).collect::<Vec<_>>(),
            vec![Vec::<u16>::new()]
        );
    }

    #[test]
    fn identifiers_map_back_to_share_ids() {
        for id in [1u16, 2, 3, 255, 256, 4000] {
            let ident = Identifier::try_from(id).unwrap();
            assert_eq!(u16::from_be_bytes(id_bytes(&ident)), id);
        }
    }
}

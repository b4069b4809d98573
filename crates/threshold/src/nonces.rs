//! Nonces made ahead (FROST's preprocessing), so that a signature costs one round trip.
//!
//! A cosigner makes nonces for one coordinator on one link and keeps them in memory
//! only ([`Issued`]); the coordinator keeps their commitments ([`Pool`]). A nonce is
//! taken out before it is used, so it is used at most once; it dies with the link, and
//! all of them with the process, so a crash can never reuse one.

use frost_ed25519::keys::SigningShare;
use frost_ed25519::round1::{self, SigningCommitments, SigningNonces};
use std::collections::{HashMap, VecDeque};

/// Most nonces a cosigner keeps for one coordinator and chain.
pub const MAX_OUTSTANDING: usize = 1024;

/// The nonces a cosigner made for the coordinator at the other end of one link.
#[derive(Default)]
pub struct Issued {
    next: u64,
    by_chain: HashMap<String, HashMap<u64, SigningNonces>>,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let counts: HashMap<&str, usize> = self
            .by_chain
            .iter()
            .map(|(c, n)| (c.as_str(), n.len()))
            .collect();
        f.debug_struct("Issued")
            .field("outstanding", &counts)
            .finish()
    }
}

impl Issued {
    /// Make up to `count` nonces for `chain_id` with `share` (fewer when
    /// [`MAX_OUTSTANDING`] would be passed), returning their ids and commitments.
    pub fn issue(
        &mut self,
        chain_id: &str,
        share: &SigningShare,
        count: usize,
    ) -> Vec<(u64, SigningCommitments)> {
        let held = self.by_chain.entry(chain_id.to_string()).or_default();
        let room = MAX_OUTSTANDING.saturating_sub(held.len());
        let mut rng = rand_core::OsRng;
        (0..count.min(room))
            .map(|_| {
                self.next += 1;
                let (nonces, commitments) = round1::commit(share, &mut rng);
                held.insert(self.next, nonces);
                (self.next, commitments)
            })
            .collect()
    }

    /// Take nonce `id` of `chain_id` out, so it can never be used again; `None` when it
    /// was never issued on this link or is already used.
    pub fn take(&mut self, chain_id: &str, id: u64) -> Option<SigningNonces> {
        self.by_chain.get_mut(chain_id)?.remove(&id)
    }

    /// How many nonces are held for `chain_id`.
    pub fn outstanding(&self, chain_id: &str) -> usize {
        self.by_chain.get(chain_id).map_or(0, HashMap::len)
    }
}

/// The commitments one peer sent this coordinator, per chain, oldest first.
#[derive(Debug, Default)]
pub struct Pool {
    by_chain: HashMap<String, VecDeque<(u64, SigningCommitments)>>,
}

impl Pool {
    /// Add commitments received for `chain_id`.
    pub fn add(&mut self, chain_id: &str, list: Vec<(u64, SigningCommitments)>) {
        self.by_chain
            .entry(chain_id.to_string())
            .or_default()
            .extend(list);
    }

    /// Take one commitment out (it is spent whether or not the signature succeeds).
    pub fn take(&mut self, chain_id: &str) -> Option<(u64, SigningCommitments)> {
        self.by_chain.get_mut(chain_id)?.pop_front()
    }

    /// How many are ready for `chain_id`.
    pub fn ready(&self, chain_id: &str) -> usize {
        self.by_chain.get(chain_id).map_or(0, VecDeque::len)
    }

    /// Forget everything (the link dropped: the peer's nonces died with it).
    pub fn clear(&mut self) {
        self.by_chain.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use frost_ed25519::keys::{self, IdentifierList};

    fn share() -> SigningShare {
        let (shares, _) =
            keys::generate_with_dealer(3, 2, IdentifierList::Default, rand_core::OsRng)
                .expect("dealer");
        *shares.values().next().expect("a share").signing_share()
    }

    #[test]
    fn a_nonce_is_taken_once_and_only_on_its_chain() {
        let s = share();
        let mut issued = Issued::default();
        let list = issued.issue("a", &s, 3);
        assert_eq!(list.len(), 3);
        let (id, commitments) = list[1];
        assert!(issued.take("b", id).is_none());
        let n = issued.take("a", id).expect("issued");
        assert_eq!(n.commitments(), &commitments);
        assert!(issued.take("a", id).is_none(), "used twice");
        assert!(issued.take("a", 999).is_none());
        assert_eq!(issued.outstanding("a"), 2);
        // Ids are never reused, even across chains.
        let more = issued.issue("b", &s, 2);
        assert!(more.iter().all(|(i, _)| list.iter().all(|(j, _)| i != j)));
    }

    #[test]
    fn outstanding_nonces_are_bounded() {
        let s = share();
        let mut issued = Issued::default();
        let mut total = 0;
        for _ in 0..5 {
            total += issued.issue("a", &s, 256).len();
        }
        assert_eq!(total, MAX_OUTSTANDING);
        assert!(issued.issue("a", &s, 1).is_empty());
        assert_eq!(issued.issue("b", &s, 1).len(), 1);
    }

    #[test]
    fn pool_hands_out_in_order_and_clears() {
        let s = share();
        let mut issued = Issued::default();
        let mut pool = Pool::default();
        pool.add("a", issued.issue("a", &s, 2));
        assert_eq!(pool.ready("a"), 2);
        let first = pool.take("a").expect("one");
        assert_eq!(first.0, 1);
        pool.clear();
        assert!(pool.take("a").is_none());
        assert_eq!(pool.ready("a"), 0);
    }
}

//! Threshold cosigners as observed: each one's links, thresholds, nonces and refusals,
//! and a group's view of them (how many cosigners can sign together).

use crate::state::{Observed, SignerState};
use crate::time::Ts;
use serde::Serialize;
use std::collections::BTreeMap;

/// One peer link of a cosigner, as the cosigner reports it.
#[derive(Debug, Clone, Serialize)]
pub struct CosignerPeerState {
    /// The peer's name in the cosigner's `[threshold] peers`.
    pub peer: String,
    /// The cosigner's link to it is up.
    pub up: bool,
    /// Since when the link has been down, as first seen by the watch.
    pub down_since: Option<Ts>,
    /// Mean round trip of a share request to the peer over the last few minutes;
    /// `None` without requests in that time.
    pub round_trip_seconds: Option<f64>,
}

/// One chain a cosigner holds a share for.
#[derive(Debug, Clone, Serialize)]
pub struct CosignerChainState {
    /// Chain ID.
    pub chain: String,
    /// Cosigners a signature needs (`t`), this one included.
    pub threshold: u64,
    /// Nonce commitments of each peer ready for signing with this cosigner.
    pub nonces_ready: BTreeMap<String, u64>,
    /// Signatures this cosigner coordinated in the last 10 minutes.
    pub recent_signed: u64,
    /// Signatures it failed to make in the last 10 minutes.
    pub recent_failed: u64,
}

/// A cosigner's own figures, from its `bulwark_threshold_*` metrics.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CosignerState {
    /// Peers whose link is up.
    pub peers_connected: u64,
    /// Each peer link it reports.
    pub peers: Vec<CosignerPeerState>,
    /// Each chain it holds a share for.
    pub chains: Vec<CosignerChainState>,
    /// Share requests it refused (and bad shares it received, as `bad_share`) in the
    /// last 10 minutes, by reason; a reason seen once stays listed (0 when quiet).
    pub recent_refusals: BTreeMap<String, u64>,
}

impl CosignerState {
    /// Cosigners this one reaches, itself included.
    pub fn reachable(&self) -> u64 {
        self.peers_connected + 1
    }
}

/// A chain of a cosigner group: what a signature needs and what is left.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupChain {
    /// Chain ID.
    pub chain: String,
    /// Cosigners a signature needs.
    pub threshold: u64,
    /// The most cosigners one answering cosigner reaches (itself included): what a
    /// coordinator can gather now.
    pub reachable: u64,
    /// The answering cosigner that reaches them.
    pub best: String,
    /// The fewest cosigners one answering cosigner reaches (itself included): what a
    /// node's request gathers when that one coordinates it. Below `reachable` when links
    /// are up one way only (a cosigner reaches its peers but they do not reach it).
    pub weakest: u64,
    /// The answering cosigner that reaches the fewest.
    pub weakest_name: String,
}

/// A group of cosigners (`[[signer]]`s with the same `cosigners`).
#[derive(Debug, Clone, Serialize)]
pub struct CosignerGroup<'a> {
    /// Group name.
    pub name: String,
    /// Its members, in config order.
    #[serde(skip)]
    pub members: Vec<&'a SignerState>,
    /// Per chain, from the members that answer; empty when none answers.
    pub chains: Vec<GroupChain>,
}

/// The cosigner groups of what was observed, in config order.
pub fn groups(obs: &Observed) -> Vec<CosignerGroup<'_>> {
    let mut out: Vec<CosignerGroup<'_>> = Vec::new();
    for s in &obs.signers {
        let Some(g) = &s.cosigners else { continue };
        match out.iter_mut().find(|x| &x.name == g) {
            Some(x) => x.members.push(s),
            None => out.push(CosignerGroup {
                name: g.clone(),
                members: vec![s],
                chains: Vec::new(),
            }),
        }
    }
    for g in &mut out {
        let mut chains: BTreeMap<&str, GroupChain> = BTreeMap::new();
        for s in &g.members {
            let Some(t) = s.threshold.as_ref().filter(|_| s.up) else {
                continue;
            };
            for c in &t.chains {
                let e = chains.entry(&c.chain).or_insert_with(|| GroupChain {
                    chain: c.chain.clone(),
                    threshold: c.threshold,
                    reachable: 0,
                    best: s.name.clone(),
                    weakest: u64::MAX,
                    weakest_name: s.name.clone(),
                });
                e.threshold = e.threshold.max(c.threshold);
                if t.reachable() > e.reachable {
                    e.reachable = t.reachable();
                    e.best = s.name.clone();
                }
                if t.reachable() < e.weakest {
                    e.weakest = t.reachable();
                    e.weakest_name = s.name.clone();
                }
            }
        }
        g.chains = chains.into_values().collect();
    }
    out
}

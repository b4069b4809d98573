//! `[threshold]`: this process is one cosigner of threshold keys.
//!
//! ```toml
//! [threshold]
//! id = 1                          # this cosigner's share id, the same for every chain
//! listen = "0.0.0.0:7400"
//! link_key = "/etc/bulwark/link.key"
//!
//! [[threshold.peer]]
//! id = 2
//! name = "cosigner-2"
//! addr = "10.0.1.2:7400"
//! link_public_key = "…base64…"    # `bulwark threshold link-key` prints it
//! ```
//!
//! A chain signs with its share instead of a key: `share = "/etc/bulwark/chain.share.json"`.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use threshold::link::LinkPublic;

/// This cosigner and its peers.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdConfig<S = SocketAddr> {
    /// This cosigner's share id; every chain's share file must carry it.
    pub id: u16,
    /// Where the peers' links arrive.
    pub listen: S,
    /// This cosigner's link key (0600); its public key is pinned by every peer.
    pub link_key: PathBuf,
    /// How long a coordinator waits for its peers' shares.
    #[serde(default = "default_share_timeout", with = "confkit::duration")]
    pub share_timeout: Duration,
    /// The other cosigners.
    #[serde(default, rename = "peer")]
    pub peers: Vec<PeerConfig<S>>,
}

/// Another cosigner.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig<S = SocketAddr> {
    /// Its share id.
    pub id: u16,
    /// Its name in logs and metrics.
    pub name: String,
    /// Where it listens, `ip:port`.
    pub addr: S,
    /// Its link public key (base64), pinned: nothing else is accepted as this peer.
    pub link_public_key: LinkPublic,
}

fn default_share_timeout() -> Duration {
    Duration::from_millis(1500)
}

impl ThresholdConfig<String> {
    /// Parse the addresses; problems go to `p`.
    pub(super) fn parse(self, p: &mut Vec<String>) -> Option<ThresholdConfig> {
        let addr = |what: &str, a: &str, p: &mut Vec<String>| {
            a.parse::<SocketAddr>()
                .map_err(|_| {
                    p.push(format!(
                        "threshold: {what} {a:?} is not ip:port (e.g. 10.0.1.2:7400)"
                    ))
                })
                .ok()
        };
        let listen = addr("listen", &self.listen, p);
        let peers: Vec<_> = self
            .peers
            .into_iter()
            .filter_map(|peer| {
                let a = addr(&format!("peer {} addr", peer.name), &peer.addr, p)?;
                Some(PeerConfig {
                    id: peer.id,
                    name: peer.name,
                    addr: a,
                    link_public_key: peer.link_public_key,
                })
            })
            .collect();
        Some(ThresholdConfig {
            id: self.id,
            listen: listen?,
            link_key: self.link_key,
            share_timeout: self.share_timeout,
            peers,
        })
    }
}

impl<S> ThresholdConfig<S> {
    /// The problems that need no parsing.
    pub(super) fn problems(&self, p: &mut Vec<String>) {
        if self.id == 0 {
            p.push("threshold.id must be 1 or more (share ids start at 1)".into());
        }
        if self.peers.is_empty() {
            p.push(
                "threshold: no [[threshold.peer]]; a threshold key needs other cosigners".into(),
            );
        }
        if self.share_timeout.is_zero() {
            p.push("threshold.share_timeout must be more than 0".into());
        }
        let mut ids = std::collections::HashSet::from([self.id]);
        let mut keys = std::collections::HashSet::new();
        for peer in &self.peers {
            if !ids.insert(peer.id) {
                p.push(format!(
                    "threshold: peer {} has share id {}, which another cosigner (or this one) has",
                    peer.name, peer.id
                ));
            }
            if !keys.insert(peer.link_public_key) {
                p.push(format!(
                    "threshold: peer {} has the same link_public_key as another peer",
                    peer.name
                ));
            }
        }
    }
}

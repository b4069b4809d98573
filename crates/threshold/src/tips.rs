//! What the peers say of their own sign states: each one's last signed height for a
//! chain, as it reports it over its pinned link (with each share request it coordinates,
//! and with the nonce commitments it sends). A cosigner that was out for a while, or
//! that no coordinator picked for many heights, confirms a height jump with it and needs
//! no chain RPC to rejoin: the jump passes when `t - 1` peers, who with this cosigner
//! make a signing set, report states within `max_height_jump` of the request.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// The last signed height each peer reported for one chain (it only goes up).
#[derive(Debug, Default)]
pub struct PeerTips {
    heights: Mutex<BTreeMap<u16, i64>>,
}

impl PeerTips {
    /// Peer `peer` reports its last signed height `height`.
    pub fn note(&self, peer: u16, height: i64) {
        let mut h = self.heights.lock().unwrap_or_else(|p| p.into_inner());
        let e = h.entry(peer).or_insert(height);
        *e = (*e).max(height);
    }

    /// The highest height that at least `peers` peers report they have signed at or
    /// above (the `peers`-th highest report); `None` when fewer peers have reported.
    pub fn vouched(&self, peers: usize) -> Option<i64> {
        if peers == 0 {
            return None;
        }
        let h = self.heights.lock().unwrap_or_else(|p| p.into_inner());
        let mut all: Vec<i64> = h.values().copied().collect();
        all.sort_unstable_by(|a, b| b.cmp(a));
        all.get(peers - 1).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kth_highest_report_each_peer_counted_once() {
        let t = PeerTips::default();
        assert_eq!(t.vouched(1), None);
        t.note(2, 100);
        assert_eq!(t.vouched(1), Some(100));
        assert_eq!(t.vouched(2), None, "one peer cannot vouch twice");
        t.note(2, 90);
        assert_eq!(t.vouched(1), Some(100), "reports only go up");
        t.note(3, 5_000);
        t.note(4, 120);
        assert_eq!(t.vouched(1), Some(5_000));
        assert_eq!(
            t.vouched(2),
            Some(120),
            "one peer alone cannot carry two votes"
        );
        assert_eq!(t.vouched(3), Some(100));
        assert_eq!(t.vouched(0), None);
    }
}

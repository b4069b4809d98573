//! Prometheus metrics of a cosigner. The registry is passed in; nothing is global.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels naming a peer cosigner.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PeerLabels {
    /// The peer's name from the config.
    pub peer: String,
}

/// Labels naming a chain and a peer.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChainPeerLabels {
    /// Chain ID.
    pub chain: String,
    /// The peer's name.
    pub peer: String,
}

/// Labels of a refusal.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabels {
    /// Chain ID (empty when the request named none this cosigner knows).
    pub chain: String,
    /// The peer's name.
    pub peer: String,
    /// Short reason code.
    pub reason: String,
}

/// Labels of a coordinated signature.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SignatureLabels {
    /// Chain ID.
    pub chain: String,
    /// `signed` or `failed`.
    pub result: String,
}

/// Labels naming a chain.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChainLabels {
    /// Chain ID.
    pub chain: String,
}

/// Every cosigner metric.
#[derive(Clone, Debug)]
pub struct Metrics {
    /// `bulwark_threshold_peer_up`: 1 while the link to the peer is up.
    pub peer_up: Family<PeerLabels, Gauge>,
    /// `bulwark_threshold_peer_round_trip_seconds`: a share request's round trip.
    pub round_trip: Family<PeerLabels, Histogram>,
    /// `bulwark_threshold_nonces_ready`: the peer's commitments this coordinator holds.
    pub nonces_ready: Family<ChainPeerLabels, Gauge>,
    /// `bulwark_threshold_shares_released_total`: shares this cosigner gave a peer.
    pub released: Family<ChainPeerLabels, Counter>,
    /// `bulwark_threshold_shares_refused_total`: share requests this cosigner refused.
    pub refused: Family<RefusalLabels, Counter>,
    /// `bulwark_threshold_peer_refusals_total`: refusals and bad shares from a peer.
    pub peer_refusals: Family<RefusalLabels, Counter>,
    /// `bulwark_threshold_signatures_total`: signatures this cosigner coordinated.
    pub signatures: Family<SignatureLabels, Counter>,
    /// `bulwark_threshold_threshold`: cosigners a signature needs (this one included).
    pub threshold: Family<ChainLabels, Gauge>,
    /// `bulwark_threshold_peers_connected`: peers whose link is up.
    pub peers_connected: Gauge,
}

impl Metrics {
    /// Create the metrics and register them in `registry`.
    pub fn register(registry: &mut Registry) -> Metrics {
        let m = Metrics {
            peer_up: Family::default(),
            round_trip: Family::new_with_constructor(|| {
                Histogram::new(
                    [
                        0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                    ]
                    .into_iter(),
                )
            }),
            nonces_ready: Family::default(),
            released: Family::default(),
            refused: Family::default(),
            peer_refusals: Family::default(),
            signatures: Family::default(),
            threshold: Family::default(),
            peers_connected: Gauge::default(),
        };
        let r = registry;
        r.register(
            "bulwark_threshold_peer_up",
            "1 while the link to the peer cosigner is up",
            m.peer_up.clone(),
        );
        r.register(
            "bulwark_threshold_peer_round_trip_seconds",
            "Round trip of a share request to a peer cosigner",
            m.round_trip.clone(),
        );
        r.register(
            "bulwark_threshold_nonces_ready",
            "Nonce commitments of the peer ready for signing",
            m.nonces_ready.clone(),
        );
        r.register(
            "bulwark_threshold_shares_released",
            "Signature shares this cosigner released to a peer",
            m.released.clone(),
        );
        r.register(
            "bulwark_threshold_shares_refused",
            "Share requests this cosigner refused, by reason",
            m.refused.clone(),
        );
        r.register(
            "bulwark_threshold_peer_refusals",
            "Refusals and bad shares received from a peer, by reason",
            m.peer_refusals.clone(),
        );
        r.register(
            "bulwark_threshold_signatures",
            "Threshold signatures this cosigner coordinated",
            m.signatures.clone(),
        );
        r.register(
            "bulwark_threshold_threshold",
            "Cosigners a signature needs, this one included",
            m.threshold.clone(),
        );
        r.register(
            "bulwark_threshold_peers_connected",
            "Peer cosigners whose link is up",
            m.peers_connected.clone(),
        );
        m
    }
}

//! Prometheus metrics of the signer. The registry is passed in; nothing is global.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels of a request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// Chain ID.
    pub chain: String,
    /// `prevote`, `precommit`, `proposal`, `pubkey`, `ping`, `sign_bytes`.
    pub r#type: String,
    /// `signed`, `resigned` (stored signature returned), `refused`, `error`, `ok`.
    pub result: String,
}

/// Labels of a refusal counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabels {
    /// Chain ID.
    pub chain: String,
    /// Short reason code.
    pub reason: String,
}

/// Labels naming a chain.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChainLabels {
    /// Chain ID.
    pub chain: String,
}

/// Labels naming one node connection.
/// Labels of a refused unseal share.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ShareRefusalLabels {
    /// Why: `unknown_custodian`, `duplicate`, `wrong_share`, `bad_signature`, `other`.
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NodeLabels {
    /// Chain ID.
    pub chain: String,
    /// Node name from the config.
    pub node: String,
}

/// Every signer metric.
#[derive(Clone, Debug)]
pub struct Metrics {
    /// `bulwark_signer_requests_total`.
    pub requests: Family<RequestLabels, Counter>,
    /// `bulwark_signer_refusals_total`.
    pub refusals: Family<RefusalLabels, Counter>,
    /// `bulwark_signer_sign_duration_seconds`: decide, persist and sign.
    pub sign_seconds: Family<ChainLabels, Histogram>,
    /// `bulwark_signer_last_signed_height`.
    pub last_height: Family<ChainLabels, Gauge>,
    /// `bulwark_signer_node_connected` (0 or 1).
    pub connected: Family<NodeLabels, Gauge>,
    /// `bulwark_signer_connections_total`: successful handshakes.
    pub connections: Family<NodeLabels, Counter>,
    /// `bulwark_signer_connection_errors_total`.
    pub connection_errors: Family<NodeLabels, Counter>,
    /// `bulwark_signer_chain_checks_skipped` (1 when started with --skip-chain-checks).
    pub chain_checks_skipped: Family<ChainLabels, Gauge>,
    /// `bulwark_signer_chain_floor_height`: nothing below it is signed.
    pub chain_floor: Family<ChainLabels, Gauge>,
    /// `bulwark_signer_session_panics_total`: panics caught in a node's session.
    pub session_panics: Family<NodeLabels, Counter>,
    /// `bulwark_signer_vault_sealed{chain}`: 1 while the chain's vault key is sealed.
    pub vault_sealed: Family<ChainLabels, Gauge>,
    /// `bulwark_signer_vault_shares`: custodians' shares taken so far.
    pub vault_shares: Gauge,
    /// `bulwark_signer_vault_shares_needed`: shares needed to open the vault.
    pub vault_shares_needed: Gauge,
    /// `bulwark_signer_vault_share_refusals_total{reason}`.
    pub vault_share_refusals: Family<ShareRefusalLabels, Counter>,
}

impl Metrics {
    /// Create the metrics and register them in `registry`.
    pub fn register(registry: &mut Registry) -> Metrics {
        let m = Metrics {
            requests: Family::default(),
            refusals: Family::default(),
            sign_seconds: Family::new_with_constructor(|| {
                Histogram::new(
                    [
                        0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.05,
                        0.25, 1.0,
                    ]
                    .into_iter(),
                )
            }),
            last_height: Family::default(),
            connected: Family::default(),
            connections: Family::default(),
            connection_errors: Family::default(),
            chain_checks_skipped: Family::default(),
            chain_floor: Family::default(),
            session_panics: Family::default(),
            vault_sealed: Family::default(),
            vault_shares: Gauge::default(),
            vault_shares_needed: Gauge::default(),
            vault_share_refusals: Family::default(),
        };
        let r = registry.sub_registry_with_prefix("bulwark_signer");
        r.register(
            "vault_sealed",
            "Whether the chain's vault key is still sealed (1) or open (0)",
            m.vault_sealed.clone(),
        );
        r.register(
            "vault_shares",
            "Custodians' shares taken so far",
            m.vault_shares.clone(),
        );
        r.register(
            "vault_shares_needed",
            "Shares needed to open the vault",
            m.vault_shares_needed.clone(),
        );
        r.register(
            "vault_share_refusals",
            "Unseal shares refused, by reason",
            m.vault_share_refusals.clone(),
        );
        r.register(
            "requests",
            "Requests from nodes by type and result",
            m.requests.clone(),
        );
        r.register(
            "refusals",
            "Sign requests refused by the double-sign guard, by reason",
            m.refusals.clone(),
        );
        r.register(
            "sign_duration_seconds",
            "Time to decide, persist and sign one request",
            m.sign_seconds.clone(),
        );
        r.register(
            "last_signed_height",
            "Height of the last signature made",
            m.last_height.clone(),
        );
        r.register(
            "node_connected",
            "Whether the signer is connected to the node (1) or not (0)",
            m.connected.clone(),
        );
        r.register(
            "connections",
            "Connections established to the node",
            m.connections.clone(),
        );
        r.register(
            "connection_errors",
            "Failed dials, handshakes and dropped connections",
            m.connection_errors.clone(),
        );
        r.register(
            "chain_checks_skipped",
            "Whether the chain checks at start were skipped (--skip-chain-checks)",
            m.chain_checks_skipped.clone(),
        );
        r.register(
            "chain_floor_height",
            "Floor from the chain at start: nothing below this height is signed",
            m.chain_floor.clone(),
        );
        r.register(
            "session_panics",
            "Panics caught while serving the node; the connection was dropped and redialed",
            m.session_panics.clone(),
        );
        m
    }
}

/// Render the registry in the Prometheus text format.
pub fn render(registry: &Registry) -> String {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, registry).expect("writing to a String");
    out
}

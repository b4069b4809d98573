//! The remote signer daemon for CometBFT's privval protocol.
//!
//! [`run`] opens every chain's key and sign state (refusing to start on any problem),
//! dials every node on its own thread, serves `/metrics`, and returns when `shutdown`
//! fires, after in-flight requests are answered.

#![forbid(unsafe_code)]

pub mod chain;
pub mod config;
pub mod floor;
mod http;
pub mod keys;
pub mod metrics;
mod session;
pub mod shutdown;
pub mod state;

pub use chain::ChainSigner;
pub use config::Config;
pub use shutdown::Shutdown;

use config::Addr;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Duration;

/// Why the signer could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A key could not be used.
    #[error("chain {chain}: {error}")]
    Key {
        /// Chain ID.
        chain: String,
        /// The key error.
        error: keys::KeyError,
    },
    /// A sign state could not be opened.
    #[error("chain {chain}: {error}")]
    State {
        /// Chain ID.
        chain: String,
        /// The store error.
        error: guard::StoreError,
    },
    /// The chain forbids starting, or cannot be read.
    #[error("chain {chain}: {error}")]
    Chain {
        /// Chain ID.
        chain: String,
        /// Why.
        error: floor::FloorError,
    },
    /// The connection key could not be used.
    #[error("connection_key: {0}")]
    ConnectionKey(keys::KeyError),
    /// The metrics address cannot be bound.
    #[error("metrics.listen {addr}: {error}; pick a free address or remove [metrics]")]
    Metrics {
        /// The address.
        addr: String,
        /// The error.
        error: std::io::Error,
    },
}

/// Build every chain signer from `config`: keys and states are opened (and locked) here,
/// so a second signer on the same state fails now, before any node is dialed.
pub fn open_chains(
    config: &Config,
    metrics: &metrics::Metrics,
) -> Result<Vec<Arc<ChainSigner>>, StartError> {
    let mut chains = Vec::new();
    for c in &config.chains {
        let line = c.protocol.parse().expect("validated");
        let key = keys::SoftKey::load(&c.key).map_err(|error| StartError::Key {
            chain: c.id.clone(),
            error,
        })?;
        let pk = keys::KeyBackend::public_key(&key);
        if !pk.supported_in(line) {
            return Err(StartError::Key {
                chain: c.id.clone(),
                error: keys::KeyError::Unsupported {
                    path: c.key.clone(),
                    key_type: format!(
                        "{} (CometBFT {line} carries it in {})",
                        pk.type_name(),
                        pk.lines()
                    ),
                },
            });
        }
        let (store, warnings) =
            guard::StateStore::open(&c.state, &c.id).map_err(|error| StartError::State {
                chain: c.id.clone(),
                error,
            })?;
        for w in warnings {
            tracing::warn!(chain = %c.id, "{w}");
        }
        let limits = guard::Limits {
            floor_height: None,
            max_height: c.max_height,
            max_height_jump: None,
            chain_tip: None,
        };
        tracing::info!(
            chain = %c.id,
            protocol = %line,
            last_signed = ?store.state().hrs(),
            state = %c.state.display(),
            "chain ready"
        );
        chains.push(Arc::new(ChainSigner::new(
            c.id.clone(),
            line,
            Box::new(key),
            store,
            limits,
            c.allow_sign_bytes,
            metrics.clone(),
        )));
    }
    Ok(chains)
}

/// Run the signer until `shutdown` fires.
pub fn run(config: Config, shutdown: Shutdown) -> Result<(), StartError> {
    let mut registry = Registry::default();
    let metrics = metrics::Metrics::register(&mut registry);
    let chains = open_chains(&config, &metrics)?;
    let conn_key = Arc::new(
        keys::connection_key(config.connection_key.as_deref())
            .map_err(StartError::ConnectionKey)?,
    );
    let metrics_listener =
        match &config.metrics {
            Some(m) => Some(std::net::TcpListener::bind(&m.listen).map_err(|error| {
                StartError::Metrics {
                    addr: m.listen.clone(),
                    error,
                }
            })?),
            None => None,
        };

    for (chain, c) in chains.iter().zip(&config.chains) {
        check_chain(chain, c, &shutdown).map_err(|error| StartError::Chain {
            chain: c.id.clone(),
            error,
        })?;
        if shutdown.is_triggered() {
            return Ok(());
        }
    }
    let mut threads = Vec::new();
    for (chain, c) in chains.iter().zip(&config.chains) {
        for n in &c.nodes {
            let session = session::NodeSession {
                name: n.name.clone(),
                addr: Addr::parse(&n.addr).expect("validated"),
                chain: chain.clone(),
                conn_key: conn_key.clone(),
                request_timeout: c.request_timeout,
                idle_timeout: c.idle_timeout,
                metrics: metrics.clone(),
            };
            let sd = shutdown.clone();
            let name = format!("node-{}", n.name);
            threads.push(
                std::thread::Builder::new()
                    .name(name)
                    .spawn(move || session.run(sd))
                    .expect("spawn node thread"),
            );
        }
    }
    if let Some(listener) = metrics_listener {
        tracing::info!(addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "serving /metrics");
        let registry = Arc::new(registry);
        let sd = shutdown.clone();
        threads.push(
            std::thread::Builder::new()
                .name("metrics".into())
                .spawn(move || http::serve(listener, registry, sd))
                .expect("spawn metrics thread"),
        );
    }
    for t in threads {
        let _ = t.join();
    }
    tracing::info!("signer stopped");
    Ok(())
}

/// The chain checks before signing: raise the floor to above the last height the chain
/// shows this key's signature, then (optionally) watch for a doppelganger.
fn check_chain(
    chain: &ChainSigner,
    c: &config::ChainConfig,
    shutdown: &Shutdown,
) -> Result<(), floor::FloorError> {
    if c.rpc.is_empty() {
        return Ok(());
    }
    let privval::PublicKey::Ed25519(pk) = chain.public_key() else {
        tracing::warn!(chain = %c.id, "the chain checks (floor, doppelganger) support Ed25519 keys only; skipped for this key");
        return Ok(());
    };
    let address = floor::ed25519_address(&pk);
    let view = floor::ChainView::new(&c.id, &c.rpc, c.request_timeout);
    match view.last_signed_height(&address, c.floor_scan_blocks)? {
        Some(h) => {
            let floor = i64::try_from(h).unwrap_or(i64::MAX).saturating_add(1);
            chain.raise_floor(floor);
            tracing::info!(chain = %c.id, %address, last_signed_on_chain = h, floor, "floor raised from the chain");
        }
        None => tracing::info!(
            chain = %c.id,
            %address,
            scanned = c.floor_scan_blocks,
            "no signature by this key in the last blocks; floor unchanged"
        ),
    }
    if c.doppelganger_blocks > 0 {
        tracing::info!(chain = %c.id, blocks = c.doppelganger_blocks, "watching for another signer with this key before signing");
        let limit =
            Duration::from_secs(60).max(Duration::from_secs(10) * c.doppelganger_blocks as u32);
        view.doppelganger_check(&address, c.doppelganger_blocks, limit, &|| {
            shutdown.is_triggered()
        })?;
        tracing::info!(chain = %c.id, "no other signer seen");
    }
    Ok(())
}

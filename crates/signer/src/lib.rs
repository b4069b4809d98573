//! The remote signer daemon for CometBFT's privval protocol.
//!
//! [`run`] opens every chain's key and sign state (refusing to start on any problem),
//! dials every node on its own thread, serves `/metrics`, and returns when `shutdown`
//! fires, after in-flight requests are answered.

#![forbid(unsafe_code)]

pub mod chain;
pub mod config;
mod cosigner;
pub mod floor;
mod http;
pub mod keys;
pub mod metrics;
pub mod sealed;
mod session;
pub mod shutdown;
pub mod sources;
pub mod state;

pub use chain::ChainSigner;
pub use config::Config;
pub use shutdown::Shutdown;

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
    /// A threshold share or the cosigner links could not be used.
    #[error("{0}")]
    Threshold(String),
    /// The connection key could not be used.
    #[error("connection_key: {0}")]
    ConnectionKey(keys::KeyError),
    /// The vault keys cannot be set up.
    #[error("vault: {0}")]
    Vault(#[from] sealed::SealedError),
    /// The metrics address cannot be bound.
    #[error("metrics.listen {addr}: {error}; pick a free address or remove [metrics]")]
    Metrics {
        /// The address.
        addr: String,
        /// The error.
        error: std::io::Error,
    },
}

/// A chain signer, and its share when its key is a threshold key.
pub(crate) type Opened = (Arc<ChainSigner>, Option<threshold::share::Share>);

/// Build every chain signer from `config`: keys and states are opened (and locked) here,
/// so a second signer on the same state fails now, before any node is dialed.
fn open_chains(
    config: &Config,
    metrics: &metrics::Metrics,
    tmetrics: Option<&threshold::metrics::Metrics>,
    sealed: Option<&sealed::Sealed>,
) -> Result<Vec<Opened>, StartError> {
    let mut chains = Vec::new();
    let modules = keys::pkcs11::Modules::default();
    for c in &config.chains {
        let line = c.protocol;
        let vault_key = sealed.and_then(|s| s.key_for(&c.id));
        let (key, share): (Box<dyn keys::KeyBackend>, _) = match (&c.key, &c.share) {
            (Some(_), _) if vault_key.is_some() => (Box::new(vault_key.expect("checked")), None),
            (Some(path), _) => {
                let key = keys::SoftKey::load(path).map_err(|error| StartError::Key {
                    chain: c.id.clone(),
                    error,
                })?;
                (Box::new(key), None)
            }
            (None, Some(path)) => {
                let share = cosigner::open_share(config, c, path)?;
                (Box::new(keys::GroupKey::of(&share)), Some(share))
            }
            (None, None) => {
                let pc = c
                    .pkcs11
                    .as_ref()
                    .expect("a validated config names a key source");
                let pin: Arc<dyn keys::pkcs11::Pin> = match sealed.and_then(|s| s.pin_for(&c.id)) {
                    Some(secret) => secret,
                    None => Arc::new(keys::pkcs11::PinFile(
                        pc.pin_file.clone().expect("a validated config names a PIN"),
                    )),
                };
                let log = config.audit_log.as_ref().map(audit::AuditLog::new);
                let detail = serde_json::json!({"chain": c.id, "module": pc.module, "token": pc.token, "key": pc.key});
                let on_login: keys::pkcs11::LoginHook = Box::new(move |why| {
                    if let Some(log) = &log {
                        let mut detail = detail.clone();
                        detail["why"] = why.into();
                        if let Err(e) = log.append("signer", "pkcs11.login", detail, None) {
                            tracing::error!("cannot write the audit log: {e}");
                        }
                    }
                });
                let key = keys::pkcs11::Pkcs11Key::open(&modules, pc, pin, on_login).map_err(
                    |error| StartError::Key {
                        chain: c.id.clone(),
                        error,
                    },
                )?;
                tracing::info!(chain = %c.id, token = %pc.token, key = %pc.key, "signing through the PKCS#11 token");
                (Box::new(key), None)
            }
        };
        let pk = key.public_key();
        if !pk.supported_in(line) {
            return Err(StartError::Key {
                chain: c.id.clone(),
                error: keys::KeyError::Unsupported {
                    path: c.key.clone().or(c.share.clone()).unwrap_or_default(),
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
            max_height_jump: Some(i64::try_from(c.max_height_jump).unwrap_or(i64::MAX)),
            chain_tip: None,
        };
        tracing::info!(
            chain = %c.id,
            protocol = %line,
            last_signed = ?store.state().hrs(),
            state = %c.state.display(),
            "chain ready"
        );
        let mut chain = ChainSigner::new(
            c.id.clone(),
            line,
            key,
            store,
            limits,
            c.allow_sign_bytes,
            metrics.clone(),
        );
        if !c.rpc.is_empty() {
            chain =
                chain.with_tip_probe(floor::TipProbe::new(chain_view(c), Duration::from_secs(1)));
        } else {
            tracing::warn!(
                chain = %c.id,
                max_height_jump = c.max_height_jump,
                "no rpc for this chain: a request more than max_height_jump above the last \
                 signed height (after a long stop) is refused until you raise the state; \
                 configure rpc so the signer can confirm the chain's tip"
            );
        }
        if let (Some(_), Some(t), Some(tm)) = (&share, &config.threshold, tmetrics) {
            let names = t.peers.iter().map(|p| (p.id, p.name.clone())).collect();
            chain =
                chain.with_threshold(chain::cosign::ThresholdSide::new(&c.id, tm.clone(), names));
        }
        chains.push((Arc::new(chain), share));
    }
    Ok(chains)
}

/// Run the signer until `shutdown` fires.
pub fn run(config: Config, shutdown: Shutdown) -> Result<(), StartError> {
    let mut registry = Registry::default();
    let metrics = metrics::Metrics::register(&mut registry);
    let tmetrics = config
        .threshold
        .as_ref()
        .map(|_| threshold::metrics::Metrics::register(&mut registry));
    // Key material lives in this process: no core file, no ptrace by the same user.
    if let Err(e) = nix::sys::prctl::set_dumpable(false) {
        tracing::warn!("cannot make the signer undumpable: {e}");
    }
    let sealed = sealed::prepare(&config)?;
    let opened = open_chains(&config, &metrics, tmetrics.as_ref(), sealed.as_ref())?;
    let unseal = match sealed {
        Some(s) => Some(sealed::start(s, &config, &metrics, shutdown.clone())?),
        None => None,
    };
    let chains: Vec<Arc<ChainSigner>> = opened.iter().map(|(c, _)| c.clone()).collect();
    let conn_key = Arc::new(
        keys::connection_key(config.connection_key.as_deref())
            .map_err(StartError::ConnectionKey)?,
    );
    let metrics_listener =
        match &config.metrics {
            Some(m) => Some(std::net::TcpListener::bind(m.listen).map_err(|error| {
                StartError::Metrics {
                    addr: m.listen.to_string(),
                    error,
                }
            })?),
            None => None,
        };

    for (chain, c) in chains.iter().zip(&config.chains) {
        check_chain(chain, c, config.skip_chain_checks, &metrics, &shutdown).map_err(|error| {
            StartError::Chain {
                chain: c.id.clone(),
                error,
            }
        })?;
        if shutdown.is_triggered() {
            return Ok(());
        }
    }
    // Peers are served only after the chain checks: a share leaves under the same floor
    // as a signature.
    let cosigner = cosigner::start(&config, &opened, tmetrics)?;
    let mut threads = Vec::new();
    for (chain, c) in chains.iter().zip(&config.chains) {
        for n in &c.nodes {
            let session = session::NodeSession {
                name: n.name.clone(),
                addr: n.addr.clone(),
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
    if let Some(t) = unseal {
        let _ = t.join();
    }
    if let Some(c) = cosigner {
        c.stop();
    }
    tracing::info!("signer stopped");
    Ok(())
}

fn chain_view(c: &config::ChainConfig) -> floor::ChainView {
    floor::ChainView::new(&c.id, &c.rpc, c.request_timeout, c.rpc_max_block_age)
}

/// The chain checks before signing: find where the chain is through every usable
/// endpoint, optionally watch for a doppelganger, then set the floor above the highest
/// tip + 1 (see [`floor`] for why).
fn check_chain(
    chain: &ChainSigner,
    c: &config::ChainConfig,
    skip: bool,
    metrics: &metrics::Metrics,
    shutdown: &Shutdown,
) -> Result<(), floor::FloorError> {
    if c.rpc.is_empty() {
        return Ok(());
    }
    let labels = metrics::ChainLabels {
        chain: c.id.clone(),
    };
    if skip {
        metrics.chain_checks_skipped.get_or_create(&labels).set(1);
        tracing::warn!(
            chain = %c.id,
            "--skip-chain-checks: NOT checking the chain before signing (no floor from the \
             chain, no doppelganger check); the sign state alone guards this key"
        );
        return Ok(());
    }
    let pk = chain.public_key();
    let address = floor::address(&pk)
        .ok_or_else(|| floor::FloorError::UnknownAddress(pk.type_name().to_string()))?;
    let view = chain_view(c);
    let survey = view.survey_within(c.chain_check_wait, &|| shutdown.is_triggered())?;
    log_survey(&c.id, &survey);
    let state = chain.last_signed();
    let on_chain =
        view.last_signed_height(&survey.best, survey.tip, &address, c.floor_scan_blocks)?;
    // The state knows nothing newer than the chain shows: it may have lost the tip's
    // votes and the next height's, so those are left alone.
    let behind = on_chain.is_some_and(|h| i64::try_from(h).unwrap_or(i64::MAX) >= state.height);
    match on_chain {
        Some(h) if behind => tracing::warn!(
            chain = %c.id,
            %address,
            last_signed_on_chain = h,
            state_height = state.height,
            "the chain shows this key signing at or above the sign state's height: the state \
             may not know the newest votes (lost, restored, or used on another host); \
             nothing at or below the chain's tip + 1 will be signed"
        ),
        Some(h) => {
            tracing::info!(chain = %c.id, %address, last_signed_on_chain = h, state_height = state.height, "the sign state is ahead of the chain")
        }
        None => tracing::info!(
            chain = %c.id,
            %address,
            scanned = c.floor_scan_blocks,
            "no signature by this key in the last blocks"
        ),
    }
    let mut tip = survey.tip;
    if c.doppelganger_blocks > 0 {
        tracing::info!(chain = %c.id, blocks = c.doppelganger_blocks, "watching for another signer with this key before signing");
        let limit =
            Duration::from_secs(60).max(Duration::from_secs(10) * c.doppelganger_blocks as u32);
        view.doppelganger_check(
            &survey.best,
            &address,
            c.doppelganger_blocks,
            limit,
            &|| shutdown.is_triggered(),
        )?;
        tracing::info!(chain = %c.id, "no other signer seen");
        // Recomputed after the watch: the chain moved on meanwhile.
        let again = view.survey()?;
        log_survey(&c.id, &again);
        tip = tip.max(again.tip);
    }
    let tip = i64::try_from(tip).unwrap_or(i64::MAX);
    chain.raise_chain_tip(tip);
    if !behind {
        return Ok(());
    }
    let floor = tip.saturating_add(2);
    chain.raise_floor(floor);
    metrics.chain_floor.get_or_create(&labels).set(floor);
    tracing::info!(chain = %c.id, chain_tip = tip, floor, "floor raised from the chain: nothing at or below the tip + 1 is signed");
    Ok(())
}

fn log_survey(chain: &str, survey: &floor::Survey) {
    for r in &survey.reports {
        match &r.result {
            Ok(t) => tracing::info!(chain, source = %r.url, tip = t.height, "rpc source usable"),
            Err(p) => tracing::warn!(chain, source = %r.url, "rpc source not used: {p}"),
        }
    }
}

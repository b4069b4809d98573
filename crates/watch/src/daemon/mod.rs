//! The daemon: builds each subsystem from the configuration and runs them as tasks
//! until shutdown or the first failure. One builder per subsystem: [`collectors`],
//! the alert [`engine`], the [`notifiers`] (dispatcher and heartbeat) and the HTTP
//! [`server`].

mod collectors;
mod engine;
mod notifiers;
mod reload;
mod server;
mod status;

pub use reload::Reloaded;
pub use status::{fetch_status, request_reload};

use crate::collect::ws::WsMetrics;
use crate::config::{Config, ConfigError, Levels};
use crate::error::WatchError;
use crate::net::tls::Trust;
use crate::serve::http::Shared;
use crate::serve::metrics::Metrics;
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Run the watch until `shutdown` is cancelled, with a fresh metrics registry.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), WatchError> {
    run_with_registry(config, Registry::default(), shutdown).await
}

/// Run the watch of the configuration file `path` until `shutdown`; SIGHUP and
/// `POST /-/reload` (from the watch's own host) read it again.
pub async fn run_file(path: &Path, shutdown: CancellationToken) -> Result<(), WatchError> {
    let config = Config::load(path)?;
    start(
        config,
        Some(path.to_path_buf()),
        Registry::default(),
        shutdown,
    )
    .await
}

/// What every subsystem's builder takes: the configuration, the outgoing TLS trust
/// and HTTP client, the state shared with the server, the metrics and the shutdown.
#[derive(Clone)]
struct Context {
    config: Config,
    /// Every subject's rule levels, resolved from `config`.
    levels: Levels,
    trust: Trust,
    http: reqwest::Client,
    shared: Arc<Shared>,
    metrics: Arc<Metrics>,
    /// The address the server listens on.
    addr: SocketAddr,
    shutdown: CancellationToken,
}

/// Run the watch, registering its metrics in `registry`.
pub async fn run_with_registry(
    config: Config,
    registry: Registry,
    shutdown: CancellationToken,
) -> Result<(), WatchError> {
    start(config, None, registry, shutdown).await
}

async fn start(
    mut config: Config,
    path: Option<PathBuf>,
    mut registry: Registry,
    shutdown: CancellationToken,
) -> Result<(), WatchError> {
    config.check()?;
    let levels = Levels::new(&config).map_err(ConfigError::Invalid)?;
    create_state_dir(&config)?;
    let metrics = Arc::new(Metrics::register(&mut registry));
    let ws_metrics = WsMetrics::register(&mut registry);
    let engine = engine::build(&config)?;
    let (listener, addr) = server::bind(&config).await?;
    // Every outgoing TLS connection trusts the same roots (plus `tls_ca_file`).
    let (trust, http) = crate::net::tls::outgoing(&config)?;
    let (reload_tx, reload_rx) = tokio::sync::mpsc::channel(4);
    let shared = server::shared(&engine, registry, metrics.clone(), reload_tx);
    let cx = Context {
        config,
        levels,
        trust,
        http,
        shared,
        metrics,
        addr,
        shutdown,
    };
    let mut tasks = JoinSet::new();
    let (settings_tx, settings_rx) =
        tokio::sync::watch::channel(reload::Settings::of(&cx.config, &cx.levels));
    reload::spawn(&cx, path, ws_metrics, reload_rx, settings_tx, &mut tasks)?;
    let wake = Arc::new(Notify::new());
    notifiers::spawn(&cx, wake.clone(), &mut tasks)?;
    server::spawn(&cx, listener, &mut tasks);
    engine::spawn(&cx, engine, wake, settings_rx, &mut tasks);
    join(tasks, &cx.shutdown).await
}

/// Create the directory of `state_path` if it is missing.
fn create_state_dir(config: &Config) -> Result<(), WatchError> {
    if let Some(dir) = config
        .state_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            WatchError::Task(format!(
                "cannot create {}: {e}; create it or change state_path",
                dir.display()
            ))
        })?;
    }
    Ok(())
}

/// Wait for every task; the first to fail stops the rest.
async fn join(
    mut tasks: JoinSet<Result<(), WatchError>>,
    shutdown: &CancellationToken,
) -> Result<(), WatchError> {
    let mut result = Ok(());
    while let Some(r) = tasks.join_next().await {
        let r = r
            .map_err(|e| WatchError::Task(e.to_string()))
            .and_then(|r| r);
        if let Err(e) = r {
            if result.is_ok() {
                result = Err(e);
            }
            shutdown.cancel();
        }
    }
    result
}

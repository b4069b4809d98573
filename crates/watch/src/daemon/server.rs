//! The HTTP server: its listener, the state it shares with the other tasks, its task.

use super::Context;
use crate::config::Config;
use crate::engine::alert::Engine;
use crate::error::WatchError;
use crate::serve::http::Shared;
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// Listen on `config.listen`.
pub(super) async fn bind(config: &Config) -> Result<(TcpListener, SocketAddr), WatchError> {
    let bind_error = |source| WatchError::Bind {
        addr: config.listen,
        source,
    };
    let listener = TcpListener::bind(config.listen).await.map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    tracing::info!("watch listening on http://{addr} (status page /, /metrics, /api/status)");
    Ok((listener, addr))
}

/// What the server reads: the observations, the firing alerts, the metrics.
pub(super) fn shared(
    engine: &Engine,
    registry: Registry,
    metrics: Arc<crate::serve::metrics::Metrics>,
    reload: tokio::sync::mpsc::Sender<crate::serve::http::ReloadRequest>,
) -> Arc<Shared> {
    let shared = Shared::new(registry, reload).with_metrics(metrics);
    *shared.alerts.write().unwrap_or_else(|p| p.into_inner()) = engine.firing().cloned().collect();
    Arc::new(shared)
}

/// Serve `/metrics`, `/api/status` and the status page until shutdown.
pub(super) fn spawn(
    cx: &Context,
    listener: TcpListener,
    tasks: &mut JoinSet<Result<(), WatchError>>,
) {
    let sd = cx.shutdown.clone();
    let app = crate::serve::http::router(cx.shared.clone());
    tasks.spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { sd.cancelled().await })
        .await
        .map_err(|e| WatchError::Task(format!("HTTP server: {e}")))
    });
}

//! `/` (status page), `/metrics`, `/api/status` and `/healthz`.

use crate::engine::alert::Alert;
use crate::serve::metrics::Metrics;
use crate::state::{now, Observed};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use prometheus_client::registry::Registry;
use serde::Serialize;
use std::sync::{Arc, RwLock};

/// What the HTTP handlers read.
#[derive(Debug)]
pub struct Shared {
    /// Latest observations.
    pub observed: RwLock<Observed>,
    /// Alerts firing now.
    pub alerts: RwLock<Vec<Alert>>,
    /// Metrics registry.
    pub registry: Registry,
    /// The watch's metrics, refreshed from `observed` and `alerts` at each scrape of
    /// `/metrics` (not at each evaluation: nothing reads them in between).
    pub metrics: Option<Arc<Metrics>>,
    /// Signalled when a collector has published new observations.
    pub changed: tokio::sync::Notify,
    /// Where `POST /-/reload` asks for the configuration to be read again.
    pub reload: tokio::sync::mpsc::Sender<ReloadRequest>,
}

/// A request to read the configuration again, answered with what the reload did (or
/// why it was refused).
#[derive(Debug)]
pub struct ReloadRequest {
    /// The answer.
    pub reply: tokio::sync::oneshot::Sender<Result<serde_json::Value, String>>,
}

impl Shared {
    /// Nothing observed yet, no alerts, metrics in `registry`, reloads asked of `reload`.
    pub fn new(registry: Registry, reload: tokio::sync::mpsc::Sender<ReloadRequest>) -> Self {
        Self {
            reload,
            observed: RwLock::new(Observed::default()),
            alerts: RwLock::new(Vec::new()),
            registry,
            metrics: None,
            changed: tokio::sync::Notify::new(),
        }
    }

    /// The same, with `metrics` refreshed at each scrape.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }
}

/// The `/api/status` document.
#[derive(Debug, Serialize)]
pub struct StatusDoc {
    /// When it was made (RFC 3339).
    pub generated_at: String,
    /// Chains, nodes and hosts.
    #[serde(flatten)]
    pub observed: Observed,
    /// Firing alerts.
    pub alerts: Vec<Alert>,
}

/// The router.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/chain/{id}", get(chain_page))
        .route("/metrics", get(metrics))
        .route("/api/status", get(status))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/-/reload", post(reload))
        .with_state(shared)
}

async fn metrics(State(s): State<Arc<Shared>>) -> impl IntoResponse {
    if let Some(m) = &s.metrics {
        let obs = s.observed.read().unwrap_or_else(|p| p.into_inner());
        let alerts = s.alerts.read().unwrap_or_else(|p| p.into_inner());
        m.update(&obs, alerts.iter(), now());
    }
    (
        [(header::CONTENT_TYPE, crate::serve::metrics::CONTENT_TYPE)],
        crate::serve::metrics::render(&s.registry),
    )
}

fn doc(s: &Shared) -> StatusDoc {
    let observed = s.observed.read().unwrap_or_else(|p| p.into_inner()).clone();
    let alerts = s.alerts.read().unwrap_or_else(|p| p.into_inner()).clone();
    StatusDoc {
        generated_at: crate::time::rfc3339(now()),
        observed,
        alerts,
    }
}

/// Read the configuration file again; only from the watch's own host.
async fn reload(
    State(s): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
) -> (StatusCode, Json<serde_json::Value>) {
    let error = |code, e: String| (code, Json(serde_json::json!({ "error": e })));
    if !peer.ip().is_loopback() {
        return error(
            StatusCode::FORBIDDEN,
            format!("reload is accepted from the watch's own host only, not from {peer}"),
        );
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    if s.reload.send(ReloadRequest { reply: tx }).await.is_err() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the watch is stopping".into(),
        );
    }
    match rx.await {
        Ok(Ok(done)) => (StatusCode::OK, Json(done)),
        Ok(Err(e)) => error(StatusCode::BAD_REQUEST, e),
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the watch is stopping".into(),
        ),
    }
}

async fn status(State(s): State<Arc<Shared>>) -> Json<StatusDoc> {
    Json(doc(&s))
}

/// `?sort=` of the overview.
#[derive(Debug, serde::Deserialize)]
struct PageQuery {
    sort: Option<String>,
}

async fn page(
    State(s): State<Arc<Shared>>,
    axum::extract::Query(q): axum::extract::Query<PageQuery>,
) -> impl IntoResponse {
    let sort = crate::serve::overview::Sort::parse(q.sort.as_deref());
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        crate::serve::page::render(&doc(&s), sort),
    )
}

async fn chain_page(
    State(s): State<Arc<Shared>>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> axum::response::Response {
    let html = [(header::CONTENT_TYPE, "text/html; charset=utf-8")];
    match crate::serve::page::render_chain(&doc(&s), &id) {
        Some(p) => (html, p).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            html,
            format!(
                "<!doctype html><p>no chain {} is watched: <a href=/>all chains</a></p>\n",
                crate::serve::page::esc(&id)
            ),
        )
            .into_response(),
    }
}

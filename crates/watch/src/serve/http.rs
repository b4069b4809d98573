//! `/` (status page), `/metrics`, `/api/status` and `/healthz`.

use crate::engine::alert::Alert;
use crate::state::{now, Observed};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
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
    /// Signalled when a collector has published new observations.
    pub changed: tokio::sync::Notify,
}

impl Shared {
    /// Nothing observed yet, no alerts, metrics in `registry`.
    pub fn new(registry: Registry) -> Self {
        Self {
            observed: RwLock::new(Observed::default()),
            alerts: RwLock::new(Vec::new()),
            registry,
            changed: tokio::sync::Notify::new(),
        }
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
        .route("/metrics", get(metrics))
        .route("/api/status", get(status))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(shared)
}

async fn metrics(State(s): State<Arc<Shared>>) -> impl IntoResponse {
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

async fn status(State(s): State<Arc<Shared>>) -> Json<StatusDoc> {
    Json(doc(&s))
}

async fn page(State(s): State<Arc<Shared>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        crate::serve::page::render(&doc(&s)),
    )
}

//! What the watch serves: the HTTP router (`/metrics`, `/api/status`, the status
//! page, `/healthz`), the status page's HTML, and the Prometheus metrics.
//!
//! Pages and metrics read `state` and the engine's alerts; nothing here collects,
//! evaluates or notifies.

pub mod http;
pub mod metrics;
mod metrics_production;
mod metrics_relayer;
mod metrics_sdk;
mod metrics_slow;
pub mod overview;
pub mod page;
mod sdk_page;
mod series;

#[cfg(test)]
mod tests;

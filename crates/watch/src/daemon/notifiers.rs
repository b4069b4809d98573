//! The notifiers: the dispatcher that delivers the outbox, and the heartbeat.

use super::Context;
use crate::engine::store::Store;
use crate::error::WatchError;
use crate::notify::dispatch::{Dispatcher, Sender};
use crate::state::ChannelState;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio::task::JoinSet;

/// Start the dispatcher (woken by `wake` when the engine queued notifications) and
/// the heartbeat, if configured.
pub(super) fn spawn(
    cx: &Context,
    wake: Arc<Notify>,
    tasks: &mut JoinSet<Result<(), WatchError>>,
) -> Result<(), WatchError> {
    let dispatcher = dispatcher(cx)?;
    let sd = cx.shutdown.clone();
    tasks.spawn(async move { dispatcher.run(wake, sd).await.map_err(WatchError::from) });
    heartbeat(cx, tasks);
    Ok(())
}

/// The dispatcher of the configured channels and routes; each channel's delivery
/// health starts in `Observed::channels` as not used yet.
fn dispatcher(cx: &Context) -> Result<Dispatcher, WatchError> {
    let config = &cx.config;
    cx.shared
        .observed
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .channels = config
        .channels
        .iter()
        .map(|c| ChannelState::new(c.name(), c.kind()))
        .collect();
    Ok(Dispatcher {
        store: Store::open(&config.state_path)?,
        channels: config
            .channels
            .iter()
            .map(|c| (c.name().to_string(), c.clone()))
            .collect(),
        routes: config.routes.clone(),
        sender: Sender {
            http: cx.http.clone(),
            timeout: config.request_timeout,
            generator_url: format!("http://{}/api/status", cx.addr),
            tls: cx.trust.clone(),
        },
        metrics: cx.metrics.clone(),
        shared: cx.shared.clone(),
    })
}

/// Call the heartbeat URL every interval while the watch runs.
fn heartbeat(cx: &Context, tasks: &mut JoinSet<Result<(), WatchError>>) {
    let Some(hb) = cx.config.heartbeat.clone() else {
        return;
    };
    let (sd, http, metrics, timeout) = (
        cx.shutdown.clone(),
        cx.http.clone(),
        cx.metrics.clone(),
        cx.config.request_timeout,
    );
    tasks.spawn(async move {
        loop {
            let res = http.get(hb.url.expose()).timeout(timeout).send().await;
            let ok = res.as_ref().is_ok_and(|r| r.status().is_success());
            metrics.heartbeat(ok);
            if !ok {
                tracing::warn!(
                    "heartbeat failed: {:?}",
                    res.map(|r| r.status())
                        .map_err(|e| crate::net::root_cause(&e))
                );
            }
            tokio::select! {
                _ = sd.cancelled() => return Ok(()),
                _ = tokio::time::sleep(hb.interval) => {}
            }
        }
    });
}

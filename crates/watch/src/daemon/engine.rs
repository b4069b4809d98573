//! The alert engine's task: evaluate the rules on what was observed, apply the
//! outcomes to the alerts, wake the dispatcher, update the metrics and the server.

use super::Context;
use crate::config::Config;
use crate::engine::alert::Engine;
use crate::engine::routing::Routing;
use crate::engine::store::Store;
use crate::error::WatchError;
use crate::state::now;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinSet;

/// The shortest time between two evaluations of the rules that new observations
/// start: with many chains, publishes arrive many times a second, and one evaluation
/// serves them all.
const EVAL_GAP: Duration = Duration::from_millis(200);

/// The engine on the alert database.
pub(super) fn build(config: &Config) -> Result<Engine, WatchError> {
    Ok(Engine::new(
        Store::open(&config.state_path)?,
        Routing::new(config),
    )?)
}

/// Evaluate the rules when something new was observed, and at least every poll
/// interval (durations keep growing while nothing changes).
pub(super) fn spawn(
    cx: &Context,
    mut engine: Engine,
    wake: Arc<Notify>,
    mut settings: tokio::sync::watch::Receiver<super::reload::Settings>,
    tasks: &mut JoinSet<Result<(), WatchError>>,
) {
    let mut rules = cx.levels.clone();
    let every = cx.config.poll_interval;
    let (sd, sh) = (cx.shutdown.clone(), cx.shared.clone());
    tasks.spawn(async move {
        loop {
            let evaluated_at = tokio::time::Instant::now();
            let t = now();
            if settings.has_changed().unwrap_or(false) {
                // A reload: new levels and routes; what is no longer watched resolves.
                let s = settings.borrow_and_update().clone();
                rules = s.levels;
                engine.set_routing(s.routing);
                if !engine
                    .resolve_where(|a| !s.watched.covers(a), t)?
                    .is_empty()
                {
                    wake.notify_one();
                }
            }
            let obs = sh
                .observed
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            let outcomes = crate::rules::evaluate(&rules, &obs, t);
            let sent = engine.apply(outcomes, t)?;
            if !sent.is_empty() {
                wake.notify_one();
            }
            *sh.alerts.write().unwrap_or_else(|p| p.into_inner()) =
                engine.firing().cloned().collect();
            tokio::select! {
                _ = sd.cancelled() => return Ok(()),
                _ = tokio::time::sleep(every) => {}
                _ = sh.changed.notified() => {
                    // Fold the publishes of many collectors into one evaluation: at
                    // once when the last one is EVAL_GAP old, else when it will be.
                    tokio::select! {
                        _ = sd.cancelled() => return Ok(()),
                        _ = tokio::time::sleep_until(evaluated_at + EVAL_GAP) => {}
                    }
                }
            }
        }
    });
}

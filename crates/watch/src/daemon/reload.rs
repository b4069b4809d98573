//! Reloading the configuration file while the watch runs (SIGHUP, `POST /-/reload`):
//! the new file is read and checked first, and nothing changes if it is wrong. Then
//! the collectors of unchanged subjects keep running, the engine takes the new levels
//! and routes, and the alerts of subjects no longer watched resolve. Settings that only
//! a restart applies (listen, state_path, channels, heartbeat) are named.

use super::collectors::{Changes, Collectors};
use super::Context;
use crate::collect::ws::WsMetrics;
use crate::config::{scope_of, Config, ConfigError, Levels, Scope};
use crate::engine::alert::Alert;
use crate::engine::routing::Routing;
use crate::error::WatchError;
use crate::serve::http::ReloadRequest;
use serde::Serialize;
use std::collections::HashSet;
use std::path::PathBuf;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

/// What the engine takes from the configuration.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) levels: Levels,
    pub(super) routing: Routing,
    pub(super) watched: Watched,
}

impl Settings {
    pub(super) fn of(config: &Config, levels: &Levels) -> Settings {
        Settings {
            levels: levels.clone(),
            routing: Routing::new(config),
            watched: Watched::of(config),
        }
    }
}

/// The subjects a configuration watches.
#[derive(Debug, Clone, Default)]
pub(super) struct Watched {
    chains: HashSet<String>,
    nodes: HashSet<String>,
    hosts: HashSet<String>,
    signers: HashSet<String>,
    peers: HashSet<String>,
}

impl Watched {
    fn of(c: &Config) -> Watched {
        Watched {
            chains: c.chains.iter().map(|x| x.id.clone()).collect(),
            nodes: c.nodes.iter().map(|x| x.name.clone()).collect(),
            hosts: c.hosts.iter().map(|x| x.name.clone()).collect(),
            signers: c.signers.iter().map(|x| x.name.clone()).collect(),
            peers: c.peers.iter().map(|x| x.name.clone()).collect(),
        }
    }

    /// Whether `a` is about subjects still watched.
    pub(super) fn covers(&self, a: &Alert) -> bool {
        let has =
            |set: &HashSet<String>, v: &Option<String>| v.as_ref().is_none_or(|v| set.contains(v));
        // A signer's and a peer's alerts name it right after the rule:
        // `signer_down/NAME`, `peer_down/NAME`.
        let named =
            |set: &HashSet<String>| a.key.split('/').nth(1).is_some_and(|n| set.contains(n));
        let signer = match scope_of(&a.rule) {
            Some(Scope::Signer) => named(&self.signers),
            Some(Scope::Watch) if a.rule == "peer_down" => named(&self.peers),
            _ => true,
        };
        has(&self.chains, &a.chain)
            && has(&self.nodes, &a.node)
            && has(&self.hosts, &a.host)
            && signer
    }
}

/// What a reload did.
#[derive(Debug, Serialize)]
pub struct Reloaded {
    /// The configuration file read.
    pub config: String,
    /// Collectors added, removed, restarted and kept.
    pub changes: Changes,
    /// Settings that changed but apply only after a restart of the watch.
    pub restart_needed: Vec<String>,
}

/// Start the collectors and serve reload requests (and SIGHUP when the watch runs from
/// a file) until shutdown.
pub(super) fn spawn(
    cx: &Context,
    path: Option<PathBuf>,
    ws_metrics: WsMetrics,
    mut requests: mpsc::Receiver<ReloadRequest>,
    settings: watch::Sender<Settings>,
    tasks: &mut JoinSet<Result<(), WatchError>>,
) -> Result<(), WatchError> {
    let cx = cx.clone();
    let mut hangup = match &path {
        Some(_) => Some(
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
                .map_err(|e| WatchError::Task(format!("cannot handle SIGHUP: {e}")))?,
        ),
        None => None,
    };
    tasks.spawn(async move {
        let mut collectors = Collectors::start(&cx, &cx.config, &cx.levels, ws_metrics);
        let mut current = cx.config.clone();
        loop {
            let sighup = async {
                match hangup.as_mut() {
                    Some(h) => h.recv().await,
                    None => std::future::pending().await,
                }
            };
            let reply = tokio::select! {
                _ = cx.shutdown.cancelled() => return Ok(()),
                e = collectors.failed() => return Err(e),
                Some(r) = requests.recv() => Some(r.reply),
                _ = sighup => None,
            };
            let result = match &path {
                Some(p) => reload(&cx, p, &mut current, &mut collectors, &settings),
                None => Err("this watch was not started from a configuration file, so it has none to read again".into()),
            };
            match &result {
                Ok(r) => tracing::info!(
                    added = ?r.changes.added,
                    removed = ?r.changes.removed,
                    restarted = ?r.changes.restarted,
                    kept = r.changes.kept,
                    restart_needed = ?r.restart_needed,
                    "configuration reloaded"
                ),
                Err(e) => tracing::error!(error = %e, "reload refused; the watch goes on with the configuration it had"),
            }
            if let Some(tx) = reply {
                let _ = tx.send(result.map(|r| serde_json::to_value(r).expect("serializes")));
            }
        }
    });
    Ok(())
}

fn reload(
    cx: &Context,
    path: &std::path::Path,
    current: &mut Config,
    collectors: &mut Collectors,
    settings: &watch::Sender<Settings>,
) -> Result<Reloaded, String> {
    let new = Config::load(path).map_err(|e| e.to_string())?;
    let levels = Levels::new(&new).map_err(|p| ConfigError::Invalid(p).to_string())?;
    let restart_needed = restart_only(current, &new);
    let changes = collectors.apply(cx, &new, &levels);
    settings.send_replace(Settings::of(&new, &levels));
    *current = new;
    Ok(Reloaded {
        config: path.display().to_string(),
        changes,
        restart_needed,
    })
}

/// The settings that differ between `old` and `new` and apply only at start.
fn restart_only(old: &Config, new: &Config) -> Vec<String> {
    fn differs<T: Serialize>(a: &T, b: &T) -> bool {
        serde_json::to_value(a).ok() != serde_json::to_value(b).ok()
    }
    [
        ("listen", differs(&old.listen, &new.listen)),
        ("state_path", differs(&old.state_path, &new.state_path)),
        ("channel", differs(&old.channels, &new.channels)),
        ("heartbeat", differs(&old.heartbeat, &new.heartbeat)),
    ]
    .into_iter()
    .filter(|(_, d)| *d)
    .map(|(n, _)| n.to_string())
    .collect()
}

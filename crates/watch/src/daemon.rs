//! The daemon: collector tasks, the rule engine, the dispatcher and the HTTP server.

use crate::collect::chain::ChainCollector;
use crate::collect::nodes::{HostCollector, NodeCollector};
use crate::collect::rpc::Rpc;
use crate::config::Config;
use crate::engine::alert::Engine;
use crate::engine::store::Store;
use crate::error::WatchError;
use crate::notify::dispatch::Dispatcher;
use crate::serve::http::Shared;
use crate::serve::metrics::Metrics;
use crate::state::{now, Observed};
use prometheus_client::registry::Registry;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Run the watch until `shutdown` is cancelled, with a fresh metrics registry.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), WatchError> {
    run_with_registry(config, Registry::default(), shutdown).await
}

/// Run the watch, registering its metrics in `registry`.
pub async fn run_with_registry(
    config: Config,
    mut registry: Registry,
    shutdown: CancellationToken,
) -> Result<(), WatchError> {
    config.validate()?;
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
    let metrics = Arc::new(Metrics::register(&mut registry));
    let ws_metrics = crate::collect::ws::WsMetrics::register(&mut registry);
    let mut engine = Engine::new(
        Store::open(&config.state_path)?,
        config.routes.clone(),
        config.repeat_interval,
    )?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| WatchError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| WatchError::Bind {
        addr: config.listen,
        source,
    })?;
    tracing::info!("watch listening on http://{addr} (status page /, /metrics, /api/status)");

    // Every outgoing TLS connection trusts the same roots (plus `tls_ca_file`).
    let (trust, http) = crate::net::tls::outgoing(&config)?;
    let shared = Arc::new(Shared {
        observed: RwLock::new(Observed::default()),
        alerts: RwLock::new(engine.firing().cloned().collect()),
        registry,
        changed: Notify::new(),
    });
    let rpc = |url: &str| Rpc::new(http.clone(), url, config.request_timeout);
    let mut tasks: JoinSet<Result<(), WatchError>> = JoinSet::new();
    let every = config.poll_interval;

    // Collectors: one task each, publishing into `shared.observed`.
    {
        let mut o = shared.observed.write().unwrap_or_else(|p| p.into_inner());
        let mut cols = Vec::new();
        for (i, c) in config.chains.iter().enumerate() {
            let col = ChainCollector::new(c.clone(), c.rpc.iter().map(|u| rpc(u)).collect());
            o.chains.push(col.state.clone());
            let feed = Arc::new(crate::collect::ws::Feed::default());
            if c.websocket {
                tasks.spawn({
                    let sub = crate::collect::ws::Subscription::new(c.rpc.clone(), trust.clone())
                        .with_metrics(&ws_metrics, &c.id);
                    let (feed, sd) = (feed.clone(), shutdown.clone());
                    async move {
                        crate::collect::ws::follow(sub, feed, sd).await;
                        Ok(())
                    }
                });
            }
            cols.push((Collector::Chain(Box::new(col), i), Some(feed)));
            if let Some((via, sources)) =
                crate::collect::sdk::sources(c, &http, config.request_timeout)
            {
                let col = crate::collect::sdk::collector::SdkCollector::new(c, via, sources);
                o.chains[i].sdk = Some(Box::new(col.state.clone()));
                cols.push((Collector::Sdk(Box::new(col), i, c.sdk_interval), None));
            }
        }
        for (i, n) in config.nodes.iter().enumerate() {
            let col = NodeCollector::new(n, rpc(&n.rpc), http.clone(), config.request_timeout);
            o.nodes.push(col.state.clone());
            cols.push((Collector::Node(col, i), None));
        }
        for (i, h) in config.hosts.iter().enumerate() {
            let col = HostCollector::new(
                h.clone(),
                http.clone(),
                config.request_timeout,
                config.rules.disk_fill_window,
            );
            o.hosts.push(col.state.clone());
            cols.push((Collector::Host(col, i), None));
        }
        for sg in &config.signers {
            let col = crate::collect::signer::SignerCollector::new(
                sg,
                config.rules.signer_refusal_reasons.clone(),
                http.clone(),
                config.request_timeout,
            );
            o.signers.push(col.state.clone());
            cols.push((Collector::Signer(col, o.signers.len() - 1), None));
        }
        for (col, feed) in cols {
            tasks.spawn(poll_loop(
                col,
                every,
                feed,
                shared.clone(),
                shutdown.clone(),
            ));
        }
    }

    // Dispatcher.
    let wake = Arc::new(Notify::new());
    let dispatcher = Dispatcher {
        store: Store::open(&config.state_path)?,
        channels: config
            .channels
            .iter()
            .map(|c| (c.name().to_string(), c.clone()))
            .collect(),
        routes: config.routes.clone(),
        sender: crate::notify::dispatch::Sender {
            http: http.clone(),
            timeout: config.request_timeout,
            generator_url: format!("http://{addr}/api/status"),
            tls: trust.clone(),
        },
        metrics: metrics.clone(),
    };
    {
        let (wake, sd) = (wake.clone(), shutdown.clone());
        tasks.spawn(async move { dispatcher.run(wake, sd).await.map_err(WatchError::from) });
    }

    // Heartbeat.
    if let Some(hb) = config.heartbeat.clone() {
        let (sd, http, metrics, timeout) = (
            shutdown.clone(),
            http.clone(),
            metrics.clone(),
            config.request_timeout,
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

    // HTTP.
    {
        let sd = shutdown.clone();
        let app = crate::serve::http::router(shared.clone());
        tasks.spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { sd.cancelled().await })
                .await
                .map_err(|e| WatchError::Task(format!("HTTP server: {e}")))
        });
    }

    // Engine: evaluate the rules when something new was observed, and at least every
    // poll interval (durations keep growing while nothing changes).
    let rules = config.rules.clone();
    let sd = shutdown.clone();
    let sh = shared.clone();
    tasks.spawn(async move {
        loop {
            let evaluated_at = tokio::time::Instant::now();
            let t = now();
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
            metrics.update(&obs, engine.firing(), t);
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

    // The first task to fail stops the rest.
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

/// The shortest time between two evaluations of the rules that new observations
/// start: with many chains, publishes arrive many times a second, and one evaluation
/// serves them all.
const EVAL_GAP: Duration = Duration::from_millis(200);

/// One collector and its slot in [`Observed`].
enum Collector {
    Chain(Box<ChainCollector>, usize),
    Node(NodeCollector, usize),
    Host(HostCollector, usize),
    Signer(crate::collect::signer::SignerCollector, usize),
    /// A chain's Cosmos SDK data (REST or ABCI query), polled at its own interval.
    Sdk(
        Box<crate::collect::sdk::collector::SdkCollector>,
        usize,
        Duration,
    ),
}

impl Collector {
    async fn poll(&mut self) {
        match self {
            Collector::Chain(c, _) => c.poll(now()).await,
            Collector::Node(c, _) => c.poll(now()).await,
            Collector::Host(c, _) => c.poll(now()).await,
            Collector::Signer(c, _) => c.poll(now()).await,
            Collector::Sdk(c, _, _) => c.poll(now()).await,
        }
    }

    /// Time between polls.
    fn interval(&self, every: Duration) -> Duration {
        match self {
            Collector::Sdk(_, _, d) => *d,
            _ => every,
        }
    }

    fn publish(&self, o: &mut Observed) {
        match self {
            Collector::Chain(c, i) => {
                // The SDK data is published by its own collector: keep it.
                let sdk = o.chains[*i].sdk.take();
                o.chains[*i] = c.state.clone();
                o.chains[*i].sdk = sdk;
                crate::state::refresh(&mut o.chains[*i]);
            }
            Collector::Node(c, i) => o.nodes[*i] = c.state.clone(),
            Collector::Host(c, i) => o.hosts[*i] = c.state.clone(),
            Collector::Signer(c, i) => o.signers[*i] = c.state.clone(),
            Collector::Sdk(c, i, _) => {
                o.chains[*i].sdk = Some(Box::new(c.state.clone()));
                crate::state::refresh(&mut o.chains[*i]);
            }
        }
    }
}

/// Poll `col` every `every` until `shutdown`, publishing after each poll; in between,
/// a chain collector takes the blocks its websocket `feed` pushes, and polls at once
/// when it cannot.
async fn poll_loop(
    mut col: Collector,
    every: Duration,
    feed: Option<Arc<crate::collect::ws::Feed>>,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) -> Result<(), WatchError> {
    let mut polled_at: Option<tokio::time::Instant> = None;
    loop {
        let due = polled_at.is_none_or(|t| t.elapsed() >= col.interval(every));
        let fed = match (&feed, &mut col) {
            (Some(f), Collector::Chain(c, _)) if !due => c.take_fed(f.take(), now()).await,
            _ => false,
        };
        if !fed {
            if let Some(f) = &feed {
                // A poll reads whatever the feed holds.
                f.take();
            }
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = col.poll() => {}
            }
            polled_at = Some(tokio::time::Instant::now());
        }
        col.publish(&mut shared.observed.write().unwrap_or_else(|p| p.into_inner()));
        shared.changed.notify_one();
        let next_poll = polled_at.unwrap_or_else(tokio::time::Instant::now) + col.interval(every);
        let woken = async {
            match &feed {
                Some(f) => f.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep_until(next_poll) => {}
            _ = woken => {}
        }
    }
}

/// Read `/api/status` from a running watch.
pub async fn fetch_status(url: &str, timeout: Duration) -> Result<serde_json::Value, WatchError> {
    let url = format!("{}/api/status", url.trim_end_matches('/'));
    let err = |message: String| WatchError::Status {
        url: url.clone(),
        message,
    };
    let resp = reqwest::Client::new()
        .get(&url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| err(crate::net::root_cause(&e)))?;
    if !resp.status().is_success() {
        return Err(err(format!("HTTP status {}", resp.status().as_u16())));
    }
    resp.json().await.map_err(|e| err(e.to_string()))
}

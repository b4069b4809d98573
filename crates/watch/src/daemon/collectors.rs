//! The collectors' tasks: one per chain, chain websocket, Cosmos SDK source, node,
//! host and signer, each publishing what it read into the shared `Observed`.

use super::Context;
use crate::collect::chain::ChainCollector;
use crate::collect::nodes::{HostCollector, NodeCollector};
use crate::collect::rpc::Rpc;
use crate::collect::sdk::collector::SdkCollector;
use crate::collect::signer::SignerCollector;
use crate::collect::ws::{self, Feed, WsMetrics};
use crate::error::WatchError;
use crate::serve::http::Shared;
use crate::state::{now, Observed};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Start every collector (and each chain's websocket follower) on `tasks`, after
/// putting their first state in `shared.observed`.
pub(super) fn spawn(
    cx: &Context,
    ws_metrics: &WsMetrics,
    tasks: &mut JoinSet<Result<(), WatchError>>,
) {
    let cols = {
        let mut o = cx
            .shared
            .observed
            .write()
            .unwrap_or_else(|p| p.into_inner());
        let mut cols = chains(cx, ws_metrics, &mut o, tasks);
        cols.extend(nodes_hosts_signers(cx, &mut o));
        cols
    };
    for (col, feed) in cols {
        tasks.spawn(poll_loop(
            col,
            cx.config.poll_interval,
            feed,
            cx.shared.clone(),
            cx.shutdown.clone(),
        ));
    }
}

type Started = Vec<(Collector, Option<Arc<Feed>>)>;

/// The chain collectors, their websocket followers and their Cosmos SDK collectors.
fn chains(
    cx: &Context,
    ws_metrics: &WsMetrics,
    o: &mut Observed,
    tasks: &mut JoinSet<Result<(), WatchError>>,
) -> Started {
    let config = &cx.config;
    let mut cols = Vec::new();
    for (i, c) in config.chains.iter().enumerate() {
        let col = ChainCollector::new(c.clone(), c.rpc.iter().map(|u| cx.rpc(u)).collect());
        o.chains.push(col.state.clone());
        let feed = Arc::new(Feed::default());
        if c.websocket {
            tasks.spawn({
                let sub = ws::Subscription::new(c.rpc.clone(), cx.trust.clone())
                    .with_metrics(ws_metrics, &c.id);
                let (feed, sd) = (feed.clone(), cx.shutdown.clone());
                async move {
                    ws::follow(sub, feed, sd).await;
                    Ok(())
                }
            });
        }
        cols.push((Collector::Chain(Box::new(col), i), Some(feed)));
        if let Some((via, sources)) =
            crate::collect::sdk::sources(c, &cx.http, config.request_timeout)
        {
            let col = SdkCollector::new(c, via, sources);
            o.chains[i].sdk = Some(Box::new(col.state.clone()));
            cols.push((Collector::Sdk(Box::new(col), i, c.sdk_interval), None));
        }
    }
    cols
}

/// The node, host and signer collectors.
fn nodes_hosts_signers(cx: &Context, o: &mut Observed) -> Started {
    let config = &cx.config;
    let mut cols = Vec::new();
    for (i, n) in config.nodes.iter().enumerate() {
        let col = NodeCollector::new(n, cx.rpc(&n.rpc), cx.http.clone(), config.request_timeout);
        o.nodes.push(col.state.clone());
        cols.push((Collector::Node(col, i), None));
    }
    for (i, h) in config.hosts.iter().enumerate() {
        let col = HostCollector::new(
            h.clone(),
            cx.http.clone(),
            config.request_timeout,
            cx.levels.host(&h.name).disk_fill_window,
        );
        o.hosts.push(col.state.clone());
        cols.push((Collector::Host(col, i), None));
    }
    for sg in &config.signers {
        let col = SignerCollector::new(
            sg,
            cx.levels.signer(&sg.name).signer_refusal_reasons.clone(),
            cx.http.clone(),
            config.request_timeout,
        );
        o.signers.push(col.state.clone());
        cols.push((Collector::Signer(col, o.signers.len() - 1), None));
    }
    cols
}

impl Context {
    /// An RPC client of `url` on the shared HTTP client.
    fn rpc(&self, url: &str) -> Rpc {
        Rpc::new(self.http.clone(), url, self.config.request_timeout)
    }
}

/// One collector and its slot in [`Observed`].
enum Collector {
    Chain(Box<ChainCollector>, usize),
    Node(NodeCollector, usize),
    Host(HostCollector, usize),
    Signer(SignerCollector, usize),
    /// A chain's Cosmos SDK data (REST or ABCI query), polled at its own interval.
    Sdk(Box<SdkCollector>, usize, Duration),
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
    feed: Option<Arc<Feed>>,
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

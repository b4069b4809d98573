//! The collectors' tasks: one per chain (with its websocket follower and its Cosmos SDK
//! collector), node, host and signer, each publishing what it read into the shared
//! `Observed` under its subject's name. A reload keeps the tasks of subjects whose
//! settings did not change (so a chain is not read back again), stops those removed or
//! changed, and starts the new ones.

use super::Context;
use crate::collect::chain::ChainCollector;
use crate::collect::nodes::{HostCollector, NodeCollector};
use crate::collect::peer::PeerCollector;
use crate::collect::rpc::Rpc;
use crate::collect::sdk::collector::SdkCollector;
use crate::collect::signer::SignerCollector;
use crate::collect::ws::{self, Feed, WsMetrics};
use crate::config::{Config, Levels};
use crate::error::WatchError;
use crate::serve::http::Shared;
use crate::state::{now, Observed};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// What a collector task is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Subject {
    Chain(String),
    Node(String),
    Host(String),
    Signer(String),
    Peer(String),
}

/// The running collector tasks, by subject, with the settings each was started with.
pub(super) struct Collectors {
    running: BTreeMap<Subject, (String, CancellationToken)>,
    tasks: JoinSet<Result<(), WatchError>>,
    ws_metrics: WsMetrics,
}

/// What a reload did to the collectors.
#[derive(Debug, Default, serde::Serialize)]
pub struct Changes {
    /// Subjects now watched that were not.
    pub added: Vec<String>,
    /// Subjects no longer watched.
    pub removed: Vec<String>,
    /// Subjects whose settings changed: their collectors started again.
    pub restarted: Vec<String>,
    /// Subjects left running as they were.
    pub kept: usize,
}

impl Collectors {
    /// Start a collector for every subject of `config`.
    pub(super) fn start(
        cx: &Context,
        config: &Config,
        levels: &Levels,
        ws_metrics: WsMetrics,
    ) -> Collectors {
        let mut c = Collectors {
            running: BTreeMap::new(),
            tasks: JoinSet::new(),
            ws_metrics,
        };
        c.apply(cx, config, levels);
        c
    }

    /// Bring the collectors to `config`: keep, stop, restart and start.
    pub(super) fn apply(&mut self, cx: &Context, config: &Config, levels: &Levels) -> Changes {
        let wanted = fingerprints(config, levels);
        let mut changes = Changes::default();
        let mut stopped = Vec::new();
        self.running
            .retain(|s, (print, token)| match wanted.get(s) {
                Some(p) if p == print => {
                    changes.kept += 1;
                    true
                }
                Some(_) => {
                    token.cancel();
                    changes.restarted.push(name(s));
                    false
                }
                None => {
                    token.cancel();
                    changes.removed.push(name(s));
                    stopped.push(s.clone());
                    false
                }
            });
        let mut o = cx
            .shared
            .observed
            .write()
            .unwrap_or_else(|p| p.into_inner());
        for s in &stopped {
            forget(&mut o, s);
        }
        let mut started = Vec::new();
        for (s, print) in wanted {
            if self.running.contains_key(&s) {
                continue;
            }
            if !changes.restarted.contains(&name(&s)) {
                changes.added.push(name(&s));
            }
            let token = cx.shutdown.child_token();
            started.extend(self.build(cx, config, levels, &s, &mut o, &token));
            self.running.insert(s, (print, token));
        }
        order(&mut o, config);
        drop(o);
        for (col, feed, token) in started {
            self.tasks.spawn(poll_loop(
                col,
                config.poll_interval,
                feed,
                cx.shared.clone(),
                token,
            ));
        }
        changes
    }

    /// The first collector task that failed (they only end with the watch otherwise).
    pub(super) async fn failed(&mut self) -> WatchError {
        loop {
            match self.tasks.join_next().await {
                Some(Ok(Ok(()))) => continue,
                Some(Ok(Err(e))) => return e,
                Some(Err(e)) if e.is_cancelled() => continue,
                Some(Err(e)) => return WatchError::Task(e.to_string()),
                None => std::future::pending::<()>().await,
            }
        }
    }

    /// The collectors of subject `s`, after putting their first state in `o`.
    fn build(
        &mut self,
        cx: &Context,
        config: &Config,
        levels: &Levels,
        s: &Subject,
        o: &mut Observed,
        token: &CancellationToken,
    ) -> Vec<(Collector, Option<Arc<Feed>>, CancellationToken)> {
        let timeout = config.request_timeout;
        let rpc = |url: &str| Rpc::new(cx.http.clone(), url, timeout);
        let mut out = Vec::new();
        match s {
            Subject::Chain(id) => {
                let c = config.chains.iter().find(|c| &c.id == id).expect("wanted");
                let sdk = crate::collect::sdk::sources(c, &cx.http, timeout);
                // Without validator_address, the SDK collector finds it from
                // operator_address and hands it to the chain collector.
                let cell = crate::collect::ResolvedAddress::default();
                let mut col =
                    ChainCollector::new(c.clone(), c.rpc.iter().map(|u| rpc(u)).collect());
                if sdk.is_some() {
                    col = col.resolving(cell.clone());
                }
                let mut state = col.state.clone();
                let feed = Arc::new(Feed::default());
                if c.websocket {
                    let sub = ws::Subscription::new(c.rpc.clone(), cx.trust.clone())
                        .with_metrics(&self.ws_metrics, &c.id);
                    let (feed, sd) = (feed.clone(), token.clone());
                    self.tasks.spawn(async move {
                        ws::follow(sub, feed, sd).await;
                        Ok(())
                    });
                }
                out.push((
                    Collector::Chain(Box::new(col), id.clone()),
                    Some(feed),
                    token.clone(),
                ));
                if let Some((via, sources)) = sdk {
                    let col = SdkCollector::new(c, via, sources).resolving(c, cell);
                    state.sdk = Some(Box::new(col.state.clone()));
                    let every = c.sdk_interval;
                    out.push((
                        Collector::Sdk(Box::new(col), id.clone(), every),
                        None,
                        token.clone(),
                    ));
                }
                o.chains.retain(|x| &x.id != id);
                o.chains.push(state);
            }
            Subject::Node(name) => {
                let n = config
                    .nodes
                    .iter()
                    .find(|n| &n.name == name)
                    .expect("wanted");
                let col = NodeCollector::new(n, rpc(&n.rpc), cx.http.clone(), timeout);
                o.nodes.retain(|x| &x.name != name);
                o.nodes.push(col.state.clone());
                out.push((Collector::Node(col), None, token.clone()));
            }
            Subject::Host(name) => {
                let h = config
                    .hosts
                    .iter()
                    .find(|h| &h.name == name)
                    .expect("wanted");
                let window = levels.host(name).disk_fill_window;
                let col = HostCollector::new(h.clone(), cx.http.clone(), timeout, window);
                o.hosts.retain(|x| &x.name != name);
                o.hosts.push(col.state.clone());
                out.push((Collector::Host(col), None, token.clone()));
            }
            Subject::Signer(name) => {
                let sg = config
                    .signers
                    .iter()
                    .find(|s| &s.name == name)
                    .expect("wanted");
                let reasons = levels.signer(name).signer_refusal_reasons.clone();
                let col = SignerCollector::new(sg, reasons, cx.http.clone(), timeout);
                o.signers.retain(|x| &x.name != name);
                o.signers.push(col.state.clone());
                out.push((Collector::Signer(col), None, token.clone()));
            }
            Subject::Peer(name) => {
                let w = config
                    .peers
                    .iter()
                    .find(|w| &w.name == name)
                    .expect("wanted");
                let col = PeerCollector::new(w, cx.http.clone(), timeout);
                o.peers.retain(|x| &x.name != name);
                o.peers.push(col.state.clone());
                out.push((Collector::Peer(col), None, token.clone()));
            }
        }
        out
    }
}

/// Every subject of `config` with what its collectors depend on: a change there starts
/// them again; its rule levels are left out (the rules read those, not the collectors),
/// except the two the collectors use.
fn fingerprints(config: &Config, levels: &Levels) -> BTreeMap<Subject, String> {
    let common = serde_json::json!([
        format!("{:?}", config.poll_interval),
        format!("{:?}", config.request_timeout),
        config.tls_ca_file
    ]);
    let print = |v: serde_json::Value| serde_json::json!([common, v]).to_string();
    let mut out = BTreeMap::new();
    for c in &config.chains {
        let mut c = c.clone();
        c.rules = Default::default();
        c.block_time = None;
        out.insert(Subject::Chain(c.id.clone()), print(serde_json::json!(c)));
    }
    for n in &config.nodes {
        let mut n = n.clone();
        n.rules = Default::default();
        out.insert(Subject::Node(n.name.clone()), print(serde_json::json!(n)));
    }
    for h in &config.hosts {
        let window = levels.host(&h.name).disk_fill_window;
        let mut h = h.clone();
        h.rules = Default::default();
        let v = serde_json::json!([h, format!("{window:?}")]);
        out.insert(Subject::Host(h.name.clone()), print(v));
    }
    for s in &config.signers {
        let reasons = &levels.signer(&s.name).signer_refusal_reasons;
        let mut s = s.clone();
        s.rules = Default::default();
        let v = serde_json::json!([s, reasons]);
        out.insert(Subject::Signer(s.name.clone()), print(v));
    }
    for w in &config.peers {
        out.insert(Subject::Peer(w.name.clone()), print(serde_json::json!(w)));
    }
    out
}

fn name(s: &Subject) -> String {
    match s {
        Subject::Chain(n) => format!("chain {n}"),
        Subject::Node(n) => format!("node {n}"),
        Subject::Host(n) => format!("host {n}"),
        Subject::Signer(n) => format!("signer {n}"),
        Subject::Peer(n) => format!("peer {n}"),
    }
}

/// Drop a subject no longer watched from `o`.
fn forget(o: &mut Observed, s: &Subject) {
    match s {
        Subject::Chain(id) => o.chains.retain(|c| &c.id != id),
        Subject::Node(n) => o.nodes.retain(|x| &x.name != n),
        Subject::Host(n) => o.hosts.retain(|x| &x.name != n),
        Subject::Signer(n) => o.signers.retain(|x| &x.name != n),
        Subject::Peer(n) => o.peers.retain(|x| &x.name != n),
    }
}

/// Put `o`'s subjects in the configuration's order (the status page's and the API's).
fn order(o: &mut Observed, config: &Config) {
    fn pos<'a>(mut names: impl Iterator<Item = &'a String>, n: &str) -> usize {
        names.position(|x| x == n).unwrap_or(usize::MAX)
    }
    o.chains
        .sort_by_key(|c| pos(config.chains.iter().map(|x| &x.id), &c.id));
    o.nodes
        .sort_by_key(|c| pos(config.nodes.iter().map(|x| &x.name), &c.name));
    o.hosts
        .sort_by_key(|c| pos(config.hosts.iter().map(|x| &x.name), &c.name));
    o.signers
        .sort_by_key(|c| pos(config.signers.iter().map(|x| &x.name), &c.name));
    o.peers
        .sort_by_key(|c| pos(config.peers.iter().map(|x| &x.name), &c.name));
}

/// One collector and the name of its subject in [`Observed`].
enum Collector {
    Chain(Box<ChainCollector>, String),
    Node(NodeCollector),
    Host(HostCollector),
    Signer(SignerCollector),
    Peer(PeerCollector),
    /// A chain's Cosmos SDK data (REST or ABCI query), polled at its own interval.
    Sdk(Box<SdkCollector>, String, Duration),
}

impl Collector {
    async fn poll(&mut self) {
        match self {
            Collector::Chain(c, _) => c.poll(now()).await,
            Collector::Node(c) => c.poll(now()).await,
            Collector::Host(c) => c.poll(now()).await,
            Collector::Signer(c) => c.poll(now()).await,
            Collector::Peer(c) => c.poll(now()).await,
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
            Collector::Chain(c, id) => {
                if let Some(slot) = o.chains.iter_mut().find(|x| &x.id == id) {
                    // The SDK data is published by its own collector: keep it.
                    let sdk = slot.sdk.take();
                    *slot = c.state.clone();
                    slot.sdk = sdk;
                    crate::state::refresh(slot);
                }
            }
            Collector::Node(c) => {
                if let Some(slot) = o.nodes.iter_mut().find(|x| x.name == c.state.name) {
                    *slot = c.state.clone();
                }
            }
            Collector::Host(c) => {
                if let Some(slot) = o.hosts.iter_mut().find(|x| x.name == c.state.name) {
                    *slot = c.state.clone();
                }
            }
            Collector::Signer(c) => {
                if let Some(slot) = o.signers.iter_mut().find(|x| x.name == c.state.name) {
                    *slot = c.state.clone();
                }
            }
            Collector::Peer(c) => {
                if let Some(slot) = o.peers.iter_mut().find(|x| x.name == c.state.name) {
                    *slot = c.state.clone();
                }
            }
            Collector::Sdk(c, id, _) => {
                if let Some(slot) = o.chains.iter_mut().find(|x| &x.id == id) {
                    slot.sdk = Some(Box::new(c.state.clone()));
                    crate::state::refresh(slot);
                }
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
        {
            let mut o = shared.observed.write().unwrap_or_else(|p| p.into_inner());
            // Stopped by a reload while it polled (a reload stops a task before it
            // takes this lock): its subject may be gone or have a new collector.
            if shutdown.is_cancelled() {
                return Ok(());
            }
            col.publish(&mut o);
        }
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

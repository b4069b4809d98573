//! `watch latency`: from the first block that lacks our validator's signature to the
//! webhook notification, on a real devnet.
//!
//! The bench starts a devnet, runs its own `bulwark watch` over the devnet's RPC (the
//! nodes that are not val0's, as the devnet's watch reads them) with a webhook channel to
//! a receiver in this process, and `missed_in_a_row` warning at 1. It polls `/status` of
//! the watch's first RPC endpoint every 10 ms and notes when each height first appears.
//! A trial stops val0's signer (`bulwark devnet stop signer`), waits for the firing
//! notification, finds the first block after the stop whose commit lacks val0, and takes
//! the time from that block's first appearance on the RPC to the notification's arrival.
//! Then it starts the signer again (`bulwark devnet up`) and waits for the resolved
//! notification before the next trial. The devnet is the caller's, shared with the
//! grouped-notification trials ([`super::grouped`]).

use super::cost::stop;
use super::devnet::Devnet;
use super::http::{self, Request, Response, Service};
use anyhow::Context;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use testkit::port::try_free_port;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One trial.
#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    /// Trial number.
    pub trial: usize,
    /// The first block after the stop whose commit lacks val0.
    pub first_missing_height: u64,
    /// From that block's first appearance on the RPC (`/status` polled every 10 ms) to
    /// the webhook's arrival, milliseconds.
    pub latency_ms: f64,
    /// From that block's header time to the webhook's arrival, milliseconds (includes
    /// the time CometBFT takes to commit the block).
    pub from_block_time_ms: f64,
    /// From the signer's restart to the resolved notification, seconds.
    pub resolved_after_s: f64,
}

/// A received webhook.
#[derive(Debug)]
pub(super) struct Hook {
    /// When it arrived.
    pub at: Instant,
    /// Its JSON body.
    pub body: Value,
}

#[derive(Debug)]
struct Receiver(mpsc::UnboundedSender<Hook>);

impl Service for Receiver {
    fn handle(&self, req: &Request) -> Response {
        let at = Instant::now();
        if req.method == "POST" {
            if let Ok(body) = serde_json::from_slice(&req.body) {
                let _ = self.0.send(Hook { at, body });
            }
        }
        Response::json(200, "{}")
    }
}

/// A webhook receiver in this process until `shutdown`: its URL, and what it receives.
pub(super) async fn receiver(
    shutdown: &CancellationToken,
) -> anyhow::Result<(String, mpsc::UnboundedReceiver<Hook>)> {
    let (tx, hooks) = mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook_url = format!("http://{}/bulwark", listener.local_addr()?);
    tokio::spawn(http::serve(
        listener,
        Arc::new(Receiver(tx)),
        shutdown.clone(),
    ));
    Ok((hook_url, hooks))
}

/// Start `bulwark watch run` on config `cfg`, written with its log into `dir`.
pub(super) fn spawn_watch(bulwark: &Path, dir: &Path, cfg: &str) -> anyhow::Result<Child> {
    let cfg_path = dir.join("watch.toml");
    std::fs::write(&cfg_path, cfg)?;
    let log = std::fs::File::create(dir.join("watch.log"))?;
    Command::new(bulwark)
        .args(["watch", "run", "--config"])
        .arg(&cfg_path)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting bulwark watch")
}

/// Run `trials` trials on `devnet`.
pub async fn run(
    bulwark: &Path,
    devnet: &Arc<Devnet>,
    trials: usize,
    work: &Path,
    shutdown: &CancellationToken,
) -> anyhow::Result<Vec<Trial>> {
    let (hook_url, mut hooks) = receiver(shutdown).await?;

    let dir = work.join("latency");
    std::fs::create_dir_all(&dir)?;
    let port = try_free_port()?;
    let rpcs = devnet.watch_rpcs();
    let val0 = devnet.val0_address();
    let cfg = {
        use watch::config::{ChainConfig, ChannelConfig, Config, CountRule, RouteConfig};
        let mut c = Config::new(dir.join("watch.sqlite"));
        c.listen = ([127, 0, 0, 1], port).into();
        c.poll_interval = Duration::from_secs(1);
        let mut chain = ChainConfig::new(&devnet.manifest.chain_id, rpcs.clone());
        chain.validator_address = Some(val0.clone());
        c.chains.push(chain);
        c.rules.missed_in_a_row = CountRule {
            warning: 1,
            critical: 10,
            for_: Duration::ZERO,
        };
        c.channels.push(ChannelConfig::Webhook {
            name: "bench".into(),
            url: hook_url.clone(),
        });
        c.routes.push(RouteConfig {
            channels: vec!["bench".into()],
            ..RouteConfig::new(&[], watch::config::Severity::Warning)
        });
        c.to_toml()?
    };
    let mut watch = spawn_watch(bulwark, &dir, &cfg)?;
    let res = trials_with_watch(devnet, &rpcs[0], &val0, port, trials, &mut hooks, shutdown).await;
    stop(&mut watch);
    if res.is_ok() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    res.with_context(|| format!("the watch's config and log are in {}", dir.display()))
}

async fn trials_with_watch(
    devnet: &Arc<Devnet>,
    rpc: &str,
    val0: &str,
    watch_port: u16,
    trials: usize,
    hooks: &mut mpsc::UnboundedReceiver<Hook>,
    shutdown: &CancellationToken,
) -> anyhow::Result<Vec<Trial>> {
    let http = reqwest::Client::new();
    // Wait until the watch has checked a block.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let checked = async {
            let doc: Value = http
                .get(format!("http://127.0.0.1:{watch_port}/api/status"))
                .send()
                .await?
                .json()
                .await?;
            Ok::<_, anyhow::Error>(
                doc.pointer("/chains/0/checked_height")
                    .and_then(Value::as_u64),
            )
        }
        .await;
        if let Ok(Some(_)) = checked {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the watch checked no block in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // When each height first shows on the RPC.
    let seen: Arc<Mutex<BTreeMap<u64, Instant>>> = Arc::default();
    {
        let (seen, http, rpc, sd) = (
            seen.clone(),
            http.clone(),
            rpc.to_string(),
            shutdown.clone(),
        );
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(10));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = sd.cancelled() => return,
                    _ = every.tick() => {}
                }
                if let Ok(h) = latest_height(&http, &rpc).await {
                    let now = Instant::now();
                    let mut s = seen.lock().unwrap_or_else(|p| p.into_inner());
                    let from = s.last_key_value().map_or(h, |(k, _)| k + 1);
                    for x in from..=h {
                        s.insert(x, now);
                    }
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    while hooks.try_recv().is_ok() {}

    let mut out = Vec::new();
    for trial in 0..trials {
        // A trial starts with val0 signing and no missed_in_a_row alert: val0 can miss the
        // devnet's first blocks (its node catching up, the signer connecting), and an alert
        // still firing from those would make the stop a change of that alert, not a firing.
        wait_no_missed_alert(&http, watch_port, Duration::from_secs(60)).await?;
        while hooks.try_recv().is_ok() {}
        let stop_height = latest_height(&http, rpc).await?;
        let d = devnet.clone();
        tokio::task::spawn_blocking(move || d.stop("signer")).await??;
        let fired = wait_hook(hooks, "firing", Duration::from_secs(60)).await?;
        let (h, block_time) = first_missing(&http, rpc, val0, stop_height + 1).await?;
        // The notification can beat the 10 ms poll to the block: give the poll a moment
        // to see it; such a trial counts 0 ms.
        let seen_deadline = Instant::now() + Duration::from_secs(2);
        let appeared = loop {
            let at = seen
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&h)
                .copied();
            match at {
                Some(at) => break at,
                None if Instant::now() < seen_deadline => {
                    tokio::time::sleep(Duration::from_millis(5)).await
                }
                None => anyhow::bail!("the missing block {h} was never seen on the RPC"),
            }
        };
        let latency = fired.at.saturating_duration_since(appeared);
        let arrived_sys = SystemTime::now() - fired.at.elapsed();
        let from_block = arrived_sys.duration_since(block_time).unwrap_or_default();
        let restarted = Instant::now();
        let d = devnet.clone();
        tokio::task::spawn_blocking(move || d.start_stopped()).await??;
        let resolved = wait_hook(hooks, "resolved", Duration::from_secs(120)).await?;
        let t = Trial {
            trial,
            first_missing_height: h,
            latency_ms: latency.as_secs_f64() * 1e3,
            from_block_time_ms: from_block.as_secs_f64() * 1e3,
            resolved_after_s: resolved
                .at
                .saturating_duration_since(restarted)
                .as_secs_f64(),
        };
        eprintln!(
            "latency trial={trial} height={h} rpc->webhook={:.0}ms block_time->webhook={:.0}ms resolved_after={:.1}s",
            t.latency_ms, t.from_block_time_ms, t.resolved_after_s
        );
        out.push(t);
        tokio::time::sleep(Duration::from_secs(3)).await;
        while hooks.try_recv().is_ok() {}
    }
    Ok(out)
}

/// Wait until the watch's `/api/status` shows no `missed_in_a_row` alert.
async fn wait_no_missed_alert(
    http: &reqwest::Client,
    watch_port: u16,
    within: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    loop {
        let doc: anyhow::Result<Value> = async {
            Ok(http
                .get(format!("http://127.0.0.1:{watch_port}/api/status"))
                .timeout(Duration::from_secs(2))
                .send()
                .await?
                .json()
                .await?)
        }
        .await;
        let firing = doc.map(|d| {
            d["alerts"]
                .as_array()
                .is_some_and(|a| a.iter().any(|a| a["rule"] == "missed_in_a_row"))
        });
        if let Ok(false) = firing {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "val0 was still missing blocks (missed_in_a_row firing) after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_hook(
    hooks: &mut mpsc::UnboundedReceiver<Hook>,
    status: &str,
    within: Duration,
) -> anyhow::Result<Hook> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let h = tokio::time::timeout_at(deadline, hooks.recv())
            .await
            .with_context(|| format!("no {status} missed_in_a_row notification in {within:?}"))?
            .context("the webhook receiver stopped")?;
        let field = |k: &str| h.body.get(k).and_then(Value::as_str).unwrap_or("");
        if field("rule") == "missed_in_a_row" && field("kind") == status {
            return Ok(h);
        }
    }
}

async fn latest_height(http: &reqwest::Client, rpc: &str) -> anyhow::Result<u64> {
    let v: Value = http
        .get(format!("{rpc}/status"))
        .timeout(Duration::from_secs(2))
        .send()
        .await?
        .json()
        .await?;
    v.pointer("/result/sync_info/latest_block_height")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .context("no latest_block_height")
}

/// The first block from `from` on whose commit has no signature from `val0`, and its
/// header time.
async fn first_missing(
    http: &reqwest::Client,
    rpc: &str,
    val0: &str,
    from: u64,
) -> anyhow::Result<(u64, SystemTime)> {
    let latest = latest_height(http, rpc).await?;
    for h in from..=latest {
        let v: Value = http
            .get(format!("{rpc}/block?height={h}"))
            .send()
            .await?
            .json()
            .await?;
        let b = v.pointer("/result/block").context("no block")?;
        let signed = b
            .pointer("/last_commit/signatures")
            .and_then(Value::as_array)
            .context("no signatures")?
            .iter()
            .any(|s| {
                s.get("validator_address")
                    .and_then(Value::as_str)
                    .is_some_and(|a| a.eq_ignore_ascii_case(val0))
                    && s.get("block_id_flag").and_then(Value::as_u64) != Some(1)
            });
        if !signed {
            let t = b
                .pointer("/header/time")
                .and_then(Value::as_str)
                .and_then(|t| humantime::parse_rfc3339(t).ok())
                .context("no header time")?;
            return Ok((h, t));
        }
    }
    anyhow::bail!("no block from {from} to {latest} lacks val0's signature")
}

//! `bulwark devnet load`: kvstore transactions at a steady rate, so blocks carry data and
//! the application state grows.

use crate::error::{DevnetError, Result};
use crate::manifest::{self, Manifest, Role};
use crate::rpc::Rpc;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::Rng;
use serde::Serialize;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Options of `bulwark devnet load`.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Transactions per second.
    pub tps: u32,
    /// How long to send.
    pub duration: Duration,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Bytes of each transaction's value (random hex), to grow the chain's data quickly;
    /// `None`: 16.
    pub value_bytes: Option<usize>,
}

/// What a load run did.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LoadReport {
    /// Transactions sent.
    pub sent: u64,
    /// Accepted into a mempool (CheckTx code 0).
    pub accepted: u64,
    /// Refused by CheckTx.
    pub rejected: u64,
    /// Requests that failed (node unreachable, timeout).
    pub failed: u64,
    /// kvstore size before the run.
    pub size_before: u64,
    /// kvstore size after the accepted transactions were committed (or the wait ended).
    pub size_after: u64,
    /// Seconds spent sending.
    pub elapsed_seconds: f64,
}

const MAX_IN_FLIGHT: usize = 64;

/// Send `tps` transactions a second for `duration`, spread over the devnet's nodes that
/// are not the operator's validator nodes.
pub async fn load(dir: &Path, opts: &LoadOptions) -> Result<LoadReport> {
    if opts.tps == 0 || opts.tps > 10_000 {
        return Err(DevnetError::InvalidOption(format!(
            "--tps {}: use 1 to 10000 transactions a second",
            opts.tps
        )));
    }
    if opts.duration.is_zero() {
        return Err(DevnetError::InvalidOption(
            "--duration must be more than 0".into(),
        ));
    }
    let dir = manifest::absolute(dir);
    let m = Manifest::load(&dir)?;
    let targets: Vec<Rpc> = m
        .nodes
        .iter()
        .filter(|n| n.role != Role::Backup && n.validator.as_deref() != Some("val0"))
        .filter(|n| crate::process::node_pid(&dir, n).is_some())
        .map(|n| Rpc::new(n.rpc_url(), Duration::from_secs(5)))
        .collect();
    let first = targets.first().ok_or_else(|| {
        DevnetError::InvalidOption(
            "no node of this devnet is running; start it with `bulwark devnet up`".into(),
        )
    })?;
    let size_before = first.kvstore_size().await?;

    let total = u64::from(opts.tps) * opts.duration.as_millis() as u64 / 1000;
    let bar = progress_bar(total, opts.progress);
    let counters = Arc::new(Counters::default());
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let run_id: u32 = rand::thread_rng().gen();
    let start = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / opts.tps);
    let mut handles = Vec::new();
    for i in 0..total {
        ticker.tick().await;
        let permit = slots
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore stays open");
        let rpc = targets[(i as usize) % targets.len()].clone();
        let counters = counters.clone();
        let bar = bar.clone();
        let tx = format!("load-{run_id:08x}-{i}={}", value(opts.value_bytes));
        handles.push(tokio::spawn(async move {
            let _permit = permit;
            let outcome = rpc.broadcast_tx_sync(tx.as_bytes()).await;
            counters.record(&outcome);
            bar.inc(1);
        }));
    }
    for h in handles {
        let _ = h.await;
    }
    let elapsed = start.elapsed();
    bar.finish_and_clear();

    let accepted = counters.accepted.load(Ordering::Relaxed);
    let size_after = wait_for_size(first, size_before + accepted, Duration::from_secs(15)).await?;
    Ok(LoadReport {
        sent: total,
        accepted,
        rejected: counters.rejected.load(Ordering::Relaxed),
        failed: counters.failed.load(Ordering::Relaxed),
        size_before,
        size_after,
        elapsed_seconds: elapsed.as_secs_f64(),
    })
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
}

impl Counters {
    fn record(&self, outcome: &Result<u32>) {
        let c = match outcome {
            Ok(0) => &self.accepted,
            Ok(_) => &self.rejected,
            Err(_) => &self.failed,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }
}

async fn wait_for_size(rpc: &Rpc, target: u64, limit: Duration) -> Result<u64> {
    let deadline = Instant::now() + limit;
    loop {
        let size = rpc.kvstore_size().await?;
        if size >= target || Instant::now() >= deadline {
            return Ok(size);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn progress_bar(total: u64, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} txs [{bar:30}] {per_sec} eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}

/// A random hex value of `bytes` characters (16 by default).
fn value(bytes: Option<usize>) -> String {
    let n = bytes.unwrap_or(16).max(1);
    let mut rng = rand::thread_rng();
    let mut v = String::with_capacity(n + 16);
    while v.len() < n {
        v.push_str(&format!("{:016x}", rng.gen::<u64>()));
    }
    v.truncate(n);
    v
}

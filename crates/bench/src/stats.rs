//! Latency statistics.

use serde::Serialize;
use std::time::Duration;

/// Summary of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Requests answered and verified.
    pub requests: usize,
    /// Median round trip, microseconds.
    pub p50_us: f64,
    /// 99th percentile round trip, microseconds.
    pub p99_us: f64,
    /// Mean round trip, microseconds.
    pub mean_us: f64,
    /// Signatures per second over the run's wall time.
    pub per_second: f64,
}

/// Summarize latencies measured over `wall` time.
pub fn summarize(mut lat: Vec<Duration>, wall: Duration) -> Summary {
    lat.sort_unstable();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let pct = |p: f64| {
        if lat.is_empty() {
            return 0.0;
        }
        let i = ((lat.len() as f64 - 1.0) * p).round() as usize;
        us(lat[i])
    };
    let mean = if lat.is_empty() {
        0.0
    } else {
        lat.iter().map(|d| us(*d)).sum::<f64>() / lat.len() as f64
    };
    Summary {
        requests: lat.len(),
        p50_us: pct(0.50),
        p99_us: pct(0.99),
        mean_us: mean,
        per_second: lat.len() as f64 / wall.as_secs_f64(),
    }
}

/// Median of a list of values.
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

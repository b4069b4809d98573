//! node_exporter: text-format parsing, host state and the disk-fill prediction.

use std::collections::{BTreeMap, HashSet, VecDeque};

/// One sample: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name.
    pub name: String,
    /// Labels in the order given.
    pub labels: BTreeMap<String, String>,
    /// Value.
    pub value: f64,
}

/// Parse the Prometheus text exposition format. Comments and malformed lines are skipped.
pub fn parse(text: &str) -> Vec<Sample> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Sample> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (name, labels, rest) = match line.find('{') {
        Some(i) => {
            let close = find_close(line, i)?;
            (
                &line[..i],
                parse_labels(&line[i + 1..close])?,
                &line[close + 1..],
            )
        }
        None => {
            let i = line.find(char::is_whitespace)?;
            (&line[..i], BTreeMap::new(), &line[i..])
        }
    };
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// Index of the `}` that closes the label set opened at `open`, skipping quoted text.
fn find_close(line: &str, open: usize) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, ch) in line[open..].char_indices() {
        match ch {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '}' if !quoted => return Some(open + i),
            _ => {}
        }
    }
    None
}

fn parse_labels(s: &str) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let eq = rest.find('=')?;
        let key = rest[..eq].trim().to_string();
        rest = rest[eq + 1..].trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            let (i, ch) = chars.next()?;
            match ch {
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                '"' => break i,
                c => value.push(c),
            }
        };
        out.insert(key, value);
        rest = rest[end + 1..]
            .trim_start()
            .trim_start_matches(',')
            .trim_start();
    }
    Some(out)
}

/// Filesystem types that are not real disks.
pub(crate) const PSEUDO_FS: &[&str] = &[
    "tmpfs",
    "devtmpfs",
    "overlay",
    "squashfs",
    "proc",
    "sysfs",
    "cgroup",
    "cgroup2",
    "ramfs",
    "nsfs",
    "autofs",
    "fuse.lxcfs",
    "devpts",
    "mqueue",
    "securityfs",
    "debugfs",
    "tracefs",
    "bpf",
    "pstore",
    "hugetlbfs",
    "configfs",
    "binfmt_misc",
    "fusectl",
    "rpc_pipefs",
    "selinuxfs",
    "iso9660",
];

/// A filesystem's size and free bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Filesystem {
    /// Mount point.
    pub mountpoint: String,
    /// Size in bytes.
    pub size_bytes: f64,
    /// Bytes available to unprivileged users.
    pub avail_bytes: f64,
}

/// What a scrape says about a host.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HostMetrics {
    /// Filesystems (only `wanted` mount points when given, else real ones).
    pub filesystems: Vec<Filesystem>,
    /// 1-minute load average.
    pub load1: Option<f64>,
    /// Number of CPUs (distinct `cpu` labels of `node_cpu_seconds_total`).
    pub cpus: usize,
    /// Memory used share, 0..1, from MemTotal and MemAvailable.
    pub memory_used_ratio: Option<f64>,
    /// `bulwark snapshot run` jobs, from their textfile metrics.
    pub snapshots: Vec<crate::state::SnapshotJobState>,
}

/// Extract host metrics from node_exporter samples.
pub fn host_metrics(samples: &[Sample], wanted: &[String]) -> HostMetrics {
    let mut m = HostMetrics::default();
    let mut sizes: BTreeMap<String, f64> = BTreeMap::new();
    let mut avails: BTreeMap<String, f64> = BTreeMap::new();
    let mut cpus = HashSet::new();
    let (mut total, mut avail) = (None, None);
    // NaN or infinite readings say nothing about a host; they must not become a full
    // disk or an empty one.
    for s in samples.iter().filter(|s| s.value.is_finite()) {
        let mount = s.labels.get("mountpoint");
        let fstype = s.labels.get("fstype").map(String::as_str).unwrap_or("");
        let fs_ok = |mp: &String| {
            if wanted.is_empty() {
                !PSEUDO_FS.contains(&fstype)
            } else {
                wanted.contains(mp)
            }
        };
        match s.name.as_str() {
            "node_filesystem_size_bytes" => {
                if let Some(mp) = mount.filter(|mp| fs_ok(mp)) {
                    sizes.insert(mp.clone(), s.value);
                }
            }
            "node_filesystem_avail_bytes" => {
                if let Some(mp) = mount.filter(|mp| fs_ok(mp)) {
                    avails.insert(mp.clone(), s.value);
                }
            }
            "node_load1" => m.load1 = Some(s.value),
            "node_cpu_seconds_total" => {
                if let Some(c) = s.labels.get("cpu") {
                    cpus.insert(c.clone());
                }
            }
            "node_memory_MemTotal_bytes" => total = Some(s.value),
            "node_memory_MemAvailable_bytes" => avail = Some(s.value),
            _ => {}
        }
    }
    for (mp, size) in sizes {
        if let Some(a) = avails.get(&mp) {
            if size > 0.0 {
                m.filesystems.push(Filesystem {
                    mountpoint: mp,
                    size_bytes: size,
                    avail_bytes: *a,
                });
            }
        }
    }
    m.cpus = cpus.len();
    if let (Some(t), Some(a)) = (total, avail) {
        if t > 0.0 {
            m.memory_used_ratio = Some(((t - a) / t).clamp(0.0, 1.0));
        }
    }
    m.snapshots = snapshot_jobs(samples);
    m
}

/// The `bulwark_snapshot_*` series of `bulwark snapshot run`'s metrics file, one entry
/// per job.
fn snapshot_jobs(samples: &[Sample]) -> Vec<crate::state::SnapshotJobState> {
    let mut jobs: BTreeMap<String, crate::state::SnapshotJobState> = BTreeMap::new();
    for s in samples.iter().filter(|s| s.value.is_finite()) {
        let Some(field) = s.name.strip_prefix("bulwark_snapshot_") else {
            continue;
        };
        let Some(job) = s.labels.get("job") else {
            continue;
        };
        let j = jobs
            .entry(job.clone())
            .or_insert_with(|| crate::state::SnapshotJobState {
                job: job.clone(),
                chain: None,
                last_success: None,
                last_attempt: None,
                last_failed: false,
            });
        if let Some(c) = s.labels.get("chain").filter(|c| !c.is_empty()) {
            j.chain = Some(c.clone());
        }
        match field {
            "last_success_timestamp_seconds" => j.last_success = Some(s.value),
            "last_attempt_timestamp_seconds" => j.last_attempt = Some(s.value),
            "last_attempt_failed" => j.last_failed = s.value != 0.0,
            _ => {}
        }
    }
    jobs.into_values().collect()
}

/// Recent (time, free bytes) samples of one filesystem.
#[derive(Debug, Clone, Default)]
pub struct FillHistory {
    samples: VecDeque<(f64, f64)>,
}

impl FillHistory {
    /// Add a sample and forget those older than `window` seconds.
    pub fn push(&mut self, t: f64, avail: f64, window: f64) {
        self.samples.push_back((t, avail));
        while self.samples.front().is_some_and(|(t0, _)| t - t0 > window) {
            self.samples.pop_front();
        }
    }

    /// Seconds until free space reaches zero, from a least-squares line through the
    /// samples; `None` with fewer than three samples, when they cover less than
    /// `min_span` seconds (a burst of writes just after start is not a trend), or when
    /// space is not shrinking.
    pub fn seconds_until_full(&self, min_span: f64) -> Option<f64> {
        let n = self.samples.len();
        let (first, last) = (self.samples.front()?.0, self.samples.back()?.0);
        if n < 3 || last - first < min_span {
            return None;
        }
        let nf = n as f64;
        let t0 = self.samples[0].0;
        let (mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0);
        for (t, y) in &self.samples {
            let x = t - t0;
            sx += x;
            sy += y;
            sxx += x * x;
            sxy += x * y;
        }
        let denom = nf * sxx - sx * sx;
        if !denom.is_finite() || denom.abs() < f64::EPSILON {
            return None;
        }
        let slope = (nf * sxy - sx * sy) / denom;
        if slope.is_nan() || slope >= 0.0 {
            return None;
        }
        let t_last = self.samples.back()?.0;
        let intercept = (sy - slope * sx) / nf;
        let y_now = intercept + slope * (t_last - t0);
        Some((y_now / -slope).max(0.0)).filter(|s| s.is_finite())
    }
}

//! The watch's own host, read from `/proc` and `statvfs` when a `[[host]]` gives no
//! node_exporter: the same figures a scrape gives (filesystems, load, CPUs, memory).

use crate::collect::exporter::{Filesystem, HostMetrics, PSEUDO_FS};
use std::path::Path;

/// Read the local host. `wanted` limits the filesystems to those mount points (all
/// real filesystems when empty).
pub fn read(wanted: &[String]) -> Result<HostMetrics, String> {
    let proc_file = |name: &str| {
        std::fs::read_to_string(Path::new("/proc").join(name))
            .map_err(|e| format!("cannot read /proc/{name}: {e}"))
    };
    let mut m = HostMetrics {
        load1: parse_loadavg(&proc_file("loadavg")?),
        cpus: count_cpus(&proc_file("stat")?),
        memory_used_ratio: parse_meminfo(&proc_file("meminfo")?),
        filesystems: Vec::new(),
        // Snapshot jobs report through a node_exporter's textfile collector only.
        snapshots: Vec::new(),
    };
    for (mountpoint, fstype) in parse_mounts(&proc_file("self/mounts")?) {
        let keep = if wanted.is_empty() {
            !PSEUDO_FS.contains(&fstype.as_str())
        } else {
            wanted.contains(&mountpoint)
        };
        if !keep || m.filesystems.iter().any(|f| f.mountpoint == mountpoint) {
            continue;
        }
        // A mount that cannot be read (gone, no permission) is left out, as node_exporter
        // leaves it out.
        let Ok(st) = nix::sys::statvfs::statvfs(mountpoint.as_str()) else {
            continue;
        };
        let frag = st.fragment_size() as f64;
        let size = st.blocks() as f64 * frag;
        if size > 0.0 {
            m.filesystems.push(Filesystem {
                mountpoint,
                size_bytes: size,
                avail_bytes: st.blocks_available() as f64 * frag,
            });
        }
    }
    for w in wanted {
        if !m.filesystems.iter().any(|f| &f.mountpoint == w) {
            return Err(format!(
                "mount point {w:?} is not mounted on this host (see /proc/self/mounts)"
            ));
        }
    }
    Ok(m)
}

/// The 1-minute load average of `/proc/loadavg`.
pub fn parse_loadavg(text: &str) -> Option<f64> {
    text.split_whitespace()
        .next()?
        .parse()
        .ok()
        .filter(|l: &f64| l.is_finite())
}

/// CPUs listed in `/proc/stat` (`cpu0`, `cpu1`, ...).
pub fn count_cpus(text: &str) -> usize {
    text.lines()
        .filter(|l| {
            l.strip_prefix("cpu")
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        })
        .count()
}

/// Used memory share from `/proc/meminfo`'s MemTotal and MemAvailable.
pub fn parse_meminfo(text: &str) -> Option<f64> {
    let kib = |key: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    let (total, avail) = (kib("MemTotal")?, kib("MemAvailable")?);
    (total > 0.0).then(|| ((total - avail) / total).clamp(0.0, 1.0))
}

/// (mount point, filesystem type) of each line of `/proc/self/mounts`, with the octal
/// escapes of the mount point (`\040` for a space) decoded.
pub fn parse_mounts(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_dev, mp, fstype) = (f.next()?, f.next()?, f.next()?);
            Some((unescape(mp), fstype.to_string()))
        })
        .collect()
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push(d.iter().fold(0u8, |a, c| a.wrapping_mul(8) + (c - b'0')));
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

//! Host rules: host down, exporter down, disk used and time until full, memory, load.

use crate::config::Levels;
use crate::rules::{level_down, level_up, push, push_held, About, Outcome};
use crate::state::{Observed, Ts};
use crate::time::human;
use std::time::Duration;

pub(crate) fn evaluate(levels: &Levels, obs: &Observed, now: Ts, out: &mut Vec<Outcome>) {
    host_down(levels, obs, now, out);
    for h in &obs.hosts {
        let cfg = levels.host(&h.name);
        let about = About::host(&h.name);
        let key = format!("exporter_down/{}", h.name);
        if h.up {
            out.push(Outcome::Clear(key));
        } else if let Some(since) = h.down_since {
            let r = cfg.exporter_down;
            let age = now - since;
            let sev = level_up(age, r.warning.as_secs_f64(), r.critical.as_secs_f64());
            push_held(out, sev, |s| {
                about.condition(
                    "exporter_down",
                    key,
                    s,
                    format!(
                        "host {}: its figures could not be read for {}: {}; the host may be down, or only its node_exporter",
                        h.name,
                        human(age),
                        h.error.as_deref().unwrap_or("no answer")
                    ),
                    Duration::ZERO,
                )
            });
        }
        if !h.up {
            continue;
        }
        for fs in &h.filesystems {
            let r = cfg.disk_used;
            let pct = fs.used_ratio * 100.0;
            let key = format!("disk_used/{}/{}", h.name, fs.mountpoint);
            let sev = level_up(pct, r.warning, r.critical);
            push(out, key.clone(), sev, |s| {
                about.condition(
                    "disk_used",
                    key,
                    s,
                    format!(
                        "host {}: disk {} is {pct:.1}% full ({:.1} GiB free); prune the node data or grow the volume before it fills",
                        h.name,
                        fs.mountpoint,
                        fs.avail_bytes / (1u64 << 30) as f64
                    ),
                    r.for_,
                )
            });
            let r = cfg.disk_full_in;
            let key = format!("disk_full_in/{}/{}", h.name, fs.mountpoint);
            let sev = fs
                .full_in_seconds
                .and_then(|t| level_down(t, r.warning.as_secs_f64(), r.critical.as_secs_f64()));
            push(out, key.clone(), sev, |s| {
                about.condition(
                    "disk_full_in",
                    key,
                    s,
                    format!(
                        "host {}: disk {} will be full in about {} at the current rate ({:.1}% used now); prune or grow it before then",
                        h.name,
                        fs.mountpoint,
                        human(fs.full_in_seconds.unwrap_or(0.0)),
                        fs.used_ratio * 100.0
                    ),
                    Duration::ZERO,
                )
            });
        }
        if let Some(m) = h.memory_used_ratio {
            let r = cfg.memory_used;
            let pct = m * 100.0;
            let key = format!("memory_used/{}", h.name);
            push(
                out,
                key.clone(),
                level_up(pct, r.warning, r.critical),
                |s| {
                    about.condition(
                    "memory_used",
                    key,
                    s,
                    format!(
                        "host {}: memory is {pct:.1}% used; the node may be killed by the OOM killer: check for leaks or add memory",
                        h.name
                    ),
                    r.for_,
                )
                },
            );
        }
        if let Some(l) = h.load_per_cpu {
            let r = cfg.load_per_cpu;
            let key = format!("load_per_cpu/{}", h.name);
            push(out, key.clone(), level_up(l, r.warning, r.critical), |s| {
                about.condition(
                    "load_per_cpu",
                    key,
                    s,
                    format!(
                        "host {}: load is {l:.2} per CPU; the node may fall behind: find what is using the CPU or disk",
                        h.name
                    ),
                    r.for_,
                )
            });
        }
    }
}

/// A host is down when its node_exporter and every node and signer that names it have
/// all stopped answering: one cause for what would otherwise be many alerts. Hosts
/// read without an exporter (the watch's own) and hosts nothing names are never down.
fn host_down(levels: &Levels, obs: &Observed, now: Ts, out: &mut Vec<Outcome>) {
    for h in obs.hosts.iter().filter(|h| h.remote) {
        let cfg = levels.host(&h.name);
        let key = format!("host_down/{}", h.name);
        let nodes = obs
            .nodes
            .iter()
            .filter(|n| n.host.as_ref() == Some(&h.name));
        let signers = obs
            .signers
            .iter()
            .filter(|s| s.host.as_ref() == Some(&h.name));
        // (up, down since) of the exporter and of everything on the host.
        let parts: Vec<(bool, Option<Ts>)> = std::iter::once((h.up, h.down_since))
            .chain(nodes.clone().map(|n| (n.up, n.down_since)))
            .chain(signers.clone().map(|s| (s.up, s.down_since)))
            .collect();
        if parts.len() < 2 || parts.iter().any(|(up, _)| *up) {
            out.push(Outcome::Clear(key));
            continue;
        }
        // Down since the last of them stopped answering.
        let Some(since) = parts
            .iter()
            .map(|(_, s)| *s)
            .collect::<Option<Vec<Ts>>>()
            .and_then(|v| v.into_iter().reduce(f64::max))
        else {
            continue;
        };
        let r = cfg.host_down;
        let age = now - since;
        let sev = level_up(age, r.warning.as_secs_f64(), r.critical.as_secs_f64());
        let names: Vec<&str> = nodes
            .map(|n| n.name.as_str())
            .chain(signers.map(|s| s.name.as_str()))
            .collect();
        push_held(out, sev, |s| {
            About::host(&h.name).condition(
                "host_down",
                key,
                s,
                format!(
                    "host {}: down for {}: neither its node_exporter nor anything on it answers ({}); check the machine, its power and its network",
                    h.name,
                    human(age),
                    names.join(", ")
                ),
                Duration::ZERO,
            )
        });
    }
}

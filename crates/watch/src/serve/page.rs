//! The read-only status pages: `/`, the firing alerts, one row per chain (see
//! [`crate::serve::overview`]), nodes, hosts and signers; `/chain/ID`, one chain with
//! the grid of our validator's last blocks. Plain HTML, refreshed every 5 s.

use crate::serve::http::StatusDoc;
use crate::state::Sign;
use std::fmt::Write;

/// Escape text for HTML.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or("-".into(), |v| v.to_string())
}

fn state(ok: bool, err: &Option<String>) -> String {
    if ok {
        "<span class=ok>up</span>".into()
    } else {
        format!(
            "<span class=bad>down</span> {}",
            esc(err.as_deref().unwrap_or(""))
        )
    }
}

const HEAD: &str = "<!doctype html><html><head><meta charset=utf-8><meta http-equiv=refresh content=5>\
     <title>bulwark watch</title><style>\
     body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin:.5em 0 1.5em}\
     td,th{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:left}th a{color:inherit}\
     #chains td,#chains th{white-space:nowrap}#chains td.alert{white-space:normal;max-width:40em}\
     .ok{color:#080}.bad{color:#c00;font-weight:bold}.info{color:#06c}.warning{color:#b60}.critical{color:#c00;font-weight:bold}\
     .grid span{display:inline-block;width:8px;height:14px;margin:0 1px}\
     .signed{background:#3a3}.missed{background:#d22}.not_in_set{background:#bbb}\
     </style></head><body>";

const FOOT: &str = "<p><a href=/>all chains</a> &middot; <a href=/api/status>/api/status</a> &middot; <a href=/metrics>/metrics</a></p></body></html>\n";

fn alerts(h: &mut String, alerts: &[&crate::engine::alert::Alert]) {
    let _ = write!(
        h,
        "<h2>Alerts firing: {}</h2><table id=alerts>",
        alerts.len()
    );
    for a in alerts {
        let sev = serde_json::to_value(a.severity).ok();
        let sev = sev.as_ref().and_then(|v| v.as_str()).unwrap_or("");
        let held = a
            .inhibited_by
            .as_deref()
            .map(|by| format!(" <em class=inhibited>inhibited by {}</em>", esc(by)))
            .unwrap_or_default();
        let _ = write!(
            h,
            "<tr><td class={sev}>{sev}</td><td>{}{held}</td><td>{}</td></tr>",
            esc(&a.key),
            esc(&a.summary)
        );
    }
    h.push_str("</table>");
}

/// The overview: firing alerts, one row per chain sorted by `sort`, then nodes, hosts,
/// signers and cosigners.
pub fn render(doc: &StatusDoc, sort: crate::serve::overview::Sort) -> String {
    let mut h = String::from(HEAD);
    let _ = write!(h, "<h1>bulwark watch</h1><p>{}</p>", esc(&doc.generated_at));
    crate::serve::overview::table(&mut h, doc, sort, crate::state::now());
    alerts(&mut h, &doc.alerts.iter().collect::<Vec<_>>());
    nodes_table(&mut h, &doc.observed.nodes.iter().collect::<Vec<_>>());
    if !doc.observed.hosts.is_empty() {
        h.push_str("<h2>Hosts</h2><table><tr><th>host</th><th>state</th><th>filesystems</th></tr>");
        for x in &doc.observed.hosts {
            let fs: Vec<String> = x
                .filesystems
                .iter()
                .map(|f| format!("{} {:.1}%", esc(&f.mountpoint), f.used_ratio * 100.0))
                .collect();
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&x.name),
                state(x.up, &x.error),
                fs.join(", ")
            );
        }
        h.push_str("</table>");
    }
    if !doc.observed.signers.is_empty() {
        h.push_str("<h2>Signers</h2><table><tr><th>signer</th><th>state</th><th>node connections</th></tr>");
        for s in &doc.observed.signers {
            let nodes: Vec<String> = s
                .nodes
                .iter()
                .map(|n| {
                    let c = if n.connected { "ok" } else { "bad" };
                    format!("<span class={c}>{}</span>", esc(&n.node))
                })
                .collect();
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s.name),
                state(s.up, &s.error),
                nodes.join(" ")
            );
        }
        h.push_str("</table>");
    }
    cosigners(&mut h, &doc.observed);
    relayers(&mut h, &doc.observed.nodes.iter().collect::<Vec<_>>());
    channels(&mut h, &doc.observed);
    h.push_str(FOOT);
    h
}

/// Each relayer node's Hermes: its telemetry, wallets, backlogs, recent errors and
/// confirmation time.
fn relayers(h: &mut String, nodes: &[&crate::state::NodeState]) {
    let with: Vec<_> = nodes
        .iter()
        .filter_map(|n| n.hermes.as_ref().map(|x| (n, x)))
        .collect();
    if with.is_empty() {
        return;
    }
    h.push_str("<h2>Relayers</h2><table><tr><th>relayer</th><th>telemetry</th><th>wallets</th><th>pending packets</th><th>last 10 min</th></tr>");
    for (n, x) in with {
        let f = &x.figures;
        let wallets: Vec<String> = f
            .wallets
            .iter()
            .map(|w| format!("{}: {} {}", esc(&w.chain), w.balance, esc(&w.denom)))
            .collect();
        let backlogs: Vec<String> = f
            .backlogs
            .iter()
            .filter(|b| b.size > 0)
            .map(|b| {
                let oldest = b
                    .oldest_sequence
                    .map(|s| format!(", oldest #{s}"))
                    .unwrap_or_default();
                format!(
                    "{} {}/{} &rarr; {}: {}{oldest}",
                    esc(&b.chain),
                    esc(&b.port),
                    esc(&b.channel),
                    esc(&b.counterparty),
                    b.size
                )
            })
            .collect();
        let confirm = x
            .recent_confirm_seconds
            .map(|s| format!(", confirmed in {s:.1} s on average"))
            .unwrap_or_default();
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} errors{confirm}</td></tr>",
            esc(&n.name),
            state(x.up, &x.error),
            wallets.join("<br>"),
            if backlogs.is_empty() {
                "none".to_string()
            } else {
                backlogs.join("<br>")
            },
            x.recent_errors
        );
    }
    h.push_str("</table>");
}

/// One chain's page: its blocks, Cosmos SDK figures, endpoints, nodes and alerts;
/// `None` for a chain not watched.
pub fn render_chain(doc: &StatusDoc, id: &str) -> Option<String> {
    let c = doc.observed.chains.iter().find(|c| c.id == id)?;
    let mut h = String::from(HEAD);
    let _ = write!(
        h,
        "<h1>{}</h1><p>{}</p>",
        esc(&c.id),
        esc(&doc.generated_at)
    );
    let mine: Vec<_> = doc
        .alerts
        .iter()
        .filter(|a| a.chain.as_deref() == Some(id))
        .collect();
    alerts(&mut h, &mine);
    let _ = write!(
        h,
        "<p>height {} &middot; missed in a row {} &middot; signed {} &middot; missed {}</p><div class=grid title='last blocks, old to new'>",
        opt(c.height),
        c.missed_in_a_row,
        c.signed_total,
        c.missed_total
    );
    for e in &c.grid {
        let class = match e.sign {
            Sign::Signed => "signed",
            Sign::Missed => "missed",
            Sign::NotInSet => "not_in_set",
        };
        let _ = write!(
            h,
            "<span class={class} title='{} {class}'></span>",
            e.height
        );
    }
    h.push_str("</div>");
    h.push_str(&crate::serve::sdk_page::page_fragment(c));
    h.push_str("<table><tr><th>RPC</th><th>state</th></tr>");
    for s in &c.sources {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td></tr>",
            esc(&s.url),
            state(s.healthy, &s.error)
        );
    }
    h.push_str("</table>");
    let nodes: Vec<_> = doc
        .observed
        .nodes
        .iter()
        .filter(|n| n.chain == id)
        .collect();
    nodes_table(&mut h, &nodes);
    h.push_str(FOOT);
    Some(h)
}

fn nodes_table(h: &mut String, nodes: &[&crate::state::NodeState]) {
    h.push_str("<h2>Nodes</h2><table><tr><th>node</th><th>role</th><th>chain</th><th>state</th><th>height</th><th>peers</th><th>catching up</th><th>consensus</th></tr>");
    for n in nodes {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&n.name),
            n.role.as_str(),
            esc(&n.chain),
            state(n.up, &n.error),
            opt(n.height),
            opt(n.peers),
            opt(n.catching_up),
            consensus(n)
        );
    }
    h.push_str("</table>");
}

/// A node's figures from its own metrics: round, missing power, mempool.
fn consensus(n: &crate::state::NodeState) -> String {
    match &n.metrics {
        None => "-".into(),
        Some(m) if !m.up => state(false, &m.error),
        Some(m) => {
            let f = &m.figures;
            format!(
                "round {}, {} power missing, mempool {}",
                opt(f.consensus_rounds),
                f.missing_power_ratio
                    .map_or("-".into(), |r| format!("{:.1}%", r * 100.0)),
                opt(f.mempool_txs)
            )
        }
    }
}

/// Each cosigner group: per chain the threshold and the cosigners that reach each other,
/// then each cosigner's links (round trip), nonces and recent refusals.
fn cosigners(h: &mut String, obs: &crate::state::Observed) {
    for g in crate::state::groups(obs) {
        let _ = write!(h, "<h2>Cosigners of {}</h2>", esc(&g.name));
        for c in &g.chains {
            let cls = if c.weakest > c.threshold { "ok" } else { "bad" };
            let fewest = if c.weakest < c.reachable {
                format!(" ({} reaches only {})", esc(&c.weakest_name), c.weakest)
            } else {
                String::new()
            };
            let _ = write!(
                h,
                "<p>{}: <span class={cls}>{} of {} reach each other{fewest}</span>, a signature needs {}</p>",
                esc(&c.chain),
                c.reachable,
                g.members.len(),
                c.threshold
            );
        }
        h.push_str("<table><tr><th>cosigner</th><th>state</th><th>peer links (mean round trip)</th><th>nonces ready</th><th>last 10 min</th></tr>");
        for s in &g.members {
            let (links, nonces, recent) = match &s.threshold {
                Some(t) if s.up => {
                    let links: Vec<String> = t
                        .peers
                        .iter()
                        .map(|p| {
                            let c = if p.up { "ok" } else { "bad" };
                            let rt = p
                                .round_trip_seconds
                                .map_or(String::new(), |r| format!(" {:.1} ms", r * 1000.0));
                            format!("<span class={c}>{}</span>{rt}", esc(&p.peer))
                        })
                        .collect();
                    let nonces: Vec<String> = t
                        .chains
                        .iter()
                        .flat_map(|c| {
                            c.nonces_ready
                                .iter()
                                .map(move |(p, n)| format!("{} {}: {n}", esc(&c.chain), esc(p)))
                        })
                        .collect();
                    let mut recent: Vec<String> = t
                        .chains
                        .iter()
                        .map(|c| {
                            format!(
                                "{}: {} signed, {} failed",
                                esc(&c.chain),
                                c.recent_signed,
                                c.recent_failed
                            )
                        })
                        .collect();
                    recent.extend(
                        t.recent_refusals
                            .iter()
                            .filter(|(_, n)| **n > 0)
                            .map(|(r, n)| format!("{n} refused ({})", esc(r))),
                    );
                    (links.join(" "), nonces.join(", "), recent.join("; "))
                }
                _ => ("-".into(), "-".into(), "-".into()),
            };
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{links}</td><td>{nonces}</td><td>{recent}</td></tr>",
                esc(&s.name),
                state(s.up, &s.error)
            );
        }
        h.push_str("</table>");
    }
}

/// Notification channels and how their deliveries go.
fn channels(h: &mut String, o: &crate::state::Observed) {
    if o.channels.is_empty() {
        return;
    }
    h.push_str("<h2>Channels</h2><table><tr><th>channel</th><th>type</th><th>deliveries</th></tr>");
    for c in &o.channels {
        let health = if c.consecutive_failures == 0 {
            "<span class=ok>ok</span>".to_string()
        } else {
            format!(
                "<span class=bad>failing</span> {} in a row: {}",
                c.consecutive_failures,
                esc(c.last_error.as_deref().unwrap_or(""))
            )
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{health}</td></tr>",
            esc(&c.name),
            esc(&c.kind)
        );
    }
    h.push_str("</table>");
}

//! The chains at a glance: one row per chain (health, misses, time to jail, upgrade
//! countdown, oldest firing alert), sortable by any column (`/?sort=jail`), each
//! linking to its detail page (`/chain/ID`).

use crate::config::Severity;
use crate::engine::alert::Alert;
use crate::serve::http::StatusDoc;
use crate::serve::page::esc;
use crate::state::{ChainState, Sign, Ts};
use crate::time::human;
use std::cmp::Ordering;
use std::fmt::Write;

/// How the chain table is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Worst health first, then by name.
    #[default]
    Health,
    /// By chain ID.
    Chain,
    /// Most missed first.
    Missed,
    /// Soonest jail first.
    Jail,
    /// Soonest upgrade first.
    Upgrade,
    /// Oldest firing alert first.
    Alert,
}

impl Sort {
    /// The column named in `?sort=`; anything else sorts by health.
    pub fn parse(s: Option<&str>) -> Sort {
        match s {
            Some("chain") => Sort::Chain,
            Some("missed") => Sort::Missed,
            Some("jail") => Sort::Jail,
            Some("upgrade") => Sort::Upgrade,
            Some("alert") => Sort::Alert,
            _ => Sort::Health,
        }
    }
}

/// A chain's health, worst first (the table's default order): no data yet sorts after
/// the warnings, before the healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Health {
    Critical,
    Warning,
    NoData,
    Ok,
}

impl Health {
    /// CSS class and word.
    fn shown(self) -> (&'static str, &'static str) {
        match self {
            Health::Critical => ("critical", "critical"),
            Health::Warning => ("warning", "warning"),
            Health::NoData => ("bad", "no data"),
            Health::Ok => ("ok", "ok"),
        }
    }
}

/// One chain's row.
struct Row<'a> {
    chain: &'a ChainState,
    health: Health,
    missed: u64,
    missed_text: String,
    jail: Option<f64>,
    jail_text: String,
    upgrade: Option<f64>,
    upgrade_text: String,
    oldest: Option<&'a Alert>,
}

fn row<'a>(c: &'a ChainState, alerts: &'a [Alert]) -> Row<'a> {
    let mine: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.chain.as_deref() == Some(c.id.as_str()))
        .collect();
    let worst = mine.iter().map(|a| a.severity).max();
    let health = match (worst, c.height) {
        (Some(Severity::Critical), _) => Health::Critical,
        (Some(Severity::Warning), _) => Health::Warning,
        // An info reminder (a proposal with days left) is not a problem.
        (_, None) => Health::NoData,
        (_, Some(_)) => Health::Ok,
    };
    let a = c.sdk.as_ref().map(|s| &s.assessment);
    let (missed, missed_text) = match a.and_then(|a| Some((a.missed_in_window?, a.allowed_missed?)))
    {
        Some((m, allowed)) => (m, format!("{m} of {allowed} allowed")),
        None => {
            let m = c.grid.iter().filter(|e| e.sign == Sign::Missed).count() as u64;
            (m, format!("{m} of last {}", c.grid.len()))
        }
    };
    let jailed = a.and_then(|a| a.jailed) == Some(true);
    let jail = a.and_then(|a| a.jail_in_seconds);
    let jail_text = if jailed {
        "JAILED".into()
    } else {
        jail.map_or("-".into(), human)
    };
    let upgrade = a.and_then(|a| a.upgrade_in_seconds);
    let plan = c.sdk.as_ref().and_then(|s| s.upgrade_plan.as_ref());
    let upgrade_text = match (upgrade, plan) {
        (Some(s), Some(p)) => format!("{} in {}", esc(&p.name), human(s.max(0.0))),
        _ => "-".into(),
    };
    let oldest = mine
        .iter()
        .copied()
        .min_by(|x, y| x.started_at.total_cmp(&y.started_at));
    Row {
        chain: c,
        health: if jailed { Health::Critical } else { health },
        missed,
        missed_text,
        jail: if jailed { Some(0.0) } else { jail },
        jail_text,
        upgrade,
        upgrade_text,
        oldest,
    }
}

/// `None` last, then smallest first.
fn soonest(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// The chain table, sorted by `sort`.
pub fn table(h: &mut String, doc: &StatusDoc, sort: Sort, now: Ts) {
    let mut rows: Vec<Row> = doc
        .observed
        .chains
        .iter()
        .map(|c| row(c, &doc.alerts))
        .collect();
    rows.sort_by(|a, b| {
        let by = match sort {
            Sort::Health => a.health.cmp(&b.health),
            Sort::Chain => Ordering::Equal,
            Sort::Missed => b.missed.cmp(&a.missed),
            Sort::Jail => soonest(a.jail, b.jail),
            Sort::Upgrade => soonest(a.upgrade, b.upgrade),
            Sort::Alert => soonest(
                a.oldest.map(|x| x.started_at),
                b.oldest.map(|x| x.started_at),
            ),
        };
        by.then_with(|| a.chain.id.cmp(&b.chain.id))
    });
    let _ = write!(h, "<h2>Chains: {}</h2><table id=chains><tr>", rows.len());
    for (key, title) in [
        ("chain", "chain"),
        ("health", "health"),
        ("", "height"),
        ("missed", "missed"),
        ("jail", "time to jail"),
        ("upgrade", "upgrade"),
        ("alert", "oldest firing alert"),
    ] {
        if key.is_empty() {
            let _ = write!(h, "<th>{title}</th>");
        } else if Sort::parse(Some(key)) == sort {
            let _ = write!(h, "<th class=sorted>{title} &darr;</th>");
        } else {
            let _ = write!(h, "<th><a href='/?sort={key}'>{title}</a></th>");
        }
    }
    h.push_str("</tr>");
    for r in &rows {
        let (class, word) = r.health.shown();
        let alert = r.oldest.map_or("-".into(), |a| {
            let summary: String = a.summary.chars().take(90).collect();
            let more = if summary.len() < a.summary.len() {
                "..."
            } else {
                ""
            };
            format!(
                "<span class={}>{}</span> for {}: <span title='{}'>{}{more}</span>",
                severity(a.severity),
                esc(&a.rule),
                human((now - a.started_at).max(0.0)),
                esc(&a.summary),
                esc(&summary)
            )
        });
        let id = esc(&r.chain.id);
        let _ = write!(
            h,
            "<tr class=chain data-chain='{id}'><td><a href='/chain/{}'>{id}</a></td><td class={class}>{word}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=alert>{alert}</td></tr>",
            path_segment(&r.chain.id),
            r.chain.height.map_or("-".into(), |x| x.to_string()),
            r.missed_text,
            r.jail_text,
            r.upgrade_text,
        );
    }
    h.push_str("</table>");
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

/// `id` safe in a URL path segment.
pub(crate) fn path_segment(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

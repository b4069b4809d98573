//! Notification payloads per channel kind (pure functions, checked exactly by tests).

use crate::config::Severity;
use crate::engine::alert::{Alert, Kind, Notification};
use crate::engine::message::Message;
use crate::time::{rfc3339, Ts};
use serde_json::{json, Map, Value};

fn status(n: &Notification) -> &'static str {
    if n.kind == Kind::Resolved {
        "resolved"
    } else {
        "firing"
    }
}

/// The generic webhook body.
pub fn webhook(n: &Notification) -> Value {
    let a = &n.alert;
    json!({
        "source": "bulwark-watch",
        "status": status(n),
        "kind": n.kind,
        "key": a.key,
        "rule": a.rule,
        "severity": a.severity,
        "chain": a.chain,
        "node": a.node,
        "host": a.host,
        "summary": a.summary,
        "started_at": rfc3339(a.started_at),
        "resolved_at": n.resolved_at.map(rfc3339),
        "labels": a.labels,
        "inhibits": n.inhibits,
    })
}

/// The generic webhook body of a group: its labels, `firing` while any of its
/// notifications is not a resolve, and one webhook body per alert.
pub fn webhook_group(m: &Message) -> Value {
    json!({
        "source": "bulwark-watch",
        "status": m.status(),
        "group": m.group.as_ref().map(|g| &g.labels),
        "route": m.group.as_ref().map(|g| g.route),
        "alerts": m.notifications.iter().map(webhook).collect::<Vec<_>>(),
    })
}

/// Text for chat channels of a group: a heading, then one line per alert.
pub fn group_text(m: &Message) -> String {
    let what = group_labels(m);
    let mut t = format!("{} alerts {what}", m.notifications.len());
    for n in &m.notifications {
        t.push('\n');
        t.push_str(&text(n));
    }
    t
}

/// The group's labels as `host=val-host env=mainnet` (empty for a single alert).
pub fn group_labels(m: &Message) -> String {
    m.group
        .as_ref()
        .map(|g| {
            g.labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// One line of text for chat channels.
pub fn text(n: &Notification) -> String {
    let line = text_line(n);
    if n.inhibits.is_empty() {
        line
    } else {
        format!(
            "{line} (holding back what it causes: {})",
            n.inhibits.join(", ")
        )
    }
}

fn text_line(n: &Notification) -> String {
    let a = &n.alert;
    let sev = match a.severity {
        Severity::Info => "INFO",
        Severity::Warning => "WARNING",
        Severity::Critical => "CRITICAL",
    };
    match n.kind {
        Kind::Firing => format!("🔥 {sev} {}: {}", a.rule, a.summary),
        Kind::Changed => format!("🔥 {sev} (was other severity) {}: {}", a.rule, a.summary),
        Kind::Repeat => format!("🔁 still {sev} {}: {}", a.rule, a.summary),
        Kind::Resolved => format!(
            "✅ RESOLVED {}: {} (was: {})",
            a.rule,
            subject(a),
            a.summary
        ),
    }
}

fn subject(a: &Alert) -> String {
    a.node
        .clone()
        .or_else(|| a.host.clone())
        .or_else(|| a.chain.clone())
        .unwrap_or_else(|| "bulwark-watch".into())
}

/// Slack incoming-webhook body.
pub fn slack(n: &Notification) -> Value {
    json!({ "text": text(n) })
}

/// Discord webhook body.
pub fn discord(n: &Notification) -> Value {
    json!({ "content": text(n) })
}

/// Telegram `sendMessage` body.
pub fn telegram(n: &Notification, chat_id: &str) -> Value {
    json!({ "chat_id": chat_id, "text": text(n), "disable_web_page_preview": true })
}

/// PagerDuty Events v2 body: trigger (firing, changed, repeat) or resolve, by `dedup_key`.
pub fn pagerduty(n: &Notification, routing_key: &str) -> Value {
    let a = &n.alert;
    if n.kind == Kind::Resolved {
        return json!({
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": a.key,
        });
    }
    let summary: String = a.summary.chars().take(1024).collect();
    json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": a.key,
        "payload": {
            "summary": summary,
            "source": subject(a),
            "severity": a.severity,
            "timestamp": rfc3339(a.started_at),
            "component": a.node.clone().or_else(|| a.host.clone()),
            "group": a.chain,
            "class": a.rule,
            "custom_details": { "key": a.key, "started_at": rfc3339(a.started_at) },
        },
    })
}

/// One Alertmanager v2 alert; `ends_at` set resolves it.
pub fn alertmanager(a: &Alert, ends_at: Option<Ts>, generator_url: &str) -> Value {
    let mut labels = Map::new();
    labels.insert("alertname".into(), json!(a.rule));
    labels.insert("severity".into(), json!(a.severity));
    labels.insert("alert_key".into(), json!(a.key));
    labels.insert("source".into(), json!("bulwark-watch"));
    for (k, v) in [("chain", &a.chain), ("node", &a.node), ("host", &a.host)] {
        if let Some(v) = v {
            labels.insert(k.into(), json!(v));
        }
    }
    // The alert's own labels (the operator's too); `rule` is `alertname` already.
    for (k, v) in a.labels.iter().filter(|(k, _)| k.as_str() != "rule") {
        labels.insert(k.clone(), json!(v));
    }
    let mut o = json!({
        "labels": labels,
        "annotations": { "summary": a.summary },
        "startsAt": rfc3339(a.started_at),
        "generatorURL": generator_url,
    });
    if let Some(e) = ends_at {
        o["endsAt"] = json!(rfc3339(e));
    }
    o
}

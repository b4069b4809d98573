//! The email channel: `[[channel]] type = "email"` settings, the subject and plain-text
//! body of a notification (pure functions, checked exactly by tests), and delivery over
//! SMTP.
//!
//! SMTP itself is done by `lettre`, a maintained and widely used client: STARTTLS,
//! implicit TLS, AUTH, dot-stuffing, header encoding (RFC 2047) and body transfer
//! encodings are each easy to get subtly wrong, and lettre does them over rustls with
//! ring, the TLS stack the rest of the watch uses. What goes into the message is ours.

use crate::config::Severity;
use crate::config::{EmailConfig, Security};
use crate::engine::alert::{Alert, Kind, Notification};
use crate::engine::message::Message as GroupMessage;
use crate::net::tls::Trust;
use crate::state::Ts;
use crate::time::rfc3339;
use lettre::message::{header, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Info => "INFO",
        Severity::Warning => "WARNING",
        Severity::Critical => "CRITICAL",
    }
}

/// What the alert is about: `sentry0 (c-1)`, `val-host`, `c-1`, or nothing.
fn target(a: &Alert) -> Option<String> {
    let what = a.node.as_ref().or(a.host.as_ref());
    match (what, &a.chain) {
        (Some(w), Some(c)) => Some(format!("{w} ({c})")),
        (Some(w), None) => Some(w.clone()),
        (None, Some(c)) => Some(c.clone()),
        (None, None) => None,
    }
}

/// The subject line, e.g. `[CRITICAL] FIRING node_down: sentry0 (c-1)`.
pub fn subject(n: &Notification, prefix: Option<&str>) -> String {
    let a = &n.alert;
    let sev = severity_word(a.severity);
    let head = match n.kind {
        Kind::Firing => format!("[{sev}] FIRING"),
        Kind::Changed => format!("[{sev}] NOW {sev}"),
        Kind::Repeat => format!("[{sev}] STILL FIRING"),
        Kind::Resolved => "[RESOLVED]".to_string(),
    };
    let mut s = String::new();
    if let Some(p) = prefix.map(str::trim).filter(|p| !p.is_empty()) {
        s.push_str(p);
        s.push(' ');
    }
    s.push_str(&head);
    s.push(' ');
    s.push_str(&a.rule);
    if let Some(t) = target(a) {
        s.push_str(": ");
        s.push_str(&t);
    }
    s
}

/// A time as people read it: `2026-01-01 00:00:00 UTC`.
fn when(t: Ts) -> String {
    rfc3339(t).replace('T', " ").replace('Z', " UTC")
}

fn took(from: Ts, to: Ts) -> String {
    humantime::format_duration(Duration::from_secs((to - from).max(0.0).round() as u64)).to_string()
}

/// The plain-text body. `status_url` is the watch's `/api/status`.
pub fn body(n: &Notification, status_url: &str) -> String {
    let mut b = section(n);
    b.push_str(&footer(status_url));
    b
}

/// The status page link and the signature that end every email.
fn footer(status_url: &str) -> String {
    let page = status_url
        .strip_suffix("/api/status")
        .map(|base| format!("{base}/"))
        .unwrap_or_else(|| status_url.to_string());
    format!("\nStatus page: {page}\n-- \nSent by bulwark watch\n")
}

/// The subject of a group's email, e.g.
/// `[CRITICAL] 3 alerts FIRING, 1 resolved: host=val-host`.
pub fn group_subject(m: &GroupMessage, prefix: Option<&str>) -> String {
    let worst = m
        .notifications
        .iter()
        .filter(|n| n.kind != Kind::Resolved)
        .map(|n| n.alert.severity)
        .max();
    let resolved = m
        .notifications
        .iter()
        .filter(|n| n.kind == Kind::Resolved)
        .count();
    let firing = m.notifications.len() - resolved;
    let head = match (worst, resolved) {
        (None, _) => format!("[RESOLVED] {resolved} alerts"),
        (Some(sev), 0) => format!("[{}] {firing} alerts FIRING", severity_word(sev)),
        (Some(sev), r) => format!(
            "[{}] {firing} alerts FIRING, {r} resolved",
            severity_word(sev)
        ),
    };
    let what = crate::notify::payload::group_labels(m);
    let mut s = String::new();
    if let Some(p) = prefix.map(str::trim).filter(|p| !p.is_empty()) {
        s.push_str(p);
        s.push(' ');
    }
    s.push_str(&head);
    if !what.is_empty() {
        s.push_str(": ");
        s.push_str(&what);
    }
    s
}

/// The body of a group's email: each alert's part as in its own email, then one footer.
pub fn group_body(m: &GroupMessage, status_url: &str) -> String {
    let parts: Vec<String> = m.notifications.iter().map(section).collect();
    let mut b = parts.join("\n");
    b.push_str(&footer(status_url));
    b
}

/// One alert's part of an email: headline, summary and details.
fn section(n: &Notification) -> String {
    let a = &n.alert;
    let sev = severity_word(a.severity);
    let mut b = String::new();
    let headline = match n.kind {
        Kind::Firing => format!("{sev} alert firing: {}", a.rule),
        Kind::Changed => format!("Alert {} is now {sev}", a.rule),
        Kind::Repeat => format!("{sev} alert still firing: {}", a.rule),
        Kind::Resolved => format!("RESOLVED: {} (was {sev})", a.rule),
    };
    b.push_str(&headline);
    b.push_str("\n\n");
    if n.kind == Kind::Resolved {
        b.push_str("Was: ");
    }
    b.push_str(&a.summary);
    b.push_str("\n\n");
    let mut line = |label: &str, value: &str| {
        b.push_str(&format!("{:<12}{value}\n", format!("{label}:")));
    };
    line(
        "Severity",
        match a.severity {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        },
    );
    line(
        "Status",
        if n.kind == Kind::Resolved {
            "resolved"
        } else {
            "firing"
        },
    );
    line("Rule", &a.rule);
    for (label, v) in [("Chain", &a.chain), ("Node", &a.node), ("Host", &a.host)] {
        if let Some(v) = v {
            line(label, v);
        }
    }
    line("Started", &when(a.started_at));
    match (n.kind, n.resolved_at) {
        (Kind::Resolved, Some(r)) => {
            line("Resolved", &when(r));
            line("Lasted", &took(a.started_at, r));
        }
        (Kind::Repeat, _) => line("Firing for", &took(a.started_at, a.notified_at)),
        _ => {}
    }
    line("Alert key", &a.key);
    b
}

/// The Message-ID of the alert's first email; later ones about the same alert refer
/// to it (`References`), so mail clients show firing and resolved as one thread.
pub fn thread_id(a: &Alert, from: &str) -> String {
    let key: String = a
        .key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '.'
            }
        })
        .collect();
    let domain = from
        .rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('>').trim())
        .filter(|d| !d.is_empty())
        .unwrap_or("bulwark-watch.invalid");
    format!("<alert.{key}.{}@{domain}>", a.started_at.max(0.0) as u64)
}

/// The message for one notification.
pub fn message(cfg: &EmailConfig, n: &Notification, status_url: &str) -> Result<Message, String> {
    let thread = thread_id(&n.alert, &cfg.from);
    let thread = (thread, n.kind == Kind::Firing);
    build(
        cfg,
        subject(n, cfg.subject_prefix.as_deref()),
        Some(thread),
        body(n, status_url),
    )
}

/// An email from the channel's sender to its recipients. `thread`: the alert's thread
/// id, and whether this email starts the thread (a firing) or refers to it.
fn build(
    cfg: &EmailConfig,
    subject: String,
    thread: Option<(String, bool)>,
    text: String,
) -> Result<Message, String> {
    let bad = |field: &str, v: &str, e: &dyn std::fmt::Display| {
        format!("{field} {v:?} is not an email address ({e})")
    };
    let mut b = Message::builder()
        .from(
            cfg.from
                .parse::<Mailbox>()
                .map_err(|e| bad("from", &cfg.from, &e))?,
        )
        .subject(subject);
    for t in &cfg.to {
        b = b.to(t.parse::<Mailbox>().map_err(|e| bad("to", t, &e))?);
    }
    b = match thread {
        Some((id, true)) => b.message_id(Some(id)),
        Some((id, false)) => b.message_id(None).in_reply_to(id.clone()).references(id),
        None => b.message_id(None),
    };
    // A plain body rather than a MIME part: lettre ends a part with a line break of its
    // own and the SMTP terminator adds one more, which would show as blank lines.
    b.header(header::MIME_VERSION_1_0)
        .header(header::ContentType::TEXT_PLAIN)
        .body(text.strip_suffix('\n').unwrap_or(&text).to_string())
        .map_err(|e| format!("cannot build the email: {e}"))
}

/// The one email of a group's notifications (a route with `group_by`).
pub fn group_message(
    cfg: &EmailConfig,
    m: &GroupMessage,
    status_url: &str,
) -> Result<Message, String> {
    let text = group_body(m, status_url);
    build(
        cfg,
        group_subject(m, cfg.subject_prefix.as_deref()),
        None,
        text,
    )
}

/// Send `msg` through the channel's SMTP server; `timeout` bounds each step.
pub async fn send(
    cfg: &EmailConfig,
    msg: Message,
    trust: &Trust,
    timeout: Duration,
) -> Result<(), String> {
    let server = format!("{}:{}", cfg.server, cfg.port());
    let fail = |e: String| format!("SMTP server {server}: {e}");
    let tls = || {
        let mut b = TlsParameters::builder(cfg.server.clone());
        for der in trust.extra() {
            let cert = Certificate::from_der(der.to_vec()).map_err(|e| fail(e.to_string()))?;
            b = b.add_root_certificate(cert);
        }
        b.build_rustls().map_err(|e| fail(e.to_string()))
    };
    let tls = match cfg.security {
        Security::None => Tls::None,
        Security::Starttls => Tls::Required(tls()?),
        Security::Tls => Tls::Wrapper(tls()?),
    };
    let mut t = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.server.as_str())
        .port(cfg.port())
        .tls(tls)
        .timeout(Some(timeout));
    if let (Some(user), Some(pass)) = (&cfg.username, &cfg.password) {
        t = t.credentials(Credentials::new(user.clone(), pass.expose().to_string()));
    }
    let transport = t.build();
    // Every step has `timeout`; the whole exchange gets a few of them.
    match tokio::time::timeout(timeout * 4, transport.send(msg)).await {
        Err(_) => Err(fail(format!("no answer in {:?}", timeout * 4))),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(fail(describe(&e, cfg))),
    }
}

/// An SMTP error with what to do about it.
fn describe(e: &lettre::transport::smtp::Error, cfg: &EmailConfig) -> String {
    let text = crate::net::tls::explain(&e.to_string());
    let code = e.status().map(|c| c.to_string());
    match code.as_deref() {
        Some("535") | Some("534") | Some("530") if cfg.username.is_some() => format!(
            "{text}; the server refused the login: check username and password of channel {:?}",
            cfg.name
        ),
        Some("530") => format!(
            "{text}; the server requires a login: set username and password of channel {:?}",
            cfg.name
        ),
        _ if e.is_timeout() => format!("{text}; the server did not answer in time"),
        _ if e.to_string().starts_with("Connection error") => {
            format!("{text}; is the SMTP server running and reachable at that address and port?")
        }
        _ => text,
    }
}

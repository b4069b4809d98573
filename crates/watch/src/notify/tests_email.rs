//! The email channel: subjects and bodies checked exactly, configuration checks, and
//! delivery to a real SMTP server (aiosmtpd) in plain text, with STARTTLS and AUTH
//! behind a private CA, and with implicit TLS; refused logins, untrusted certificates
//! and an unreachable server keep the notification queued until it can be delivered.

use crate::config::Secret;
use crate::config::{ChannelConfig, RouteConfig};
use crate::config::{EmailConfig, Security};
use crate::engine::alert::{Alert, Engine, Kind, Notification};
use crate::net::tls::Trust;
use crate::notify::dispatch::{Dispatcher, Sender};
use crate::notify::email;
use crate::rules::{Condition, Outcome};
use crate::serve::metrics::Metrics;
use crate::Store;
use crate::{Config, ConfigError, Severity};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::ca::test_ca;
use testkit::smtp::{Mode, SmtpSink};

/// 2025-01-01T00:00:00Z.
const T0: f64 = 1_735_689_600.0;
const STATUS: &str = "http://127.0.0.1:9750/api/status";

fn alert() -> Alert {
    Alert {
        key: "node_down/sentry0".into(),
        rule: "node_down".into(),
        severity: Severity::Critical,
        chain: Some("c-1".into()),
        node: Some("sentry0".into()),
        host: None,
        summary: "sentry0 (sentry, c-1) has been down for 2m".into(),
        started_at: T0,
        notified_at: T0,
        told: true,
        suppressed: false,
        labels: Default::default(),
        inhibited_by: None,
    }
}

fn note(kind: Kind, resolved_at: Option<f64>) -> Notification {
    Notification {
        kind,
        alert: alert(),
        resolved_at,
        inhibits: Vec::new(),
    }
}

const FIRING_BODY: &str = "\
CRITICAL alert firing: node_down

sentry0 (sentry, c-1) has been down for 2m

Severity:   critical
Status:     firing
Rule:       node_down
Chain:      c-1
Node:       sentry0
Started:    2025-01-01 00:00:00 UTC
Alert key:  node_down/sentry0

Status page: http://127.0.0.1:9750/
-- 
Sent by bulwark watch
";

const RESOLVED_BODY: &str = "\
RESOLVED: node_down (was CRITICAL)

Was: sentry0 (sentry, c-1) has been down for 2m

Severity:   critical
Status:     resolved
Rule:       node_down
Chain:      c-1
Node:       sentry0
Started:    2025-01-01 00:00:00 UTC
Resolved:   2025-01-01 00:02:30 UTC
Lasted:     2m 30s
Alert key:  node_down/sentry0

Status page: http://127.0.0.1:9750/
-- 
Sent by bulwark watch
";

#[test]
fn subjects_and_bodies_are_exact() {
    let firing = note(Kind::Firing, None);
    let resolved = note(Kind::Resolved, Some(T0 + 150.0));
    assert_eq!(
        email::subject(&firing, None),
        "[CRITICAL] FIRING node_down: sentry0 (c-1)"
    );
    assert_eq!(
        email::subject(&firing, Some("[prod]")),
        "[prod] [CRITICAL] FIRING node_down: sentry0 (c-1)"
    );
    assert_eq!(
        email::subject(&resolved, Some("[prod]")),
        "[prod] [RESOLVED] node_down: sentry0 (c-1)"
    );
    assert_eq!(email::body(&firing, STATUS), FIRING_BODY);
    assert_eq!(email::body(&resolved, STATUS), RESOLVED_BODY);

    let mut repeat = note(Kind::Repeat, None);
    repeat.alert.notified_at = T0 + 1800.0;
    assert_eq!(
        email::subject(&repeat, None),
        "[CRITICAL] STILL FIRING node_down: sentry0 (c-1)"
    );
    let body = email::body(&repeat, STATUS);
    assert!(
        body.starts_with("CRITICAL alert still firing: node_down\n\n"),
        "{body}"
    );
    assert!(body.contains("\nFiring for: 30m\n"), "{body}");

    let mut changed = note(Kind::Changed, None);
    changed.alert.severity = Severity::Warning;
    assert_eq!(
        email::subject(&changed, None),
        "[WARNING] NOW WARNING node_down: sentry0 (c-1)"
    );
    assert!(email::body(&changed, STATUS).starts_with("Alert node_down is now WARNING\n\n"));

    // A host alert: no chain, the host named instead of a node.
    let mut host = note(Kind::Firing, None);
    host.alert.chain = None;
    host.alert.node = None;
    host.alert.host = Some("val-host".into());
    host.alert.severity = Severity::Warning;
    host.alert.rule = "disk_used".into();
    assert_eq!(
        email::subject(&host, None),
        "[WARNING] FIRING disk_used: val-host"
    );
    let body = email::body(&host, STATUS);
    assert!(body.contains("\nHost:       val-host\n"), "{body}");
    assert!(
        !body.contains("Chain:") && !body.contains("Node:"),
        "{body}"
    );

    // Firing and resolved share a thread id built from the alert and the sender's domain.
    assert_eq!(
        email::thread_id(&alert(), "Bulwark <watch@example.com>"),
        "<alert.node_down.sentry0.1735689600@example.com>"
    );
}

fn channel(port: u16, security: Security) -> EmailConfig {
    EmailConfig {
        name: "mail".into(),
        server: "127.0.0.1".into(),
        port: Some(port),
        security,
        username: None,
        password: None,
        from: "Bulwark Watch <watch@example.com>".into(),
        to: vec![
            "oncall@example.com".into(),
            "Ops Team <ops@example.com>".into(),
        ],
        subject_prefix: Some("[bulwark]".into()),
    }
}

#[test]
fn email_channels_are_checked() {
    let text = r#"
state_path = "w.sqlite"

[[channel]]
name = "ok"
type = "email"
server = "smtp.example.com"
username = "watch"
password = "hunter2"
from = "watch@example.com"
to = ["oncall@example.com"]

[[channel]]
name = "bad"
type = "email"
server = "smtp://smtp.example.com"
port = 0
security = "none"
username = "watch"
password = "hunter2"
from = "not an address"
to = []
subject_prefix = "a\nb"

[[channel]]
name = "half"
type = "email"
server = "smtp.example.com"
security = "tls"
username = "watch"
from = "watch@example.com"
to = ["oncall@example.com", "nope"]
"#;
    let Err(ConfigError::Invalid(p)) = Config::parse(text) else {
        panic!("must be rejected")
    };
    let expect = [
        "channel \"bad\": server \"smtp://smtp.example.com\" is not a host name or address",
        "channel \"bad\": port must be above 0",
        "channel \"bad\": from \"not an address\" is not an email address",
        "channel \"bad\": list at least one address in `to`",
        "channel \"bad\": the password would cross the network unencrypted",
        "channel \"bad\": subject_prefix must be one line",
        "channel \"half\": to \"nope\" is not an email address",
        "channel \"half\": give both username and password for SMTP AUTH, or neither",
    ];
    for e in expect {
        assert!(
            p.iter().any(|x| x.starts_with(e)),
            "missing {e:?} in {p:#?}"
        );
    }
    assert_eq!(p.len(), expect.len(), "{p:#?}");
    assert!(!p.iter().any(|x| x.contains("\"ok\"")), "{p:#?}");

    // Defaults: STARTTLS on 587; implicit TLS on 465; plain on 25. The password is a
    // secret and stays out of Debug output.
    let ok = Config::parse(&text[..text.find("[[channel]]\nname = \"bad\"").unwrap()]).unwrap();
    let ChannelConfig::Email(e) = &ok.channels[0] else {
        panic!("email channel")
    };
    assert_eq!((e.security, e.port()), (Security::Starttls, 587));
    assert!(!format!("{ok:?}").contains("hunter2"));
    assert_eq!(channel(1, Security::Tls).port(), 1);
    let mut c = channel(1, Security::Tls);
    c.port = None;
    assert_eq!(c.port(), 465);
    c.security = Security::None;
    assert_eq!(c.port(), 25);

    // An unknown field is refused like in every other section.
    let err = Config::parse(
        "state_path = \"w\"\n[[channel]]\nname = \"m\"\ntype = \"email\"\nserver = \"s\"\nfrom = \"a@b.c\"\nto = [\"a@b.c\"]\nsmtp_port = 2\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("unknown field `smtp_port`"), "{err}");
}

fn condition() -> Condition {
    Condition {
        key: "node_down/sentry0".into(),
        rule: "node_down",
        severity: Severity::Critical,
        chain: Some("c-1".into()),
        node: Some("sentry0".into()),
        host: None,
        summary: "sentry0 (sentry, c-1) has been down for 2m".into(),
        hold: Duration::ZERO,
    }
}

struct Rig {
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
    engine: Engine,
    registry: Registry,
    dispatcher: Option<Dispatcher>,
}

/// An engine and a dispatcher over one database, routing everything to `channels`.
fn rig(channels: Vec<ChannelConfig>, trust: Trust) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.sqlite");
    let routes = vec![RouteConfig {
        channels: channels.iter().map(|c| c.name().to_string()).collect(),
        min_severity: Severity::Warning,
        ..RouteConfig::new(&[], Severity::Warning)
    }];
    let engine = Engine::new(
        Store::open(&db).unwrap(),
        crate::engine::routing::Routing::of_routes(routes.clone(), Duration::from_secs(3600)),
    )
    .unwrap();
    let mut registry = Registry::default();
    let dispatcher = Dispatcher {
        store: Store::open(&db).unwrap(),
        channels: channels
            .iter()
            .map(|c| (c.name().to_string(), c.clone()))
            .collect(),
        routes,
        sender: Sender {
            http: reqwest::Client::new(),
            timeout: Duration::from_secs(5),
            generator_url: STATUS.into(),
            tls: trust,
        },
        metrics: Arc::new(Metrics::register(&mut registry)),
        shared: Arc::new(crate::serve::http::Shared::new(
            Registry::default(),
            tokio::sync::mpsc::channel(1).0,
        )),
    };
    Rig {
        _dir: dir,
        db,
        engine,
        registry,
        dispatcher: Some(dispatcher),
    }
}

impl Rig {
    fn fire(&mut self, at: f64) {
        let sent = self
            .engine
            .apply(vec![Outcome::Firing(condition())], at)
            .unwrap();
        assert_eq!(sent.len(), 1);
    }

    fn resolve(&mut self, at: f64) {
        let sent = self
            .engine
            .apply(vec![Outcome::Clear("node_down/sentry0".into())], at)
            .unwrap();
        assert_eq!(sent.len(), 1);
    }

    fn deliver(&mut self) {
        let d = self.dispatcher.as_mut().unwrap();
        rt().block_on(d.deliver_due()).unwrap();
    }

    fn queued(&self) -> Vec<(String, u32)> {
        Store::open(&self.db)
            .unwrap()
            .due(f64::MAX, 100)
            .unwrap()
            .into_iter()
            .map(|i| (i.channel, i.attempts))
            .collect()
    }

    fn metrics(&self) -> String {
        crate::serve::metrics::render(&self.registry)
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn firing_and_resolved_arrive_over_plain_smtp() {
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(&dir.path().join("mail"), 0, Mode::Plain, None, None);
    let mut r = rig(
        vec![ChannelConfig::Email(channel(sink.port, Security::None))],
        Trust::system(),
    );
    r.fire(T0);
    r.deliver();
    r.resolve(T0 + 150.0);
    r.deliver();
    let m = sink.wait_for(2, Duration::from_secs(10));
    assert_eq!(m.len(), 2, "{m:#?}");
    let thread = "<alert.node_down.sentry0.1735689600@example.com>";
    for (msg, subject, body) in [
        (
            &m[0],
            "[bulwark] [CRITICAL] FIRING node_down: sentry0 (c-1)",
            FIRING_BODY,
        ),
        (
            &m[1],
            "[bulwark] [RESOLVED] node_down: sentry0 (c-1)",
            RESOLVED_BODY,
        ),
    ] {
        assert_eq!(msg["mail_from"], "watch@example.com");
        assert_eq!(
            msg["rcpt_tos"],
            serde_json::json!(["oncall@example.com", "ops@example.com"])
        );
        assert_eq!(msg["from"], "Bulwark Watch <watch@example.com>");
        assert_eq!(msg["to"], "oncall@example.com, Ops Team <ops@example.com>");
        assert_eq!(msg["subject"], subject);
        assert_eq!(msg["body"], body);
        assert_eq!(msg["content_type"], "text/plain");
        assert_eq!(msg["charset"], "utf-8");
        assert_eq!(msg["mime_version"], "1.0");
        assert!(msg["date"].is_string(), "{msg:#}");
        assert_eq!(msg["tls"], false);
        assert_eq!(msg["login"], serde_json::Value::Null);
    }
    // Mail clients thread the resolve under the firing message.
    assert_eq!(m[0]["message_id"], thread);
    assert_eq!(m[1]["references"], thread);
    assert_eq!(m[1]["in_reply_to"], thread);
    assert_ne!(m[1]["message_id"], thread);
    assert!(r.queued().is_empty());
    assert!(r
        .metrics()
        .contains("bulwark_watch_notifications_total{channel=\"mail\",result=\"ok\"} 2"));
}

#[test]
fn starttls_with_login_trusts_the_private_ca_and_refuses_what_it_must() {
    let dir = tempfile::tempdir().unwrap();
    let ca = test_ca(dir.path(), "mail");
    let sink = SmtpSink::start(
        &dir.path().join("mail"),
        0,
        Mode::Starttls,
        Some(&ca),
        Some("watch:s3cret"),
    );
    let login = |name: &str, password: &str| {
        let mut c = channel(sink.port, Security::Starttls);
        c.name = name.into();
        c.username = Some("watch".into());
        c.password = Some(Secret::new(password));
        ChannelConfig::Email(c)
    };
    let mut nologin = channel(sink.port, Security::Starttls);
    nologin.name = "nologin".into();
    let channels = vec![
        login("mail", "s3cret"),
        login("badpass", "wrong"),
        ChannelConfig::Email(nologin),
    ];
    let trusted = Trust::from_pem_file(&ca.ca).unwrap();
    let mut r = rig(channels.clone(), trusted.clone());
    r.fire(T0);
    r.deliver();

    let m = sink.wait_for(1, Duration::from_secs(10));
    assert_eq!(m.len(), 1, "only the right login gets through: {m:#?}");
    assert_eq!(m[0]["tls"], true);
    assert_eq!(m[0]["login"], "watch");
    assert_eq!(
        m[0]["subject"],
        "[bulwark] [CRITICAL] FIRING node_down: sentry0 (c-1)"
    );
    assert_eq!(m[0]["body"], FIRING_BODY);
    // The refused ones stay queued, to be retried with backoff.
    let mut q = r.queued();
    q.sort();
    assert_eq!(q, [("badpass".to_string(), 1), ("nologin".to_string(), 1)]);
    let text = r.metrics();
    for line in [
        "bulwark_watch_notifications_total{channel=\"mail\",result=\"ok\"} 1",
        "bulwark_watch_notifications_total{channel=\"badpass\",result=\"error\"} 1",
        "bulwark_watch_notifications_total{channel=\"nologin\",result=\"error\"} 1",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }

    // What the operator reads in the log for each failure.
    let n = note(Kind::Firing, None);
    let send = |sender: &Sender, ch: &ChannelConfig| rt().block_on(sender.send(ch, &n));
    let sender = |trust: Trust| Sender {
        http: reqwest::Client::new(),
        timeout: Duration::from_secs(5),
        generator_url: STATUS.into(),
        tls: trust,
    };
    let err = send(&sender(trusted.clone()), &channels[1]).unwrap_err();
    assert!(
        err.starts_with(&format!(
            "SMTP server 127.0.0.1:{}: permanent error (535)",
            sink.port
        )) && err.contains("check username and password of channel \"badpass\""),
        "{err}"
    );
    let err = send(&sender(trusted.clone()), &channels[2]).unwrap_err();
    assert!(
        err.contains("(530)") && err.contains("set username and password of channel \"nologin\""),
        "{err}"
    );
    // Without the CA, or with another CA, the server's certificate is not trusted.
    let other = test_ca(dir.path(), "other");
    for trust in [Trust::system(), Trust::from_pem_file(&other.ca).unwrap()] {
        let err = send(&sender(trust), &channels[0]).unwrap_err();
        assert!(
            err.contains("invalid peer certificate: UnknownIssuer") && err.contains("tls_ca_file"),
            "{err}"
        );
    }
    assert_eq!(sink.messages().len(), 1, "nothing else got through");
}

#[test]
fn implicit_tls_delivers() {
    let dir = tempfile::tempdir().unwrap();
    let ca = test_ca(dir.path(), "smtps");
    let sink = SmtpSink::start(&dir.path().join("mail"), 0, Mode::Tls, Some(&ca), None);
    let mut r = rig(
        vec![ChannelConfig::Email(channel(sink.port, Security::Tls))],
        Trust::from_pem_file(&ca.ca).unwrap(),
    );
    r.fire(T0);
    r.deliver();
    let m = sink.wait_for(1, Duration::from_secs(10));
    assert_eq!(m[0]["tls"], true);
    assert_eq!(m[0]["body"], FIRING_BODY);
    assert!(r.queued().is_empty());
}

#[test]
fn unreachable_server_keeps_the_notification_until_it_is_up() {
    let dir = tempfile::tempdir().unwrap();
    let port = testkit::port::free_port();
    let ch = ChannelConfig::Email(channel(port, Security::None));
    let mut r = rig(vec![ch.clone()], Trust::system());

    // The error an operator reads.
    let sender = &r.dispatcher.as_ref().unwrap().sender;
    let err = rt()
        .block_on(sender.send(&ch, &note(Kind::Firing, None)))
        .unwrap_err();
    assert!(
        err.starts_with(&format!("SMTP server 127.0.0.1:{port}: Connection error"))
            && err.contains("Connection refused")
            && err.contains("is the SMTP server running"),
        "{err}"
    );

    r.fire(T0);
    let d = r.dispatcher.take().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let task = rt.spawn(d.run(Arc::new(tokio::sync::Notify::new()), stop.clone()));

    // It fails and stays queued.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !r
        .metrics()
        .contains("bulwark_watch_notifications_total{channel=\"mail\",result=\"error\"}")
    {
        assert!(
            Instant::now() < deadline,
            "no failed attempt: {}",
            r.metrics()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(r.queued().len(), 1);

    // The server comes up on that port: the next retry delivers it, once.
    let sink = SmtpSink::start(&dir.path().join("mail"), port, Mode::Plain, None, None);
    let m = sink.wait_for(1, Duration::from_secs(30));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !r.queued().is_empty() {
        assert!(Instant::now() < deadline, "still queued: {:?}", r.queued());
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.cancel();
    rt.block_on(task).unwrap().unwrap();
    assert_eq!(sink.messages().len(), 1, "delivered exactly once: {m:#?}");
    assert_eq!(
        sink.messages()[0]["subject"],
        "[bulwark] [CRITICAL] FIRING node_down: sentry0 (c-1)"
    );
    assert!(r
        .metrics()
        .contains("bulwark_watch_notifications_total{channel=\"mail\",result=\"ok\"} 1"));
}

/// A group's notifications (a route with `group_by`) are one email: the worst severity
/// and the group in the subject, each alert's part in the body, one footer.
#[test]
fn a_group_is_one_email() {
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(&dir.path().join("mail"), 0, Mode::Plain, None, None);
    let cfg = channel(sink.port, Security::None);
    let mut host = note(Kind::Firing, None);
    host.alert.key = "host_down/val-host".into();
    host.alert.rule = "host_down".into();
    host.alert.chain = None;
    host.alert.node = None;
    host.alert.host = Some("val-host".into());
    host.alert.summary = "val-host is down".into();
    let mut warn = note(Kind::Firing, None);
    warn.alert.severity = Severity::Warning;
    let resolved = note(Kind::Resolved, Some(T0 + 150.0));
    let group = crate::engine::message::Message {
        group: Some(crate::engine::message::Group {
            route: 1,
            labels: [("host".to_string(), "val-host".to_string())].into(),
        }),
        notifications: vec![host, warn, resolved],
    };
    assert_eq!(
        email::group_subject(&group, Some("[prod]")),
        "[prod] [CRITICAL] 2 alerts FIRING, 1 resolved: host=val-host"
    );
    let body = email::group_body(&group, STATUS);
    assert!(
        body.starts_with("CRITICAL alert firing: host_down\n\nval-host is down\n"),
        "{body}"
    );
    assert!(
        body.contains("\nWARNING alert firing: node_down\n"),
        "{body}"
    );
    assert!(body.ends_with(&format!("\n{}", &RESOLVED_BODY)), "{body}");
    assert_eq!(body.matches("Sent by bulwark watch").count(), 1, "{body}");
    let sender = Sender {
        http: reqwest::Client::new(),
        timeout: Duration::from_secs(5),
        generator_url: STATUS.into(),
        tls: Trust::system(),
    };
    rt().block_on(sender.send_message(&ChannelConfig::Email(cfg), &group))
        .unwrap();
    let m = sink.wait_for(1, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    let m2 = sink.messages();
    assert_eq!((m.len(), m2.len()), (1, 1), "{m2:#?}");
    assert_eq!(
        m[0]["subject"],
        "[bulwark] [CRITICAL] 2 alerts FIRING, 1 resolved: host=val-host"
    );
    assert_eq!(m[0]["body"], body.as_str());
    // Resolved only: a resolved group.
    let only = crate::engine::message::Message {
        notifications: vec![note(Kind::Resolved, Some(T0 + 150.0)); 2],
        ..group
    };
    assert_eq!(
        email::group_subject(&only, None),
        "[RESOLVED] 2 alerts: host=val-host"
    );
}

//! `bulwark watch test-alert`: a test alert, fired and then resolved, sent straight to
//! each channel, so an operator can prove a channel reaches someone before it matters.
//! It bypasses the outbox and the alert database: nothing a running watch keeps is
//! touched, and a failed send is reported, not retried.

use crate::config::ChannelConfig;
use crate::config::{Config, Severity};
use crate::engine::alert::{Alert, Kind, Notification};
use crate::error::WatchError;
use crate::notify::dispatch::Sender;
use crate::state::now;
use serde::Serialize;

/// The rule name test alerts carry (route or filter on it in the receiver).
pub const RULE: &str = "test_alert";

/// What one channel did with the test alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// Channel name.
    pub channel: String,
    /// Channel type.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Why the firing notification was not delivered, if it was not.
    pub firing_error: Option<String>,
    /// Why the resolve was not delivered, if it was not (not sent when firing failed).
    pub resolved_error: Option<String>,
}

impl Outcome {
    /// Both notifications were delivered.
    pub fn ok(&self) -> bool {
        self.firing_error.is_none() && self.resolved_error.is_none()
    }
}

/// The test alert for channel `name`.
pub fn alert(name: &str, t: f64) -> Alert {
    Alert {
        key: format!("{RULE}/{name}"),
        rule: RULE.into(),
        severity: Severity::Warning,
        chain: None,
        node: None,
        host: None,
        summary: format!(
            "test alert from bulwark watch through channel {name}: nothing is wrong; if you read this, the channel delivers, and a resolve follows"
        ),
        started_at: t,
        notified_at: t,
        told: true,
        suppressed: false,
        labels: [
            ("rule".to_string(), RULE.to_string()),
            ("severity".to_string(), "warning".to_string()),
            ("channel".to_string(), name.to_string()),
        ]
        .into(),
        inhibited_by: None,
    }
}

/// Send a test alert and its resolve through `channels` (all when empty), in config
/// order. Names that are not configured are an error before anything is sent.
pub async fn run(config: &Config, channels: &[String]) -> Result<Vec<Outcome>, WatchError> {
    config.validate()?;
    if let Some(unknown) = channels
        .iter()
        .find(|n| !config.channels.iter().any(|c| c.name() == n.as_str()))
    {
        let known: Vec<&str> = config.channels.iter().map(ChannelConfig::name).collect();
        return Err(WatchError::UnknownChannel {
            name: unknown.clone(),
            known: if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            },
        });
    }
    let (trust, http) = crate::net::tls::outgoing(config)?;
    let sender = Sender {
        http,
        timeout: config.request_timeout,
        generator_url: format!("http://{}/api/status", config.listen),
        tls: trust,
    };
    let mut out = Vec::new();
    for ch in config
        .channels
        .iter()
        .filter(|c| channels.is_empty() || channels.iter().any(|n| n == c.name()))
    {
        let t = now();
        let a = alert(ch.name(), t);
        let firing = Notification {
            kind: Kind::Firing,
            alert: a.clone(),
            resolved_at: None,
            inhibits: Vec::new(),
        };
        let firing_error = sender.send(ch, &firing).await.err();
        let resolved_error = match firing_error {
            Some(_) => None,
            None => {
                let resolved = Notification {
                    kind: Kind::Resolved,
                    alert: a,
                    resolved_at: Some(now()),
                    inhibits: Vec::new(),
                };
                sender.send(ch, &resolved).await.err()
            }
        };
        out.push(Outcome {
            channel: ch.name().to_string(),
            kind: ch.kind(),
            firing_error,
            resolved_error,
        });
    }
    Ok(out)
}

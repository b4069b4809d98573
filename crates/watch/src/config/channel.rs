//! `[[channel]]`: where notifications can go.

use super::email::EmailConfig;
use super::secret::Secret;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A notification channel: `type` picks the kind, `name` is what routes refer to.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChannelConfig {
    /// Generic JSON webhook (see `notify::webhook_payload`).
    Webhook {
        /// Unique name.
        name: String,
        /// URL that receives a POST per notification.
        url: String,
    },
    /// Prometheus Alertmanager v2 API.
    Alertmanager {
        /// Unique name.
        name: String,
        /// Alertmanager base URL, e.g. `http://127.0.0.1:9093`.
        url: String,
        /// Firing alerts are re-sent this often so Alertmanager keeps them.
        #[serde(default = "default_resend_interval", with = "confkit::duration")]
        resend_interval: Duration,
    },
    /// Slack incoming webhook.
    Slack {
        /// Unique name.
        name: String,
        /// Incoming webhook URL (a secret: it carries the key).
        webhook_url: Secret,
    },
    /// Discord webhook.
    Discord {
        /// Unique name.
        name: String,
        /// Webhook URL (a secret: it carries the key).
        webhook_url: Secret,
    },
    /// Telegram bot message.
    Telegram {
        /// Unique name.
        name: String,
        /// Bot token.
        bot_token: Secret,
        /// Chat to post to.
        chat_id: String,
        /// Bot API base URL.
        #[serde(default = "default_telegram_api")]
        api_url: String,
    },
    /// PagerDuty Events API v2.
    Pagerduty {
        /// Unique name.
        name: String,
        /// Integration routing key.
        routing_key: Secret,
        /// Events endpoint.
        #[serde(default = "default_pagerduty_url")]
        url: String,
    },
    /// Email over SMTP (see `email::EmailConfig`).
    Email(EmailConfig),
}

impl ChannelConfig {
    /// An Alertmanager channel with the default resend interval.
    pub fn alertmanager(name: &str, url: &str) -> ChannelConfig {
        ChannelConfig::Alertmanager {
            name: name.into(),
            url: url.into(),
            resend_interval: default_resend_interval(),
        }
    }

    /// The channel's name.
    pub fn name(&self) -> &str {
        match self {
            ChannelConfig::Webhook { name, .. }
            | ChannelConfig::Alertmanager { name, .. }
            | ChannelConfig::Slack { name, .. }
            | ChannelConfig::Discord { name, .. }
            | ChannelConfig::Telegram { name, .. }
            | ChannelConfig::Pagerduty { name, .. } => name,
            ChannelConfig::Email(e) => &e.name,
        }
    }

    /// Its `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelConfig::Webhook { .. } => "webhook",
            ChannelConfig::Alertmanager { .. } => "alertmanager",
            ChannelConfig::Slack { .. } => "slack",
            ChannelConfig::Discord { .. } => "discord",
            ChannelConfig::Telegram { .. } => "telegram",
            ChannelConfig::Pagerduty { .. } => "pagerduty",
            ChannelConfig::Email(_) => "email",
        }
    }
}

fn default_resend_interval() -> Duration {
    Duration::from_secs(60)
}
fn default_telegram_api() -> String {
    "https://api.telegram.org".into()
}
fn default_pagerduty_url() -> String {
    "https://events.pagerduty.com/v2/enqueue".into()
}

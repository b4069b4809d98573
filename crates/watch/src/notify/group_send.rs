//! Delivering one outbox message: a single alert's notification, or a group's in one
//! request where the channel allows it.

use crate::config::ChannelConfig;
use crate::engine::alert::Kind;
use crate::engine::message::Message;
use crate::notify::dispatch::Sender;
use crate::notify::payload;
use crate::state::now;
use serde_json::Value;

impl Sender {
    /// Send one outbox message: a single alert's notification as [`Sender::send`]
    /// does, a group's as one request (webhook, Alertmanager, chat channels, one email),
    /// except to PagerDuty: one event per alert there, since each incident needs its
    /// own dedup key to be resolved (PagerDuty groups incidents by its own rules).
    pub async fn send_message(&self, ch: &ChannelConfig, m: &Message) -> Result<(), String> {
        match (&m.group, m.notifications.as_slice()) {
            (None, [one]) => return self.send(ch, one).await,
            (_, []) => return Ok(()),
            _ => {}
        }
        match ch {
            ChannelConfig::Webhook { url, .. } => self.post(url, &payload::webhook_group(m)).await,
            ChannelConfig::Alertmanager { url, .. } => {
                let body: Vec<Value> = m
                    .notifications
                    .iter()
                    .map(|n| {
                        let ends =
                            (n.kind == Kind::Resolved).then(|| n.resolved_at.unwrap_or_else(now));
                        payload::alertmanager(&n.alert, ends, &self.generator_url)
                    })
                    .collect();
                self.post(
                    &format!("{}/api/v2/alerts", url.trim_end_matches('/')),
                    &Value::Array(body),
                )
                .await
            }
            ChannelConfig::Slack { webhook_url, .. } => {
                let text = payload::group_text(m);
                self.post(webhook_url.expose(), &serde_json::json!({ "text": text }))
                    .await
            }
            ChannelConfig::Discord { webhook_url, .. } => {
                let text = payload::group_text(m);
                self.post(
                    webhook_url.expose(),
                    &serde_json::json!({ "content": text }),
                )
                .await
            }
            ChannelConfig::Telegram {
                bot_token,
                chat_id,
                api_url,
                ..
            } => {
                let url = format!(
                    "{}/bot{}/sendMessage",
                    api_url.trim_end_matches('/'),
                    bot_token.expose()
                );
                let body = serde_json::json!({ "chat_id": chat_id, "text": payload::group_text(m), "disable_web_page_preview": true });
                self.post(&url, &body).await
            }
            ChannelConfig::Email(cfg) => {
                let msg = crate::notify::email::group_message(cfg, m, &self.generator_url)?;
                crate::notify::email::send(cfg, msg, &self.tls, self.timeout).await
            }
            ChannelConfig::Pagerduty { .. } => {
                for n in &m.notifications {
                    self.send(ch, n).await?;
                }
                Ok(())
            }
        }
    }
}

//! Delivery: the outbox is sent channel by channel with retries and backoff;
//! Alertmanager channels also get every firing alert re-sent periodically.

use crate::config::{ChannelConfig, RouteConfig};
use crate::engine::alert::{Kind, Notification};
use crate::engine::store::{Store, StoreError};
use crate::notify::payload;
use crate::serve::metrics::Metrics;
use crate::state::now;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Sends queued notifications.
#[derive(Debug)]
pub struct Dispatcher {
    /// Its own connection to the alert database.
    pub store: Store,
    /// Channels by name.
    pub channels: HashMap<String, ChannelConfig>,
    /// Routes (for Alertmanager re-sends).
    pub routes: Vec<RouteConfig>,
    /// Sends HTTP requests.
    pub sender: Sender,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Where each channel's delivery health is published (`Observed::channels`),
    /// for the `channel_failing` rule and the status page.
    pub shared: Arc<crate::serve::http::Shared>,
}

impl Dispatcher {
    /// Deliver until `shutdown`; `wake` is signalled when something was queued.
    pub async fn run(
        mut self,
        wake: Arc<Notify>,
        shutdown: CancellationToken,
    ) -> Result<(), StoreError> {
        let mut last_resend: HashMap<String, f64> = HashMap::new();
        loop {
            self.deliver_due().await?;
            self.resend_alertmanager(&mut last_resend).await?;
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    }

    /// Send everything due now once.
    pub async fn deliver_due(&mut self) -> Result<(), StoreError> {
        for item in self.store.due(now(), 100)? {
            let Some(ch) = self.channels.get(&item.channel).cloned() else {
                tracing::warn!(channel = %item.channel, "dropping a notification for a channel no longer configured");
                self.store.delivered(item.id)?;
                continue;
            };
            let res = self.sender.send_message(&ch, &item.message).await;
            self.record(
                &item.channel,
                res.as_ref().map(|_| ()).map_err(String::as_str),
            );
            match res {
                Ok(()) => {
                    self.metrics.notification(&item.channel, true);
                    self.store.delivered(item.id)?;
                }
                Err(e) => {
                    self.metrics.notification(&item.channel, false);
                    let backoff = 2f64.powi(item.attempts.min(8) as i32).min(300.0);
                    tracing::warn!(channel = %item.channel, attempt = item.attempts + 1, "notification not delivered, retrying in {backoff}s: {e}");
                    self.store.retry_at(item.id, now() + backoff)?;
                }
            }
        }
        Ok(())
    }

    /// Publish a delivery's outcome on `channel`, and wake the engine when that
    /// changes whether the channel fails.
    fn record(&self, channel: &str, res: Result<(), &str>) {
        let mut o = self
            .shared
            .observed
            .write()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(c) = o.channels.iter_mut().find(|c| c.name == channel) {
            c.record(res, now());
        }
        drop(o);
        self.shared.changed.notify_one();
    }

    async fn resend_alertmanager(
        &mut self,
        last: &mut HashMap<String, f64>,
    ) -> Result<(), StoreError> {
        let t = now();
        let due: Vec<(String, String)> = self
            .channels
            .values()
            .filter_map(|c| match c {
                ChannelConfig::Alertmanager {
                    name,
                    url,
                    resend_interval,
                } => {
                    let prev = last.get(name).copied().unwrap_or(t);
                    last.entry(name.clone()).or_insert(t);
                    (t - prev >= resend_interval.as_secs_f64()).then(|| (name.clone(), url.clone()))
                }
                _ => None,
            })
            .collect();
        if due.is_empty() {
            return Ok(());
        }
        let firing = self.store.firing()?;
        // What the groups of grouped routes have told (and not resolved): only that
        // is re-sent through them.
        let told: HashSet<(usize, String)> = self
            .store
            .groups()?
            .into_iter()
            .flat_map(|(r, _, st)| {
                st.entries
                    .into_iter()
                    .filter(|(_, e)| e.told.is_some() && e.resolved_at.is_none())
                    .map(move |(k, _)| (r, k))
            })
            .collect();
        for (name, url) in due {
            last.insert(name.clone(), t);
            let sent_through = |a: &crate::engine::alert::Alert| {
                self.routes.iter().enumerate().any(|(i, r)| {
                    r.channels.contains(&name)
                        && r.accepts(&a.labels, a.severity)
                        && if r.grouped() {
                            told.contains(&(i, a.key.clone()))
                        } else {
                            a.told
                        }
                })
            };
            let body: Vec<Value> = firing
                .iter()
                .filter(|a| !a.suppressed && a.inhibited_by.is_none())
                .filter(|a| sent_through(a))
                .map(|a| payload::alertmanager(a, None, &self.sender.generator_url))
                .collect();
            if body.is_empty() {
                continue;
            }
            let res = self
                .sender
                .post(
                    &format!("{}/api/v2/alerts", url.trim_end_matches('/')),
                    &Value::Array(body),
                )
                .await;
            self.metrics.notification(&name, res.is_ok());
            if let Err(e) = res {
                tracing::warn!(channel = %name, "re-sending firing alerts to Alertmanager failed: {e}");
            }
        }
        Ok(())
    }
}

/// Posts payloads.
#[derive(Debug, Clone)]
pub struct Sender {
    /// HTTP client.
    pub http: reqwest::Client,
    /// Per-request timeout.
    pub timeout: Duration,
    /// `generatorURL` for Alertmanager (the watch's `/api/status`).
    pub generator_url: String,
    /// Certificates trusted by SMTP over TLS (HTTP uses `http`'s own).
    pub tls: crate::net::tls::Trust,
}

impl Sender {
    /// Send one notification to one channel.
    pub async fn send(&self, ch: &ChannelConfig, n: &Notification) -> Result<(), String> {
        match ch {
            ChannelConfig::Webhook { url, .. } => self.post(url, &payload::webhook(n)).await,
            ChannelConfig::Alertmanager { url, .. } => {
                let ends = (n.kind == Kind::Resolved).then(|| n.resolved_at.unwrap_or_else(now));
                let body = Value::Array(vec![payload::alertmanager(
                    &n.alert,
                    ends,
                    &self.generator_url,
                )]);
                self.post(
                    &format!("{}/api/v2/alerts", url.trim_end_matches('/')),
                    &body,
                )
                .await
            }
            ChannelConfig::Slack { webhook_url, .. } => {
                self.post(webhook_url.expose(), &payload::slack(n)).await
            }
            ChannelConfig::Discord { webhook_url, .. } => {
                self.post(webhook_url.expose(), &payload::discord(n)).await
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
                self.post(&url, &payload::telegram(n, chat_id)).await
            }
            ChannelConfig::Pagerduty {
                routing_key, url, ..
            } => {
                self.post(url, &payload::pagerduty(n, routing_key.expose()))
                    .await
            }
            ChannelConfig::Email(cfg) => {
                let msg = crate::notify::email::message(cfg, n, &self.generator_url)?;
                crate::notify::email::send(cfg, msg, &self.tls, self.timeout).await
            }
        }
    }

    /// POST `body` as JSON; any 2xx status is success.
    pub async fn post(&self, url: &str, body: &Value) -> Result<(), String> {
        let resp = self
            .http
            .post(url)
            .timeout(self.timeout)
            .json(body)
            .send()
            .await
            .map_err(|e| crate::net::root_cause(&e))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("HTTP status {}", resp.status().as_u16()))
        }
    }
}

//! `Config::validate`: every problem of a configuration at once.

use super::channel::ChannelConfig;
use super::{Config, ConfigError};
use std::collections::HashSet;

impl Config {
    /// Every problem at once.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut p = Vec::new();
        if self.state_path.as_os_str().is_empty() {
            p.push("state_path is empty: give a file for the alert database".into());
        }
        if self.poll_interval.is_zero() {
            p.push("poll_interval must be above 0s".into());
        }
        if self.request_timeout.is_zero() {
            p.push("request_timeout must be above 0s".into());
        }
        if self.repeat_interval.is_zero() {
            p.push("repeat_interval must be above 0s".into());
        }
        let mut chains = HashSet::new();
        for c in &self.chains {
            if c.id.is_empty() {
                p.push("a [[chain]] has an empty id".into());
            }
            if !chains.insert(c.id.as_str()) {
                p.push(format!("chain {:?} is listed twice", c.id));
            }
            if c.rpc.is_empty() {
                p.push(format!("chain {:?}: give at least one rpc URL", c.id));
            }
            for u in &c.rpc {
                check_url(&mut p, &format!("chain {:?} rpc", c.id), u);
            }
            if c.grid_blocks == 0 {
                p.push(format!("chain {:?}: grid_blocks must be above 0", c.id));
            }
            if c.max_backfill == 0 {
                p.push(format!("chain {:?}: max_backfill must be above 0", c.id));
            }
            super::sdk::validate_chain(c, &mut p);
        }
        let mut names = HashSet::new();
        for n in &self.nodes {
            if !names.insert(n.name.as_str()) {
                p.push(format!("node {:?} is listed twice", n.name));
            }
            if !chains.contains(n.chain.as_str()) {
                p.push(format!(
                    "node {:?}: chain {:?} is not a [[chain]] id",
                    n.name, n.chain
                ));
            }
            check_url(&mut p, &format!("node {:?} rpc", n.name), &n.rpc);
            if let Some(u) = &n.hermes {
                check_url(&mut p, &format!("node {:?} hermes", n.name), u);
                if n.role != crate::config::Role::Relayer {
                    p.push(format!(
                        "node {:?}: hermes is a relayer's telemetry; give it to a node with role = \"relayer\" (this one is {})",
                        n.name,
                        n.role.as_str()
                    ));
                }
            }
            if n.hermes_prefix.is_some() && n.hermes.is_none() {
                p.push(format!(
                    "node {:?}: hermes_prefix without hermes; give the telemetry URL too",
                    n.name
                ));
            }
            if let Some(u) = &n.metrics {
                check_url(&mut p, &format!("node {:?} metrics", n.name), u);
            }
        }
        let mut peers = HashSet::new();
        for w in &self.peers {
            if !peers.insert(w.name.as_str()) {
                p.push(format!("peer {:?} is listed twice", w.name));
            }
            check_url(&mut p, &format!("peer {:?} url", w.name), &w.url);
        }
        let mut hosts = HashSet::new();
        for h in &self.hosts {
            if !hosts.insert(h.name.as_str()) {
                p.push(format!("host {:?} is listed twice", h.name));
            }
            if let Some(url) = &h.node_exporter {
                check_url(&mut p, &format!("host {:?} node_exporter", h.name), url);
            }
        }
        let mut signers = HashSet::new();
        for s in &self.signers {
            if !signers.insert(s.name.as_str()) {
                p.push(format!("signer {:?} is listed twice", s.name));
            }
            check_url(
                &mut p,
                &format!("signer {:?} metrics_url", s.name),
                &s.metrics_url,
            );
        }
        let mut groups: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for s in &self.signers {
            if let Some(g) = &s.cosigners {
                groups.entry(g).or_default().push(s.peer_name());
            }
        }
        for (g, peers) in &groups {
            if peers.len() < 2 {
                p.push(format!(
                    "cosigners {g:?}: only one [[signer]] is in this group; list every cosigner of the key with cosigners = {g:?}"
                ));
            }
            let mut seen = HashSet::new();
            for n in peers {
                if !seen.insert(n) {
                    p.push(format!("cosigners {g:?}: two cosigners are known as {n:?}; set peer_name to the name the other cosigners give each"));
                }
            }
        }
        let mut channels = HashSet::new();
        for c in &self.channels {
            if !channels.insert(c.name()) {
                p.push(format!("channel {:?} is listed twice", c.name()));
            }
            let what = format!("channel {:?}", c.name());
            match c {
                ChannelConfig::Webhook { url, .. } => check_url(&mut p, &what, url),
                ChannelConfig::Alertmanager {
                    url,
                    resend_interval,
                    ..
                } => {
                    check_url(&mut p, &what, url);
                    if resend_interval.is_zero() {
                        p.push(format!("{what}: resend_interval must be above 0s"));
                    }
                }
                ChannelConfig::Slack { webhook_url, .. }
                | ChannelConfig::Discord { webhook_url, .. } => {
                    check_url(&mut p, &what, webhook_url.expose())
                }
                ChannelConfig::Telegram {
                    bot_token, api_url, ..
                } => {
                    check_url(&mut p, &what, api_url);
                    if bot_token.expose().is_empty() {
                        p.push(format!("{what}: bot_token is empty"));
                    }
                }
                ChannelConfig::Pagerduty {
                    routing_key, url, ..
                } => {
                    check_url(&mut p, &what, url);
                    if routing_key.expose().is_empty() {
                        p.push(format!("{what}: routing_key is empty"));
                    }
                }
                ChannelConfig::Email(e) => e.check(&what, &mut p),
            }
        }
        for (i, r) in self.routes.iter().enumerate() {
            if r.channels.is_empty() {
                p.push(format!("route #{}: list at least one channel", i + 1));
            }
            for c in &r.channels {
                if !channels.contains(c.as_str()) {
                    p.push(format!("route #{}: channel {c:?} is not defined", i + 1));
                }
            }
        }
        self.validate_routing(&mut p, &channels);
        if let Some(h) = &self.heartbeat {
            check_url(&mut p, "heartbeat url", h.url.expose());
            if h.interval.is_zero() {
                p.push("heartbeat interval must be above 0s".into());
            }
        }
        if let Some(f) = &self.tls_ca_file {
            if let Err(e) = super::tls::check_ca_file(f) {
                p.push(e.to_string());
            }
        }
        self.rules.validate(&mut p);
        if let Err(e) = super::Levels::new(self) {
            p.extend(e);
        }
        if p.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(p))
        }
    }
}

pub(crate) fn check_url(p: &mut Vec<String>, what: &str, url: &str) {
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && url.split("://").nth(1).is_some_and(|r| !r.is_empty());
    if !ok {
        p.push(format!("{what}: {url:?} is not an http:// or https:// URL"));
    }
}

//! `[[channel]] type = "email"`: the SMTP settings of an email channel and their checks.

use super::secret::Secret;
use lettre::message::Mailbox;
use serde::{Deserialize, Serialize};

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// Plain text (a relay on the same host or a trusted network only).
    None,
    /// Plain text upgraded with STARTTLS, which is required (port 587 by default).
    #[default]
    Starttls,
    /// TLS from the first byte, "SMTPS" (port 465 by default).
    Tls,
}

/// An email channel.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// Unique name.
    pub name: String,
    /// SMTP server host name or address.
    pub server: String,
    /// SMTP port (default: 25 for `none`, 587 for `starttls`, 465 for `tls`).
    pub port: Option<u16>,
    /// `none`, `starttls` (default) or `tls`.
    #[serde(default)]
    pub security: Security,
    /// SMTP AUTH user name (with `password`).
    pub username: Option<String>,
    /// SMTP AUTH password.
    pub password: Option<Secret>,
    /// Sender, e.g. `"Bulwark <watch@example.com>"`.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Put in front of every subject, e.g. `"[prod]"`.
    pub subject_prefix: Option<String>,
}

impl EmailConfig {
    /// An email channel `name` that sends from `from` to `to` through `server`, with
    /// STARTTLS on its usual port, no SMTP AUTH and no subject prefix (the devnet and
    /// the tests set the rest on the value).
    pub fn new(name: &str, server: &str, from: &str, to: &[&str]) -> EmailConfig {
        EmailConfig {
            name: name.into(),
            server: server.into(),
            port: None,
            security: Security::default(),
            username: None,
            password: None,
            from: from.into(),
            to: to.iter().map(|t| t.to_string()).collect(),
            subject_prefix: None,
        }
    }

    /// The port used: the configured one or the usual one for `security`.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            Security::None => 25,
            Security::Starttls => 587,
            Security::Tls => 465,
        })
    }

    /// Add every problem with these settings to `p`; `what` names the channel.
    pub fn check(&self, what: &str, p: &mut Vec<String>) {
        let server = self.server.trim();
        if server.is_empty() || server.contains("://") || server.contains(char::is_whitespace) {
            p.push(format!(
                "{what}: server {:?} is not a host name or address (no scheme, no port: set `port` separately)",
                self.server
            ));
        }
        if self.port == Some(0) {
            p.push(format!("{what}: port must be above 0"));
        }
        if let Err(e) = self.from.parse::<Mailbox>() {
            p.push(format!(
                "{what}: from {:?} is not an email address ({e})",
                self.from
            ));
        }
        if self.to.is_empty() {
            p.push(format!("{what}: list at least one address in `to`"));
        }
        for t in &self.to {
            if let Err(e) = t.parse::<Mailbox>() {
                p.push(format!("{what}: to {t:?} is not an email address ({e})"));
            }
        }
        match (&self.username, &self.password) {
            (Some(_), None) | (None, Some(_)) => p.push(format!(
                "{what}: give both username and password for SMTP AUTH, or neither"
            )),
            (Some(_), Some(_)) if self.security == Security::None => p.push(format!(
                "{what}: the password would cross the network unencrypted: use security = \"starttls\" or \"tls\""
            )),
            _ => {}
        }
        if self
            .subject_prefix
            .as_deref()
            .is_some_and(|s| s.chars().any(char::is_control))
        {
            p.push(format!("{what}: subject_prefix must be one line"));
        }
    }
}

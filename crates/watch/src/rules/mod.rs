//! Rules: pure functions from what was observed to firing or clear conditions.
//!
//! A rule that has no data for a subject says nothing about it, so an alert is
//! never resolved (or raised) because a source went quiet.
//!
//! One file per family: [`chain`] (blocks, signatures, nodes), [`consensus`] (rounds,
//! missing power), [`host`] (disks, memory, load), [`snapshot`] (scheduled snapshots),
//! [`rpc`] (what RPC nodes serve), [`peer`] (redundant watches), [`signer`], [`cosigner`]
//! (threshold cosigner groups), [`sdk`] (window, jail, staking, upgrades), [`gov`]
//! (unvoted proposals), [`stake`] (wallets, rank, commission), [`production`] (our
//! proposed blocks) and [`channel`] (notification delivery). A new rule goes in its family's file, with its thresholds in
//! `config::RulesConfig`; each reads its subject's levels from `config::Levels` (a
//! chain's, a node's, a host's or a signer's). Rules read `state` and `config` only: they neither store,
//! notify nor serve.

mod chain;
mod channel;
mod consensus;
mod cosigner;
mod gov;
mod host;
mod oracle;
mod peer;
mod production;
mod relayer;
mod rpc;
mod sdk;
mod signer;
mod snapshot;
mod stake;

use crate::config::Levels;
use crate::config::Severity;
use crate::state::{Observed, Ts};
use std::time::Duration;

/// A condition that holds now.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// One alert per key.
    pub key: String,
    /// Rule name.
    pub rule: &'static str,
    /// How bad.
    pub severity: Severity,
    /// Chain it is about.
    pub chain: Option<String>,
    /// Node it is about.
    pub node: Option<String>,
    /// Host it is about.
    pub host: Option<String>,
    /// One line for a person on call.
    pub summary: String,
    /// The condition must hold this long before it fires.
    pub hold: Duration,
}

/// What an alert is about: a chain, a node of a chain, or a host.
#[derive(Debug, Clone, Default)]
pub(crate) struct About {
    chain: Option<String>,
    node: Option<String>,
    host: Option<String>,
}

impl About {
    /// A chain.
    pub(crate) fn chain(id: &str) -> Self {
        Self {
            chain: Some(id.to_string()),
            ..Self::default()
        }
    }

    /// A node of a chain.
    pub(crate) fn node(chain: &str, name: &str) -> Self {
        Self {
            chain: Some(chain.to_string()),
            node: Some(name.to_string()),
            host: None,
        }
    }

    /// A host.
    pub(crate) fn host(name: &str) -> Self {
        Self {
            host: Some(name.to_string()),
            ..Self::default()
        }
    }

    /// The condition `rule` holds for it, under `key`.
    pub(crate) fn condition(
        &self,
        rule: &'static str,
        key: String,
        severity: Severity,
        summary: String,
        hold: Duration,
    ) -> Condition {
        Condition {
            key,
            rule,
            severity,
            chain: self.chain.clone(),
            node: self.node.clone(),
            host: self.host.clone(),
            summary,
            hold,
        }
    }
}

/// What a rule says about one subject.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The condition holds.
    Firing(Condition),
    /// The subject was checked and is fine: resolve its alert if any.
    Clear(String),
}

/// Evaluate every rule. Subjects without data give no outcome.
pub fn evaluate(cfg: &Levels, obs: &Observed, now: Ts) -> Vec<Outcome> {
    let mut out = Vec::new();
    chain::evaluate(cfg, obs, now, &mut out);
    consensus::evaluate(cfg, obs, now, &mut out);
    host::evaluate(cfg, obs, now, &mut out);
    signer::evaluate(cfg, obs, now, &mut out);
    cosigner::evaluate(cfg, obs, now, &mut out);
    sdk::evaluate(cfg, obs, now, &mut out);
    oracle::evaluate(cfg, obs, &mut out);
    snapshot::evaluate(cfg, obs, now, &mut out);
    peer::evaluate(cfg, obs, now, &mut out);
    rpc::evaluate(cfg, obs, now, &mut out);
    relayer::evaluate(cfg, obs, now, &mut out);
    gov::evaluate(cfg, obs, now, &mut out);
    stake::evaluate(cfg, obs, now, &mut out);
    production::evaluate(cfg, obs, &mut out);
    channel::evaluate(cfg, obs, now, &mut out);
    out
}

/// Evaluate every rule with the same levels for every subject (the unit tests).
#[cfg(test)]
pub(crate) fn evaluate_uniform(
    cfg: &crate::config::RulesConfig,
    obs: &Observed,
    now: Ts,
) -> Vec<Outcome> {
    evaluate(&Levels::uniform(cfg.clone()), obs, now)
}

/// The severity of `value` against rising levels.
pub(crate) fn level_up(value: f64, warning: f64, critical: f64) -> Option<Severity> {
    if value >= critical {
        Some(Severity::Critical)
    } else if value >= warning {
        Some(Severity::Warning)
    } else {
        None
    }
}

/// The severity of `value` against falling levels (lower is worse).
pub(crate) fn level_down(value: f64, warning: f64, critical: f64) -> Option<Severity> {
    if value < critical {
        Some(Severity::Critical)
    } else if value < warning {
        Some(Severity::Warning)
    } else {
        None
    }
}

/// Push `Firing` when `severity` is set, else `Clear`.
pub(crate) fn push(
    out: &mut Vec<Outcome>,
    key: String,
    severity: Option<Severity>,
    make: impl FnOnce(Severity) -> Condition,
) {
    match severity {
        Some(s) => out.push(Outcome::Firing(make(s))),
        None => out.push(Outcome::Clear(key)),
    }
}

/// Push `Firing` when `severity` is set, nothing otherwise: for conditions that hold
/// but have not lasted long enough yet (an alert from before a restart stays).
pub(crate) fn push_held(
    out: &mut Vec<Outcome>,
    severity: Option<Severity>,
    make: impl FnOnce(Severity) -> Condition,
) {
    if let Some(s) = severity {
        out.push(Outcome::Firing(make(s)));
    }
}

#[cfg(test)]
mod tests;

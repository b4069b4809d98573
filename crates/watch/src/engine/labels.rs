//! The labels of an alert: what it is about (rule, severity, chain, node, host, role,
//! signer, channel) and the operator's labels of its chain, host and node or signer.
//! Routes, groups and inhibitions match on them, and notifications carry them.

use crate::config::{Config, Labels, Role, Severity};
use crate::rules::Condition;
use std::collections::HashMap;

/// Label sources from the configuration.
#[derive(Debug, Clone, Default)]
pub struct Labeler {
    chains: HashMap<String, Labels>,
    /// The host of a chain's validator node(s), when those that name a host name
    /// the same one.
    chain_hosts: HashMap<String, String>,
    nodes: HashMap<String, (Role, Option<String>, Labels)>,
    hosts: HashMap<String, Labels>,
    signers: HashMap<String, (Option<String>, Labels)>,
}

/// The rules whose alert keys name a signer (`RULE/SIGNER/...`).
const SIGNER_RULE_PREFIXES: [&str; 2] = ["signer_", "cosigner_"];

/// The rule whose alert keys name a channel (`channel_failing/CHANNEL`).
pub const CHANNEL_FAILING: &str = "channel_failing";

/// A severity's label value (`warning`, `critical`, ...).
pub fn severity_label(s: Severity) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl Labeler {
    /// From the chains, nodes, hosts and signers of `config`.
    pub fn new(config: &Config) -> Self {
        // The hosts of each chain's validator nodes that name one (nodes of other
        // operators' validators, watched too, name none).
        let mut chain_hosts: HashMap<String, Vec<String>> = HashMap::new();
        for n in config.nodes.iter().filter(|n| n.role == Role::Validator) {
            if let Some(h) = &n.host {
                let hosts = chain_hosts.entry(n.chain.clone()).or_default();
                if !hosts.contains(h) {
                    hosts.push(h.clone());
                }
            }
        }
        Self {
            chains: config
                .chains
                .iter()
                .map(|c| (c.id.clone(), c.labels.clone()))
                .collect(),
            chain_hosts: chain_hosts
                .into_iter()
                .filter_map(|(c, h)| match h.as_slice() {
                    [one] => Some((c, one.clone())),
                    _ => None,
                })
                .collect(),
            nodes: config
                .nodes
                .iter()
                .map(|n| (n.name.clone(), (n.role, n.host.clone(), n.labels.clone())))
                .collect(),
            hosts: config
                .hosts
                .iter()
                .map(|h| (h.name.clone(), h.labels.clone()))
                .collect(),
            signers: config
                .signers
                .iter()
                .map(|s| (s.name.clone(), (s.host.clone(), s.labels.clone())))
                .collect(),
        }
    }

    /// The labels of an alert raised by condition `c`.
    ///
    /// `host` is the host the alert is about, else the host of its node, of its
    /// signer, or of its chain's validator node. Operator labels are merged from the
    /// chain, then the host, then the node or signer (a later one wins).
    pub fn labels(&self, c: &Condition) -> Labels {
        let mut l = Labels::new();
        let signer = SIGNER_RULE_PREFIXES
            .iter()
            .any(|p| c.rule.starts_with(p))
            .then(|| c.key.split('/').nth(1))
            .flatten()
            .filter(|s| self.signers.contains_key(*s));
        let node = c.node.as_deref().and_then(|n| self.nodes.get(n));
        let host = c
            .host
            .clone()
            .or_else(|| node.and_then(|(_, h, _)| h.clone()))
            .or_else(|| signer.and_then(|s| self.signers[s].0.clone()))
            .or_else(|| {
                c.chain
                    .as_ref()
                    .and_then(|ch| self.chain_hosts.get(ch).cloned())
            });
        if let Some(ch) = &c.chain {
            l.extend(self.chains.get(ch).cloned().unwrap_or_default());
        }
        if let Some(h) = &host {
            l.extend(self.hosts.get(h).cloned().unwrap_or_default());
        }
        if let Some((_, _, nl)) = node {
            l.extend(nl.clone());
        }
        if let Some(s) = signer {
            l.extend(self.signers[s].1.clone());
        }
        l.insert("rule".into(), c.rule.to_string());
        l.insert("severity".into(), severity_label(c.severity));
        let mut set = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                l.insert(k.into(), v);
            }
        };
        set("chain", c.chain.clone());
        set("node", c.node.clone());
        set("host", host);
        set("role", node.map(|(r, _, _)| r.as_str().to_string()));
        set("signer", signer.map(str::to_string));
        if c.rule == CHANNEL_FAILING {
            set("channel", c.key.split('/').nth(1).map(str::to_string));
        }
        l
    }
}

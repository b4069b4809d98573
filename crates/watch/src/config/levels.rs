//! Rule levels per chain, node, role, host and signer.
//!
//! `[rules]` holds the defaults. A `rules` table on a `[[chain]]`, `[roles.NAME]`,
//! `[[node]]`, `[[host]]` or `[[signer]]` overrides them rule by rule and field by
//! field, for that subject only. A node's levels are, from the least to the most
//! specific: `[rules]`, its chain's `rules`, its role's `rules`, its own `rules`.
//! Where a chain is known (a chain's, a role's and a node's `rules`), durations can
//! be given in blocks (`"20 blocks"`), at the chain's `block_time`.

use super::rules::RulesConfig;
use super::Config;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;

/// A `rules` table that overrides some levels, as written (checked when the levels
/// are resolved).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct RuleOverrides(pub toml::Table);

impl RuleOverrides {
    /// Nothing overridden.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// These overrides and `rule` at `levels` (for configurations built in code: the
    /// devnet, the bench, the tests).
    pub fn with(mut self, rule: &str, levels: &impl Serialize) -> Self {
        let v = toml::Value::try_from(levels).expect("rule levels serialize to TOML");
        self.0.insert(rule.to_string(), v);
        self
    }
}

/// `[roles.NAME]`: settings for every node of a role.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RoleConfig {
    /// Levels of the node rules for every node of this role.
    #[serde(default, skip_serializing_if = "RuleOverrides::is_empty")]
    pub rules: RuleOverrides,
}

/// What a rule is about, which says where its levels can be overridden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A chain and our validator on it: `[[chain]]` rules.
    Chain,
    /// A node: `[[chain]]` (all its nodes), `[roles.NAME]` and `[[node]]` rules.
    Node,
    /// A host: `[[host]]` rules.
    Host,
    /// A signer or cosigner: `[[signer]]` rules.
    Signer,
    /// The watch itself: its peers (`[[peer]]`) and channels; `[rules]` only.
    Watch,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Scope::Chain => "a chain",
            Scope::Node => "a node",
            Scope::Host => "a host",
            Scope::Signer => "a signer",
            Scope::Watch => "the watch itself",
        }
    }
}

/// Every rule (each key of `[rules]`) and what it is about.
pub const SCOPES: &[(&str, Scope)] = &[
    ("missed_in_a_row", Scope::Chain),
    ("chain_stalled", Scope::Chain),
    ("source_unhealthy", Scope::Chain),
    ("consensus_rounds", Scope::Chain),
    ("missing_power", Scope::Chain),
    ("window_missed", Scope::Chain),
    ("oracle_missed", Scope::Chain),
    ("jail_in", Scope::Chain),
    ("validator_inactive", Scope::Chain),
    ("upgrade_in", Scope::Chain),
    ("threshold_at_risk", Scope::Chain),
    ("threshold_lost", Scope::Chain),
    ("gov_unvoted", Scope::Chain),
    ("validator_rank", Scope::Chain),
    ("commission_changed", Scope::Chain),
    ("empty_proposals", Scope::Chain),
    ("proposals_missed", Scope::Chain),
    ("node_down", Scope::Node),
    ("node_catching_up", Scope::Node),
    ("node_behind", Scope::Node),
    ("peers_low", Scope::Node),
    ("node_metrics_down", Scope::Node),
    ("rpc_slow", Scope::Node),
    ("rpc_history", Scope::Node),
    ("relayer_telemetry_down", Scope::Node),
    ("relayer_backlog", Scope::Node),
    ("relayer_errors", Scope::Node),
    ("exporter_down", Scope::Host),
    ("disk_used", Scope::Host),
    ("disk_full_in", Scope::Host),
    ("disk_fill_window", Scope::Host),
    ("memory_used", Scope::Host),
    ("load_per_cpu", Scope::Host),
    ("snapshot_stale", Scope::Host),
    ("snapshot_failed", Scope::Host),
    ("signer_down", Scope::Signer),
    ("signer_node_disconnected", Scope::Signer),
    ("signer_sealed", Scope::Signer),
    ("signer_refusals", Scope::Signer),
    ("signer_refusal_reasons", Scope::Signer),
    ("cosigner_down", Scope::Signer),
    ("cosigner_refusals", Scope::Signer),
    ("cosigner_refusals_ignored", Scope::Signer),
    ("cosigner_failures", Scope::Signer),
    ("cosigner_slow", Scope::Signer),
    ("peer_down", Scope::Watch),
    ("channel_failing", Scope::Watch),
    ("host_down", Scope::Host),
];

/// What `rule` is about, if it is a rule.
pub fn scope_of(rule: &str) -> Option<Scope> {
    SCOPES.iter().find(|(r, _)| *r == rule).map(|(_, s)| *s)
}

/// One layer of overrides: where it is written, what it may override, and the chain's
/// block time when durations may be in blocks.
pub(crate) struct Layer<'a> {
    pub(crate) name: String,
    pub(crate) rules: &'a RuleOverrides,
    pub(crate) scopes: &'a [Scope],
    /// `Some` where a chain is known: `Some(None)` when its block time is not set.
    pub(crate) block_time: Option<Option<Duration>>,
}

/// The levels every rule uses for every subject.
#[derive(Debug, Clone)]
pub struct Levels {
    global: RulesConfig,
    chains: HashMap<String, RulesConfig>,
    nodes: HashMap<String, RulesConfig>,
    hosts: HashMap<String, RulesConfig>,
    signers: HashMap<String, RulesConfig>,
}

impl Levels {
    /// The same levels for everything.
    pub fn uniform(rules: RulesConfig) -> Levels {
        Levels {
            global: rules,
            chains: HashMap::new(),
            nodes: HashMap::new(),
            hosts: HashMap::new(),
            signers: HashMap::new(),
        }
    }

    /// Resolve every subject's levels; every problem at once, each naming where it is
    /// written.
    pub fn new(config: &Config) -> Result<Levels, Vec<String>> {
        let mut p = Vec::new();
        let mut levels = Levels::uniform(config.rules.clone());
        let base = match toml::Table::try_from(&config.rules) {
            Ok(t) => t,
            Err(e) => return Err(vec![format!("[rules]: {e}")]),
        };
        let mut global_problems = Vec::new();
        config.rules.validate(&mut global_problems);
        let subject_levels = |subject: String, layers: Vec<Layer<'_>>, p: &mut Vec<String>| {
            if layers.iter().all(|l| l.rules.is_empty()) {
                return None;
            }
            match resolve(&base, &layers) {
                Ok(r) => {
                    let mut own = Vec::new();
                    r.validate(&mut own);
                    p.extend(
                        own.into_iter()
                            .filter(|m| !global_problems.contains(m))
                            .map(|m| format!("{subject}: {m}")),
                    );
                    Some(r)
                }
                Err(e) => {
                    p.extend(e);
                    None
                }
            }
        };
        for c in &config.chains {
            let layers = vec![chain_layer(c)];
            if let Some(r) = subject_levels(format!("chain {:?}", c.id), layers, &mut p) {
                levels.chains.insert(c.id.clone(), r);
            }
        }
        for n in &config.nodes {
            let layers = node_layers(config, n);
            if let Some(r) = subject_levels(format!("node {:?}", n.name), layers, &mut p) {
                levels.nodes.insert(n.name.clone(), r);
            }
        }
        for h in &config.hosts {
            let layers = vec![Layer {
                name: format!("host {:?} rules", h.name),
                rules: &h.rules,
                scopes: &[Scope::Host],
                block_time: None,
            }];
            if let Some(r) = subject_levels(format!("host {:?}", h.name), layers, &mut p) {
                levels.hosts.insert(h.name.clone(), r);
            }
        }
        for s in &config.signers {
            let layers = vec![Layer {
                name: format!("signer {:?} rules", s.name),
                rules: &s.rules,
                scopes: &[Scope::Signer],
                block_time: None,
            }];
            if let Some(r) = subject_levels(format!("signer {:?}", s.name), layers, &mut p) {
                levels.signers.insert(s.name.clone(), r);
            }
        }
        for (role, rc) in &config.roles {
            if !rc.rules.is_empty() && !config.nodes.iter().any(|n| n.role == *role) {
                p.push(format!(
                    "roles.{}: no [[node]] has this role, so its rules apply to nothing",
                    role.as_str()
                ));
            }
        }
        if p.is_empty() {
            Ok(levels)
        } else {
            // A chain's layer is resolved for the chain and for each of its nodes.
            let mut seen = std::collections::HashSet::new();
            p.retain(|m| seen.insert(m.clone()));
            Err(p)
        }
    }

    /// `[rules]`.
    pub fn global(&self) -> &RulesConfig {
        &self.global
    }

    /// A chain's levels (`[rules]` for a chain that is not configured).
    pub fn chain(&self, id: &str) -> &RulesConfig {
        self.chains.get(id).unwrap_or(&self.global)
    }

    /// A node's levels.
    pub fn node(&self, name: &str, chain: &str) -> &RulesConfig {
        self.nodes.get(name).unwrap_or_else(|| self.chain(chain))
    }

    /// A host's levels.
    pub fn host(&self, name: &str) -> &RulesConfig {
        self.hosts.get(name).unwrap_or(&self.global)
    }

    /// A signer's levels.
    pub fn signer(&self, name: &str) -> &RulesConfig {
        self.signers.get(name).unwrap_or(&self.global)
    }
}

pub(crate) fn chain_layer(c: &super::ChainConfig) -> Layer<'_> {
    Layer {
        name: format!("chain {:?} rules", c.id),
        rules: &c.rules,
        scopes: &[Scope::Chain, Scope::Node],
        block_time: Some(c.block_time),
    }
}

/// A node's layers, least specific first: its chain's, its role's, its own.
pub(crate) fn node_layers<'a>(config: &'a Config, n: &'a super::NodeConfig) -> Vec<Layer<'a>> {
    let chain = config.chains.iter().find(|c| c.id == n.chain);
    let block_time = Some(chain.and_then(|c| c.block_time));
    let mut layers = Vec::new();
    if let Some(c) = chain {
        layers.push(chain_layer(c));
    }
    if let Some(rc) = config.roles.get(&n.role) {
        layers.push(Layer {
            name: format!("roles.{} rules", n.role.as_str()),
            rules: &rc.rules,
            scopes: &[Scope::Node],
            block_time,
        });
    }
    layers.push(Layer {
        name: format!("node {:?} rules", n.name),
        rules: &n.rules,
        scopes: &[Scope::Node],
        block_time,
    });
    layers
}

/// `base` with `layers` merged on top, in order.
pub(crate) fn resolve(
    base: &toml::Table,
    layers: &[Layer<'_>],
) -> Result<RulesConfig, Vec<String>> {
    let mut merged = base.clone();
    let mut p = Vec::new();
    for l in layers {
        for (rule, value) in &l.rules.0 {
            match scope_of(rule) {
                None => p.push(format!(
                    "{}: {rule:?} is not a rule (see [rules] in crates/watch/watch.example.toml)",
                    l.name
                )),
                Some(s) if !l.scopes.contains(&s) => p.push(format!(
                    "{}: {rule} is about {}, so it cannot be set here: set it in {}",
                    l.name,
                    s.as_str(),
                    where_to(s)
                )),
                Some(_) => {
                    let value = in_time(&l.name, rule, value, l.block_time, &mut p);
                    merge(&mut merged, rule, value);
                }
            }
        }
    }
    if !p.is_empty() {
        return Err(p);
    }
    RulesConfig::deserialize(toml::Value::Table(merged)).map_err(|e| {
        let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
        vec![format!("{}: {}", names.join(" / "), e.message())]
    })
}

fn where_to(s: Scope) -> &'static str {
    match s {
        Scope::Chain => "[rules] or a [[chain]]'s rules",
        Scope::Node => "[rules], a [[chain]]'s, a [roles.NAME]'s or a [[node]]'s rules",
        Scope::Host => "[rules] or a [[host]]'s rules",
        Scope::Signer => "[rules] or a [[signer]]'s rules",
        Scope::Watch => "[rules]",
    }
}

/// Override `rule` in `merged`: a table field by field, anything else whole.
fn merge(merged: &mut toml::Table, rule: &str, value: toml::Value) {
    match (merged.get_mut(rule), value) {
        (Some(toml::Value::Table(have)), toml::Value::Table(new)) => {
            for (k, v) in new {
                have.insert(k, v);
            }
        }
        (_, v) => {
            merged.insert(rule.to_string(), v);
        }
    }
}

/// `value` with every duration in blocks turned into time at `block_time`.
fn in_time(
    layer: &str,
    rule: &str,
    value: &toml::Value,
    block_time: Option<Option<Duration>>,
    p: &mut Vec<String>,
) -> toml::Value {
    let convert = |field: &str, v: &toml::Value, p: &mut Vec<String>| -> toml::Value {
        let Some(n) = v.as_str().and_then(blocks) else {
            return v.clone();
        };
        match block_time {
            Some(Some(bt)) => toml::Value::String(format!("{}ms", bt.as_millis() * n as u128)),
            Some(None) => {
                p.push(format!(
                    "{layer}: {rule}{field} is {:?}, in blocks, but the chain has no block_time: set block_time (e.g. \"6s\") on its [[chain]]",
                    v.as_str().unwrap_or_default()
                ));
                v.clone()
            }
            None => {
                p.push(format!(
                    "{layer}: {rule}{field} is in blocks, which only a chain's, a role's or a node's rules can use: give a time such as \"5m\""
                ));
                v.clone()
            }
        }
    };
    match value {
        toml::Value::Table(t) => toml::Value::Table(
            t.iter()
                .map(|(k, v)| (k.clone(), convert(&format!(".{k}"), v, p)))
                .collect(),
        ),
        v => convert("", v, p),
    }
}

/// `n` for text such as `"20 blocks"` or `"1 block"`.
pub fn blocks(text: &str) -> Option<u64> {
    let t = text.trim();
    let n = t
        .strip_suffix("blocks")
        .or_else(|| t.strip_suffix("block"))?;
    n.trim().parse().ok()
}

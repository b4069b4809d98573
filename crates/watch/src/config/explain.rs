//! The levels a chain's rules and its nodes' rules end up with, and where each value
//! comes from (`bulwark watch check --chain ID`).

use super::levels::{blocks, chain_layer, node_layers, resolve, Layer, Scope, SCOPES};
use super::{Config, RulesConfig};
use serde::Serialize;

/// A chain's effective levels, and its nodes' where they differ.
#[derive(Debug, Serialize)]
pub struct ChainLevels {
    /// Chain ID.
    pub chain: String,
    /// Its `block_time`, if set.
    pub block_time: Option<String>,
    /// Every chain and node rule at the chain's levels.
    pub rules: Vec<RuleLevels>,
    /// Each node of the chain, with the rules whose levels differ from the chain's.
    pub nodes: Vec<NodeLevels>,
}

/// A node's rules whose levels differ from its chain's.
#[derive(Debug, Serialize)]
pub struct NodeLevels {
    /// Node name.
    pub name: String,
    /// Its role.
    pub role: String,
    /// The rules it has other levels for.
    pub rules: Vec<RuleLevels>,
}

/// One rule's levels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleLevels {
    /// Rule name.
    pub rule: String,
    /// Each field (warning, critical, for, ...) with its value and origin.
    pub fields: Vec<FieldLevel>,
}

/// One value and where it was set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldLevel {
    /// Field name (`warning`, `critical`, `for`), or empty for a rule that is one value.
    pub field: String,
    /// The value in effect.
    pub value: String,
    /// `default`, `[rules]`, or the `rules` table that set it (with the blocks it was
    /// given in).
    pub from: String,
}

/// The levels of chain `id`'s rules and of its nodes' rules.
pub fn chain_levels(config: &Config, id: &str) -> Result<ChainLevels, String> {
    let Some(c) = config.chains.iter().find(|c| c.id == id) else {
        let known: Vec<&str> = config.chains.iter().map(|c| c.id.as_str()).collect();
        return Err(format!(
            "no [[chain]] {id:?} in this config; its chains are: {}",
            known.join(", ")
        ));
    };
    let global = toml::Table::try_from(&config.rules).map_err(|e| e.to_string())?;
    let defaults = toml::Table::try_from(RulesConfig::default()).map_err(|e| e.to_string())?;
    let origin = Origin {
        global: &global,
        defaults: &defaults,
    };
    let chain_layers = vec![chain_layer(c)];
    let chain_rules = origin.rules(&chain_layers, &[Scope::Chain, Scope::Node])?;
    let mut nodes = Vec::new();
    for n in config.nodes.iter().filter(|n| n.chain == id) {
        let layers = node_layers(config, n);
        let rules = origin
            .rules(&layers, &[Scope::Node])?
            .into_iter()
            .filter(|r| {
                let chain = chain_rules.iter().find(|c| c.rule == r.rule);
                chain.map(|c| values(c)) != Some(values(r))
            })
            .collect();
        nodes.push(NodeLevels {
            name: n.name.clone(),
            role: n.role.as_str().to_string(),
            rules,
        });
    }
    Ok(ChainLevels {
        chain: id.to_string(),
        block_time: c
            .block_time
            .map(|d| humantime::format_duration(d).to_string()),
        rules: chain_rules,
        nodes,
    })
}

fn values(r: &RuleLevels) -> Vec<&str> {
    r.fields.iter().map(|f| f.value.as_str()).collect()
}

struct Origin<'a> {
    global: &'a toml::Table,
    defaults: &'a toml::Table,
}

impl Origin<'_> {
    /// The rules of `scopes` at the levels `layers` give, each value with its origin.
    fn rules(&self, layers: &[Layer<'_>], scopes: &[Scope]) -> Result<Vec<RuleLevels>, String> {
        let effective = resolve(self.global, layers).map_err(|p| p.join("; "))?;
        let effective = toml::Table::try_from(effective).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for (rule, scope) in SCOPES {
            if !scopes.contains(scope) {
                continue;
            }
            let Some(v) = effective.get(*rule) else {
                continue;
            };
            let fields = match v {
                toml::Value::Table(t) => {
                    let mut t: Vec<_> = t.iter().collect();
                    t.sort_by_key(|(f, _)| field_order(f));
                    t.into_iter()
                        .map(|(f, v)| self.field(layers, rule, Some(f), v))
                        .collect()
                }
                v => vec![self.field(layers, rule, None, v)],
            };
            out.push(RuleLevels {
                rule: rule.to_string(),
                fields,
            });
        }
        Ok(out)
    }

    fn field(
        &self,
        layers: &[Layer<'_>],
        rule: &str,
        field: Option<&str>,
        value: &toml::Value,
    ) -> FieldLevel {
        let pick = |t: &toml::Table| -> Option<toml::Value> {
            let v = t.get(rule)?;
            match field {
                Some(f) => v.as_table()?.get(f).cloned(),
                None => Some(v.clone()),
            }
        };
        let from = layers
            .iter()
            .rev()
            .find_map(|l| {
                let raw = pick(&l.rules.0)?;
                Some(match raw.as_str().and_then(blocks) {
                    Some(n) => format!("{}, {n} blocks", l.name),
                    None => l.name.clone(),
                })
            })
            .unwrap_or_else(|| {
                if pick(self.global) == pick(self.defaults) {
                    "default".into()
                } else {
                    "[rules]".into()
                }
            });
        FieldLevel {
            field: field.unwrap_or_default().to_string(),
            value: show(value),
            from,
        }
    }
}

/// Levels first, worst last, then how long they must hold.
fn field_order(f: &str) -> (usize, &str) {
    let i = ["warning", "critical", "for"].iter().position(|k| *k == f);
    (i.unwrap_or(3), f)
}

fn show(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(a) => a.iter().map(show).collect::<Vec<_>>().join(", "),
        v => v.to_string(),
    }
}

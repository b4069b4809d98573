//! `failover.toml`: where plans, approvals and the audit log live, who approves, and for
//! each chain its signer sides, its validator nodes and the commands that stop, start
//! and fence them.
//!
//! Commands are argument lists (no shell). In `door`, `{node}`, `{from}` and `{to}` are
//! replaced by the node's and the two signers' names.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Plan directory: one subdirectory per plan, with its approvals (a git checkout
    /// works, so the team's review flow applies).
    pub plans: PathBuf,
    /// The audit log every plan, approval and step is appended to.
    pub audit_log: PathBuf,
    /// OpenSSH `allowed_signers`: who may approve, with which key.
    pub allowed_signers: PathBuf,
    /// How many different people must approve a plan (M of the N in `allowed_signers`).
    pub approvals: usize,
    /// The longest an approval stays valid.
    #[serde(default = "default_approval_ttl", with = "confkit::duration")]
    pub approval_ttl: Duration,
    /// The chains.
    #[serde(rename = "chain", default)]
    pub chains: Vec<ChainConfig>,
}

/// One chain's validator: its signer sides and its nodes.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// Chain ID.
    pub id: String,
    /// CometBFT RPC endpoints that read the chain (not only the validator's own nodes).
    pub rpc: Vec<String>,
    /// The old signer must be silent on chain for this many blocks after its door is
    /// closed before the new one gets the state.
    #[serde(default = "default_silent_blocks")]
    pub silent_blocks: u64,
    /// A validator node more than this many blocks behind the chain is not caught up.
    #[serde(default = "default_max_lag")]
    pub max_lag: u64,
    /// How far back from the tip to look for the key's last signature.
    #[serde(default = "default_scan_blocks")]
    pub scan_blocks: u64,
    /// How long to wait for each chain condition (silence, the new signer's first
    /// signature).
    #[serde(default = "default_wait", with = "confkit::duration")]
    pub wait: Duration,
    /// The signer sides a plan moves between.
    #[serde(rename = "signer", default)]
    pub signers: Vec<SignerConfig>,
    /// The validator's nodes (where the door is closed).
    #[serde(rename = "node", default)]
    pub nodes: Vec<NodeConfig>,
}

/// One place the validator can sign from.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SignerConfig {
    /// Name, e.g. `primary`.
    pub name: String,
    /// The host it runs on (shown in plans).
    pub host: String,
    /// Its `bulwark signer` config (the key and state of this chain are read from it).
    pub config: PathBuf,
    /// Command that stops it.
    pub stop: Vec<String>,
    /// Command that starts it.
    pub start: Vec<String>,
}

/// One of the validator's nodes.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Name.
    pub name: String,
    /// Its RPC (caught up?).
    pub rpc: String,
    /// Command that lets only signer `{to}` connect to this node (a firewall rule, the
    /// `priv_validator_laddr` port, or the accepted peer ID on `noise://`).
    pub door: Vec<String>,
}

fn default_approval_ttl() -> Duration {
    Duration::from_secs(4 * 3600)
}
fn default_silent_blocks() -> u64 {
    5
}
fn default_max_lag() -> u64 {
    3
}
fn default_scan_blocks() -> u64 {
    200
}
fn default_wait() -> Duration {
    Duration::from_secs(120)
}

/// Why the file was not accepted.
#[derive(Debug, thiserror::Error)]
#[error("failover config {path}: {}", problems.join("; "))]
pub struct ConfigError {
    /// The file.
    pub path: String,
    /// Every problem.
    pub problems: Vec<String>,
}

impl Config {
    /// Read `path`; relative paths in it are taken from the file's directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let err = |problems| ConfigError {
            path: path.display().to_string(),
            problems,
        };
        let text =
            std::fs::read_to_string(path).map_err(|e| err(vec![format!("cannot read: {e}")]))?;
        let mut c: Config = toml::from_str(&text).map_err(|e| err(vec![e.to_string()]))?;
        c.validate().map_err(err)?;
        let base = path.parent().unwrap_or(Path::new("."));
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut c.plans);
        fix(&mut c.audit_log);
        fix(&mut c.allowed_signers);
        for ch in &mut c.chains {
            for s in &mut ch.signers {
                fix(&mut s.config);
            }
        }
        Ok(c)
    }

    /// Every problem at once.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut p = Vec::new();
        if self.approvals < 1 {
            p.push("approvals must be at least 1".into());
        }
        if self.chains.is_empty() {
            p.push("no [[chain]]".into());
        }
        for c in &self.chains {
            let at = format!("chain {}", c.id);
            if c.rpc.is_empty() {
                p.push(format!(
                    "{at}: rpc is empty; the plan's checks read the chain"
                ));
            }
            if c.silent_blocks < 1 {
                p.push(format!("{at}: silent_blocks must be at least 1"));
            }
            if c.signers.len() < 2 {
                p.push(format!("{at}: a failover needs two [[chain.signer]] sides"));
            }
            if c.nodes.is_empty() {
                p.push(format!("{at}: no [[chain.node]] (the validator's nodes)"));
            }
            for s in &c.signers {
                if s.stop.is_empty() || s.start.is_empty() {
                    p.push(format!(
                        "{at}: signer {}: stop and start commands are needed",
                        s.name
                    ));
                }
                if c.signers.iter().filter(|o| o.name == s.name).count() > 1 {
                    p.push(format!("{at}: two signers are called {}", s.name));
                }
            }
            for n in &c.nodes {
                if n.door.is_empty() {
                    p.push(format!("{at}: node {}: a door command is needed", n.name));
                }
            }
        }
        if p.is_empty() {
            Ok(())
        } else {
            Err(p)
        }
    }

    /// The chain `id`.
    pub fn chain(&self, id: &str) -> Option<&ChainConfig> {
        self.chains.iter().find(|c| c.id == id)
    }
}

impl ChainConfig {
    /// The signer side `name`.
    pub fn signer(&self, name: &str) -> Option<&SignerConfig> {
        self.signers.iter().find(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example in the README is a config that loads.
    #[test]
    fn the_readme_example_parses() {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("```toml\nplans = ")
            .expect("the README has the example")
            + 8;
        let end = start + readme[start..].find("```").expect("closed");
        let c: Config = toml::from_str(&readme[start..end]).unwrap();
        c.validate().unwrap();
        assert_eq!(c.approvals, 2);
        assert_eq!(c.chains[0].signers.len(), 2);
        assert_eq!(c.approval_ttl, Duration::from_secs(4 * 3600));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let c: Config = toml::from_str(
            r#"
plans = "p"
audit_log = "a"
allowed_signers = "s"
approvals = 0
[[chain]]
id = "c"
rpc = []
silent_blocks = 0
[[chain.signer]]
name = "a"
host = "h"
config = "x"
stop = []
start = ["y"]
"#,
        )
        .unwrap();
        let p = c.validate().unwrap_err();
        for want in [
            "approvals must be",
            "rpc is empty",
            "silent_blocks",
            "two [[chain.signer]]",
            "stop and start",
            "no [[chain.node]]",
        ] {
            assert!(
                p.iter().any(|x| x.contains(want)),
                "{want} missing from {p:?}"
            );
        }
    }
}

//! `failover.toml`: where plans, approvals and the audit log live, who approves, and for
//! each chain its signer sides, its validator nodes and the commands that stop, start
//! and fence them. A side is a `bulwark signer` (`config`) or a CometBFT node that signs
//! with its own key file (`node_home`, with the validator key `staged_key` kept outside
//! the node's config directory until a failover installs it).
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
    /// For a threshold validator: the other cosigners, where the door is closed when a
    /// cosigner is replaced (each re-pins the share id to the new cosigner's link key).
    #[serde(rename = "peer", default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<PeerConfig>,
}

/// Another cosigner of a threshold validator, which must stop trusting the cosigner
/// being replaced.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// Name.
    pub name: String,
    /// Command that makes this cosigner pin share `{share_id}` to `{to}` (its link key
    /// `{link_public_key}`, its address `{addr}` when given) instead of `{from}`, and
    /// take the change (restart it): `bulwark threshold repin` edits its config.
    pub door: Vec<String>,
    /// Its `bulwark signer` config, read after the door to see that it pins the new
    /// cosigner's link key and no longer the old one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<PathBuf>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<PathBuf>,
    /// Or: the home of a CometBFT node that signs with its own key file (its
    /// `priv_validator_key_file` and `priv_validator_state_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_home: Option<PathBuf>,
    /// With `node_home`: the validator's key file, kept outside the node's config
    /// directory; a failover to this node installs it there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staged_key: Option<PathBuf>,
    /// Command that stops it (for a node side: the node).
    pub stop: Vec<String>,
    /// Command that starts it (for a node side: starts the node, which then loads the key).
    pub start: Vec<String>,
    /// For a cosigner: the address its peers dial (`ip:port`), given to the peers' door
    /// commands as `{addr}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
}

/// What a signer side is.
#[derive(Debug, Clone, Copy)]
pub enum Side<'a> {
    /// A `bulwark signer` with this config.
    Signer(&'a Path),
    /// A node signing with its own key file.
    Node {
        /// The node's home.
        home: &'a Path,
        /// The validator's key, staged outside the node's config directory.
        staged_key: &'a Path,
    },
}

impl SignerConfig {
    /// What this side is (a validated config has exactly one of the two).
    pub fn side(&self) -> Side<'_> {
        match (&self.config, &self.node_home, &self.staged_key) {
            (Some(c), _, _) => Side::Signer(c),
            (None, Some(home), Some(staged_key)) => Side::Node { home, staged_key },
            _ => panic!("signer side {} was not validated", self.name),
        }
    }

    /// Whether it is a node signing with its own key file.
    pub fn is_node(&self) -> bool {
        matches!(self.side(), Side::Node { .. })
    }
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
    /// `priv_validator_laddr` port, or the accepted peer ID on `noise://`). Optional
    /// when every side is a node side (then it can shut the old node out at a sentry).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
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
                for p in [&mut s.config, &mut s.node_home, &mut s.staged_key]
                    .into_iter()
                    .flatten()
                {
                    fix(p);
                }
            }
            for peer in &mut ch.peers {
                if let Some(p) = &mut peer.config {
                    fix(p);
                }
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
                match (&s.config, &s.node_home, &s.staged_key) {
                    (Some(_), None, None) | (None, Some(_), Some(_)) => {}
                    (Some(_), Some(_), _) => p.push(format!(
                        "{at}: signer {}: set config (a bulwark signer) or node_home (a node with its own key file), not both",
                        s.name
                    )),
                    (Some(_), None, Some(_)) => p.push(format!(
                        "{at}: signer {}: staged_key belongs with node_home",
                        s.name
                    )),
                    (None, Some(_), None) => p.push(format!(
                        "{at}: signer {}: a node side needs staged_key, the validator's key file kept outside the node's config directory, for a failover to it to install",
                        s.name
                    )),
                    (None, None, _) => p.push(format!(
                        "{at}: signer {}: set config (its bulwark signer config) or node_home",
                        s.name
                    )),
                }
            }
            let all_nodes = c
                .signers
                .iter()
                .all(|s| s.config.is_none() && s.node_home.is_some());
            // Replacing a cosigner closes the door at its peers; the nodes keep letting the
            // group's cosigners in.
            let cosigners = !c.peers.is_empty();
            for n in &c.nodes {
                if n.door.is_empty() && !all_nodes && !cosigners {
                    p.push(format!("{at}: node {}: a door command is needed", n.name));
                }
            }
            for peer in &c.peers {
                if peer.door.is_empty() {
                    p.push(format!(
                        "{at}: peer {}: a door command is needed (it re-pins the replaced cosigner's share to the new cosigner)",
                        peer.name
                    ));
                }
                if c.peers.iter().filter(|o| o.name == peer.name).count() > 1 {
                    p.push(format!("{at}: two peers are called {}", peer.name));
                }
                if c.signer(&peer.name).is_some() {
                    p.push(format!(
                        "{at}: {} is both a signer side and a peer; a peer is one of the other cosigners, which stay as they are",
                        peer.name
                    ));
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

    #[test]
    fn a_side_is_a_signer_or_a_node_with_its_staged_key() {
        let with = |sides: &str| {
            let text = format!(
                "plans = \"p\"\naudit_log = \"a\"\nallowed_signers = \"s\"\napprovals = 1\n\
                 [[chain]]\nid = \"c\"\nrpc = [\"http://x\"]\n{sides}\n\
                 [[chain.node]]\nname = \"n\"\nrpc = \"http://x\"\n"
            );
            let c: Config = toml::from_str(&text).unwrap();
            c.validate().err().unwrap_or_default().join("\n")
        };
        let node = |name: &str, extra: &str| {
            format!("[[chain.signer]]\nname = \"{name}\"\nhost = \"h\"\nstop = [\"x\"]\nstart = [\"y\"]\n{extra}\n")
        };
        let home = "node_home = \"/n\"\nstaged_key = \"/k\"";
        // Two node sides: no door needed.
        assert_eq!(with(&(node("a", home) + &node("b", home))), "");
        for (sides, want) in [
            (
                node("a", "node_home = \"/n\"") + &node("b", home),
                "a node side needs staged_key",
            ),
            (
                node("a", "config = \"/c\"\nnode_home = \"/n\"") + &node("b", home),
                "not both",
            ),
            (
                node("a", "config = \"/c\"\nstaged_key = \"/k\"") + &node("b", home),
                "staged_key belongs with node_home",
            ),
            (
                node("a", "") + &node("b", home),
                "set config (its bulwark signer config) or node_home",
            ),
            (
                node("a", "config = \"/c\"") + &node("b", home),
                "a door command is needed",
            ),
        ] {
            let all = with(&sides);
            assert!(all.contains(want), "{want:?} missing from {all:?}");
        }
    }

    #[test]
    fn a_cosigner_chain_closes_its_door_at_the_peers() {
        let with = |peers: &str| {
            let text = format!(
                "plans = \"p\"\naudit_log = \"a\"\nallowed_signers = \"s\"\napprovals = 1\n\
                 [[chain]]\nid = \"c\"\nrpc = [\"http://x\"]\n\
                 [[chain.signer]]\nname = \"cosigner-2\"\nhost = \"h\"\nconfig = \"/a\"\nstop = [\"x\"]\nstart = [\"y\"]\n\
                 [[chain.signer]]\nname = \"cosigner-2b\"\nhost = \"h\"\nconfig = \"/b\"\nstop = [\"x\"]\nstart = [\"y\"]\naddr = \"10.0.0.9:7400\"\n\
                 [[chain.node]]\nname = \"n\"\nrpc = \"http://x\"\n{peers}"
            );
            let c: Config = toml::from_str(&text).unwrap();
            c.validate().err().unwrap_or_default().join("\n")
        };
        let peer =
            |name: &str, door: &str| format!("[[chain.peer]]\nname = \"{name}\"\ndoor = {door}\n");
        // Peers with doors: the nodes need none.
        assert_eq!(
            with(&(peer("cosigner-1", "[\"r\"]") + &peer("cosigner-3", "[\"r\"]"))),
            ""
        );
        // Without peers, a node door is needed again.
        assert!(with("").contains("a door command is needed"));
        for (peers, want) in [
            (
                peer("cosigner-1", "[]"),
                "re-pins the replaced cosigner's share",
            ),
            (
                peer("cosigner-1", "[\"r\"]") + &peer("cosigner-1", "[\"r\"]"),
                "two peers are called cosigner-1",
            ),
            (
                peer("cosigner-2", "[\"r\"]"),
                "both a signer side and a peer",
            ),
        ] {
            let all = with(&peers);
            assert!(all.contains(want), "{want:?} missing from {all:?}");
        }
    }
}

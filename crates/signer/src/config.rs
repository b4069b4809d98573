//! `signer.toml`: chains, their keys, state files and nodes.
//!
//! ```toml
//! [metrics]
//! listen = "127.0.0.1:9471"
//!
//! [[chain]]
//! id = "cosmoshub-4"
//! key = "/etc/bulwark/cosmoshub-4/priv_validator_key.json"
//! state = "/var/lib/bulwark/cosmoshub-4.state"
//! protocol = "v0.38"
//!
//! [[chain.node]]
//! name = "primary"
//! addr = "tcp://10.0.0.5:26659"
//! ```

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole signer configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Key that authenticates this signer on `tcp://` connections (SecretConnection).
    /// A new one is made at every start when unset (the node cannot pin it anyway).
    #[serde(default)]
    pub connection_key: Option<PathBuf>,
    /// Prometheus endpoint.
    #[serde(default)]
    pub metrics: Option<MetricsConfig>,
    /// The chains this signer signs for.
    #[serde(default, rename = "chain")]
    pub chains: Vec<ChainConfig>,
    /// Skip the chain checks at start (floor and doppelganger); set by
    /// `bulwark signer run --skip-chain-checks`, never from the file.
    #[serde(skip)]
    pub skip_chain_checks: bool,
}

/// Where `/metrics` is served.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Listen address, e.g. `127.0.0.1:9471`.
    pub listen: String,
}

/// One chain: one key, one sign state, one or more nodes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// Chain ID; every request must name it.
    pub id: String,
    /// Consensus key file: CometBFT `priv_validator_key.json` or a tmkms softsign key.
    pub key: PathBuf,
    /// Sign-state file (created by `bulwark signer state import` or `state init`).
    pub state: PathBuf,
    /// CometBFT line the nodes speak: v0.34, v0.37, v0.38, v1.0 or v0.40.
    pub protocol: String,
    /// Stop signing above this height (for upgrades and migrations).
    #[serde(default)]
    pub max_height: Option<i64>,
    /// Allow v1.0 `SignBytesRequest` (arbitrary bytes). Off unless the chain needs it.
    #[serde(default)]
    pub allow_sign_bytes: bool,
    /// Per-request limit: a frame started but not finished within it drops the connection.
    #[serde(default = "default_request_timeout", with = "humantime_serde_compat")]
    pub request_timeout: Duration,
    /// A connection with no request or ping for this long is dropped and redialed.
    #[serde(default = "default_idle_timeout", with = "humantime_serde_compat")]
    pub idle_timeout: Duration,
    /// CometBFT RPC endpoints of the chain, for the chain checks at start and for
    /// confirming height jumps. Every endpoint is asked; one is used only when it is
    /// caught up and its latest block is younger than `rpc_max_block_age`. With them,
    /// the signer signs nothing at or below the highest tip + 1 at start, and can watch
    /// for another live signer first.
    #[serde(default)]
    pub rpc: Vec<String>,
    /// An RPC endpoint whose latest block is older than this is not used.
    #[serde(default = "default_rpc_max_block_age", with = "humantime_serde_compat")]
    pub rpc_max_block_age: Duration,
    /// At start, how long to wait for a usable RPC endpoint before refusing to start.
    #[serde(default = "default_chain_check_wait", with = "humantime_serde_compat")]
    pub chain_check_wait: Duration,
    /// How many blocks back from the tip to look for this key's last signature (logged,
    /// and a state found behind the chain is reported).
    #[serde(default = "default_floor_scan_blocks")]
    pub floor_scan_blocks: u64,
    /// A request more than this many heights above the last signed height is signed
    /// only when a usable RPC endpoint shows the chain's tip within this many heights of
    /// it (a broken node or a man in the middle could otherwise make the signer skip
    /// ahead and refuse every real vote until then).
    #[serde(default = "default_max_height_jump")]
    pub max_height_jump: u64,
    /// Watch this many new blocks before signing; refuse to start if any carries a
    /// signature by this key (another signer is live). 0 skips the check. Needs `rpc`.
    #[serde(default)]
    pub doppelganger_blocks: u64,
    /// The nodes to dial; all share this chain's guard and state.
    #[serde(default, rename = "node")]
    pub nodes: Vec<NodeConfig>,
}

/// One node to dial.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Name used in logs and metrics.
    pub name: String,
    /// `tcp://host:port` (SecretConnection), `noise://<node-peer-id>@ip:port` (libp2p
    /// Noise, CometBFT v0.40) or `unix:///path/to.sock`.
    pub addr: String,
}

fn default_floor_scan_blocks() -> u64 {
    100
}

fn default_max_height_jump() -> u64 {
    10
}

fn default_rpc_max_block_age() -> Duration {
    Duration::from_secs(180)
}

fn default_chain_check_wait() -> Duration {
    Duration::from_secs(60)
}

fn default_request_timeout() -> Duration {
    Duration::from_secs(5)
}

fn default_idle_timeout() -> Duration {
    Duration::from_secs(60)
}

/// Durations written as `"5s"`, `"500ms"`, `"2m"`.
mod humantime_serde_compat {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s).map_err(|e| serde::de::Error::custom(format!("{s:?}: {e}")))
    }
}

/// A node address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    /// TCP, with SecretConnection.
    Tcp(String),
    /// TCP with libp2p Noise (CometBFT v0.40), pinned to the node's peer ID.
    Noise {
        /// The node's libp2p peer ID (from its node key).
        peer: String,
        /// `ip:port`.
        hostport: String,
    },
    /// Unix socket, unencrypted.
    Unix(PathBuf),
}

impl Addr {
    /// Parse `tcp://host:port`, `noise://<node-peer-id>@ip:port` or `unix:///path`.
    pub fn parse(s: &str) -> Result<Addr, String> {
        if let Some(rest) = s.strip_prefix("noise://") {
            let (peer, hostport) = rest.rsplit_once('@').ok_or_else(|| {
                format!("{s:?} names no node; write noise://<node-peer-id>@ip:port")
            })?;
            privval::transport::parse_peer_id(peer)?;
            let ok = hostport
                .parse::<std::net::SocketAddr>()
                .is_ok_and(|a| a.port() != 0);
            if !ok {
                return Err(format!("{s:?}: the node's address must be ip:port"));
            }
            Ok(Addr::Noise {
                peer: peer.to_string(),
                hostport: hostport.to_string(),
            })
        } else if let Some(rest) = s.strip_prefix("tcp://") {
            let (host, port) = rest
                .rsplit_once(':')
                .ok_or_else(|| format!("{s:?} has no port; write tcp://host:port"))?;
            if host.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
                return Err(format!("{s:?} is not tcp://host:port"));
            }
            // tcp://<node_id>@host:port is accepted by CometBFT; the ID is not used here.
            let rest = rest.rsplit_once('@').map_or(rest, |(_, hp)| hp);
            Ok(Addr::Tcp(rest.to_string()))
        } else if let Some(path) = s.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(format!("{s:?} has no socket path"));
            }
            Ok(Addr::Unix(PathBuf::from(path)))
        } else {
            Err(format!(
                "{s:?}: node addresses start with tcp://, noise:// or unix://"
            ))
        }
    }
}

/// Every problem in a configuration, reported at once.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {} problem(s):\n  - {}", problems.len(), problems.join("\n  - "))]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// Each problem, with what to do.
    pub problems: Vec<String>,
}

impl ConfigError {
    /// Always true: a configuration problem is the operator's to fix (the CLI exits with 2).
    pub fn is_usage(&self) -> bool {
        true
    }
}

impl Config {
    /// Read and validate `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let err = |problems| ConfigError {
            path: path.to_path_buf(),
            problems,
        };
        let text =
            std::fs::read_to_string(path).map_err(|e| err(vec![format!("cannot read: {e}")]))?;
        let config: Config = toml::from_str(&text).map_err(|e| err(vec![e.to_string()]))?;
        config.validate().map_err(err)?;
        Ok(config)
    }

    /// Check everything that can be checked without touching keys or state.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut p = Vec::new();
        if self.chains.is_empty() {
            p.push("no [[chain]] is configured; add one with id, key, state, protocol and a [[chain.node]]".into());
        }
        let mut ids = std::collections::HashSet::new();
        let mut states = std::collections::HashSet::new();
        for (i, c) in self.chains.iter().enumerate() {
            let at = format!("chain[{i}] ({})", c.id);
            if c.id.trim().is_empty() {
                p.push(format!("chain[{i}]: id is empty"));
            }
            if !ids.insert(c.id.clone()) {
                p.push(format!("{at}: chain id appears twice; one [[chain]] per chain, with several [[chain.node]]"));
            }
            if !states.insert(c.state.clone()) {
                p.push(format!(
                    "{at}: state file {} is used by another chain; each chain needs its own",
                    c.state.display()
                ));
            }
            if let Err(e) = c.protocol.parse::<privval::Line>() {
                p.push(format!("{at}: protocol: {e}"));
            }
            if c.max_height.is_some_and(|h| h < 1) {
                p.push(format!("{at}: max_height must be 1 or more"));
            }
            if c.max_height_jump == 0 || c.max_height_jump > 1_000_000 {
                p.push(format!(
                    "{at}: max_height_jump must be between 1 and 1000000 (default 10)"
                ));
            }
            if c.rpc_max_block_age.is_zero() {
                p.push(format!("{at}: rpc_max_block_age must be more than 0"));
            }
            if c.request_timeout.is_zero() || c.idle_timeout.is_zero() {
                p.push(format!("{at}: timeouts must be more than 0"));
            }
            if c.doppelganger_blocks > 0 && c.rpc.is_empty() {
                p.push(format!(
                    "{at}: doppelganger_blocks needs rpc endpoints to watch the chain"
                ));
            }
            for u in &c.rpc {
                if !(u.starts_with("http://") || u.starts_with("https://")) {
                    p.push(format!(
                        "{at}: rpc {u:?} must start with http:// or https://"
                    ));
                }
            }
            if c.nodes.is_empty() {
                p.push(format!("{at}: no [[chain.node]]; add the node(s) to dial"));
            }
            let mut names = std::collections::HashSet::new();
            for n in &c.nodes {
                if !names.insert(n.name.clone()) {
                    p.push(format!("{at}: node name {:?} appears twice", n.name));
                }
                if let Err(e) = Addr::parse(&n.addr) {
                    p.push(format!("{at}: node {}: {e}", n.name));
                }
            }
        }
        let noise = self
            .chains
            .iter()
            .flat_map(|c| &c.nodes)
            .any(|n| n.addr.starts_with("noise://"));
        if noise && self.connection_key.is_none() {
            p.push("noise:// nodes admit only the signer's peer ID, so set connection_key to a key file and put its peer ID (`bulwark signer peer-id --key FILE`) in the node's priv_validator_laddr".into());
        }
        if let Some(m) = &self.metrics {
            if m.listen.parse::<std::net::SocketAddr>().is_err() {
                p.push(format!(
                    "metrics.listen {:?} is not host:port (e.g. 127.0.0.1:9471)",
                    m.listen
                ));
            }
        }
        if p.is_empty() {
            Ok(())
        } else {
            Err(p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_parses_and_validates() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("signer.example.toml");
        let c = Config::load(&path).unwrap();
        assert_eq!(c.chains.len(), 2);
        assert_eq!(c.chains[0].nodes.len(), 2);
        assert_eq!(c.chains[0].request_timeout, Duration::from_secs(5));
        assert_eq!(
            Addr::parse(&c.chains[1].nodes[0].addr).unwrap(),
            Addr::Unix("/run/osmosis/privval.sock".into())
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let text = "[[chain]]\nid='a'\nkey='k'\nstate='s'\nprotocol='v0.38'\ncolour='red'\n";
        let err = toml::from_str::<Config>(text).unwrap_err().to_string();
        assert!(err.contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = r#"
            [metrics]
            listen = "nowhere"
            [[chain]]
            id = "a"
            key = "k"
            state = "s"
            protocol = "v9"
            [[chain.node]]
            name = "n"
            addr = "http://x"
            [[chain]]
            id = "a"
            key = "k2"
            state = "s"
            protocol = "v0.38"
        "#;
        let c: Config = toml::from_str(text).unwrap();
        let p = c.validate().unwrap_err();
        let all = p.join("\n");
        for needle in [
            "protocol",
            "start with tcp://",
            "appears twice",
            "used by another chain",
            "no [[chain.node]]",
            "metrics.listen",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
    }

    #[test]
    fn addresses() {
        assert_eq!(
            Addr::parse("tcp://127.0.0.1:26659").unwrap(),
            Addr::Tcp("127.0.0.1:26659".into())
        );
        assert_eq!(
            Addr::parse("tcp://abcd@127.0.0.1:1").unwrap(),
            Addr::Tcp("127.0.0.1:1".into())
        );
        assert!(Addr::parse("tcp://127.0.0.1").is_err());
        assert!(Addr::parse("tcp://127.0.0.1:0").is_err());
        assert!(Addr::parse("unix://").is_err());
        let k = ed25519_dalek::SigningKey::from_bytes(&[3; 32]).verifying_key();
        let id = privval::transport::peer_id(&k);
        assert_eq!(
            Addr::parse(&format!("noise://{id}@127.0.0.1:26659")).unwrap(),
            Addr::Noise {
                peer: id.clone(),
                hostport: "127.0.0.1:26659".into()
            }
        );
        assert!(Addr::parse(&format!("noise://{id}@localhost:26659")).is_err());
        assert!(Addr::parse("noise://nope@127.0.0.1:1").is_err());
        assert!(Addr::parse("noise://127.0.0.1:1").is_err());
    }
}

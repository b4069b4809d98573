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

mod addr;
pub mod repin;
mod threshold;
mod vault;

pub use addr::Addr;
use privval::Line;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
pub use threshold::{PeerConfig, ThresholdConfig};
pub use vault::{vault_entry, VaultConfig};

/// The whole signer configuration, with every field parsed.
///
/// The types are generic over the fields that need parsing (the protocol line, node
/// addresses, the metrics address) so that the file is first read with those as text
/// (`Config<String, String, String>`), every problem in it is reported at once, and then
/// each is parsed exactly once into the typed form the signer uses. The typed form
/// serializes back to the same TOML, which is how the devnet and the tests write configs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config<L = Line, A = Addr, S = SocketAddr> {
    /// Key that authenticates this signer on `tcp://` connections (SecretConnection).
    /// A new one is made at every start when unset (the node cannot pin it anyway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_key: Option<PathBuf>,
    /// Prometheus endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsConfig<S>>,
    /// This process as one cosigner of threshold keys (chains with `share`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<ThresholdConfig<S>>,
    /// The vault of chains whose key is `vault:NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<VaultConfig<S>>,
    /// The chains this signer signs for.
    #[serde(default, rename = "chain")]
    pub chains: Vec<ChainConfig<L, A>>,
    /// Skip the chain checks at start (floor and doppelganger); set by
    /// `bulwark signer run --skip-chain-checks`, never from the file.
    #[serde(skip)]
    pub skip_chain_checks: bool,
    /// The audit log for vault openings and refused shares; set by `bulwark signer run
    /// --audit-log`, never from the file.
    #[serde(skip)]
    pub audit_log: Option<PathBuf>,
}

/// Where `/metrics` is served.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig<S = SocketAddr> {
    /// Listen address, e.g. `127.0.0.1:9471`.
    pub listen: S,
}

/// One chain: one key, one sign state, one or more nodes.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig<L = Line, A = Addr> {
    /// Chain ID; every request must name it.
    pub id: String,
    /// Consensus key file: CometBFT `priv_validator_key.json` or a tmkms softsign key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// Instead of `key`: this cosigner's share of a threshold key (`bulwark threshold
    /// split`); needs `[threshold]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<PathBuf>,
    /// Instead of `key`: an Ed25519 key in a PKCS#11 token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkcs11: Option<crate::keys::pkcs11::Pkcs11Config>,
    /// Sign-state file (created by `bulwark signer state import` or `state init`).
    pub state: PathBuf,
    /// CometBFT line the nodes speak: v0.34, v0.37, v0.38, v1.0 or v0.40.
    pub protocol: L,
    /// Stop signing above this height (for upgrades and migrations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_height: Option<i64>,
    /// Allow v1.0 `SignBytesRequest` (arbitrary bytes). Off unless the chain needs it.
    #[serde(default)]
    pub allow_sign_bytes: bool,
    /// Per-request limit: a frame started but not finished within it drops the connection.
    #[serde(default = "default_request_timeout", with = "confkit::duration")]
    pub request_timeout: Duration,
    /// A connection with no request or ping for this long is dropped and redialed.
    #[serde(default = "default_idle_timeout", with = "confkit::duration")]
    pub idle_timeout: Duration,
    /// CometBFT RPC endpoints of the chain, for the chain checks at start and for
    /// confirming height jumps. Every endpoint is asked; one is used only when it is
    /// caught up and its latest block is younger than `rpc_max_block_age`. With them,
    /// the signer signs nothing at or below the highest tip + 1 at start, and can watch
    /// for another live signer first.
    #[serde(default)]
    pub rpc: Vec<String>,
    /// An RPC endpoint whose latest block is older than this is not used.
    #[serde(default = "default_rpc_max_block_age", with = "confkit::duration")]
    pub rpc_max_block_age: Duration,
    /// At start, how long to wait for a usable RPC endpoint before refusing to start.
    #[serde(default = "default_chain_check_wait", with = "confkit::duration")]
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
    pub nodes: Vec<NodeConfig<A>>,
}

/// One node to dial.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig<A = Addr> {
    /// Name used in logs and metrics.
    pub name: String,
    /// `tcp://host:port` (SecretConnection), `noise://<node-peer-id>@ip:port` (libp2p
    /// Noise, CometBFT v0.40) or `unix:///path/to.sock`.
    pub addr: A,
}

impl<L> ChainConfig<L, Addr> {
    /// A chain with the given key, state, protocol and nodes, and every other setting
    /// at its default.
    pub fn new(
        id: &str,
        key: PathBuf,
        state: PathBuf,
        protocol: L,
        nodes: Vec<NodeConfig>,
    ) -> Self {
        ChainConfig {
            id: id.to_string(),
            key: Some(key),
            share: None,
            pkcs11: None,
            state,
            protocol,
            max_height: None,
            allow_sign_bytes: false,
            request_timeout: default_request_timeout(),
            idle_timeout: default_idle_timeout(),
            rpc: Vec::new(),
            rpc_max_block_age: default_rpc_max_block_age(),
            chain_check_wait: default_chain_check_wait(),
            floor_scan_blocks: default_floor_scan_blocks(),
            max_height_jump: default_max_height_jump(),
            doppelganger_blocks: 0,
            nodes,
        }
    }
}

impl Config {
    /// The file's TOML text.
    pub fn to_toml(&self) -> String {
        // Paths, strings, numbers and durations always serialize.
        toml::to_string(self).unwrap_or_default()
    }
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

/// A configuration as read from the file, before its fields are parsed.
pub type TextConfig = Config<String, String, String>;

impl Config {
    /// Read `path`, report every problem in it at once, and parse each field once.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let err = |problems| ConfigError {
            path: path.to_path_buf(),
            problems,
        };
        let text =
            std::fs::read_to_string(path).map_err(|e| err(vec![format!("cannot read: {e}")]))?;
        let config: TextConfig = toml::from_str(&text).map_err(|e| err(vec![e.to_string()]))?;
        config.parse().map_err(err)
    }

    /// Check everything that can be checked without touching keys or state (a config
    /// built in code, which skipped [`TextConfig::parse`]).
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let p = self.problems(|a| matches!(a, Addr::Noise { .. }));
        if p.is_empty() {
            Ok(())
        } else {
            Err(p)
        }
    }
}

impl TextConfig {
    /// Parse every field once into the typed configuration, or every problem at once.
    pub fn parse(self) -> Result<Config, Vec<String>> {
        let mut p = self.problems(|a| a.starts_with("noise://"));
        let metrics = self.metrics.map(|m| {
            let listen = m.listen.parse::<SocketAddr>().map_err(|_| {
                format!(
                    "metrics.listen {:?} is not host:port (e.g. 127.0.0.1:9471)",
                    m.listen
                )
            });
            listen.map(|listen| MetricsConfig { listen })
        });
        let metrics = match metrics {
            Some(Err(e)) => {
                p.push(e);
                None
            }
            Some(Ok(m)) => Some(m),
            None => None,
        };
        let mut chains = Vec::new();
        for (i, c) in self.chains.into_iter().enumerate() {
            let at = format!("chain[{i}] ({})", c.id);
            let protocol = c
                .protocol
                .parse::<Line>()
                .map_err(|e| p.push(format!("{at}: protocol: {e}")))
                .ok();
            let mut nodes = Vec::new();
            for n in c.nodes {
                match Addr::parse(&n.addr) {
                    Ok(addr) => nodes.push(NodeConfig { name: n.name, addr }),
                    Err(e) => p.push(format!("{at}: node {}: {e}", n.name)),
                }
            }
            if let Some(protocol) = protocol {
                chains.push(ChainConfig {
                    id: c.id,
                    key: c.key,
                    share: c.share,
                    pkcs11: c.pkcs11,
                    state: c.state,
                    protocol,
                    max_height: c.max_height,
                    allow_sign_bytes: c.allow_sign_bytes,
                    request_timeout: c.request_timeout,
                    idle_timeout: c.idle_timeout,
                    rpc: c.rpc,
                    rpc_max_block_age: c.rpc_max_block_age,
                    chain_check_wait: c.chain_check_wait,
                    floor_scan_blocks: c.floor_scan_blocks,
                    max_height_jump: c.max_height_jump,
                    doppelganger_blocks: c.doppelganger_blocks,
                    nodes,
                });
            }
        }
        if !p.is_empty() {
            return Err(p);
        }
        let threshold = self.threshold.and_then(|t| t.parse(&mut p));
        let vault = self.vault.and_then(|v| v.parse(&mut p));
        if !p.is_empty() {
            return Err(p);
        }
        Ok(Config {
            connection_key: self.connection_key,
            threshold,
            vault,
            audit_log: self.audit_log,
            metrics,
            chains,
            skip_chain_checks: self.skip_chain_checks,
        })
    }
}

impl<L, A, S> Config<L, A, S> {
    /// The problems that need no parsing; `is_noise` tells a `noise://` node address.
    fn problems(&self, is_noise: impl Fn(&A) -> bool) -> Vec<String> {
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
            let sources = [c.key.is_some(), c.share.is_some(), c.pkcs11.is_some()]
                .iter()
                .filter(|x| **x)
                .count();
            if sources > 1 {
                p.push(format!("{at}: set one of key, share and [chain.pkcs11]"));
            }
            match (&c.key, &c.share) {
                _ if sources > 1 => {}
                (None, None) if c.pkcs11.is_some() => {}
                (Some(_), Some(_)) => p.push(format!("{at}: set key or share, not both")),
                (None, None) => p.push(format!("{at}: no key; set key (a key file), share (a threshold share file) or [chain.pkcs11]")),
                (None, Some(_)) if self.threshold.is_none() => p.push(format!("{at}: share needs a [threshold] section (this cosigner's id, listen address, link key and peers)")),
                (None, Some(_)) if c.doppelganger_blocks > 0 => p.push(format!("{at}: doppelganger_blocks must be 0 for a threshold key: the other cosigners sign with the same key")),
                (Some(k), None) if vault_entry(k).is_some() && self.vault.is_none() => p.push(format!("{at}: key {} needs a [vault] section (the vault file, the unseal listen address and link key)", k.display())),
                _ => {}
            }
            if let Some(pc) = &c.pkcs11 {
                if let Some(why) = pc.pin_problem() {
                    p.push(format!("{at}: [chain.pkcs11] {why}"));
                } else if pc.vault_pin().is_some() && self.vault.is_none() {
                    p.push(format!("{at}: [chain.pkcs11] pin {} needs a [vault] section (the vault file, the unseal listen address and link key)", pc.pin.as_deref().unwrap_or_default()));
                }
            }
            let mut names = std::collections::HashSet::new();
            for n in &c.nodes {
                if !names.insert(n.name.clone()) {
                    p.push(format!("{at}: node name {:?} appears twice", n.name));
                }
            }
        }
        if let Some(t) = &self.threshold {
            t.problems(&mut p);
        }
        let noise = self
            .chains
            .iter()
            .flat_map(|c| &c.nodes)
            .any(|n| is_noise(&n.addr));
        if noise && self.connection_key.is_none() {
            p.push("noise:// nodes admit only the signer's peer ID, so set connection_key to a key file and put its peer ID (`bulwark signer peer-id --key FILE`) in the node's priv_validator_laddr".into());
        }
        p
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
            c.chains[1].nodes[0].addr,
            Addr::Unix("/run/osmosis/privval.sock".into())
        );
    }

    #[test]
    fn a_config_written_back_reads_the_same() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("signer.example.toml");
        let c = Config::load(&path).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let again = dir.path().join("again.toml");
        std::fs::write(&again, c.to_toml()).unwrap();
        let back = Config::load(&again).unwrap();
        assert_eq!(back.to_toml(), c.to_toml());
        assert_eq!(back.chains[0].protocol, Line::V0_38);
        assert_eq!(back.chains[0].nodes[1].addr, c.chains[0].nodes[1].addr);
        assert_eq!(
            back.metrics.unwrap().listen,
            "127.0.0.1:9471".parse().unwrap()
        );
        assert_eq!(
            back.chains[0].rpc_max_block_age,
            c.chains[0].rpc_max_block_age
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let text = "[[chain]]\nid='a'\nkey='k'\nstate='s'\nprotocol='v0.38'\ncolour='red'\n";
        let err = toml::from_str::<TextConfig>(text).unwrap_err().to_string();
        assert!(err.contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn a_bad_duration_says_what_to_write() {
        let text = "[[chain]]\nid='a'\nkey='k'\nstate='s'\nprotocol='v0.38'\nidle_timeout='soon'\n";
        let err = toml::from_str::<TextConfig>(text).unwrap_err().to_string();
        assert!(
            err.contains("\"soon\" is not a duration") && err.contains("e.g. \"30s\""),
            "{err}"
        );
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
        let c: TextConfig = toml::from_str(text).unwrap();
        let p = c.parse().unwrap_err();
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
    fn a_token_pin_comes_from_a_file_or_the_vault_never_the_config() {
        let with = |pin: &str| {
            let text = format!(
                "[[chain]]\nid='a'\nstate='s'\nprotocol='v0.38'\n[[chain.node]]\nname='n'\n\
                 addr='tcp://127.0.0.1:1'\n[chain.pkcs11]\nmodule='/m.so'\ntoken='t'\nkey='k'\n{pin}"
            );
            let c: TextConfig = toml::from_str(&text).unwrap();
            c.parse().err().unwrap_or_default().join("\n")
        };
        assert_eq!(with("pin_file = '/etc/pin'"), "");
        for (pin, needle) in [
            ("", "no PIN: set pin_file"),
            (
                "pin = '1234'",
                "is not vault:NAME; a PIN never goes in the config",
            ),
            ("pin = 'vault:'", "is not vault:NAME"),
            (
                "pin = 'vault:p'\npin_file = '/etc/pin'",
                "set pin_file or pin, not both",
            ),
            ("pin = 'vault:p'", "pin vault:p needs a [vault] section"),
        ] {
            let all = with(pin);
            assert!(
                all.contains(needle),
                "{pin:?}: missing {needle:?} in {all:?}"
            );
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

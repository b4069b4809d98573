//! Threshold cosigners: a key split into shares (or shares still to be made by
//! `bulwark threshold dkg`), one link key and one signer config per cosigner, written
//! through the signer's config types.

use signer::config::{
    Addr, ChainConfig, Config, MetricsConfig, NodeConfig, PeerConfig, ThresholdConfig,
};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use threshold::link::LinkKey;

/// Split the CometBFT key at `key` into `n` shares (threshold `t`) and write, for each
/// cosigner `i` (1-based), `dir/cosigner-i/{share.json, link.key, signer.toml}` with its
/// own sign state (initialised by `init_state`) and the nodes `nodes[i-1]`
/// (`tcp://...`/`unix://...`), all on loopback, its `/metrics` on a free loopback port
/// ([`metrics_url`]). Returns the configs.
pub fn cosigner_configs(
    dir: &Path,
    chain: &str,
    line: &str,
    key: &Path,
    t: u16,
    nodes: &[Vec<String>],
    init_state: impl Fn(&Path),
) -> Vec<PathBuf> {
    let ports: Vec<u16> = nodes.iter().map(|_| crate::port::free_port()).collect();
    let listen: Vec<SocketAddr> = ports.iter().map(|p| ([127, 0, 0, 1], *p).into()).collect();
    let topology = Topology {
        peer_addr: &|_, j| listen[j],
        listen: listen.clone(),
        edit: &|_| {},
    };
    cosigners_in(dir, chain, line, key, t, nodes, init_state, &topology)
}

/// Where cosigners listen and how each reaches the others (0-based indices).
pub struct Topology<'a> {
    /// Cosigner `i` listens on `listen[i]`.
    pub listen: Vec<SocketAddr>,
    /// Cosigner `i` reaches cosigner `j` at `peer_addr(i, j)` (e.g. through a link).
    pub peer_addr: &'a dyn Fn(usize, usize) -> SocketAddr,
    /// A change to each cosigner's chain config.
    pub edit: &'a dyn Fn(&mut ChainConfig),
}

impl std::fmt::Debug for Topology<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Topology")
            .field("listen", &self.listen)
            .finish()
    }
}

/// [`cosigner_configs`] with the addresses of `topology`.
#[allow(clippy::too_many_arguments)]
pub fn cosigners_in(
    dir: &Path,
    chain: &str,
    line: &str,
    key: &Path,
    t: u16,
    nodes: &[Vec<String>],
    init_state: impl Fn(&Path),
    topology: &Topology<'_>,
) -> Vec<PathBuf> {
    let n = u16::try_from(nodes.len()).expect("few cosigners");
    let shares = threshold::split::split(&std::fs::read(key).expect("key file"), t, n)
        .unwrap_or_else(|e| panic!("{e}"));
    write_configs(dir, chain, line, nodes, init_state, topology, |i, path| {
        shares[i].write_new(path).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// Like [`cosigner_configs`] for `nodes.len()` cosigners whose key does not exist yet:
/// each config names `dir/cosigner-i/share.json`, which `bulwark threshold dkg` is to
/// write. Returns the configs.
pub fn dkg_cosigner_configs(
    dir: &Path,
    chain: &str,
    line: &str,
    nodes: &[Vec<String>],
    init_state: impl Fn(&Path),
) -> Vec<PathBuf> {
    let listen: Vec<SocketAddr> = nodes
        .iter()
        .map(|_| ([127, 0, 0, 1], crate::port::free_port()).into())
        .collect();
    let topology = Topology {
        peer_addr: &|_, j| listen[j],
        listen: listen.clone(),
        edit: &|_| {},
    };
    write_configs(dir, chain, line, nodes, init_state, &topology, |_, _| {})
}

/// The configs of cosigners 1..=nodes.len(), `write_share(i, path)` writing the share of
/// the `i`-th (0-based), if there is one yet.
fn write_configs(
    dir: &Path,
    chain: &str,
    line: &str,
    nodes: &[Vec<String>],
    init_state: impl Fn(&Path),
    topology: &Topology<'_>,
    write_share: impl Fn(usize, &Path),
) -> Vec<PathBuf> {
    let n = u16::try_from(nodes.len()).expect("few cosigners");
    let keys: Vec<LinkKey> = (0..n).map(|_| LinkKey::generate()).collect();
    let mut configs = Vec::new();
    for i in 0..usize::from(n) {
        let id = i as u16 + 1;
        let home = dir.join(format!("cosigner-{id}"));
        std::fs::create_dir_all(&home).expect("cosigner dir");
        let share_path = home.join("share.json");
        write_share(i, &share_path);
        let link_key = home.join("link.key");
        keys[i]
            .write_new(&link_key)
            .unwrap_or_else(|e| panic!("{e}"));
        let state = home.join("sign.state");
        init_state(&state);
        let peers = (0..usize::from(n))
            .filter(|j| *j != i)
            .map(|j| PeerConfig {
                id: j as u16 + 1,
                name: format!("cosigner-{}", j + 1),
                addr: (topology.peer_addr)(i, j),
                link_public_key: keys[j].public(),
            })
            .collect();
        let node_configs = nodes[i]
            .iter()
            .enumerate()
            .map(|(k, a)| NodeConfig {
                name: format!("node{k}"),
                addr: Addr::parse(a).unwrap_or_else(|e| panic!("{e}")),
            })
            .collect();
        let mut c = ChainConfig::new(
            chain,
            PathBuf::new(),
            state,
            line.parse().unwrap_or_else(|e| panic!("{e}")),
            node_configs,
        );
        c.key = None;
        c.share = Some(share_path);
        c.idle_timeout = Duration::from_secs(30);
        (topology.edit)(&mut c);
        let config = Config {
            connection_key: None,
            threshold: Some(ThresholdConfig {
                id,
                listen: topology.listen[i],
                link_key,
                share_timeout: Duration::from_millis(1500),
                peers,
            }),
            metrics: Some(MetricsConfig {
                listen: ([127, 0, 0, 1], crate::port::free_port()).into(),
            }),
            chains: vec![c],
            skip_chain_checks: false,
            vault: None,
            audit_log: None,
        };
        configs.push(crate::signer::write_signer_config(&home, &config));
    }
    configs
}

/// The `/metrics` URL of the signer config at `config`.
pub fn metrics_url(config: &Path) -> String {
    let c = Config::load(config).unwrap_or_else(|e| panic!("{e}"));
    let m = c.metrics.expect("the config has [metrics]");
    format!("http://{}/metrics", m.listen)
}

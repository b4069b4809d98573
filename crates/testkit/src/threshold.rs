//! Threshold cosigners: a key split into shares, one link key and one signer config per
//! cosigner, written through the signer's config types.

use signer::config::{
    Addr, ChainConfig, Config, MetricsConfig, NodeConfig, PeerConfig, ThresholdConfig,
};
use std::path::{Path, PathBuf};
use std::time::Duration;
use threshold::link::LinkKey;

/// Split the CometBFT key at `key` into `n` shares (threshold `t`) and write, for each
/// cosigner `i` (1-based), `dir/cosigner-i/{share.json, link.key, signer.toml}` with its
/// own sign state (initialised by `init_state`) and the nodes `nodes[i-1]`
/// (`tcp://...`/`unix://...`), its `/metrics` on a free loopback port
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
    let n = u16::try_from(nodes.len()).expect("few cosigners");
    let shares = threshold::split::split(&std::fs::read(key).expect("key file"), t, n)
        .unwrap_or_else(|e| panic!("{e}"));
    let ports: Vec<u16> = (0..n).map(|_| crate::port::free_port()).collect();
    let keys: Vec<LinkKey> = (0..n).map(|_| LinkKey::generate()).collect();
    let mut configs = Vec::new();
    for (i, share) in shares.iter().enumerate() {
        let id = share.id();
        let home = dir.join(format!("cosigner-{id}"));
        std::fs::create_dir_all(&home).expect("cosigner dir");
        let share_path = home.join("share.json");
        share
            .write_new(&share_path)
            .unwrap_or_else(|e| panic!("{e}"));
        let link_key = home.join("link.key");
        keys[i]
            .write_new(&link_key)
            .unwrap_or_else(|e| panic!("{e}"));
        let state = home.join("sign.state");
        init_state(&state);
        let peers = shares
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(j, s)| PeerConfig {
                id: s.id(),
                name: format!("cosigner-{}", s.id()),
                addr: ([127, 0, 0, 1], ports[j]).into(),
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
        let config = Config {
            connection_key: None,
            threshold: Some(ThresholdConfig {
                id,
                listen: ([127, 0, 0, 1], ports[i]).into(),
                link_key,
                share_timeout: Duration::from_millis(1500),
                peers,
            }),
            metrics: Some(MetricsConfig {
                listen: ([127, 0, 0, 1], crate::port::free_port()).into(),
            }),
            chains: vec![c],
            skip_chain_checks: false,
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

//! Threshold cosigners: a key split into shares (or shares still to be made by
//! `bulwark threshold dkg`), one link key and one signer config per cosigner, written
//! through the signer's config types.

use signer::config::{Addr, ChainConfig, Config, NodeConfig, PeerConfig, ThresholdConfig};
use std::path::{Path, PathBuf};
use std::time::Duration;
use threshold::link::LinkKey;

/// Split the CometBFT key at `key` into `n` shares (threshold `t`) and write, for each
/// cosigner `i` (1-based), `dir/cosigner-i/{share.json, link.key, signer.toml}` with its
/// own sign state (initialised by `init_state`) and the nodes `nodes[i-1]`
/// (`tcp://...`/`unix://...`). Returns the configs.
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
    write_configs(dir, chain, line, nodes, init_state, |i, path| {
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
    write_configs(dir, chain, line, nodes, init_state, |_, _| {})
}

/// The configs of cosigners 1..=nodes.len(), `write_share(i, path)` writing the share of
/// the `i`-th (0-based), if there is one yet.
fn write_configs(
    dir: &Path,
    chain: &str,
    line: &str,
    nodes: &[Vec<String>],
    init_state: impl Fn(&Path),
    write_share: impl Fn(usize, &Path),
) -> Vec<PathBuf> {
    let n = u16::try_from(nodes.len()).expect("few cosigners");
    let ports: Vec<u16> = (0..n).map(|_| crate::port::free_port()).collect();
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
            metrics: None,
            chains: vec![c],
            skip_chain_checks: false,
        };
        configs.push(crate::signer::write_signer_config(&home, &config));
    }
    configs
}

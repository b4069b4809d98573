//! `chains_dir`: chains (with their nodes, hosts and signers) from a directory of
//! files, one per network, so that adding a network is adding a file (and a reload).

use super::{ChainConfig, Config, ConfigError, HostConfig, NodeConfig, SignerConfig};
use serde::Deserialize;
use std::path::Path;

/// One file of `chains_dir`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChainsFile {
    #[serde(default, rename = "chain")]
    chains: Vec<ChainConfig>,
    #[serde(default, rename = "node")]
    nodes: Vec<NodeConfig>,
    #[serde(default, rename = "host")]
    hosts: Vec<HostConfig>,
    #[serde(default, rename = "signer")]
    signers: Vec<SignerConfig>,
}

/// Add every `*.toml` of `config.chains_dir` (relative to `base`, the config file's
/// directory), in name order.
pub(super) fn chains_dir(config: &mut Config, base: &Path) -> Result<(), ConfigError> {
    let Some(dir) = config.chains_dir.clone() else {
        return Ok(());
    };
    let dir = base.join(dir);
    let read_dir = |e| ConfigError::Read {
        path: dir.clone(),
        source: e,
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map_err(read_dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        let f: ChainsFile = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.clone(),
            message: format!(
                "{e}(a file of chains_dir holds only [[chain]], [[node]], [[host]] and [[signer]])"
            ),
        })?;
        config.chains.extend(f.chains);
        config.nodes.extend(f.nodes);
        config.hosts.extend(f.hosts);
        config.signers.extend(f.signers);
    }
    Ok(())
}

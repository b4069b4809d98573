//! The devnet's `bulwark watch`: monitors the devnet's chain, nodes and signer, and serves
//! its status page, so a newcomer sees alerts fire and resolve on a real network.

use crate::error::{DevnetError, Result};
use crate::manifest::Manifest;
use crate::process::{self, Spec};
use crate::topology;
use std::path::{Path, PathBuf};
use std::time::Duration;
use watch::config::{
    ChainConfig, Config, CountRule, HostConfig, NodeConfig, RuleOverrides, SignerConfig,
};

/// Process name of the devnet watch (`run/watch.pid`, `logs/watch.log`).
pub const NAME: &str = "watch";

/// The watch's config file.
pub fn config_path(dir: &Path) -> PathBuf {
    dir.join("watch").join("watch.toml")
}

/// Port of the watch's status page, `/metrics` and `/api/status`.
pub fn port(manifest: &Manifest) -> u16 {
    topology::watch_port(manifest.validators.len(), manifest.nodes[0].p2p_port)
}

/// The status page URL.
pub fn url(manifest: &Manifest) -> String {
    format!("http://127.0.0.1:{}", port(manifest))
}

/// Write the watch config for this devnet (rewritten at every start).
pub fn setup(dir: &Path, manifest: &Manifest) -> Result<()> {
    let wdir = dir.join("watch");
    std::fs::create_dir_all(&wdir).map_err(|e| DevnetError::io(&wdir, e))?;
    let val0 = manifest
        .validator_by_name(topology::OPERATOR)
        .map(|v| v.address.clone())
        .unwrap_or_default();
    // The chain is read through the nodes that are not val0's own, as an operator reads
    // it through nodes that do not depend on its validator.
    let rpcs: Vec<String> = manifest
        .nodes
        .iter()
        .filter(|n| !topology::is_operator_node(n))
        .map(|n| n.rpc_url())
        .collect();
    let mut config = Config::new(wdir.join("watch.sqlite"));
    config.listen = ([127, 0, 0, 1], port(manifest)).into();
    config.poll_interval = Duration::from_secs(1);
    let mut chain = ChainConfig::new(&manifest.chain_id, rpcs);
    chain.validator_address = Some(val0);
    config.chains.push(chain);
    for n in &manifest.nodes {
        config.nodes.push(NodeConfig {
            hermes: None,
            hermes_prefix: None,
            name: n.name.clone(),
            chain: manifest.chain_id.clone(),
            role: n.role,
            rpc: n.rpc_url(),
            metrics: Some(n.metrics_url()),
            history: None,
            // val0 and its backup peer only with the sentry, by design: one peer is
            // normal for them, none is critical.
            rules: if topology::is_operator_node(n) {
                RuleOverrides::default().with(
                    "peers_low",
                    &CountRule {
                        warning: 1,
                        critical: 1,
                        for_: Duration::from_secs(60),
                    },
                )
            } else {
                RuleOverrides::default()
            },
            host: None,
            labels: Default::default(),
        });
    }
    if let (true, Some(p)) = (
        crate::signer::runs_signer(manifest),
        manifest.signer_metrics_port,
    ) {
        config.signers.push(SignerConfig::new(
            "signer",
            format!("http://127.0.0.1:{p}/metrics"),
        ));
    }
    if crate::cosigner::runs_cosigners(manifest) {
        for name in crate::cosigner::to_start(manifest) {
            // One group: the cosigners of val0's key (the host of share 2 the others
            // pin), known to each other by their process names (their peers' names in
            // their configs), so the cosigner rules (down, threshold at risk or lost,
            // refusals, slow links) apply.
            let (_, metrics) = crate::cosigner::ports_of(manifest, &name).expect("a cosigner");
            config.signers.push(SignerConfig::cosigner(
                name,
                format!("http://127.0.0.1:{metrics}/metrics"),
                topology::OPERATOR,
            ));
        }
    }
    // The machine the devnet runs on: its disks, load and memory.
    config.hosts.push(HostConfig {
        name: "local".into(),
        node_exporter: None,
        mountpoints: Vec::new(),
        rules: RuleOverrides::default(),
        labels: Default::default(),
    });
    let toml = config.to_toml().map_err(|e| DevnetError::Command {
        command: "writing the watch config".into(),
        output: e.to_string(),
    })?;
    let text = format!("# The devnet's watch, written by `bulwark devnet up`.\n\n{toml}");
    let cfg = config_path(dir);
    std::fs::write(&cfg, text).map_err(|e| DevnetError::io(&cfg, e))
}

/// How to run the devnet watch.
pub fn spec(dir: &Path, bulwark: &Path) -> Spec {
    Spec::bulwark(NAME, "watch", config_path(dir), bulwark)
}

/// The watch's pid when it runs.
pub fn pid(dir: &Path) -> Option<u32> {
    process::running_pid(dir, NAME, &config_path(dir))
}

/// Stop the watch if it runs.
pub fn stop(dir: &Path, grace: std::time::Duration) -> bool {
    process::stop(dir, NAME, &config_path(dir), grace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cometbft::Line;
    use crate::manifest::{SignerMode, Validator};

    #[test]
    fn a_threshold_devnet_watches_its_three_cosigners_as_one_group() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = Manifest::new(
            "c".into(),
            Line::V0_38,
            "v0.38.26".into(),
            SignerMode::Threshold,
        );
        for i in 0..4 {
            m.validators.push(Validator {
                name: format!("val{i}"),
                address: "AA".repeat(20),
                pub_key: String::new(),
                power: 10,
            });
        }
        m.nodes = topology::plan(4, 20_000);
        setup(dir.path(), &m).unwrap();
        let c = Config::load(&config_path(dir.path())).unwrap_or_else(|e| panic!("{e}"));
        let cosigners: Vec<(&str, &str, Option<&str>)> = c
            .signers
            .iter()
            .map(|s| {
                (
                    s.name.as_str(),
                    s.metrics_url.as_str(),
                    s.cosigners.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            cosigners,
            [
                ("cosigner-1", "http://127.0.0.1:20029/metrics", Some("val0")),
                ("cosigner-2", "http://127.0.0.1:20030/metrics", Some("val0")),
                ("cosigner-3", "http://127.0.0.1:20031/metrics", Some("val0")),
            ]
        );
        // The names the cosigners give each other in their configs.
        for s in &c.signers {
            assert_eq!(
                s.peer_name(),
                crate::cosigner::name(s.name[9..].parse().unwrap())
            );
        }
        // Once both other cosigners pin the standby host of share 2, it is the one
        // watched (and the one `up` starts); while they disagree, neither host is.
        let pin = |m: &mut Manifest, peer: &str, to: &str| {
            m.cosigner_pins
                .get_or_insert_with(Default::default)
                .insert(peer.into(), to.into());
        };
        pin(&mut m, "cosigner-1", crate::cosigner::STANDBY);
        assert_eq!(
            crate::cosigner::to_start(&m),
            ["cosigner-1", "cosigner-3"],
            "half-way"
        );
        pin(&mut m, "cosigner-3", crate::cosigner::STANDBY);
        setup(dir.path(), &m).unwrap();
        let c = Config::load(&config_path(dir.path())).unwrap();
        let names: Vec<(&str, &str)> = c
            .signers
            .iter()
            .map(|s| (s.name.as_str(), s.metrics_url.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("cosigner-1", "http://127.0.0.1:20029/metrics"),
                ("cosigner-standby", "http://127.0.0.1:20033/metrics"),
                ("cosigner-3", "http://127.0.0.1:20031/metrics"),
            ]
        );
    }
}

//! The devnet's `bulwark watch`: monitors the devnet's chain, nodes and signer, and serves
//! its status page, so a newcomer sees alerts fire and resolve on a real network.

use crate::error::{DevnetError, Result};
use crate::manifest::{Manifest, Role};
use crate::process::{self, Spec};
use crate::topology;
use std::path::{Path, PathBuf};

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
    let mut text = format!(
        "# The devnet's watch, written by `bulwark devnet up`.\n\nstate_path = {:?}\nlisten = \"127.0.0.1:{}\"\npoll_interval = \"1s\"\n\n[[chain]]\nid = {:?}\nvalidator_address = {val0:?}\nrpc = {rpcs:?}\n",
        wdir.join("watch.sqlite"),
        port(manifest),
        manifest.chain_id,
    );
    for n in &manifest.nodes {
        let role = match n.role {
            Role::Validator => "validator",
            Role::Backup => "backup",
            Role::Sentry => "sentry",
        };
        text.push_str(&format!(
            "\n[[node]]\nname = {:?}\nchain = {:?}\nrole = {role:?}\nrpc = {:?}\nmetrics = {:?}\n",
            n.name,
            manifest.chain_id,
            n.rpc_url(),
            n.metrics_url()
        ));
        // val0 and its backup peer only with the sentry, by design: one peer is
        // normal for them, none is critical.
        if topology::is_operator_node(n) {
            text.push_str("peers_low = { warning = 1, critical = 1, for = \"1m\" }\n");
        }
    }
    if let (true, Some(p)) = (
        crate::signer::runs_signer(manifest),
        manifest.signer_metrics_port,
    ) {
        text.push_str(&format!(
            "\n[[signer]]\nname = \"signer\"\nmetrics_url = \"http://127.0.0.1:{p}/metrics\"\n"
        ));
    }
    // The machine the devnet runs on: its disks, load and memory.
    text.push_str("\n[[host]]\nname = \"local\"\n");
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

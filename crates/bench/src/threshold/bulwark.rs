//! One run of Bulwark's cosigners (`bulwark signer run` with a threshold key), each in
//! its namespace, the node on cosigner 1.

use super::{measure, network, Measured, Procs, RunSpec, CHAIN, PORT};
use ed25519_dalek::VerifyingKey;
use privval::Line;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use testkit::node::FakeNode;
use testkit::threshold::{cosigners_in, Topology};

pub(super) fn once(bulwark: &Path, spec: &RunSpec) -> anyhow::Result<Measured> {
    let dir = spec.dir;
    let net = network(spec.rtt);
    let node = FakeNode::bind_at(&format!("{}:0", net.netns.host_addr(0)))?;
    let (key_path, key) = testkit::signer::write_key(dir);
    let nodes: Vec<Vec<String>> = (0..3)
        .map(|i| {
            if i == 0 {
                vec![format!("tcp://{}:{}", net.netns.host_addr(0), node.port)]
            } else {
                vec![format!("unix://{}/absent-{i}.sock", dir.display())]
            }
        })
        .collect();
    let peer_addr = |i: usize, j: usize| -> SocketAddr { net.peer(i, j) };
    let topology = Topology {
        listen: (0..3)
            .map(|i| (net.netns.ns_addr(i), PORT).into())
            .collect(),
        peer_addr: &peer_addr,
        edit: &|_| {},
    };
    let init = |state: &Path| {
        let ok = Command::new(bulwark)
            .args([
                "signer",
                "state",
                "init",
                "--chain-id",
                CHAIN,
                "--height",
                "0",
                "--state",
            ])
            .arg(state)
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "bulwark signer state init failed");
    };
    let configs = cosigners_in(dir, CHAIN, "v0.38", &key_path, 2, &nodes, init, &topology);
    let mut procs = Procs(Vec::new());
    for (i, c) in configs.iter().enumerate() {
        let log = std::fs::File::create(c.with_extension("log"))?;
        let child = Command::new("ip")
            .args(["netns", "exec", &net.netns.name(i)])
            .arg(bulwark)
            .args(["--log-level", "warn", "signer", "run", "--config"])
            .arg(c)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        procs.0.push(child);
    }
    let node_key = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
    let mut conn = node.accept_with(Line::V0_38, &node_key, Duration::from_secs(30))?;
    conn.set_nodelay(true)?;
    let vk: VerifyingKey = key.verifying_key();
    let measured = measure(&mut conn, &vk, spec)?;
    drop(procs);
    Ok(measured)
}

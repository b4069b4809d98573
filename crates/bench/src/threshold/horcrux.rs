//! One run of Horcrux's cosigners in the same topology: three `horcrux start`, each in
//! its namespace, the peers' p2p addresses pointing at the delaying links, the node on
//! cosigner 1 only. Horcrux elects a Raft leader among its cosigners; the node's
//! requests go through the leader, so the bench makes a chosen cosigner the leader
//! (`horcrux elect`) before it sends anything, and checks it still is at the end.

use super::{measure, network, Measured, Net, Procs, RunSpec, CHAIN, PORT};
use anyhow::{bail, Context};
use privval::Line;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use testkit::horcrux::{create_ecies_shards_with, create_shards_with};
use testkit::node::FakeNode;

/// Horcrux's defaults (`horcrux config init`).
const GRPC_TIMEOUT: &str = "500ms";
const RAFT_TIMEOUT: &str = "500ms";

/// Cosigner `i`'s config.yaml (shard IDs are `i + 1`): its own p2p address inside its
/// namespace, its peers' through the links, and the nodes it dials (`tcp://ip:port`).
pub(super) fn config_yaml(net: &Net, i: usize, nodes: &[&str]) -> String {
    let mut y = String::from("signMode: threshold\nthresholdMode:\n  threshold: 2\n  cosigners:\n");
    for j in 0..3 {
        let addr = if i == j {
            format!("{}:{PORT}", net.netns.ns_addr(j))
        } else {
            net.peer(i, j).to_string()
        };
        let _ = writeln!(y, "  - shardID: {}\n    p2pAddr: tcp://{addr}", j + 1);
    }
    let _ = writeln!(
        y,
        "  grpcTimeout: {GRPC_TIMEOUT}\n  raftTimeout: {RAFT_TIMEOUT}"
    );
    if nodes.is_empty() {
        y.push_str("chainNodes: []\n");
    } else {
        y.push_str("chainNodes:\n");
        for n in nodes {
            let _ = writeln!(y, "- privValAddr: {n}");
        }
    }
    y.push_str("debugAddr: \"\"\ngrpcAddr: \"\"\nmaxReadSize: 1048576\n");
    y
}

/// The Raft leader as cosigner `i` sees it (`horcrux leader`), if there is one.
pub(super) fn leader(horcrux: &Path, net: &Net, home: &Path) -> Option<usize> {
    let out = Command::new("ip")
        .args(["netns", "exec", &net.netns.name(0)])
        .arg(horcrux)
        .arg("leader")
        .arg("--home")
        .arg(home)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let id: i64 = text
        .lines()
        .find_map(|l| l.strip_prefix("Current leader:"))?
        .trim()
        .parse()
        .ok()?;
    usize::try_from(id).ok().filter(|&id| id >= 1)
}

/// Wait until cosigner 1 sees a leader; make it `want` (a shard ID) with `horcrux elect`.
fn elect(horcrux: &Path, net: &Net, home: &Path, want: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut asked = false;
    loop {
        match leader(horcrux, net, home) {
            Some(l) if l == want => return Ok(()),
            Some(_) if !asked => {
                let out = Command::new("ip")
                    .args(["netns", "exec", &net.netns.name(0)])
                    .arg(horcrux)
                    .args(["elect", &want.to_string(), "--home"])
                    .arg(home)
                    .stdin(Stdio::null())
                    .output()?;
                if !out.status.success() {
                    bail!(
                        "horcrux elect {want}: {}{}",
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                asked = true;
            }
            _ => {}
        }
        if Instant::now() > deadline {
            bail!("cosigner {want} did not become the Raft leader within 60 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// One run with the node on cosigner 1 and cosigner `raft_leader` leading.
pub(super) fn once(horcrux: &Path, spec: &RunSpec, raft_leader: usize) -> anyhow::Result<Measured> {
    let dir = spec.dir;
    let net = network(spec.rtt);
    let node = FakeNode::bind_at(&format!("{}:0", net.netns.host_addr(0)))?;
    let node_addr = format!("tcp://{}:{}", net.netns.host_addr(0), node.port);
    let (key_path, key) = testkit::signer::write_key(dir);
    let shards = dir.join("horcrux");
    create_shards_with(horcrux, &shards, CHAIN, &key_path, 2, 3);
    create_ecies_shards_with(horcrux, &shards, 3);
    let homes: Vec<PathBuf> = (1..=3)
        .map(|i| shards.join(format!("cosigner_{i}")))
        .collect();
    for (i, home) in homes.iter().enumerate() {
        let node: Vec<&str> = (i == 0).then_some(node_addr.as_str()).into_iter().collect();
        std::fs::write(home.join("config.yaml"), config_yaml(&net, i, &node))?;
        // No state files: Horcrux starts the chain at height 0, round 0, step 0 (what
        // `horcrux state set` would write), so the first request, at height 1, signs.
        std::fs::create_dir_all(home.join("state"))?;
    }
    let mut procs = Procs(Vec::new());
    for (i, home) in homes.iter().enumerate() {
        let log = std::fs::File::create(home.join("horcrux.log"))?;
        let child = Command::new("ip")
            .args(["netns", "exec", &net.netns.name(i)])
            .arg(horcrux)
            .arg("start")
            .arg("--home")
            .arg(home)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        procs.0.push(child);
    }
    // Cosigner 1 dials the node at once; take its connection while the leader is chosen.
    let accept = std::thread::spawn(move || {
        let node_key = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
        node.accept_with(Line::V0_38, &node_key, Duration::from_secs(60))
    });
    elect(horcrux, &net, &homes[0], raft_leader)?;
    let mut conn = accept
        .join()
        .map_err(|_| anyhow::anyhow!("the accepting thread panicked"))?
        .context("Horcrux cosigner 1 never dialled the node")?;
    conn.set_nodelay(true)?;
    let measured = measure(&mut conn, &key.verifying_key(), spec)?;
    match leader(horcrux, &net, &homes[0]) {
        Some(l) if l == raft_leader => {}
        other => bail!("the Raft leader moved during the run (now {other:?}, was {raft_leader})"),
    }
    drop(procs);
    Ok(measured)
}

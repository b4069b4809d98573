//! `bulwark snapshot` against a real devnet: a node's data snapshotted with the node
//! paused, restored into a fresh node that catches up and keeps up, a second snapshot
//! that reuses the unchanged table files, and the sign state of every node it touches
//! kept as it was.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};
use testkit::snapshot::{store_manifest, JoiningNode};

fn snapshot(args: &[&str]) -> Output {
    let mut all = vec!["snapshot"];
    all.extend_from_slice(args);
    bulwark().run(&all)
}

fn sign_state_height(path: &Path) -> u64 {
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["height"].as_str().unwrap().parse().unwrap()
}

fn table_files(m: &Value) -> Vec<(String, String)> {
    m["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "table")
        .map(|f| {
            (
                f["path"].as_str().unwrap().into(),
                f["hash"].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn wait_for(what: &str, limit: Duration, mut pred: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !pred() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Start the restored node `joining`: it catches up past the snapshot's `height`, keeps
/// up for 5 more heights, and logs no panic; then stop it.
fn catches_up_and_keeps_up(net: &Devnet, joining: &mut JoiningNode, height: u64) {
    joining.start();
    let tip = || best_height(&net.status());
    wait_for(
        "the restored node to catch up",
        Duration::from_secs(120),
        || {
            joining
                .height()
                .is_some_and(|(h, catching_up)| !catching_up && h + 1 >= tip())
        },
    );
    let (h0, _) = joining.height().unwrap();
    assert!(h0 > height, "{h0} {height}");
    wait_for(
        "the restored node to keep up",
        Duration::from_secs(60),
        || {
            joining
                .height()
                .is_some_and(|(h, _)| h >= h0 + 5 && h + 2 >= tip())
        },
    );
    let log = joining.log_text();
    assert!(!log.contains("panic"), "{log}");
    joining.stop();
}

#[test]
fn snapshot_restore_catches_up_reuses_tables_and_keeps_sign_states() {
    let net = bulwark().devnet();
    net.up(&["--validators", "4", "--signer", "file"]);
    net.wait_status("height 3", Duration::from_secs(90), |s| best_height(s) >= 3);
    // Large values make goleveldb flush its journals into table files.
    let load = json(&net.cmd(
        "load",
        &[
            "--tps",
            "100",
            "--duration",
            "6s",
            "--value-bytes",
            "10000",
            "--json",
        ],
    ));
    assert_eq!(load["accepted"], 600, "{load:#}");
    let store = net.tmp.path().join("store");
    let store_s = store.to_str().unwrap();
    let devnet_dir = net.dir_str();

    // 1. A snapshot of val1, paused for as long as freezing its files takes.
    let c1 = json(&snapshot(&[
        "create", "--devnet", devnet_dir, "--node", "val1", "--store", store_s, "--json",
    ]));
    let id1 = c1["id"].as_str().unwrap().to_string();
    let down = c1["downtime_seconds"].as_f64().unwrap();
    assert!(down > 0.0 && down < 30.0, "{c1:#}");
    assert_eq!(c1["resumed"], false);
    assert!(c1["files"].as_u64().unwrap() > 10, "{c1:#}");
    let m1 = store_manifest(&store, &id1);
    assert_eq!(m1["height"], c1["height"]);
    assert!(
        m1["cometbft_version"].as_str().unwrap().starts_with("0.38"),
        "{m1:#}"
    );
    let tables1 = table_files(&m1);
    assert!(!tables1.is_empty(), "no .ldb files in the snapshot: {m1:#}");
    for f in m1["files"].as_array().unwrap() {
        let p = f["path"].as_str().unwrap();
        assert!(
            !p.ends_with("priv_validator_state.json") && !p.contains("key"),
            "{p}"
        );
    }
    let s = net.wait_status("val1 running again", Duration::from_secs(30), |s| {
        node(s, "val1")["running"] == true && node(s, "val1")["height"].as_u64().is_some()
    });
    assert!(node(&s, "val1")["height"].as_u64().unwrap() >= c1["height"].as_u64().unwrap());

    let v = json(&snapshot(&["verify", "--store", store_s, "--json"]));
    assert_eq!(v["ok"], true, "{v:#}");
    assert_eq!(v["bytes"], c1["bytes"]);

    // 2. Restored into a fresh node: its own sign state stays, it catches up, keeps up.
    let mut joining = JoiningNode::init(&net, net.tmp.path());
    let own_state = joining.home.join("data/priv_validator_state.json");
    let own_before = std::fs::read(&own_state).unwrap();
    let r = json(&snapshot(&[
        "restore",
        "--store",
        store_s,
        "--home",
        joining.home.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(r["id"], id1.as_str());
    assert_eq!(r["sign_state_height"], 0, "{r:#}");
    assert_eq!(
        std::fs::read(&own_state).unwrap(),
        own_before,
        "the fresh node's own sign state"
    );
    assert!(joining.home.join("data/blockstore.db/CURRENT").is_file());
    assert!(!joining.home.join(".bulwark-restore").exists());
    catches_up_and_keeps_up(&net, &mut joining, c1["height"].as_u64().unwrap());

    // 3. After more blocks, a second snapshot reuses the table files that did not change.
    json(&net.cmd(
        "load",
        &[
            "--tps",
            "100",
            "--duration",
            "2s",
            "--value-bytes",
            "10000",
            "--json",
        ],
    ));
    let c2 = json(&snapshot(&[
        "create", "--devnet", devnet_dir, "--node", "val1", "--store", store_s, "--json",
    ]));
    let id2 = c2["id"].as_str().unwrap().to_string();
    let tables2 = table_files(&store_manifest(&store, &id2));
    let unchanged = tables2.iter().filter(|t| tables1.contains(t)).count();
    assert!(
        unchanged > 0,
        "no table file survived between the snapshots"
    );
    assert!(
        c2["files_reused"].as_u64().unwrap() >= unchanged as u64,
        "{unchanged} unchanged table files, {c2:#}"
    );
    assert!(c2["chunks_reused"].as_u64().unwrap() > 0, "{c2:#}");
    // The unchanged tables' chunks were not sent again: what this run uploaded fits in
    // what the snapshot holds less those chunks. (Compared with the first run's upload,
    // it can be larger when compaction rewrote most tables in between.)
    let m2 = store_manifest(&store, &id2);
    let stored = |keep: &dyn Fn(&Value) -> bool| -> u64 {
        let hashes: std::collections::BTreeSet<String> = m2["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| keep(f))
            .flat_map(|f| f["chunks"].as_array().unwrap().iter())
            .map(|c| c["hash"].as_str().unwrap().to_string())
            .collect();
        hashes
            .iter()
            .map(|h| {
                let p = store.join("chunks").join(&h[..2]).join(h);
                std::fs::metadata(&p).unwrap().len()
            })
            .sum()
    };
    let in_unchanged = |f: &Value| {
        f["kind"] == "table"
            && tables1
                .iter()
                .any(|(p, h)| f["path"] == p.as_str() && f["hash"] == h.as_str())
    };
    let unchanged_bytes = stored(&in_unchanged);
    assert!(unchanged_bytes > 0, "{c2:#}");
    assert!(
        c2["bytes_uploaded"].as_u64().unwrap() + unchanged_bytes <= stored(&|_| true),
        "uploaded {} with {unchanged_bytes} stored bytes of unchanged tables: {c2:#}",
        c2["bytes_uploaded"]
    );
    let listed = json(&snapshot(&["list", "--store", store_s, "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed:#}");

    // 4. A running node is never restored over.
    let manifest = devnet::Manifest::load(&net.dir).unwrap();
    let val2_home = net.dir.join(&manifest.node("val2").unwrap().home);
    let val2_state = val2_home.join("data/priv_validator_state.json");
    let refused = snapshot(&[
        "restore",
        "--store",
        store_s,
        "--home",
        val2_home.to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(text(&refused).contains("is running"), "{}", text(&refused));
    assert!(!val2_home.join(".bulwark-restore").exists());

    // 5. A validator whose sign state is above the snapshot keeps it.
    assert!(net.cmd("stop", &["val2"]).status.success());
    let val2_before = std::fs::read(&val2_state).unwrap();
    let val2_height = sign_state_height(&val2_state);
    assert!(val2_height > c1["height"].as_u64().unwrap());
    let below = snapshot(&[
        "restore",
        "--store",
        store_s,
        "--home",
        val2_home.to_str().unwrap(),
        "--snapshot",
        &id1,
    ]);
    assert_eq!(below.status.code(), Some(2), "{}", text(&below));
    assert!(
        text(&below).contains("below this node's sign state"),
        "{}",
        text(&below)
    );
    let r = json(&snapshot(&[
        "restore",
        "--store",
        store_s,
        "--home",
        val2_home.to_str().unwrap(),
        "--snapshot",
        &id1,
        "--allow-below-sign-state",
        "--json",
    ]));
    assert_eq!(r["sign_state_height"], val2_height, "{r:#}");
    assert_eq!(
        std::fs::read(&val2_state).unwrap(),
        val2_before,
        "val2's own sign state"
    );
    net.up(&[]);
    let address = validator_address(&net.status(), "val2");
    net.wait_status(
        "val2 signing again above its sign state",
        Duration::from_secs(120),
        |s| {
            commit_signers(s, val2_height + 2)
                .is_some_and(|(_, signed)| signed.iter().any(|n| n == "val2"))
        },
    );
    let rpc = node(&net.status(), "val1")["rpc_url"]
        .as_str()
        .unwrap()
        .to_string();
    let scan = scan_chain(&rpc, &address, 1, best_height(&net.status()) - 2);
    assert!(scan.evidence.is_empty(), "evidence: {:?}", scan.evidence);

    // 6. Prune keeps the newest and removes the chunks only the older one used.
    let p = json(&snapshot(&[
        "prune",
        "--store",
        store_s,
        "--keep-last",
        "1",
        "--json",
    ]));
    assert_eq!(p["removed"], serde_json::json!([id1]), "{p:#}");
    assert!(p["chunks_removed"].as_u64().unwrap() > 0, "{p:#}");
    let v = json(&snapshot(&["verify", "--store", store_s, "--json"]));
    assert_eq!(v["ok"], true, "{v:#}");
    assert_eq!(v["id"], id2.as_str());
}

/// `--freeze`: val1 is frozen in place (SIGSTOP) while blocks with large values are being
/// written, not restarted (same process before and after), and the copy, what a crash at
/// that instant would leave, restores into a fresh node that catches up and keeps up.
#[test]
fn a_node_frozen_in_place_under_load_is_not_restarted_and_its_snapshot_catches_up() {
    let net = bulwark().devnet();
    net.up(&["--validators", "4", "--signer", "file"]);
    net.wait_status("height 3", Duration::from_secs(90), |s| best_height(s) >= 3);
    let store = net.tmp.path().join("store");
    let store_s = store.to_str().unwrap();
    let devnet_dir = net.dir_str();
    let pid_file = net.dir.join("run/val1.pid");
    let pid_before = std::fs::read_to_string(&pid_file).unwrap();

    let created = std::thread::scope(|s| {
        let load = s.spawn(|| {
            net.cmd(
                "load",
                &[
                    "--tps",
                    "100",
                    "--duration",
                    "8s",
                    "--value-bytes",
                    "10000",
                    "--json",
                ],
            )
        });
        std::thread::sleep(Duration::from_secs(3));
        let c = snapshot(&[
            "create", "--devnet", devnet_dir, "--node", "val1", "--freeze", "--store", store_s,
            "--json",
        ]);
        let load = json(&load.join().unwrap());
        assert!(load["accepted"].as_u64().unwrap() > 0, "{load:#}");
        c
    });
    let c = json(&created);
    assert_eq!(c["resumed"], false, "{c:#}");
    let down = c["downtime_seconds"].as_f64().unwrap();
    assert!(down > 0.0 && down < 30.0, "{c:#}");
    assert!(c["files"].as_u64().unwrap() > 10, "{c:#}");
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap(),
        pid_before,
        "val1 was restarted, not frozen"
    );
    let pid: i32 = pid_before.trim().parse().unwrap();
    assert!(
        !snapshot::freeze::all_threads_stopped(pid).unwrap(),
        "val1 is still frozen"
    );
    let h = c["height"].as_u64().unwrap();
    net.wait_status("val1 going on", Duration::from_secs(30), |s| {
        node(s, "val1")["height"]
            .as_u64()
            .is_some_and(|v| v > h + 2)
    });
    let v = json(&snapshot(&["verify", "--store", store_s, "--json"]));
    assert_eq!(v["ok"], true, "{v:#}");

    let mut joining = JoiningNode::init(&net, net.tmp.path());
    let r = json(&snapshot(&[
        "restore",
        "--store",
        store_s,
        "--home",
        joining.home.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(r["id"], c["id"], "{r:#}");
    catches_up_and_keeps_up(&net, &mut joining, h);
}

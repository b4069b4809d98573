//! `bulwark snapshot` when things go wrong, on a real devnet: a create or restore killed
//! halfway resumes and never leaves a home that looks whole; a corrupt or missing chunk
//! is named by `verify` and refused by `restore`; a corrupt manifest, another chain's
//! home; and archives in the formats snapshot providers publish.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Output};
use std::time::{Duration, Instant};
use testkit::snapshot::{store_chunks, store_manifest, store_snapshots};

fn snapshot(args: &[&str]) -> Output {
    let mut all = vec!["snapshot"];
    all.extend_from_slice(args);
    bulwark().run(&all)
}

/// A `bulwark snapshot` run that the test interrupts; its output goes to a log that
/// every failure about it shows.
struct Interrupted {
    child: Child,
    log: PathBuf,
}

impl Interrupted {
    fn spawn(tmp: &Path, name: &str, args: &[&str]) -> Interrupted {
        let log = tmp.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = bulwark()
            .command()
            .arg("snapshot")
            .args(args)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("bulwark starts");
        Interrupted { child, log }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait until `pred` holds while the run is still going.
    fn wait_for(&mut self, what: &str, limit: Duration, mut pred: impl FnMut() -> bool) {
        let deadline = Instant::now() + limit;
        while !pred() {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("it ended ({status}) before {what}:\n{}", self.output());
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; its output so far:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill(mut self) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "finished before it could be interrupted:\n{}",
            self.output()
        );
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// A throttled restore of snapshot `id` into `home`, killed once at least three files
/// are staged.
fn interrupt_restore(tmp: &Path, name: &str, store: &str, home: &Path, id: &str) {
    let h = home.to_str().unwrap();
    let mut child = Interrupted::spawn(
        tmp,
        name,
        &[
            "restore",
            "--store",
            store,
            "--home",
            h,
            "--max-rate",
            "3M",
            "--jobs",
            "1",
        ],
    );
    let stage = home.join(".bulwark-restore").join(id);
    child.wait_for("some files restored", Duration::from_secs(150), || {
        finished_files(&stage) >= 3
    });
    child.kill();
}

/// Relative path -> size of every file under `dir`.
fn listing(dir: &Path) -> BTreeMap<String, u64> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, u64>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, e.metadata().unwrap().len());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Finished (not `.part`) files with data under `dir` (empty files, such as the
/// databases' `LOCK`, are made before any chunk is fetched).
fn finished_files(dir: &Path) -> usize {
    listing(dir)
        .iter()
        .filter(|(k, size)| !k.ends_with(".part") && **size > 0)
        .count()
}

fn hashes(m: &Value) -> BTreeMap<String, String> {
    m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().into(),
                f["hash"].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn chunk_path(store: &Path, hash: &str) -> PathBuf {
    store.join("chunks").join(&hash[..2]).join(hash)
}

#[test]
fn interrupted_create_and_restore_resume_and_damage_is_named() {
    let net = bulwark().devnet();
    net.up(&["--validators", "1", "--signer", "file"]);
    net.wait_status("height 3", Duration::from_secs(90), |s| best_height(s) >= 3);
    json(&net.cmd(
        "load",
        &[
            "--tps",
            "100",
            "--duration",
            "4s",
            "--value-bytes",
            "10000",
            "--json",
        ],
    ));
    let tmp = net.tmp.path();
    let store = tmp.join("store");
    let store_s = store.to_str().unwrap().to_string();
    let manifest = devnet::Manifest::load(&net.dir).unwrap();
    let sentry_home = net.dir.join(&manifest.node("sentry0").unwrap().home);

    // 1. A create killed while it uploads leaves no snapshot, and resumes from the copy
    //    it froze, without pausing the node again.
    let create = [
        "create",
        "--devnet",
        net.dir_str(),
        "--node",
        "sentry0",
        "--store",
        &store_s,
    ];
    let mut slow = create.to_vec();
    slow.extend(["--max-rate", "3M", "--jobs", "1"]);
    let mut child = Interrupted::spawn(tmp, "create", &slow);
    child.wait_for("some chunks uploaded", Duration::from_secs(150), || {
        store_chunks(&store).len() >= 4
    });
    child.kill();
    let uploaded = store_chunks(&store).len();
    assert!(
        store_snapshots(&store).is_empty(),
        "a snapshot appeared before it was whole"
    );
    assert!(sentry_home.join(".bulwark-snapshot/pending.json").is_file());
    net.wait_status("sentry0 running again", Duration::from_secs(30), |s| {
        node(s, "sentry0")["height"].as_u64().is_some()
    });
    let mut resume = create.to_vec();
    resume.push("--json");
    let c = json(&snapshot(&resume));
    assert_eq!(c["resumed"], true, "{c:#}");
    assert!(c["downtime_seconds"].is_null(), "{c:#}");
    assert!(
        c["chunks_reused"].as_u64().unwrap() >= uploaded as u64,
        "{uploaded} {c:#}"
    );
    assert!(!sentry_home.join(".bulwark-snapshot").exists());
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(store_snapshots(&store), vec![id.clone()]);
    let m = store_manifest(&store, &id);
    assert_eq!(
        json(&snapshot(&["verify", "--store", &store_s, "--json"]))["ok"],
        true
    );

    // 2. A restore into an empty home killed halfway leaves no data/ there; run again,
    //    it finishes what is left.
    let empty = tmp.join("empty-home");
    let e = empty.to_str().unwrap();
    interrupt_restore(tmp, "restore-empty", &store_s, &empty, &id);
    assert!(!empty.join("data").exists(), "a half-restored data/ in {e}");
    let r = json(&snapshot(&[
        "restore", "--store", &store_s, "--home", e, "--json",
    ]));
    assert!(r["files_resumed"].as_u64().unwrap() >= 3, "{r:#}");
    assert!(r["sign_state"].is_null(), "{r:#}");
    assert!(!empty.join(".bulwark-restore").exists());
    let restored = listing(&empty.join("data"));
    for f in m["files"].as_array().unwrap() {
        let p = f["path"].as_str().unwrap().strip_prefix("data/").unwrap();
        assert_eq!(restored.get(p), f["size"].as_u64().as_ref(), "{p}");
    }

    // 3. Onto a stopped node: killed halfway, its data/ is untouched; run again, it has
    //    the snapshot's data and still its own sign state.
    assert!(net.cmd("stop", &["val0-backup"]).status.success());
    let backup = net.dir.join(&manifest.node("val0-backup").unwrap().home);
    let b = backup.to_str().unwrap();
    let state = backup.join("data/priv_validator_state.json");
    let state_before = std::fs::read(&state).unwrap();
    let data_before = listing(&backup.join("data"));
    interrupt_restore(tmp, "restore-backup", &store_s, &backup, &id);
    assert_eq!(
        listing(&backup.join("data")),
        data_before,
        "the old data/ changed"
    );
    let r = json(&snapshot(&[
        "restore", "--store", &store_s, "--home", b, "--json",
    ]));
    assert!(r["files_resumed"].as_u64().unwrap() >= 3, "{r:#}");
    assert_eq!(std::fs::read(&state).unwrap(), state_before);
    assert!(backup.join("data/blockstore.db/CURRENT").is_file());
    net.up(&[]);
    let tip = best_height(&net.status());
    net.wait_status(
        "the restored backup caught up",
        Duration::from_secs(90),
        |s| {
            node(s, "val0-backup")["height"]
                .as_u64()
                .is_some_and(|h| h >= tip)
        },
    );

    // 4. Archives: export to tar.lz4 and tar.zst, import back, same files.
    for ext in ["tar.lz4", "tar.zst"] {
        let archive = tmp.join(format!("snap.{ext}"));
        let a = archive.to_str().unwrap();
        let x = snapshot(&["export", "--store", &store_s, "--out", a]);
        assert!(x.status.success(), "{}", text(&x));
        let imported = tmp.join(format!("imported-{}", ext.replace('.', "-")));
        let i = json(&snapshot(&[
            "import",
            "--store",
            imported.to_str().unwrap(),
            "--file",
            a,
            "--chain-id",
            m["chain_id"].as_str().unwrap(),
            "--height",
            "7",
            "--json",
        ]));
        let im = store_manifest(&imported, i["id"].as_str().unwrap());
        assert_eq!(hashes(&im), hashes(&m), "{ext}");
        assert_eq!(im["height"], 7);
    }
    // The formats providers publish: made by the system tools, with a sign state in it
    // that must never come along.
    assert!(net.cmd("stop", &["val0-backup"]).status.success());
    let provider = tmp.join("provider.tar.zst");
    let made = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "tar -C {} -cf - data | zstd -q -o {}",
            backup.display(),
            provider.display()
        ))
        .status()
        .unwrap();
    assert!(made.success());
    let i = json(&snapshot(&[
        "import",
        "--store",
        &store_s,
        "--file",
        provider.to_str().unwrap(),
        "--chain-id",
        m["chain_id"].as_str().unwrap(),
        "--height",
        "9",
        "--json",
    ]));
    assert_eq!(
        i["left_out"],
        serde_json::json!(["data/priv_validator_state.json"]),
        "{i:#}"
    );
    let provider_id = i["id"].as_str().unwrap().to_string();
    let v = json(&snapshot(&[
        "verify",
        "--store",
        &store_s,
        "--snapshot",
        &provider_id,
        "--json",
    ]));
    assert_eq!(v["ok"], true, "{v:#}");

    // 5. A corrupt chunk: verify names the file, restore refuses and writes no data/.
    let victim = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "table")
        .expect("a table file")
        .clone();
    let file = victim["path"].as_str().unwrap();
    let chunk = chunk_path(&store, victim["chunks"][0]["hash"].as_str().unwrap());
    let mut bytes = std::fs::read(&chunk).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&chunk, &bytes).unwrap();
    let out = snapshot(&["verify", "--store", &store_s, "--snapshot", &id, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert!(
        v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["file"] == file),
        "{file} not named: {v:#}"
    );
    let text_out = snapshot(&["verify", "--store", &store_s, "--snapshot", &id]);
    assert!(
        String::from_utf8_lossy(&text_out.stdout).contains(file),
        "{}",
        text(&text_out)
    );
    let fresh = tmp.join("fresh-home");
    let out = snapshot(&[
        "restore",
        "--store",
        &store_s,
        "--home",
        fresh.to_str().unwrap(),
        "--snapshot",
        &id,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains(file), "{}", text(&out));
    assert!(!fresh.join("data").exists());

    // A missing chunk is named too.
    let other = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] != file && !f["chunks"].as_array().unwrap().is_empty())
        .unwrap()
        .clone();
    std::fs::remove_file(chunk_path(
        &store,
        other["chunks"][0]["hash"].as_str().unwrap(),
    ))
    .unwrap();
    let out = snapshot(&["verify", "--store", &store_s, "--snapshot", &id, "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["file"] == other["path"]
                && p["problem"].as_str().unwrap().contains("missing")),
        "{v:#}"
    );

    // 6. A corrupt manifest is listed as such, refused by restore, and stops prune from
    //    removing any chunk (retention still drops the older snapshot's manifest).
    std::fs::write(
        store.join("snapshots/broken.json"),
        b"{\"format\": 1, \"id\": ",
    )
    .unwrap();
    let l = json(&snapshot(&["list", "--store", &store_s, "--json"]));
    assert!(
        l.as_array()
            .unwrap()
            .iter()
            .any(|s| s["key"] == "snapshots/broken.json" && s["error"].is_string()),
        "{l:#}"
    );
    let out = snapshot(&[
        "restore",
        "--store",
        &store_s,
        "--home",
        fresh.to_str().unwrap(),
        "--snapshot",
        "broken",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("corrupt"), "{}", text(&out));
    let chunks_before = store_chunks(&store).len();
    let p = json(&snapshot(&[
        "prune",
        "--store",
        &store_s,
        "--keep-last",
        "1",
        "--json",
    ]));
    assert!(
        p["chunks_skipped"].as_str().unwrap().contains("broken"),
        "{p:#}"
    );
    assert_eq!(store_chunks(&store).len(), chunks_before);
    assert_eq!(p["removed"], serde_json::json!([id]), "{p:#}");

    // 7. Another chain's home is refused.
    let foreign = tmp.join("foreign");
    std::fs::create_dir_all(foreign.join("config")).unwrap();
    std::fs::write(
        foreign.join("config/genesis.json"),
        br#"{"chain_id":"other-chain"}"#,
    )
    .unwrap();
    let out = snapshot(&[
        "restore",
        "--store",
        &store_s,
        "--home",
        foreign.to_str().unwrap(),
        "--snapshot",
        &provider_id,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("other-chain"), "{}", text(&out));
    assert!(!foreign.join("data").exists());
}

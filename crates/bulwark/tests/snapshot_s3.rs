//! `bulwark snapshot` with an S3-compatible store: a real server (`s3s-fs`, installed by
//! `scripts/install-deps`) on 127.0.0.1, a real devnet node.

mod common;

use common::*;
use serde_json::Value;
use std::process::Output;
use std::time::Duration;
use testkit::snapshot::S3Server;

fn snapshot_env(env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = bulwark().command();
    c.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT")
        .env_remove("BULWARK_SNAPSHOT_STORE");
    for (k, v) in env {
        c.env(k, v);
    }
    c.arg("snapshot").args(args).output().expect("bulwark runs")
}

#[test]
fn snapshots_go_to_s3_and_come_back() {
    let s3 = S3Server::start("snapshots");
    let net = bulwark().devnet();
    net.up(&["--validators", "1", "--signer", "file"]);
    net.wait_status("height 3", Duration::from_secs(90), |s| best_height(s) >= 3);
    json(&net.cmd(
        "load",
        &[
            "--tps",
            "100",
            "--duration",
            "3s",
            "--value-bytes",
            "10000",
            "--json",
        ],
    ));
    let url = s3.url("snapshots", "chains/devnet");
    let creds = s3.credentials_file(net.tmp.path());
    let c = creds.to_str().unwrap();
    let env = [
        ("AWS_ACCESS_KEY_ID", s3.access_key.as_str()),
        ("AWS_SECRET_ACCESS_KEY", s3.secret_key.as_str()),
    ];

    // Credentials from a file...
    let c1 = json(&snapshot_env(
        &[],
        &[
            "create",
            "--devnet",
            net.dir_str(),
            "--node",
            "sentry0",
            "--store",
            &url,
            "--credentials",
            c,
            "--json",
        ],
    ));
    let id1 = c1["id"].as_str().unwrap().to_string();
    assert!(c1["chunks_uploaded"].as_u64().unwrap() > 0, "{c1:#}");
    assert!(s3
        .root
        .path()
        .join("snapshots/chains/devnet/snapshots")
        .join(format!("{id1}.json"))
        .is_file());

    // ...or from the environment; never from the URL.
    let l = json(&snapshot_env(&env, &["list", "--store", &url, "--json"]));
    assert_eq!(l.as_array().unwrap().len(), 1, "{l:#}");
    let in_url = format!(
        "s3://{}:{}@snapshots/x?endpoint=http://127.0.0.1:{}",
        s3.access_key, s3.secret_key, s3.port
    );
    let out = snapshot_env(&[], &["list", "--store", &in_url]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("never go in the URL"), "{}", text(&out));
    let out = snapshot_env(&[], &["list", "--store", &url]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("AWS_ACCESS_KEY_ID"), "{}", text(&out));

    let v = json(&snapshot_env(&env, &["verify", "--store", &url, "--json"]));
    assert_eq!(v["ok"], true, "{v:#}");

    // A second snapshot after more blocks stores only what changed.
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
    let c2 = json(&snapshot_env(
        &env,
        &[
            "create",
            "--devnet",
            net.dir_str(),
            "--node",
            "sentry0",
            "--store",
            &url,
            "--json",
        ],
    ));
    assert!(c2["chunks_reused"].as_u64().unwrap() > 0, "{c2:#}");
    assert!(c2["files_reused"].as_u64().unwrap() > 0, "{c2:#}");

    // Restored from S3 into an empty home.
    let home = net.tmp.path().join("restored");
    let r = json(&snapshot_env(
        &env,
        &[
            "restore",
            "--store",
            &url,
            "--home",
            home.to_str().unwrap(),
            "--json",
        ],
    ));
    assert_eq!(r["id"], c2["id"]);
    assert!(home.join("data/blockstore.db/CURRENT").is_file());

    // Prune on S3 keeps the newest whole.
    let p = json(&snapshot_env(
        &env,
        &["prune", "--store", &url, "--keep-last", "1", "--json"],
    ));
    assert_eq!(p["removed"], serde_json::json!([id1]), "{p:#}");
    let v = json(&snapshot_env(&env, &["verify", "--store", &url, "--json"]));
    assert_eq!(v["ok"], true, "{v:#}");

    // A corrupt object in the bucket is named by its file.
    let m: Value = serde_json::from_slice(
        &std::fs::read(
            s3.root
                .path()
                .join("snapshots/chains/devnet/snapshots")
                .join(format!("{}.json", c2["id"].as_str().unwrap())),
        )
        .unwrap(),
    )
    .unwrap();
    let f = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["size"].as_u64().unwrap() > 0)
        .unwrap();
    let h = f["chunks"][0]["hash"].as_str().unwrap();
    let obj = s3
        .root
        .path()
        .join("snapshots/chains/devnet/chunks")
        .join(&h[..2])
        .join(h);
    std::fs::write(&obj, b"not zstd").unwrap();
    let out = snapshot_env(&env, &["verify", "--store", &url, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["file"] == f["path"]),
        "{v:#}"
    );

    // Wrong secret, and a store that is not there: exit 1, saying what to check.
    let bad = [
        ("AWS_ACCESS_KEY_ID", s3.access_key.as_str()),
        ("AWS_SECRET_ACCESS_KEY", "wrong"),
    ];
    let out = snapshot_env(&bad, &["list", "--store", &url]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("credentials"), "{}", text(&out));
    let nowhere = format!("s3://snapshots/x?endpoint=http://127.0.0.1:{}", free_port());
    let out = snapshot_env(&env, &["list", "--store", &nowhere]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("reachable"), "{}", text(&out));
}

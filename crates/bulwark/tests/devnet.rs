//! `bulwark devnet` against real CometBFT nodes.

mod common;

use common::*;
use std::time::Duration;

const ALL4: [&str; 4] = ["val0", "val1", "val2", "val3"];

fn signed_by_all(status: &serde_json::Value, names: &[&str]) -> bool {
    nodes(status).iter().any(|n| {
        let signed: Vec<&str> = n["last_commit"]["signed"]
            .as_array()
            .map(|a| a.iter().filter_map(|s| s.as_str()).collect())
            .unwrap_or_default();
        n["last_commit"]["height"].as_u64().unwrap_or(0) >= 9 && signed == names
    })
}

#[test]
fn four_validators_sign_load_grows_state_and_down_up_resumes() {
    let net = bulwark().devnet();
    let up = net.up(&["--validators", "4"]);
    assert_eq!(up["created"], true);
    // Six nodes, val0's signer (the default) and the watch.
    assert_eq!(up["started"].as_array().unwrap().len(), 8, "{up:#}");
    assert_eq!(up["status"]["watch_process"]["running"], true, "{up:#}");
    assert_eq!(up["status"]["signer"], "bulwark");

    let s = net.wait_status(
        "height 10 with all 4 validators signing",
        Duration::from_secs(120),
        |s| best_height(s) >= 10 && signed_by_all(s, &ALL4),
    );
    assert_eq!(s["cometbft"], "v0.38.26");
    assert_eq!(s["validators"].as_array().unwrap().len(), 4);
    let roles: Vec<(String, String)> = nodes(&s)
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap().into(),
                n["role"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expect = [
        ("val0", "validator"),
        ("val0-backup", "backup"),
        ("sentry0", "sentry"),
        ("val1", "validator"),
        ("val2", "validator"),
        ("val3", "validator"),
    ];
    assert_eq!(roles, expect.map(|(a, b)| (a.to_string(), b.to_string())));
    // Sentry pattern: val0's nodes have exactly one peer, the sentry.
    for name in ["val0", "val0-backup"] {
        assert_eq!(
            node(&s, name)["peers"],
            1,
            "{name} should only peer with the sentry"
        );
        assert!(node(&s, name)["signer_laddr"]
            .as_str()
            .unwrap()
            .starts_with("tcp://127.0.0.1:"));
    }

    // Load makes the kvstore grow, read straight from a node's RPC.
    let rpc = node(&s, "val1")["rpc_url"].as_str().unwrap().to_string();
    let before = kvstore_size(&rpc);
    let report = json(&net.cmd("load", &["--tps", "40", "--duration", "2s", "--json"]));
    assert_eq!(report["sent"], 80, "{report:#}");
    assert_eq!(report["accepted"], 80, "{report:#}");
    // Accepted is in the mempool; the blocks that commit them follow within a few.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut after = kvstore_size(&rpc);
    while after < before + 80 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        after = kvstore_size(&rpc);
    }
    assert!(after >= before + 80, "kvstore size {before} -> {after}");

    // down stops every process and keeps the data; up resumes above the old height.
    let height_before = best_height(&net.status());
    let down = net.cmd("down", &[]);
    assert!(down.status.success(), "{}", text(&down));
    assert!(
        processes_under(&net.dir).is_empty(),
        "processes left after down"
    );
    let stopped = net.status();
    assert!(
        nodes(&stopped).iter().all(|n| n["running"] == false),
        "{stopped:#}"
    );
    assert!(net.dir.join("nodes/val0/data").is_dir());

    let again = net.up(&[]);
    assert_eq!(again["created"], false);
    assert_eq!(again["status"]["chain_id"], s["chain_id"]);
    net.wait_status(
        "resumed chain above the old height",
        Duration::from_secs(90),
        |st| best_height(st) > height_before + 2 && signed_by_all(st, &ALL4),
    );
    assert_eq!(kvstore_size(&rpc), after, "state survives a restart");

    // up on a running devnet changes nothing.
    let third = net.up(&[]);
    assert_eq!(third["started"].as_array().unwrap().len(), 0, "{third:#}");
    assert_eq!(third["already_running"].as_array().unwrap().len(), 8);

    let logs = net.cmd("logs", &["val0", "-n", "5"]);
    assert!(logs.status.success(), "{}", text(&logs));
    assert_eq!(String::from_utf8_lossy(&logs.stdout).lines().count(), 5);

    let destroy = net.cmd("destroy", &[]);
    assert!(destroy.status.success(), "{}", text(&destroy));
    assert!(!net.dir.exists());
    assert!(processes_under(net.tmp.path()).is_empty());
}

#[test]
fn two_devnets_run_side_by_side_on_v038_and_v1() {
    let a = bulwark().devnet();
    let b = bulwark().devnet();
    let sa = a.up(&["--validators", "2", "--cometbft", "v0.38"]);
    let sb = b.up(&["--validators", "2", "--cometbft", "v1.0"]);
    assert_ne!(sa["status"]["chain_id"], sb["status"]["chain_id"]);
    let ports = |s: &serde_json::Value| -> Vec<String> {
        nodes(&s["status"])
            .iter()
            .map(|n| n["rpc_url"].as_str().unwrap().to_string())
            .collect()
    };
    let (pa, pb) = (ports(&sa), ports(&sb));
    assert!(
        pa.iter().all(|p| !pb.contains(p)),
        "devnets share ports: {pa:?} {pb:?}"
    );

    let both = ["val0", "val1"];
    a.wait_status("devnet A at height 5", Duration::from_secs(90), |s| {
        best_height(s) >= 5 && signed_by_all_at(s, &both, 4)
    });
    let s = b.wait_status("devnet B at height 5", Duration::from_secs(90), |s| {
        best_height(s) >= 5 && signed_by_all_at(s, &both, 4)
    });
    assert!(
        s["cometbft"].as_str().unwrap().starts_with("v1.0."),
        "{s:#}"
    );
    // Stopping one leaves the other running.
    assert!(a.cmd("down", &[]).status.success());
    assert!(processes_under(&a.dir).is_empty());
    let h = best_height(&b.status());
    b.wait_status("devnet B keeps going", Duration::from_secs(30), |s| {
        best_height(s) > h
    });
}

fn signed_by_all_at(status: &serde_json::Value, names: &[&str], min_height: u64) -> bool {
    nodes(status).iter().any(|n| {
        let signed: Vec<&str> = n["last_commit"]["signed"]
            .as_array()
            .map(|a| a.iter().filter_map(|s| s.as_str()).collect())
            .unwrap_or_default();
        n["last_commit"]["height"].as_u64().unwrap_or(0) >= min_height && signed == names
    })
}

fn watch_status(watch_url: &str) -> serde_json::Value {
    serde_json::from_str(&http_body(&format!("{watch_url}/api/status"))).unwrap_or_default()
}

/// The largest share of voting power missing from the last commit that a node's own
/// metrics report to the devnet's watch.
fn missing_power(watch_url: &str) -> Option<f64> {
    watch_status(watch_url)["nodes"]
        .as_array()?
        .iter()
        .filter_map(|n| n["metrics"]["figures"]["missing_power_ratio"].as_f64())
        .reduce(f64::max)
}

/// The rules firing in the devnet's watch, leaving out the levels of the test
/// machine's own disk, memory and load: those are true of a busy shared machine and say
/// nothing of the devnet. A predicted `disk_full_in` is kept: a fresh watch must not
/// project a burst of writes onto the next day.
fn firing_rules(watch_url: &str) -> Vec<String> {
    const MACHINE_LEVELS: [&str; 3] = ["disk_used", "memory_used", "load_per_cpu"];
    watch_status(watch_url)["alerts"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["rule"].as_str().map(str::to_string))
                .filter(|r| !MACHINE_LEVELS.contains(&r.as_str()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_devnet_watch_alerts_when_val0_stops_signing_and_resolves_when_it_signs_again() {
    let net = bulwark().devnet();
    let up = net.up(&["--validators", "4"]);
    let watch_started = std::time::Instant::now();
    let url = up["status"]["watch_process"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    net.wait_status("val0 signing", Duration::from_secs(90), |s| {
        commit_signers(s, 4).is_some_and(|(_, who)| who.iter().any(|w| w == "val0"))
    });
    assert!(
        firing_rules(&url).is_empty(),
        "alerts on a healthy devnet: {:?}",
        firing_rules(&url)
    );
    // The watch reads every node's own metrics.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let s = watch_status(&url);
        let nodes = s["nodes"].as_array().cloned().unwrap_or_default();
        // A node's figures come with the scrape after its metrics first answer.
        let read = |n: &serde_json::Value| {
            n["metrics"]["up"] == true && n["metrics"]["figures"]["consensus_rounds"].is_u64()
        };
        if nodes.len() >= 5 && nodes.iter().all(read) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "node metrics: {s:#}");
        std::thread::sleep(Duration::from_millis(250));
    }
    // val0 and val0-backup peer only with the sentry, by design: once peers_low's hold
    // (a minute) has passed, the devnet's watch still raises no peers_low on them.
    let held = watch_started + Duration::from_secs(70);
    while std::time::Instant::now() < held {
        let firing = firing_rules(&url);
        assert!(
            !firing.iter().any(|r| r == "peers_low"),
            "peers_low on a healthy devnet: {firing:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        !firing_rules(&url).iter().any(|r| r == "peers_low"),
        "peers_low on a healthy devnet: {:?}",
        firing_rules(&url)
    );

    assert!(net.cmd("stop", &["signer"]).status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while !firing_rules(&url).iter().any(|r| r == "missed_in_a_row") {
        assert!(
            std::time::Instant::now() < deadline,
            "no missed-blocks alert: {:?}",
            firing_rules(&url)
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    // val0 holds a quarter of the power: the nodes' metrics show it missing.
    while missing_power(&url).is_none_or(|m| m < 0.24) {
        assert!(
            std::time::Instant::now() < deadline,
            "missing power not seen: {:#}",
            watch_status(&url)["nodes"]
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    let again = net.up(&[]);
    assert_eq!(again["started"], serde_json::json!(["signer"]), "{again:#}");
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while firing_rules(&url).iter().any(|r| r == "missed_in_a_row") {
        assert!(
            std::time::Instant::now() < deadline,
            "the alert did not resolve: {:?}",
            firing_rules(&url)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

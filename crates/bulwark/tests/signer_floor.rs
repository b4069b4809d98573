//! The signer's safety nets against a real CometBFT devnet: a fresh sign state behind a
//! live chain takes its floor above the chain's tip + 1, the chain's RPC endpoints are
//! checked before they are believed, and a far jump from a node-side client (a broken
//! node or a man in the middle) is refused while the real votes go on.

mod common;

use common::*;
use privval::{Line, Response};
use signer::config::ChainConfig;
use std::path::Path;
use std::time::Duration;
use testkit::link::Link;
use testkit::node::*;
use testkit::votes::prevote;

const MINUTE: Duration = Duration::from_secs(60);

/// The number after `key` on the last log line that contains `what`.
fn logged(log: &str, what: &str, key: &str) -> Option<i64> {
    let line = log.lines().rev().find(|l| l.contains(what))?;
    let at = line.find(key)? + key.len();
    line[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .ok()
}

/// Whether the canonical commit for `height` carries `address`'s signature.
fn signed_at(rpc: &str, address: &str, height: u64) -> bool {
    scan_chain(rpc, address, height, height).signed == vec![height]
}

fn wait_height(net: &Devnet, height: u64, what: &str) {
    net.wait_status(what, 2 * MINUTE, |s| best_height(s) >= height);
}

fn metric(metrics_url: &str, line_start: &str) -> Option<f64> {
    http_body(metrics_url)
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn a_fresh_state_behind_the_chain_signs_from_tip_plus_2_and_a_far_jump_is_refused() {
    let net = bulwark().devnet();
    let up = net.up(&["--validators", "4", "--signer", "bulwark"]);
    let status = up["status"].clone();
    let chain = status["chain_id"].as_str().unwrap().to_string();
    let rpc = node(&status, "val1")["rpc_url"]
        .as_str()
        .unwrap()
        .to_string();
    let val0 = validator_address(&status, "val0");
    let sp = &status["signer_process"];
    let state = Path::new(sp["state"].as_str().unwrap()).to_path_buf();
    let config = Path::new(sp["config"].as_str().unwrap()).to_path_buf();
    let metrics_url = sp["metrics_url"].as_str().unwrap().to_string();
    net.wait_status("val0 signing", 2 * MINUTE, |s| {
        commit_signers(s, 3).is_some_and(|(_, who)| who.iter().any(|w| w == "val0"))
    });

    // The state is lost: the signer comes back with a fresh one while the chain is live.
    let o = net.cmd("stop", &["signer"]);
    assert!(o.status.success(), "{}", text(&o));
    std::fs::remove_file(&state).unwrap();
    bulwark().state_init(&chain, 0, &state);
    let stopped_at = best_height(&net.status());
    net.up(&[]);
    let log_path = net.dir.join("logs/signer.log");
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let deadline = std::time::Instant::now() + MINUTE;
    let (tip, floor) = loop {
        let l = log();
        if let (Some(t), Some(f)) = (
            logged(&l, "floor raised from the chain", "chain_tip="),
            logged(&l, "floor raised from the chain", "floor="),
        ) {
            break (t as u64, f as u64);
        }
        assert!(std::time::Instant::now() < deadline, "no floor:\n{l}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(floor, tip + 2, "{}", log());
    assert!(tip >= stopped_at, "tip {tip} below {stopped_at}");
    let l = log();
    assert!(l.contains("the chain shows this key signing"), "{l}");
    for n in ["sentry0", "val1", "val2"] {
        let url = node(&status, n)["rpc_url"].as_str().unwrap().to_string();
        assert!(
            l.contains(&format!("rpc source usable chain={chain} source={url}"))
                || l.contains(&format!("rpc source usable chain=\"{chain}\" source={url}")),
            "{n} not reported:\n{l}"
        );
    }

    // The chain keeps going; val0 is silent at the tip + 1 and signs again from the floor.
    wait_height(&net, floor + 4, "the chain past the floor");
    assert!(
        !signed_at(&rpc, &val0, tip + 1),
        "val0 signed at the tip + 1 ({})",
        tip + 1
    );
    let back = (floor..=floor + 3).find(|h| signed_at(&rpc, &val0, *h));
    assert!(
        back.is_some(),
        "val0 did not sign from the floor {floor} on"
    );
    assert!(
        metric(&metrics_url, "bulwark_signer_chain_floor_height{") == Some(floor as f64),
        "{}",
        http_body(&metrics_url)
    );

    // A node-side client beside the real nodes sends a prevote 1000 heights ahead.
    let o = net.cmd("stop", &["signer"]);
    assert!(o.status.success(), "{}", text(&o));
    let mitm = FakeNode::listen();
    let cfg = net.tmp.path().join("mitm.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &cfg,
        format!(
            "{text}\n[[chain.node]]\nname = \"mitm\"\naddr = \"tcp://127.0.0.1:{}\"\n",
            mitm.port
        ),
    )
    .unwrap();
    let signer = bulwark().signer(&cfg);
    let mut c = mitm
        .try_accept(Line::V0_38, MINUTE)
        .unwrap_or_else(|| panic!("the signer did not dial:\n{}", signer.log_text()));
    let now = best_height(&net.status()) as i64;
    match c.call(&prevote(&chain, now + 1000, 9, 0)) {
        Response::Error { error, .. } => assert!(
            error.description.contains("1000 heights above")
                || error
                    .description
                    .contains("heights above the last signed height"),
            "{}",
            error.description
        ),
        other => panic!("a prevote 1000 heights ahead was signed: {other:?}"),
    }
    let refused = "bulwark_signer_refusals_total{chain=\"".to_string() + &chain;
    let jumps = http_body(&metrics_url)
        .lines()
        .find(|l| l.starts_with(&refused) && l.contains("reason=\"height_jump\""))
        .map(str::to_string);
    assert!(
        jumps.as_deref().is_some_and(|l| l.ends_with(" 1")),
        "{jumps:?}\n{}",
        http_body(&metrics_url)
    );
    // The real nodes' next votes are signed.
    let after = best_height(&net.status());
    wait_height(&net, after + 4, "the chain after the jump");
    let signed = (after + 1..=after + 3).any(|h| signed_at(&rpc, &val0, h));
    assert!(
        signed,
        "val0 stopped signing after the jump:\n{}",
        signer.log_text()
    );
    let scan = scan_chain(&rpc, &val0, 2, after + 3);
    assert!(scan.evidence.is_empty(), "evidence: {:?}", scan.evidence);
}

fn restart_isolated(net: &Devnet, name: &str) {
    let o = net.cmd("stop", &[name]);
    assert!(o.status.success(), "{}", text(&o));
    isolate(&net.dir.join("nodes").join(name));
    net.up(&[]);
}

/// A signer for a copy of val0's key with a fresh state and the given RPC list.
fn signer_with(
    dir: &Path,
    chain: &str,
    key: &Path,
    rpc: &[String],
    edit: impl FnOnce(&mut ChainConfig),
) -> (SignerProc, FakeNode) {
    std::fs::create_dir_all(dir).unwrap();
    let state = dir.join("val0.state");
    bulwark().state_init(chain, 0, &state);
    let node = FakeNode::listen();
    let config = write_config(dir, chain, "v0.38", key, &state, &[node.port], None);
    edit_chain(&config, |c| {
        c.rpc = rpc.to_vec();
        edit(c);
    });
    (bulwark().signer(&config), node)
}

#[test]
fn rpc_sources_catching_up_stale_or_garbage_are_named_and_not_used() {
    let net = bulwark().devnet();
    let up = net.up(&["--validators", "4", "--signer", "file"]);
    let status = up["status"].clone();
    let chain = status["chain_id"].as_str().unwrap().to_string();
    let url = |n: &str| node(&status, n)["rpc_url"].as_str().unwrap().to_string();
    net.wait_status("val0 signing", 2 * MINUTE, |s| {
        commit_signers(s, 3).is_some_and(|(_, who)| who.iter().any(|w| w == "val0"))
    });
    let key = net.tmp.path().join("val0.json");
    std::fs::copy(net.dir.join("keys/val0/priv_validator_key.json"), &key).unwrap();
    let garbage = HttpStub::start("200 OK", "<html>this is not an RPC</html>");
    let down = format!("http://127.0.0.1:{}", free_port());

    // val0's backup node restarts with no peers and block sync on: it waits to catch up.
    restart_isolated(&net, "val0-backup");
    let backup = url("val0-backup");
    net.wait_status("the backup catching up", MINUTE, |s| {
        node(s, "val0-backup")["catching_up"] == true
    });
    let rpc = vec![
        backup.clone(),
        garbage.url.clone(),
        down.clone(),
        url("val1"),
    ];
    let (mut s1, n1) = signer_with(&net.tmp.path().join("s1"), &chain, &key, &rpc, |_| {});
    let c = n1.try_accept(Line::V0_38, MINUTE);
    let log = s1.log_text();
    assert!(c.is_some(), "the signer did not start:\n{log}");
    assert!(
        log.contains(&format!("source={backup}")) && log.contains("catching up"),
        "{log}"
    );
    assert!(
        log.contains(&garbage.url) && log.contains("not a CometBFT RPC answer"),
        "{log}"
    );
    assert!(log.contains(&down) && log.contains("unreachable"), "{log}");
    let floor_line = log
        .lines()
        .find(|l| l.contains("floor raised from the chain"))
        .unwrap_or_else(|| panic!("{log}"));
    let best = logged(&log, "rpc source usable", "tip=").unwrap();
    assert!(
        floor_line.contains(&format!("floor={}", best + 2)),
        "the floor is not from val1's tip {best}: {floor_line}"
    );
    drop(c);
    assert_eq!(s1.wait_exit(Duration::from_millis(10)), None);
    drop(s1);

    // No usable source at all: it refuses to start and names each.
    let bad = vec![backup.clone(), garbage.url.clone(), down.clone()];
    let (mut s2, n2) = signer_with(&net.tmp.path().join("s2"), &chain, &key, &bad, |c| {
        c.chain_check_wait = Duration::from_secs(2)
    });
    assert_eq!(s2.wait_exit(MINUTE), Some(1), "{}", s2.log_text());
    let log = s2.log_text();
    assert!(log.contains("no usable RPC source"), "{log}");
    for (u, why) in [
        (&backup, "catching up"),
        (&garbage.url, "not a CometBFT RPC answer"),
        (&down, "unreachable"),
    ] {
        assert!(log.contains(&format!("{u}: {why}")), "{u} {why}:\n{log}");
    }
    assert!(log.contains("--skip-chain-checks"), "{log}");
    assert!(n2
        .try_accept(Line::V0_38, Duration::from_millis(300))
        .is_none());

    // The backup again, reaching the network only through a link this test cuts once
    // it is in consensus: caught up by its own account, but its latest block gets old.
    let o = net.cmd("stop", &["val0-backup"]);
    assert!(o.status.success(), "{}", text(&o));
    let sentry_p2p = node(&status, "sentry0")["p2p_address"]
        .as_str()
        .unwrap()
        .to_string();
    let (sentry_id, sentry_addr) = sentry_p2p.split_once('@').unwrap();
    let link = Link::start(sentry_addr);
    let home = net.dir.join("nodes/val0-backup");
    let cfg_path = home.join("config/config.toml");
    let mut doc: toml_edit::DocumentMut =
        std::fs::read_to_string(&cfg_path).unwrap().parse().unwrap();
    doc["p2p"]["persistent_peers"] =
        toml_edit::value(format!("{sentry_id}@127.0.0.1:{}", link.port));
    std::fs::write(&cfg_path, doc.to_string()).unwrap();
    let _ = std::fs::remove_file(home.join("config/addrbook.json"));
    net.up(&[]);
    net.wait_status("the backup in consensus", 2 * MINUTE, |s| {
        node(s, "val0-backup")["catching_up"] == false
            && node(s, "val0-backup")["height"].as_u64() >= Some(best_height(s) - 1)
    });
    link.cut();
    std::thread::sleep(Duration::from_secs(4));
    let (mut s3, _n3) = signer_with(
        &net.tmp.path().join("s3"),
        &chain,
        &key,
        std::slice::from_ref(&backup),
        |c| {
            c.chain_check_wait = Duration::from_secs(1);
            c.rpc_max_block_age = Duration::from_secs(3);
        },
    );
    assert_eq!(s3.wait_exit(MINUTE), Some(1), "{}", s3.log_text());
    let log = s3.log_text();
    assert!(
        log.contains(&format!("{backup}: stale: its latest block")),
        "{log}"
    );

    // --skip-chain-checks starts it anyway, and says so.
    let cfg = net.tmp.path().join("s3/signer.toml");
    let skip = net.tmp.path().join("s3/skip.log");
    let mut d = bulwark().daemon(
        &[
            "signer",
            "run",
            "--skip-chain-checks",
            "--config",
            cfg.to_str().unwrap(),
        ],
        &skip,
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !d
        .log_text()
        .contains("--skip-chain-checks: NOT checking the chain")
    {
        assert!(std::time::Instant::now() < deadline, "{}", d.log_text());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(d.terminate(), Some(0), "{}", d.log_text());
}

//! A sealed signer on a real devnet: a vault made for three custodians with keys from
//! `ssh-keygen`, threshold 2, holding val0's key (the plaintext removed). The signer
//! starts sealed and val0 misses blocks; one custodian's share leaves it sealed; the
//! second opens it and val0 signs again; SIGKILL and restart: sealed again. Refused
//! shares, the audit trail, and no secret in logs or metrics.

mod common;

use common::*;
use std::time::{Duration, Instant};
use testkit::failover::{wait_val0_signs, wait_val0_silent};
use testkit::prom::{scraped, wait_scraped};
use testkit::ssh::keygen;
use testkit::vault::TestVault;

/// The devnet watch's firing alert `key`, if it fires.
fn alert(net: &Devnet, key: &str) -> Option<serde_json::Value> {
    let url = net.status()["watch_process"]["url"].as_str()?.to_string();
    let body = testkit::http::get(&format!("{url}/api/status"))?.1;
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    v["alerts"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .cloned()
}

fn wait_alert(net: &Devnet, key: &str, firing: bool) -> Option<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let a = alert(net, key);
        if a.is_some() == firing {
            return a;
        }
        assert!(
            Instant::now() < deadline,
            "the watch's {key} never became {}",
            if firing { "firing" } else { "resolved" }
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn a_sealed_signer_signs_only_once_two_custodians_open_it() {
    let net = bulwark().devnet();
    net.up(&["--validators", "4", "--signer", "bulwark"]);
    wait_val0_signs(&net, 2);
    let s = net.status();
    let chain = s["chain_id"].as_str().unwrap().to_string();
    let tmp = net.tmp.path();

    let vault = TestVault::init(&bulwark(), tmp, &["alice", "bob", "carol"], 2);
    let v = vault.file.to_str().unwrap();
    let key_file = net.dir.join("keys/val0/priv_validator_key.json");
    let key_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&key_file).unwrap()).unwrap();
    let secret = key_json["priv_key"]["value"].as_str().unwrap().to_string();
    let o = bulwark().run(&[
        "vault",
        "add",
        "--vault",
        v,
        "--chain",
        &chain,
        "--key",
        key_file.to_str().unwrap(),
        "--remove-plaintext",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!key_file.exists(), "the plaintext key is still there");
    let listed = json(&o);
    assert_eq!(
        listed["entries"][0]["address"],
        validator_address(&s, "val0"),
        "{listed:#}"
    );
    let vault_text = std::fs::read_to_string(&vault.file).unwrap();
    assert!(
        !vault_text.contains(&secret),
        "the key is in the vault file in the clear"
    );

    // The signer's config, with the key from the vault.
    let mut cfg = signer::Config::load(&net.dir.join("signer/signer.toml")).unwrap();
    cfg.chains[0].key = Some(format!("vault:{chain}").into());
    cfg.vault = Some(vault.section.clone());
    let sealed_cfg = tmp.join("sealed.toml");
    std::fs::write(&sealed_cfg, cfg.to_toml()).unwrap();
    let metrics = s["signer_process"]["metrics_url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(net.cmd("stop", &["signer"]).status.success());
    let audit_log = tmp.join("audit.log");
    let run = |log: &str| {
        bulwark().daemon(
            &[
                "signer",
                "run",
                "--config",
                sealed_cfg.to_str().unwrap(),
                "--audit-log",
                audit_log.to_str().unwrap(),
            ],
            &tmp.join(log),
        )
    };
    let mut signer = run("sealed-1.log");

    let sealed_series = format!("bulwark_signer_vault_sealed{{chain=\"{chain}\"}}");
    wait_scraped(&metrics, &sealed_series, &signer, |v| v == Some(1.0));
    let connected = format!("bulwark_signer_node_connected{{chain=\"{chain}\",node=\"val0\"}}");
    wait_scraped(&metrics, &connected, &signer, |v| v == Some(1.0));
    let silent_at = wait_val0_silent(&net, 3);
    // The devnet's watch tells the operator why: the key is sealed.
    let sealed_alert = format!("signer_sealed/signer/{chain}");
    let a = wait_alert(&net, &sealed_alert, true).unwrap();
    assert!(
        a["summary"]
            .as_str()
            .unwrap()
            .contains("bulwark vault unseal"),
        "{a:#}"
    );
    assert!(
        signer
            .log_text()
            .contains("sealed: signing nothing until 2 custodians"),
        "{}",
        signer.log_text()
    );

    let unseal = |name: &str| vault.unseal(&bulwark(), name);
    let o = unseal("alice");
    assert!(
        o.status.success() && text(&o).contains("sealed: 1 of 2 shares"),
        "{}",
        text(&o)
    );
    // Refused, each named, nothing opened: the same share again; a name that is no custodian.
    let o = unseal("alice");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("already counted"), "{}", text(&o));
    let mallory = keygen(tmp, "mallory", "ed25519");
    let o = vault.unseal_as(&bulwark(), "mallory", &mallory);
    assert!(
        !o.status.success() && text(&o).contains("mallory is not a custodian"),
        "{}",
        text(&o)
    );
    // bob's name with mallory's key: bob's share does not decrypt on mallory's side.
    let o = vault.unseal_as(&bulwark(), "bob", &mallory);
    assert!(
        !o.status.success() && text(&o).contains("does not decrypt"),
        "{}",
        text(&o)
    );
    assert_eq!(scraped(&metrics, "bulwark_signer_vault_shares"), Some(1.0));
    // Still sealed: blocks go by without val0.
    let h = best_height(&net.status());
    net.wait_status("three more blocks", Duration::from_secs(60), |s| {
        best_height(s) >= h + 3
    });
    let c = commit_signers(&net.status(), h + 2).unwrap();
    assert!(
        !c.1.iter().any(|n| n == "val0"),
        "val0 signed while sealed: {c:?}"
    );
    assert_eq!(scraped(&metrics, &sealed_series), Some(1.0));

    let o = unseal("bob");
    assert!(
        o.status.success() && text(&o).contains("the vault is open"),
        "{}",
        text(&o)
    );
    wait_scraped(&metrics, &sealed_series, &signer, |v| v == Some(0.0));
    let signed = wait_val0_signs(&net, silent_at);
    wait_alert(&net, &sealed_alert, false);
    let pid = signer.child.id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let locked: u64 = status
        .lines()
        .find(|l| l.starts_with("VmLck:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(locked > 0, "the signer's memory is not locked:\n{status}");

    // Nothing secret in the log or the metrics.
    let body = testkit::http::get(&metrics).unwrap().1;
    for text in [signer.log_text(), body] {
        assert!(
            !text.contains(&secret) && !text.contains("AGE-SECRET-KEY"),
            "a secret leaked:\n{text}"
        );
    }

    // SIGKILL and restart: sealed again.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let _ = signer.child.wait();
    let signer2 = run("sealed-2.log");
    wait_scraped(&metrics, &sealed_series, &signer2, |v| v == Some(1.0));
    wait_val0_silent(&net, 3);
    let after = best_height(&net.status());
    assert!(after > signed);

    // The audit trail: both shares, the refusals, the opening; it verifies.
    let shown = json(&bulwark().run(&[
        "audit",
        "show",
        "--log",
        audit_log.to_str().unwrap(),
        "--json",
    ]));
    let actions: Vec<(String, String)> = shown["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for want in [
        ("alice", "vault.share"),
        ("bob", "vault.share"),
        ("alice", "vault.share_refused"),
        ("mallory", "vault.share_refused"),
        ("bob", "vault.opened"),
    ] {
        assert!(
            actions.iter().any(|(a, x)| a == want.0 && x == want.1),
            "{want:?} missing from {actions:?}"
        );
    }
    let o = bulwark().run(&["audit", "verify", "--log", audit_log.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
}

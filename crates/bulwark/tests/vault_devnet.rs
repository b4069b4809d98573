//! A sealed signer on a real devnet: a vault made for three custodians with keys from
//! `ssh-keygen`, threshold 2, holding val0's key (the plaintext removed). The signer
//! starts sealed and val0 misses blocks; one custodian's share leaves it sealed; the
//! second opens it and val0 signs again; SIGKILL and restart: sealed again. Refused
//! shares, the audit trail, and no secret in logs or metrics.

mod common;

use common::*;
use std::time::{Duration, Instant};
use testkit::failover::{wait_val0_signs, wait_val0_silent};
use testkit::ssh::{keygen, public_key};

fn metric(url: &str, series: &str) -> Option<f64> {
    testkit::http::get(url).and_then(|(_, body)| sample(&body, series))
}

fn wait_metric(url: &str, series: &str, want: f64, log: &Daemon) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while metric(url, series) != Some(want) {
        assert!(
            Instant::now() < deadline,
            "{series} never became {want}; log:\n{}",
            log.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
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

    let mut custodians = String::new();
    let mut keys = Vec::new();
    for name in ["alice", "bob", "carol"] {
        let k = keygen(tmp, name, "ed25519");
        custodians.push_str(&format!(
            "[[custodian]]\nname = \"{name}\"\nssh = \"{}\"\n\n",
            public_key(&k)
        ));
        keys.push(k.to_str().unwrap().to_string());
    }
    std::fs::write(tmp.join("custodians.toml"), custodians).unwrap();
    let vault = tmp.join("vault.json");
    let v = vault.to_str().unwrap();
    let o = bulwark().run(&[
        "vault",
        "init",
        "--custodians",
        tmp.join("custodians.toml").to_str().unwrap(),
        "--threshold",
        "2",
        "--out",
        v,
    ]);
    assert!(o.status.success(), "{}", text(&o));
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
    let vault_text = std::fs::read_to_string(&vault).unwrap();
    assert!(
        !vault_text.contains(&secret),
        "the key is in the vault file in the clear"
    );

    // The signer's config, with the key from the vault.
    let link_key = tmp.join("unseal.key");
    let lk = json(&bulwark().run(&[
        "threshold",
        "link-key",
        "--out",
        link_key.to_str().unwrap(),
        "--json",
    ]));
    let link_public = lk["public_key"].as_str().unwrap().to_string();
    let unseal_addr = format!("127.0.0.1:{}", free_port());
    let mut cfg: toml::Value =
        toml::from_str(&std::fs::read_to_string(net.dir.join("signer/signer.toml")).unwrap())
            .unwrap();
    cfg["chain"][0]["key"] = toml::Value::String(format!("vault:{chain}"));
    let mut vt = toml::map::Map::new();
    vt.insert("file".into(), toml::Value::String(v.into()));
    vt.insert("listen".into(), toml::Value::String(unseal_addr.clone()));
    vt.insert(
        "link_key".into(),
        toml::Value::String(link_key.to_str().unwrap().into()),
    );
    cfg.as_table_mut()
        .unwrap()
        .insert("vault".into(), toml::Value::Table(vt));
    let sealed_cfg = tmp.join("sealed.toml");
    std::fs::write(&sealed_cfg, toml::to_string(&cfg).unwrap()).unwrap();
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
    wait_metric(&metrics, &sealed_series, 1.0, &signer);
    wait_metric(
        &metrics,
        &format!("bulwark_signer_node_connected{{chain=\"{chain}\",node=\"val0\"}}"),
        1.0,
        &signer,
    );
    let silent_at = wait_val0_silent(&net, 3);
    assert!(
        signer
            .log_text()
            .contains("sealed: signing nothing until 2 custodians"),
        "{}",
        signer.log_text()
    );

    let unseal_with = |name: &str, identity: &str| {
        bulwark().run(&[
            "vault",
            "unseal",
            "--signer",
            &unseal_addr,
            "--signer-key",
            &link_public,
            "--as",
            name,
            "--identity",
            identity,
        ])
    };
    let unseal = |who: usize, name: &str| unseal_with(name, &keys[who]);
    let o = unseal(0, "alice");
    assert!(
        o.status.success() && text(&o).contains("sealed: 1 of 2 shares"),
        "{}",
        text(&o)
    );
    // Refused, each named, nothing opened: the same share again; a name that is no custodian.
    let o = unseal(0, "alice");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("already counted"), "{}", text(&o));
    let mallory = keygen(tmp, "mallory", "ed25519");
    let o = unseal_with("mallory", mallory.to_str().unwrap());
    assert!(
        !o.status.success() && text(&o).contains("mallory is not a custodian"),
        "{}",
        text(&o)
    );
    // bob's name with mallory's key: bob's share does not decrypt on mallory's side.
    let o = unseal_with("bob", mallory.to_str().unwrap());
    assert!(
        !o.status.success() && text(&o).contains("does not decrypt"),
        "{}",
        text(&o)
    );
    assert_eq!(metric(&metrics, "bulwark_signer_vault_shares"), Some(1.0));
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
    assert_eq!(metric(&metrics, &sealed_series), Some(1.0));

    let o = unseal(1, "bob");
    assert!(
        o.status.success() && text(&o).contains("the vault is open"),
        "{}",
        text(&o)
    );
    wait_metric(&metrics, &sealed_series, 0.0, &signer);
    let signed = wait_val0_signs(&net, silent_at);
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
    wait_metric(&metrics, &sealed_series, 1.0, &signer2);
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

//! A PKCS#11 token whose PIN is in the vault, and which goes away and comes back, on a
//! real devnet. val0's key is in a SoftHSM2 token. The PIN is a vault secret, its file
//! removed: the signer starts sealed, reads only the public key, and logs in once two of
//! three custodians have opened the vault. Then the token is taken away (its slot gone,
//! as when a token is unplugged): val0 stops signing, the signer says why and counts it,
//! nothing is signed; the token comes back: the signer initializes the module again, logs
//! in by itself (audited) and val0 signs again. No evidence on chain; the PIN is in no log
//! and no metric.

mod common;

use common::*;
use testkit::failover::{wait_val0_signs, wait_val0_silent};
use testkit::pkcs11::{softhsm_token, PIN, SOFTHSM};
use testkit::prom::wait_scraped;
use testkit::vault::TestVault;

/// The `why` of every `pkcs11.login` in the audit log.
fn logins(audit_log: &std::path::Path) -> Vec<String> {
    let shown = json(&bulwark().run(&[
        "audit",
        "show",
        "--log",
        audit_log.to_str().unwrap(),
        "--json",
    ]));
    shown["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "pkcs11.login")
        .map(|e| e["detail"]["why"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_vault_pin_opens_the_token_and_a_token_that_goes_away_comes_back() {
    let net = bulwark().devnet();
    net.up(&["--validators", "4", "--signer", "bulwark"]);
    let start = wait_val0_signs(&net, 2);
    let s = net.status();
    let tmp = net.tmp.path();

    let token = softhsm_token(tmp, "val0");
    let key_file = net.dir.join("keys/val0/priv_validator_key.json");
    let o = bulwark().run(&[
        "signer",
        "pkcs11",
        "import",
        "--module",
        SOFTHSM,
        "--token",
        "val0",
        "--label",
        "val0",
        "--pin-file",
        token.pin_file.to_str().unwrap(),
        "--key",
        key_file.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));

    // The PIN goes into the vault and its file is removed.
    let vault = TestVault::init(&bulwark(), tmp, &["alice", "bob", "carol"], 2);
    let o = vault.run(
        &bulwark(),
        &[
            "add-secret",
            "val0-pin",
            token.pin_file.to_str().unwrap(),
            "--remove-plaintext",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(!token.pin_file.exists(), "the PIN file is still there");

    let mut cfg = signer::Config::load(&net.dir.join("signer/signer.toml")).unwrap();
    cfg.chains[0].key = None;
    cfg.chains[0].pkcs11 = Some(signer::keys::pkcs11::Pkcs11Config {
        module: SOFTHSM.into(),
        token: "val0".into(),
        key: "val0".into(),
        pin_file: None,
        pin: Some("vault:val0-pin".into()),
    });
    cfg.vault = Some(vault.section.clone());
    let token_cfg = tmp.join("token.toml");
    std::fs::write(&token_cfg, cfg.to_toml()).unwrap();
    let chain = cfg.chains[0].id.clone();
    let metrics = s["signer_process"]["metrics_url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(net.cmd("stop", &["signer"]).status.success());
    let audit_log = tmp.join("audit.log");
    let signer = bulwark().daemon(
        &[
            "signer",
            "run",
            "--config",
            token_cfg.to_str().unwrap(),
            "--audit-log",
            audit_log.to_str().unwrap(),
        ],
        &tmp.join("token-signer.log"),
    );

    // Sealed: the node has its public key (read without logging in), no signature.
    let sealed = format!("bulwark_signer_vault_sealed{{chain=\"{chain}\"}}");
    let connected = format!("bulwark_signer_node_connected{{chain=\"{chain}\",node=\"val0\"}}");
    wait_scraped(&metrics, &sealed, &signer, |v| v == Some(1.0));
    wait_scraped(&metrics, &connected, &signer, |v| v == Some(1.0));
    let silent_at = wait_val0_silent(&net, 3);
    assert!(
        signer
            .log_text()
            .contains("sealed: signing nothing until 2 custodians"),
        "{}",
        signer.log_text()
    );
    assert!(
        logins(&audit_log).is_empty(),
        "logged in while sealed: {:?}",
        logins(&audit_log)
    );

    let o = vault.unseal(&bulwark(), "alice");
    assert!(
        o.status.success() && text(&o).contains("sealed: 1 of 2 shares"),
        "{}",
        text(&o)
    );
    let o = vault.unseal(&bulwark(), "bob");
    assert!(
        o.status.success() && text(&o).contains("the vault is open"),
        "{}",
        text(&o)
    );
    wait_scraped(&metrics, &sealed, &signer, |v| v == Some(0.0));
    let signed = wait_val0_signs(&net, silent_at);
    assert_eq!(logins(&audit_log), ["unsealed"]);

    // The token goes away: val0 stops signing, and the signer says why.
    token.take_away();
    let gone_at = wait_val0_silent(&net, 3);
    assert!(gone_at > signed);
    let failed =
        format!("bulwark_signer_refusals_total{{chain=\"{chain}\",reason=\"key_failed\"}}");
    wait_scraped(&metrics, &failed, &signer, |v| v.is_some_and(|n| n >= 1.0));
    let log = signer.log_text();
    assert!(
        log.contains("refused: PKCS#11 token \"val0\"") && log.contains("nothing was signed"),
        "{log}"
    );

    // It comes back: a new login by itself, and val0 signs again.
    token.bring_back();
    let back = wait_val0_signs(&net, gone_at);
    assert_eq!(logins(&audit_log), ["unsealed", "token back"]);
    assert!(
        signer.log_text().contains("PKCS#11 login (token back)"),
        "{}",
        signer.log_text()
    );
    let last = wait_val0_signs(&net, back + 3);

    let rpc = node(&s, "val1")["rpc_url"].as_str().unwrap().to_string();
    let scan = scan_chain(&rpc, &validator_address(&s, "val0"), start, last);
    assert!(
        scan.evidence.is_empty(),
        "double-sign evidence: {:?}",
        scan.evidence
    );
    let body = testkit::http::get(&metrics).unwrap().1;
    for (what, text) in [("log", signer.log_text()), ("metrics", body)] {
        assert!(!text.contains(PIN), "the PIN is in the {what}:\n{text}");
    }
    let o = bulwark().run(&["audit", "verify", "--log", audit_log.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
}

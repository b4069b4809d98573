//! val0 signs through a PKCS#11 token (SoftHSM2) on a real devnet: its key imported as
//! sensitive and not extractable, the signer signing with CKM_EDDSA, nothing signed
//! twice. A wrong PIN, an unknown token and a second import are refused clearly.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use testkit::failover::wait_val0_signs;
use testkit::pkcs11::{softhsm_token, SOFTHSM as MODULE};

#[test]
fn val0_signs_through_softhsm2() {
    let net = bulwark().devnet();
    net.up(&["--validators", "4", "--signer", "bulwark"]);
    let start = wait_val0_signs(&net, 2);
    let s = net.status();
    let tmp = net.tmp.path();
    let token = softhsm_token(tmp, "val0");
    let pin = token.pin_file.clone();
    let key_file = net.dir.join("keys/val0/priv_validator_key.json");
    let token_args = [
        "--module",
        MODULE,
        "--token",
        "val0",
        "--label",
        "val0",
        "--pin-file",
        pin.to_str().unwrap(),
    ];
    let mut args = vec![
        "signer",
        "pkcs11",
        "import",
        "--key",
        key_file.to_str().unwrap(),
        "--json",
    ];
    args.extend_from_slice(&token_args);
    let imported = json(&bulwark().run(&args));
    assert_eq!(
        imported["address"],
        validator_address(&s, "val0"),
        "{imported:#}"
    );
    // The key never leaves the token: the show command finds it, sensitive and not
    // extractable (a token that let it out would be refused when the signer starts).
    let mut show = vec!["signer", "pkcs11", "show", "--json"];
    show.extend_from_slice(&token_args);
    assert_eq!(json(&bulwark().run(&show))["address"], imported["address"]);
    let bad_pin = tmp.join("bad-pin");
    std::fs::write(&bad_pin, "0000\n").unwrap();
    std::fs::set_permissions(&bad_pin, std::fs::Permissions::from_mode(0o600)).unwrap();
    let show_with = |token: &str, pin: &std::path::Path| {
        bulwark().run(&[
            "signer",
            "pkcs11",
            "show",
            "--module",
            MODULE,
            "--token",
            token,
            "--label",
            "val0",
            "--pin-file",
            pin.to_str().unwrap(),
        ])
    };
    let o = show_with("val0", &bad_pin);
    assert!(
        !o.status.success() && text(&o).contains("login failed (check the PIN)"),
        "{}",
        text(&o)
    );
    let o = show_with("nope", &pin);
    assert!(
        !o.status.success() && text(&o).contains("no such token"),
        "{}",
        text(&o)
    );
    // Importing again under the same label is refused.
    let again = bulwark().run(&args);
    assert!(
        !again.status.success() && text(&again).contains("already holds objects"),
        "{}",
        text(&again)
    );

    let mut cfg: toml::Value =
        toml::from_str(&std::fs::read_to_string(net.dir.join("signer/signer.toml")).unwrap())
            .unwrap();
    let chain = cfg["chain"][0].as_table_mut().unwrap();
    chain.remove("key");
    let mut p = toml::map::Map::new();
    for (k, v) in [
        ("module", MODULE),
        ("token", "val0"),
        ("key", "val0"),
        ("pin_file", pin.to_str().unwrap()),
    ] {
        p.insert(k.into(), toml::Value::String(v.into()));
    }
    chain.insert("pkcs11".into(), toml::Value::Table(p));
    let token_cfg = tmp.join("token.toml");
    std::fs::write(&token_cfg, toml::to_string(&cfg).unwrap()).unwrap();
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
            "--log-level",
            "info",
        ],
        &tmp.join("token-signer.log"),
    );
    let h = best_height(&net.status());
    let first = wait_val0_signs(&net, h);
    assert!(
        signer
            .log_text()
            .contains("signing through the PKCS#11 token"),
        "{}",
        signer.log_text()
    );

    let last = wait_val0_signs(&net, first + 3);
    let rpc = node(&s, "val1")["rpc_url"].as_str().unwrap().to_string();
    let scan = scan_chain(&rpc, &validator_address(&s, "val0"), start, last);
    assert!(
        scan.evidence.is_empty(),
        "double-sign evidence: {:?}",
        scan.evidence
    );
    assert!(first < last);
    let log = std::fs::read_to_string(&audit_log).unwrap();
    assert!(log.contains("pkcs11.login"), "{log}");
}

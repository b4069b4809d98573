//! `bulwark threshold dkg`: three processes make a new 2-of-3 key over their links; each
//! writes only its own share, all report the same validator, `show` agrees, a second run
//! refuses to overwrite a share, and the three as `bulwark signer run` cosigners make a
//! signature that verifies under the new key. A participant that cannot write its share
//! aborts the run, and no participant keeps one; a share left pending by an unfinished
//! run stops the next one until the operator decides.

mod common;

use common::*;
use ed25519_dalek::{Signature, Verifier};
use privval::{Line, Response, SignedMsgType};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};
use testkit::trickle::Trickler;
use testkit::votes::{block, sign_vote, vote_at};

const CHAIN: &str = "threshold-dkg-1";
const LINE: Line = Line::V0_38;

/// `bulwark threshold dkg` for every config at once, the last one with text output and
/// the others with `--json`; their outputs.
fn dkg_all(configs: &[PathBuf], outs: &[PathBuf]) -> Vec<Output> {
    let children: Vec<_> = configs
        .iter()
        .zip(outs)
        .enumerate()
        .map(|(i, (c, o))| {
            let format: &[&str] = if i + 1 < configs.len() {
                &["--json"]
            } else {
                &[]
            };
            bulwark()
                .command()
                .args(["threshold", "dkg", "--threshold", "2", "--timeout", "60s"])
                .arg("--config")
                .arg(c)
                .arg("--out")
                .arg(o)
                .args(format)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("bulwark runs")
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().expect("bulwark exits"))
        .collect()
}

/// `bulwark threshold dkg --threshold 2` alone (the runs that refuse before listening).
fn dkg_one(config: &Path, out: &Path) -> Output {
    bulwark().run(&[
        "threshold",
        "dkg",
        "--config",
        config.to_str().unwrap(),
        "--threshold",
        "2",
        "--out",
        out.to_str().unwrap(),
    ])
}

fn pending(out: &Path) -> PathBuf {
    PathBuf::from(format!("{}.pending", out.display()))
}

fn share_path(config: &Path) -> PathBuf {
    config.parent().unwrap().join("share.json")
}

#[test]
fn three_cosigners_make_a_key_together_and_sign_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    let socks: Vec<_> = (0..3)
        .map(|i| tmp.path().join(format!("node{i}.sock")))
        .collect();
    let nodes: Vec<Vec<String>> = socks
        .iter()
        .map(|p| vec![format!("unix://{}", p.display())])
        .collect();
    let configs = dkg_cosigner_configs(tmp.path(), CHAIN, "v0.38", &nodes, |s| {
        bulwark().state_init(CHAIN, 0, s)
    });
    let outs: Vec<PathBuf> = configs.iter().map(|c| share_path(c)).collect();

    let outputs = dkg_all(&configs, &outs);
    for (o, out) in outputs.iter().zip(&outs) {
        assert!(o.status.success(), "dkg failed: {}", text(o));
        assert!(out.exists() && !pending(out).exists(), "{}", text(o));
    }
    let reports: Vec<serde_json::Value> = outputs[..2].iter().map(json).collect();
    let group = reports[0]["group_public_key"].as_str().unwrap().to_string();
    // The third printed text: the same key, and the pub_key object for create-validator.
    let third = String::from_utf8_lossy(&outputs[2].stdout).to_string();
    assert!(
        third.contains(&format!("group public key  {group}")),
        "{third}"
    );
    assert!(
        third.contains(&format!(
            r#"pub_key           {{"type":"tendermint/PubKeyEd25519","value":"{group}"}}"#
        )),
        "{third}"
    );
    assert!(
        third.contains("share             3 of 3 (any 2 sign)"),
        "{third}"
    );
    for (i, r) in reports.iter().enumerate() {
        assert_eq!(r["id"], i + 1, "{r}");
        assert_eq!(
            (r["threshold"].as_u64(), r["total"].as_u64()),
            (Some(2), Some(3))
        );
        assert_eq!(r["group_public_key"], group, "{r}");
        assert_eq!(r["address"], reports[0]["address"], "{r}");
        assert_eq!(r["pub_key"]["type"], "tendermint/PubKeyEd25519", "{r}");
        assert_eq!(r["pub_key"]["value"], group, "{r}");
        let printed = r.to_string();
        assert!(!printed.contains("priv_key") && !printed.contains("signing_share"));
    }
    for out in &outs {
        let mode = std::fs::metadata(out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "share file mode");
    }
    let key_bytes: [u8; 32] = base64_decode(&group).try_into().unwrap();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&key_bytes).unwrap();
    let address = hex::encode_upper(&sha256(&key_bytes)[..20]);
    assert_eq!(reports[0]["address"], address);

    for (i, out) in outs.iter().enumerate() {
        let o = bulwark().run(&[
            "threshold",
            "show",
            "--json",
            "--share",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        let v = json(&o);
        assert_eq!(v["group_public_key"], group, "{v}");
        assert_eq!(v["id"], i + 1, "{v}");
    }

    // A second run refuses before it starts: the share files exist.
    let o = dkg_one(&configs[0], &outs[0]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("already exists"), "{}", text(&o));

    // The three as cosigners; cosigner 1 serves the only node there is.
    let listener = UnixListener::bind(&socks[0]).unwrap();
    let cosigners: Vec<SignerProc> = configs
        .iter()
        .map(|c| bulwark().signer_with(c, &["--log-level", "info"]))
        .collect();
    let logs = || {
        cosigners
            .iter()
            .map(SignerProc::log_text)
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    let mut node = Trickler::accept_unix(&listener);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = vote_at(SignedMsgType::Prevote, 1, 0, Some(block(1)), 0);
        match node.call(LINE, &sign_vote(CHAIN, v)) {
            Response::SignedVote { vote } => {
                let sig = Signature::from_slice(&vote.signature).unwrap();
                key.verify(&privval::vote_sign_bytes(CHAIN, &vote), &sig)
                    .unwrap_or_else(|e| panic!("the signature does not verify: {e}"));
                break;
            }
            Response::Error { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
        assert!(Instant::now() < deadline, "no signature:\n{}", logs());
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_threshold_of_half_or_less_is_refused_before_listening() {
    let tmp = tempfile::tempdir().unwrap();
    let nodes: Vec<Vec<String>> = (0..4).map(|_| vec!["tcp://127.0.0.1:1".into()]).collect();
    let configs = dkg_cosigner_configs(tmp.path(), CHAIN, "v0.38", &nodes, |_| {});
    let out = share_path(&configs[0]);
    let o = dkg_one(&configs[0], &out);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("not more than half"), "{}", text(&o));
    assert!(!out.exists());
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn sha256(b: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(b).to_vec()
}

#[test]
fn a_participant_that_cannot_write_its_share_leaves_no_share_anywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let nodes: Vec<Vec<String>> = (0..3).map(|_| vec!["tcp://127.0.0.1:1".into()]).collect();
    let configs = dkg_cosigner_configs(tmp.path(), CHAIN, "v0.38", &nodes, |_| {});
    let mut outs: Vec<PathBuf> = configs.iter().map(|c| share_path(c)).collect();
    // Cosigner 3 writes into a directory that is not there.
    outs[2] = tmp.path().join("gone/share.json");
    let outputs = dkg_all(&configs, &outs);
    for (i, (o, out)) in outputs.iter().zip(&outs).enumerate() {
        assert!(!o.status.success(), "cosigner-{} succeeded", i + 1);
        assert!(
            !out.exists() && !pending(out).exists(),
            "cosigner-{} kept a share: {}",
            i + 1,
            text(o)
        );
    }
    assert!(
        text(&outputs[2]).contains("could not keep its share"),
        "{}",
        text(&outputs[2])
    );
    for o in &outputs[..2] {
        assert!(
            text(o).contains("cosigner-3 aborted the DKG: could not keep its share"),
            "{}",
            text(o)
        );
    }

    // A share left pending (here made by hand) stops the next run, which says what to do.
    std::fs::write(pending(&outs[0]), "{}").unwrap();
    let o = dkg_one(&configs[0], &outs[0]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("a share kept by a DKG that did not finish"),
        "{}",
        text(&o)
    );
}

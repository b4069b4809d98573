//! `bulwark signer run` driven over the real privval protocol by a stand-in node, for the
//! requests a healthy node never sends: conflicts, other chains, garbage, oversized frames.

mod common;

use common::*;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use privval::{Line, PublicKey, Request, Response, SignedMsgType};
use std::path::Path;
use std::time::Duration;
use testkit::node::*;
use testkit::votes::*;

const CHAIN: &str = "proto-chain-1";
const WAIT: Duration = Duration::from_secs(10);

struct Setup {
    _tmp: tempfile::TempDir,
    dir: std::path::PathBuf,
    key: VerifyingKey,
    config: std::path::PathBuf,
    state: std::path::PathBuf,
}

fn setup(line: &str, ports: &[u16], init_height: Option<i64>) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let (key_path, key) = write_key(&dir);
    let state = dir.join("chain.state");
    if let Some(h) = init_height {
        bulwark().state_init(CHAIN, h, &state);
    }
    let config = write_config(&dir, CHAIN, line, &key_path, &state, ports, None);
    Setup {
        _tmp: tmp,
        dir,
        key: key.verifying_key(),
        config,
        state,
    }
}

fn verify(key: &VerifyingKey, msg: &[u8], sig: &[u8]) {
    let sig = Signature::from_slice(sig).expect("64-byte signature");
    key.verify(msg, &sig).expect("signature verifies");
}

#[test]
fn every_line_signs_votes_proposals_and_extensions_that_verify() {
    for (name, line) in [
        ("v0.34", Line::V0_34),
        ("v0.38", Line::V0_38),
        ("v1.0", Line::V1_0),
        ("v0.40", Line::V0_40),
    ] {
        let node = FakeNode::listen();
        let s = setup(name, &[node.port], Some(0));
        let _signer = bulwark().signer(&s.config);
        let mut c = node.accept(line, WAIT);

        assert_eq!(c.call(&Request::Ping), Response::Ping);
        match c.call(&Request::PubKey {
            chain_id: CHAIN.into(),
        }) {
            Response::PubKey {
                pub_key: PublicKey::Ed25519(k),
            } => assert_eq!(k, s.key.as_bytes()),
            other => panic!("{name}: {other:?}"),
        }

        let proposal = proposal(1, 0, block(1), 0);
        match c.call(&sign_proposal(CHAIN, proposal.clone())) {
            Response::SignedProposal { proposal: p } => {
                verify(
                    &s.key,
                    &privval::proposal_sign_bytes(CHAIN, &p),
                    &p.signature,
                );
                assert_eq!(p.timestamp, proposal.timestamp);
            }
            other => panic!("{name}: {other:?}"),
        }

        let pv = signed_vote(c.call(&sign_vote(
            CHAIN,
            vote_at(SignedMsgType::Prevote, 1, 0, Some(block(1)), 1),
        )));
        verify(&s.key, &privval::vote_sign_bytes(CHAIN, &pv), &pv.signature);
        assert!(
            pv.extension_signature.is_empty(),
            "{name}: prevotes carry no extension signature"
        );

        let mut pc = vote_at(SignedMsgType::Precommit, 1, 0, Some(block(1)), 2);
        if line != Line::V0_34 {
            pc.extension = b"app data".to_vec();
        }
        let pc = signed_vote(c.call(&sign_vote(CHAIN, pc)));
        verify(&s.key, &privval::vote_sign_bytes(CHAIN, &pc), &pc.signature);
        if line == Line::V0_34 {
            assert!(pc.extension_signature.is_empty());
        } else {
            verify(
                &s.key,
                &privval::vote_extension_sign_bytes(CHAIN, &pc),
                &pc.extension_signature,
            );
        }

        if line == Line::V1_0 {
            let r = c.call(&Request::SignBytes {
                value: b"anything".to_vec(),
            });
            assert!(error_text(r).contains("allow_sign_bytes"), "{name}");
            // skip_extension_signing leaves the extension unsigned.
            let mut v = vote_at(SignedMsgType::Precommit, 2, 0, Some(block(2)), 3);
            v.extension = b"x".to_vec();
            let r = c.call(&Request::SignVote {
                chain_id: CHAIN.into(),
                vote: v,
                skip_extension_signing: true,
            });
            assert!(signed_vote(r).extension_signature.is_empty());
        }
    }
}

#[test]
fn the_guard_answers_over_the_wire_and_the_connection_stays_up() {
    let node = FakeNode::listen();
    let s = setup("v0.38", &[node.port], Some(0));
    let _signer = bulwark().signer(&s.config);
    let mut c = node.accept(Line::V0_38, WAIT);

    let first = signed_vote(c.call(&sign_vote(
        CHAIN,
        vote_at(SignedMsgType::Prevote, 5, 0, Some(block(5)), 10),
    )));
    // The same vote again (a restarted node): the same signature.
    let again = signed_vote(c.call(&sign_vote(
        CHAIN,
        vote_at(SignedMsgType::Prevote, 5, 0, Some(block(5)), 10),
    )));
    assert_eq!(again.signature, first.signature);
    // Only the timestamp differs: the stored signature and the stored timestamp.
    let restamped = signed_vote(c.call(&sign_vote(
        CHAIN,
        vote_at(SignedMsgType::Prevote, 5, 0, Some(block(5)), 99),
    )));
    assert_eq!(restamped.signature, first.signature);
    assert_eq!(restamped.timestamp, ts(10));
    verify(
        &s.key,
        &privval::vote_sign_bytes(CHAIN, &restamped),
        &restamped.signature,
    );

    // Another block at the same height/round/step: refused, it would be a double-sign.
    let r = error_text(c.call(&sign_vote(
        CHAIN,
        vote_at(SignedMsgType::Prevote, 5, 0, Some(block(6)), 10),
    )));
    assert!(r.contains("conflicting data at height 5 round 0"), "{r}");
    let r = error_text(c.call(&sign_vote(
        CHAIN,
        vote_at(SignedMsgType::Prevote, 5, 0, None, 10),
    )));
    assert!(r.contains("conflicting"), "{r}");
    // Going back.
    let r = error_text(c.call(&sign_vote(
        CHAIN,
        vote_at(SignedMsgType::Prevote, 4, 0, Some(block(4)), 10),
    )));
    assert!(r.contains("height 4") && r.contains("height 5"), "{r}");
    // Another chain.
    let r = error_text(c.call(&sign_vote(
        "other-chain",
        vote_at(SignedMsgType::Prevote, 6, 0, Some(block(6)), 10),
    )));
    assert!(
        r.contains("wrong chain ID") && r.contains("other-chain"),
        "{r}"
    );
    let r = error_text(c.call(&Request::PubKey {
        chain_id: "other-chain".into(),
    }));
    assert!(r.contains("wrong chain ID"), "{r}");
    // A malformed block ID.
    let mut bad = vote_at(SignedMsgType::Prevote, 6, 0, Some(block(6)), 10);
    bad.block_id.hash = vec![1; 5];
    let r = error_text(c.call(&sign_vote(CHAIN, bad)));
    assert!(r.contains("malformed block ID"), "{r}");
    // An extension on a prevote.
    let mut ext = vote_at(SignedMsgType::Prevote, 6, 0, Some(block(6)), 10);
    ext.extension = b"no".to_vec();
    let r = error_text(c.call(&sign_vote(CHAIN, ext)));
    assert!(r.contains("only allowed on a precommit"), "{r}");

    // After all that, the connection still serves and the state never went back.
    assert_eq!(c.call(&Request::Ping), Response::Ping);
    let next = signed_vote(c.call(&sign_vote(
        CHAIN,
        vote_at(SignedMsgType::Precommit, 5, 0, Some(block(5)), 11),
    )));
    verify(
        &s.key,
        &privval::vote_sign_bytes(CHAIN, &next),
        &next.signature,
    );
    let st = bulwark().state_show(&s.state);
    assert_eq!(
        (st["height"].as_i64(), st["step"].as_str()),
        (Some(5), Some("precommit")),
        "{st:#}"
    );
}

#[test]
fn nothing_below_an_imported_floor_is_signed() {
    let node = FakeNode::listen();
    let s = setup("v0.38", &[node.port], None);
    let pv_state = s.dir.join("priv_validator_state.json");
    std::fs::write(&pv_state, r#"{"height": "100", "round": 0, "step": 3}"#).unwrap();
    let o = bulwark().run(&[
        "signer",
        "state",
        "import",
        "--chain-id",
        CHAIN,
        "--from",
        pv_state.to_str().unwrap(),
        "--state",
        s.state.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let _signer = bulwark().signer(&s.config);
    let mut c = node.accept(Line::V0_38, WAIT);
    for (h, t) in [
        (1, SignedMsgType::Prevote),
        (99, SignedMsgType::Precommit),
        (100, SignedMsgType::Prevote),
        (100, SignedMsgType::Precommit),
    ] {
        let r = c.call(&sign_vote(CHAIN, vote_at(t, h, 0, Some(block(1)), 0)));
        assert!(
            matches!(r, Response::Error { .. }),
            "height {h} {t:?} was signed: {r:?}"
        );
    }
    let ok = signed_vote(c.call(&sign_vote(
        CHAIN,
        vote_at(SignedMsgType::Prevote, 101, 0, Some(block(1)), 0),
    )));
    verify(&s.key, &privval::vote_sign_bytes(CHAIN, &ok), &ok.signature);
}

#[test]
fn garbage_and_oversized_frames_drop_only_that_connection() {
    let a = FakeNode::listen();
    let b = FakeNode::listen();
    let s = setup("v0.38", &[a.port, b.port], Some(0));
    let signer = bulwark().signer(&s.config);
    let mut ca = a.accept(Line::V0_38, WAIT);
    let mut cb = b.accept(Line::V0_38, WAIT);
    signed_vote(cb.call(&sign_vote(
        CHAIN,
        vote_at(SignedMsgType::Prevote, 1, 0, Some(block(1)), 0),
    )));

    // A well-framed message that is not a privval message.
    ca.send_raw(&[5, 0xff, 0xff, 0xff, 0xff, 0xff]);
    assert!(
        ca.is_closed(),
        "the signer keeps a connection that sent garbage"
    );
    signed_vote(cb.call(&sign_vote(
        CHAIN,
        vote_at(SignedMsgType::Precommit, 1, 0, Some(block(1)), 0),
    )));

    // The signer redials; this time an oversized frame.
    let mut ca = a.accept(Line::V0_38, WAIT);
    ca.send_raw(&[0x80, 0x80, 0x40]); // length 1 MiB
    assert!(
        ca.is_closed(),
        "the signer keeps a connection that announced an oversized frame"
    );
    signed_vote(cb.call(&sign_vote(
        CHAIN,
        vote_at(SignedMsgType::Prevote, 2, 0, Some(block(2)), 0),
    )));

    // Raw bytes that fail SecretConnection authentication.
    let mut ca = a.accept(Line::V0_38, WAIT);
    ca.conn
        .get_ref()
        .try_clone()
        .unwrap()
        .write_all_raw(&[0u8; 1044]);
    assert!(
        ca.is_closed(),
        "the signer keeps a connection whose frames fail authentication"
    );
    signed_vote(cb.call(&sign_vote(
        CHAIN,
        vote_at(SignedMsgType::Precommit, 2, 0, Some(block(2)), 0),
    )));

    // And it still serves a well-behaved node on the first address.
    let mut ca = a.accept(Line::V0_38, WAIT);
    assert_eq!(ca.call(&Request::Ping), Response::Ping);
    let log = signer.log_text();
    assert!(log.contains("undecodable request"), "{log}");
    assert!(log.contains("exceeds the limit"), "{log}");
}

trait RawWrite {
    fn write_all_raw(&mut self, b: &[u8]);
}

impl RawWrite for std::net::TcpStream {
    fn write_all_raw(&mut self, b: &[u8]) {
        std::io::Write::write_all(self, b).unwrap();
    }
}

fn start_fails(config: &Path, node: &FakeNode) -> String {
    let mut p = bulwark().signer(config);
    let code = p.wait_exit(WAIT);
    assert_eq!(
        code,
        Some(1),
        "signer should refuse to start; log:\n{}",
        p.log_text()
    );
    assert!(
        node.try_accept(Line::V0_38, Duration::from_millis(300))
            .is_none(),
        "a signer that refused to start dialed a node"
    );
    p.log_text()
}

#[test]
fn bad_state_key_or_config_stops_the_signer_before_it_dials() {
    let node = FakeNode::listen();

    // Truncated state file.
    let s = setup("v0.38", &[node.port], Some(0));
    let bytes = std::fs::read(&s.state).unwrap();
    std::fs::write(&s.state, &bytes[..100]).unwrap();
    let log = start_fails(&s.config, &node);
    assert!(
        log.contains("corrupt") || log.contains("truncated"),
        "{log}"
    );
    assert!(
        log.contains("state import") || log.contains("restore"),
        "says how to recover: {log}"
    );

    // Corrupt (both slots damaged).
    let s = setup("v0.38", &[node.port], Some(0));
    let mut bytes = std::fs::read(&s.state).unwrap();
    for b in bytes.iter_mut().step_by(7) {
        *b ^= 0x5a;
    }
    std::fs::write(&s.state, &bytes).unwrap();
    let log = start_fails(&s.config, &node);
    assert!(log.contains("corrupt"), "{log}");

    // State of another chain.
    let s = setup("v0.38", &[node.port], None);
    bulwark().state_init("another-chain", 0, &s.state);
    let log = start_fails(&s.config, &node);
    assert!(log.contains("another-chain"), "{log}");

    // No state at all.
    let s = setup("v0.38", &[node.port], None);
    let log = start_fails(&s.config, &node);
    assert!(
        log.contains("state init") || log.contains("state import"),
        "{log}"
    );

    // Key file readable by others.
    let s = setup("v0.38", &[node.port], Some(0));
    let key = s.dir.join("priv_validator_key.json");
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let log = start_fails(&s.config, &node);
    assert!(log.contains("chmod 600"), "{log}");

    // A second signer on a state in use.
    let s = setup("v0.38", &[node.port], Some(0));
    let _first = bulwark().signer(&s.config);
    let _conn = node.accept(Line::V0_38, WAIT);
    let mut second = bulwark().signer(&s.config);
    assert_eq!(second.wait_exit(WAIT), Some(1), "{}", second.log_text());
    assert!(
        second
            .log_text()
            .contains("another signer process holds the lock"),
        "{}",
        second.log_text()
    );

    // Unknown config field: a usage error.
    let s = setup("v0.38", &[node.port], Some(0));
    add_to_chain(&s.config, "colour = \"red\"");
    let mut p = bulwark().signer(&s.config);
    assert_eq!(p.wait_exit(WAIT), Some(2), "{}", p.log_text());
    assert!(
        p.log_text().contains("unknown field `colour`"),
        "{}",
        p.log_text()
    );
}

#[test]
fn sigterm_drains_and_exits_cleanly() {
    let node = FakeNode::listen();
    let s = setup("v0.38", &[node.port], Some(0));
    let mut signer = bulwark().signer(&s.config);
    let mut c = node.accept(Line::V0_38, WAIT);
    signed_vote(c.call(&sign_vote(
        CHAIN,
        vote_at(SignedMsgType::Prevote, 1, 0, Some(block(1)), 0),
    )));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(signer.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(signer.wait_exit(WAIT), Some(0), "{}", signer.log_text());
    assert!(c.is_closed());
    // The lock is released: the state opens again.
    let o = bulwark().run(&[
        "signer",
        "state",
        "set",
        "--chain-id",
        CHAIN,
        "--height",
        "2",
        "--state",
        s.state.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn json_logs_and_metrics_carry_no_key_material() {
    let node = FakeNode::listen();
    let metrics_port = free_port();
    let tmp = tempfile::tempdir().unwrap();
    let (key_path, key) = write_key(tmp.path());
    let state = tmp.path().join("chain.state");
    bulwark().state_init(CHAIN, 0, &state);
    let config = write_config(
        tmp.path(),
        CHAIN,
        "v0.38",
        &key_path,
        &state,
        &[node.port],
        Some(metrics_port),
    );
    let signer = bulwark().signer_with(&config, &["--log-format", "json", "--log-level", "debug"]);
    let mut c = node.accept(Line::V0_38, WAIT);
    signed_vote(c.call(&sign_vote(
        CHAIN,
        vote_at(SignedMsgType::Prevote, 1, 0, Some(block(1)), 0),
    )));
    let r = error_text(c.call(&sign_vote(
        CHAIN,
        vote_at(SignedMsgType::Prevote, 1, 0, Some(block(2)), 0),
    )));
    assert!(r.contains("conflicting"), "{r}");

    let metrics = http_body(&format!("http://127.0.0.1:{metrics_port}/metrics"));
    assert!(
        metrics.contains(&format!(
            "bulwark_signer_refusals_total{{chain=\"{CHAIN}\",reason=\"conflicting_data\"}} 1"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "bulwark_signer_last_signed_height{{chain=\"{CHAIN}\"}} 1"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "bulwark_signer_node_connected{{chain=\"{CHAIN}\",node=\"node0\"}} 1"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("bulwark_signer_sign_duration_seconds_bucket"),
        "{metrics}"
    );

    let log = signer.log_text();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}"))
        })
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "chain ready"),
        "{log}"
    );
    assert!(
        lines.iter().any(|l| l["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("refused"))),
        "{log}"
    );
    // Neither the secret half of the key nor the whole keypair shows anywhere.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    for secret in [
        b64.encode(key.to_bytes()),
        hex::encode(key.to_bytes()),
        b64.encode(key.to_keypair_bytes()),
    ] {
        assert!(!log.contains(&secret), "key material in the logs");
        assert!(!metrics.contains(&secret), "key material in the metrics");
    }
}

#[test]
fn max_height_stops_signing_above_it() {
    let node = FakeNode::listen();
    let s = setup("v0.38", &[node.port], Some(0));
    edit_chain(&s.config, |c| c.max_height = Some(10));
    let _signer = bulwark().signer(&s.config);
    let mut c = node.accept(Line::V0_38, WAIT);
    signed_vote(c.call(&sign_vote(
        CHAIN,
        vote_at(SignedMsgType::Precommit, 10, 0, Some(block(1)), 0),
    )));
    let r = error_text(c.call(&sign_vote(
        CHAIN,
        vote_at(SignedMsgType::Prevote, 11, 0, Some(block(2)), 0),
    )));
    assert!(r.contains("11") && r.contains("10"), "{r}");
}

#[test]
fn one_process_signs_for_several_chains_over_tcp_and_unix() {
    use std::os::unix::net::UnixListener;
    let tmp = tempfile::tempdir().unwrap();
    let tcp_node = FakeNode::listen();
    let sock = tmp.path().join("node-b.sock");
    let unix_node = UnixListener::bind(&sock).unwrap();
    let mut text = String::new();
    let mut keys = Vec::new();
    for (i, (chain, addr)) in [
        ("chain-a", format!("tcp://127.0.0.1:{}", tcp_node.port)),
        ("chain-b", format!("unix://{}", sock.display())),
    ]
    .iter()
    .enumerate()
    {
        let d = tmp.path().join(format!("c{i}"));
        std::fs::create_dir_all(&d).unwrap();
        let (key, sk) = write_key(&d);
        keys.push(sk.verifying_key());
        let state = d.join("s.state");
        bulwark().state_init(chain, 0, &state);
        text.push_str(&format!(
            "[[chain]]\nid = {chain:?}\nkey = {key:?}\nstate = {state:?}\nprotocol = \"v0.38\"\n\n[[chain.node]]\nname = \"n\"\naddr = {addr:?}\n\n"
        ));
    }
    let config = tmp.path().join("signer.toml");
    std::fs::write(&config, text).unwrap();
    let _signer = bulwark().signer(&config);

    let mut a = tcp_node.accept(Line::V0_38, WAIT);
    let (stream, _) = unix_node.accept().unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut b = UnixNode::new(stream, Line::V0_38);

    let va = signed_vote(a.call(&sign_vote(
        "chain-a",
        vote_at(SignedMsgType::Prevote, 3, 0, Some(block(3)), 0),
    )));
    verify(
        &keys[0],
        &privval::vote_sign_bytes("chain-a", &va),
        &va.signature,
    );
    let vb = signed_vote(b.call(&sign_vote(
        "chain-b",
        vote_at(SignedMsgType::Prevote, 3, 0, Some(block(4)), 0),
    )));
    verify(
        &keys[1],
        &privval::vote_sign_bytes("chain-b", &vb),
        &vb.signature,
    );
    // Each connection belongs to its chain only.
    let r = error_text(a.call(&sign_vote(
        "chain-b",
        vote_at(SignedMsgType::Prevote, 4, 0, Some(block(4)), 0),
    )));
    assert!(r.contains("wrong chain ID"), "{r}");
}

#[test]
fn tmkms_state_files_import_and_never_lower() {
    let tmp = tempfile::tempdir().unwrap();
    let from = tmp.path().join("tmkms-state.json");
    let state = tmp.path().join("s.state");
    std::fs::write(
        &from,
        r#"{"height":"500","round":"0","step":1,"block_id":null}"#,
    )
    .unwrap();
    let args = |f: &std::path::Path| {
        bulwark().run(&[
            "signer",
            "state",
            "import",
            "--format",
            "tmkms",
            "--json",
            "--chain-id",
            CHAIN,
            "--from",
            f.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
        ])
    };
    let out = json(&args(&from));
    assert_eq!(out["action"], "created", "{out:#}");
    assert_eq!(
        (
            out["state"]["height"].as_i64(),
            out["state"]["step"].as_str()
        ),
        (Some(500), Some("prevote"))
    );
    // A lower state is not imported.
    std::fs::write(
        &from,
        r#"{"height":"400","round":"0","step":2,"block_id":null}"#,
    )
    .unwrap();
    let out = json(&args(&from));
    assert_eq!(out["action"], "kept", "{out:#}");
    assert_eq!(out["state"]["height"], 500);
    // A malformed one names the field and changes nothing.
    std::fs::write(&from, r#"{"height":"many","round":"0","step":2}"#).unwrap();
    let o = args(&from);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("height"),
        "{}",
        text(&o)
    );
    assert_eq!(bulwark().state_show(&state)["height"], 500);
}

#[test]
fn sign_bytes_when_allowed_never_covers_consensus_messages() {
    let node = FakeNode::listen();
    let s = setup("v1.0", &[node.port], Some(0));
    edit_chain(&s.config, |c| c.allow_sign_bytes = true);
    let _signer = bulwark().signer(&s.config);
    let mut c = node.accept(Line::V1_0, WAIT);
    match c.call(&Request::SignBytes {
        value: b"oracle price 42".to_vec(),
    }) {
        Response::SignBytes { signature } => verify(&s.key, b"oracle price 42", &signature),
        other => panic!("{other:?}"),
    }
    // Bytes that are a canonical vote would bypass the guard: refused.
    let v = vote_at(SignedMsgType::Prevote, 7, 0, Some(block(7)), 0);
    let r = error_text(c.call(&Request::SignBytes {
        value: privval::vote_sign_bytes(CHAIN, &v),
    }));
    assert!(r.contains("bypass the double-sign guard"), "{r}");
    // Nor over a vote extension's sign bytes: extensions are signed only with their
    // precommit, through the guard.
    let mut pc = vote_at(SignedMsgType::Precommit, 7, 0, Some(block(7)), 0);
    pc.extension = b"app data".to_vec();
    let r = error_text(c.call(&Request::SignBytes {
        value: privval::vote_extension_sign_bytes(CHAIN, &pc),
    }));
    assert!(r.contains("canonical vote extension"), "{r}");
}

#[test]
fn state_set_lowers_only_with_allow_lower_and_the_typed_chain_id() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("s.state");
    let st = state.to_str().unwrap();
    bulwark().state_init(CHAIN, 100, &state);
    let raised = json(&bulwark().run(&[
        "signer",
        "state",
        "set",
        "--json",
        "--chain-id",
        CHAIN,
        "--height",
        "120",
        "--state",
        st,
    ]));
    assert_eq!(raised["height"], 120);

    let o = bulwark().run(&[
        "signer",
        "state",
        "set",
        "--chain-id",
        CHAIN,
        "--height",
        "50",
        "--state",
        st,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--allow-lower"),
        "{}",
        text(&o)
    );

    let set_with = |position: &[&str], typed: &str| {
        let mut args = vec![
            "signer",
            "state",
            "set",
            "--allow-lower",
            "--chain-id",
            CHAIN,
            "--state",
            st,
        ];
        args.extend_from_slice(position);
        bulwark().run_typed(&args, typed)
    };
    let o = set_with(&["--height", "50"], "some-other-chain\n");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("nothing changed"),
        "{}",
        text(&o)
    );
    assert_eq!(bulwark().state_show(&state)["height"], 120);

    let o = set_with(&["--height", "50"], &format!("{CHAIN}\n"));
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(bulwark().state_show(&state)["height"], 50);

    // Lowering only the step (or the round) at the same height asks too, and first says
    // which record it forgets and why that is dangerous.
    let asked = format!(
        "{st} holds the record of height 50 round 0 step precommit (no signature kept, \
         sequence 3). Setting it to height 50 round 0 step prevote forgets that record: this \
         key may already have signed there or above, and a node that asks again would get a \
         second, conflicting signature, a double-sign. Type the chain ID ({CHAIN}) to confirm:"
    );
    let lower_step = ["--height", "50", "--step", "prevote"];
    let o = set_with(&lower_step, "");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains(&asked), "{stderr}");
    assert!(stderr.contains("nothing changed"), "{stderr}");
    assert_eq!(bulwark().state_show(&state)["step"], "precommit");
    let o = set_with(&lower_step, &format!("{CHAIN}\n"));
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(bulwark().state_show(&state)["step"], "prevote");

    // A signed record: the prompt says the signature is kept.
    let node = FakeNode::listen();
    let config = write_config(
        tmp.path(),
        CHAIN,
        "v0.38",
        &write_key(tmp.path()).0,
        &state,
        &[node.port],
        None,
    );
    {
        let _signer = bulwark().signer(&config);
        let mut c = node.accept(Line::V0_38, WAIT);
        signed_vote(c.call(&sign_vote(
            CHAIN,
            vote_at(SignedMsgType::Prevote, 60, 2, Some(block(1)), 0),
        )));
    }
    let o = set_with(&["--height", "60", "--round", "1"], "wrong\n");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let asked = format!(
        "{st} holds the record of height 60 round 2 step prevote (signature kept, sequence 5). \
         Setting it to height 60 round 1 step precommit forgets that record"
    );
    assert!(stderr.contains(&asked), "{stderr}");
    assert_eq!(bulwark().state_show(&state)["round"], 2);
}

//! Signatures against real OpenSSH: ours verify with `ssh-keygen -Y verify`, theirs
//! verify here, a key in a real `ssh-agent` signs through its public key file, and
//! the audit log catches edited, reordered and removed entries.

use audit::{AllowedSigners, AuditLog, Identity};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use testkit::ssh::{keygen, public_key as public, ssh_sign, ssh_verify};

#[test]
fn our_signatures_verify_with_openssh_and_theirs_with_us() {
    let dir = tempfile::tempdir().unwrap();
    for kind in ["ed25519", "rsa", "ecdsa"] {
        let key = keygen(dir.path(), &format!("alice_{kind}"), kind);
        let allowed = dir.path().join(format!("allowed_{kind}"));
        std::fs::write(&allowed, format!("alice {}\n", public(&key))).unwrap();
        let id = Identity::load(&key).unwrap();
        let msg = b"plan digest sha256:00ff\n";
        let sig = id.sign("bulwark-failover", msg).unwrap();
        let (ok, out) = ssh_verify(&allowed, "alice", "bulwark-failover", &sig, msg);
        assert!(ok, "{kind}: ssh-keygen refused our signature: {out}");
        let (ok, _) = ssh_verify(&allowed, "alice", "bulwark-audit", &sig, msg);
        assert!(!ok, "{kind}: another namespace must not verify");

        // ssh-keygen -Y sign, checked by us.
        let theirs = ssh_sign(&key, "bulwark-failover", msg);
        let pk = ssh_key::PublicKey::from_openssh(&public(&key)).unwrap();
        audit::sshsig::verify(&pk, "bulwark-failover", msg, &theirs).unwrap();
        let e = audit::sshsig::verify(&pk, "bulwark-failover", b"other", &theirs).unwrap_err();
        assert!(e.to_string().contains("does not verify"), "{e}");
        let other = ssh_key::PublicKey::from_openssh(&public(&keygen(
            dir.path(),
            &format!("mallory_{kind}"),
            kind,
        )))
        .unwrap();
        let e = audit::sshsig::verify(&other, "bulwark-failover", msg, &theirs).unwrap_err();
        assert!(e.to_string().contains("another key"), "{e}");
    }
}

#[test]
fn a_key_in_a_real_agent_signs_through_its_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "bob", "ed25519");
    let sock = dir.path().join("agent.sock");
    let mut agent = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !sock.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "ssh-agent did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let add = Command::new("ssh-add")
        .arg(&key)
        .env("SSH_AUTH_SOCK", &sock)
        .output()
        .unwrap();
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    // The private key file is gone: only the agent holds it.
    std::fs::remove_file(&key).unwrap();
    let pub_path = PathBuf::from(format!("{}.pub", key.display()));
    std::env::set_var("SSH_AUTH_SOCK", &sock);
    let id = Identity::load(&pub_path).unwrap();
    let sig = id.sign("bulwark-failover", b"hello").unwrap();
    let allowed = dir.path().join("allowed");
    std::fs::write(&allowed, format!("bob {}\n", public(&key))).unwrap();
    assert!(ssh_verify(&allowed, "bob", "bulwark-failover", &sig, b"hello").0);
    agent.kill().unwrap();
    let _ = agent.wait();
    let e = id
        .sign("bulwark-failover", b"again")
        .unwrap_err()
        .to_string();
    assert!(e.contains("agent"), "{e}");
    // A long message: ssh-keygen gives up on the missing agent before reading it all,
    // and its reason, not the broken pipe, is the error.
    let e = id
        .sign("bulwark-failover", &vec![7u8; 16 << 20])
        .unwrap_err()
        .to_string();
    assert!(e.contains("agent"), "{e}");
}

#[test]
fn a_passphrase_key_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("carol");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "secret", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success());
    let e = Identity::load(&key).unwrap_err().to_string();
    assert!(e.contains("passphrase") && e.contains("ssh-add"), "{e}");
}

fn lines(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_lines(log: &Path, l: &[String]) {
    std::fs::write(log, l.iter().map(|s| format!("{s}\n")).collect::<String>()).unwrap();
}

#[test]
fn the_log_chains_signs_and_catches_every_kind_of_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let alice = keygen(dir.path(), "alice", "ed25519");
    let mallory = keygen(dir.path(), "mallory", "ed25519");
    let allowed_path = dir.path().join("allowed");
    std::fs::write(
        &allowed_path,
        format!("alice {}\nmallory {}\n", public(&alice), public(&mallory)),
    )
    .unwrap();
    let allowed = AllowedSigners::load(&allowed_path).unwrap();
    let id = Identity::load(&alice).unwrap();
    let log_path = dir.path().join("audit.log");
    let log = AuditLog::new(&log_path);
    for i in 0..5 {
        log.append("alice", "test.step", serde_json::json!({"i": i}), Some(&id))
            .unwrap();
    }
    log.append("signer", "signer.start", serde_json::json!({}), None)
        .unwrap();
    let good = log.verify(Some(&allowed), None).unwrap();
    assert_eq!((good.entries, good.signed), (6, 5));
    let original = lines(&log_path);
    let head = std::fs::read(dir.path().join("audit.log.head")).unwrap();

    let check = |mutate: &dyn Fn(&mut Vec<String>), want: &str| {
        let mut l = original.clone();
        mutate(&mut l);
        write_lines(&log_path, &l);
        std::fs::write(dir.path().join("audit.log.head"), &head).unwrap();
        let problems = log.verify(Some(&allowed), None).unwrap_err().join("\n");
        assert!(problems.contains(want), "wanted {want:?} in:\n{problems}");
    };
    check(
        &|l| l[2] = l[2].replace("\"i\":2", "\"i\":7"),
        "entry 3 was edited",
    );
    check(&|l| l.swap(1, 3), "removed or reordered");
    check(
        &|l| {
            l.remove(2);
        },
        "entries removed or reordered",
    );
    check(
        &|l| {
            l.pop();
        },
        "removed from the end",
    );
    check(&|l| l[0].insert(0, 'x'), "line 1: not an audit entry");
    // A rewritten entry re-hashed and re-signed by another key: its hash chain breaks
    // for the next entry, and the signature is not alice's.
    check(
        &|l| {
            let mut e: audit::Entry = serde_json::from_str(&l[4]).unwrap();
            e.sig = Some(
                Identity::load(&mallory)
                    .unwrap()
                    .sign(audit::log::NAMESPACE, e.hash.as_bytes())
                    .unwrap(),
            );
            l[4] = serde_json::to_string(&e).unwrap();
        },
        "another key",
    );
    write_lines(&log_path, &original);
    std::fs::write(dir.path().join("audit.log.head"), &head).unwrap();
    let v = log.verify(Some(&allowed), Some(&good.head)).unwrap();
    assert_eq!(v.head, good.head);
    // The whole log rewritten with its head: a head kept elsewhere still catches it.
    let mut l = original.clone();
    l.truncate(3);
    write_lines(&log_path, &l);
    let _ = std::fs::remove_file(dir.path().join("audit.log.head"));
    let problems = log.verify(None, Some(&good.head)).unwrap_err().join("\n");
    assert!(
        problems.contains("expected head names entry 6"),
        "{problems}"
    );
    // A damaged log is never appended to.
    std::fs::write(&log_path, "garbage\n").unwrap();
    let e = log
        .append("alice", "x", serde_json::json!({}), None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("damaged") && e.contains("nothing was appended"),
        "{e}"
    );
}

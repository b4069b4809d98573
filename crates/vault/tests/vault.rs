//! The vault with real OpenSSH keys (`ssh-keygen`) and age identities: made, opened by
//! t custodians over the unseal channel, refusals, rekey.

use age::secrecy::{ExposeSecret, SecretString};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use testkit::ssh::{keygen, public_key};
use threshold::link::LinkKey;
use vault::custodians::Custodian;
use vault::unseal::{unseal, Unsealer};
use vault::{seal, Opening, VaultFile};

struct Team {
    dir: tempfile::TempDir,
    custodians: Vec<Custodian>,
    identities: Vec<PathBuf>,
}

fn team(ssh: usize, age_ids: usize) -> Team {
    let dir = tempfile::tempdir().unwrap();
    let (mut custodians, mut identities) = (Vec::new(), Vec::new());
    for i in 0..ssh {
        let name = format!("ssh{i}");
        let key = keygen(dir.path(), &name, if i == 1 { "rsa" } else { "ed25519" });
        custodians.push(Custodian {
            name,
            ssh: Some(public_key(&key)),
            age: None,
        });
        identities.push(key);
    }
    for i in 0..age_ids {
        let id = age::x25519::Identity::generate();
        let path = dir.path().join(format!("age{i}.txt"));
        std::fs::write(&path, format!("{}\n", id.to_string().expose_secret())).unwrap();
        custodians.push(Custodian {
            name: format!("age{i}"),
            ssh: None,
            age: Some(id.to_public().to_string()),
        });
        identities.push(path);
    }
    Team {
        dir,
        custodians,
        identities,
    }
}

/// Serve `n` connections; a custodian that gives up mid-way (a share that does not
/// decrypt on their side) ends its connection, which is not an outcome.
fn serve(
    unsealer: std::sync::Arc<Unsealer>,
    n: usize,
) -> (
    std::net::SocketAddr,
    std::thread::JoinHandle<Vec<vault::unseal::Outcome>>,
) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let h = std::thread::spawn(move || {
        (0..n)
            .filter_map(|_| unsealer.serve(l.accept().unwrap().0).ok())
            .collect()
    });
    (addr, h)
}

fn secret_of(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn two_of_three_open_over_the_channel_and_nothing_less() {
    let t = team(2, 1);
    let mut v = seal::init(&t.custodians, 2, false).unwrap();
    let key_file = t.dir.path().join("priv_validator_key.json");
    std::fs::write(&key_file, b"{\"secret\": \"the validator key\"}").unwrap();
    seal::add(&mut v, "chain-1", &secret_of(&key_file), None).unwrap();
    let vpath = t.dir.path().join("vault.json");
    v.save(&vpath).unwrap();
    let raw = std::fs::read_to_string(&vpath).unwrap();
    assert!(
        !raw.contains("the validator key"),
        "the secret is in the clear"
    );
    let v = VaultFile::load(&vpath).unwrap();

    let key = LinkKey::generate();
    let public = key.public();
    let u = std::sync::Arc::new(Unsealer::new(key, Opening::new(v.clone())));
    let (addr, h) = serve(u.clone(), 5);
    // A name that is not a custodian; then the age custodian; then the same again.
    let e = unseal(addr, &public, "mallory", &t.identities[0], None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("mallory is not a custodian"), "{e}");
    let r = unseal(addr, &public, "age0", &t.identities[2], None).unwrap();
    assert!(
        r.accepted && r.sealed && r.have == 1 && r.need == 2,
        "{r:?}"
    );
    let r = unseal(addr, &public, "age0", &t.identities[2], None).unwrap();
    assert!(
        !r.accepted && r.reason.as_deref().unwrap().contains("already counted"),
        "{r:?}"
    );
    // ssh0's name with ssh1's key: its share does not decrypt, and it could not sign.
    let e = unseal(addr, &public, "ssh0", &t.identities[1], None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not decrypt"), "{e}");
    let r = unseal(addr, &public, "ssh1", &t.identities[1], None).unwrap();
    assert!(r.accepted && !r.sealed, "{r:?}");
    let outcomes = h.join().unwrap();
    let opened = outcomes.into_iter().find_map(|o| o.opened).expect("opened");
    assert_eq!(
        &*opened.decrypt(v.entry("chain-1").unwrap()).unwrap(),
        b"{\"secret\": \"the validator key\"}"
    );
    assert_eq!(u.progress(), (2, 2));
    let dbg = format!("{opened:?}");
    assert!(
        dbg.contains("redacted") && !dbg.contains("AGE-SECRET"),
        "{dbg}"
    );
}

#[test]
fn a_listener_with_another_key_gets_nothing() {
    let t = team(1, 1);
    let v = seal::init(&t.custodians, 2, false).unwrap();
    let u = std::sync::Arc::new(Unsealer::new(LinkKey::generate(), Opening::new(v)));
    let (addr, _h) = serve(u.clone(), 1);
    let pinned = LinkKey::generate().public();
    let e = unseal(addr, &pinned, "ssh0", &t.identities[0], None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("127.0.0.1"), "{e}");
    assert_eq!(u.progress(), (0, 2));
}

#[test]
fn shares_are_checked_and_the_threshold_is_enforced() {
    let t = team(3, 0);
    assert!(seal::init(&t.custodians, 4, false)
        .unwrap_err()
        .to_string()
        .contains("more than the 3"));
    assert!(seal::init(&t.custodians, 1, false)
        .unwrap_err()
        .to_string()
        .contains("one custodian alone"));
    seal::init(&t.custodians, 1, true).unwrap();
    let a = seal::init(&t.custodians, 2, false).unwrap();
    let b = seal::init(&t.custodians, 2, false).unwrap();
    // A share of another vault does not count here.
    let share_b =
        vault::custodian::decrypt_share(b.custodian("ssh0").unwrap(), &t.identities[0], None)
            .unwrap();
    let mut o = Opening::new(a.clone());
    assert!(o
        .add("ssh0", share_b)
        .unwrap_err()
        .to_string()
        .contains("does not match"));
    let share =
        vault::custodian::decrypt_share(a.custodian("ssh0").unwrap(), &t.identities[0], None)
            .unwrap();
    assert!(o.add("ssh0", share.clone()).unwrap().is_none());
    assert!(o
        .add("ssh0", share)
        .unwrap_err()
        .to_string()
        .contains("already counted"));
}

#[test]
fn rekey_two_of_three_to_three_of_five_in_memory() {
    let t = team(3, 0);
    let mut v = seal::init(&t.custodians, 2, false).unwrap();
    seal::add(&mut v, "node-key", b"operational secret", None).unwrap();
    let mut o = Opening::new(v.clone());
    let mut opened = None;
    for i in 0..2 {
        let name = format!("ssh{i}");
        let s =
            vault::custodian::decrypt_share(v.custodian(&name).unwrap(), &t.identities[i], None)
                .unwrap();
        opened = o.add(&name, s).unwrap();
    }
    let opened = opened.unwrap();
    let five = team(3, 2);
    let next = seal::rekey(&opened, &five.custodians, 3, false).unwrap();
    assert_ne!(next.recipient, v.recipient);
    assert_eq!((next.threshold, next.custodians.len()), (3, 5));
    let mut o = Opening::new(next.clone());
    let mut done = None;
    for idx in [3, 0, 1] {
        let (name, path) = (&five.custodians[idx].name, &five.identities[idx]);
        let s = vault::custodian::decrypt_share(next.custodian(name).unwrap(), path, None).unwrap();
        done = o.add(name, s).unwrap();
    }
    let opened = done.expect("three of the five open it");
    assert_eq!(
        &*opened.decrypt(next.entry("node-key").unwrap()).unwrap(),
        b"operational secret"
    );
}

#[test]
fn a_passphrase_key_needs_the_right_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("carol");
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "correct horse", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success());
    let c = Custodian {
        name: "carol".into(),
        ssh: Some(public_key(&key)),
        age: None,
    };
    let other = team(1, 0);
    let mut all = other.custodians.clone();
    all.push(c);
    let v = seal::init(&all, 2, false).unwrap();
    let share = v.custodian("carol").unwrap();
    let e = vault::custodian::decrypt_share(share, &key, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("passphrase"), "{e}");
    let e =
        vault::custodian::decrypt_share(share, &key, Some(SecretString::from("wrong".to_string())))
            .unwrap_err()
            .to_string();
    assert!(e.contains("wrong passphrase"), "{e}");
    vault::custodian::decrypt_share(
        share,
        &key,
        Some(SecretString::from("correct horse".to_string())),
    )
    .unwrap();
}

#[test]
fn a_corrupt_vault_file_is_named_and_opens_nothing() {
    let t = team(2, 0);
    let v = seal::init(&t.custodians, 2, false).unwrap();
    let p = t.dir.path().join("vault.json");
    v.save(&p).unwrap();
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, &text[..text.len() / 2]).unwrap();
    let e = VaultFile::load(&p).unwrap_err().to_string();
    assert!(
        e.contains("damaged or not a vault") && e.contains("restore it from a copy"),
        "{e}"
    );
    std::fs::write(&p, text.replace("\"threshold\": 2", "\"threshold\": 3")).unwrap();
    assert!(VaultFile::load(&p)
        .unwrap_err()
        .to_string()
        .contains("threshold 3 of 2"));
}

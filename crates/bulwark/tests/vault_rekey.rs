//! `bulwark vault rekey` from 2-of-3 (SSH and age custodians) to 3-of-5: two current
//! custodians give their shares over the unseal channel, the new vault is written, and
//! nothing secret is ever on disk in the clear (the directory and the process's open
//! files are scanned while it runs). The new vault opens with three of the five.

mod common;

use age::secrecy::ExposeSecret;
use common::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use testkit::ssh::{keygen, public_key};

const SECRET: &str = "relayer mnemonic: abandon abandon abandon about";

/// `n` custodians (the first `ssh` with SSH keys, the rest age) in `dir`; their
/// custodians.toml and identity files.
fn custodians(dir: &Path, prefix: &str, ssh: usize, n: usize) -> (PathBuf, Vec<(String, PathBuf)>) {
    let mut toml = String::new();
    let mut ids = Vec::new();
    for i in 0..n {
        let name = format!("{prefix}{i}");
        if i < ssh {
            let k = keygen(dir, &name, "ed25519");
            toml.push_str(&format!(
                "[[custodian]]\nname = \"{name}\"\nssh = \"{}\"\n",
                public_key(&k)
            ));
            ids.push((name, k));
        } else {
            let id = age::x25519::Identity::generate();
            let path = dir.join(format!("{name}.age"));
            std::fs::write(&path, format!("{}\n", id.to_string().expose_secret())).unwrap();
            toml.push_str(&format!(
                "[[custodian]]\nname = \"{name}\"\nage = \"{}\"\n",
                id.to_public()
            ));
            ids.push((name, path));
        }
    }
    let path = dir.join(format!("{prefix}custodians.toml"));
    std::fs::write(&path, toml).unwrap();
    (path, ids)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// No file under `dir`, and none the process `pid` has open, holds `needle`.
fn assert_nothing_in_the_clear(dir: &Path, pid: u32, needle: &[u8]) {
    let mut files: Vec<PathBuf> = walk(dir);
    if let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        files.extend(
            fds.flatten()
                .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                .filter(|p| p.is_file()),
        );
    }
    for f in files {
        let bytes = std::fs::read(&f).unwrap_or_default();
        assert!(
            !contains(&bytes, needle),
            "{} holds the secret in the clear",
            f.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Start `vault rekey` from `from` to `custodians`/`threshold`; returns the daemon, its
/// address and its link public key.
fn rekey(
    dir: &Path,
    from: &Path,
    custodians: &Path,
    threshold: &str,
    out: &Path,
    log: &str,
) -> (Daemon, String, String) {
    let link = dir.join(format!("{log}.key"));
    let lk = json(&bulwark().run(&[
        "threshold",
        "link-key",
        "--out",
        link.to_str().unwrap(),
        "--json",
    ]));
    let addr = format!("127.0.0.1:{}", free_port());
    let d = bulwark().daemon(
        &[
            "vault",
            "rekey",
            "--vault",
            from.to_str().unwrap(),
            "--custodians",
            custodians.to_str().unwrap(),
            "--threshold",
            threshold,
            "--listen",
            &addr,
            "--link-key",
            link.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &dir.join(format!("{log}.log")),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "rekey did not listen: {}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (d, addr, lk["public_key"].as_str().unwrap().to_string())
}

fn unseal(addr: &str, key: &str, who: &(String, PathBuf)) -> String {
    let o = bulwark().run(&[
        "vault",
        "unseal",
        "--signer",
        addr,
        "--signer-key",
        key,
        "--as",
        &who.0,
        "--identity",
        who.1.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}: {}", who.0, text(&o));
    text(&o)
}

fn wait_written(d: &mut Daemon, out: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !out.exists() {
        assert!(Instant::now() < deadline, "no new vault: {}", d.log_text());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        testkit::process::wait_exit(&mut d.child, Duration::from_secs(10)),
        Some(0),
        "{}",
        d.log_text()
    );
}

#[test]
fn rekey_two_of_three_to_three_of_five_with_nothing_in_the_clear() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (old_toml, old) = custodians(dir, "old", 2, 3);
    let vault = dir.join("vault.json");
    let o = bulwark().run(&[
        "vault",
        "init",
        "--custodians",
        old_toml.to_str().unwrap(),
        "--threshold",
        "2",
        "--out",
        vault.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let wallet = dir.join("wallet.txt");
    std::fs::write(&wallet, SECRET).unwrap();
    let o = bulwark().run(&[
        "vault",
        "add-secret",
        "--vault",
        vault.to_str().unwrap(),
        "relayer-wallet",
        wallet.to_str().unwrap(),
        "--remove-plaintext",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!wallet.exists());
    assert_nothing_in_the_clear(dir, std::process::id(), SECRET.as_bytes());

    let (new_toml, new) = custodians(dir, "new", 3, 5);
    let next = dir.join("vault-3of5.json");
    let (mut d, addr, key) = rekey(dir, &vault, &new_toml, "3", &next, "rekey-1");
    assert!(unseal(&addr, &key, &old[2]).contains("sealed: 1 of 2 shares"));
    assert_nothing_in_the_clear(dir, d.child.id(), SECRET.as_bytes());
    assert!(unseal(&addr, &key, &old[0]).contains("the vault is open"));
    wait_written(&mut d, &next);
    assert_nothing_in_the_clear(dir, std::process::id(), SECRET.as_bytes());
    let listed =
        json(&bulwark().run(&["vault", "list", "--vault", next.to_str().unwrap(), "--json"]));
    assert_eq!(listed["threshold"], 3);
    assert_eq!(listed["custodians"].as_array().unwrap().len(), 5);
    assert_eq!(listed["entries"][0]["name"], "relayer-wallet");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&next).unwrap().permissions())
            & 0o777;
    assert_eq!(mode, 0o600);

    // Three of the new five open it (two are not enough); the old custodians cannot.
    let third = dir.join("vault-again.json");
    let (mut d, addr, key) = rekey(dir, &next, &new_toml, "3", &third, "rekey-2");
    let o = bulwark().run(&[
        "vault",
        "unseal",
        "--signer",
        &addr,
        "--signer-key",
        &key,
        "--as",
        "old0",
        "--identity",
        old[0].1.to_str().unwrap(),
    ]);
    assert!(
        !o.status.success() && text(&o).contains("old0 is not a custodian"),
        "{}",
        text(&o)
    );
    assert!(unseal(&addr, &key, &new[4]).contains("1 of 3"));
    assert!(unseal(&addr, &key, &new[1]).contains("2 of 3"));
    assert!(!third.exists());
    assert!(unseal(&addr, &key, &new[0]).contains("the vault is open"));
    wait_written(&mut d, &third);

    // And what it holds is the secret that went in.
    let v = vault::VaultFile::load(&third).unwrap();
    let mut opening = vault::Opening::new(v.clone());
    let mut opened = None;
    for who in [&new[0], &new[3], &new[2]] {
        let share =
            vault::custodian::decrypt_share(v.custodian(&who.0).unwrap(), &who.1, None).unwrap();
        opened = opening.add(&who.0, share).unwrap();
    }
    let secret = opened
        .unwrap()
        .decrypt(v.entry("relayer-wallet").unwrap())
        .unwrap();
    assert_eq!(&*secret, SECRET.as_bytes());
}

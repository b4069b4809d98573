//! People's SSH keys for tests, made and checked by real OpenSSH (`ssh-keygen`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A new key `dir/name` (no passphrase) of `kind` (`ed25519`, `rsa`, `ecdsa`).
pub fn keygen(dir: &Path, name: &str, kind: &str) -> PathBuf {
    let key = dir.join(name);
    let mut args = vec!["-q", "-t", kind, "-N", "", "-C", name, "-f"];
    if kind == "rsa" {
        args.splice(0..0, ["-b", "2048"]);
    }
    let out = Command::new("ssh-keygen")
        .args(&args)
        .arg(&key)
        .output()
        .expect("ssh-keygen runs (openssh-client)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    key
}

/// The public key line of key file `key` (from `key.pub`).
pub fn public_key(key: &Path) -> String {
    std::fs::read_to_string(format!("{}.pub", key.display()))
        .expect("public key file")
        .trim()
        .to_string()
}

/// `ssh-keygen -Y verify` of signature text `sig` over `msg`: whether OpenSSH accepts
/// it, and what it printed.
pub fn ssh_verify(
    allowed: &Path,
    principal: &str,
    ns: &str,
    sig: &str,
    msg: &[u8],
) -> (bool, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let sig_path = dir.path().join("m.sig");
    std::fs::write(&sig_path, sig).expect("write signature");
    let mut child = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-f"])
        .arg(allowed)
        .args(["-I", principal, "-n", ns, "-s"])
        .arg(&sig_path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ssh-keygen runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(msg)
        .expect("write message");
    let out = child.wait_with_output().expect("ssh-keygen ends");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// `ssh-keygen -Y sign` of `msg` with `key` in `ns`: the armored signature.
pub fn ssh_sign(key: &Path, ns: &str, msg: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("msg");
    std::fs::write(&file, msg).expect("write message");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", ns, "-f"])
        .arg(key)
        .arg(&file)
        .output()
        .expect("ssh-keygen runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(format!("{}.sig", file.display())).expect("signature file")
}

//! Horcrux (installed by `scripts/install-deps`), for the tests that import its files:
//! shard files from `horcrux create-ed25519-shards` and sign states from `horcrux state
//! import`, each in the caller's directory, and the ECIES keys its cosigners talk with.
//! Nothing here starts a Horcrux signer (it binds its p2p port on all interfaces; the
//! threshold bench starts its cosigners inside network namespaces).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The Horcrux version `scripts/install-deps` builds.
pub const HORCRUX_VERSION: &str = "v3.3.2";

/// The `horcrux` binary: `$BULWARK_HORCRUX`, or `<dir>/<version>/horcrux` where `<dir>` is
/// `$BULWARK_HORCRUX_DIR` or `<cache>/horcrux`, like `scripts/install-deps` installs it.
pub fn horcrux_binary() -> PathBuf {
    let p = horcrux_path();
    assert!(
        p.is_file(),
        "{} is missing: run scripts/install-deps (it builds Horcrux {HORCRUX_VERSION}), or set BULWARK_HORCRUX",
        p.display()
    );
    p
}

/// Where [`horcrux_binary`] looks, whether or not a file is there.
pub fn horcrux_path() -> PathBuf {
    if let Some(p) = std::env::var_os("BULWARK_HORCRUX") {
        return PathBuf::from(p);
    }
    let dir = std::env::var_os("BULWARK_HORCRUX_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| devnet::cometbft::cache_dir().join("horcrux"));
    dir.join(HORCRUX_VERSION).join("horcrux")
}

/// Run `horcrux ARGS` with `--home HOME`; panics with its output unless it succeeds.
/// Returns stdout.
pub fn horcrux(home: &Path, args: &[&str], stdin: &[u8]) -> String {
    horcrux_with(&horcrux_binary(), home, args, stdin)
}

/// [`horcrux`] with the binary `bin`.
pub fn horcrux_with(bin: &Path, home: &Path, args: &[&str], stdin: &[u8]) -> String {
    let mut child = Command::new(bin)
        .args(args)
        .arg("--home")
        .arg(home)
        .current_dir(home.parent().unwrap_or(home))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start horcrux");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "horcrux {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `horcrux create-ed25519-shards` of `key_file` for `chain_id`, t of n, into `out`:
/// returns the shard files, `out/cosigner_<id>/<chain>_shard.json`, in id order.
pub fn create_shards(
    out: &Path,
    chain_id: &str,
    key_file: &Path,
    threshold: u8,
    shards: u8,
) -> Vec<PathBuf> {
    create_shards_with(
        &horcrux_binary(),
        out,
        chain_id,
        key_file,
        threshold,
        shards,
    )
}

/// [`create_shards`] with the binary `bin`.
pub fn create_shards_with(
    bin: &Path,
    out: &Path,
    chain_id: &str,
    key_file: &Path,
    threshold: u8,
    shards: u8,
) -> Vec<PathBuf> {
    let home = out.join(".horcrux-home");
    std::fs::create_dir_all(&home).unwrap();
    horcrux_with(
        bin,
        &home,
        &[
            "create-ed25519-shards",
            "--chain-id",
            chain_id,
            "--key-file",
            key_file.to_str().unwrap(),
            "--threshold",
            &threshold.to_string(),
            "--shards",
            &shards.to_string(),
            "--out",
            out.to_str().unwrap(),
        ],
        b"",
    );
    (1..=shards)
        .map(|i| {
            let f = out
                .join(format!("cosigner_{i}"))
                .join(format!("{chain_id}_shard.json"));
            assert!(f.is_file(), "horcrux wrote no {}", f.display());
            f
        })
        .collect()
}

/// `horcrux create-ecies-shards` for `shards` cosigners into `out`: returns the key files,
/// `out/cosigner_<id>/ecies_keys.json`, in id order.
pub fn create_ecies_shards_with(bin: &Path, out: &Path, shards: u8) -> Vec<PathBuf> {
    let home = out.join(".horcrux-home");
    std::fs::create_dir_all(&home).unwrap();
    horcrux_with(
        bin,
        &home,
        &[
            "create-ecies-shards",
            "--shards",
            &shards.to_string(),
            "--out",
            out.to_str().unwrap(),
        ],
        b"",
    );
    (1..=shards)
        .map(|i| {
            let f = out.join(format!("cosigner_{i}")).join("ecies_keys.json");
            assert!(f.is_file(), "horcrux wrote no {}", f.display());
            f
        })
        .collect()
}

/// `horcrux state import CHAIN` in a fresh home `home`, fed `priv_validator_state_json`
/// (CometBFT's file): Horcrux writes both its state files for the chain. Returns the
/// state directory, `home/state`.
pub fn import_state(home: &Path, chain_id: &str, priv_validator_state_json: &str) -> PathBuf {
    let state = home.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let input = format!("{}\n\n", priv_validator_state_json.replace('\n', ""));
    horcrux(home, &["state", "import", chain_id], input.as_bytes());
    state
}

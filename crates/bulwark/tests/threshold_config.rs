//! A cosigner refuses to start on a broken threshold setup, saying what is wrong, before
//! it dials any node: a share file others can read, a share of another cosigner, a share
//! split for more cosigners than configured, a link key others can read, a share with no
//! `[threshold]`, and a doppelganger watch on a threshold key.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

const CHAIN: &str = "threshold-config-1";

fn setup(dir: &Path) -> Vec<PathBuf> {
    let (key, _) = write_key(dir);
    let nodes: Vec<Vec<String>> = (0..3)
        .map(|i| vec![format!("unix://{}/node{i}.sock", dir.display())])
        .collect();
    cosigner_configs(dir, CHAIN, "v0.38", &key, 2, &nodes, |s| {
        bulwark().state_init(CHAIN, 0, s)
    })
}

/// Run cosigner config `c`; it must exit with a failure whose output contains `want`.
fn refuses(c: &Path, want: &str) {
    let mut p = bulwark().signer(c);
    let code = p.wait_exit(Duration::from_secs(20));
    let log = p.log_text();
    assert!(matches!(code, Some(c) if c != 0), "exit {code:?}:\n{log}");
    assert!(log.contains(want), "expected {want:?} in:\n{log}");
}

fn edit(config: &Path, f: impl FnOnce(&mut signer::config::Config)) {
    let mut c = signer::config::Config::load(config).unwrap();
    f(&mut c);
    std::fs::write(config, c.to_toml()).unwrap();
}

#[test]
fn broken_threshold_setups_are_refused_with_a_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let configs = setup(tmp.path());
    let home = |i: usize| configs[i].parent().unwrap().to_path_buf();

    // A share file group or others can read.
    let share = home(0).join("share.json");
    std::fs::set_permissions(&share, std::fs::Permissions::from_mode(0o644)).unwrap();
    refuses(&configs[0], "chmod 600");
    std::fs::set_permissions(&share, std::fs::Permissions::from_mode(0o600)).unwrap();

    // Another cosigner's share.
    edit(&configs[0], |c| {
        c.chains[0].share = Some(home(1).join("share.json"));
    });
    refuses(&configs[0], "give each cosigner its own share");
    edit(&configs[0], |c| c.chains[0].share = Some(share.clone()));

    // Split for three cosigners, configured with one peer.
    edit(&configs[0], |c| {
        c.threshold.as_mut().unwrap().peers.truncate(1);
    });
    refuses(&configs[0], "split into 3 shares");

    // A link key others can read.
    let link = home(1).join("link.key");
    std::fs::set_permissions(&link, std::fs::Permissions::from_mode(0o644)).unwrap();
    refuses(&configs[1], "chmod 600");

    // No [threshold] section, and a doppelganger watch on a threshold key: config errors.
    edit(&configs[2], |c| c.threshold = None);
    let o = bulwark().run(&["signer", "run", "--config", configs[2].to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("share needs a [threshold] section"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_doppelganger_watch_on_a_threshold_key_is_a_config_error() {
    let tmp = tempfile::tempdir().unwrap();
    let configs = setup(tmp.path());
    edit(&configs[0], |c| {
        c.chains[0].doppelganger_blocks = 3;
        c.chains[0].rpc = vec!["http://127.0.0.1:1".into()];
    });
    let o = bulwark().run(&["signer", "run", "--config", configs[0].to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("doppelganger_blocks must be 0 for a threshold key"),
        "{}",
        text(&o)
    );
}

/// `bulwark threshold repin` on a cosigner's config: share 2 pinned to a new host's link
/// key; an unknown share id or a key another peer has is refused and changes nothing;
/// the re-pinned config loads, and the old file is kept.
#[test]
fn repin_changes_one_peer_and_refuses_what_would_not_load() {
    let tmp = tempfile::tempdir().unwrap();
    let configs = setup(tmp.path());
    let c = configs[0].to_str().unwrap();
    let before = std::fs::read_to_string(&configs[0]).unwrap();
    let new_key = tmp.path().join("new-link.key");
    let made = json(&bulwark().run(&[
        "threshold",
        "link-key",
        "--out",
        new_key.to_str().unwrap(),
        "--json",
    ]));
    let public = made["public_key"]
        .as_str()
        .unwrap_or_else(|| panic!("{made:#}"))
        .to_string();
    for (args, want) in [
        (
            vec!["--id", "9", "--link-public-key", &public],
            "no [[threshold.peer]] with id = 9",
        ),
        (
            vec!["--id", "2", "--link-public-key", "short"],
            "44 characters",
        ),
    ] {
        let mut all = vec!["threshold", "repin", "--config", c];
        all.extend(args);
        let o = bulwark().run(&all);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains(want), "{want:?} not in {}", text(&o));
    }
    // Cosigner 1 already pins cosigner 3's key (as share 3): it cannot be share 2's too.
    let own_peer3 = signer::config::Config::load(&configs[0])
        .unwrap()
        .threshold
        .unwrap()
        .peers
        .iter()
        .find(|p| p.id == 3)
        .unwrap()
        .link_public_key
        .to_string();
    let o = bulwark().run(&[
        "threshold",
        "repin",
        "--config",
        c,
        "--id",
        "2",
        "--link-public-key",
        &own_peer3,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("same link_public_key"), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&configs[0]).unwrap(), before);

    let r = json(&bulwark().run(&[
        "threshold",
        "repin",
        "--config",
        c,
        "--id",
        "2",
        "--link-public-key",
        &public,
        "--name",
        "cosigner-2b",
        "--addr",
        "127.0.0.1:7999",
        "--json",
    ]));
    assert_eq!(r["after"], public.as_str(), "{r:#}");
    let cfg = signer::config::Config::load(&configs[0]).unwrap();
    let p2 = cfg
        .threshold
        .unwrap()
        .peers
        .into_iter()
        .find(|p| p.id == 2)
        .unwrap();
    assert_eq!(p2.link_public_key.to_string(), public);
    assert_eq!(
        (p2.name.as_str(), p2.addr.to_string().as_str()),
        ("cosigner-2b", "127.0.0.1:7999")
    );
    assert_eq!(
        std::fs::read_to_string(format!("{c}.before-repin")).unwrap(),
        before
    );
}

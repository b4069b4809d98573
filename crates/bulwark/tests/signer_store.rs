//! The sign-state file under a running `bulwark signer run`: removed or replaced under it,
//! a zeroed slot and its repair, and state files on a network file system.

mod common;

use common::*;
use privval::Line;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use testkit::node::*;
use testkit::votes::*;

const CHAIN: &str = "store-chain-1";
const WAIT: Duration = Duration::from_secs(10);

struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    config: PathBuf,
    state: PathBuf,
}

fn setup(port: u16) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let (key, _) = write_key(&dir);
    let state = dir.join("chain.state");
    bulwark().state_init(CHAIN, 0, &state);
    let config = write_config(&dir, CHAIN, "v0.38", &key, &state, &[port], None);
    Setup {
        _tmp: tmp,
        dir,
        config,
        state,
    }
}

/// Sign at height 5, let `change` act on the state file, then check that the next request
/// and every later one is refused with `what` in the text, and nothing is signed.
fn changed_under_the_signer(change: impl FnOnce(&Path), what: &str) -> Setup {
    let node = FakeNode::listen();
    let s = setup(node.port);
    let signer = bulwark().signer(&s.config);
    let mut c = node.accept(Line::V0_38, WAIT);
    vote_signature(c.call(&prevote(CHAIN, 5, 1, 0)));
    change(&s.state);

    let first = error_text(c.call(&prevote(CHAIN, 6, 1, 0)));
    let said = format!(
        "sign-state file {} was {what} while this signer held it",
        s.state.display()
    );
    for part in [
        said.as_str(),
        "the last record this signer wrote is at height 5 round 0 step prevote",
        "it signs nothing more for this chain and no signature was released",
        "bulwark signer state set",
    ] {
        assert!(first.contains(part), "{first}\nlacks: {part}");
    }
    for height in [7, 8, 9] {
        let later = error_text(c.call(&prevote(CHAIN, height, 1, 0)));
        assert!(
            later.contains("writes stopped after an earlier failure") && later.contains(&said),
            "{later}"
        );
    }
    assert!(signer.log_text().contains(&said), "{}", signer.log_text());
    s
}

#[test]
fn a_state_file_replaced_while_the_signer_runs_stops_signing() {
    let s = changed_under_the_signer(
        |state| {
            std::fs::remove_file(state).unwrap();
            bulwark().state_init(CHAIN, 0, state);
        },
        "replaced by another file",
    );
    // The new file was never written by the old signer.
    let shown = bulwark().state_show(&s.state);
    assert_eq!(
        (shown["height"].as_i64(), shown["sequence"].as_u64()),
        (Some(0), Some(1))
    );
}

#[test]
fn a_state_file_removed_while_the_signer_runs_stops_signing() {
    let s = changed_under_the_signer(
        |state| std::fs::remove_file(state).unwrap(),
        "removed or renamed",
    );
    assert!(!s.state.exists(), "nothing recreated the file");
}

fn repair(state: &Path, typed: &str) -> std::process::Output {
    let state = state.to_str().expect("utf-8 path");
    bulwark().run_typed(
        &[
            "signer",
            "state",
            "repair",
            "--chain-id",
            CHAIN,
            "--state",
            state,
        ],
        typed,
    )
}

#[test]
fn a_zeroed_slot_stops_the_signer_until_the_operator_confirms_the_kept_record() {
    let node = FakeNode::listen();
    let s = setup(node.port);
    let st = s.state.to_str().unwrap();
    for h in ["10", "11"] {
        let o = bulwark().run(&[
            "signer",
            "state",
            "set",
            "--chain-id",
            CHAIN,
            "--height",
            h,
            "--state",
            st,
        ]);
        assert!(o.status.success(), "{}", text(&o));
    }
    // Sequence 3 is in slot A; zero slot B.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&s.state)
        .unwrap();
    f.write_all_at(&[0u8; 4096], 4096).unwrap();
    drop(f);

    let mut p = bulwark().signer(&s.config);
    assert_eq!(p.wait_exit(WAIT), Some(1), "{}", p.log_text());
    let log = p.log_text();
    let refused = format!(
        "sign-state file {st} is damaged: slot B is all zero beside slot A (sequence 3, height 11 round 0 step precommit)"
    );
    assert!(log.contains(&refused), "{log}");
    assert!(
        log.contains(&format!(
            "bulwark signer state repair --state {st} --chain-id {CHAIN}"
        )),
        "{log}"
    );
    assert!(node
        .try_accept(Line::V0_38, Duration::from_millis(300))
        .is_none());

    // `state show` still prints the file, with the damage.
    let o = bulwark().run(&["signer", "state", "show", "--state", st]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("last signed height 11 round 0 step Precommit (record 3)"),
        "{out}"
    );
    assert!(
        out.contains("damage: slot B is all zero beside slot A (sequence 3): something zeroed it"),
        "{out}"
    );
    assert!(bulwark().state_show(&s.state)["damage"].as_str().is_some());

    let o = repair(&s.state, "wrong-chain\n");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let asked = String::from_utf8_lossy(&o.stderr);
    assert!(
        asked.contains(&format!(
            "{st}: slot B is damaged (it is all zero, but the other slot's sequence number shows \
             it was written before). Repair keeps the record of slot A: chain {CHAIN} height 11 \
             round 0 step precommit (record 3), and writes it again into slot B."
        )),
        "{asked}"
    );
    assert!(asked.contains("nothing changed"), "{asked}");
    assert!(bulwark().state_show(&s.state)["damage"].as_str().is_some());

    let o = repair(&s.state, &format!("{CHAIN}\n"));
    assert!(o.status.success(), "{}", text(&o));
    let shown = bulwark().state_show(&s.state);
    assert_eq!(shown["height"], 11);
    assert_eq!(shown["sequence"], 4);
    assert!(shown.get("damage").is_none(), "{shown}");
    let o = repair(&s.state, "");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("nothing to repair"),
        "{}",
        text(&o)
    );

    let _signer = bulwark().signer(&s.config);
    let mut c = node.accept(Line::V0_38, WAIT);
    vote_signature(c.call(&prevote(CHAIN, 12, 1, 0)));
    drop(c);
    let _ = &s.dir;
}

#[test]
fn a_state_file_on_sshfs_is_refused_by_init_and_run() {
    let Some(mount) = testkit::sshfs::Mount::start() else {
        return;
    };
    let node = FakeNode::listen();
    let s = setup(node.port);
    let on_mount = mount.dir.join("chain.state");
    let o = bulwark().run(&[
        "signer",
        "state",
        "init",
        "--chain-id",
        CHAIN,
        "--state",
        on_mount.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let said = "is on a network file system (FUSE sshfs): file locks are not reliable there";
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(said) && err.contains("Keep the state on a local disk"),
        "{err}"
    );
    assert!(!mount.backing.join("chain.state").exists());

    // A file made on the local disk behind the mount, then used through the mount.
    std::fs::copy(&s.state, mount.backing.join("chain.state")).unwrap();
    let text = std::fs::read_to_string(&s.config).unwrap();
    let config = s.dir.join("sshfs.toml");
    std::fs::write(
        &config,
        text.replace(s.state.to_str().unwrap(), on_mount.to_str().unwrap()),
    )
    .unwrap();
    let mut p = bulwark().signer(&config);
    assert_eq!(p.wait_exit(WAIT), Some(1), "{}", p.log_text());
    assert!(p.log_text().contains(said), "{}", p.log_text());
    assert!(node
        .try_accept(Line::V0_38, Duration::from_millis(300))
        .is_none());
}

//! Bad input to `bulwark devnet`: each gets a clear error, the right exit code, and
//! nothing is left running.

mod common;

use common::*;
use std::net::{Ipv4Addr, TcpListener};

#[test]
fn unknown_cometbft_version_is_a_usage_error() {
    let net = bulwark().devnet();
    let o = net.cmd("up", &["--cometbft", "v0.99"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unknown CometBFT version \"v0.99\""), "{err}");
    assert!(err.contains("v0.38, v1.0, v0.40, v0.37"), "{err}");
    assert!(!net.dir.exists());
}

#[test]
fn a_taken_port_is_named_and_nothing_starts() {
    // The block starts one port below the taken one, so the taken port is val0's rpc
    // port; the port below (val0's p2p port) must be free, or it is the one named.
    let (_taken, port) = loop {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = l.local_addr().unwrap().port();
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port - 1)).is_ok() {
            break (l, port);
        }
    };
    let base = (port - 1).to_string();
    let net = bulwark().devnet();
    let o = net.cmd("up", &["--base-port", &base]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("port {port} (rpc port of node val0)")),
        "{err}"
    );
    assert!(err.contains("already in use"), "{err}");
    assert!(!net.dir.exists(), "nothing generated");
    assert!(processes_under(net.tmp.path()).is_empty());
}

#[test]
fn a_port_taken_while_down_stops_the_resume_cleanly() {
    let net = bulwark().devnet();
    let up = net.up(&["--validators", "1"]);
    let rpc = node(&up["status"], "sentry0")["rpc_url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(net.cmd("down", &[]).status.success());
    let port: u16 = rpc.rsplit(':').next().unwrap().parse().unwrap();
    let _taken = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    let o = net.cmd("up", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("port {port} (rpc port of node sentry0)")),
        "{err}"
    );
    assert!(
        processes_under(&net.dir).is_empty(),
        "a node was left running"
    );
}

#[test]
fn a_missing_cometbft_binary_says_to_run_install_deps() {
    let empty = tempfile::tempdir().unwrap();
    let net = bulwark().devnet();
    let o = bulwark()
        .command()
        .env("BULWARK_COMETBFT_DIR", empty.path())
        .args(["devnet", "up", "--dir", net.dir_str(), "--cometbft", "v1.0"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no CometBFT v1.0 binary"), "{err}");
    assert!(err.contains("scripts/install-deps"), "{err}");
    assert!(!net.dir.exists());
    assert!(processes_under(net.tmp.path()).is_empty());
}

#[test]
fn a_directory_that_is_not_a_devnet_is_left_alone() {
    let net = bulwark().devnet();
    std::fs::create_dir_all(&net.dir).unwrap();
    std::fs::write(net.dir.join("notes.txt"), "mine").unwrap();
    for verb in ["up", "status", "down", "destroy"] {
        let o = net.cmd(verb, &[]);
        assert_eq!(o.status.code(), Some(2), "{verb}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("is not a Bulwark devnet"), "{verb}: {err}");
    }
    assert_eq!(
        std::fs::read_to_string(net.dir.join("notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(std::fs::read_dir(&net.dir).unwrap().count(), 1);
    assert!(processes_under(net.tmp.path()).is_empty());
}

#[test]
fn commands_on_a_missing_devnet_or_node_are_usage_errors() {
    let net = bulwark().devnet();
    let o = net.cmd("status", &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no devnet at"),
        "{}",
        text(&o)
    );

    let up = net.up(&["--validators", "1"]);
    assert_eq!(up["created"], true);
    let o = net.cmd("logs", &["val9"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no node named \"val9\""), "{err}");
    assert!(err.contains("val0, val0-backup, sentry0"), "{err}");

    let o = net.cmd("up", &["--validators", "3"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("has 1 validators, not 3"),
        "{}",
        text(&o)
    );

    let o = net.cmd("load", &["--tps", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn bad_arguments_exit_2_and_version_names_the_commit() {
    let o = bulwark().run(&["devnet", "up", "--validators", "many"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = bulwark().run(&[
        "devnet",
        "up",
        "--validators",
        "0",
        "--dir",
        "/nonexistent/bulwark-test",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = bulwark().run(&["--version"]);
    assert!(o.status.success());
    let v = String::from_utf8_lossy(&o.stdout);
    assert!(v.starts_with("bulwark 0."), "{v}");
    assert!(
        v.contains('(') && v.contains(')'),
        "version names a commit: {v}"
    );
}

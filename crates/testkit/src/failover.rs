//! A failover on a `--signer bulwark` devnet, driven by hand through the real commands:
//! `devnet drill failover --prepare` writes the config and the approvers' keys, then
//! `failover plan / approve / execute` as an operator would run them.

use crate::devnet::{commit_signers, Devnet};
use crate::process::{json, text};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

/// A prepared failover of val0.
#[derive(Debug)]
pub struct Failover<'a> {
    pub net: &'a Devnet,
    /// `devnet drill failover --prepare --json`.
    pub prep: Value,
    /// Its failover.toml.
    pub config: String,
}

impl<'a> Failover<'a> {
    /// Prepare a move of val0 from the side its nodes let in now to the other.
    pub fn prepare(net: &'a Devnet) -> Failover<'a> {
        let o = net.bulwark().run(&[
            "devnet",
            "drill",
            "failover",
            "--prepare",
            "--json",
            "--dir",
            net.dir_str(),
        ]);
        let prep = json(&o);
        let config = prep["config_path"]
            .as_str()
            .expect("config_path")
            .to_string();
        Failover { net, prep, config }
    }

    /// The drill directory.
    pub fn dir(&self) -> PathBuf {
        PathBuf::from(self.prep["dir"].as_str().expect("dir"))
    }

    /// An approver's private key file (`alice`, `bob`, `carol`).
    pub fn key(&self, who: &str) -> String {
        self.prep["approvers"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x[0] == who))
            .and_then(|x| x[1].as_str())
            .unwrap_or_else(|| panic!("no approver {who}"))
            .to_string()
    }

    /// `bulwark failover VERB ARGS... --config CONFIG`.
    pub fn run(&self, verb: &str, args: &[&str]) -> Output {
        let mut all = vec!["failover", verb];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--config", &self.config]);
        self.net.bulwark().run(&all)
    }

    /// A new plan by alice; returns its directory.
    pub fn plan(&self) -> String {
        let (chain, from, to) = (self.chain(), self.side("from"), self.side("to"));
        let key = self.key("alice");
        let o = self.run(
            "plan",
            &[
                "--chain", &chain, "--from", &from, "--to", &to, "--as", "alice", "--key", &key,
                "--json",
            ],
        );
        json(&o)["dir"].as_str().expect("plan dir").to_string()
    }

    fn chain(&self) -> String {
        self.prep["chain_id"].as_str().expect("chain_id").into()
    }

    /// `from` or `to` of the preparation.
    pub fn side(&self, which: &str) -> String {
        self.prep[which].as_str().expect("side").into()
    }

    /// `who` approves `plan` with their own key; panics unless it succeeds.
    pub fn approve(&self, plan: &str, who: &str, extra: &[&str]) {
        let key = self.key(who);
        let mut args = vec![plan, "--as", who, "--key", &key];
        args.extend_from_slice(extra);
        let o = self.run("approve", &args);
        assert!(o.status.success(), "{who} approving: {}", text(&o));
    }

    /// `failover execute PLAN --as alice`.
    pub fn execute(&self, plan: &str) -> Output {
        let key = self.key("alice");
        self.run("execute", &[plan, "--as", "alice", "--key", &key])
    }
}

/// Wait until the chain's last `blocks` commits lack val0's signature.
pub fn wait_val0_silent(net: &Devnet, blocks: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut silent_since = None;
    loop {
        let s = net.status();
        if let Some((h, who)) = commit_signers(&s, 1) {
            if who.iter().any(|n| n == "val0") {
                silent_since = None;
            } else {
                let since = *silent_since.get_or_insert(h);
                if h >= since + blocks {
                    return h;
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "val0 did not fall silent; last status:\n{s:#}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Wait until a commit above `height` carries val0's signature; returns its height.
pub fn wait_val0_signs(net: &Devnet, height: u64) -> u64 {
    let s = net.wait_status("val0 signing", Duration::from_secs(120), |s| {
        commit_signers(s, height + 1).is_some_and(|(_, who)| who.iter().any(|n| n == "val0"))
    });
    commit_signers(&s, height + 1).expect("checked").0
}

/// Wait until val0's two nodes answer and are not syncing (the backup node starts in
/// block sync): a plan made before that rightly finds a node not caught up.
pub fn wait_val0_nodes_caught_up(net: &Devnet) {
    net.wait_status("val0's nodes caught up", Duration::from_secs(120), |s| {
        ["val0", "val0-backup"]
            .iter()
            .all(|n| crate::devnet::node(s, n)["catching_up"] == serde_json::json!(false))
    });
}

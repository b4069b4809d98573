//! A real Cosmos SDK chain for end-to-end tests: simapp's `simd` (installed by
//! `scripts/install-deps`), with several validators on loopback, a short slashing
//! window and a short governance voting period, so jailing and upgrade proposals
//! happen within seconds.

use crate::http::{get, http_body};
use crate::port::free_port;
use crate::process::text;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The Cosmos SDK version `scripts/install-deps` builds `simd` from.
pub const SIMD_VERSION: &str = "v0.46.16";
/// The staking denomination of simapp.
pub const DENOM: &str = "stake";

/// The `simd` binary: `$BULWARK_SIMD`, or `<dir>/<version>/simd` where `<dir>` is
/// `$BULWARK_SIMD_DIR` or `<cache>/simd`, like `scripts/install-deps` installs it.
pub fn simd_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("BULWARK_SIMD") {
        return PathBuf::from(p);
    }
    let dir = std::env::var_os("BULWARK_SIMD_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| devnet::cometbft::cache_dir().join("simd"));
    let p = dir.join(SIMD_VERSION).join("simd");
    assert!(
        p.is_file(),
        "{} is missing: run scripts/install-deps (it builds simd, the Cosmos SDK {SIMD_VERSION} test chain), or set BULWARK_SIMD",
        p.display()
    );
    p
}

/// One validator of the chain.
#[derive(Debug)]
pub struct SdkNode {
    pub name: String,
    pub home: PathBuf,
    /// CometBFT RPC, `http://127.0.0.1:PORT`.
    pub rpc: String,
    /// Cosmos SDK REST API, `http://127.0.0.1:PORT`.
    pub rest: String,
    /// CometBFT's Prometheus metrics, `http://127.0.0.1:PORT/metrics`.
    pub metrics: String,
    pub p2p_port: u16,
    /// Operator address (`cosmosvaloper1...`).
    pub operator: String,
    /// Consensus address, upper-case hex.
    pub cons_hex: String,
    /// Self-delegation in `DENOM`.
    pub stake: u64,
    child: Option<Child>,
    log: PathBuf,
}

/// Chain settings that tests change.
#[derive(Debug, Clone)]
pub struct SdkOptions {
    pub chain_id: String,
    /// (name, self-delegation) per validator.
    pub validators: Vec<(String, u64)>,
    pub signed_blocks_window: u64,
    pub min_signed_per_window: String,
    pub downtime_jail_duration: String,
    pub voting_period: String,
    pub timeout_commit: String,
}

impl Default for SdkOptions {
    fn default() -> Self {
        Self {
            chain_id: "sdk-test-1".into(),
            validators: vec![
                ("big".into(), 90_000_000_000),
                ("ours".into(), 5_000_000_000),
            ],
            signed_blocks_window: 20,
            min_signed_per_window: "0.500000000000000000".into(),
            downtime_jail_duration: "60s".into(),
            voting_period: "8s".into(),
            timeout_commit: "1s".into(),
        }
    }
}

/// A running chain; every node is killed when dropped.
#[derive(Debug)]
pub struct SdkChain {
    pub tmp: tempfile::TempDir,
    pub simd: PathBuf,
    pub chain_id: String,
    pub nodes: Vec<SdkNode>,
}

fn check(o: Output, what: &str) -> Output {
    assert!(o.status.success(), "{what} failed:\n{}", text(&o));
    o
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// Set `key = value` (value written as is) in `[section]` of a TOML file ("" is the
/// top level), keeping everything else, comments included.
pub fn set_toml(path: &Path, section: &str, key: &str, value: &str) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut cur = String::new();
    let mut done = false;
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            let t = l.trim();
            if t.starts_with('[') && t.ends_with(']') {
                cur = t.trim_matches(['[', ']']).to_string();
            } else if cur == section
                && t.split('=').next().map(str::trim) == Some(key)
                && t.contains('=')
            {
                done = true;
                return format!("{key} = {value}");
            }
            l.to_string()
        })
        .collect();
    assert!(done, "no {key} in [{section}] of {}", path.display());
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

impl SdkChain {
    fn cmd(&self) -> Command {
        Command::new(&self.simd)
    }

    /// Run `simd ARGS` and return its output (asserting success).
    pub fn simd(&self, args: &[&str]) -> Output {
        let o = self.cmd().args(args).output().expect("simd runs");
        check(o, &format!("simd {}", args.join(" ")))
    }

    /// Create the chain's files and start every validator; returns once blocks are
    /// made and every REST API answers.
    pub fn start(opts: SdkOptions) -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let simd = simd_binary();
        let mut chain = Self {
            tmp,
            simd,
            chain_id: opts.chain_id.clone(),
            nodes: vec![],
        };
        chain.init(&opts);
        for i in 0..chain.nodes.len() {
            chain.start_node(i);
        }
        let deadline = Instant::now() + Duration::from_secs(90);
        while chain.try_height().is_none_or(|h| h < 2)
            || chain.nodes.iter().any(|n| {
                get(&format!(
                    "{}/cosmos/base/tendermint/v1beta1/blocks/latest",
                    n.rest
                ))
                .is_none_or(|(s, _)| s != 200)
            })
        {
            assert!(
                Instant::now() < deadline,
                "the chain did not start; log of {}:\n{}",
                chain.nodes[0].name,
                chain.log_tail(0)
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        chain
    }

    fn init(&mut self, o: &SdkOptions) {
        let root = self.tmp.path().to_path_buf();
        let id = o.chain_id.clone();
        for (name, stake) in &o.validators {
            let home = root.join(name);
            let h = home.to_str().unwrap().to_string();
            self.simd(&["init", name, "--chain-id", &id, "--home", &h]);
            self.simd(&[
                "keys",
                "add",
                name,
                "--keyring-backend",
                "test",
                "--home",
                &h,
            ]);
            let show = |extra: &[&str]| {
                let mut a = vec![
                    "keys",
                    "show",
                    name.as_str(),
                    "-a",
                    "--keyring-backend",
                    "test",
                    "--home",
                    &h,
                ];
                a.extend_from_slice(extra);
                stdout(&self.simd(&a))
            };
            let account = show(&[]);
            let operator = show(&["--bech", "val"]);
            let key: Value = serde_json::from_str(
                &std::fs::read_to_string(home.join("config/priv_validator_key.json")).unwrap(),
            )
            .unwrap();
            let cons_hex = key["address"].as_str().unwrap().to_ascii_uppercase();
            let h0 = root.join(&o.validators[0].0);
            let funds = format!("{}{DENOM}", stake * 2);
            self.simd(&[
                "add-genesis-account",
                &account,
                &funds,
                "--home",
                h0.to_str().unwrap(),
            ]);
            self.nodes.push(SdkNode {
                name: name.clone(),
                home,
                rpc: format!("http://127.0.0.1:{}", free_port()),
                rest: format!("http://127.0.0.1:{}", free_port()),
                metrics: format!("http://127.0.0.1:{}/metrics", free_port()),
                p2p_port: free_port(),
                operator,
                cons_hex,
                stake: *stake,
                child: None,
                log: root.join(format!("{name}.log")),
            });
        }
        // Every validator's gentx, made against the genesis with all accounts.
        let g0 = self.nodes[0].home.join("config/genesis.json");
        for i in 0..self.nodes.len() {
            let n = &self.nodes[i];
            if i > 0 {
                std::fs::copy(&g0, n.home.join("config/genesis.json")).unwrap();
            }
            let amount = format!("{}{DENOM}", n.stake);
            let h = n.home.to_str().unwrap().to_string();
            let name = n.name.clone();
            self.simd(&[
                "gentx",
                &name,
                &amount,
                "--chain-id",
                &id,
                "--keyring-backend",
                "test",
                "--home",
                &h,
            ]);
            if i > 0 {
                let dir = self.nodes[i].home.join("config/gentx");
                for f in std::fs::read_dir(&dir).unwrap().flatten() {
                    std::fs::copy(
                        f.path(),
                        self.nodes[0].home.join("config/gentx").join(f.file_name()),
                    )
                    .unwrap();
                }
            }
        }
        let h0 = self.nodes[0].home.to_str().unwrap().to_string();
        self.simd(&["collect-gentxs", "--home", &h0]);
        // Short slashing window and voting period; block times as measured.
        let mut g: Value = serde_json::from_str(&std::fs::read_to_string(&g0).unwrap()).unwrap();
        let s = &mut g["app_state"]["slashing"]["params"];
        s["signed_blocks_window"] = o.signed_blocks_window.to_string().into();
        s["min_signed_per_window"] = o.min_signed_per_window.clone().into();
        s["downtime_jail_duration"] = o.downtime_jail_duration.clone().into();
        let gov = &mut g["app_state"]["gov"];
        gov["voting_params"]["voting_period"] = o.voting_period.clone().into();
        gov["deposit_params"]["min_deposit"] = serde_json::json!([{"denom": DENOM, "amount": "1"}]);
        // v0.34 makes each block at least time_iota_ms after the last (1 s by default).
        g["consensus_params"]["block"]["time_iota_ms"] = "1".into();
        let text = serde_json::to_string_pretty(&g).unwrap();
        for n in &self.nodes {
            std::fs::write(n.home.join("config/genesis.json"), &text).unwrap();
        }
        // Loopback ports, peers, fast consensus, the REST API.
        let ids: Vec<String> = self
            .nodes
            .iter()
            .map(|n| {
                stdout(&self.simd(&[
                    "tendermint",
                    "show-node-id",
                    "--home",
                    n.home.to_str().unwrap(),
                ]))
            })
            .collect();
        for (i, n) in self.nodes.iter().enumerate() {
            let c = n.home.join("config/config.toml");
            let q = |s: String| format!("\"{s}\"");
            let port = |u: &str| u.rsplit(':').next().unwrap().to_string();
            set_toml(
                &c,
                "",
                "proxy_app",
                &q(format!("tcp://127.0.0.1:{}", free_port())),
            );
            set_toml(
                &c,
                "rpc",
                "laddr",
                &q(format!("tcp://127.0.0.1:{}", port(&n.rpc))),
            );
            set_toml(&c, "rpc", "pprof_laddr", "\"\"");
            set_toml(&c, "instrumentation", "prometheus", "true");
            let m = n.metrics.trim_end_matches("/metrics");
            set_toml(
                &c,
                "instrumentation",
                "prometheus_listen_addr",
                &q(m.trim_start_matches("http://").to_string()),
            );
            set_toml(
                &c,
                "p2p",
                "laddr",
                &q(format!("tcp://127.0.0.1:{}", n.p2p_port)),
            );
            let peers: Vec<String> = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(j, p)| format!("{}@127.0.0.1:{}", ids[j], p.p2p_port))
                .collect();
            set_toml(&c, "p2p", "persistent_peers", &q(peers.join(",")));
            set_toml(&c, "p2p", "addr_book_strict", "false");
            set_toml(&c, "p2p", "allow_duplicate_ip", "true");
            set_toml(&c, "consensus", "timeout_propose", "\"1s\"");
            set_toml(&c, "consensus", "timeout_prevote", "\"500ms\"");
            set_toml(&c, "consensus", "timeout_precommit", "\"500ms\"");
            set_toml(
                &c,
                "consensus",
                "timeout_commit",
                &q(o.timeout_commit.clone()),
            );
            let a = n.home.join("config/app.toml");
            set_toml(&a, "api", "enable", "true");
            set_toml(
                &a,
                "api",
                "address",
                &q(format!("tcp://127.0.0.1:{}", port(&n.rest))),
            );
            set_toml(
                &a,
                "grpc",
                "address",
                &q(format!("127.0.0.1:{}", free_port())),
            );
            set_toml(&a, "grpc-web", "enable", "false");
        }
    }

    /// Start (or restart) node `i`.
    pub fn start_node(&mut self, i: usize) {
        let n = &mut self.nodes[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&n.log)
            .unwrap();
        let child = Command::new(&self.simd)
            .args(["start", "--home", n.home.to_str().unwrap()])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("simd start");
        n.child = Some(child);
    }

    /// Kill node `name` (its validator stops signing).
    pub fn stop(&mut self, name: &str) {
        let n = self.node_mut(name);
        if let Some(mut c) = n.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn node(&self, name: &str) -> &SdkNode {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no validator {name}"))
    }

    fn node_mut(&mut self, name: &str) -> &mut SdkNode {
        self.nodes
            .iter_mut()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no validator {name}"))
    }

    /// The last lines of node `i`'s log.
    pub fn log_tail(&self, i: usize) -> String {
        let t = std::fs::read_to_string(&self.nodes[i].log).unwrap_or_default();
        let lines: Vec<&str> = t.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Latest height from the first node whose RPC answers.
    pub fn try_height(&self) -> Option<u64> {
        self.nodes.iter().find_map(|n| {
            let (_, body) = get(&format!("{}/status", n.rpc))?;
            let v: Value = serde_json::from_str(&body).ok()?;
            v["result"]["sync_info"]["latest_block_height"]
                .as_str()?
                .parse()
                .ok()
        })
    }

    pub fn height(&self) -> u64 {
        self.try_height().expect("a node answers /status")
    }

    /// GET a REST path from node `name`.
    pub fn rest(&self, name: &str, path: &str) -> Value {
        let body = http_body(&format!("{}{path}", self.node(name).rest));
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
    }

    /// `name`'s signing info as `via`'s REST API shows it.
    pub fn signing_info(&self, via: &str, name: &str) -> Value {
        let cons = self.consensus_bech32(name);
        self.rest(
            via,
            &format!("/cosmos/slashing/v1beta1/signing_infos/{cons}"),
        )["val_signing_info"]
            .clone()
    }

    /// `name`'s consensus address in bech32, as simd derives it.
    pub fn consensus_bech32(&self, name: &str) -> String {
        let h = self.node(name).home.to_str().unwrap().to_string();
        stdout(&self.simd(&["tendermint", "show-address", "--home", &h]))
    }

    /// Poll `pred` until it holds, or panic at the deadline with `what`.
    pub fn wait(&self, what: &str, limit: Duration, pred: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + limit;
        while !pred(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; chain at {:?}",
                self.try_height()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Send a transaction signed by `from`'s key through the first running node;
    /// waits until it is in a block and asserts it succeeded.
    pub fn tx(&self, from: &str, args: &[&str]) -> Value {
        let via = self
            .nodes
            .iter()
            .find(|n| n.child.is_some())
            .expect("a running node");
        let home = self.node(from).home.to_str().unwrap().to_string();
        let node = via.rpc.replace("http://", "tcp://");
        let mut all = vec!["tx"];
        all.extend_from_slice(args);
        all.extend_from_slice(&[
            "--from",
            from,
            "--keyring-backend",
            "test",
            "--home",
            &home,
            "--chain-id",
            &self.chain_id,
            "--node",
            &node,
            "--yes",
            "--output",
            "json",
            "--broadcast-mode",
            "block",
            "--gas",
            "400000",
        ]);
        let o = self.simd(&all);
        let v: Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("tx output not JSON ({e}): {}", text(&o)));
        assert_eq!(v["code"], 0, "tx {args:?} failed: {v:#}");
        v
    }

    /// Propose a software upgrade called `name` at `height` and vote yes with every
    /// running validator; returns once the chain shows the plan.
    pub fn schedule_upgrade(&self, name: &str, height: u64) {
        let h = height.to_string();
        let deposit = format!("10{DENOM}");
        let proposer = self.nodes[0].name.clone();
        self.tx(
            &proposer,
            &[
                "gov",
                "submit-legacy-proposal",
                "software-upgrade",
                name,
                "--upgrade-height",
                &h,
                "--title",
                "upgrade",
                "--description",
                "test upgrade",
                "--deposit",
                &deposit,
                "--no-validate",
            ],
        );
        let node = self.nodes[0].rpc.replace("http://", "tcp://");
        let o = self.simd(&[
            "query",
            "gov",
            "proposals",
            "--node",
            &node,
            "--output",
            "json",
        ]);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        let id = v["proposals"]
            .as_array()
            .and_then(|a| a.last())
            .and_then(|p| p["id"].as_str().or(p["proposal_id"].as_str()))
            .unwrap_or_else(|| panic!("no proposal: {v:#}"))
            .to_string();
        for n in self.nodes.iter().filter(|n| n.child.is_some()) {
            self.tx(&n.name, &["gov", "vote", &id, "yes"]);
        }
        let via = self.nodes[0].name.clone();
        self.wait("the upgrade plan", Duration::from_secs(60), |c| {
            c.rest(&via, "/cosmos/upgrade/v1beta1/current_plan")["plan"]["height"] == h.as_str()
        });
    }
}

impl Drop for SdkChain {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            if let Some(mut c) = n.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

//! `bulwark devnet drill failover`: the whole failover rehearsed on a running devnet.
//! val0's signing side "dies" (SIGKILL), a plan sees it silent, two of three generated
//! approvers (keys made by `ssh-keygen`) approve, and execute moves val0 to the other
//! side through the devnet's own stop, door and start commands, exactly as an
//! operator's failover config would name theirs. On a `--signer bulwark` devnet the
//! sides are its two signers (`signer`, `signer-backup`); on a `--signer file` devnet
//! they are val0's two nodes, and the validator key moves from the node that holds it
//! to the other (the devnet's copy of the key is the staged key). On a `--signer
//! threshold` devnet the cosigner that holds share 2 (`cosigner-2`) is replaced by
//! `cosigner-standby`, the same share on another "host" with its own link key: val0
//! signs on through the other two, whose door (`bulwark devnet repin`) makes them pin the
//! new host. The report gives the time of each step and the blocks val0 missed.

use crate::config::{ChainConfig, Config, NodeConfig, PeerConfig, SignerConfig};
use crate::execute::{self, Actor};
use crate::journal::Done;
use crate::{approve, plan};
use audit::Identity;
use devnet::{Manifest, SignerMode, SignerSide};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Drill options.
#[derive(Debug, Clone)]
pub struct DrillOptions {
    /// The devnet directory.
    pub dir: PathBuf,
    /// The `bulwark` executable (the failover config's commands run it).
    pub bulwark: PathBuf,
    /// Blocks of silence the fence waits for.
    pub silent_blocks: u64,
}

/// What the drill did.
#[derive(Debug, Clone, Serialize)]
pub struct DrillReport {
    /// The plan.
    pub plan: String,
    /// Its directory (plan, approvals, journal).
    pub plan_dir: PathBuf,
    /// The failover config the drill wrote.
    pub config: PathBuf,
    /// What moved: `signer` or `cosigner` (the plan's kind).
    pub kind: String,
    /// The side val0 moved from.
    pub from: String,
    /// The side it moved to.
    pub to: String,
    /// Who approved.
    pub approvers: Vec<String>,
    /// Seconds from the kill until the plan could see the key silent.
    pub detect_seconds: f64,
    /// Seconds to make the plan.
    pub plan_seconds: f64,
    /// Seconds for the two approvals.
    pub approve_seconds: f64,
    /// Execute's steps.
    pub steps: Vec<Done>,
    /// Seconds from the kill until val0 signed again.
    pub total_seconds: f64,
    /// The last block val0 signed before the kill.
    pub last_signed_before: Option<u64>,
    /// The first block val0 signed after.
    pub first_signed_after: Option<u64>,
    /// Blocks between those two that val0 did not sign.
    pub blocks_missed: u64,
    /// Double-sign evidence against val0 in the blocks since the kill.
    pub evidence: u64,
}

/// Why the drill did not finish.
#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    /// The devnet is not one the drill can run on.
    #[error("{0}")]
    Devnet(String),
    /// A step failed.
    #[error("{0}")]
    Failed(String),
}

/// What `prepare` wrote: a failover config for this devnet, its approvers' keys and
/// `allowed_signers`, in a new directory under the devnet's `drill/`.
#[derive(Debug, Clone, Serialize)]
pub struct Prepared {
    /// The drill's directory.
    pub dir: PathBuf,
    /// Its `failover.toml`.
    pub config_path: PathBuf,
    /// Its `allowed_signers`.
    pub allowed_signers: PathBuf,
    /// Each approver's name and private key file.
    pub approvers: Vec<(String, PathBuf)>,
    /// The chain ID.
    pub chain_id: String,
    /// The side val0 signs from now.
    pub from: String,
    /// The other side.
    pub to: String,
    #[serde(skip)]
    config: Config,
}

/// Write a failover config for the devnet (the devnet's own stop, door and start
/// commands), three approvers' keys made with `ssh-keygen` and their `allowed_signers`,
/// for a move from the side val0's nodes let in now to the other.
pub fn prepare(opts: &DrillOptions) -> Result<Prepared, DrillError> {
    let dir = std::path::absolute(&opts.dir).unwrap_or_else(|_| opts.dir.clone());
    let m = Manifest::load(&dir).map_err(|e| DrillError::Devnet(e.to_string()))?;
    let (from, to) = sides(&dir, &m)?;
    let stamp = humantime::format_rfc3339_micros(std::time::SystemTime::now())
        .to_string()
        .replace([':', '.'], "");
    let work = dir.join("drill").join(&stamp);
    let fail = |what: &str, e: &dyn std::fmt::Display| DrillError::Failed(format!("{what}: {e}"));
    std::fs::create_dir_all(&work).map_err(|e| fail("create the drill directory", &e))?;
    let mut allowed = String::new();
    let mut approvers = Vec::new();
    for a in ["alice", "bob", "carol"] {
        let key = work.join(format!("{a}_ed25519"));
        let out = Command::new("ssh-keygen")
            .args([
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                &format!("{a}@drill"),
                "-f",
            ])
            .arg(&key)
            .output()
            .map_err(|e| fail("run ssh-keygen (OpenSSH's client package)", &e))?;
        if !out.status.success() {
            return Err(fail("ssh-keygen", &String::from_utf8_lossy(&out.stderr)));
        }
        let public = std::fs::read_to_string(work.join(format!("{a}_ed25519.pub")))
            .map_err(|e| fail("read the approver's public key", &e))?;
        allowed.push_str(&format!(
            "{a} namespaces=\"{},{}\" {}\n",
            approve::NAMESPACE,
            audit::log::NAMESPACE,
            public.trim()
        ));
        approvers.push((a.to_string(), key));
    }
    let allowed_path = work.join("allowed_signers");
    std::fs::write(&allowed_path, allowed).map_err(|e| fail("write allowed_signers", &e))?;
    let cfg = config(
        &dir,
        &m,
        &opts.bulwark,
        &work,
        &allowed_path,
        opts.silent_blocks,
        &to,
    );
    let cfg_path = work.join("failover.toml");
    std::fs::write(
        &cfg_path,
        toml::to_string(&cfg).expect("a config serializes"),
    )
    .map_err(|e| fail("write failover.toml", &e))?;
    Ok(Prepared {
        dir: work,
        config_path: cfg_path,
        allowed_signers: allowed_path,
        approvers,
        chain_id: m.chain_id.clone(),
        from,
        to,
        config: cfg,
    })
}

/// The side val0 signs from now and the other: the devnet's two signers, or on a
/// `--signer file` devnet val0's two nodes (the one whose key file is val0's first).
fn sides(dir: &Path, m: &Manifest) -> Result<(String, String), DrillError> {
    let val0_nodes: Vec<&devnet::Node> = m
        .nodes
        .iter()
        .filter(|n| n.validator.as_deref() == Some("val0"))
        .collect();
    match m.signer {
        SignerMode::Bulwark => {
            let from = val0_nodes.first().map(|n| n.door).unwrap_or_default();
            if val0_nodes.iter().any(|n| n.door != from) {
                return Err(DrillError::Devnet(
                    "val0's nodes let in different signers; run `bulwark devnet door` until they agree"
                        .into(),
                ));
            }
            let to = match from {
                SignerSide::Primary => SignerSide::Standby,
                SignerSide::Standby => SignerSide::Primary,
            };
            Ok((from.name().into(), to.name().into()))
        }
        SignerMode::File => {
            let staged = std::fs::read(devnet::generate::key_path(dir, "val0")).ok();
            let holds = |n: &&&devnet::Node| {
                staged.is_some()
                    && std::fs::read(dir.join(&n.home).join("config/priv_validator_key.json")).ok()
                        == staged
            };
            let (with, without): (Vec<&&devnet::Node>, Vec<&&devnet::Node>) =
                val0_nodes.iter().partition(holds);
            match (with.as_slice(), without.as_slice()) {
                ([from], [to]) => Ok((from.name.clone(), to.name.clone())),
                _ => Err(DrillError::Devnet(format!(
                    "exactly one of val0's nodes must hold val0's key file for a drill; {} do",
                    with.len()
                ))),
            }
        }
        SignerMode::Threshold => {
            let from = devnet::cosigner::slot_holder(m).ok_or_else(|| {
                DrillError::Devnet(
                    "cosigner-1 and cosigner-3 pin different hosts of share 2; run `bulwark devnet repin` until they agree"
                        .into(),
                )
            })?;
            let to = if from == devnet::cosigner::STANDBY {
                devnet::cosigner::name(devnet::cosigner::STANDBY_SHARE)
            } else {
                devnet::cosigner::STANDBY.to_string()
            };
            Ok((from, to))
        }
    }
}

/// Run the drill, printing each step through `say`.
pub fn run(opts: &DrillOptions, say: &mut dyn FnMut(&str)) -> Result<DrillReport, DrillError> {
    let prep = prepare(opts)?;
    let dir = std::path::absolute(&opts.dir).unwrap_or_else(|_| opts.dir.clone());
    let m = Manifest::load(&dir).map_err(|e| DrillError::Devnet(e.to_string()))?;
    let fail = |what: &str, e: &dyn std::fmt::Display| DrillError::Failed(format!("{what}: {e}"));
    let (cfg, cfg_path, work) = (&prep.config, prep.config_path.clone(), prep.dir.clone());
    let (from, to) = (prep.from.as_str(), prep.to.as_str());
    say(&format!(
        "drill: val0 signs from {from}; it moves to {to} (config {})",
        cfg_path.display()
    ));

    let chain = cfg.chain(&m.chain_id).expect("written above");
    let view = crate::observe::view(chain);
    let tip = |v: &signer::floor::ChainView| {
        v.survey()
            .map(|s| (s.tip, s.best))
            .map_err(|e| fail("read the chain", &e))
    };
    let (kill_tip, url) = tip(&view)?;
    let address = m
        .validator_by_name("val0")
        .map(|v| v.address.clone())
        .unwrap_or_default();
    let last_before = view
        .last_signed_height(&url, kill_tip, &address, 50)
        .map_err(|e| fail("read the chain", &e))?;
    // A drill on a devnet that has just started waits for the backup node's block sync.
    let deadline = Instant::now() + Duration::from_secs(60);
    for n in &chain.nodes {
        let sources = signer::sources::Sources::new(
            &chain.id,
            std::slice::from_ref(&n.rpc),
            Duration::from_secs(2),
            Duration::from_secs(300),
        );
        while let Err(e) = sources.tip(&n.rpc) {
            if Instant::now() > deadline {
                return Err(fail(&format!("node {} is not ready", n.name), &e));
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    say(&format!(
        "drill: {from}'s host dies (SIGKILL) at height {kill_tip}"
    ));
    let killed = Instant::now();
    bulwark(
        &opts.bulwark,
        &[
            "devnet",
            "stop",
            "--dir",
            &dir.display().to_string(),
            from,
            "--kill",
        ],
    )?;

    // The on-call engineer sees val0 silent: wait until the plan's check would. A
    // threshold validator signs on through the other cosigners.
    let cosigner = m.signer == SignerMode::Threshold;
    if !cosigner {
        wait_silent(&view, &address, kill_tip, opts.silent_blocks)?;
    }
    let detect = killed.elapsed().as_secs_f64();
    say(&if cosigner {
        format!("drill: val0 signs on through the other cosigners; alice makes the plan to replace {from}")
    } else {
        format!("drill: val0 silent on chain after {detect:.1} s; alice makes the plan")
    });

    let alice =
        Identity::load(&work.join("alice_ed25519")).map_err(|e| fail("load alice's key", &e))?;
    let t = Instant::now();
    let (p, plan_dir) = plan::make(cfg, &m.chain_id, from, to, "alice", Some(&alice))
        .map_err(|e| fail("plan", &e))?;
    let plan_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for a in ["alice", "bob"] {
        let id = Identity::load(&work.join(format!("{a}_ed25519")))
            .map_err(|e| fail("load the approver's key", &e))?;
        approve::approve(cfg, &plan_dir, a, &id, None).map_err(|e| fail("approve", &e))?;
        say(&format!("drill: {a} approves {}", p.id));
    }
    let approve_seconds = t.elapsed().as_secs_f64();
    let report = execute::execute(
        cfg,
        &plan_dir,
        &Actor {
            name: "alice",
            identity: Some(&alice),
        },
        say,
    )
    .map_err(|e| fail("execute", &e))?;
    let total = killed.elapsed().as_secs_f64();

    let first = report.first_signed_after;
    let (mut missed, mut evidence) = (0, 0);
    let (now_tip, _) = tip(&view)?;
    // A replaced cosigner's validator may miss blocks anywhere from the kill on (while
    // its peers restart to re-pin); a moved signer's only until the new one signs.
    let range = if cosigner {
        Some((kill_tip + 1, now_tip))
    } else {
        last_before.zip(first)
    };
    if let Some((last, first)) = range {
        for h in last + 1..first {
            if !view
                .signed_at(&url, h, &address)
                .map_err(|e| fail("read the chain", &e))?
            {
                missed += 1;
            }
        }
    }
    for h in kill_tip.saturating_sub(1).max(1)..=now_tip {
        evidence += evidence_against(&url, h, &address).map_err(|e| fail("read the chain", &e))?;
    }
    Ok(DrillReport {
        kind: p.kind.clone(),
        plan: p.id,
        plan_dir,
        config: cfg_path,
        from: from.into(),
        to: to.into(),
        approvers: vec!["alice".into(), "bob".into()],
        detect_seconds: detect,
        plan_seconds,
        approve_seconds,
        steps: report.steps,
        total_seconds: total,
        last_signed_before: last_before,
        first_signed_after: first,
        blocks_missed: missed,
        evidence,
    })
}

/// A val0 node the failover only checks (caught up?), without a door.
fn doorless(n: &devnet::Node) -> NodeConfig {
    NodeConfig {
        name: n.name.clone(),
        rpc: n.rpc_url(),
        door: vec![],
    }
}

/// Wait until the last `blocks` blocks carry no signature by `address`, the plan's
/// check for a silent key.
fn wait_silent(
    view: &signer::floor::ChainView,
    address: &str,
    kill_tip: u64,
    blocks: u64,
) -> Result<(), DrillError> {
    let fail = |e: &dyn std::fmt::Display| DrillError::Failed(format!("read the chain: {e}"));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let s = view.survey().map_err(|e| fail(&e))?;
        let silent = crate::observe::signing_at(view, &s.best, s.tip, address, blocks)
            .map_err(|e| fail(&e))?
            .is_none();
        if silent && s.tip > kill_tip + 1 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(DrillError::Failed(
                "val0 did not fall silent on chain within 2 minutes of the kill".into(),
            ));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn config(
    dir: &Path,
    m: &Manifest,
    bulwark: &Path,
    work: &Path,
    allowed: &Path,
    silent_blocks: u64,
    to: &str,
) -> Config {
    let exe = bulwark.display().to_string();
    let d = dir.display().to_string();
    let cmd = |args: &[&str]| -> Vec<String> {
        std::iter::once(exe.clone())
            .chain(args.iter().map(|s| s.to_string()))
            .collect()
    };
    let val0_nodes = m
        .nodes
        .iter()
        .filter(|n| n.validator.as_deref() == Some("val0"));
    let mut peers = Vec::new();
    let (signers, nodes) = if m.signer == SignerMode::Threshold {
        // The two hosts of share 2 are the sides; the other cosigners re-pin.
        use devnet::cosigner::{self as cs, STANDBY, STANDBY_SHARE};
        let side = |name: &str, host: &str| SignerConfig {
            name: name.into(),
            host: host.into(),
            config: Some(cs::config_of(dir, name)),
            node_home: None,
            staged_key: None,
            stop: cmd(&["devnet", "stop", "--dir", &d, name]),
            start: cmd(&["devnet", "up", "--dir", &d]),
            addr: cs::ports_of(m, name).map(|(p, _)| format!("127.0.0.1:{p}")),
        };
        let signers = vec![
            side(&cs::name(STANDBY_SHARE), "cosigner-host-b"),
            side(STANDBY, "cosigner-host-d"),
        ];
        peers = cs::ids()
            .filter(|i| *i != STANDBY_SHARE)
            .map(|i| PeerConfig {
                name: cs::name(i),
                door: cmd(&[
                    "devnet", "repin", "--dir", &d, "--peer", "{peer}", "--to", "{to}",
                ]),
                config: Some(cs::config_path(dir, i)),
            })
            .collect();
        let nodes = val0_nodes.map(doorless).collect();
        (signers, nodes)
    } else if m.signer == SignerMode::File {
        // val0's nodes are the sides; the target is the node to watch catch up. A
        // returning old node has no key any more, so no door is needed.
        let side = |n: &devnet::Node, host: &str| SignerConfig {
            name: n.name.clone(),
            host: host.into(),
            config: None,
            node_home: Some(dir.join(&n.home)),
            staged_key: Some(devnet::generate::key_path(dir, "val0")),
            stop: cmd(&["devnet", "stop", "--dir", &d, &n.name]),
            start: cmd(&["devnet", "up", "--dir", &d]),
            addr: None,
        };
        let signers = val0_nodes
            .clone()
            .zip(["node-host-a", "node-host-b"])
            .map(|(n, h)| side(n, h))
            .collect();
        let nodes = val0_nodes.filter(|n| n.name == to).map(doorless).collect();
        (signers, nodes)
    } else {
        let side = |s: SignerSide, host: &str| SignerConfig {
            name: s.name().into(),
            host: host.into(),
            config: Some(devnet::signer::config_path_of(dir, s)),
            node_home: None,
            staged_key: None,
            stop: cmd(&["devnet", "stop", "--dir", &d, s.name()]),
            start: cmd(&["devnet", "up", "--dir", &d]),
            addr: None,
        };
        let signers = vec![
            side(SignerSide::Primary, "signer-host-a"),
            side(SignerSide::Standby, "signer-host-b"),
        ];
        let nodes = val0_nodes
            .map(|n| NodeConfig {
                name: n.name.clone(),
                rpc: n.rpc_url(),
                door: cmd(&[
                    "devnet", "door", "--dir", &d, "--node", "{node}", "--to", "{to}",
                ]),
            })
            .collect();
        (signers, nodes)
    };
    Config {
        plans: work.join("plans"),
        audit_log: devnet::signer::audit_log_path(dir),
        allowed_signers: allowed.to_path_buf(),
        approvals: 2,
        approval_ttl: Duration::from_secs(3600),
        chains: vec![ChainConfig {
            id: m.chain_id.clone(),
            rpc: devnet::signer::rpc_urls(m),
            silent_blocks,
            // A devnet on a busy machine runs a few blocks behind now and then.
            max_lag: 10,
            scan_blocks: 200,
            wait: Duration::from_secs(90),
            signers,
            nodes,
            peers,
        }],
    }
}

fn bulwark(exe: &Path, args: &[&str]) -> Result<(), DrillError> {
    let out = Command::new(exe)
        .args(args)
        .output()
        .map_err(|e| DrillError::Failed(format!("run {}: {e}", exe.display())))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(DrillError::Failed(format!(
            "`bulwark {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Double-sign evidence against `address` in block `h`.
fn evidence_against(url: &str, h: u64, address: &str) -> Result<u64, String> {
    let body = ureq_get(&format!("{url}/block?height={h}"))?;
    let r = comet::parse_result(body.as_bytes()).map_err(|e| e.to_string())?;
    let b = comet::parse_block(&r, h).map_err(|e| e.to_string())?;
    Ok(b.evidence.iter().filter(|o| o.address == address).count() as u64)
}

fn ureq_get(url: &str) -> Result<String, String> {
    ureq::get(url)
        .timeout(Duration::from_secs(5))
        .call()
        .map_err(|e| e.to_string())?
        .into_string()
        .map_err(|e| e.to_string())
}

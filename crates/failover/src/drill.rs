//! `bulwark devnet drill failover`: the whole failover rehearsed on a running devnet
//! made with `--signer bulwark`. val0's signing side "dies" (SIGKILL), a plan sees it
//! silent, two of three generated approvers (keys made by `ssh-keygen`) approve, and
//! execute moves val0 to the other side through the devnet's own stop, door and start
//! commands, exactly as an operator's failover config would name theirs. The report
//! gives the time of each step and the blocks val0 missed.

use crate::config::{ChainConfig, Config, NodeConfig, SignerConfig};
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
    if m.signer != SignerMode::Bulwark {
        return Err(DrillError::Devnet(format!(
            "the failover drill needs a devnet made with `--signer bulwark` (this one signs with `{}`)",
            m.signer.as_str()
        )));
    }
    let val0_nodes: Vec<&devnet::Node> = m
        .nodes
        .iter()
        .filter(|n| n.validator.as_deref() == Some("val0"))
        .collect();
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
        from: from.name().into(),
        to: to.name().into(),
        config: cfg,
    })
}

/// Run the drill, printing each step through `say`.
pub fn run(opts: &DrillOptions, say: &mut dyn FnMut(&str)) -> Result<DrillReport, DrillError> {
    let prep = prepare(opts)?;
    let dir = std::path::absolute(&opts.dir).unwrap_or_else(|_| opts.dir.clone());
    let m = Manifest::load(&dir).map_err(|e| DrillError::Devnet(e.to_string()))?;
    let fail = |what: &str, e: &dyn std::fmt::Display| DrillError::Failed(format!("{what}: {e}"));
    let (cfg, cfg_path, work) = (&prep.config, prep.config_path.clone(), prep.dir.clone());
    let from = SignerSide::from_name(&prep.from).expect("prepare names a side");
    let to = SignerSide::from_name(&prep.to).expect("prepare names a side");
    say(&format!(
        "drill: val0 signs from {}; it moves to {} (config {})",
        from.name(),
        to.name(),
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
        "drill: {}'s host dies (SIGKILL) at height {kill_tip}",
        from.name()
    ));
    let killed = Instant::now();
    bulwark(
        &opts.bulwark,
        &[
            "devnet",
            "stop",
            "--dir",
            &dir.display().to_string(),
            from.name(),
            "--kill",
        ],
    )?;

    // The on-call engineer sees val0 silent: wait until the plan's check would.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (t, u) = tip(&view)?;
        let silent = crate::observe::signing_at(&view, &u, t, &address, opts.silent_blocks)
            .map_err(|e| fail("read the chain", &e))?
            .is_none();
        if silent && t > kill_tip + 1 {
            break;
        }
        if Instant::now() > deadline {
            return Err(DrillError::Failed(
                "val0 did not fall silent on chain within 2 minutes of the kill".into(),
            ));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let detect = killed.elapsed().as_secs_f64();
    say(&format!(
        "drill: val0 silent on chain after {detect:.1} s; alice makes the plan"
    ));

    let alice =
        Identity::load(&work.join("alice_ed25519")).map_err(|e| fail("load alice's key", &e))?;
    let t = Instant::now();
    let (p, plan_dir) = plan::make(
        cfg,
        &m.chain_id,
        from.name(),
        to.name(),
        "alice",
        Some(&alice),
    )
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
    if let (Some(last), Some(first)) = (last_before, first) {
        for h in last + 1..first {
            if !view
                .signed_at(&url, h, &address)
                .map_err(|e| fail("read the chain", &e))?
            {
                missed += 1;
            }
        }
    }
    let (now_tip, _) = tip(&view)?;
    for h in kill_tip.saturating_sub(1).max(1)..=now_tip {
        evidence += evidence_against(&url, h, &address).map_err(|e| fail("read the chain", &e))?;
    }
    Ok(DrillReport {
        plan: p.id,
        plan_dir,
        config: cfg_path,
        from: from.name().into(),
        to: to.name().into(),
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

fn config(
    dir: &Path,
    m: &Manifest,
    bulwark: &Path,
    work: &Path,
    allowed: &Path,
    silent_blocks: u64,
) -> Config {
    let exe = bulwark.display().to_string();
    let d = dir.display().to_string();
    let cmd = |args: &[&str]| -> Vec<String> {
        std::iter::once(exe.clone())
            .chain(args.iter().map(|s| s.to_string()))
            .collect()
    };
    let side = |s: SignerSide, host: &str| SignerConfig {
        name: s.name().into(),
        host: host.into(),
        config: devnet::signer::config_path_of(dir, s),
        stop: cmd(&["devnet", "stop", "--dir", &d, s.name()]),
        start: cmd(&["devnet", "up", "--dir", &d]),
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
            signers: vec![
                side(SignerSide::Primary, "signer-host-a"),
                side(SignerSide::Standby, "signer-host-b"),
            ],
            nodes: m
                .nodes
                .iter()
                .filter(|n| n.validator.as_deref() == Some("val0"))
                .map(|n| NodeConfig {
                    name: n.name.clone(),
                    rpc: n.rpc_url(),
                    door: cmd(&[
                        "devnet", "door", "--dir", &d, "--node", "{node}", "--to", "{to}",
                    ]),
                })
                .collect(),
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

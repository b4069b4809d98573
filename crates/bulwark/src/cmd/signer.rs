//! `bulwark signer`: the remote signer and its sign-state files.

use crate::exit::UsageError;
use crate::output::{Output, OutputArgs, Report};
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use signer::state::{self, ImportFormat, ImportOutcome, StateView};
use std::io::BufRead;
use std::path::PathBuf;

/// Signer verbs.
#[derive(Debug, Subcommand)]
pub enum SignerCommand {
    /// Run the signer: dial every configured node and sign, guarded against double-signing.
    Run(RunArgs),
    /// Inspect or change sign-state files.
    #[command(subcommand)]
    State(StateCommand),
    /// Ed25519 keys in a PKCS#11 token (SoftHSM2, YubiHSM 2, a cloud HSM).
    #[command(subcommand)]
    Pkcs11(Pkcs11Command),
    /// Print the libp2p peer ID of an Ed25519 key file (the signer's connection_key, or a
    /// node's node_key.json), for noise:// addresses.
    PeerId(PeerIdArgs),
}

/// PKCS#11 verbs.
#[derive(Debug, Subcommand)]
pub enum Pkcs11Command {
    /// Import a validator's Ed25519 key (priv_validator_key.json) into the token as a
    /// sensitive, non-extractable key; then point [chain.pkcs11] at it and remove the file.
    Import(Pkcs11ImportArgs),
    /// Log in and show the key's public key and address (what a signer would use).
    Show(Pkcs11Args),
}

/// The token and key.
#[derive(Debug, Args)]
pub struct Pkcs11Args {
    /// PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so).
    #[arg(long)]
    module: PathBuf,
    /// Token label.
    #[arg(long)]
    token: String,
    /// Key label.
    #[arg(long)]
    label: String,
    /// File holding the user PIN (mode 0600).
    #[arg(long)]
    pin_file: PathBuf,
    #[command(flatten)]
    audit: AuditArgs,
    #[command(flatten)]
    out: OutputArgs,
}

/// Options of `pkcs11 import`.
#[derive(Debug, Args)]
pub struct Pkcs11ImportArgs {
    #[command(flatten)]
    token: Pkcs11Args,
    /// The key file to import.
    #[arg(long)]
    key: PathBuf,
}

impl Pkcs11Args {
    fn config(&self) -> signer::keys::pkcs11::Pkcs11Config {
        signer::keys::pkcs11::Pkcs11Config {
            module: self.module.clone(),
            token: self.token.clone(),
            key: self.label.clone(),
            pin_file: Some(self.pin_file.clone()),
            pin: None,
        }
    }
}

/// A token key, as shown.
#[derive(Debug, Serialize)]
struct TokenKey {
    token: String,
    label: String,
    public_key: String,
    address: String,
}

impl Report for TokenKey {
    fn text(&self) -> String {
        format!(
            "token {} key {}: Ed25519 public key {} address {}\n",
            self.token, self.label, self.public_key, self.address
        )
    }
}

fn token_key(a: &Pkcs11Args, public: &[u8]) -> TokenKey {
    let pk = privval::PublicKey::Ed25519(public.to_vec());
    TokenKey {
        token: a.token.clone(),
        label: a.label.clone(),
        public_key: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, public),
        address: signer::floor::address(&pk).unwrap_or_default(),
    }
}

fn run_pkcs11(cmd: Pkcs11Command) -> anyhow::Result<()> {
    match cmd {
        Pkcs11Command::Import(a) => {
            let soft = signer::keys::SoftKey::load(&a.key)?;
            let seed = soft.ed25519_seed().ok_or_else(|| {
                crate::exit::UsageError("only Ed25519 keys go into a PKCS#11 token here".into())
            })?;
            let public = signer::keys::pkcs11::import(&a.token.config(), &seed)?;
            a.token.audit.record("pkcs11.import", serde_json::json!({"module": a.token.module, "token": a.token.token, "key": a.token.label}))?;
            eprintln!(
                "imported into token {}; remove {} once the token is backed up",
                a.token.token,
                a.key.display()
            );
            a.token.out.output().render(&token_key(&a.token, &public))
        }
        Pkcs11Command::Show(a) => {
            let pin = std::sync::Arc::new(signer::keys::pkcs11::PinFile(a.pin_file.clone()));
            let key = signer::keys::pkcs11::Pkcs11Key::open(
                &Default::default(),
                &a.config(),
                pin,
                Box::new(|_| {}),
            )?;
            a.audit.record(
                "pkcs11.login",
                serde_json::json!({"module": a.module, "token": a.token, "key": a.label}),
            )?;
            let pk = signer::keys::KeyBackend::public_key(&key);
            a.out.output().render(&token_key(&a, pk.bytes()))
        }
    }
}

/// Options of `peer-id`.
#[derive(Debug, Args)]
pub struct PeerIdArgs {
    /// Key file.
    #[arg(long)]
    key: PathBuf,
    /// Create the key file (mode 0600) first if it does not exist.
    #[arg(long)]
    generate: bool,
}

/// Where state changes and signer starts are recorded.
#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    /// Append this action to the audit log (hash-chained, see `bulwark audit`).
    #[arg(long, env = "BULWARK_AUDIT_LOG")]
    audit_log: Option<PathBuf>,
}

impl AuditArgs {
    /// Record `action` as this host's user, when a log is set.
    pub fn record(&self, action: &str, detail: serde_json::Value) -> anyhow::Result<()> {
        if let Some(path) = &self.audit_log {
            audit::AuditLog::new(path).append(&local_actor(), action, detail, None)?;
        }
        Ok(())
    }
}

/// `user@host` of this process, for audit entries without an SSH key.
fn local_actor() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!("{user}@{}", host.trim())
}

/// Options of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Configuration file (TOML).
    #[arg(long, short)]
    config: PathBuf,
    /// Start without the chain checks (floor from the chain, doppelganger watch), for
    /// a halted chain whose sign state is this validator's newest. Logged, and shown in
    /// bulwark_signer_chain_checks_skipped.
    #[arg(long)]
    skip_chain_checks: bool,
    #[command(flatten)]
    audit: AuditArgs,
}

/// State verbs.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Print a state file (safe while the signer runs).
    Show(ShowArgs),
    /// Create a state for a new chain, or one that starts at a height.
    Init(InitArgs),
    /// Create or raise a state from CometBFT's priv_validator_state.json or a tmkms state file.
    Import(ImportArgs),
    /// Set the last signed height/round/step. Never lowers without --allow-lower.
    Set(SetArgs),
    /// Rewrite the damaged slot of a state file with the record of the other slot, after
    /// you confirm that record by typing the chain ID.
    Repair(RepairArgs),
}

/// Options of `state repair`.
#[derive(Debug, Args)]
pub struct RepairArgs {
    /// State file (the signer must not be running on it).
    #[arg(long)]
    state: PathBuf,
    /// Chain ID.
    #[arg(long)]
    chain_id: String,
    #[command(flatten)]
    audit: AuditArgs,
}

/// Options of `state show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// State file.
    #[arg(long)]
    state: PathBuf,
    #[command(flatten)]
    out: OutputArgs,
}

/// Options of `state init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// State file to create.
    #[arg(long)]
    state: PathBuf,
    /// Chain ID.
    #[arg(long)]
    chain_id: String,
    /// Lowest height that may be signed (0 for a new chain).
    #[arg(long, default_value_t = 0)]
    height: i64,
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    audit: AuditArgs,
}

/// Import formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// CometBFT priv_validator_state.json.
    Cometbft,
    /// tmkms consensus state file.
    Tmkms,
}

/// Options of `state import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// State file to create or raise.
    #[arg(long)]
    state: PathBuf,
    /// Chain ID.
    #[arg(long)]
    chain_id: String,
    /// File to import.
    #[arg(long)]
    from: PathBuf,
    /// Format of the imported file.
    #[arg(long, value_enum, default_value_t = Format::Cometbft)]
    format: Format,
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    audit: AuditArgs,
}

/// Options of `state set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// State file.
    #[arg(long)]
    state: PathBuf,
    /// Chain ID.
    #[arg(long)]
    chain_id: String,
    /// Height.
    #[arg(long)]
    height: i64,
    /// Round.
    #[arg(long, default_value_t = 0)]
    round: i32,
    /// Step: propose, prevote or precommit.
    #[arg(long, value_enum, default_value_t = StepArg::Precommit)]
    step: StepArg,
    /// Allow setting a lower state (asks you to type the chain ID to confirm).
    #[arg(long)]
    allow_lower: bool,
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    audit: AuditArgs,
}

/// Steps.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StepArg {
    /// Proposal.
    Propose,
    /// Prevote.
    Prevote,
    /// Precommit.
    Precommit,
}

/// Run a signer verb.
pub fn run(cmd: SignerCommand) -> anyhow::Result<()> {
    match cmd {
        SignerCommand::Run(a) => run_signer(&a),
        SignerCommand::State(s) => run_state(s),
        SignerCommand::Pkcs11(c) => run_pkcs11(c),
        SignerCommand::PeerId(a) => {
            if a.generate {
                signer::keys::generate_key_file(&a.key)?;
            }
            Output::Text.render(&PeerId(signer::keys::peer_id(&a.key)?))
        }
    }
}

fn run_signer(a: &RunArgs) -> anyhow::Result<()> {
    let mut config = signer::Config::load(&a.config)?;
    config.skip_chain_checks = a.skip_chain_checks;
    config.audit_log = a.audit.audit_log.clone();
    let shutdown = signer::Shutdown::new();
    let sd = shutdown.clone();
    let rt = super::runtime()?;
    rt.spawn(async move {
        super::wait_for_signal().await;
        tracing::info!("signal received; finishing in-flight requests");
        sd.trigger();
    });
    tracing::info!(config = %a.config.display(), "starting signer");
    a.audit.record(
        "signer.start",
        serde_json::json!({
            "config": a.config,
            "chains": config.chains.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
            "skip_chain_checks": a.skip_chain_checks,
            "pid": std::process::id(),
        }),
    )?;
    signer::run(config, shutdown)?;
    Ok(())
}

fn run_state(cmd: StateCommand) -> anyhow::Result<()> {
    match cmd {
        StateCommand::Show(a) => a.out.output().render(&state::show(&a.state)?),
        StateCommand::Init(a) => {
            let view = state::init(&a.state, &a.chain_id, a.height)?;
            a.audit.record(
                "state.init",
                serde_json::json!({"state": a.state, "chain": a.chain_id, "height": a.height}),
            )?;
            a.out.output().render(&view)
        }
        StateCommand::Import(a) => {
            let format = match a.format {
                Format::Cometbft => ImportFormat::Cometbft,
                Format::Tmkms => ImportFormat::Tmkms,
            };
            let outcome = state::import(&a.state, &a.chain_id, &a.from, format)?;
            a.audit.record(
                "state.import",
                serde_json::json!({"state": a.state, "chain": a.chain_id, "from": a.from, "action": outcome.action, "after": outcome.state}),
            )?;
            a.out.output().render(&Imported {
                outcome,
                path: a.state,
            })
        }
        StateCommand::Repair(a) => {
            let repaired = repair(&a)?;
            if !matches!(repaired, Repaired::Healthy(_)) {
                a.audit.record(
                    "state.repair",
                    serde_json::json!({"state": a.state, "chain": a.chain_id}),
                )?;
            }
            Output::Text.render(&repaired)
        }
        StateCommand::Set(a) => {
            let step = match a.step {
                StepArg::Propose => guard::Step::Propose,
                StepArg::Prevote => guard::Step::Prevote,
                StepArg::Precommit => guard::Step::Precommit,
            };
            if a.allow_lower {
                confirm_lowering(&a, step)?;
            }
            let before = state::show(&a.state).ok();
            let view = state::set(
                &a.state,
                &a.chain_id,
                a.height,
                a.round,
                step,
                a.allow_lower,
            )?;
            let lowered = before.as_ref().is_some_and(|b| {
                (b.height, b.round, b.step) > (view.height, view.round, view.step)
            });
            a.audit.record(
                if lowered { "state.lower" } else { "state.set" },
                serde_json::json!({"state": a.state, "chain": a.chain_id, "before": before, "after": view}),
            )?;
            a.out.output().render(&view)
        }
    }
}

/// The peer ID `peer-id` prints.
#[derive(Serialize)]
#[serde(transparent)]
struct PeerId(String);

impl Report for PeerId {
    fn text(&self) -> String {
        format!("{}\n", self.0)
    }
}

impl Report for StateView {
    fn text(&self) -> String {
        let mut out = format!(
            "chain {}: last signed height {} round {} step {:?}{} (record {})\n",
            self.chain_id,
            self.height,
            self.round,
            self.step,
            if self.has_signature {
                ", signature kept"
            } else {
                ""
            },
            self.sequence
        );
        for w in &self.warnings {
            out.push_str(&format!("warning: {w}\n"));
        }
        if let Some(d) = &self.damage {
            out.push_str(&format!("damage: {d}\n"));
        }
        out
    }
}

/// What `import` did to the state file.
#[derive(Serialize)]
#[serde(transparent)]
struct Imported {
    outcome: ImportOutcome,
    #[serde(skip)]
    path: PathBuf,
}

impl Report for Imported {
    fn text(&self) -> String {
        self.outcome.state.text()
    }

    fn notice(&self) -> Option<String> {
        Some(format!("{}: {}", self.path.display(), self.outcome.action))
    }
}

/// What `state repair` found, and the state after it.
#[derive(Serialize)]
enum Repaired {
    /// Both slots were healthy; nothing changed.
    Healthy(PathBuf),
    /// The damaged slot was rewritten.
    Repaired(StateView),
}

impl Report for Repaired {
    fn text(&self) -> String {
        match self {
            Repaired::Healthy(path) => format!(
                "{}: both slots are healthy; nothing to repair, nothing changed\n",
                path.display()
            ),
            Repaired::Repaired(v) => v.text(),
        }
    }
}

/// Make the operator type the chain ID before the height, round or step may go lower.
fn confirm_lowering(a: &SetArgs, step: guard::Step) -> anyhow::Result<()> {
    let current = state::show(&a.state)?;
    let stored = guard::Hrs::new(current.height, current.round, current.step);
    let target = guard::Hrs::new(a.height, a.round, step);
    if target >= stored {
        return Ok(());
    }
    eprintln!(
        "{} holds the record of {stored} ({}, sequence {}). Setting it to {target} forgets \
         that record: this key may already have signed there or above, and a node that asks \
         again would get a second, conflicting signature, a double-sign. Type the chain ID ({}) \
         to confirm:",
        a.state.display(),
        if current.has_signature {
            "signature kept"
        } else {
            "no signature kept"
        },
        current.sequence,
        a.chain_id
    );
    confirm_chain_id(&a.chain_id)
}

/// Show the damage and the record `state repair` keeps, and rewrite the damaged slot once
/// the operator types the chain ID.
fn repair(a: &RepairArgs) -> anyhow::Result<Repaired> {
    let Some(plan) = state::repair_plan(&a.state, &a.chain_id)? else {
        return Ok(Repaired::Healthy(a.state.clone()));
    };
    let v = &plan.state;
    eprintln!(
        "{}: slot {} is damaged ({}). Repair keeps the record of slot {}: chain {} height {} \
         round {} step {}{} (record {}), and writes it again into slot {}. If the chain shows a \
         signature by this validator above that height, raise the state with `bulwark signer \
         state set` afterwards. Type the chain ID ({}) to confirm:",
        a.state.display(),
        plan.damaged_slot,
        plan.reason,
        plan.kept_slot,
        v.chain_id,
        v.height,
        v.round,
        v.step,
        if v.has_signature {
            ", signature kept"
        } else {
            ""
        },
        v.sequence,
        plan.damaged_slot,
        a.chain_id
    );
    confirm_chain_id(&a.chain_id)?;
    Ok(Repaired::Repaired(state::repair(
        &a.state,
        &a.chain_id,
        v.sequence,
    )?))
}

/// Read one line from stdin; it must be `chain_id`.
fn confirm_chain_id(chain_id: &str) -> anyhow::Result<()> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the confirmation")?;
    if line.trim() != chain_id {
        return Err(
            UsageError("confirmation did not match the chain ID; nothing changed".into()).into(),
        );
    }
    Ok(())
}

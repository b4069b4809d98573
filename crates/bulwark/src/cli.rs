//! Command-line definitions.

use clap::{Parser, Subcommand, ValueEnum};

/// Version and the git commit the binary was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("BULWARK_GIT_COMMIT"),
    ")"
);

/// Run Proof-of-Stake validator infrastructure safely.
#[derive(Debug, Parser)]
#[command(name = "bulwark", version = VERSION, propagate_version = true)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log filter, e.g. `info` or `bulwark=debug`.
    #[arg(long, global = true, env = "BULWARK_LOG", default_value = "warn")]
    pub log_level: String,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Bulwark's parts.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The audit trail: a hash-chained, signed log of every plan, approval and key move.
    #[command(subcommand)]
    Audit(crate::cmd::audit::AuditCommand),
    /// A real local CometBFT network for demos, tests and drills.
    #[command(subcommand)]
    Devnet(crate::cmd::devnet::DevnetCommand),
    /// Manual signer failover: a checked plan, approvals by M of N people's SSH keys,
    /// fenced execution. Never switches on its own.
    #[command(subcommand)]
    Failover(crate::cmd::failover::FailoverCommand),
    /// Remote signer for CometBFT validators, guarded against double-signing.
    #[command(subcommand)]
    Signer(crate::cmd::signer::SignerCommand),
    /// Incremental, verified snapshots of node data, local or S3; restores keep the sign state.
    #[command(subcommand)]
    Snapshot(crate::cmd::snapshot::SnapshotCommand),
    /// Threshold signing: t-of-n FROST shares for cosigners, split from a key or made by DKG.
    #[command(subcommand)]
    Threshold(crate::cmd::threshold::ThresholdCommand),
    /// Keys encrypted at rest, opened by a threshold of custodians.
    #[command(subcommand)]
    Vault(crate::cmd::vault::VaultCommand),
    /// Chain and server monitoring with alerts, Prometheus metrics and a status API.
    #[command(subcommand)]
    Watch(crate::cmd::watch::WatchCommand),
}

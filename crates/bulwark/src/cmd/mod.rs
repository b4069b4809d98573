//! One module per part; each maps its verbs onto the part's library.

pub mod audit;
pub mod devnet;
pub mod failover;
pub mod signer;
pub mod snapshot;
pub mod threshold;
pub mod vault;
pub mod watch;

use crate::cli::Command;

/// Run a parsed command.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Audit(c) => audit::run(c),
        Command::Devnet(c) => devnet::run(c),
        Command::Failover(c) => failover::run(c),
        Command::Signer(c) => signer::run(c),
        Command::Snapshot(c) => snapshot::run(c),
        Command::Threshold(c) => threshold::run(c),
        Command::Vault(c) => vault::run(c),
        Command::Watch(c) => watch::run(c),
    }
}

/// A multi-threaded runtime for the async parts.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// Resolve when SIGINT or SIGTERM arrives.
pub async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

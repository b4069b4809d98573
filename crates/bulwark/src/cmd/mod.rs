//! One module per part; each maps its verbs onto the part's library.

pub mod devnet;

use crate::cli::Command;

/// Run a parsed command.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Devnet(c) => devnet::run(c),
    }
}

/// A multi-threaded runtime for the async parts.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// Print `value` as pretty JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

//! `bulwark`: run Proof-of-Stake validator infrastructure safely.
//!
//! This binary only parses arguments and configuration and calls the part's library; a
//! command's result is one value that `output` prints as text or JSON.
//! Exit codes: 0 ok, 1 failure, 2 usage or configuration error.

mod cli;
mod cmd;
mod exit;
mod logging;
mod output;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    logging::init(cli.log_format, &cli.log_level);
    let code = match cmd::run(cli.command) {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("error: {}", exit::describe(&e));
            exit::code_for(&e)
        }
    };
    std::process::exit(code);
}

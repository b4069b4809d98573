//! Errors of the devnet crate. Every message says what is wrong and what to do.

use std::path::PathBuf;

/// Anything that can go wrong while generating, starting or inspecting a devnet.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    /// The requested CometBFT line is not one Bulwark knows.
    #[error("unknown CometBFT version {requested:?}; supported lines: {supported}")]
    UnknownLine {
        /// What the operator asked for.
        requested: String,
        /// The lines Bulwark supports, comma-separated.
        supported: String,
    },

    /// The CometBFT binary for a known line is not installed.
    #[error(
        "no CometBFT {line} binary found under {dir}; run `scripts/install-deps` to install it \
         (or set BULWARK_COMETBFT_DIR to the directory that holds it)"
    )]
    MissingBinary {
        /// The line asked for.
        line: String,
        /// The directory searched.
        dir: PathBuf,
    },

    /// The directory exists, is not empty, and holds no devnet.
    #[error(
        "{dir} is not a Bulwark devnet (no devnet.json in it); pass --dir with a new or empty \
         directory, or with the directory of an existing devnet"
    )]
    NotADevnet {
        /// The directory given.
        dir: PathBuf,
    },

    /// A devnet command that needs an existing devnet found none.
    #[error("no devnet at {dir}; create one with `bulwark devnet up --dir {dir}`", dir = .dir.display())]
    NoDevnet {
        /// The directory given.
        dir: PathBuf,
    },

    /// The manifest cannot be read.
    #[error("{path}: devnet manifest is unreadable: {reason}; destroy the devnet with `bulwark devnet destroy` and create it again")]
    BadManifest {
        /// Path of devnet.json.
        path: PathBuf,
        /// Why it is unreadable.
        reason: String,
    },

    /// Options given to `up` differ from the ones the existing devnet was made with.
    #[error("{0}; run `bulwark devnet destroy` first to make a new one, or leave the option out")]
    Mismatch(String),

    /// An option is outside what the devnet supports.
    #[error("{0}")]
    InvalidOption(String),

    /// A port the devnet needs is taken by another process.
    #[error(
        "port {port} ({what}) on 127.0.0.1 is already in use by another process; stop that \
         process, or create the devnet with another --base-port"
    )]
    PortInUse {
        /// The port.
        port: u16,
        /// Which node and service wanted it.
        what: String,
    },

    /// No free block of ports was found.
    #[error("could not find {count} free consecutive ports on 127.0.0.1; free some ports or pass --base-port")]
    NoFreePorts {
        /// How many were needed.
        count: u16,
    },

    /// A node is not part of this devnet.
    #[error("no node named {name:?} in this devnet; nodes: {known}")]
    UnknownNode {
        /// The name given.
        name: String,
        /// The names that exist.
        known: String,
    },

    /// A CometBFT command failed.
    #[error("`{command}` failed: {output}")]
    Command {
        /// The command line.
        command: String,
        /// Its output.
        output: String,
    },

    /// A node process failed to start or to answer.
    #[error("node {node} did not start: {reason}\nlast lines of {log}:\n{tail}")]
    NodeStart {
        /// Node name.
        node: String,
        /// Why.
        reason: String,
        /// Path of its log.
        log: PathBuf,
        /// The last lines of the log.
        tail: String,
    },

    /// The nodes started but the chain does not commit blocks.
    #[error(
        "the nodes started but the chain did not commit a block above height {height} in time; \
         read the logs with `bulwark devnet logs NODE`"
    )]
    NoBlocks {
        /// Best height seen.
        height: u64,
    },

    /// An RPC request failed.
    #[error("RPC {url}: {reason}")]
    Rpc {
        /// The URL requested.
        url: String,
        /// What failed.
        reason: String,
    },

    /// val0's threshold setup (shares, link keys) failed.
    #[error("threshold signer for val0: {what}: {reason}")]
    Threshold {
        /// What was being made or read.
        what: String,
        /// Why it failed.
        reason: String,
    },

    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl DevnetError {
    /// True when the error comes from the operator's input (options, directory) rather than
    /// from the environment or a node; the CLI exits with 2 for these.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::UnknownLine { .. }
                | Self::NotADevnet { .. }
                | Self::NoDevnet { .. }
                | Self::Mismatch(_)
                | Self::InvalidOption(_)
                | Self::UnknownNode { .. }
        )
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = DevnetError> = std::result::Result<T, E>;

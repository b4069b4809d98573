//! Exit codes: 0 ok, 1 failure, 2 usage or configuration error.

/// Success.
pub const OK: i32 = 0;
/// Something failed at run time.
pub const FAILURE: i32 = 1;
/// The command line or configuration is wrong (clap also exits with 2).
pub const USAGE: i32 = 2;

/// A usage or configuration error raised by the binary itself.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The exit code for an error.
pub fn code_for(e: &anyhow::Error) -> i32 {
    let usage = e.chain().any(|c| {
        c.downcast_ref::<UsageError>().is_some()
            || c.downcast_ref::<devnet::DevnetError>()
                .is_some_and(devnet::DevnetError::is_usage)
            || c.downcast_ref::<signer::state::StateError>()
                .is_some_and(|e| matches!(e, signer::state::StateError::WouldLower { .. }))
            || c.downcast_ref::<watch::ConfigError>().is_some()
            || c.downcast_ref::<watch::WatchError>().is_some_and(|e| {
                matches!(
                    e,
                    watch::WatchError::Config(_) | watch::WatchError::UnknownChannel { .. }
                )
            })
    });
    if usage {
        USAGE
    } else {
        FAILURE
    }
}

/// The error and its causes, skipping causes whose text the message already carries
/// (library errors name their cause in their own message).
pub fn describe(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !msg.contains(&c) {
            msg.push_str(": ");
            msg.push_str(&c);
        }
    }
    msg
}

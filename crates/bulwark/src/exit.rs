//! Exit codes: 0 ok, 1 failure, 2 usage or configuration error.

use std::error::Error;

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

/// An error that says whether the operator's input caused it (exit 2) or something
/// failed (exit 1). The libraries' errors answer with their own `is_usage`.
pub trait UsageClass: Error + 'static {
    /// True for a usage or configuration error.
    fn is_usage(&self) -> bool;
}

impl UsageClass for UsageError {
    fn is_usage(&self) -> bool {
        true
    }
}

impl UsageClass for devnet::DevnetError {
    fn is_usage(&self) -> bool {
        devnet::DevnetError::is_usage(self)
    }
}

impl UsageClass for signer::state::StateError {
    fn is_usage(&self) -> bool {
        signer::state::StateError::is_usage(self)
    }
}

impl UsageClass for signer::config::ConfigError {
    fn is_usage(&self) -> bool {
        signer::config::ConfigError::is_usage(self)
    }
}

impl UsageClass for snapshot::SnapshotError {
    fn is_usage(&self) -> bool {
        snapshot::SnapshotError::is_usage(self)
    }
}

impl UsageClass for snapshot::schedule::ConfigError {
    fn is_usage(&self) -> bool {
        true
    }
}

impl UsageClass for threshold::share::ShareError {
    fn is_usage(&self) -> bool {
        threshold::share::ShareError::is_usage(self)
    }
}

impl UsageClass for threshold::dkg::DkgError {
    fn is_usage(&self) -> bool {
        threshold::dkg::DkgError::is_usage(self)
    }
}

impl UsageClass for threshold::horcrux::HorcruxError {
    fn is_usage(&self) -> bool {
        threshold::horcrux::HorcruxError::is_usage(self)
    }
}

impl UsageClass for threshold::split::SplitError {
    fn is_usage(&self) -> bool {
        threshold::split::SplitError::is_usage(self)
    }
}

// The watch's errors are classified here, beside the others, so that the watch crate
// keeps no CLI concern.
impl UsageClass for watch::ConfigError {
    fn is_usage(&self) -> bool {
        true
    }
}

impl UsageClass for watch::WatchError {
    fn is_usage(&self) -> bool {
        matches!(
            self,
            watch::WatchError::Config(_) | watch::WatchError::UnknownChannel { .. }
        )
    }
}

/// Whether `e` is a `T` that is a usage error.
fn usage_as<T: UsageClass>(e: &(dyn Error + 'static)) -> bool {
    e.downcast_ref::<T>().is_some_and(T::is_usage)
}

/// Every error type that can be a usage error.
const CLASSES: &[fn(&(dyn Error + 'static)) -> bool] = &[
    usage_as::<UsageError>,
    usage_as::<devnet::DevnetError>,
    usage_as::<signer::state::StateError>,
    usage_as::<signer::config::ConfigError>,
    usage_as::<snapshot::SnapshotError>,
    usage_as::<snapshot::schedule::ConfigError>,
    usage_as::<threshold::share::ShareError>,
    usage_as::<threshold::split::SplitError>,
    usage_as::<threshold::dkg::DkgError>,
    usage_as::<threshold::horcrux::HorcruxError>,
    usage_as::<watch::ConfigError>,
    usage_as::<watch::WatchError>,
];

/// The exit code for an error: 2 when it, or any of its causes, is a usage error.
pub fn code_for(e: &anyhow::Error) -> i32 {
    let usage = e
        .chain()
        .any(|cause| CLASSES.iter().any(|is_usage| is_usage(cause)));
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

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    fn code(e: impl Error + Send + Sync + 'static) -> i32 {
        code_for(&anyhow::Error::new(e).context("while running the command"))
    }

    #[test]
    fn usage_errors_exit_2_under_any_context() {
        assert_eq!(code(UsageError("bad".into())), USAGE);
        assert_eq!(code(devnet::DevnetError::Mismatch("x".into())), USAGE);
        assert_eq!(
            code(signer::config::ConfigError {
                path: "s.toml".into(),
                problems: vec!["no [[chain]]".into()],
            }),
            USAGE
        );
        assert_eq!(code(watch::ConfigError::Invalid(vec!["x".into()])), USAGE);
        assert_eq!(
            code(threshold::split::SplitError::Parameters("1 of 3".into())),
            USAGE
        );
        assert_eq!(
            code(watch::WatchError::Config(watch::ConfigError::Invalid(
                vec![]
            ))),
            USAGE
        );
        let lower: anyhow::Result<()> = Err(signer::state::StateError::WouldLower {
            path: "s".into(),
            current_height: 9,
            current_round: 0,
            current_step: guard::Step::Precommit,
            height: 3,
            round: 0,
            step: guard::Step::Precommit,
        }
        .into());
        assert_eq!(code_for(&lower.context("set").unwrap_err()), USAGE);
    }

    #[test]
    fn other_errors_exit_1() {
        assert_eq!(code(watch::WatchError::Task("panicked".into())), FAILURE);
        assert_eq!(
            code(threshold::split::SplitError::Check("x".into())),
            FAILURE
        );
        assert_eq!(
            code(signer::state::StateError::Corrupt {
                path: "s".into(),
                reason: "torn".into(),
            }),
            FAILURE
        );
        assert_eq!(code_for(&anyhow::anyhow!("a node did not answer")), FAILURE);
    }
}

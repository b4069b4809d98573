//! A notification channel as the dispatcher saw its deliveries.

use crate::time::Ts;
use serde::Serialize;

/// One channel's delivery health.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelState {
    /// Channel name.
    pub name: String,
    /// Its `type`.
    pub kind: String,
    /// Deliveries that failed in a row (a success resets it).
    pub consecutive_failures: u64,
    /// When the current run of failures started.
    pub failing_since: Option<Ts>,
    /// Why the last delivery failed (while failing).
    pub last_error: Option<String>,
    /// When a delivery last succeeded.
    pub last_success_at: Option<Ts>,
}

impl ChannelState {
    /// A channel nothing was sent to yet.
    pub fn new(name: &str, kind: &str) -> Self {
        Self {
            name: name.into(),
            kind: kind.into(),
            consecutive_failures: 0,
            failing_since: None,
            last_error: None,
            last_success_at: None,
        }
    }

    /// Record a delivery's outcome at `now`.
    pub fn record(&mut self, res: Result<(), &str>, now: Ts) {
        match res {
            Ok(()) => {
                self.consecutive_failures = 0;
                self.failing_since = None;
                self.last_error = None;
                self.last_success_at = Some(now);
            }
            Err(e) => {
                if self.consecutive_failures == 0 {
                    self.failing_since = Some(now);
                }
                self.consecutive_failures += 1;
                self.last_error = Some(e.to_string());
            }
        }
    }
}

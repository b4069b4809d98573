//! Time as the watch counts it: unix seconds, RFC 3339 text and durations for people.

use std::time::{Duration, UNIX_EPOCH};

/// Unix time in seconds.
pub type Ts = f64;

/// Current unix time in seconds.
pub fn now() -> Ts {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// RFC 3339 text (UTC, seconds) of a unix time.
pub fn rfc3339(t: Ts) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs_f64(t.max(0.0))).to_string()
}

/// Human text for a number of seconds.
pub(crate) fn human(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    humantime::format_duration(Duration::from_secs(s)).to_string()
}

//! Refusal logs, rate-limited per node and reason.
//!
//! A node that sends conflicting requests in a loop would otherwise make the signer write
//! one WARN line per request (hundreds of MB an hour). Per reason, the first refusal of a
//! window is logged in full; the others in that window are only counted, and one summary
//! line when the window ends says how many more there were and what the last one said.
//! The metrics count every refusal; this only thins the log. Time is passed in, so tests
//! drive it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How long one logged refusal stands for the others of its reason.
pub(super) const WINDOW: Duration = Duration::from_secs(60);

/// One node's refusal log.
#[derive(Debug)]
pub(super) struct RefusalLog {
    window: Duration,
    open: BTreeMap<&'static str, Open>,
}

#[derive(Debug)]
struct Open {
    since: Instant,
    more: u64,
    last: String,
}

/// A line to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Entry {
    /// The first refusal of a reason in a window: log it in full.
    First {
        /// Reason code.
        reason: &'static str,
        /// The refusal's text.
        text: String,
    },
    /// The window of a reason ended with `more` refusals after the first.
    Summary {
        /// Reason code.
        reason: &'static str,
        /// Refusals counted but not logged.
        more: u64,
        /// The last one's text.
        last: String,
        /// How long the window lasted.
        over: Duration,
    },
}

impl RefusalLog {
    /// A log where one full line per reason stands for `window`.
    pub(super) fn new(window: Duration) -> RefusalLog {
        RefusalLog {
            window,
            open: BTreeMap::new(),
        }
    }

    /// Note a refusal at `now`; returns the lines to log (summaries of windows that have
    /// ended, then this refusal if it is the first of its reason in a window).
    pub(super) fn refused(&mut self, now: Instant, reason: &'static str, text: &str) -> Vec<Entry> {
        let mut out = self.due(now);
        match self.open.get_mut(reason) {
            Some(w) => {
                w.more += 1;
                w.last.clear();
                w.last.push_str(text);
            }
            None => {
                self.open.insert(
                    reason,
                    Open {
                        since: now,
                        more: 0,
                        last: String::new(),
                    },
                );
                out.push(Entry::First {
                    reason,
                    text: text.to_string(),
                });
            }
        }
        out
    }

    /// Close the windows that have ended by `now`; a summary for each that counted more.
    pub(super) fn due(&mut self, now: Instant) -> Vec<Entry> {
        let ended: Vec<&'static str> = self
            .open
            .iter()
            .filter(|(_, w)| now.saturating_duration_since(w.since) >= self.window)
            .map(|(r, _)| *r)
            .collect();
        ended
            .into_iter()
            .filter_map(|r| {
                let w = self.open.remove(r)?;
                summary(r, w, now)
            })
            .collect()
    }

    /// Close every window (the session is ending): a summary for each that counted more.
    pub(super) fn finish(&mut self, now: Instant) -> Vec<Entry> {
        std::mem::take(&mut self.open)
            .into_iter()
            .filter_map(|(r, w)| summary(r, w, now))
            .collect()
    }
}

fn summary(reason: &'static str, w: Open, now: Instant) -> Option<Entry> {
    (w.more > 0).then(|| Entry::Summary {
        reason,
        more: w.more,
        last: w.last,
        over: now.saturating_duration_since(w.since),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(reason: &'static str, text: &str) -> Entry {
        Entry::First {
            reason,
            text: text.into(),
        }
    }

    #[test]
    fn the_first_of_a_reason_is_logged_the_rest_summed_up_once_per_window() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut log = RefusalLog::new(Duration::from_secs(60));
        assert_eq!(
            log.refused(at(0), "conflicting_data", "a"),
            [first("conflicting_data", "a")]
        );
        for i in 1..=1000 {
            let text = format!("conflict {i}");
            assert_eq!(log.refused(at(i), "conflicting_data", &text), []);
        }
        // Another reason has its own window.
        assert_eq!(
            log.refused(at(2000), "height_regression", "h"),
            [first("height_regression", "h")]
        );
        assert_eq!(log.due(at(59_999)), []);
        assert_eq!(
            log.due(at(60_000)),
            [Entry::Summary {
                reason: "conflicting_data",
                more: 1000,
                last: "conflict 1000".into(),
                over: Duration::from_secs(60),
            }]
        );
        assert_eq!(log.due(at(60_001)), [], "one summary per window");
        // The next window starts with a full line again; the summary of an ended window
        // comes first.
        assert_eq!(
            log.refused(at(61_000), "conflicting_data", "b"),
            [first("conflicting_data", "b")]
        );
        log.refused(at(61_500), "height_regression", "h2");
        assert_eq!(
            log.refused(at(62_500), "conflicting_data", "c"),
            [Entry::Summary {
                reason: "height_regression",
                more: 1,
                last: "h2".into(),
                over: Duration::from_millis(60_500),
            }]
        );
    }

    #[test]
    fn a_window_without_more_ends_silently_and_finish_flushes_the_counts() {
        let t0 = Instant::now();
        let mut log = RefusalLog::new(Duration::from_secs(60));
        log.refused(t0, "floor", "f");
        assert_eq!(log.due(t0 + Duration::from_secs(61)), []);
        assert_eq!(
            log.refused(t0 + Duration::from_secs(62), "floor", "f"),
            [first("floor", "f")]
        );
        log.refused(t0 + Duration::from_secs(63), "floor", "g");
        log.refused(t0 + Duration::from_secs(64), "other", "o");
        assert_eq!(
            log.finish(t0 + Duration::from_secs(65)),
            [Entry::Summary {
                reason: "floor",
                more: 1,
                last: "g".into(),
                over: Duration::from_secs(3),
            }]
        );
        assert_eq!(log.finish(t0 + Duration::from_secs(66)), []);
    }
}

//! Quiet hours of a route: a time of day range in a fixed offset from UTC, typed and
//! checked as the file is read.

use serde::{Deserialize, Serialize};

/// Quiet hours of a route, as a local time of day range (`from` inclusive, `to`
/// exclusive; `from` after `to` spans midnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// Start, e.g. `"22:00"`.
    pub from: ClockTime,
    /// End, e.g. `"07:00"`.
    pub to: ClockTime,
    /// The offset from UTC the times are in, e.g. `"+01:00"` (default `"+00:00"`).
    #[serde(default)]
    pub utc_offset: UtcOffset,
}

const DAY: f64 = 86_400.0;

impl QuietHours {
    /// Seconds since local midnight at unix time `t`.
    fn local(&self, t: f64) -> f64 {
        (t + self.utc_offset.0 as f64 * 60.0).rem_euclid(DAY)
    }

    /// Whether unix time `t` is in the quiet hours.
    pub fn contains(&self, t: f64) -> bool {
        let (from, to, now) = (self.from.secs(), self.to.secs(), self.local(t));
        if from <= to {
            from <= now && now < to
        } else {
            now >= from || now < to
        }
    }

    /// The next end of the quiet hours after unix time `t`.
    pub fn end_after(&self, t: f64) -> f64 {
        let wait = (self.to.secs() - self.local(t)).rem_euclid(DAY);
        t + if wait == 0.0 { DAY } else { wait }
    }
}

/// A time of day, `"HH:MM"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClockTime(u16);

impl ClockTime {
    /// `hours`:`minutes`.
    pub fn new(hours: u16, minutes: u16) -> Self {
        Self(hours * 60 + minutes)
    }

    fn secs(self) -> f64 {
        self.0 as f64 * 60.0
    }
}

impl TryFrom<String> for ClockTime {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a time of day; write \"HH:MM\", e.g. \"22:00\"");
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if h > 23 || m > 59 || s.len() != 5 {
            return Err(bad());
        }
        Ok(Self::new(h, m))
    }
}

impl From<ClockTime> for String {
    fn from(c: ClockTime) -> String {
        format!("{:02}:{:02}", c.0 / 60, c.0 % 60)
    }
}

/// An offset from UTC, `"+HH:MM"` or `"-HH:MM"`, in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct UtcOffset(i16);

impl UtcOffset {
    /// `minutes` east of UTC.
    pub fn minutes(minutes: i16) -> Self {
        Self(minutes)
    }
}

impl TryFrom<String> for UtcOffset {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let bad = || {
            format!("{s:?} is not a UTC offset; write \"+HH:MM\" or \"-HH:MM\", e.g. \"+01:00\"")
        };
        let sign = match s.chars().next() {
            Some('+') => 1,
            Some('-') => -1,
            _ => return Err(bad()),
        };
        let t = ClockTime::try_from(s[1..].to_string()).map_err(|_| bad())?;
        if t.0 > 14 * 60 {
            return Err(bad());
        }
        Ok(Self(sign * t.0 as i16))
    }
}

impl From<UtcOffset> for String {
    fn from(o: UtcOffset) -> String {
        let sign = if o.0 < 0 { '-' } else { '+' };
        let m = o.0.unsigned_abs();
        format!("{sign}{:02}:{:02}", m / 60, m % 60)
    }
}

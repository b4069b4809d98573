//! Quiet hours of a route: a time of day range in a fixed offset from UTC, or in a named
//! time zone that follows its daylight saving changes, typed and checked as the file is
//! read.

use serde::{Deserialize, Serialize};

/// Quiet hours of a route, as a local time of day range (`from` inclusive, `to`
/// exclusive; `from` after `to` spans midnight).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// Start, e.g. `"22:00"`.
    pub from: ClockTime,
    /// End, e.g. `"07:00"`.
    pub to: ClockTime,
    /// The offset from UTC the times are in, e.g. `"+01:00"` (default `"+00:00"`).
    #[serde(default)]
    pub utc_offset: UtcOffset,
    /// Or the IANA time zone they are in, e.g. `"Europe/Berlin"`, following its daylight
    /// saving changes (from the host's time zone database).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<TimeZoneName>,
}

const DAY: f64 = 86_400.0;

impl QuietHours {
    /// The offset from UTC at unix time `t`, in seconds.
    fn offset(&self, t: f64) -> f64 {
        match &self.time_zone {
            Some(z) => {
                let at = jiff::Timestamp::from_second(t.floor() as i64)
                    .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
                f64::from(z.tz.to_offset(at).seconds())
            }
            None => self.utc_offset.0 as f64 * 60.0,
        }
    }

    /// Seconds since local midnight at unix time `t`.
    fn local(&self, t: f64) -> f64 {
        (t + self.offset(t)).rem_euclid(DAY)
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
        let end = t + if wait == 0.0 { DAY } else { wait };
        // Across a daylight saving change the offset at the end is not the one now.
        let end = end - (self.offset(end) - self.offset(t));
        if end <= t {
            end + DAY
        } else {
            end
        }
    }
}

/// An IANA time zone name, checked against the host's time zone database.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZoneName {
    name: String,
    tz: jiff::tz::TimeZone,
}

impl PartialEq for TimeZoneName {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for TimeZoneName {}

impl TryFrom<String> for TimeZoneName {
    type Error = String;
    fn try_from(name: String) -> Result<Self, String> {
        let tz = jiff::tz::TimeZone::get(&name).map_err(|e| {
            format!(
                "{name:?} is not a time zone this host knows ({e}); write an IANA name such as \"Europe/Berlin\" (the host needs its time zone database, Debian's tzdata), or give utc_offset instead"
            )
        })?;
        Ok(Self { name, tz })
    }
}

impl From<TimeZoneName> for String {
    fn from(z: TimeZoneName) -> String {
        z.name
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> f64 {
        s.parse::<jiff::Timestamp>().unwrap().as_second() as f64
    }

    fn berlin() -> QuietHours {
        QuietHours {
            from: ClockTime::new(22, 0),
            to: ClockTime::new(7, 0),
            utc_offset: UtcOffset::default(),
            time_zone: Some(TimeZoneName::try_from("Europe/Berlin".to_string()).unwrap()),
        }
    }

    #[test]
    fn a_named_zone_follows_daylight_saving() {
        let q = berlin();
        // Winter, UTC+1: 22:30 local is 21:30 UTC.
        assert!(q.contains(at("2026-01-15T21:30:00Z")));
        assert!(!q.contains(at("2026-01-15T20:30:00Z")));
        // Summer, UTC+2: 22:30 local is 20:30 UTC; 21:30 UTC is quiet, 19:30 is not.
        assert!(q.contains(at("2026-07-15T20:30:00Z")));
        assert!(!q.contains(at("2026-07-15T19:30:00Z")));
        assert!(q.contains(at("2026-07-16T04:59:00Z")));
        assert!(!q.contains(at("2026-07-16T05:00:00Z")));
        // The night the clocks go forward (29 March 2026, 02:00 CET -> 03:00 CEST): the
        // quiet hours end at 07:00 CEST, 05:00 UTC.
        assert_eq!(
            q.end_after(at("2026-03-28T23:00:00Z")),
            at("2026-03-29T05:00:00Z")
        );
        // And the night they go back (25 October, 03:00 CEST -> 02:00 CET): 06:00 UTC.
        assert_eq!(
            q.end_after(at("2026-10-24T22:00:00Z")),
            at("2026-10-25T06:00:00Z")
        );
    }

    #[test]
    fn an_unknown_zone_is_named() {
        let e = TimeZoneName::try_from("Europe/Berln".to_string()).unwrap_err();
        assert!(
            e.starts_with("\"Europe/Berln\" is not a time zone this host knows"),
            "{e}"
        );
        let back: String = berlin().time_zone.unwrap().into();
        assert_eq!(back, "Europe/Berlin");
    }
}

//! Points in time as milliseconds since the Unix epoch; the clock itself lives outside.

use std::fmt;

/// A point in time, in milliseconds since 1970-01-01T00:00:00Z (UTC).
///
/// The domain never reads the clock: callers pass `now` in, so tests can fix it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// This instant moved forward by `seconds` (saturating).
    pub const fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds.saturating_mul(1000)))
    }

    /// The calendar year (UTC) this instant falls in.
    pub fn year(self) -> i64 {
        civil_from_days(self.0.div_euclid(86_400_000)).0
    }

    /// Whole seconds from `earlier` to `self` (negative when `earlier` is later).
    pub const fn seconds_since(self, earlier: Timestamp) -> i64 {
        (self.0 - earlier.0) / 1000
    }
}

/// The text is not an RFC 3339 date (`2026-11-22`) or UTC date-time
/// (`2026-11-22T08:30:00Z`, optional fraction).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a date (YYYY-MM-DD) or UTC date-time (YYYY-MM-DDTHH:MM:SSZ)")]
pub struct TimestampError;

impl Timestamp {
    /// Parses `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
    pub fn parse_rfc3339(text: &str) -> Result<Timestamp, TimestampError> {
        let text = text.trim();
        let (date, time) = match text.split_once(['T', 't', ' ']) {
            Some((date, time)) => (date, Some(time)),
            None => (text, None),
        };
        let number = |s: &str| -> Result<i64, TimestampError> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(TimestampError);
            }
            s.parse().map_err(|_| TimestampError)
        };
        let mut parts = date.split('-');
        let (Some(y), Some(m), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TimestampError);
        };
        let (year, month, day) = (number(y)?, number(m)?, number(d)?);
        if y.len() != 4 || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month)
        {
            return Err(TimestampError);
        }
        let mut millis = days_from_civil(year, month, day) * 86_400_000;
        if let Some(time) = time {
            let time = time.strip_suffix(['Z', 'z']).ok_or(TimestampError)?;
            let (hms, fraction) = match time.split_once('.') {
                Some((hms, fraction)) => (hms, Some(fraction)),
                None => (time, None),
            };
            let mut fields = hms.split(':');
            let (Some(h), Some(mi), Some(sec), None) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                return Err(TimestampError);
            };
            let (h, mi, sec) = (number(h)?, number(mi)?, number(sec)?);
            if h > 23 || mi > 59 || sec > 59 {
                return Err(TimestampError);
            }
            millis += ((h * 60 + mi) * 60 + sec) * 1000;
            if let Some(fraction) = fraction {
                let digits: String = fraction.chars().chain("000".chars()).take(3).collect();
                number(fraction)?;
                millis += number(&digits)?;
            }
        }
        Ok(Timestamp(millis))
    }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// (year, month, day) to days since the epoch (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with millisecond precision, e.g. `2026-11-22T08:30:00.000Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0.rem_euclid(1000);
        let secs = self.0.div_euclid(1000);
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60
        )
    }
}

/// Days since the epoch to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's published `civil_from_days` algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(
            Timestamp::from_millis(0).to_string(),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_millis(1_795_336_200_123).to_string(),
            "2026-11-22T08:30:00.123Z"
        );
        assert_eq!(
            Timestamp::from_millis(951_782_400_000).to_string(),
            "2000-02-29T00:00:00.000Z"
        );
    }

    #[test]
    fn parses_rfc3339() {
        let t = Timestamp::from_millis(1_795_336_200_123);
        assert_eq!(Timestamp::parse_rfc3339(&t.to_string()), Ok(t));
        assert_eq!(
            Timestamp::parse_rfc3339("2026-11-22T08:30:00Z").map(|t| t.as_millis()),
            Ok(1_795_336_200_000)
        );
        assert_eq!(
            Timestamp::parse_rfc3339("1970-01-02").map(|t| t.as_millis()),
            Ok(86_400_000)
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2000-02-29").map(|t| t.to_string()),
            Ok("2000-02-29T00:00:00.000Z".into())
        );
        for bad in [
            "",
            "2026-13-01",
            "2026-02-30",
            "2026-11-22T25:00:00Z",
            "2026-11-22T08:30:00",
            "26-11-22",
            "2026-11-22T08:30:00.x1Z",
            "yesterday",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(bad), Err(TimestampError), "{bad}");
        }
    }

    #[test]
    fn arithmetic() {
        assert_eq!(
            Timestamp::parse_rfc3339("2026-12-31T23:59:59Z")
                .unwrap()
                .year(),
            2026
        );
        assert_eq!(Timestamp::parse_rfc3339("2027-01-01").unwrap().year(), 2027);
        assert_eq!(Timestamp::from_millis(-1).year(), 1969);
        let t = Timestamp::from_millis(10_000);
        assert_eq!(t.plus_seconds(5).as_millis(), 15_000);
        assert_eq!(t.plus_seconds(5).seconds_since(t), 5);
    }
}

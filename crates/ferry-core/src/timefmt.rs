//! Times written with Go's reference layouts (`2006-01-02 15:04:05`), the form rclone's
//! flags take (`lsf --time-format`, bisync's `--conflict-suffix {DateOnly}`), so users'
//! layouts and the output they give carry over unchanged.
//!
//! Formatting works on a [`Clock`], the fields a layout can show, so this crate needs no
//! time-zone library: callers pass the UTC offset their zone has at that moment.

use std::time::{SystemTime, UNIX_EPOCH};

/// A moment as a clock `offset` seconds east of UTC shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    pub year: i64,
    /// 1 to 12.
    pub month: u32,
    /// 1 to 31.
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub nanosecond: u32,
    /// 0 is Sunday.
    pub weekday: u32,
    /// The day of the year, 1 to 366.
    pub ordinal: u32,
    /// Seconds east of UTC.
    pub offset: i32,
}

impl Clock {
    /// `t` on a clock `offset` seconds east of UTC.
    pub fn at(t: SystemTime, offset: i32) -> Clock {
        let (secs, nanosecond) = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
            Err(e) => {
                let d = e.duration();
                match d.subsec_nanos() {
                    0 => (-(d.as_secs() as i64), 0),
                    n => (-(d.as_secs() as i64) - 1, 1_000_000_000 - n),
                }
            }
        };
        let local = secs + i64::from(offset);
        let (days, of_day) = (local.div_euclid(86_400), local.rem_euclid(86_400) as u32);
        let (year, month, day) = civil(days);
        Clock {
            year,
            month,
            day,
            hour: of_day / 3600,
            minute: of_day % 3600 / 60,
            second: of_day % 60,
            nanosecond,
            // 1970-01-01 was a Thursday.
            weekday: (days + 4).rem_euclid(7) as u32,
            ordinal: ordinal(year, month, day),
            offset,
        }
    }
}

/// The proleptic Gregorian date `days` after 1970-01-01 (H. Hinnant's `civil_from_days`:
/// counted in 400-year eras starting each March, so leap days fall at an era's end).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn ordinal(year: i64, month: u32, day: u32) -> u32 {
    const BEFORE: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    BEFORE[month as usize - 1] + day + u32::from(leap && month > 2)
}

/// Go's named layouts, by the names rclone accepts for them (its `TimeFormat`, with its
/// `MacFriendlyTime` and `YYYYMMDD`); any other text is a layout itself.
pub fn named_layout(name: &str) -> &str {
    match name {
        "Layout" => "01/02 03:04:05PM '06 -0700",
        "ANSIC" => "Mon Jan _2 15:04:05 2006",
        "UnixDate" => "Mon Jan _2 15:04:05 MST 2006",
        "RubyDate" => "Mon Jan 02 15:04:05 -0700 2006",
        "RFC822" => "02 Jan 06 15:04 MST",
        "RFC822Z" => "02 Jan 06 15:04 -0700",
        "RFC850" => "Monday, 02-Jan-06 15:04:05 MST",
        "RFC1123" => "Mon, 02 Jan 2006 15:04:05 MST",
        "RFC1123Z" => "Mon, 02 Jan 2006 15:04:05 -0700",
        "RFC3339" => "2006-01-02T15:04:05Z07:00",
        "RFC3339Nano" => "2006-01-02T15:04:05.999999999Z07:00",
        "Kitchen" => "3:04PM",
        "Stamp" => "Jan _2 15:04:05",
        "StampMilli" => "Jan _2 15:04:05.000",
        "StampMicro" => "Jan _2 15:04:05.000000",
        "StampNano" => "Jan _2 15:04:05.000000000",
        "DateTime" => "2006-01-02 15:04:05",
        "DateOnly" => "2006-01-02",
        "TimeOnly" => "15:04:05",
        // macOS file names can't hold colons.
        "MacFriendlyTime" | "macfriendlytime" | "mac" => "2006-01-02 0304PM",
        "YYYYMMDD" => "20060102",
        other => other,
    }
}

/// `s` with its date template shown on `clock`, as rclone's `AppyTimeGlobs` (bisync's
/// `--conflict-suffix`, `--name-transform date=`): the text from the first `{` to the last
/// `}`, braces trimmed, is a layout ([`named_layout`]); each place that text occurs is
/// replaced. Without such a pair, `s` as it is.
pub fn apply_time_globs(s: &str, clock: &Clock) -> String {
    let (Some(open), Some(close)) = (s.find('{'), s.rfind('}')) else {
        return s.to_owned();
    };
    if close < open {
        return s.to_owned();
    }
    let glob = &s[open..=close];
    let layout = glob.trim_matches(|c| c == '{' || c == '}');
    s.replace(glob, &go_format(clock, named_layout(layout)))
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Formats `t` with a Go reference layout, as Go's `Time.Format` does; text that is no
/// layout element is copied.
pub fn go_format(t: &Clock, layout: &str) -> String {
    let mut out = String::new();
    let b = layout.as_bytes();
    let mut i = 0;
    let at = |i: usize, s: &str| layout[i..].starts_with(s);
    let month = MONTHS[t.month as usize - 1];
    let weekday = DAYS[t.weekday as usize];
    let hour12 = match t.hour % 12 {
        0 => 12,
        h => h,
    };
    while i < b.len() {
        let (text, used): (String, usize) = match b[i] {
            b'J' if at(i, "January") => (month.to_owned(), 7),
            b'J' if at(i, "Jan") => (month[..3].to_owned(), 3),
            b'M' if at(i, "Monday") => (weekday.to_owned(), 6),
            b'M' if at(i, "Mon") => (weekday[..3].to_owned(), 3),
            b'M' if at(i, "MST") => (zone_name(t.offset), 3),
            b'0' if at(i, "002") => (format!("{:03}", t.ordinal), 3),
            b'0' if i + 1 < b.len() && (b'1'..=b'6').contains(&b[i + 1]) => {
                let v = match b[i + 1] {
                    b'1' => t.month,
                    b'2' => t.day,
                    b'3' => hour12,
                    b'4' => t.minute,
                    b'5' => t.second,
                    _ => t.year.rem_euclid(100) as u32,
                };
                (format!("{v:02}"), 2)
            }
            b'1' if at(i, "15") => (format!("{:02}", t.hour), 2),
            b'1' => (t.month.to_string(), 1),
            b'2' if at(i, "2006") => (format!("{:04}", t.year), 4),
            b'2' => (t.day.to_string(), 1),
            b'_' if at(i, "__2") => (format!("{:>3}", t.ordinal), 3),
            // Go reads `_2006` as an underscore before the year.
            b'_' if at(i, "_2") && !at(i, "_2006") => (format!("{:>2}", t.day), 2),
            b'3' => (hour12.to_string(), 1),
            b'4' => (t.minute.to_string(), 1),
            b'5' => (t.second.to_string(), 1),
            b'P' if at(i, "PM") => (if t.hour >= 12 { "PM" } else { "AM" }.to_owned(), 2),
            b'p' if at(i, "pm") => (if t.hour >= 12 { "pm" } else { "am" }.to_owned(), 2),
            b'-' | b'Z' => match zone_layout(&layout[i..]) {
                Some((n, colons, parts)) => (zone(t.offset, b[i] == b'Z', colons, parts), n),
                None => ((b[i] as char).to_string(), 1),
            },
            b'.' | b',' if i + 1 < b.len() && (b[i + 1] == b'0' || b[i + 1] == b'9') => {
                let digit = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == digit {
                    j += 1;
                }
                // Go takes `.000` as a fraction only when no digit follows the run.
                if j < b.len() && b[j].is_ascii_digit() {
                    ((b[i] as char).to_string(), 1)
                } else {
                    let n = j - i - 1;
                    (
                        fraction(t.nanosecond, n, digit == b'9', b[i] as char),
                        j - i,
                    )
                }
            }
            _ => {
                let ch = layout[i..].chars().next().unwrap_or(' ');
                (ch.to_string(), ch.len_utf8())
            }
        };
        out.push_str(&text);
        i += used;
    }
    out
}

/// The `MST` element: Go prints the zone's abbreviation, which only a zone database
/// knows; without one Go falls back to the offset, as here (UTC keeps its name).
fn zone_name(offset: i32) -> String {
    if offset == 0 {
        return "UTC".to_owned();
    }
    let (sign, abs) = if offset < 0 {
        ('-', -offset)
    } else {
        ('+', offset)
    };
    if abs % 3600 == 0 {
        format!("{sign}{:02}", abs / 3600)
    } else {
        format!("{sign}{:02}{:02}", abs / 3600, abs % 3600 / 60)
    }
}

/// A zone element at the start of `s`: (length, colons, number of parts).
fn zone_layout(s: &str) -> Option<(usize, bool, usize)> {
    let rest = &s[1..];
    for (pat, colons, parts) in [
        ("07:00:00", true, 3),
        ("070000", false, 3),
        ("07:00", true, 2),
        ("0700", false, 2),
        ("07", false, 1),
    ] {
        if rest.starts_with(pat) {
            return Some((pat.len() + 1, colons, parts));
        }
    }
    None
}

fn zone(offset: i32, z: bool, colons: bool, parts: usize) -> String {
    if z && offset == 0 {
        return "Z".to_owned();
    }
    let (sign, abs) = if offset < 0 {
        ('-', -offset)
    } else {
        ('+', offset)
    };
    let (h, m, s) = (abs / 3600, abs % 3600 / 60, abs % 60);
    let sep = if colons { ":" } else { "" };
    match parts {
        1 => format!("{sign}{h:02}"),
        2 => format!("{sign}{h:02}{sep}{m:02}"),
        _ => format!("{sign}{h:02}{sep}{m:02}{sep}{s:02}"),
    }
}

/// `.000` (always `digits` places) or `.999` (trailing zeros dropped, and the
/// separator with them when nothing is left).
fn fraction(nanos: u32, digits: usize, trim: bool, sep: char) -> String {
    let all = format!("{nanos:09}");
    let mut frac = all[..digits.min(9)].to_owned();
    if trim {
        while frac.ends_with('0') {
            frac.pop();
        }
        if frac.is_empty() {
            return String::new();
        }
    }
    format!("{sep}{frac}")
}

/// An HTTP date (`Last-Modified`: `Sun, 06 Nov 1994 08:49:37 GMT`, RFC 1123), as Go's
/// `http.ParseTime` reads it; `None` when it isn't one.
pub fn parse_http_date(v: &str) -> Option<SystemTime> {
    let t = chrono::DateTime::parse_from_rfc2822(v.trim()).ok()?;
    let (secs, nanos) = (t.timestamp(), t.timestamp_subsec_nanos());
    let whole = match u64::try_from(secs) {
        Ok(s) => UNIX_EPOCH.checked_add(std::time::Duration::from_secs(s))?,
        Err(_) => UNIX_EPOCH.checked_sub(std::time::Duration::from_secs(secs.unsigned_abs()))?,
    };
    whole.checked_add(std::time::Duration::from_nanos(nanos.into()))
}

#[cfg(test)]
mod tests {

    #[test]
    fn http_dates() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(784_111_777))
        );
        assert_eq!(
            parse_http_date("Wed, 31 Dec 1969 23:59:59 GMT"),
            Some(UNIX_EPOCH - Duration::from_secs(1))
        );
        assert_eq!(parse_http_date("yesterday"), None);
    }

    use super::*;
    use std::time::Duration;

    fn at(secs: i64, nanos: u32, offset: i32) -> Clock {
        let t = if secs >= 0 {
            UNIX_EPOCH + Duration::new(secs as u64, nanos)
        } else {
            UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
                + Duration::from_nanos(nanos.into())
        };
        Clock::at(t, offset)
    }

    #[test]
    fn clock_fields() {
        // 2024-01-02 03:04:05.123456789 UTC, a Tuesday.
        let c = at(1_704_164_645, 123_456_789, 0);
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute, c.second),
            (2024, 1, 2, 3, 4, 5)
        );
        assert_eq!((c.weekday, c.ordinal, c.nanosecond), (2, 2, 123_456_789));
        // An offset moves the wall clock across midnight and the year.
        let c = at(1_704_067_199, 0, 3600); // 2023-12-31 23:59:59 UTC
        assert_eq!((c.year, c.month, c.day, c.hour), (2024, 1, 1, 0));
        let c = at(0, 0, -1);
        assert_eq!(
            (c.year, c.month, c.day, c.second, c.weekday),
            (1969, 12, 31, 59, 3)
        );
        // Leap days, and the year 2000 (a leap year) against 1900 (none).
        let c = at(1_709_164_800, 0, 0); // 2024-02-29
        assert_eq!((c.month, c.day, c.ordinal), (2, 29, 60));
        let c = at(1_735_603_200, 0, 0); // 2024-12-31
        assert_eq!(c.ordinal, 366);
        assert_eq!(at(951_782_400, 0, 0).day, 29); // 2000-02-29
        let c = at(-2_203_891_200, 0, 0); // 1900-03-01
        assert_eq!((c.year, c.month, c.day, c.ordinal), (1900, 3, 1, 60));
        // Before 1970 with a fraction: the second rounds down, the fraction stays.
        let c = at(-1, 250_000_000, 0);
        assert_eq!((c.second, c.nanosecond), (59, 250_000_000));
    }

    #[test]
    fn go_layouts() {
        let t = at(1_704_164_645, 123_456_789, 0);
        for (layout, want) in [
            ("2006-01-02 15:04:05", "2024-01-02 03:04:05"),
            (
                "2006-01-02 15:04:05.000000000",
                "2024-01-02 03:04:05.123456789",
            ),
            ("15:04:05.999", "03:04:05.123"),
            ("15:04:05,000000", "03:04:05,123456"),
            ("20060102", "20240102"),
            ("Jan _2", "Jan  2"),
            (
                "Monday January 2 3:4:5 PM pm",
                "Tuesday January 2 3:4:5 AM am",
            ),
            ("Mon Jan 06 002 __2", "Tue Jan 24 002   2"),
            ("x_2006", "x_2024"),
            ("05.0009", "05.0009"),
            (
                "RFC3339 is not expanded here",
                "RFC3339 is not expanded here",
            ),
            ("2006-01-02T15:04:05Z07:00 MST", "2024-01-02T03:04:05Z UTC"),
        ] {
            assert_eq!(go_format(&t, layout), want, "{layout}");
        }
        let east = at(1_704_164_645, 0, 5 * 3600 + 30 * 60);
        for (layout, want) in [
            (named_layout("RFC3339"), "2024-01-02T08:34:05+05:30"),
            (named_layout("RFC1123Z"), "Tue, 02 Jan 2024 08:34:05 +0530"),
            (named_layout("UnixDate"), "Tue Jan  2 08:34:05 +0530 2024"),
            (named_layout("Kitchen"), "8:34AM"),
            (named_layout("mac"), "2024-01-02 0834AM"),
            ("-07 -07:00:00 .999", "+05 +05:30:00 "),
        ] {
            assert_eq!(go_format(&east, layout), want, "{layout}");
        }
        let west = at(1_704_164_645, 0, -8 * 3600);
        assert_eq!(go_format(&west, "Z0700 MST 3PM"), "-0800 -08 7PM");
        assert_eq!(named_layout("YYYYMMDD"), "20060102");
        assert_eq!(named_layout("2006"), "2006");
    }
}

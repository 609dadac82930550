//! rclone's size (`SizeSuffix`) and age (`fs.Duration`) value syntax.

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone};
use std::time::{Duration, SystemTime};

/// What [`parse_size`] returns for `off`; [`crate::Filter::new`] treats a
/// `min_size`/`max_size` of this value as "no limit".
pub const SIZE_OFF: u64 = u64::MAX;

/// What [`parse_age`] returns for `off`; [`crate::Filter::new`] treats a
/// `min_age`/`max_age` of this value as "no limit".
pub const AGE_OFF: Duration = Duration::MAX;

const KIB: f64 = 1024.0;

fn multiplier(symbol: u8) -> Option<f64> {
    let exp = match symbol {
        b'k' | b'K' => 1,
        b'm' | b'M' => 2,
        b'g' | b'G' => 3,
        b't' | b'T' => 4,
        b'p' | b'P' => 5,
        b'e' | b'E' => 6,
        _ => return None,
    };
    Some(KIB.powi(exp))
}

/// Parse a size the way rclone's `--min-size`/`--max-size` do.
///
/// A bare number is in KiB (rclone's default unit): `"100"` is 102400.
/// Suffixes `K M G T P E` (either case) are powers of 1024, optionally
/// followed by `i` or `iB` (`"1Mi"`, `"1MiB"`); a final `b`/`B` alone means
/// bytes (`"100b"` = 100). Fractions are allowed (`"1.5M"`). `"off"` (any
/// case) returns [`SIZE_OFF`].
pub fn parse_size(s: &str) -> Result<u64, String> {
    if s.is_empty() {
        return Err("invalid size \"\": empty string".into());
    }
    if s.eq_ignore_ascii_case("off") {
        return Ok(SIZE_OFF);
    }
    let b = s.as_bytes();
    let n = b.len();
    let bad_suffix = |c: u8| Err(format!("invalid size {s:?}: bad suffix {:?}", c as char));
    let (mult, suffix_len) = match b[n - 1] {
        b'0'..=b'9' | b'.' => (KIB, 0),
        b'b' | b'B' => {
            if n > 2 && b[n - 2] == b'i' {
                match multiplier(b[n - 3]) {
                    Some(m) => (m, 3),
                    None => return bad_suffix(b[n - 3]),
                }
            } else {
                (1.0, 1)
            }
        }
        b'i' | b'I' => match (n > 1).then(|| multiplier(b[n - 2])).flatten() {
            Some(m) => (m, 2),
            None => return bad_suffix(if n > 1 { b[n - 2] } else { b[n - 1] }),
        },
        c => match multiplier(c) {
            Some(m) => (m, 1),
            None => return bad_suffix(c),
        },
    };
    let number = &s[..n - suffix_len];
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid size {s:?}: can't parse number {number:?}"))?;
    if !value.is_finite() {
        return Err(format!("invalid size {s:?}: not a finite number"));
    }
    if value < 0.0 {
        return Err(format!("invalid size {s:?}: size can't be negative"));
    }
    let bytes = value * mult;
    if bytes >= u64::MAX as f64 {
        return Err(format!("invalid size {s:?}: too large"));
    }
    Ok(bytes as u64)
}

const NS_PER_SEC: u128 = 1_000_000_000;
const NS_PER_DAY: u128 = 86_400 * NS_PER_SEC;

fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => NS_PER_SEC,
        "m" => 60 * NS_PER_SEC,
        "h" => 3600 * NS_PER_SEC,
        "d" => NS_PER_DAY,
        "w" => 7 * NS_PER_DAY,
        "M" => 30 * NS_PER_DAY,
        "y" => 365 * NS_PER_DAY,
        _ => return None,
    })
}

/// Go's `time.ParseDuration` extended with rclone's `d w M y` units, in any
/// combination (`"1h30m"`, `"1.5h"`, `"2d"`, `"1d2h"`). `Ok(None)` for
/// syntax errors, `Err` for a negative duration.
fn parse_compound(s: &str) -> Result<Option<Duration>, String> {
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(Some(Duration::ZERO));
    }
    if rest.is_empty() {
        return Ok(None);
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac_part = "";
        if let Some(after_dot) = rest.strip_prefix('.') {
            let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &after_dot[..frac_len];
            rest = &after_dot[frac_len..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Ok(None);
        }
        let unit_len = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        let Some(mult) = unit_nanos(&rest[..unit_len]) else {
            return Ok(None);
        };
        rest = &rest[unit_len..];
        let int: u128 = if int_part.is_empty() {
            0
        } else {
            match int_part.parse() {
                Ok(v) => v,
                Err(_) => return Ok(None),
            }
        };
        let mut v = int.checked_mul(mult).ok_or("duration too large")?;
        // Fraction: keep up to 18 digits of precision.
        let frac_digits = &frac_part[..frac_part.len().min(18)];
        if !frac_digits.is_empty() {
            let f: u128 = frac_digits.parse().unwrap_or(0);
            let scale = 10u128.pow(frac_digits.len() as u32);
            v += f * mult / scale;
        }
        total = total.checked_add(v).ok_or("duration too large")?;
    }
    if neg && total > 0 {
        return Err(format!("invalid age {s:?}: age can't be negative"));
    }
    let secs = u64::try_from(total / NS_PER_SEC).map_err(|_| "duration too large")?;
    Ok(Some(Duration::new(secs, (total % NS_PER_SEC) as u32)))
}

/// rclone's single-suffix form: a float followed by `d`, `w`, `M`, `y` or
/// nothing (seconds), e.g. `"30"`, `"1e3"`, `"1.5d"`.
fn parse_float_suffix(s: &str) -> Option<Result<Duration, String>> {
    let (number, mult) = [
        ("d", 86_400.0),
        ("w", 604_800.0),
        ("M", 2_592_000.0),
        ("y", 31_536_000.0),
    ]
    .iter()
    .find_map(|(suf, m)| s.strip_suffix(suf).map(|n| (n, *m)))
    .unwrap_or((s, 1.0));
    let v: f64 = number.parse().ok()?;
    if !v.is_finite() {
        return None;
    }
    let secs = v * mult;
    if secs < 0.0 {
        return Some(Err(format!("invalid age {s:?}: age can't be negative")));
    }
    Some(Duration::try_from_secs_f64(secs).map_err(|_| format!("invalid age {s:?}: too large")))
}

fn local_to_system(ndt: NaiveDateTime) -> Option<SystemTime> {
    let dt: DateTime<Local> = Local.from_local_datetime(&ndt).earliest().or_else(|| {
        // In a DST gap: Go moves forward; take the instant an hour later.
        Local
            .from_local_datetime(&(ndt + chrono::Duration::hours(1)))
            .earliest()
    })?;
    Some(dt.into())
}

/// rclone's absolute forms, in its order: RFC 3339, `2006-01-02T15:04:05`,
/// `2006-01-02 15:04:05`, `2006-01-02` (the last three in local time).
fn parse_date(s: &str) -> Option<SystemTime> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        if s.as_bytes().get(10) == Some(&b'T') {
            return Some(dt.into());
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(ndt) = NaiveDateTime::parse_from_str(s, fmt) {
            return local_to_system(ndt);
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return local_to_system(d.and_hms_opt(0, 0, 0)?);
    }
    None
}

/// Parse an age the way rclone's `--min-age`/`--max-age` do.
///
/// Accepted: Go durations (`"1h30m"`, `"1.5h"`, `"300ms"`), rclone's unit
/// suffixes `d` (day) `w` (week) `M` (30 days) `y` (365 days) with a bare
/// number meaning seconds (`"30"`, `"2d"`, `"1.5w"`), combinations of all
/// of these (`"1d2h"`, an extension: rclone itself rejects it), and
/// absolute times (RFC 3339, `"2006-01-02T15:04:05"`,
/// `"2006-01-02 15:04:05"`, `"2006-01-02"`, local time unless a zone is
/// given) which are turned into the age they have at `now`; a time in the
/// future gives age zero. `"off"` returns [`AGE_OFF`]. Negative durations
/// (`"-1h"`) are rejected.
pub fn parse_age(s: &str, now: SystemTime) -> Result<Duration, String> {
    if s == "off" {
        return Ok(AGE_OFF);
    }
    if let Some(d) = parse_compound(s)? {
        return Ok(d);
    }
    if let Some(r) = parse_float_suffix(s) {
        return r;
    }
    if let Some(t) = parse_date(s) {
        return Ok(now.duration_since(t).unwrap_or(Duration::ZERO));
    }
    Err(format!(
        "invalid age {s:?}: expected a duration such as 90s, 1h30m, 2d, 1w, 1M, 1y \
         or a time such as 2006-01-02, \"2006-01-02 15:04:05\" or 2006-01-02T15:04:05Z"
    ))
}

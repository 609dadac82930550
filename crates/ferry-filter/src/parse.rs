//! rclone's age (`fs.Duration` or a date) value syntax; sizes are ferry-core's.

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone};
use std::time::{Duration, SystemTime};

/// What a `--min-size`/`--max-size` of `off` is; [`crate::Filter::new`] treats it as
/// "no limit". Sizes are parsed by ferry-core's one size parser,
/// [`ferry_core::units::parse_size_flag`].
pub use ferry_core::units::SIZE_OFF;

/// What [`parse_age`] returns for `off`; [`crate::Filter::new`] treats a
/// `min_age`/`max_age` of this value as "no limit".
pub const AGE_OFF: Duration = Duration::MAX;

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
    match ferry_core::units::parse_duration_syntax(s) {
        Ok(Some(d)) => return Ok(d),
        Ok(None) => {}
        Err(e) => return Err(e.replace("invalid duration", "invalid age")),
    }
    if let Some(t) = parse_date(s) {
        return Ok(now.duration_since(t).unwrap_or(Duration::ZERO));
    }
    Err(format!(
        "invalid age {s:?}: expected a duration such as 90s, 1h30m, 2d, 1w, 1M, 1y \
         or a time such as 2006-01-02, \"2006-01-02 15:04:05\" or 2006-01-02T15:04:05Z"
    ))
}

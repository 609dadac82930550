//! The metadata conventions shared with rclone: `mtime` as RFC 3339 with nanoseconds,
//! MD5 as base64 in Content-MD5 (hex in ferry), and HTTP dates.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};

/// The metadata key rclone stores the modification time under.
pub const META_MTIME: &str = "mtime";
/// rclone's directory marker metadata (written by Azure's hierarchical tools too).
pub const META_FOLDER: &str = "hdi_isfolder";

/// rclone's layout: `2006-01-02T15:04:05.000000000Z07:00`, always UTC here.
pub fn format_mtime(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// RFC 3339 with any fraction (rclone reads it with Go's `time.RFC3339`).
pub fn parse_mtime(v: &str) -> Option<SystemTime> {
    let t = DateTime::parse_from_rfc3339(v.trim()).ok()?;
    to_system(t.timestamp(), t.timestamp_subsec_nanos())
}

/// `Last-Modified` / `<Last-Modified>`: RFC 1123 dates.
pub use ferry_core::timefmt::parse_http_date;

fn to_system(secs: i64, nanos: u32) -> Option<SystemTime> {
    if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::new(secs as u64, nanos))
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_secs(secs.unsigned_abs()))?
            .checked_add(Duration::from_nanos(nanos.into()))
    }
}

/// A base64 Content-MD5 as lowercase hex; `None` unless it is 16 bytes.
pub fn md5_hex(b64: &str) -> Option<String> {
    let raw = STANDARD.decode(b64.trim()).ok()?;
    (raw.len() == 16).then(|| hex::encode(raw))
}

/// A hex MD5 as the base64 Azure wants in headers.
pub fn md5_b64(hex_md5: &str) -> Option<String> {
    let raw = hex::decode(hex_md5).ok()?;
    (raw.len() == 16).then(|| STANDARD.encode(raw))
}

/// The modification time a blob carries: its `mtime` metadata, else `Last-Modified`.
pub fn mtime_of(
    metadata: &HashMap<String, String>,
    last_modified: Option<SystemTime>,
) -> SystemTime {
    metadata
        .get(META_MTIME)
        .and_then(|v| parse_mtime(v))
        .or(last_modified)
        .unwrap_or(UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mtimes_as_rclone_writes_them() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        assert_eq!(format_mtime(t), "2023-11-14T22:13:20.123456789Z");
        assert_eq!(parse_mtime("2023-11-14T22:13:20.123456789Z"), Some(t));
        assert_eq!(
            parse_mtime("2023-11-14T23:13:20+01:00"),
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        assert_eq!(parse_mtime("yesterday"), None);
        assert_eq!(
            parse_http_date("Tue, 14 Nov 2023 22:13:20 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
    }

    #[test]
    fn md5_both_ways() {
        let hex = "d41d8cd98f00b204e9800998ecf8427e";
        let b64 = md5_b64(hex).unwrap();
        assert_eq!(b64, "1B2M2Y8AsgTpgAmY7PhCfg==");
        assert_eq!(md5_hex(&b64).as_deref(), Some(hex));
        assert_eq!(md5_hex("AAAA"), None);
    }
}

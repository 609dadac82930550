//! What rclone writes into and reads from object metadata, and key encodings.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;

/// User metadata key of the modification time (`x-amz-meta-mtime`).
pub const META_MTIME: &str = "mtime";
/// User metadata key of the whole-file MD5 in base64 (`x-amz-meta-md5chksum`).
pub const META_MD5: &str = "md5chksum";

/// rclone's (swift's) float-string time: whole seconds, a dot, nine digits of nanoseconds,
/// seconds rounded down (so -1.5 s is `-2.500000000`).
pub fn format_mtime(t: SystemTime) -> String {
    let nanos: i128 = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    };
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    format!("{secs}.{frac:09}")
}

/// Parses what [`format_mtime`] writes, and the shorter forms other tools write
/// (`1683356889`, `1683356889.5`): fractions beyond nanoseconds are cut.
pub fn parse_mtime(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    if frac.chars().any(|c| !c.is_ascii_digit()) || whole.is_empty() {
        return None;
    }
    let secs: i64 = whole.parse().ok()?;
    let mut digits: String = frac.chars().take(9).collect();
    while digits.len() < 9 {
        digits.push('0');
    }
    let nanos: u64 = digits.parse().ok()?;
    // time.Unix(secs, nanos): nanos always count forwards from `secs`.
    let base = if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(secs as u64))?
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))?
    };
    base.checked_add(Duration::from_nanos(nanos))
}

/// The MD5 an ETag stands for, when it is one (single-part uploads): lower-case hex.
pub fn md5_from_etag(etag: &str) -> Option<String> {
    let e = etag.trim().trim_matches('"');
    (e.len() == 32 && e.bytes().all(|b| b.is_ascii_hexdigit())).then(|| e.to_ascii_lowercase())
}

/// The hex MD5 of rclone's base64 `md5chksum` metadata.
pub fn md5_from_meta(b64: &str) -> Option<String> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    (raw.len() == 16).then(|| hex::encode(raw))
}

/// rclone's `md5chksum` value for a hex MD5.
pub fn md5_to_meta(hex_md5: &str) -> Option<String> {
    let raw = hex::decode(hex_md5).ok()?;
    (raw.len() == 16).then(|| base64::engine::general_purpose::STANDARD.encode(raw))
}

/// The ETag S3 gives a multipart upload: MD5 of the parts' MD5s, `-` and the part count.
pub fn multipart_etag(part_md5s: &[[u8; 16]]) -> String {
    use ferry_core::md5::Digest;
    let mut h = ferry_core::md5::Md5::new();
    for p in part_md5s {
        h.update(p);
    }
    format!("{}-{}", hex::encode(h.finalize()), part_md5s.len())
}

/// Decodes a key listed with `EncodingType=url` (form encoding: `+` is a space).
/// `None` if the escapes are broken or the bytes are not UTF-8.
/// The object's total size from a `Content-Range` header (`bytes 0-99/1234`).
pub fn range_total(content_range: &str) -> Option<u64> {
    content_range.rsplit_once('/')?.1.trim().parse().ok()
}

pub fn url_decode_key(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Percent-encodes a `bucket/key` for `x-amz-copy-source` (keeps `/` and unreserved bytes).
pub fn copy_source(bucket: &str, key: &str) -> String {
    let mut out = String::with_capacity(bucket.len() + key.len() + 8);
    for &c in format!("{bucket}/{key}").as_bytes() {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_gives_the_total() {
        assert_eq!(range_total("bytes 0-99/1234"), Some(1234));
        assert_eq!(range_total("bytes */1234"), Some(1234));
        assert_eq!(range_total("bytes 0-99/*"), None);
    }

    #[test]
    fn mtime_round_trips_like_rclone() {
        // What rclone 1.75 wrote for 2023-05-06 07:08:09.123456789 UTC.
        let t = parse_mtime("1683356889.123456789").unwrap();
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap(),
            Duration::new(1_683_356_889, 123_456_789)
        );
        assert_eq!(format_mtime(t), "1683356889.123456789");
        assert_eq!(format_mtime(UNIX_EPOCH), "0.000000000");
        assert_eq!(
            format_mtime(UNIX_EPOCH + Duration::new(5, 7)),
            "5.000000007"
        );
        let before = UNIX_EPOCH - Duration::from_millis(1500);
        assert_eq!(format_mtime(before), "-2.500000000");
        assert_eq!(parse_mtime("-2.500000000"), Some(before));
        assert_eq!(
            parse_mtime("10.5"),
            Some(UNIX_EPOCH + Duration::from_millis(10_500))
        );
        assert_eq!(
            parse_mtime("10"),
            Some(UNIX_EPOCH + Duration::from_secs(10))
        );
        assert_eq!(
            parse_mtime("1.1234567891"),
            Some(UNIX_EPOCH + Duration::new(1, 123_456_789))
        );
        assert_eq!(parse_mtime("abc"), None);
        assert_eq!(parse_mtime("1.2e3"), None);
        assert_eq!(parse_mtime(""), None);
    }

    #[test]
    fn md5_forms() {
        assert_eq!(
            md5_from_etag("\"B1946AC92492D2347C6235B4D2611184\"").as_deref(),
            Some("b1946ac92492d2347c6235b4d2611184")
        );
        assert_eq!(
            md5_from_etag("\"e98b8909238a833bab06db0c27cfcb11-3\""),
            None
        );
        // rclone's md5chksum for a 12 MiB file with MD5 3a4002ce81eae8552eaabef86ecbcc81.
        assert_eq!(
            md5_from_meta("OkACzoHq6FUuqr74bsvMgQ==").as_deref(),
            Some("3a4002ce81eae8552eaabef86ecbcc81")
        );
        assert_eq!(
            md5_to_meta("3a4002ce81eae8552eaabef86ecbcc81").as_deref(),
            Some("OkACzoHq6FUuqr74bsvMgQ==")
        );
        assert_eq!(md5_from_meta("bm9wZQ=="), None);
    }

    #[test]
    fn key_encodings() {
        assert_eq!(url_decode_key("a+b%2Bc%2F%00").as_deref(), Some("a b+c/\0"));
        assert_eq!(url_decode_key("%zz"), None);
        assert_eq!(url_decode_key("%C3%A9").as_deref(), Some("é"));
        assert_eq!(url_decode_key("%FF"), None);
        assert_eq!(copy_source("b", "dir/a b+é"), "b/dir/a%20b%2B%C3%A9");
    }
}

//! Object metadata as rclone names it (`--metadata/-M`): a map of lower-case keys to
//! string values. System keys (`mode`, `mtime`, `content-type`, ...) mean something to
//! the backend that stores them; any other key is user metadata, which a backend keeps
//! as it can (an extended attribute, an `x-amz-meta-` header) or drops.
//!
//! Times are RFC 3339 with nanoseconds (Go's `time.RFC3339Nano`), as rclone writes them.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Local, Offset};

use crate::timefmt::{go_format, Clock};

/// Go's `time.RFC3339Nano` layout.
const RFC3339_NANO: &str = "2006-01-02T15:04:05.999999999Z07:00";

/// Metadata of one object: keys in sorted order, so output is stable (and matches the
/// order Go's JSON encoder gives a map).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata(BTreeMap<String, String>);

impl Metadata {
    pub fn new() -> Self {
        Metadata::default()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Sets `key` (stored lower-case, as rclone's backends compare keys) to `value`.
    pub fn set(&mut self, key: impl AsRef<str>, value: impl Into<String>) {
        self.0
            .insert(key.as_ref().to_ascii_lowercase(), value.into());
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.0.remove(key)
    }

    /// Adds or replaces every key of `other` (`--metadata-set` over a source's metadata).
    pub fn merge(&mut self, other: &Metadata) {
        for (k, v) in other.iter() {
            self.0.insert(k.to_owned(), v.to_owned());
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A time key parsed as RFC 3339; `None` when absent or malformed (rclone ignores
    /// a value it can't parse).
    pub fn time(&self, key: &str) -> Option<SystemTime> {
        self.get(key).and_then(parse_time)
    }
}

impl<K: AsRef<str>, V: Into<String>> FromIterator<(K, V)> for Metadata {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut m = Metadata::new();
        for (k, v) in iter {
            m.set(k, v);
        }
        m
    }
}

/// One `--metadata-set` argument, `key=value` (the value may contain `=`).
pub fn parse_assignment(arg: &str) -> std::result::Result<(String, String), String> {
    match arg.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_ascii_lowercase(), v.to_owned())),
        _ => Err(format!("{arg:?} is not of the form key=value")),
    }
}

/// `t` in RFC 3339 with nanoseconds, on the local clock (as rclone's local backend
/// prints `atime`, `mtime` and `btime`).
pub fn format_time_local(t: SystemTime) -> String {
    let offset = DateTime::<Local>::from(t).offset().fix().local_minus_utc();
    go_format(&Clock::at(t, offset), RFC3339_NANO)
}

/// `t` in RFC 3339 with nanoseconds, in UTC (`Z`), as times from an HTTP header print.
pub fn format_time_utc(t: SystemTime) -> String {
    go_format(&Clock::at(t, 0), RFC3339_NANO)
}

/// Parses an RFC 3339 time with any number of fractional digits (Go's `time.Parse`
/// with `RFC3339Nano`).
pub fn parse_time(s: &str) -> Option<SystemTime> {
    let dt = DateTime::parse_from_rfc3339(s.trim()).ok()?;
    let (secs, nanos) = (dt.timestamp(), dt.timestamp_subsec_nanos());
    if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::new(secs as u64, nanos))
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_secs(secs.unsigned_abs()))?
            .checked_add(Duration::from_nanos(nanos.into()))
    }
}

/// What a backend can do with metadata (rclone's `ReadMetadata`, `WriteMetadata` and
/// `UserMetadata` features).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetadataSupport {
    /// [`Backend::metadata`](crate::Backend::metadata) returns something.
    pub read: bool,
    /// `put`, `put_ranges` and `copy_from` honour [`PutOptions::metadata`](crate::PutOptions).
    pub write: bool,
    /// Keys the backend doesn't know are kept as user metadata.
    pub user: bool,
}

/// The content properties an object store keeps (as metadata keys, and as the HTTP
/// headers that set them on an upload).
pub const CONTENT_HEADERS: [&str; 5] = [
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "content-type",
];

/// `--header-upload` as metadata for an object store, as rclone's S3, Azure Blob and GCS
/// backends read it: a content header (`Cache-Control`) is that property, and
/// `USER_PREFIX` + `key` (`X-Amz-Meta-Key`) is user metadata `key`. `None` when no
/// header is given. Any other header is refused, naming it: the store has nowhere to
/// keep it.
pub fn from_upload_headers(
    headers: &[(String, String)],
    kind: &str,
    user_prefix: &str,
) -> crate::Result<Option<Metadata>> {
    if headers.is_empty() {
        return Ok(None);
    }
    let mut m = Metadata::new();
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        if CONTENT_HEADERS.contains(&lower.as_str()) {
            m.set(&lower, value.clone());
        } else if let Some(key) = lower.strip_prefix(user_prefix).filter(|k| !k.is_empty()) {
            m.set(key, value.clone());
        } else {
            return Err(crate::Error::new(
                crate::ErrorKind::Config,
                format!(
                    "{kind} can't store --header-upload {name:?}: it keeps Cache-Control, \
                     Content-Disposition, Content-Encoding, Content-Language, Content-Type \
                     and {user_prefix}NAME"
                ),
            ));
        }
    }
    Ok(Some(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_lower_case_and_sorted() {
        let mut m: Metadata = [("Mode", "100644"), ("atime", "x")].into_iter().collect();
        m.set("Content-Type", "text/plain");
        let keys: Vec<&str> = m.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["atime", "content-type", "mode"]);
        let mut over = Metadata::new();
        over.set("mode", "100600");
        m.merge(&over);
        assert_eq!(m.get("mode"), Some("100600"));
    }

    #[test]
    fn assignments() {
        assert_eq!(
            parse_assignment("Key=a=b").unwrap(),
            ("key".to_owned(), "a=b".to_owned())
        );
        assert_eq!(parse_assignment("k=").unwrap().1, "");
        assert!(parse_assignment("novalue").is_err());
        assert!(parse_assignment("=v").is_err());
    }

    #[test]
    fn times_round_trip_like_go() {
        let t = UNIX_EPOCH + Duration::new(1_683_356_889, 123_456_789);
        assert_eq!(format_time_utc(t), "2023-05-06T07:08:09.123456789Z");
        assert_eq!(parse_time("2023-05-06T07:08:09.123456789Z"), Some(t));
        assert_eq!(parse_time("2023-05-06T09:08:09.123456789+02:00"), Some(t));
        // Go's RFC3339Nano drops trailing zeros of the fraction.
        let whole = UNIX_EPOCH + Duration::from_millis(1_683_356_889_500);
        assert_eq!(format_time_utc(whole), "2023-05-06T07:08:09.5Z");
        assert_eq!(parse_time(&format_time_local(t)), Some(t));
        let before = UNIX_EPOCH - Duration::from_millis(1500);
        assert_eq!(parse_time(&format_time_utc(before)), Some(before));
        assert_eq!(parse_time("yesterday"), None);
        let m: Metadata = [("mtime", "bad")].into_iter().collect();
        assert_eq!(m.time("mtime"), None);
    }

    #[test]
    fn upload_headers_become_content_properties_and_user_metadata() {
        let h = |n: &str, v: &str| (n.to_owned(), v.to_owned());
        let m = from_upload_headers(
            &[h("Cache-Control", "no-cache"), h("X-Amz-Meta-Owner", "ann")],
            "s3",
            "x-amz-meta-",
        )
        .unwrap()
        .unwrap();
        assert_eq!(m.get("cache-control"), Some("no-cache"));
        assert_eq!(m.get("owner"), Some("ann"));
        assert_eq!(m.len(), 2);
        assert!(from_upload_headers(&[], "s3", "x-amz-meta-")
            .unwrap()
            .is_none());
        let e = from_upload_headers(&[h("X-Other", "1")], "azureblob", "x-ms-meta-").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Config);
        assert!(
            e.to_string()
                .contains("azureblob can't store --header-upload \"X-Other\""),
            "{e}"
        );
        assert!(e.to_string().contains("x-ms-meta-NAME"), "{e}");
    }
}

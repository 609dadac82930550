//! The JSON API's object and listing resources, and rclone's conventions on them: the
//! modification time in the `mtime` metadata key (RFC 3339 with nanoseconds, gsutil's
//! `goog-reserved-file-mtime` seconds as a fallback, else `updated`), MD5 as base64.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use ferry_core::{Entry, HashKind, Metadata, PutOptions, RelPath};
use serde::{Deserialize, Deserializer};

/// The metadata key rclone stores the modification time under.
pub const META_MTIME: &str = "mtime";
/// gsutil's key (whole seconds), which rclone writes too and reads as a fallback.
pub const META_MTIME_GSUTIL: &str = "goog-reserved-file-mtime";

/// Object fields a write may set, by metadata key.
const CONTENT: [(&str, &str); 5] = [
    ("content-type", "contentType"),
    ("cache-control", "cacheControl"),
    ("content-disposition", "contentDisposition"),
    ("content-encoding", "contentEncoding"),
    ("content-language", "contentLanguage"),
];

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Object {
    pub name: String,
    #[serde(deserialize_with = "number")]
    pub size: u64,
    pub md5_hash: Option<String>,
    /// Base64 of the big-endian CRC32C (every object has one; composite objects no MD5).
    pub crc32c: Option<String>,
    pub updated: Option<String>,
    pub generation: Option<String>,
    pub storage_class: Option<String>,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub cache_control: Option<String>,
    pub content_disposition: Option<String>,
    pub content_language: Option<String>,
    pub metadata: Option<BTreeMap<String, String>>,
    /// Read with `decompress`: stored gzip-compressed, so read decompressed, its size and
    /// MD5 unknown (set by the store, which knows its options).
    #[serde(skip)]
    pub decompressed: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ObjectList {
    pub items: Vec<Object>,
    pub prefixes: Vec<String>,
    pub next_page_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Bucket {
    pub name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct BucketList {
    pub items: Vec<Bucket>,
    pub next_page_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Rewrite {
    pub done: bool,
    pub rewrite_token: Option<String>,
    pub resource: Option<Object>,
}

/// The JSON API sends 64-bit numbers as strings; an emulator may send numbers.
fn number<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s.parse().unwrap_or(0),
        serde_json::Value::Number(n) => n.as_u64().unwrap_or(0),
        _ => 0,
    })
}

/// rclone's layout, always UTC: `2006-01-02T15:04:05.999999999Z`.
pub fn format_mtime(t: SystemTime) -> String {
    let t = DateTime::<Utc>::from(t);
    let secs = t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let nanos = t.timestamp_subsec_nanos();
    if nanos == 0 {
        return secs;
    }
    // Go's RFC3339Nano: the fraction without trailing zeros.
    let frac = format!("{nanos:09}");
    format!(
        "{}.{}Z",
        secs.trim_end_matches('Z'),
        frac.trim_end_matches('0')
    )
}

pub fn parse_time(v: &str) -> Option<SystemTime> {
    let t = DateTime::parse_from_rfc3339(v.trim()).ok()?;
    let (secs, nanos) = (t.timestamp(), t.timestamp_subsec_nanos());
    if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::new(secs as u64, nanos))
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_secs(secs.unsigned_abs()))?
            .checked_add(Duration::from_nanos(nanos.into()))
    }
}

/// The two metadata keys rclone writes for a modification time.
pub fn mtime_metadata(t: SystemTime) -> [(&'static str, String); 2] {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs_f64().ceil() as i64),
    };
    [
        (META_MTIME, format_mtime(t)),
        (META_MTIME_GSUTIL, secs.to_string()),
    ]
}

impl Object {
    fn meta(&self, key: &str) -> Option<&str> {
        self.metadata.as_ref()?.get(key).map(String::as_str)
    }

    /// As rclone reads it: `mtime`, else gsutil's seconds, else `updated`.
    pub fn mtime(&self) -> SystemTime {
        self.meta(META_MTIME)
            .and_then(parse_time)
            .or_else(|| {
                let secs: i64 = self.meta(META_MTIME_GSUTIL)?.parse().ok()?;
                Some(if secs >= 0 {
                    UNIX_EPOCH + Duration::from_secs(secs as u64)
                } else {
                    UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
                })
            })
            .or_else(|| self.updated.as_deref().and_then(parse_time))
            .unwrap_or(UNIX_EPOCH)
    }

    /// Stored with `Content-Encoding: gzip` (rclone's test: exactly `gzip`).
    pub fn is_gzipped(&self) -> bool {
        self.content_encoding.as_deref() == Some("gzip")
    }

    /// The MD5 of the bytes a read gives: none for an object read decompressed.
    pub fn md5_hex(&self) -> Option<String> {
        if self.decompressed {
            return None;
        }
        let raw = STANDARD.decode(self.md5_hash.as_deref()?.trim()).ok()?;
        (raw.len() == 16).then(|| hex::encode(raw))
    }

    pub fn entry(&self, path: RelPath) -> Entry {
        let mut e = match self.decompressed {
            true => Entry::file_of_unknown_size(path, self.mtime()),
            false => Entry::file(path, self.size, self.mtime()),
        };
        if let Some(m) = self.md5_hex() {
            e.hashes.set(HashKind::Md5, m);
        }
        e.version = self.generation.clone();
        // No `tier`: rclone's GCS shows none (lsjson's `Tier`, lsf's `T`), though the
        // storage class is in the metadata.
        e.content_type = self.content_type.clone();
        e
    }

    /// Metadata as rclone's keys: user keys, `mtime`, and the content fields.
    pub fn metadata(&self) -> Metadata {
        let mut m = Metadata::new();
        for (k, v) in self.metadata.iter().flatten() {
            if k != META_MTIME_GSUTIL {
                m.set(k, v.clone());
            }
        }
        let fields = [
            &self.content_type,
            &self.cache_control,
            &self.content_disposition,
            &self.content_encoding,
            &self.content_language,
        ];
        for ((key, _), v) in CONTENT.iter().zip(fields) {
            if let Some(v) = v {
                m.set(key, v.clone());
            }
        }
        m.set(META_MTIME, format_mtime(self.mtime()));
        if let Some(t) = &self.storage_class {
            m.set("tier", t.clone());
        }
        m
    }
}

/// The object resource a new object (or a copy with new metadata) is written with, and
/// the mtime it records.
pub(crate) fn resource_for_put(
    path: &RelPath,
    opts: &PutOptions,
    storage_class: Option<&String>,
) -> (serde_json::Map<String, serde_json::Value>, SystemTime) {
    let mut res = serde_json::Map::new();
    let mut user = serde_json::Map::new();
    let mut mtime = opts.mtime;
    if let Some(m) = &opts.metadata {
        for (k, v) in m.iter() {
            if let Some((_, field)) = CONTENT.iter().find(|(c, _)| *c == k) {
                res.insert((*field).to_owned(), v.into());
            } else if k == META_MTIME {
                if let Some(t) = ferry_core::metadata::parse_time(v) {
                    mtime = t;
                }
            } else if k != "tier" && k != META_MTIME_GSUTIL {
                user.insert(k.to_owned(), v.into());
            }
        }
    }
    for (k, v) in mtime_metadata(mtime) {
        user.insert(k.to_owned(), v.into());
    }
    res.insert("metadata".into(), user.into());
    res.entry("contentType")
        .or_insert_with(|| ferry_core::mime::mime_type(path.name()).into());
    if let Some(c) = storage_class {
        res.insert("storageClass".into(), c.clone().into());
    }
    (res, mtime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mtimes_as_rclone_writes_them() {
        let t = UNIX_EPOCH + Duration::new(1_577_934_245, 123_456_789);
        assert_eq!(format_mtime(t), "2020-01-02T03:04:05.123456789Z");
        // Go's RFC3339Nano drops trailing zeros.
        assert_eq!(
            format_mtime(UNIX_EPOCH + Duration::new(1_577_934_245, 500_000_000)),
            "2020-01-02T03:04:05.5Z"
        );
        assert_eq!(
            format_mtime(UNIX_EPOCH + Duration::from_secs(1_577_934_245)),
            "2020-01-02T03:04:05Z"
        );
        assert_eq!(mtime_metadata(t)[1].1, "1577934245");
        let o: Object = serde_json::from_str(
            r#"{"name":"a","size":"3","md5Hash":"dk76iD3aHhHbR2ccSju9ng==","updated":"2026-12-05T12:30:15.260552Z",
                "metadata":{"goog-reserved-file-mtime":"1577934245","mtime":"2020-01-02T03:04:05.123456789Z"}}"#,
        )
        .unwrap();
        assert_eq!(o.size, 3);
        assert_eq!(o.mtime(), t);
        assert_eq!(
            o.md5_hex().as_deref(),
            Some("764efa883dda1e11db47671c4a3bbd9e")
        );
        let gsutil: Object = serde_json::from_str(
            r#"{"name":"a","size":3,"metadata":{"goog-reserved-file-mtime":"1577934245"}}"#,
        )
        .unwrap();
        assert_eq!(
            gsutil.mtime(),
            UNIX_EPOCH + Duration::from_secs(1_577_934_245)
        );
    }
}

//! rclone's S3 metadata (`--metadata`): how an object's headers and `x-amz-meta-` keys
//! read as metadata keys, and how metadata given to a write becomes headers.
//!
//! System keys: `content-type`, `cache-control`, `content-disposition`,
//! `content-encoding`, `content-language` (the headers), `mtime` (rclone's
//! `x-amz-meta-mtime`), `btime` (read from `Last-Modified`; written as user metadata, as
//! S3 can't set it) and `tier` (the storage class; read only). Every other key is user
//! metadata, except ferry's and rclone's own `md5chksum`, which is never shown.

use std::collections::HashMap;
use std::time::SystemTime;

use ferry_core::metadata::{format_time_local, format_time_utc, parse_time};
use ferry_core::{Metadata, PutOptions, RelPath};

use crate::meta::{self, META_MD5, META_MTIME};
use crate::object::ObjectInfo;

/// The headers and user metadata a new object (or a copy with REPLACE) is written with.
#[derive(Clone, Debug, Default)]
pub(crate) struct Headers {
    /// `x-amz-meta-*`, with `mtime` (and `md5chksum` once known) among them.
    pub metadata: HashMap<String, String>,
    pub content_type: String,
    pub cache_control: Option<String>,
    pub content_disposition: Option<String>,
    pub content_encoding: Option<String>,
    pub content_language: Option<String>,
    /// The modification time stored: a `mtime` key in the metadata wins over the source's.
    pub mtime: Option<SystemTime>,
    /// The `tier` key given, for a server-side copy (rclone keeps the source's class).
    pub tier: Option<String>,
}

impl Headers {
    /// What a write of `path` carries: without metadata, `mtime` and a Content-Type from
    /// the name's extension; with metadata, its system keys as headers and the rest as
    /// user metadata.
    pub fn for_put(path: &RelPath, opts: &PutOptions) -> Headers {
        let mut h = Headers::default();
        let mut mtime = opts.mtime;
        let mut content_type = None;
        if let Some(m) = &opts.metadata {
            for (k, v) in m.iter() {
                let value = Some(v.to_owned());
                match k {
                    "content-type" => content_type = value,
                    "cache-control" => h.cache_control = value,
                    "content-disposition" => h.content_disposition = value,
                    "content-encoding" => h.content_encoding = value,
                    "content-language" => h.content_language = value,
                    "tier" => h.tier = value,
                    "mtime" => {
                        if let Some(t) = parse_time(v) {
                            mtime = t;
                        }
                    }
                    // ferry's own checksum key is computed, never copied.
                    META_MD5 => {}
                    _ => {
                        h.metadata.insert(k.to_owned(), v.to_owned());
                    }
                }
            }
        }
        h.metadata
            .insert(META_MTIME.to_owned(), meta::format_mtime(mtime));
        h.mtime = Some(mtime);
        h.content_type =
            content_type.unwrap_or_else(|| ferry_core::mime::mime_type(path.name()).to_owned());
        h
    }

    /// As stored with a server-side copy that replaces the metadata.
    pub fn into_info(self, size: u64, md5: Option<String>) -> ObjectInfo {
        ObjectInfo {
            key: String::new(),
            size,
            mtime: self.mtime.unwrap_or(SystemTime::UNIX_EPOCH),
            provisional: false,
            last_modified: SystemTime::UNIX_EPOCH,
            md5,
            version: None,
            tier: None,
            metadata: self.metadata,
            content_type: Some(self.content_type),
            cache_control: self.cache_control,
            content_disposition: self.content_disposition,
            content_encoding: self.content_encoding,
            content_language: self.content_language,
            storage_class: self
                .tier
                .filter(|t| !t.is_empty())
                .map(|t| aws_sdk_s3::types::StorageClass::from(t.as_str())),
        }
    }
}

/// An object's metadata as rclone's S3 backend reports it.
pub(crate) fn read(info: &ObjectInfo) -> Metadata {
    let mut m = Metadata::new();
    for (k, v) in &info.metadata {
        match k.to_ascii_lowercase().as_str() {
            META_MTIME | META_MD5 => {}
            key => m.set(key, v.clone()),
        }
    }
    if info.metadata.contains_key(META_MTIME) {
        m.set("mtime", format_time_local(info.mtime));
    }
    let mut header = |k: &str, v: &Option<String>| {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            m.set(k, v);
        }
    };
    header("content-type", &info.content_type);
    header("cache-control", &info.cache_control);
    header("content-disposition", &info.content_disposition);
    header("content-encoding", &info.content_encoding);
    header("content-language", &info.content_language);
    if info.last_modified != SystemTime::UNIX_EPOCH {
        m.set("btime", format_time_utc(info.last_modified));
    }
    let tier = info
        .storage_class
        .as_ref()
        .map(|c| c.as_str().to_owned())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "STANDARD".to_owned());
    m.set("tier", tier);
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn opts(metadata: Option<Metadata>) -> PutOptions {
        PutOptions {
            size: 1,
            mtime: UNIX_EPOCH + Duration::from_secs(10),
            inplace: false,
            hashes: Default::default(),
            metadata,
        }
    }

    #[test]
    fn system_keys_become_headers() {
        let p = RelPath::new("a/b.html").unwrap();
        let plain = Headers::for_put(&p, &opts(None));
        assert_eq!(plain.content_type, "text/html; charset=utf-8");
        assert_eq!(plain.metadata.get("mtime").unwrap(), "10.000000000");
        let m: Metadata = [
            ("content-type", "text/x-test"),
            ("cache-control", "no-cache"),
            ("mtime", "1970-01-01T00:00:20Z"),
            ("btime", "1970-01-01T00:00:05Z"),
            ("tier", "GLACIER"),
            ("md5chksum", "junk"),
            ("mode", "100644"),
        ]
        .into_iter()
        .collect();
        let h = Headers::for_put(&p, &opts(Some(m)));
        assert_eq!(h.content_type, "text/x-test");
        assert_eq!(h.cache_control.as_deref(), Some("no-cache"));
        assert_eq!(h.metadata.get("mtime").unwrap(), "20.000000000");
        assert_eq!(h.metadata.get("btime").unwrap(), "1970-01-01T00:00:05Z");
        assert_eq!(h.metadata.get("mode").unwrap(), "100644");
        assert!(!h.metadata.contains_key("md5chksum"));
        assert!(!h.metadata.contains_key("tier"));
        assert_eq!(h.tier.as_deref(), Some("GLACIER"));
    }

    #[test]
    fn reads_as_rclone_reports() {
        let mut h = Headers::for_put(
            &RelPath::new("x.txt").unwrap(),
            &opts(Some([("owner", "me")].into_iter().collect())),
        );
        h.metadata.insert(META_MD5.into(), "abc".into());
        let mut info = h.into_info(1, None);
        info.last_modified = UNIX_EPOCH + Duration::from_secs(30);
        let m = read(&info);
        let keys: Vec<&str> = m.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["btime", "content-type", "mtime", "owner", "tier"]);
        assert_eq!(m.get("btime"), Some("1970-01-01T00:00:30Z"));
        assert_eq!(m.get("tier"), Some("STANDARD"));
        assert_eq!(m.time("mtime"), Some(UNIX_EPOCH + Duration::from_secs(10)));
    }
}

//! rclone's Azure Blob metadata (`--metadata`): how a blob's `x-ms-meta-` keys and
//! content properties read as metadata keys, and how metadata given to a write becomes
//! request headers.
//!
//! System keys: `content-type`, `cache-control`, `content-disposition`,
//! `content-encoding`, `content-language` (the blob's content properties), `mtime`
//! (rclone's `x-ms-meta-mtime`) and `tier` (the access tier; read only). Every other key
//! is user metadata (`x-ms-meta-KEY`; Azure keeps keys lower-case). rclone 1.75 reports
//! only `mtime`, `tier` and user keys from a blob; ferry reports the content properties
//! too, so they survive a copy through a backend that keeps them as user metadata.

use std::collections::HashMap;
use std::time::SystemTime;

use ferry_core::metadata::parse_time;
use ferry_core::{Metadata, PutOptions, RelPath};

use crate::client::Req;
use crate::listing::BlobItem;
use crate::meta::{format_mtime, META_FOLDER, META_MTIME};

/// Content properties, as `x-ms-blob-*` request headers and metadata keys.
const CONTENT: [(&str, &str); 5] = [
    ("content-type", "x-ms-blob-content-type"),
    ("cache-control", "x-ms-blob-cache-control"),
    ("content-disposition", "x-ms-blob-content-disposition"),
    ("content-encoding", "x-ms-blob-content-encoding"),
    ("content-language", "x-ms-blob-content-language"),
];

/// How a new blob's Content-Type is guessed when nothing gives one.
#[derive(Clone, Copy)]
pub(crate) enum Guess<'a> {
    /// From the name, as rclone does.
    Rclone,
    /// As azcopy does, from the name and these first bytes of the content.
    Azcopy(&'a [u8]),
}

/// What a new blob (or a copy whose metadata is replaced) is written with.
#[derive(Clone, Debug)]
pub(crate) struct BlobProps {
    /// `x-ms-meta-*`, `mtime` among them.
    pub metadata: HashMap<String, String>,
    /// Content properties by metadata key; `content-type` is always present.
    pub content: HashMap<&'static str, String>,
    pub mtime: SystemTime,
}

impl BlobProps {
    /// Without metadata: `mtime` and a Content-Type guessed as `guess` says. With it:
    /// content keys become properties, `mtime` the stored time, the rest user metadata.
    pub fn for_put(path: &RelPath, opts: &PutOptions, guess: Guess) -> BlobProps {
        let mut p = BlobProps {
            metadata: HashMap::new(),
            content: HashMap::new(),
            mtime: opts.mtime,
        };
        if let Some(m) = &opts.metadata {
            for (k, v) in m.iter() {
                if let Some((key, _)) = CONTENT.iter().find(|(c, _)| *c == k) {
                    p.content.insert(key, v.to_owned());
                } else if k == "mtime" {
                    if let Some(t) = parse_time(v) {
                        p.mtime = t;
                    }
                } else if k != "tier" && k != META_FOLDER {
                    p.metadata.insert(k.to_owned(), v.to_owned());
                }
            }
        }
        p.metadata
            .insert(META_MTIME.to_owned(), format_mtime(p.mtime));
        p.content
            .entry("content-type")
            .or_insert_with(|| match guess {
                Guess::Rclone => ferry_core::mime::mime_type(path.name()).to_owned(),
                Guess::Azcopy(head) => ferry_core::mime::azcopy::content_type(path.name(), head),
            });
        p
    }

    /// Adds the metadata and content property headers to a Put Blob, Put Block List or
    /// Set Blob Properties request.
    pub fn apply(&self, mut req: Req) -> Req {
        req = self.apply_metadata(req);
        self.apply_content(req)
    }

    pub fn apply_metadata(&self, mut req: Req) -> Req {
        for (k, v) in &self.metadata {
            req = req.header(&format!("x-ms-meta-{k}"), v);
        }
        req
    }

    pub fn apply_content(&self, mut req: Req) -> Req {
        for (key, header) in CONTENT {
            if let Some(v) = self.content.get(key) {
                req = req.header(header, v);
            }
        }
        req
    }
}

/// A blob's metadata as rclone's azureblob backend reports it (plus content properties).
pub(crate) fn read(item: &BlobItem) -> Metadata {
    let mut m = Metadata::new();
    for (k, v) in &item.metadata {
        if k != META_MTIME && k != META_FOLDER {
            m.set(k, v.clone());
        }
    }
    if let Some(t) = item.metadata.get(META_MTIME).and_then(|v| parse_time(v)) {
        m.set("mtime", ferry_core::metadata::format_time_utc(t));
    }
    for (key, value) in [
        ("content-type", &item.content_type),
        ("cache-control", &item.cache_control),
        ("content-disposition", &item.content_disposition),
        ("content-encoding", &item.content_encoding),
        ("content-language", &item.content_language),
        ("tier", &item.access_tier),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            m.set(key, v);
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn metadata_maps_to_properties_and_back() {
        let m: Metadata = [
            ("content-type", "text/x-test"),
            ("cache-control", "no-cache"),
            ("mtime", "1970-01-01T00:00:20Z"),
            ("tier", "Cool"),
            ("owner", "me"),
        ]
        .into_iter()
        .collect();
        let opts = PutOptions {
            size: 1,
            mtime: UNIX_EPOCH,
            inplace: false,
            hashes: Default::default(),
            metadata: Some(m),
        };
        let p = BlobProps::for_put(&RelPath::new("a.bin").unwrap(), &opts, Guess::Rclone);
        assert_eq!(p.mtime, UNIX_EPOCH + Duration::from_secs(20));
        assert_eq!(p.content["content-type"], "text/x-test");
        assert_eq!(p.metadata["owner"], "me");
        assert!(!p.metadata.contains_key("tier"));
        let item = BlobItem {
            metadata: p.metadata.clone(),
            content_type: Some("text/x-test".into()),
            cache_control: Some("no-cache".into()),
            access_tier: Some("Hot".into()),
            ..BlobItem::default()
        };
        let back = read(&item);
        let keys: Vec<&str> = back.iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            ["cache-control", "content-type", "mtime", "owner", "tier"]
        );
        assert_eq!(back.get("mtime"), Some("1970-01-01T00:00:20Z"));
        let plain = PutOptions {
            metadata: None,
            ..opts
        };
        let p = BlobProps::for_put(&RelPath::new("a.txt").unwrap(), &plain, Guess::Rclone);
        assert_eq!(p.content["content-type"], "text/plain; charset=utf-8");
        assert_eq!(p.metadata.len(), 1);
    }
}

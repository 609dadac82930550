//! What S3 says about one object, from a HEAD (or a GET, whose headers are a HEAD's) or
//! from a listing, in one type: the store's [`ObjectStore::Object`](ferry_objstore::ObjectStore::Object).
//! The remote's options that decide how it reads (`use_server_modtime`, whether ETags
//! are MD5s, the tier names) are applied when it is made, so turning it into an entry
//! needs no options.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::types::StorageClass;
use aws_smithy_types::DateTime;
use ferry_core::{Entry, HashKind, RelPath};

use crate::meta::{self, META_MD5, META_MTIME};
use crate::options::S3Options;

/// One object as S3 described it.
#[derive(Clone, Debug)]
pub struct ObjectInfo {
    /// The full stored key (decoded).
    pub(crate) key: String,
    pub(crate) size: u64,
    pub(crate) mtime: SystemTime,
    /// A listing's `LastModified` standing in for the mtime metadata, which only a HEAD
    /// (or GET) reveals: fetched later, and only when needed (as rclone does).
    pub(crate) provisional: bool,
    /// `Last-Modified` (rclone's `btime`).
    pub(crate) last_modified: SystemTime,
    pub(crate) md5: Option<String>,
    /// The listed ETag, as the entry's version tag (a HEAD gives none).
    pub(crate) version: Option<String>,
    /// The storage class as the entry's tier (the remote's names).
    pub(crate) tier: Option<String>,
    pub(crate) metadata: HashMap<String, String>,
    pub(crate) content_type: Option<String>,
    pub(crate) cache_control: Option<String>,
    pub(crate) content_disposition: Option<String>,
    pub(crate) content_encoding: Option<String>,
    pub(crate) content_language: Option<String>,
    pub(crate) storage_class: Option<StorageClass>,
}

pub(crate) fn to_system(t: Option<&DateTime>) -> SystemTime {
    t.and_then(|d| SystemTime::try_from(*d).ok())
        .unwrap_or(UNIX_EPOCH)
}

/// The mtime metadata rclone writes, else (or under `--use-server-modtime`) `LastModified`.
pub(crate) fn mtime_of(
    o: &S3Options,
    metadata: &HashMap<String, String>,
    last_modified: SystemTime,
) -> SystemTime {
    if o.use_server_modtime {
        return last_modified;
    }
    metadata
        .get(META_MTIME)
        .and_then(|v| meta::parse_mtime(v))
        .unwrap_or(last_modified)
}

/// The MD5 of an object: its ETag when that is one, else the `md5chksum` metadata.
pub(crate) fn md5_of(
    o: &S3Options,
    etag: Option<&str>,
    metadata: &HashMap<String, String>,
) -> Option<String> {
    let from_etag = etag
        .filter(|_| o.etag_is_md5())
        .and_then(meta::md5_from_etag);
    from_etag.or_else(|| metadata.get(META_MD5).and_then(|v| meta::md5_from_meta(v)))
}

impl ObjectInfo {
    /// A HEAD's answer for `key`.
    pub(crate) fn from_head(o: &S3Options, key: &str, out: &HeadObjectOutput) -> ObjectInfo {
        let metadata = out.metadata().cloned().unwrap_or_default();
        let last_modified = to_system(out.last_modified());
        let storage_class = out.storage_class().cloned();
        ObjectInfo {
            key: key.to_owned(),
            size: out.content_length().unwrap_or(0).max(0) as u64,
            mtime: mtime_of(o, &metadata, last_modified),
            provisional: false,
            last_modified,
            md5: md5_of(o, out.e_tag(), &metadata),
            version: None,
            tier: o.tier(storage_class.as_ref().map(|c| c.as_str())),
            content_type: out.content_type().map(str::to_owned),
            cache_control: out.cache_control().map(str::to_owned),
            content_disposition: out.content_disposition().map(str::to_owned),
            content_encoding: out.content_encoding().map(str::to_owned),
            content_language: out.content_language().map(str::to_owned),
            storage_class,
            metadata,
        }
    }

    /// A listing's item, whose key is `key` once decoded: its `LastModified` stands in
    /// for the mtime unless `--use-server-modtime` makes it the real one.
    pub(crate) fn listed(
        o: &S3Options,
        key: String,
        obj: &aws_sdk_s3::types::Object,
    ) -> ObjectInfo {
        let last_modified = to_system(obj.last_modified());
        ObjectInfo {
            key,
            size: obj.size().unwrap_or(0).max(0) as u64,
            mtime: last_modified,
            provisional: !o.use_server_modtime,
            last_modified,
            md5: obj
                .e_tag()
                .filter(|_| o.etag_is_md5())
                .and_then(meta::md5_from_etag),
            version: obj.e_tag().map(|t| t.trim_matches('"').to_owned()),
            tier: o.tier(obj.storage_class().map(|c| c.as_str())),
            metadata: HashMap::new(),
            content_type: None,
            cache_control: None,
            content_disposition: None,
            content_encoding: None,
            content_language: None,
            storage_class: None,
        }
    }

    /// The object as an entry at `path`.
    pub(crate) fn entry(&self, path: RelPath) -> Entry {
        let mut e = Entry::file(path, self.size, self.mtime);
        e.mtime_provisional = self.provisional;
        e.tier = self.tier.clone();
        e.version = self.version.clone();
        if let Some(m) = &self.md5 {
            e.hashes.set(HashKind::Md5, m.clone());
        }
        e
    }
}

/// Sets what `info` says a new object carries (the user metadata `meta`, the content
/// headers, the storage class) on a request that creates one: a CopyObject with
/// REPLACE, or a multipart copy's CreateMultipartUpload (the SDK's builders share no
/// trait, hence a macro).
macro_rules! with_info_headers {
    ($req:expr, $info:expr, $meta:expr) => {
        $req.set_metadata(Some($meta))
            .set_content_type($info.content_type.clone())
            .set_cache_control($info.cache_control.clone())
            .set_content_disposition($info.content_disposition.clone())
            .set_content_encoding($info.content_encoding.clone())
            .set_content_language($info.content_language.clone())
            // The source's class, unless the remote sets one (`upload::object_options`).
            .set_storage_class($info.storage_class.clone())
    };
}
pub(crate) use with_info_headers;

//! rclone's `s3` options, parsed from whatever the config layer resolved.

use ferry_core::encoding::Encoding;
use ferry_core::units::{parse_bool, parse_count, parse_size_checked};
use ferry_core::{Error, ErrorKind, Result};

/// Everything the backend takes from the remote's configuration.
#[derive(Clone, Debug)]
pub struct S3Options {
    pub provider: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub env_auth: bool,
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub force_path_style: bool,
    pub acl: Option<String>,
    pub storage_class: Option<String>,
    pub upload_cutoff: u64,
    pub chunk_size: u64,
    pub upload_concurrency: usize,
    /// Server-side copies larger than this are done in parts of this size (UploadPartCopy).
    pub copy_cutoff: u64,
    pub disable_checksum: bool,
    pub no_check_bucket: bool,
    pub list_chunk: i32,
    pub server_side_encryption: Option<String>,
    /// The KMS key new objects are encrypted with (`server_side_encryption = aws:kms`).
    pub sse_kms_key_id: Option<String>,
    pub location_constraint: Option<String>,
    /// Keep a journal of multipart uploads so an interrupted one is continued (`--resume`).
    pub resume: bool,
    /// Take `LastModified` as the mtime and never HEAD for the stored one
    /// (`--use-server-modtime`).
    pub use_server_modtime: bool,
    /// How names are stored as keys (rclone's `encoding`).
    pub encoding: Encoding,
}

/// The most parts of one file uploaded at once (each holds `chunk_size` in memory).
pub const MAX_CONCURRENCY: i64 = 1024;
/// S3's limits on multipart uploads.
pub const MAX_PARTS: u64 = 10_000;
pub const MIN_PART: u64 = 5 * 1024 * 1024;
pub const MAX_PART: u64 = 5 * 1024 * 1024 * 1024;
/// The largest object a single CopyObject can write.
pub const MAX_COPY: u64 = 5 * 1024 * 1024 * 1024;
/// rclone's default `copy_cutoff` (4768 MiB, "4.656Gi"): safely under [`MAX_COPY`].
pub const DEFAULT_COPY_CUTOFF: u64 = 4768 * 1024 * 1024;

impl Default for S3Options {
    fn default() -> Self {
        S3Options {
            provider: String::new(),
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            env_auth: false,
            region: None,
            endpoint: None,
            force_path_style: true,
            acl: None,
            storage_class: None,
            upload_cutoff: 200 * 1024 * 1024,
            chunk_size: 5 * 1024 * 1024,
            upload_concurrency: 4,
            copy_cutoff: DEFAULT_COPY_CUTOFF,
            disable_checksum: false,
            no_check_bucket: false,
            list_chunk: 1000,
            server_side_encryption: None,
            sse_kms_key_id: None,
            location_constraint: None,
            resume: false,
            use_server_modtime: false,
            encoding: Encoding::S3_DEFAULT,
        }
    }
}

fn bad(key: &str, value: &str, why: &str) -> Error {
    Error::new(
        ErrorKind::Refused,
        format!("s3: invalid value {value:?} for option {key}: {why}"),
    )
}

impl S3Options {
    /// Reads options through `get` (the value set for a key, or its default; empty counts
    /// as unset).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let d = S3Options::default();
        let s = |k: &str| {
            get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let flag = |k: &str, def: bool| -> Result<bool> {
            match s(k) {
                None => Ok(def),
                Some(v) => parse_bool(&v).ok_or_else(|| bad(k, &v, "expected true or false")),
            }
        };
        let size = |k: &str, def: u64| -> Result<u64> {
            match s(k) {
                None => Ok(def),
                Some(v) => parse_size_checked(&v)
                    .map_err(|e| bad(k, &v, &format!("{e}; expected a size like 5Mi"))),
            }
        };
        let int = |k: &str, def: i64, min: i64, max: i64| -> Result<i64> {
            match s(k) {
                None => Ok(def),
                Some(v) => parse_count(&v, min, max).map_err(|e| bad(k, &v, &e)),
            }
        };
        let upload_concurrency = int("upload_concurrency", 4, 1, MAX_CONCURRENCY)?;
        let list_chunk = int("list_chunk", 1000, 1, i32::MAX as i64)?;
        let chunk_size = size("chunk_size", d.chunk_size)?;
        if !(MIN_PART..=MAX_PART).contains(&chunk_size) {
            return Err(bad(
                "chunk_size",
                &chunk_size.to_string(),
                "S3 parts must be between 5 MiB and 5 GiB",
            ));
        }
        let copy_cutoff = size("copy_cutoff", d.copy_cutoff)?;
        if !(MIN_PART..=MAX_COPY).contains(&copy_cutoff) {
            return Err(bad(
                "copy_cutoff",
                &copy_cutoff.to_string(),
                "must be between 5Mi (S3's smallest part) and 5Gi (its largest single copy)",
            ));
        }
        let upload_cutoff = size("upload_cutoff", d.upload_cutoff)?;
        if upload_cutoff > MAX_PART {
            return Err(bad(
                "upload_cutoff",
                &upload_cutoff.to_string(),
                "single-part uploads are at most 5 GiB",
            ));
        }
        let sse_kms_key_id = s("sse_kms_key_id");
        let kms = s("server_side_encryption").is_some_and(|v| v.eq_ignore_ascii_case("aws:kms"));
        if let (Some(k), false) = (&sse_kms_key_id, kms) {
            return Err(bad(
                "sse_kms_key_id",
                k,
                "a KMS key needs server_side_encryption = aws:kms",
            ));
        }
        Ok(S3Options {
            provider: s("provider").unwrap_or_default(),
            access_key_id: s("access_key_id"),
            secret_access_key: s("secret_access_key"),
            session_token: s("session_token"),
            env_auth: flag("env_auth", false)?,
            region: s("region"),
            endpoint: s("endpoint"),
            force_path_style: flag("force_path_style", true)?,
            acl: s("acl"),
            storage_class: s("storage_class"),
            upload_cutoff,
            chunk_size,
            upload_concurrency: upload_concurrency as usize,
            copy_cutoff,
            disable_checksum: flag("disable_checksum", false)?,
            no_check_bucket: flag("no_check_bucket", false)?,
            list_chunk: list_chunk as i32,
            server_side_encryption: s("server_side_encryption"),
            sse_kms_key_id,
            location_constraint: s("location_constraint"),
            resume: flag("resume", false)?,
            use_server_modtime: flag("use_server_modtime", false)?,
            encoding: match s("encoding") {
                None => Encoding::S3_DEFAULT,
                Some(v) => Encoding::parse(&v).map_err(|e| bad("encoding", &v, &e.to_string()))?,
            },
        })
    }

    /// Whether the ETag of a single-part upload is the MD5 of its content (not with KMS).
    /// An object's tier as rclone shows it: its storage class, `STANDARD` when the
    /// server names none — only for providers that have storage classes (rclone's
    /// provider table), elsewhere none.
    pub fn tier(&self, class: Option<&str>) -> Option<String> {
        const WITH_CLASSES: [&str; 11] = [
            "AWS",
            "Alibaba",
            "ArvanCloud",
            "ChinaMobile",
            "Liara",
            "Magalu",
            "OVHcloud",
            "Qiniu",
            "Scaleway",
            "TencentCOS",
            "us3",
        ];
        if !WITH_CLASSES.contains(&self.provider.as_str()) {
            return None;
        }
        Some(
            class
                .filter(|c| !c.is_empty())
                .unwrap_or("STANDARD")
                .to_owned(),
        )
    }

    pub fn etag_is_md5(&self) -> bool {
        !self
            .server_side_encryption
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("aws:kms"))
    }

    /// The part size for a multipart upload of `size` bytes: `chunk_size`, raised so the
    /// upload needs at most 10,000 parts (rounded up to a whole MiB).
    pub fn part_size(&self, size: u64) -> u64 {
        const MIB: u64 = 1024 * 1024;
        let needed = size.div_ceil(MAX_PARTS).div_ceil(MIB) * MIB;
        self.chunk_size.max(needed).min(MAX_PART)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn defaults_and_parsing() {
        let o = S3Options::from_lookup(|_| None).unwrap();
        assert_eq!(o.upload_cutoff, 200 * 1024 * 1024);
        assert_eq!(o.chunk_size, 5 * 1024 * 1024);
        assert_eq!(o.upload_concurrency, 4);
        assert_eq!(o.list_chunk, 1000);
        assert!(o.force_path_style && !o.env_auth);
        let m: HashMap<&str, &str> = [
            ("chunk_size", "16M"),
            ("upload_concurrency", "8"),
            ("no_check_bucket", "true"),
            ("access_key_id", "AK"),
            ("server_side_encryption", "aws:kms"),
        ]
        .into();
        let o = S3Options::from_lookup(|k| m.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(o.chunk_size, 16 * 1024 * 1024);
        assert_eq!(o.upload_concurrency, 8);
        assert!(o.no_check_bucket && !o.etag_is_md5());
        assert_eq!(o.access_key_id.as_deref(), Some("AK"));
        let err = S3Options::from_lookup(|k| (k == "chunk_size").then(|| "1M".into())).unwrap_err();
        assert!(err.to_string().contains("5 MiB"));
        assert!(S3Options::from_lookup(|k| (k == "env_auth").then(|| "maybe".into())).is_err());
    }

    #[test]
    fn part_size_keeps_under_the_part_limit() {
        let o = S3Options::default();
        assert_eq!(o.part_size(60 << 20), 5 << 20);
        let huge = 1u64 << 40; // 1 TiB
        let p = o.part_size(huge);
        assert!(huge.div_ceil(p) <= MAX_PARTS, "{p}");
        assert_eq!(p % (1 << 20), 0);
        assert_eq!(
            o.part_size(5 * (1 << 40)).min(MAX_PART),
            o.part_size(5 * (1 << 40))
        );
    }
}

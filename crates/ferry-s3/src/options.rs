//! rclone's `s3` options, parsed from whatever the config layer resolved.

use ferry_core::encoding::Encoding;
use ferry_core::kind::Options;
use ferry_core::Result;

/// Everything the backend takes from the remote's configuration.
#[derive(Clone, Debug)]
pub struct S3Options {
    /// `--contimeout`/`--timeout` (not an option of the remote: the run's).
    pub timeouts: ferry_core::net::Timeouts,
    /// `--dump` (the run's).
    pub dump: ferry_core::dump::Dump,
    /// `--user-agent`, `--header*` and the TLS flags (the run's).
    pub http: ferry_core::net::HttpSettings,
    /// `--header-upload`, as metadata laid over each upload's.
    pub upload_meta: Option<ferry_core::Metadata>,
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
    /// The defaults of the spec (written once, in `kind.rs`).
    fn default() -> Self {
        S3Options::from_options(&Options::from_pairs(&crate::KIND, []))
            .expect("the s3 option spec's defaults are valid")
    }
}

impl S3Options {
    /// Reads the options of an `s3` remote (typed, with the defaults of its spec).
    pub fn from_options(o: &Options) -> Result<Self> {
        let s = |k: &str| o.string(k);
        let flag = |k: &str| o.bool(k);
        let size = |k: &str| -> Result<u64> { Ok(o.size(k)?.unwrap_or(0)) };
        let int =
            |k: &str, min: i64, max: i64| -> Result<i64> { Ok(o.int(k, min, max)?.unwrap_or(min)) };
        let upload_concurrency = int("upload_concurrency", 1, MAX_CONCURRENCY)?;
        let list_chunk = int("list_chunk", 1, i32::MAX as i64)?;
        let chunk_size = size("chunk_size")?;
        if !(MIN_PART..=MAX_PART).contains(&chunk_size) {
            return Err(o.invalid("chunk_size", "S3 parts must be between 5 MiB and 5 GiB"));
        }
        let copy_cutoff = size("copy_cutoff")?;
        if !(MIN_PART..=MAX_COPY).contains(&copy_cutoff) {
            return Err(o.invalid(
                "copy_cutoff",
                "must be between 5Mi (S3's smallest part) and 5Gi (its largest single copy)",
            ));
        }
        let upload_cutoff = size("upload_cutoff")?;
        if upload_cutoff > MAX_PART {
            return Err(o.invalid("upload_cutoff", "single-part uploads are at most 5 GiB"));
        }
        let sse_kms_key_id = s("sse_kms_key_id");
        let kms = s("server_side_encryption").is_some_and(|v| v.eq_ignore_ascii_case("aws:kms"));
        if let (Some(k), false) = (&sse_kms_key_id, kms) {
            let _ = k;
            return Err(o.invalid(
                "sse_kms_key_id",
                "a KMS key needs server_side_encryption = aws:kms",
            ));
        }
        Ok(S3Options {
            timeouts: ferry_core::net::Timeouts::DEFAULT,
            dump: ferry_core::dump::Dump::default(),
            http: Default::default(),
            upload_meta: None,
            provider: s("provider").unwrap_or_default(),
            access_key_id: s("access_key_id"),
            secret_access_key: s("secret_access_key"),
            session_token: s("session_token"),
            env_auth: flag("env_auth")?,
            region: s("region"),
            endpoint: s("endpoint"),
            force_path_style: flag("force_path_style")?,
            acl: s("acl"),
            storage_class: s("storage_class"),
            upload_cutoff,
            chunk_size,
            upload_concurrency: upload_concurrency as usize,
            copy_cutoff,
            disable_checksum: flag("disable_checksum")?,
            no_check_bucket: flag("no_check_bucket")?,
            list_chunk: list_chunk as i32,
            server_side_encryption: s("server_side_encryption"),
            sse_kms_key_id,
            location_constraint: s("location_constraint"),
            resume: flag("resume")?,
            use_server_modtime: flag("use_server_modtime")?,
            encoding: o.encoding()?,
        })
    }

    /// Whether the provider has storage classes (rclone's provider table): only there
    /// does rclone show an object's tier, and change it (`settier`).
    pub fn has_storage_classes(&self) -> bool {
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
        WITH_CLASSES.contains(&self.provider.as_str())
    }

    /// An object's tier as rclone shows it: its storage class, `STANDARD` when the
    /// server names none — where the provider has storage classes, elsewhere none.
    pub fn tier(&self, class: Option<&str>) -> Option<String> {
        if !self.has_storage_classes() {
            return None;
        }
        Some(
            class
                .filter(|c| !c.is_empty())
                .unwrap_or("STANDARD")
                .to_owned(),
        )
    }

    /// Whether the ETag of a single-part upload is the MD5 of its content (not with KMS).
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

    #[test]
    fn defaults_and_parsing() {
        let with = |pairs: &[(&str, &str)]| {
            S3Options::from_options(&Options::from_pairs(&crate::KIND, pairs.iter().copied()))
        };
        let o = with(&[]).unwrap();
        assert_eq!(o.upload_cutoff, 200 * 1024 * 1024);
        assert_eq!(o.chunk_size, 5 * 1024 * 1024);
        assert_eq!(o.upload_concurrency, 4);
        assert_eq!(o.list_chunk, 1000);
        assert!(o.force_path_style && !o.env_auth);
        let o = with(&[
            ("chunk_size", "16M"),
            ("upload_concurrency", "8"),
            ("no_check_bucket", "true"),
            ("access_key_id", "AK"),
            ("server_side_encryption", "aws:kms"),
        ])
        .unwrap();
        assert_eq!(o.chunk_size, 16 * 1024 * 1024);
        assert_eq!(o.upload_concurrency, 8);
        assert!(o.no_check_bucket && !o.etag_is_md5());
        assert_eq!(o.access_key_id.as_deref(), Some("AK"));
        let err = with(&[("chunk_size", "1M")]).unwrap_err();
        assert!(err.to_string().contains("5 MiB"), "{err}");
        assert_eq!(err.kind(), ferry_core::ErrorKind::Config);
        assert!(with(&[("env_auth", "maybe")]).is_err());
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

//! The S3 backend, compatible with rclone's `s3` remotes.
//!
//! - Keys map to paths under `bucket/prefix`; a directory is listed with the `/` delimiter,
//!   a whole tree without it (`list_recursive`, in key order), page by page; keys that are
//!   not safe relative paths are skipped with an error line.
//! - The modification time lives in `x-amz-meta-mtime` exactly as rclone writes it
//!   (`seconds.nanoseconds`); without it, `Last-Modified` is used. Listings carry only
//!   `Last-Modified` (a provisional mtime): the real one costs a HEAD, made only when
//!   something needs it, and comes free with every GET.
//! - Server-side copies over `copy_cutoff` go in parts (UploadPartCopy).
//! - MD5 comes from the ETag of single-part objects, else from rclone's `md5chksum`
//!   metadata, which ferry also writes for its multipart uploads.
//! - Uploads send `Content-MD5` (whole object, or per part) and check the ETags S3 returns.
//! - Copies and moves between two S3 remotes on the same endpoint stay on the server.

mod client;
mod copy;
mod dump;
mod error;
mod flat;
mod headers;
mod kind;
pub mod meta;
pub mod options;
mod prehash;
mod put_body;
mod reach;
mod resume;
mod upload;
mod url;

use std::collections::{HashMap, HashSet as StdHashSet};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_s3::types::{
    BucketCannedAcl, BucketLocationConstraint, CreateBucketConfiguration, EncodingType,
    MetadataDirective, StorageClass,
};
use aws_smithy_types::DateTime;
use ferry_core::encoding::Names;
use ferry_core::{
    Backend, ByteStream, Capabilities, Entry, Error, ErrorKind, Features, HashKind, HashSet,
    Hashes, ListPages, Listing, Location, Metadata, PutOptions, RelPath, Result,
};
use ferry_objstore::bucket::{
    byte_range, split_stored_root, stored_key, undecodable_key, unsafe_key,
};
use futures::stream;

pub use kind::KIND;
pub use options::S3Options;

use crate::error::{sdk, Failure};
use crate::meta::{META_MD5, META_MTIME};

/// A bucket (or the service root) on one S3 endpoint, rooted at a prefix.
pub struct S3Backend {
    client: aws_sdk_s3::Client,
    opts: S3Options,
    /// `None`: the root lists buckets and paths start with a bucket name.
    bucket: Option<String>,
    /// Key prefix of the root (stored form), without slashes at either end ("" for the
    /// bucket root).
    prefix: String,
    /// How ferry's names are stored as keys: every key is built and read through it.
    names: Names,
    /// Identifies the endpoint (for server-side copies and overlap checks).
    endpoint_id: String,
    features: Features,
    /// Buckets known to exist (checked or created).
    buckets_ok: Mutex<StdHashSet<String>>,
    /// MD5s of local sources about to be streamed up, by `bucket/key`: hashed before
    /// the upload (as rclone does) so `md5chksum` can go into the upload's metadata,
    /// with each part's MD5 for a multipart upload (see [`prehash`]).
    prehashed: Mutex<HashMap<String, prehash::Prehashed>>,
}

/// Where one path lives.
struct Target {
    bucket: String,
    key: String,
}

/// What a HEAD tells about one object.
pub(crate) struct ObjectInfo {
    size: u64,
    mtime: SystemTime,
    /// `Last-Modified` (rclone's `btime`).
    last_modified: SystemTime,
    md5: Option<String>,
    metadata: HashMap<String, String>,
    content_type: Option<String>,
    cache_control: Option<String>,
    content_disposition: Option<String>,
    content_encoding: Option<String>,
    content_language: Option<String>,
    storage_class: Option<StorageClass>,
}

fn s3_features() -> Features {
    Features {
        caps: Capabilities {
            put_returns_hashes: true,
            moves: true,
            // S3's limit on one object (10,000 parts of at most 5 GiB).
            max_object_size: Some(5 << 40),
            ..ferry_objstore::capabilities()
        },
        semantics: ferry_objstore::semantics([HashKind::Md5].into_iter().collect::<HashSet>()),
    }
}

fn to_system(t: Option<&DateTime>) -> SystemTime {
    t.and_then(|d| SystemTime::try_from(*d).ok())
        .unwrap_or(UNIX_EPOCH)
}

impl S3Backend {
    /// Opens `bucket/prefix` (or the service root for an empty path) with `opts`.
    pub fn new(path: &str, opts: S3Options) -> Result<Arc<Self>> {
        let client = client::build(&opts)?;
        let names = Names::new(opts.encoding);
        let (bucket, prefix) = match split_stored_root(&names, path)? {
            Some((b, p)) => (Some(b), p),
            None => (None, String::new()),
        };
        let endpoint_id = match client::endpoint(&opts) {
            Some(e) => e,
            None => format!("aws:{}", client::region(&opts)),
        };
        Ok(Arc::new(S3Backend {
            client,
            opts,
            bucket,
            prefix,
            names,
            endpoint_id,
            features: s3_features(),
            buckets_ok: Mutex::new(StdHashSet::new()),
            prehashed: Mutex::new(HashMap::new()),
        }))
    }

    /// Opens a backend from option lookups (value or default for each rclone option name).
    pub fn from_options(path: &str, options: &ferry_core::kind::Options) -> Result<Arc<Self>> {
        Self::new(path, S3Options::from_options(options)?)
    }

    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    pub fn options(&self) -> &S3Options {
        &self.opts
    }

    fn target(&self, path: &RelPath) -> Result<Target> {
        match &self.bucket {
            Some(b) => Ok(Target {
                bucket: b.clone(),
                key: stored_key(&self.names, &self.prefix, path)?,
            }),
            None => {
                let Some((bucket, key)) = split_stored_root(&self.names, path.as_str())? else {
                    return Err(Error::new(
                        ErrorKind::Unsupported,
                        "s3: this needs a bucket name in the path (remote:bucket/path)",
                    ));
                };
                Ok(Target { bucket, key })
            }
        }
    }

    /// Makes sure the bucket exists (creating it if needed) unless `no_check_bucket`.
    async fn ensure_bucket(&self, bucket: &str) -> Result<()> {
        if self.opts.no_check_bucket || self.buckets_ok.lock().expect("lock").contains(bucket) {
            return Ok(());
        }
        match self.client.head_bucket().bucket(bucket).send().await {
            Ok(_) => {}
            Err(e) => {
                let f = Failure::of(&e);
                if !f.is_not_found() {
                    return Err(f.into_error("failed to check bucket", bucket));
                }
                self.create_bucket(bucket).await?;
            }
        }
        self.buckets_ok
            .lock()
            .expect("lock")
            .insert(bucket.to_owned());
        Ok(())
    }

    async fn create_bucket(&self, bucket: &str) -> Result<()> {
        let mut req = self.client.create_bucket().bucket(bucket);
        // AWS wants the region as constraint outside us-east-1; others only when asked.
        let constraint = self.opts.location_constraint.clone().or_else(|| {
            self.opts
                .region
                .clone()
                .filter(|r| r != "us-east-1" && self.opts.endpoint.is_none())
        });
        if let Some(c) = constraint {
            req = req.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(c.as_str()))
                    .build(),
            );
        }
        if let Some(acl) = &self.opts.acl {
            req = req.acl(BucketCannedAcl::from(acl.as_str()));
        }
        match req.send().await {
            Ok(_) => {
                tracing::info!("{bucket}: Bucket created");
                Ok(())
            }
            Err(e) => {
                let f = Failure::of(&e);
                if f.code.as_deref() == Some("BucketAlreadyOwnedByYou") {
                    Ok(())
                } else {
                    Err(f.into_error("failed to create bucket", bucket))
                }
            }
        }
    }

    /// HEADs one object; `Ok(None)` if it does not exist.
    pub(crate) async fn head(&self, t: &Target, path: &str) -> Result<Option<ObjectInfo>> {
        if t.key.is_empty() {
            return Ok(None);
        }
        let out = match self
            .client
            .head_object()
            .bucket(&t.bucket)
            .key(&t.key)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                let f = Failure::of(&e);
                if f.is_not_found() {
                    return Ok(None);
                }
                return Err(f.into_error("failed to read object metadata", path));
            }
        };
        let metadata = out.metadata().cloned().unwrap_or_default();
        let last_modified = to_system(out.last_modified());
        let mtime = self.mtime_of(&metadata, last_modified);
        let md5 = self.md5_of(out.e_tag(), &metadata);
        Ok(Some(ObjectInfo {
            size: out.content_length().unwrap_or(0).max(0) as u64,
            mtime,
            last_modified,
            md5,
            content_type: out.content_type().map(str::to_owned),
            cache_control: out.cache_control().map(str::to_owned),
            content_disposition: out.content_disposition().map(str::to_owned),
            content_encoding: out.content_encoding().map(str::to_owned),
            content_language: out.content_language().map(str::to_owned),
            storage_class: out.storage_class().cloned(),
            metadata,
        }))
    }

    /// The mtime metadata rclone writes, else (or under `--use-server-modtime`) `LastModified`.
    fn mtime_of(
        &self,
        metadata: &HashMap<String, String>,
        last_modified: SystemTime,
    ) -> SystemTime {
        if self.opts.use_server_modtime {
            return last_modified;
        }
        metadata
            .get(META_MTIME)
            .and_then(|v| meta::parse_mtime(v))
            .unwrap_or(last_modified)
    }

    /// The MD5 of an object: its ETag when that is one, else the `md5chksum` metadata.
    fn md5_of(&self, etag: Option<&str>, metadata: &HashMap<String, String>) -> Option<String> {
        let from_etag = etag
            .filter(|_| self.opts.etag_is_md5())
            .and_then(meta::md5_from_etag);
        from_etag.or_else(|| metadata.get(META_MD5).and_then(|v| meta::md5_from_meta(v)))
    }

    fn entry_of(&self, path: RelPath, info: &ObjectInfo) -> Entry {
        let mut e = Entry::file(path, info.size, info.mtime);
        e.tier = self
            .opts
            .tier(info.storage_class.as_ref().map(|c| c.as_str()));
        if let Some(m) = &info.md5 {
            e.hashes.set(HashKind::Md5, m.clone());
        }
        e
    }

    /// Whether any object lies under `key/` (a "directory").
    async fn has_children(&self, bucket: &str, key: &str, path: &str) -> Result<bool> {
        let prefix = if key.is_empty() {
            String::new()
        } else {
            format!("{key}/")
        };
        let out = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .max_keys(1)
            .send()
            .await
            .map_err(|e| sdk("failed to list", path, e))?;
        Ok(out.key_count().unwrap_or(0) > 0 || !out.contents().is_empty())
    }

    async fn list_buckets(&self) -> Result<Listing> {
        let out = self
            .client
            .list_buckets()
            .send()
            .await
            .map_err(|e| sdk("failed to list buckets", "", e))?;
        let mut listing = Listing::new();
        for b in out.buckets() {
            let Some(name) = b.name() else { continue };
            match self.names.child(&RelPath::root(), name) {
                Ok(p) => listing
                    .entries
                    .push(Entry::dir(p, to_system(b.creation_date()))),
                Err(e) => listing.skip(e),
            }
        }
        Ok(listing)
    }

    /// An object as a listing shows it: its `LastModified` stands in for the mtime
    /// metadata, which only a HEAD (or GET) reveals — fetched later, and only when needed
    /// (as rclone does), unless `--use-server-modtime` makes it the real one.
    fn listed_entry(
        &self,
        path: RelPath,
        obj: &aws_sdk_s3::types::Object,
        md5: Option<String>,
    ) -> Entry {
        let mut e = Entry::file(
            path,
            obj.size().unwrap_or(0).max(0) as u64,
            to_system(obj.last_modified()),
        );
        e.mtime_provisional = !self.opts.use_server_modtime;
        e.tier = self.opts.tier(obj.storage_class().map(|c| c.as_str()));
        e.version = obj.e_tag().map(|t| t.trim_matches('"').to_owned());
        if let Some(m) = md5 {
            e.hashes.set(HashKind::Md5, m);
        }
        e
    }

    /// Lists `dir` page by page with the `/` delimiter.
    /// One directory's objects and prefixes, a `ListObjectsV2` page at a time.
    fn list_objects(&self, dir: RelPath) -> ListPages<'_> {
        ferry_core::listing::by_token(move |token| {
            let dir = dir.clone();
            async move { self.list_objects_page(&dir, token).await }
        })
    }

    /// One page of a directory's listing, and the token of the next page if any.
    async fn list_objects_page(
        &self,
        dir: &RelPath,
        token: Option<String>,
    ) -> Result<(Listing, Option<String>)> {
        let t = self.target(dir)?;
        let prefix = ferry_objstore::flat::dir_prefix(&t.key);
        let mut listing = Listing::new();
        let entries = &mut listing.entries;
        let mut skipped = Vec::new();
        let out = self
            .client
            .list_objects_v2()
            .bucket(&t.bucket)
            .prefix(&prefix)
            .delimiter("/")
            .encoding_type(EncodingType::Url)
            .max_keys(self.opts.list_chunk)
            .set_continuation_token(token.clone())
            .send()
            .await
            .map_err(|e| {
                let f = Failure::of(&e);
                if f.is_no_bucket() {
                    Error::new(
                        ErrorKind::DirNotFound,
                        format!("directory not found: bucket {:?} does not exist", t.bucket),
                    )
                    .with_path(dir.to_string())
                } else {
                    f.into_error("failed to list", dir.as_str())
                }
            })?;
        let encoded = out.encoding_type() == Some(&EncodingType::Url);
        let decode = |s: &str| -> Option<String> {
            if encoded {
                meta::url_decode_key(s)
            } else {
                Some(s.to_owned())
            }
        };
        for cp in out.common_prefixes() {
            let Some(raw) = cp.prefix() else { continue };
            let Some(full) = decode(raw) else {
                skipped.push(undecodable_key(raw));
                continue;
            };
            let Some(name) = full.strip_prefix(&prefix).and_then(|n| n.strip_suffix('/')) else {
                continue;
            };
            match self.names.child(dir, name) {
                Ok(p) => {
                    // rclone's S3 lists a prefix as a directory of 0 bytes.
                    let mut d = Entry::dir(p, ferry_core::no_dir_time());
                    d.dir_size = Some(0);
                    entries.push(d);
                }
                Err(_) => skipped.push(unsafe_key(&self.names, &full)),
            }
        }
        for obj in out.contents() {
            let Some(raw) = obj.key() else { continue };
            let Some(full) = decode(raw) else {
                skipped.push(undecodable_key(raw));
                continue;
            };
            let Some(name) = full.strip_prefix(&prefix) else {
                continue;
            };
            if name.is_empty() {
                continue; // the directory's own marker object
            }
            let Ok(path) = self.names.child(dir, name) else {
                skipped.push(unsafe_key(&self.names, &full));
                continue;
            };
            let md5 = obj
                .e_tag()
                .filter(|_| self.opts.etag_is_md5())
                .and_then(meta::md5_from_etag);
            entries.push(self.listed_entry(path, obj, md5));
        }
        // A prefix with nothing under it is an empty directory (`bucket_dirs`); only a
        // missing bucket (above) is "directory not found".
        listing.errors = skipped;
        let more = out.is_truncated().unwrap_or(false);
        let next = out.next_continuation_token().filter(|_| more);
        ferry_core::listing::check_next_token(token.as_deref(), next, dir.as_str())?;
        Ok((listing, next.map(str::to_owned)))
    }

    /// Whether `other` talks to the same endpoint (so a server-side copy can reach it).
    fn same_endpoint(&self, other: &S3Backend) -> bool {
        self.endpoint_id == other.endpoint_id && self.opts.access_key_id == other.opts.access_key_id
    }

    /// Copies an object of `size` bytes on the server. `replace`: new metadata and headers;
    /// `None` keeps the source's. Over `copy_cutoff` it goes in parts.
    async fn server_copy(
        &self,
        src: &Target,
        dst: &Target,
        dst_path: &RelPath,
        replace: Option<&ObjectInfo>,
        size: u64,
    ) -> Result<Option<String>> {
        if size > self.opts.copy_cutoff {
            // A multipart upload starts bare: the source's metadata must be read to carry it.
            let head;
            let info = match replace {
                Some(info) => info,
                None => {
                    head = self
                        .head(src, dst_path.as_str())
                        .await?
                        .ok_or_else(|| Error::not_found(format!("{}/{}", src.bucket, src.key)))?;
                    &head
                }
            };
            return copy::multipart_copy(self, src, dst, dst_path, info).await;
        }
        let dst_path = dst_path.as_str();
        let mut req = self
            .client
            .copy_object()
            .bucket(&dst.bucket)
            .key(&dst.key)
            .copy_source(meta::copy_source(&src.bucket, &src.key));
        if let Some(info) = replace {
            req = req
                .metadata_directive(MetadataDirective::Replace)
                .set_metadata(Some(info.metadata.clone()))
                .set_content_type(info.content_type.clone())
                .set_cache_control(info.cache_control.clone())
                .set_content_disposition(info.content_disposition.clone())
                .set_content_encoding(info.content_encoding.clone())
                .set_content_language(info.content_language.clone())
                // The source's class, unless the remote sets one (the options below).
                .set_storage_class(info.storage_class.clone());
        }
        let out = upload::with_copy_options(self, req)
            .send()
            .await
            .map_err(|e| sdk("failed to copy on the server", dst_path, e))?;
        Ok(out
            .copy_object_result()
            .and_then(|r| r.e_tag())
            .map(str::to_owned))
    }
}

impl S3Backend {
    /// Before an upload that is not read into memory first (a streamed PutObject or a
    /// multipart upload) from a local file whose MD5 is not known: hash the file (as
    /// rclone does) so the upload that follows can send it as Content-MD5 or store
    /// `md5chksum` from the start.
    async fn prehash_local(
        &self,
        src: &dyn Backend,
        src_path: &RelPath,
        dst_path: &RelPath,
        opts: &PutOptions,
    ) -> Result<()> {
        if upload::is_buffered(&self.opts, opts.size)
            || self.opts.disable_checksum
            || opts.hashes.get(HashKind::Md5).is_some()
        {
            return Ok(());
        }
        let Some(file) = src.local_path(src_path) else {
            return Ok(());
        };
        let t = self.target(dst_path)?;
        let shown = src_path.to_string();
        let parts = (opts.size > self.opts.upload_cutoff).then(|| self.opts.part_size(opts.size));
        let found = tokio::task::spawn_blocking(move || prehash::hash_file(&file, parts, &shown))
            .await
            .map_err(|e| Error::new(ErrorKind::Io, format!("hashing task failed: {e}")))??;
        self.prehashed
            .lock()
            .expect("lock")
            .insert(format!("{}/{}", t.bucket, t.key), found);
        Ok(())
    }

    /// What [`prehash_local`](Self::prehash_local) found for this upload, once.
    pub(crate) fn take_prehashed(&self, t: &Target) -> Option<prehash::Prehashed> {
        self.prehashed
            .lock()
            .expect("lock")
            .remove(&format!("{}/{}", t.bucket, t.key))
    }
}

#[async_trait]
impl Backend for S3Backend {
    fn features(&self) -> &Features {
        &self.features
    }

    fn location(&self) -> Location {
        let mut path = String::from("/");
        if let Some(b) = &self.bucket {
            path.push_str(b);
            if !self.prefix.is_empty() {
                path.push('/');
                path.push_str(&self.prefix);
            }
        }
        Location {
            namespace: format!("s3:{}", self.endpoint_id),
            path: if path == "/" { String::new() } else { path },
        }
    }

    fn describe(&self) -> String {
        match (&self.bucket, self.prefix.is_empty()) {
            (None, _) => "S3 root".into(),
            (Some(b), true) => format!("S3 bucket {b}"),
            (Some(b), false) => format!("S3 bucket {b} path {}", self.prefix),
        }
    }

    async fn stat(&self, path: &RelPath) -> Result<Option<Entry>> {
        if self.bucket.is_none() && path.is_root() {
            return Ok(Some(Entry::dir(RelPath::root(), ferry_core::no_dir_time())));
        }
        let t = self.target(path)?;
        if t.key.is_empty() {
            // A bucket.
            return match self.client.head_bucket().bucket(&t.bucket).send().await {
                Ok(_) => Ok(Some(Entry::dir(path.clone(), ferry_core::no_dir_time()))),
                Err(e) => {
                    let f = Failure::of(&e);
                    if f.is_not_found() {
                        Ok(None)
                    } else {
                        Err(f.into_error("failed to check bucket", &t.bucket))
                    }
                }
            };
        }
        if !path.is_root() {
            if let Some(info) = self.head(&t, path.as_str()).await? {
                return Ok(Some(self.entry_of(path.clone(), &info)));
            }
        }
        match self.has_children(&t.bucket, &t.key, path.as_str()).await {
            Ok(true) => Ok(Some(Entry::dir(path.clone(), ferry_core::no_dir_time()))),
            Ok(false) => Ok(None),
            Err(e) if e.kind() == ErrorKind::DirNotFound || e.kind() == ErrorKind::NotFound => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn list_pages(&self, dir: RelPath) -> ListPages<'_> {
        if self.bucket.is_none() && dir.is_root() {
            return ferry_core::listing::one_page(self.list_buckets());
        }
        self.list_objects(dir)
    }

    async fn open(&self, path: &RelPath, offset: u64, len: Option<u64>) -> Result<ByteStream> {
        Ok(self.open_entry(path, offset, len).await?.0)
    }

    async fn open_entry(
        &self,
        path: &RelPath,
        offset: u64,
        len: Option<u64>,
    ) -> Result<(ByteStream, Option<Entry>)> {
        if len == Some(0) {
            return Ok((Box::pin(tokio::io::empty()), None));
        }
        let t = self.target(path)?;
        let mut req = self.client.get_object().bucket(&t.bucket).key(&t.key);
        if let Some(range) = byte_range(offset, len) {
            req = req.range(range);
        }
        match req.send().await {
            Ok(out) => {
                // The GET's headers are a HEAD's: the exact mtime comes for free.
                let metadata = out.metadata().cloned().unwrap_or_default();
                let mtime = self.mtime_of(&metadata, to_system(out.last_modified()));
                let size = match out.content_range().and_then(meta::range_total) {
                    Some(total) => total,
                    None => out.content_length().unwrap_or(0).max(0) as u64,
                };
                let mut entry = Entry::file(path.clone(), size, mtime);
                if let Some(m) = self.md5_of(out.e_tag(), &metadata) {
                    entry.hashes.set(HashKind::Md5, m);
                }
                let expected = out.content_length().and_then(|n| u64::try_from(n).ok());
                let body =
                    ferry_core::body::counted(out.body.into_async_read(), "the download", expected);
                Ok((body, Some(entry)))
            }
            Err(e) => {
                let f = Failure::of(&e);
                if f.code.as_deref() == Some("InvalidRange") || f.status == Some(416) {
                    return Ok((Box::pin(tokio::io::empty()), None));
                }
                Err(f.into_error("failed to open for reading", path.as_str()))
            }
        }
    }

    async fn put(&self, path: &RelPath, data: ByteStream, opts: &PutOptions) -> Result<Entry> {
        let t = self.target(path)?;
        if t.key.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidPath,
                "can't write an object without a name",
            )
            .with_path(path.to_string()));
        }
        self.ensure_bucket(&t.bucket).await?;
        upload::put(self, &t, path, data, opts).await
    }

    async fn copy_from(
        &self,
        src: &dyn Backend,
        src_path: &RelPath,
        dst_path: &RelPath,
        opts: &PutOptions,
    ) -> Result<Option<Entry>> {
        let Some(other) = src.as_any().downcast_ref::<S3Backend>() else {
            self.prehash_local(src, src_path, dst_path, opts).await?;
            return Ok(None);
        };
        if !self.same_endpoint(other) {
            return Ok(None);
        }
        let (s, d) = (other.target(src_path)?, self.target(dst_path)?);
        self.ensure_bucket(&d.bucket).await?;
        // With --metadata the copy is written with the metadata given (REPLACE), as
        // rclone does; else S3 keeps the source's headers and metadata (COPY).
        let replace = opts.metadata.as_ref().map(|_| {
            let mut h = headers::Headers::for_put(dst_path, opts);
            if let Some(m) = opts.hashes.get(HashKind::Md5).and_then(meta::md5_to_meta) {
                if !self.opts.etag_is_md5() && !self.opts.disable_checksum {
                    h.metadata.insert(META_MD5.into(), m);
                }
            }
            h
        });
        let mtime = replace.as_ref().and_then(|h| h.mtime).unwrap_or(opts.mtime);
        let info = replace.map(|h| h.into_info(opts.size, None));
        let etag = self
            .server_copy(&s, &d, dst_path, info.as_ref(), opts.size)
            .await?;
        let mut entry = Entry::file(dst_path.clone(), opts.size, mtime);
        let md5 = etag
            .filter(|_| self.opts.etag_is_md5())
            .and_then(|e| meta::md5_from_etag(&e))
            .or_else(|| opts.hashes.get(HashKind::Md5).map(str::to_owned));
        if let Some(m) = md5 {
            entry.hashes.set(HashKind::Md5, m);
        }
        Ok(Some(entry))
    }

    async fn move_from(
        &self,
        src: &dyn Backend,
        src_path: &RelPath,
        dst_path: &RelPath,
    ) -> Result<Option<Entry>> {
        let Some(other) = src.as_any().downcast_ref::<S3Backend>() else {
            return Ok(None);
        };
        if !self.same_endpoint(other) {
            return Ok(None);
        }
        let s = other.target(src_path)?;
        let Some(info) = other.head(&s, src_path.as_str()).await? else {
            return Err(Error::not_found(src_path.to_string()));
        };
        let opts = PutOptions {
            size: info.size,
            mtime: info.mtime,
            inplace: false,
            hashes: {
                let mut h = Hashes::default();
                if let Some(m) = &info.md5 {
                    h.set(HashKind::Md5, m.clone());
                }
                h
            },
            metadata: None,
        };
        let Some(entry) = self.copy_from(src, src_path, dst_path, &opts).await? else {
            return Ok(None);
        };
        other.delete_file(src_path).await?;
        Ok(Some(entry))
    }

    async fn metadata(&self, path: &RelPath) -> Result<Option<Metadata>> {
        let t = self.target(path)?;
        match self.head(&t, path.as_str()).await? {
            Some(info) => Ok(Some(headers::read(&info))),
            None => Err(Error::not_found(path.to_string())),
        }
    }

    fn put_verifies(&self, path: &RelPath, opts: &PutOptions) -> bool {
        // Each part's (or the object's) ETag is compared with the MD5s taken before the
        // upload, so the stored bytes are those that gave `md5chksum`.
        if !self.opts.etag_is_md5() || self.opts.disable_checksum {
            return false;
        }
        let Ok(t) = self.target(path) else {
            return false;
        };
        let known = self.prehashed.lock().expect("lock");
        match known.get(&format!("{}/{}", t.bucket, t.key)) {
            None => false,
            Some(p) if opts.size > self.opts.upload_cutoff => p
                .parts_for(self.opts.part_size(opts.size), opts.size)
                .is_some(),
            Some(_) => !upload::is_buffered(&self.opts, opts.size),
        }
    }

    async fn hash(&self, path: &RelPath, kind: HashKind) -> Result<Option<String>> {
        if kind != HashKind::Md5 {
            return Ok(None);
        }
        let t = self.target(path)?;
        match self.head(&t, path.as_str()).await? {
            Some(info) => Ok(info.md5),
            None => Err(Error::not_found(path.to_string())),
        }
    }

    async fn set_modtime(&self, path: &RelPath, mtime: SystemTime) -> Result<()> {
        let t = self.target(path)?;
        let Some(mut info) = self.head(&t, path.as_str()).await? else {
            return Err(Error::not_found(path.to_string()));
        };
        info.metadata
            .insert(META_MTIME.into(), meta::format_mtime(mtime));
        let size = info.size;
        self.server_copy(&t, &t, path, Some(&info), size)
            .await
            .map(|_| ())
    }

    async fn delete_file(&self, path: &RelPath) -> Result<()> {
        let t = self.target(path)?;
        self.client
            .delete_object()
            .bucket(&t.bucket)
            .key(&t.key)
            .send()
            .await
            .map_err(|e| sdk("failed to delete", path.as_str(), e))?;
        Ok(())
    }

    async fn mkdir(&self, dir: &RelPath) -> Result<()> {
        if self.bucket.is_none() && dir.is_root() {
            return Ok(());
        }
        let t = self.target(dir)?;
        self.ensure_bucket(&t.bucket).await
    }

    async fn rmdir(&self, dir: &RelPath) -> Result<()> {
        if self.bucket.is_none() && dir.is_root() {
            return Err(Error::unsupported("can't remove the root of S3"));
        }
        let t = self.target(dir)?;
        if t.key.is_empty() {
            // The bucket itself, as rclone does (fails unless it is empty).
            self.client
                .delete_bucket()
                .bucket(&t.bucket)
                .send()
                .await
                .map_err(|e| sdk("failed to remove bucket", &t.bucket, e))?;
            self.buckets_ok.lock().expect("lock").remove(&t.bucket);
            return Ok(());
        }
        // A prefix exists only through its objects; drop a `dir/` marker if it is all
        // that is left.
        let marker = format!("{}/", t.key);
        let out = self
            .client
            .list_objects_v2()
            .bucket(&t.bucket)
            .prefix(&marker)
            .max_keys(2)
            .send()
            .await
            .map_err(|e| sdk("failed to list", dir.as_str(), e))?;
        let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
        match keys.as_slice() {
            [] => Ok(()),
            [only] if *only == marker => {
                self.client
                    .delete_object()
                    .bucket(&t.bucket)
                    .key(&marker)
                    .send()
                    .await
                    .map_err(|e| sdk("failed to remove directory marker", dir.as_str(), e))?;
                Ok(())
            }
            _ => Err(Error::new(ErrorKind::Io, "directory not empty").with_path(dir.to_string())),
        }
    }

    fn list_recursive(self: Arc<Self>, dir: &RelPath) -> Option<ferry_core::EntryStream> {
        if self.bucket.is_none() && dir.is_root() {
            return None;
        }
        Some(match flat::list(self, dir) {
            Ok(s) => s,
            Err(e) => Box::pin(stream::once(async move { Err(e) })),
        })
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_bucket_and_prefix() {
        let o = S3Options::default;
        let b = S3Backend::new("bkt/a/b/", o()).unwrap();
        assert_eq!(b.bucket.as_deref(), Some("bkt"));
        assert_eq!(b.prefix, "a/b");
        let t = b.target(&RelPath::new("x/y").unwrap()).unwrap();
        assert_eq!((t.bucket.as_str(), t.key.as_str()), ("bkt", "a/b/x/y"));
        assert_eq!(b.describe(), "S3 bucket bkt path a/b");
        assert_eq!(b.location().path, "/bkt/a/b");
        let root = S3Backend::new("", o()).unwrap();
        assert!(root.bucket.is_none());
        let t = root.target(&RelPath::new("bk/k").unwrap()).unwrap();
        assert_eq!((t.bucket.as_str(), t.key.as_str()), ("bk", "k"));
        assert!(root.target(&RelPath::root()).is_err());
        let bare = S3Backend::new("bkt", o()).unwrap();
        assert_eq!(bare.target(&RelPath::root()).unwrap().key, "");
        assert!(bare.location().overlaps(&b.location()));
    }
}

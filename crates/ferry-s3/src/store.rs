//! S3 as an [`ObjectStore`]: the SDK's requests for objects, listings and buckets, and
//! their answers in ferry's terms. Paths, listings, directories and the
//! [`Backend`](ferry_core::Backend) itself are [`ferry_objstore::ObjectBackend`]'s;
//! what is S3's own here is the upload machinery ([`crate::upload`]), copies that keep
//! or replace the headers (`MetadataDirective`), and the hooks S3 fills: the GET's
//! headers as an entry, the pre-hash of a local source, and uploads that verify.

use std::collections::HashMap;
use std::time::SystemTime;

use async_trait::async_trait;
use aws_sdk_s3::types::{
    BucketCannedAcl, BucketLocationConstraint, CreateBucketConfiguration, EncodingType,
    MetadataDirective,
};
use ferry_core::encoding::Encoding;
use ferry_core::{
    Backend, ByteStream, Entry, Error, ErrorKind, Features, HashKind, Metadata, PutOptions,
    RelPath, Result,
};
use ferry_objstore::bucket::{byte_range, undecodable_key};
use ferry_objstore::{ObjectStore, Page, Target, UserMeta};

use crate::error::{sdk, Failure};
use crate::meta::{self, META_MD5, META_MTIME};
use crate::object::{md5_of, mtime_of, to_system, with_info_headers, ObjectInfo};
use crate::{client, copy, headers, prehash, upload, S3Options, S3};

impl S3 {
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
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
    pub(crate) async fn head_object(&self, t: &Target, path: &str) -> Result<Option<ObjectInfo>> {
        if t.key.is_empty() {
            return Ok(None);
        }
        let req = self.client.head_object().bucket(&t.bucket).key(&t.key);
        match req.send().await {
            Ok(out) => Ok(Some(ObjectInfo::from_head(&self.opts, &t.key, &out))),
            Err(e) => {
                let f = Failure::of(&e);
                if f.is_not_found() {
                    return Ok(None);
                }
                Err(f.into_error("failed to read object metadata", path))
            }
        }
    }

    /// Copies an object of `size` bytes on the server. `replace`: new metadata and headers;
    /// `None` keeps the source's. Over `copy_cutoff` it goes in parts.
    pub(crate) async fn server_copy(
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
                        .head_object(src, dst_path.as_str())
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
            let req_replace = req.metadata_directive(MetadataDirective::Replace);
            req = with_info_headers!(req_replace, info, info.metadata.clone());
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

    /// What [`prepare_upload`](ObjectStore::prepare_upload) found for this upload, once.
    pub(crate) fn take_prehashed(&self, t: &Target) -> Option<prehash::Prehashed> {
        self.prehashed
            .lock()
            .expect("lock")
            .remove(&format!("{}/{}", t.bucket, t.key))
    }
}

/// A listing's failure: a missing bucket is a missing directory.
fn list_error(f: Failure, bucket: &str, path: &str) -> Error {
    if f.is_no_bucket() {
        Error::new(
            ErrorKind::DirNotFound,
            format!("directory not found: bucket {bucket:?} does not exist"),
        )
        .with_path(path.to_owned())
    } else {
        f.into_error("failed to list", path)
    }
}

#[async_trait]
impl ObjectStore for S3 {
    type Options = S3Options;
    type Object = ObjectInfo;

    const ROOT_NAME: &'static str = "S3";
    const OBJECT_NAME: &'static str = "an object";
    const TYPE_NAME: &'static str = "s3";
    const BUCKET_NAME: &'static str = "bucket";
    // rclone's S3 lists a prefix (and a `dir/` marker) as a directory of 0 bytes.
    const LISTED_DIR_SIZE: Option<u64> = Some(0);
    const BUCKET_DELETE_CHECKS_EMPTY: bool = true;
    const RMDIR_REMOVES_MARKER: bool = true;

    fn connect(opts: S3Options) -> Result<Self> {
        let endpoint_id = match client::endpoint(&opts) {
            Some(e) => e,
            None => format!("aws:{}", client::region(&opts)),
        };
        Ok(S3 {
            client: client::build(&opts)?,
            opts,
            endpoint_id,
            prehashed: Default::default(),
        })
    }

    fn options_from(
        options: &ferry_core::kind::Options,
        _env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<S3Options> {
        S3Options::from_options(options)
    }

    fn options(&self) -> &S3Options {
        &self.opts
    }

    fn upload_metadata(&self) -> Option<&ferry_core::Metadata> {
        self.opts.upload_meta.as_ref()
    }

    fn encoding(&self) -> Encoding {
        self.opts.encoding
    }

    fn features(&self) -> Features {
        crate::s3_features(&self.opts)
    }

    /// S3's bucket rules vary by provider: the server has the only word.
    fn check_bucket_name(_name: &str) -> Result<()> {
        Ok(())
    }

    fn namespace(&self) -> String {
        format!("s3:{}", self.endpoint_id)
    }

    fn describe(&self, bucket: Option<&str>, prefix: &str) -> String {
        match (bucket, prefix.is_empty()) {
            (None, _) => "S3 root".into(),
            (Some(b), true) => format!("S3 bucket {b}"),
            (Some(b), false) => format!("S3 bucket {b} path {prefix}"),
        }
    }

    /// The same endpoint and the same key, so a server-side copy can read the source.
    fn same_service(&self, other: &Self) -> bool {
        self.endpoint_id == other.endpoint_id && self.opts.access_key_id == other.opts.access_key_id
    }

    fn list_chunk(&self) -> u32 {
        self.opts.list_chunk.max(1) as u32
    }

    fn key(o: &ObjectInfo) -> &str {
        &o.key
    }

    fn entry(o: &ObjectInfo, path: RelPath) -> Entry {
        o.entry(path)
    }

    fn hash(o: &ObjectInfo, kind: HashKind) -> Option<String> {
        (kind == HashKind::Md5).then(|| o.md5.clone()).flatten()
    }

    fn metadata(o: &ObjectInfo) -> Metadata {
        headers::read(o)
    }

    fn user_metadata(o: &ObjectInfo) -> UserMeta {
        o.metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    fn mtime_metadata(mtime: SystemTime) -> Vec<(String, String)> {
        vec![(META_MTIME.to_owned(), meta::format_mtime(mtime))]
    }

    async fn head(&self, t: &Target, path: &str) -> Result<Option<ObjectInfo>> {
        self.head_object(t, path).await
    }

    /// One ListObjectsV2 page, its keys URL-encoded by S3 (so any byte survives XML)
    /// and decoded here; a key that doesn't decode is the page's error, not an object.
    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        delimited: bool,
        max: u32,
        token: Option<String>,
        path: &str,
    ) -> Result<Page<ObjectInfo>> {
        let mut req = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .encoding_type(EncodingType::Url)
            .max_keys(max.min(i32::MAX as u32) as i32)
            .set_continuation_token(token.clone());
        if delimited {
            req = req.delimiter("/");
        }
        let out = req
            .send()
            .await
            .map_err(|e| list_error(Failure::of(&e), bucket, path))?;
        let encoded = out.encoding_type() == Some(&EncodingType::Url);
        let decode = |s: &str| {
            if encoded {
                meta::url_decode_key(s)
            } else {
                Some(s.to_owned())
            }
        };
        let mut page = Page::default();
        for cp in out.common_prefixes() {
            let Some(raw) = cp.prefix() else { continue };
            match decode(raw) {
                Some(full) => page.prefixes.push(full),
                None => page.skipped.push(undecodable_key(raw)),
            }
        }
        for obj in out.contents() {
            let Some(raw) = obj.key() else { continue };
            match decode(raw) {
                Some(key) => page.objects.push(ObjectInfo::listed(&self.opts, key, obj)),
                None => page.skipped.push(undecodable_key(raw)),
            }
        }
        let more = out.is_truncated().unwrap_or(false);
        let next = out.next_continuation_token().filter(|_| more);
        ferry_core::listing::check_next_token(token.as_deref(), next, path)?;
        page.next = next.map(str::to_owned);
        Ok(page)
    }

    /// The account's buckets: ListBuckets answers them all at once.
    async fn list_buckets(
        &self,
        _token: Option<String>,
    ) -> Result<Page<(String, Option<SystemTime>)>> {
        let out = self
            .client
            .list_buckets()
            .send()
            .await
            .map_err(|e| sdk("failed to list buckets", "", e))?;
        let mut page = Page::default();
        for b in out.buckets() {
            let Some(name) = b.name() else { continue };
            page.objects
                .push((name.to_owned(), Some(to_system(b.creation_date()))));
        }
        Ok(page)
    }

    async fn bucket_exists(&self, bucket: &str) -> Result<bool> {
        match self.client.head_bucket().bucket(bucket).send().await {
            Ok(_) => Ok(true),
            Err(e) => {
                let f = Failure::of(&e);
                if f.is_not_found() {
                    Ok(false)
                } else {
                    Err(f.into_error("failed to check bucket", bucket))
                }
            }
        }
    }

    /// Makes sure the bucket exists (creating it if needed) unless `no_check_bucket`.
    async fn ready_bucket(&self, bucket: &str) -> Result<()> {
        if self.opts.no_check_bucket || self.bucket_exists(bucket).await? {
            return Ok(());
        }
        self.create_bucket(bucket).await
    }

    /// DeleteBucket, which S3 refuses unless the bucket is empty.
    async fn delete_bucket(&self, bucket: &str) -> Result<()> {
        self.client
            .delete_bucket()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| sdk("failed to remove bucket", bucket, e))?;
        Ok(())
    }

    async fn read(
        &self,
        t: &Target,
        offset: u64,
        len: Option<u64>,
        path: &RelPath,
    ) -> Result<ByteStream> {
        Ok(self.read_entry(t, offset, len, path).await?.0)
    }

    /// A GET, whose headers are a HEAD's: the exact mtime comes for free.
    async fn read_entry(
        &self,
        t: &Target,
        offset: u64,
        len: Option<u64>,
        path: &RelPath,
    ) -> Result<(ByteStream, Option<Entry>)> {
        let mut req = self.client.get_object().bucket(&t.bucket).key(&t.key);
        if let Some(range) = byte_range(offset, len) {
            req = req.range(range);
        }
        let headers = self.opts.http.download_headers.clone();
        let sent = match headers.is_empty() {
            true => req.send().await,
            false => {
                req.customize()
                    .mutate_request(move |r| {
                        for (name, value) in &headers {
                            r.headers_mut().insert(name.clone(), value.clone());
                        }
                    })
                    .send()
                    .await
            }
        };
        match sent {
            Ok(out) => {
                let metadata = out.metadata().cloned().unwrap_or_default();
                let mtime = mtime_of(&self.opts, &metadata, to_system(out.last_modified()));
                let size = match out.content_range().and_then(meta::range_total) {
                    Some(total) => total,
                    None => out.content_length().unwrap_or(0).max(0) as u64,
                };
                let mut entry = Entry::file(path.clone(), size, mtime);
                if let Some(m) = md5_of(&self.opts, out.e_tag(), &metadata) {
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

    /// Before an upload that is not read into memory first (a streamed PutObject or a
    /// multipart upload) from a local file whose MD5 is not known: hash the file (as
    /// rclone does) so the upload that follows can send it as Content-MD5 or store
    /// `md5chksum` from the start.
    async fn prepare_upload(
        &self,
        src: &dyn Backend,
        src_path: &RelPath,
        t: &Target,
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
        let parts = (opts.size > self.opts.upload_cutoff).then(|| self.opts.part_size(opts.size));
        let found = prehash::of_source(src, src_path, file, opts, parts).await?;
        self.prehashed
            .lock()
            .expect("lock")
            .insert(format!("{}/{}", t.bucket, t.key), found);
        Ok(())
    }

    /// The bytes sent are checked against the source's own MD5 (listed, or taken before
    /// the upload in `copy_from`): sent as Content-MD5 with a streamed PutObject and
    /// checked against the ETag; after a multipart upload, each part's ETag against the
    /// part MD5s taken before it, or the whole stream's MD5 against the source's. Not for
    /// an upload read into memory first, whose MD5 is only of the bytes read.
    fn put_verifies(&self, t: &Target, opts: &PutOptions) -> bool {
        if !self.opts.etag_is_md5()
            || self.opts.disable_checksum
            || upload::is_buffered(&self.opts, opts.size)
        {
            return false;
        }
        let listed = opts.hashes.get(HashKind::Md5);
        listed
            .and_then(|h| hex::decode(h).ok())
            .is_some_and(|raw| raw.len() == 16)
            || self
                .prehashed
                .lock()
                .expect("lock")
                .contains_key(&format!("{}/{}", t.bucket, t.key))
    }

    async fn put(
        &self,
        t: &Target,
        path: &RelPath,
        data: ByteStream,
        opts: &PutOptions,
    ) -> Result<Entry> {
        upload::put(self, t, path, data, opts).await
    }

    /// CopyObject (or a multipart copy). With `--metadata` the copy is written with the
    /// metadata given (REPLACE), as rclone does; else S3 keeps the source's headers and
    /// metadata (COPY).
    async fn copy(
        &self,
        _src: &Self,
        s: &Target,
        d: &Target,
        _src_path: &RelPath,
        dst_path: &RelPath,
        opts: &PutOptions,
    ) -> Result<Option<Entry>> {
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
            .server_copy(s, d, dst_path, info.as_ref(), opts.size)
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

    /// A copy of the object onto itself with `MetadataDirective=REPLACE`: S3 can't
    /// change an object's metadata in place.
    async fn replace_metadata(
        &self,
        t: &Target,
        o: &ObjectInfo,
        meta: UserMeta,
        path: &str,
    ) -> Result<()> {
        let mut info = o.clone();
        info.metadata = meta.into_iter().collect::<HashMap<_, _>>();
        let path = RelPath::new(path)?;
        self.server_copy(t, t, &path, Some(&info), info.size)
            .await
            .map(|_| ())
    }

    async fn delete(&self, t: &Target, path: &str) -> Result<()> {
        self.client
            .delete_object()
            .bucket(&t.bucket)
            .key(&t.key)
            .send()
            .await
            .map_err(|e| sdk("failed to delete", path, e))?;
        Ok(())
    }

    async fn presign_get(
        &self,
        t: &Target,
        expire: Option<std::time::Duration>,
        shown: &str,
    ) -> Result<String> {
        crate::link::presign_get(self, t, expire, shown).await
    }

    /// rclone's SetTier: the object copied onto itself with the storage class (upper-cased,
    /// as rclone sends it), its metadata kept.
    async fn set_tier(&self, t: &Target, path: &RelPath, tier: &str) -> Result<()> {
        let class = aws_sdk_s3::types::StorageClass::from(tier.to_ascii_uppercase().as_str());
        let Some(mut info) = self.head_object(t, path.as_str()).await? else {
            return Err(Error::not_found(path.to_string()));
        };
        if info.size > self.opts.copy_cutoff {
            info.storage_class = Some(class);
            return copy::multipart_copy(self, t, t, path, &info)
                .await
                .map(drop);
        }
        let req = self
            .client
            .copy_object()
            .bucket(&t.bucket)
            .key(&t.key)
            .copy_source(meta::copy_source(&t.bucket, &t.key))
            .metadata_directive(MetadataDirective::Copy);
        upload::with_copy_options(self, req)
            .storage_class(class)
            .send()
            .await
            .map_err(|e| sdk("failed to set tier", path.as_str(), e))?;
        Ok(())
    }

    fn commands(&self) -> &'static [ferry_core::command::CommandHelp] {
        &crate::command::COMMANDS
    }

    async fn command(
        &self,
        scope: &ferry_objstore::store::Scope,
        call: &ferry_core::command::CommandCall,
    ) -> Result<ferry_core::command::CommandOutput> {
        crate::command::run(self, scope, call).await
    }

    async fn clean_up(&self, bucket: &str, prefix: &str) -> Result<()> {
        crate::cleanup::clean_up(self, bucket, prefix, crate::cleanup::MAX_AGE, false).await
    }
}

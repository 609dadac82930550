//! Google Cloud Storage as an [`ObjectStore`]: the JSON API's requests for objects,
//! listings and buckets, and its answers in ferry's terms. Paths, listings, directories
//! and the [`Backend`](ferry_core::Backend) itself are [`ferry_objstore::ObjectBackend`]'s.

use std::sync::atomic::Ordering;
use std::time::SystemTime;

use async_trait::async_trait;
use ferry_core::encoding::Encoding;
use ferry_core::{
    ByteStream, Entry, Error, ErrorKind, Features, HashKind, Metadata, PutOptions, RelPath, Result,
};
use ferry_objstore::{ObjectStore, Page, Target, UserMeta};
use futures::TryStreamExt;
use http::Method;

use crate::checksum::GoogHash;
use crate::client::{enc, json, object_path, Client, Failure, Req};
use crate::object::{mtime_metadata, resource_for_put, BucketList, Object, ObjectList, Rewrite};
use crate::{upload, Gcs, GcsOptions};

/// Objects asked for in each listing request (the JSON API's maximum).
const LIST_CHUNK: u32 = 1000;

impl Gcs {
    pub(crate) async fn send(&self, req: &Req, op: &str, path: &str) -> Result<reqwest::Response> {
        self.client
            .send(req)
            .await
            .map_err(|f| f.into_error(op, path))
    }

    pub(crate) async fn try_send(
        &self,
        req: &Req,
    ) -> std::result::Result<reqwest::Response, Failure> {
        self.client.send(req).await
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// The object's resource; `Ok(None)` if there is no such object.
    async fn get_object(&self, t: &Target, path: &str) -> Result<Option<Object>> {
        if t.key.is_empty() {
            return Ok(None);
        }
        let req = Req::new(
            Method::GET,
            self.client.api(&object_path(&t.bucket, &t.key)),
        );
        match self.try_send(&req).await {
            Ok(r) => {
                let mut o: Object = json(r, "object", path).await?;
                self.mark_decompressed(&mut o);
                Ok(Some(o))
            }
            Err(f) if f.is_not_found() => Ok(None),
            Err(f) => Err(f.into_error("failed to read object", path)),
        }
    }

    /// One page of objects under `prefix` (with `/` as delimiter or not).
    async fn list_page(
        &self,
        bucket: &str,
        prefix: &str,
        delimited: bool,
        max: u32,
        token: Option<String>,
        path: &str,
    ) -> Result<ObjectList> {
        let url = self.client.api(&format!("/b/{}/o", enc(bucket)));
        let mut req = Req::new(Method::GET, url).query("maxResults", max.to_string());
        if !prefix.is_empty() {
            req = req.query("prefix", prefix);
        }
        if delimited {
            req = req.query("delimiter", "/");
        }
        if let Some(t) = token {
            req = req.query("pageToken", t);
        }
        match self.try_send(&req).await {
            Ok(r) => json(r, "listing", path).await,
            Err(f) if f.is_not_found() => Err(Error::new(
                ErrorKind::DirNotFound,
                format!("directory not found: bucket {bucket:?} does not exist"),
            )
            .with_path(path.to_owned())),
            Err(f) => Err(f.into_error("failed to list", path)),
        }
    }

    async fn create_bucket(&self, bucket: &str) -> Result<()> {
        let Some(project) = &self.opts.project_number else {
            return Err(Error::new(
                ErrorKind::Config,
                format!("gcs: bucket {bucket:?} does not exist, and making one needs project_number: set it, or create the bucket first"),
            ));
        };
        let mut body = serde_json::json!({ "name": bucket });
        if let Some(l) = &self.opts.location {
            body["location"] = l.clone().into();
        }
        if let Some(c) = &self.opts.storage_class {
            body["storageClass"] = c.clone().into();
        }
        if self.opts.bucket_policy_only {
            body["iamConfiguration"] =
                serde_json::json!({ "bucketPolicyOnly": { "enabled": true } });
        }
        let req = Req::new(Method::POST, self.client.api("/b"))
            .query("project", project.clone())
            .query_opt("predefinedAcl", self.opts.bucket_acl.as_ref())
            .json(&body);
        match self.try_send(&req).await {
            Ok(_) => {
                tracing::info!("{bucket}: Bucket created");
                Ok(())
            }
            // Made meanwhile (by another transfer, or another tool).
            Err(f) if f.status == Some(409) => Ok(()),
            Err(f) => Err(f.into_error("failed to create bucket", bucket)),
        }
    }

    /// `rewriteTo`, followed until done: the source's metadata with the new mtime (or,
    /// with `--metadata`, the metadata given), `storage_class` and `object_acl` applied.
    async fn server_copy(
        &self,
        s: &Target,
        d: &Target,
        src_path: &RelPath,
        dst_path: &RelPath,
        opts: &PutOptions,
    ) -> Result<Option<Entry>> {
        let Some(src) = self.get_object(s, src_path.as_str()).await? else {
            return Err(Error::not_found(src_path.to_string()));
        };
        let resource = match &opts.metadata {
            Some(_) => resource_for_put(dst_path, opts, self.opts.storage_class.as_ref()).0,
            None => {
                let mut res = serde_json::Map::new();
                let mut meta: serde_json::Map<String, serde_json::Value> = src
                    .metadata
                    .iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.clone().into()))
                    .collect();
                for (k, v) in mtime_metadata(opts.mtime) {
                    meta.insert(k.to_owned(), v.into());
                }
                res.insert("metadata".into(), meta.into());
                let fields = [
                    ("contentType", &src.content_type),
                    ("contentEncoding", &src.content_encoding),
                    ("cacheControl", &src.cache_control),
                    ("contentDisposition", &src.content_disposition),
                    ("contentLanguage", &src.content_language),
                ];
                for (k, v) in fields {
                    if let Some(v) = v {
                        res.insert(k.into(), v.clone().into());
                    }
                }
                if let Some(c) = &self.opts.storage_class {
                    res.insert("storageClass".into(), c.clone().into());
                }
                res
            }
        };
        let url = self.client.api(&format!(
            "{}/rewriteTo/b/{}/o/{}",
            object_path(&s.bucket, &s.key),
            enc(&d.bucket),
            enc(&d.key)
        ));
        let mut token: Option<String> = None;
        let done = loop {
            let mut req = Req::new(Method::POST, url.clone())
                .query_opt("destinationPredefinedAcl", self.opts.object_acl.as_ref())
                .json(&serde_json::Value::Object(resource.clone()));
            if let Some(t) = token.take() {
                req = req.query("rewriteToken", t);
            }
            let r = self
                .send(&req, "failed to copy on the server", dst_path.as_str())
                .await?;
            let step: Rewrite = json(r, "rewrite answer", dst_path.as_str()).await?;
            if step.done {
                break step;
            }
            match step.rewrite_token {
                Some(t) if !t.is_empty() => {
                    tracing::debug!("{dst_path}: continuing the server-side copy");
                    token = Some(t);
                }
                _ => return Err(Error::new(
                    ErrorKind::Io,
                    "server-side copy: the server stopped without finishing or a token to continue",
                )
                .with_path(dst_path.to_string())
                .temporary(true)),
            }
        };
        let mut e = match done.resource {
            Some(o) => o.entry(dst_path.clone()),
            None => src.entry(dst_path.clone()),
        };
        // The emulator may not apply the resource: the time asked for is the one kept on GCS.
        e.mtime = resource
            .get("metadata")
            .and_then(|m| m.get(crate::object::META_MTIME))
            .and_then(|v| v.as_str())
            .and_then(crate::object::parse_time)
            .unwrap_or(opts.mtime);
        Ok(Some(e))
    }

    /// With `decompress`, a gzip-encoded object is read decompressed (see [`Object`]).
    fn mark_decompressed(&self, o: &mut Object) {
        o.decompressed = self.opts.decompress && o.is_gzipped();
    }

    fn note_gzip(&self, path: &RelPath) {
        if !self.gzip_noticed.swap(true, Ordering::Relaxed) {
            // rclone's words and level (NOTICE); ferry takes the flag it names too.
            tracing::warn!("{path}: Not decompressing 'Content-Encoding: gzip' compressed file. Use --gcs-decompress to override");
        }
    }

    /// GET of the object's bytes as stored (`Accept-Encoding: gzip`: GCS would otherwise
    /// decompress a gzip-encoded object, and its size and MD5 would not match), from
    /// `offset`, at most `len`; `None`: nothing there (a range past the end).
    async fn get_media(
        &self,
        t: &Target,
        offset: u64,
        len: Option<u64>,
        path: &RelPath,
    ) -> Result<Option<reqwest::Response>> {
        let mut req = Req::new(
            Method::GET,
            self.client.api(&object_path(&t.bucket, &t.key)),
        )
        .query("alt", "media")
        .header("accept-encoding", "gzip");
        if let Some(range) = ferry_objstore::bucket::byte_range(offset, len) {
            req = req.header("range", range);
        }
        for (name, value) in &self.opts.http.download_headers {
            req = req.header(name, value);
        }
        match self.try_send(&req).await {
            Ok(r) => Ok(Some(r)),
            Err(f) if f.status == Some(416) => Ok(None),
            Err(f) => Err(f.into_error("failed to open for reading", path.as_str())),
        }
    }
}

#[async_trait]
impl ObjectStore for Gcs {
    type Options = GcsOptions;
    type Object = Object;

    const ROOT_NAME: &'static str = "a GCS project";
    const OBJECT_NAME: &'static str = "an object";
    const TYPE_NAME: &'static str = "gcs";
    const BUCKET_NAME: &'static str = "bucket";
    /// rclone's GCS lists a prefix and a `dir/` marker as 0 bytes (the marker's size).
    const LISTED_DIR_SIZE: Option<u64> = Some(0);

    fn connect(opts: GcsOptions) -> Result<Self> {
        Ok(Gcs {
            client: Client::new(&opts)?,
            opts,
            gzip_noticed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn options_from(
        options: &ferry_core::kind::Options,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<GcsOptions> {
        GcsOptions::from_options(options, env)
    }

    fn options(&self) -> &GcsOptions {
        &self.opts
    }

    fn upload_metadata(&self) -> Option<&ferry_core::Metadata> {
        self.opts.upload_meta.as_ref()
    }

    fn encoding(&self) -> Encoding {
        self.opts.encoding
    }

    fn features(&self) -> Features {
        crate::gcs_features(&self.opts)
    }

    fn check_bucket_name(name: &str) -> Result<()> {
        crate::check_bucket_name(name)
    }

    fn namespace(&self) -> String {
        format!("gcs:{}", self.client.endpoint())
    }

    fn describe(&self, bucket: Option<&str>, prefix: &str) -> String {
        // rclone's words.
        match (bucket, prefix.is_empty()) {
            (None, _) => "GCS root".to_owned(),
            (Some(b), true) => format!("GCS bucket {b}"),
            (Some(b), false) => format!("GCS bucket {b} path {prefix}"),
        }
    }

    /// The same endpoint with the same credentials (so a rewrite can read its objects).
    fn same_service(&self, other: &Gcs) -> bool {
        self.client.endpoint() == other.client.endpoint()
            && format!("{:?}", self.opts.credentials) == format!("{:?}", other.opts.credentials)
            && self.opts.user_project == other.opts.user_project
    }

    fn list_chunk(&self) -> u32 {
        LIST_CHUNK
    }

    fn directory_markers(&self) -> bool {
        self.opts.directory_markers
    }

    fn key(o: &Object) -> &str {
        &o.name
    }

    fn entry(o: &Object, path: RelPath) -> Entry {
        o.entry(path)
    }

    fn hash(o: &Object, kind: HashKind) -> Option<String> {
        (kind == HashKind::Md5).then(|| o.md5_hex()).flatten()
    }

    fn metadata(o: &Object) -> Metadata {
        o.metadata()
    }

    fn user_metadata(o: &Object) -> UserMeta {
        o.metadata.clone().unwrap_or_default()
    }

    fn mtime_metadata(mtime: SystemTime) -> Vec<(String, String)> {
        mtime_metadata(mtime)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
    }

    async fn head(&self, t: &Target, path: &str) -> Result<Option<Object>> {
        self.get_object(t, path).await
    }

    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        delimited: bool,
        max: u32,
        token: Option<String>,
        path: &str,
    ) -> Result<Page<Object>> {
        let mut page = self
            .list_page(bucket, prefix, delimited, max, token, path)
            .await?;
        page.items
            .iter_mut()
            .for_each(|o| self.mark_decompressed(o));
        Ok(Page {
            objects: page.items,
            prefixes: page.prefixes,
            skipped: Vec::new(),
            next: page.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    async fn list_buckets(
        &self,
        token: Option<String>,
    ) -> Result<Page<(String, Option<SystemTime>)>> {
        let Some(project) = &self.opts.project_number else {
            return Err(Error::new(
                ErrorKind::Config,
                "gcs: can't list buckets without project_number: set it, or name a bucket (remote:bucket)",
            ));
        };
        let mut req = Req::new(Method::GET, self.client.api("/b"))
            .query("project", project.clone())
            .query("maxResults", LIST_CHUNK.to_string());
        if let Some(t) = token {
            req = req.query("pageToken", t);
        }
        let r = self.send(&req, "failed to list buckets", "").await?;
        let page: BucketList = json(r, "bucket listing", "").await?;
        Ok(Page {
            objects: page.items.into_iter().map(|b| (b.name, None)).collect(),
            prefixes: Vec::new(),
            skipped: Vec::new(),
            next: page.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    async fn bucket_exists(&self, bucket: &str) -> Result<bool> {
        let req = Req::new(Method::GET, self.client.api(&format!("/b/{}", enc(bucket))));
        match self.try_send(&req).await {
            Ok(_) => Ok(true),
            Err(f) if f.is_not_found() => Ok(false),
            // Object access without bucket metadata access (a narrow IAM role): the
            // objects listing tells.
            Err(f) if f.status == Some(403) => {
                match self.list_page(bucket, "", false, 1, None, bucket).await {
                    Ok(_) => Ok(true),
                    Err(e) if e.kind() == ErrorKind::DirNotFound => Ok(false),
                    Err(e) => Err(e),
                }
            }
            Err(f) => Err(f.into_error("failed to check bucket", bucket)),
        }
    }

    /// Creates the bucket if needed (with `location`, `storage_class`, `bucket_acl` or
    /// uniform access), as rclone does before a write; nothing with `no_check_bucket`.
    async fn ready_bucket(&self, bucket: &str) -> Result<()> {
        if self.opts.no_check_bucket {
            return Ok(());
        }
        // rclone checks with an objects listing (allowed to more roles than a bucket GET).
        match self.list_page(bucket, "", false, 1, None, bucket).await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::DirNotFound => self.create_bucket(bucket).await,
            Err(e) => Err(e),
        }
    }

    async fn delete_bucket(&self, bucket: &str) -> Result<()> {
        let req = Req::new(
            Method::DELETE,
            self.client.api(&format!("/b/{}", enc(bucket))),
        );
        self.send(&req, "failed to remove bucket", bucket)
            .await
            .map(|_| ())
    }

    async fn read(
        &self,
        t: &Target,
        offset: u64,
        len: Option<u64>,
        path: &RelPath,
    ) -> Result<ByteStream> {
        let Some(mut r) = self.get_media(t, offset, len, path).await? else {
            return Ok(Box::pin(tokio::io::empty()));
        };
        let gzipped = r
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok())
            == Some("gzip");
        let ranged = offset > 0 || len.is_some();
        if gzipped && self.opts.decompress && ranged {
            // The range was of the compressed bytes: a range of the decompressed ones is
            // read from the start.
            r = match self.get_media(t, 0, None, path).await? {
                Some(r) => r,
                None => return Ok(Box::pin(tokio::io::empty())),
            };
        }
        if gzipped && !self.opts.decompress {
            self.note_gzip(path);
        }
        // A whole object without an MD5 (composite): ferry has nothing to check the bytes
        // against but the CRC32C the server sends with them.
        let goog = GoogHash::from_headers(r.headers());
        let whole = !ranged || (gzipped && self.opts.decompress);
        let check = match (goog.crc32c, &goog.md5) {
            (Some(crc), None) if whole => Some(crc),
            _ => None,
        };
        let expected = r.content_length();
        let stream = r
            .bytes_stream()
            .map_err(|e| std::io::Error::other(ferry_core::body::innermost(&e.without_url())));
        let reader: ByteStream = match check {
            Some(crc) => Box::pin(tokio_util::io::StreamReader::new(
                crate::checksum::verified(stream, crc),
            )),
            None => Box::pin(tokio_util::io::StreamReader::new(stream)),
        };
        let stored = ferry_core::body::counted(reader, "the download", expected);
        Ok(match gzipped && self.opts.decompress {
            true => crate::gunzip::gunzip(stored, offset, len),
            false => stored,
        })
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

    async fn copy(
        &self,
        _src: &Gcs,
        s: &Target,
        d: &Target,
        src_path: &RelPath,
        dst_path: &RelPath,
        opts: &PutOptions,
    ) -> Result<Option<Entry>> {
        self.server_copy(s, d, src_path, dst_path, opts).await
    }

    /// Patches the object's metadata: the whole map is sent (a patch replaces the keys
    /// it names on GCS, the whole map on the emulator; both keep the others this way).
    async fn replace_metadata(
        &self,
        t: &Target,
        _o: &Object,
        meta: UserMeta,
        path: &str,
    ) -> Result<()> {
        let req = Req::new(
            Method::PATCH,
            self.client.api(&object_path(&t.bucket, &t.key)),
        )
        .json(&serde_json::json!({ "metadata": meta }));
        self.send(&req, "failed to set modification time", path)
            .await
            .map(|_| ())
    }

    async fn delete(&self, t: &Target, path: &str) -> Result<()> {
        let req = Req::new(
            Method::DELETE,
            self.client.api(&object_path(&t.bucket, &t.key)),
        );
        self.send(&req, "failed to delete", path).await.map(|_| ())
    }
}

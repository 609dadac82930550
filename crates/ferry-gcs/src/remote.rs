//! The [`Backend`] implementation: listing, reading, writing and server-side copies.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use async_trait::async_trait;
use ferry_core::{
    Backend, ByteStream, Entry, Error, ErrorKind, Features, HashKind, ListPages, Listing, Location,
    Metadata, PutOptions, RelPath, Result,
};
use futures::TryStreamExt;
use http::Method;

use crate::client::{enc, json, object_path, Failure, Req};
use crate::object::{mtime_metadata, resource_for_put, BucketList, Object, ObjectList, Rewrite};
use crate::{upload, GcsBackend, Target};

/// Objects asked for in each listing request (the JSON API's maximum).
const LIST_CHUNK: &str = "1000";

/// Where a paged, delimited listing stands: the next page's token, and the directories
/// already listed (one can come as a prefix and as a `dir/` marker, on different pages).
#[derive(Default)]
struct Cursor {
    token: Option<String>,
    dirs: BTreeSet<RelPath>,
}

impl GcsBackend {
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

    pub(crate) fn client(&self) -> &crate::client::Client {
        &self.client
    }

    /// The object's resource; `Ok(None)` if there is no such object.
    pub(crate) async fn get_object(&self, t: &Target, path: &str) -> Result<Option<Object>> {
        if t.name.is_empty() {
            return Ok(None);
        }
        let req = Req::new(
            Method::GET,
            self.client.api(&object_path(&t.bucket, &t.name)),
        );
        match self.try_send(&req).await {
            Ok(r) => json(r, "object", path).await.map(Some),
            Err(f) if f.is_not_found() => Ok(None),
            Err(f) => Err(f.into_error("failed to read object", path)),
        }
    }

    /// One page of objects under `prefix` (with `/` as delimiter or not).
    pub(crate) async fn list_page(
        &self,
        bucket: &str,
        prefix: &str,
        delimited: bool,
        max: &str,
        token: Option<String>,
        path: &str,
    ) -> Result<ObjectList> {
        let url = self.client.api(&format!("/b/{}/o", enc(bucket)));
        let mut req = Req::new(Method::GET, url).query("maxResults", max);
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

    /// The project's buckets, as directories, a page at a time.
    fn list_buckets(&self) -> ListPages<'_> {
        ferry_core::listing::by_token(move |token| self.list_buckets_page(token))
    }

    async fn list_buckets_page(&self, token: Option<String>) -> Result<(Listing, Option<String>)> {
        let Some(project) = &self.opts.project_number else {
            return Err(Error::new(
                ErrorKind::Config,
                "gcs: can't list buckets without project_number: set it, or name a bucket (remote:bucket)",
            ));
        };
        let mut req = Req::new(Method::GET, self.client.api("/b"))
            .query("project", project.clone())
            .query("maxResults", LIST_CHUNK);
        if let Some(t) = token {
            req = req.query("pageToken", t);
        }
        let r = self.send(&req, "failed to list buckets", "").await?;
        let page: BucketList = json(r, "bucket listing", "").await?;
        let mut listing = Listing::new();
        for b in page.items {
            match self.names.child(&RelPath::root(), &b.name) {
                Ok(p) => listing
                    .entries
                    .push(Entry::dir(p, ferry_core::no_dir_time())),
                Err(e) => listing.skip(e),
            }
        }
        Ok((listing, page.next_page_token.filter(|t| !t.is_empty())))
    }

    /// Lists `dir` page by page; metadata (and so each object's mtime) comes with it.
    fn list_objects(&self, dir: RelPath) -> ListPages<'_> {
        ferry_core::listing::by_token(move |cursor: Option<Cursor>| {
            let dir = dir.clone();
            async move {
                self.list_objects_page(&dir, cursor.unwrap_or_default())
                    .await
            }
        })
    }

    async fn list_objects_page(
        &self,
        dir: &RelPath,
        mut cursor: Cursor,
    ) -> Result<(Listing, Option<Cursor>)> {
        let t = self.target(dir)?;
        let prefix = ferry_objstore::flat::dir_prefix(&t.name);
        let page = self
            .list_page(
                &t.bucket,
                &prefix,
                true,
                LIST_CHUNK,
                cursor.token.take(),
                dir.as_str(),
            )
            .await?;
        let mut listing = Listing::new();
        let mut dir_entry = |p: RelPath, listing: &mut Listing| {
            if cursor.dirs.insert(p.clone()) {
                listing
                    .entries
                    .push(Entry::dir(p, ferry_core::no_dir_time()));
            }
        };
        for full in &page.prefixes {
            let name = full.strip_prefix(&prefix).and_then(|n| n.strip_suffix('/'));
            match name.map(|n| self.names.child(dir, n)) {
                Some(Ok(p)) => dir_entry(p, &mut listing),
                _ => listing.skip(ferry_objstore::bucket::unsafe_key(&self.names, full)),
            }
        }
        for item in &page.items {
            let Some(name) = item.name.strip_prefix(&prefix) else {
                continue;
            };
            if name.is_empty() {
                continue; // the directory's own marker
            }
            // A `name/` marker is a directory, as rclone lists it.
            let (name, marker) = match name.strip_suffix('/') {
                Some(n) => (n, true),
                None => (name, false),
            };
            match self.names.child(dir, name) {
                Ok(p) if marker => dir_entry(p, &mut listing),
                Ok(p) => listing.entries.push(item.entry(p)),
                Err(_) => listing.skip(ferry_objstore::bucket::unsafe_key(&self.names, &item.name)),
            }
        }
        cursor.token = page.next_page_token.filter(|t| !t.is_empty());
        let more = cursor.token.is_some();
        Ok((listing, more.then_some(cursor)))
    }

    /// Whether any object's name starts with `prefix`.
    async fn any_object(&self, bucket: &str, prefix: &str, path: &str) -> Result<bool> {
        match self.list_page(bucket, prefix, false, "1", None, path).await {
            Ok(page) => Ok(!page.items.is_empty()),
            Err(e) if e.kind() == ErrorKind::DirNotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn bucket_exists(&self, bucket: &str) -> Result<bool> {
        let req = Req::new(Method::GET, self.client.api(&format!("/b/{}", enc(bucket))));
        match self.try_send(&req).await {
            Ok(_) => Ok(true),
            Err(f) if f.is_not_found() => Ok(false),
            // Object access without bucket metadata access (a narrow IAM role): the
            // objects listing tells.
            Err(f) if f.status == Some(403) => {
                match self.list_page(bucket, "", false, "1", None, bucket).await {
                    Ok(_) => Ok(true),
                    Err(e) if e.kind() == ErrorKind::DirNotFound => Ok(false),
                    Err(e) => Err(e),
                }
            }
            Err(f) => Err(f.into_error("failed to check bucket", bucket)),
        }
    }

    /// Makes sure the bucket exists, creating it (with `location`, `storage_class`,
    /// `bucket_acl` or uniform access) if needed, as rclone does before a write.
    pub(crate) async fn ensure_bucket(&self, bucket: &str) -> Result<()> {
        if self.opts.no_check_bucket || self.buckets_ok.lock().expect("lock").contains(bucket) {
            return Ok(());
        }
        // rclone checks with an objects listing (allowed to more roles than a bucket GET).
        match self.list_page(bucket, "", false, "1", None, bucket).await {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::DirNotFound => self.create_bucket(bucket).await?,
            Err(e) => return Err(e),
        }
        self.buckets_ok
            .lock()
            .expect("lock")
            .insert(bucket.to_owned());
        Ok(())
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

    /// Whether `other` is the same endpoint with the same credentials (so a rewrite can
    /// read its objects).
    fn same_service(&self, other: &GcsBackend) -> bool {
        self.client.endpoint() == other.client.endpoint()
            && format!("{:?}", self.opts.credentials) == format!("{:?}", other.opts.credentials)
            && self.opts.user_project == other.opts.user_project
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
            object_path(&s.bucket, &s.name),
            enc(&d.bucket),
            enc(&d.name)
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

    fn note_gzip(&self, path: &RelPath) {
        if !self.gzip_noticed.swap(true, Ordering::Relaxed) {
            tracing::info!("{path}: Not decompressing 'Content-Encoding: gzip' compressed file (ferry reads such objects as stored)");
        }
    }
}

#[async_trait]
impl Backend for GcsBackend {
    fn features(&self) -> &Features {
        &self.features
    }

    fn location(&self) -> Location {
        let mut path = String::new();
        if let Some(b) = &self.bucket {
            path = format!("/{b}");
            if !self.prefix.is_empty() {
                path.push('/');
                path.push_str(&self.prefix);
            }
        }
        Location {
            namespace: format!("gcs:{}", self.client.endpoint()),
            path,
        }
    }

    fn describe(&self) -> String {
        // rclone's words.
        match (&self.bucket, self.prefix.is_empty()) {
            (None, _) => "GCS root".to_owned(),
            (Some(b), true) => format!("GCS bucket {b}"),
            (Some(b), false) => format!("GCS bucket {b} path {}", self.prefix),
        }
    }

    async fn stat(&self, path: &RelPath) -> Result<Option<Entry>> {
        if self.bucket.is_none() && path.is_root() {
            return Ok(Some(Entry::dir(RelPath::root(), ferry_core::no_dir_time())));
        }
        let t = self.target(path)?;
        if t.name.is_empty() {
            return Ok(self
                .bucket_exists(&t.bucket)
                .await?
                .then(|| Entry::dir(path.clone(), ferry_core::no_dir_time())));
        }
        if !path.is_root() {
            if let Some(o) = self.get_object(&t, path.as_str()).await? {
                return Ok(Some(o.entry(path.clone())));
            }
        }
        Ok(self
            .any_object(&t.bucket, &format!("{}/", t.name), path.as_str())
            .await?
            .then(|| Entry::dir(path.clone(), ferry_core::no_dir_time())))
    }

    fn list_pages(&self, dir: RelPath) -> ListPages<'_> {
        if self.bucket.is_none() && dir.is_root() {
            return self.list_buckets();
        }
        self.list_objects(dir)
    }

    async fn open(&self, path: &RelPath, offset: u64, len: Option<u64>) -> Result<ByteStream> {
        if len == Some(0) {
            return Ok(Box::pin(tokio::io::empty()));
        }
        let t = self.target(path)?;
        // Accept-Encoding: gzip, so an object stored gzip-compressed arrives as stored
        // (GCS would otherwise decompress it, and its size and MD5 would not match).
        let mut req = Req::new(
            Method::GET,
            self.client.api(&object_path(&t.bucket, &t.name)),
        )
        .query("alt", "media")
        .header("accept-encoding", "gzip");
        if let Some(range) = ferry_objstore::bucket::byte_range(offset, len) {
            req = req.header("range", range);
        }
        let r = match self.try_send(&req).await {
            Ok(r) => r,
            Err(f) if f.status == Some(416) => return Ok(Box::pin(tokio::io::empty())),
            Err(f) => return Err(f.into_error("failed to open for reading", path.as_str())),
        };
        if r.headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok())
            == Some("gzip")
        {
            self.note_gzip(path);
        }
        let stream = r
            .bytes_stream()
            .map_err(|e| std::io::Error::other(e.without_url().to_string()));
        Ok(Box::pin(tokio_util::io::StreamReader::new(stream)))
    }

    async fn put(&self, path: &RelPath, data: ByteStream, opts: &PutOptions) -> Result<Entry> {
        let t = self.target(path)?;
        if t.name.is_empty() {
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
        let Some(other) = src.as_any().downcast_ref::<GcsBackend>() else {
            return Ok(None);
        };
        if !self.same_service(other) {
            return Ok(None);
        }
        let (s, d) = (other.target(src_path)?, self.target(dst_path)?);
        self.ensure_bucket(&d.bucket).await?;
        self.server_copy(&s, &d, src_path, dst_path, opts).await
    }

    async fn metadata(&self, path: &RelPath) -> Result<Option<Metadata>> {
        let t = self.target(path)?;
        match self.get_object(&t, path.as_str()).await? {
            Some(o) => Ok(Some(o.metadata())),
            None => Err(Error::not_found(path.to_string())),
        }
    }

    async fn hash(&self, path: &RelPath, kind: HashKind) -> Result<Option<String>> {
        if kind != HashKind::Md5 {
            return Ok(None);
        }
        let t = self.target(path)?;
        match self.get_object(&t, path.as_str()).await? {
            Some(o) => Ok(o.md5_hex()),
            None => Err(Error::not_found(path.to_string())),
        }
    }

    /// Patches the object's metadata: the whole map is sent (a patch replaces the keys
    /// it names on GCS, the whole map on the emulator; both keep the others this way).
    async fn set_modtime(&self, path: &RelPath, mtime: SystemTime) -> Result<()> {
        let t = self.target(path)?;
        let Some(o) = self.get_object(&t, path.as_str()).await? else {
            return Err(Error::not_found(path.to_string()));
        };
        let mut meta: serde_json::Map<String, serde_json::Value> = o
            .metadata
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect();
        for (k, v) in mtime_metadata(mtime) {
            meta.insert(k.to_owned(), v.into());
        }
        let req = Req::new(
            Method::PATCH,
            self.client.api(&object_path(&t.bucket, &t.name)),
        )
        .json(&serde_json::json!({ "metadata": meta }));
        self.send(&req, "failed to set modification time", path.as_str())
            .await
            .map(|_| ())
    }

    async fn delete_file(&self, path: &RelPath) -> Result<()> {
        let t = self.target(path)?;
        let req = Req::new(
            Method::DELETE,
            self.client.api(&object_path(&t.bucket, &t.name)),
        );
        self.send(&req, "failed to delete", path.as_str())
            .await
            .map(|_| ())
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
            return Err(Error::unsupported("can't remove the root of a GCS project"));
        }
        let t = self.target(dir)?;
        if !t.name.is_empty() {
            // Directories are prefixes: they vanish with their last object.
            return Ok(());
        }
        // The bucket itself, as rclone does: only when it is empty.
        if self.any_object(&t.bucket, "", dir.as_str()).await? {
            return Err(Error::new(ErrorKind::Io, "directory not empty").with_path(dir.to_string()));
        }
        let req = Req::new(
            Method::DELETE,
            self.client.api(&format!("/b/{}", enc(&t.bucket))),
        );
        self.send(&req, "failed to remove bucket", &t.bucket)
            .await?;
        self.buckets_ok.lock().expect("lock").remove(&t.bucket);
        Ok(())
    }

    fn list_recursive(
        self: std::sync::Arc<Self>,
        dir: &RelPath,
    ) -> Option<ferry_core::EntryStream> {
        if self.bucket.is_none() && dir.is_root() {
            return None;
        }
        Some(match crate::flat::list(self, dir) {
            Ok(s) => s,
            Err(e) => Box::pin(futures::stream::once(async move { Err(e) })),
        })
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

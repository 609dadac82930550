//! The [`Backend`] implementation: listing, reading, writing and server-side copies.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use ferry_core::{
    Backend, ByteStream, Entry, Error, ErrorKind, Features, HashKind, ListPages, Listing, Location,
    Metadata, PutOptions, RelPath, Result,
};
use futures::TryStreamExt;
use http::{HeaderMap, Method};

use crate::client::Req;
use crate::listing::{parse_page, BlobItem, Page};
use crate::meta::{self, format_mtime, md5_b64, md5_hex, META_FOLDER, META_MTIME};
use crate::props::{self, BlobProps};
use crate::{upload, AzBackend, Target};

/// Where a paged listing of blobs stands: the next page's marker, and the directories
/// already listed.
#[derive(Default)]
struct BlobCursor {
    marker: Option<String>,
    dirs: BTreeSet<RelPath>,
}

/// How long a server-side copy may stay pending before it is reported as failed.
const COPY_WAIT: Duration = Duration::from_secs(600);

pub(crate) fn entry_of(path: RelPath, item: &BlobItem) -> Entry {
    let mut e = Entry::file(
        path,
        item.size,
        meta::mtime_of(&item.metadata, item.last_modified),
    );
    if let Some(m) = item.content_md5.as_deref().and_then(md5_hex) {
        e.hashes.set(HashKind::Md5, m);
    }
    e.tier = item.access_tier.clone();
    e
}

/// Whether a copy's content properties already are the ones `p` asks for.
fn same_content(p: &BlobProps, item: &BlobItem) -> bool {
    let have = props::read(item);
    p.content
        .iter()
        .all(|(k, v)| have.get(k) == Some(v.as_str()))
        && [
            "cache-control",
            "content-disposition",
            "content-encoding",
            "content-language",
        ]
        .iter()
        .all(|k| p.content.contains_key(k) || have.get(k).is_none())
}

pub(crate) fn is_folder_marker(item: &BlobItem) -> bool {
    item.metadata
        .get(META_FOLDER)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .filter(|v| !v.is_empty())
}

/// What Get Blob Properties says, in a listing's terms.
fn item_from_headers(name: &str, h: &HeaderMap) -> BlobItem {
    let metadata = h
        .iter()
        .filter_map(|(k, v)| {
            let key = k.as_str().strip_prefix("x-ms-meta-")?;
            Some((key.to_owned(), v.to_str().ok()?.to_owned()))
        })
        .collect();
    BlobItem {
        name: name.to_owned(),
        size: header(h, "content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        last_modified: header(h, "last-modified").and_then(|v| meta::parse_http_date(&v)),
        content_md5: header(h, "content-md5"),
        content_type: header(h, "content-type"),
        cache_control: header(h, "cache-control"),
        content_disposition: header(h, "content-disposition"),
        content_encoding: header(h, "content-encoding"),
        content_language: header(h, "content-language"),
        access_tier: header(h, "x-ms-access-tier"),
        tier_inferred: header(h, "x-ms-access-tier-inferred").as_deref() == Some("true"),
        metadata,
    }
}

impl AzBackend {
    /// Get Blob Properties; `Ok(None)` if there is no such blob.
    pub(crate) async fn head(&self, t: &Target, path: &str) -> Result<Option<BlobItem>> {
        if t.blob.is_empty() {
            return Ok(None);
        }
        match self.try_send(&Req::new(Method::HEAD, t.rest_path())).await {
            Ok(r) => Ok(Some(item_from_headers(&t.blob, r.headers()))),
            Err(f) if f.is_not_found() => Ok(None),
            Err(f) => Err(self.fail(f, "failed to read blob properties", path)),
        }
    }

    /// One page of List Blobs under `prefix`.
    pub(crate) async fn list_page(
        &self,
        container: &str,
        prefix: &str,
        delimiter: bool,
        max: u32,
        marker: Option<String>,
        path: &str,
    ) -> Result<Page> {
        let mut req = Req::new(Method::GET, format!("/{container}"))
            .query("restype", "container")
            .query("comp", "list")
            .query("include", "metadata")
            .query("maxresults", max.to_string());
        if !prefix.is_empty() {
            req = req.query("prefix", prefix);
        }
        if delimiter {
            req = req.query("delimiter", "/");
        }
        if let Some(m) = marker {
            req = req.query("marker", m);
        }
        let body = match self.try_send(&req).await {
            Ok(r) => r.text().await.map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("failed to read listing: {}", e.without_url()),
                )
                .with_path(path.to_owned())
                .temporary(true)
            })?,
            Err(f) if f.is_code("ContainerNotFound") => {
                return Err(Error::new(
                    ErrorKind::DirNotFound,
                    format!("directory not found: container {container:?} does not exist"),
                )
                .with_path(path.to_owned()));
            }
            Err(f) => return Err(self.fail(f, "failed to list", path)),
        };
        parse_page(&body).map_err(|e| Error::new(ErrorKind::Io, e).with_path(path.to_owned()))
    }

    /// The account's containers, as directories, a page at a time.
    fn list_containers(&self) -> ListPages<'_> {
        ferry_core::listing::by_token(move |marker| self.list_containers_page(marker))
    }

    async fn list_containers_page(
        &self,
        marker: Option<String>,
    ) -> Result<(Listing, Option<String>)> {
        let mut req = Req::new(Method::GET, "/").query("comp", "list");
        if let Some(m) = marker {
            req = req.query("marker", m);
        }
        let r = self.send(&req, "failed to list containers", "").await?;
        let body = r.text().await.map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("failed to read listing: {}", e.without_url()),
            )
        })?;
        let page = parse_page(&body).map_err(|e| Error::new(ErrorKind::Io, e))?;
        let mut listing = Listing::new();
        for (name, modified) in page.containers {
            match self.names.child(&RelPath::root(), &name) {
                Ok(p) => listing.entries.push(Entry::dir(
                    p,
                    modified.unwrap_or_else(ferry_core::no_dir_time),
                )),
                Err(e) => listing.skip(e),
            }
        }
        Ok((listing, page.next_marker))
    }

    /// Lists `dir` page by page; metadata (and so each blob's mtime) comes with it.
    fn list_blobs(&self, dir: RelPath) -> ListPages<'_> {
        ferry_core::listing::by_token(move |cursor: Option<BlobCursor>| {
            let dir = dir.clone();
            async move { self.list_blobs_page(&dir, cursor.unwrap_or_default()).await }
        })
    }

    /// One page of `dir`'s blobs and prefixes. A directory can show up twice (as a
    /// prefix and as a folder-marker blob, maybe on different pages): the cursor keeps
    /// the directories seen so each is listed once. It holds directories, never files.
    async fn list_blobs_page(
        &self,
        dir: &RelPath,
        mut cursor: BlobCursor,
    ) -> Result<(Listing, Option<BlobCursor>)> {
        let t = self.target(dir)?;
        let prefix = ferry_objstore::flat::dir_prefix(&t.blob);
        let mut listing = Listing::new();
        let page = self
            .list_page(
                &t.container,
                &prefix,
                true,
                self.opts.list_chunk,
                cursor.marker.take(),
                dir.as_str(),
            )
            .await?;
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
        for item in &page.blobs {
            let Some(name) = item.name.strip_prefix(&prefix) else {
                continue;
            };
            if name.is_empty() {
                continue; // the directory's own marker blob
            }
            let Ok(path) = self.names.child(dir, name) else {
                listing.skip(ferry_objstore::bucket::unsafe_key(&self.names, &item.name));
                continue;
            };
            if is_folder_marker(item) {
                dir_entry(path, &mut listing);
            } else {
                listing.entries.push(entry_of(path, item));
            }
        }
        // A prefix with nothing under it is an empty directory (`bucket_dirs`); only a
        // missing container (in `list_page`) is "directory not found".
        cursor.marker = page.next_marker;
        let more = cursor.marker.is_some();
        Ok((listing, more.then_some(cursor)))
    }

    /// Whether any blob's name starts with `prefix`. Azure may answer a page with no blobs
    /// but a marker, so the marker is followed until a blob or the end.
    async fn any_blob(&self, container: &str, prefix: &str, path: &str) -> Result<bool> {
        let mut marker = None;
        loop {
            let page = match self
                .list_page(container, prefix, false, 1, marker, path)
                .await
            {
                Ok(page) => page,
                Err(e) if e.kind() == ErrorKind::DirNotFound => return Ok(false),
                Err(e) => return Err(e),
            };
            if !page.blobs.is_empty() {
                return Ok(true);
            }
            match page.next_marker {
                Some(m) => marker = Some(m),
                None => return Ok(false),
            }
        }
    }

    /// Whether any blob lies under `blob/` (a virtual directory).
    async fn has_children(&self, t: &Target, path: &str) -> Result<bool> {
        self.any_blob(&t.container, &format!("{}/", t.blob), path)
            .await
    }

    async fn container_exists(&self, container: &str) -> Result<bool> {
        let req = Req::new(Method::HEAD, format!("/{container}")).query("restype", "container");
        match self.try_send(&req).await {
            Ok(_) => Ok(true),
            Err(f) if f.is_not_found() => Ok(false),
            // A container SAS may allow listing but not reading the container's properties.
            Err(f) if f.status == Some(403) && self.client.uses_sas() => {
                match self
                    .list_page(container, "", false, 1, None, container)
                    .await
                {
                    Ok(_) => Ok(true),
                    Err(e) if e.kind() == ErrorKind::DirNotFound => Ok(false),
                    Err(e) => Err(e),
                }
            }
            Err(f) => Err(self.fail(f, "failed to check container", container)),
        }
    }

    /// Replaces a blob's metadata (Set Blob Metadata keeps its content and properties).
    async fn put_metadata(
        &self,
        t: &Target,
        path: &str,
        metadata: &HashMap<String, String>,
    ) -> Result<()> {
        let mut req = Req::new(Method::PUT, t.rest_path()).query("comp", "metadata");
        for (k, v) in metadata {
            req = req.header(&format!("x-ms-meta-{k}"), v);
        }
        self.send(&req, "failed to set metadata", path)
            .await
            .map(|_| ())
    }

    /// Replaces the Content-MD5 recorded for a blob (`None` removes it). For repairing
    /// a blob's recorded hash — and for tests that need a damaged one.
    pub async fn set_stored_md5(&self, path: &RelPath, md5: Option<&str>) -> Result<()> {
        let t = self.target(path)?;
        let Some(item) = self.head(&t, path.as_str()).await? else {
            return Err(Error::not_found(path.to_string()));
        };
        // Set Blob Properties clears the content headers it is not given.
        let mut req = Req::new(Method::PUT, t.rest_path()).query("comp", "properties");
        if let Some(ct) = &item.content_type {
            req = req.header("x-ms-blob-content-type", ct);
        }
        if let Some(m) = md5 {
            let b64 = md5_b64(m)
                .ok_or_else(|| Error::new(ErrorKind::Refused, format!("{m:?} is not a hex MD5")))?;
            req = req.header("x-ms-blob-content-md5", b64);
        }
        self.send(&req, "failed to set properties", path.as_str())
            .await
            .map(|_| ())
    }

    /// Whether `other` is the same account with the same credentials (so a server-side
    /// copy can read its blobs).
    fn same_account(&self, other: &AzBackend) -> bool {
        self.client.base() == other.client.base()
            && format!("{:?}", self.opts.auth) == format!("{:?}", other.opts.auth)
    }

    /// Copy Blob within the account: the source's metadata with the new mtime (or, with
    /// `--metadata`, the metadata given), its access tier and (if asked) its tags. Waits
    /// for a pending copy to finish.
    async fn server_copy(
        &self,
        src: &AzBackend,
        s: &Target,
        d: &Target,
        dst_path: &RelPath,
        opts: &PutOptions,
    ) -> Result<Option<Entry>> {
        let Some(info) = src.head(s, dst_path.as_str()).await? else {
            return Ok(None);
        };
        let mut req = Req::new(Method::PUT, d.rest_path())
            .header("x-ms-copy-source", src.client.url(&s.rest_path(), &[]));
        let given = opts
            .metadata
            .as_ref()
            .map(|_| BlobProps::for_put(dst_path, opts));
        let mtime = given.as_ref().map_or(opts.mtime, |p| p.mtime);
        let mut metadata = info.metadata.clone();
        metadata.insert(META_MTIME.to_owned(), format_mtime(mtime));
        match &given {
            Some(p) => req = p.apply_metadata(req),
            None => {
                for (k, v) in &metadata {
                    req = req.header(&format!("x-ms-meta-{k}"), v);
                }
            }
        }
        let tier = self.opts.access_tier.clone().or_else(|| {
            info.access_tier
                .clone()
                .filter(|_| self.opts.preserve_access_tier && !info.tier_inferred)
        });
        if let Some(tier) = tier {
            req = req.header("x-ms-access-tier", tier);
        }
        if let Some(tags) = &self.opts.blob_tags {
            req = req.header("x-ms-tags", tags);
        } else if self.opts.preserve_blob_tags {
            if let Some(tags) = src.tags(s, dst_path.as_str()).await? {
                req = req.header("x-ms-tags", tags);
            }
        }
        let r = self
            .send(&req, "failed to copy on the server", dst_path.as_str())
            .await?;
        if header(r.headers(), "x-ms-copy-status").as_deref() == Some("pending") {
            self.wait_for_copy(d, dst_path).await?;
        }
        // Copy Blob takes the source's content properties; metadata asking for others
        // sets them afterwards (Set Blob Properties clears those not sent, and the MD5).
        if let Some(p) = given.filter(|p| !same_content(p, &info)) {
            let mut req = Req::new(Method::PUT, d.rest_path()).query("comp", "properties");
            req = p.apply_content(req);
            if let Some(m) = &info.content_md5 {
                req = req.header("x-ms-blob-content-md5", m);
            }
            self.send(&req, "failed to set properties", dst_path.as_str())
                .await?;
        }
        let mut e = entry_of(dst_path.clone(), &info);
        e.mtime = mtime;
        Ok(Some(e))
    }

    async fn wait_for_copy(&self, d: &Target, path: &RelPath) -> Result<()> {
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(50);
        loop {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
            let r = self
                .send(
                    &Req::new(Method::HEAD, d.rest_path()),
                    "failed to check copy",
                    path.as_str(),
                )
                .await?;
            match header(r.headers(), "x-ms-copy-status").as_deref() {
                Some("pending") if started.elapsed() < COPY_WAIT => continue,
                Some("success") | None => return Ok(()),
                other => {
                    return Err(Error::new(
                        ErrorKind::Io,
                        format!("server-side copy ended as {:?}", other.unwrap_or("unknown")),
                    )
                    .with_path(path.to_string())
                    .temporary(true))
                }
            }
        }
    }

    /// The blob's index tags as an `x-ms-tags` header value, if it has any.
    async fn tags(&self, t: &Target, path: &str) -> Result<Option<String>> {
        let req = Req::new(Method::GET, t.rest_path()).query("comp", "tags");
        let body = self
            .send(&req, "failed to read blob tags", path)
            .await?
            .text()
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("failed to read blob tags: {}", e.without_url()),
                )
            })?;
        let pairs = crate::listing::parse_tags(&body).map_err(|e| Error::new(ErrorKind::Io, e))?;
        if pairs.is_empty() {
            return Ok(None);
        }
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        Ok(Some(
            pairs
                .iter()
                .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
                .collect::<Vec<_>>()
                .join("&"),
        ))
    }
}

#[async_trait]
impl Backend for AzBackend {
    fn features(&self) -> &Features {
        &self.features
    }

    fn location(&self) -> Location {
        let mut path = String::new();
        if let Some(c) = &self.container {
            path = format!("/{c}");
            if !self.prefix.is_empty() {
                path.push('/');
                path.push_str(&self.prefix);
            }
        }
        Location {
            namespace: format!("azureblob:{}", self.client.base()),
            path,
        }
    }

    fn describe(&self) -> String {
        let account = self.opts.account();
        match (&self.container, self.prefix.is_empty()) {
            (None, _) => format!("Azure Blob account {account}"),
            // rclone's words, which its logs and `check` notices print.
            (Some(c), true) => format!("Azure container {c}"),
            (Some(c), false) => format!("Azure container {c} path {}", self.prefix),
        }
    }

    async fn stat(&self, path: &RelPath) -> Result<Option<Entry>> {
        if self.container.is_none() && path.is_root() {
            return Ok(Some(Entry::dir(RelPath::root(), ferry_core::no_dir_time())));
        }
        let t = self.target(path)?;
        if t.blob.is_empty() {
            return Ok(self
                .container_exists(&t.container)
                .await?
                .then(|| Entry::dir(path.clone(), ferry_core::no_dir_time())));
        }
        if !path.is_root() {
            if let Some(item) = self.head(&t, path.as_str()).await? {
                if !is_folder_marker(&item) {
                    return Ok(Some(entry_of(path.clone(), &item)));
                }
            }
        }
        Ok(self
            .has_children(&t, path.as_str())
            .await?
            .then(|| Entry::dir(path.clone(), ferry_core::no_dir_time())))
    }

    fn list_pages(&self, dir: RelPath) -> ListPages<'_> {
        if self.container.is_none() && dir.is_root() {
            return self.list_containers();
        }
        self.list_blobs(dir)
    }

    async fn open(&self, path: &RelPath, offset: u64, len: Option<u64>) -> Result<ByteStream> {
        if len == Some(0) {
            return Ok(Box::pin(tokio::io::empty()));
        }
        let t = self.target(path)?;
        let mut req = Req::new(Method::GET, t.rest_path());
        if let Some(range) = ferry_objstore::bucket::byte_range(offset, len) {
            req = req.header("x-ms-range", range);
        }
        let r = match self.try_send(&req).await {
            Ok(r) => r,
            Err(f) if f.status == Some(416) => return Ok(Box::pin(tokio::io::empty())),
            Err(f) => return Err(self.fail(f, "failed to open for reading", path.as_str())),
        };
        let stream = r
            .bytes_stream()
            .map_err(|e| std::io::Error::other(crate::error::redact(&e.without_url().to_string())));
        Ok(Box::pin(tokio_util::io::StreamReader::new(stream)))
    }

    async fn put(&self, path: &RelPath, data: ByteStream, opts: &PutOptions) -> Result<Entry> {
        let t = self.target(path)?;
        if t.blob.is_empty() {
            return Err(
                Error::new(ErrorKind::InvalidPath, "can't write a blob without a name")
                    .with_path(path.to_string()),
            );
        }
        self.ensure_container(&t.container).await?;
        upload::put(self, &t, path, data, opts).await
    }

    async fn copy_from(
        &self,
        src: &dyn Backend,
        src_path: &RelPath,
        dst_path: &RelPath,
        opts: &PutOptions,
    ) -> Result<Option<Entry>> {
        let Some(other) = src.as_any().downcast_ref::<AzBackend>() else {
            return Ok(None);
        };
        if !self.same_account(other) {
            return Ok(None);
        }
        let (s, d) = (other.target(src_path)?, self.target(dst_path)?);
        self.ensure_container(&d.container).await?;
        self.server_copy(other, &s, &d, dst_path, opts).await
    }

    async fn metadata(&self, path: &RelPath) -> Result<Option<Metadata>> {
        let t = self.target(path)?;
        match self.head(&t, path.as_str()).await? {
            Some(item) => Ok(Some(props::read(&item))),
            None => Err(Error::not_found(path.to_string())),
        }
    }

    async fn hash(&self, path: &RelPath, kind: HashKind) -> Result<Option<String>> {
        if kind != HashKind::Md5 {
            return Ok(None);
        }
        let t = self.target(path)?;
        match self.head(&t, path.as_str()).await? {
            Some(item) => Ok(item.content_md5.as_deref().and_then(md5_hex)),
            None => Err(Error::not_found(path.to_string())),
        }
    }

    async fn set_modtime(&self, path: &RelPath, mtime: SystemTime) -> Result<()> {
        let t = self.target(path)?;
        let Some(mut item) = self.head(&t, path.as_str()).await? else {
            return Err(Error::not_found(path.to_string()));
        };
        item.metadata
            .insert(META_MTIME.to_owned(), format_mtime(mtime));
        self.put_metadata(&t, path.as_str(), &item.metadata).await
    }

    async fn delete_file(&self, path: &RelPath) -> Result<()> {
        let t = self.target(path)?;
        self.send(
            &Req::new(Method::DELETE, t.rest_path()),
            "failed to delete",
            path.as_str(),
        )
        .await
        .map(|_| ())
    }

    async fn mkdir(&self, dir: &RelPath) -> Result<()> {
        if self.container.is_none() && dir.is_root() {
            return Ok(());
        }
        let t = self.target(dir)?;
        self.ensure_container(&t.container).await
    }

    async fn rmdir(&self, dir: &RelPath) -> Result<()> {
        if self.container.is_none() && dir.is_root() {
            return Err(Error::unsupported(
                "can't remove the root of an Azure account",
            ));
        }
        let t = self.target(dir)?;
        if !t.blob.is_empty() {
            // Virtual directories vanish with their last blob.
            return Ok(());
        }
        // The container itself, as rclone does: only when it is empty.
        if self.any_blob(&t.container, "", dir.as_str()).await? {
            return Err(Error::new(ErrorKind::Io, "directory not empty").with_path(dir.to_string()));
        }
        let req =
            Req::new(Method::DELETE, format!("/{}", t.container)).query("restype", "container");
        self.send(&req, "failed to remove container", &t.container)
            .await?;
        self.containers_ok
            .lock()
            .expect("lock")
            .remove(&t.container);
        Ok(())
    }

    fn list_recursive(
        self: std::sync::Arc<Self>,
        dir: &RelPath,
    ) -> Option<ferry_core::EntryStream> {
        if self.container.is_none() && dir.is_root() {
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

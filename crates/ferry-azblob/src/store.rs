//! Azure Blob Storage as an [`ObjectStore`]: Get Blob Properties, List Blobs and
//! Containers, Put Blob / Block List, Copy Blob, Set Blob Metadata, and the service's
//! answers in ferry's terms. Paths, listings, directories and the
//! [`Backend`](ferry_core::Backend) itself are [`ferry_objstore::ObjectBackend`]'s.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use ferry_core::encoding::Encoding;
use ferry_core::{
    ByteStream, Entry, Error, ErrorKind, Features, HashKind, Metadata, PutOptions, RelPath, Result,
};
use ferry_objstore::{ObjectStore, Page, Target, UserMeta};
use futures::TryStreamExt;
use http::{HeaderMap, Method};

use crate::client::{Client, Req};
use crate::listing::{parse_page, BlobItem};
use crate::meta::{self, format_mtime, md5_b64, md5_hex, META_FOLDER, META_MTIME};
use crate::props::{self, BlobProps};
use crate::{rest_path, upload, AzBackend, AzOptions, Azure};

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
    e.content_type = item.content_type.clone();
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

impl Azure {
    /// Get Blob Properties; `Ok(None)` if there is no such blob.
    pub(crate) async fn head(&self, t: &Target, path: &str) -> Result<Option<BlobItem>> {
        if t.key.is_empty() {
            return Ok(None);
        }
        match self.try_send(&Req::new(Method::HEAD, rest_path(t))).await {
            Ok(r) => Ok(Some(item_from_headers(&t.key, r.headers()))),
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
    ) -> Result<crate::listing::Page> {
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
            Ok(r) => crate::client::body_text(r, "the listing")
                .await
                .map_err(|e| e.with_path(path.to_owned()))?,
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

    /// Copy Blob within the account: the source's metadata with the new mtime (or, with
    /// `--metadata`, the metadata given), its access tier and (if asked) its tags. Waits
    /// for a pending copy to finish.
    async fn server_copy(
        &self,
        src: &Azure,
        s: &Target,
        d: &Target,
        dst_path: &RelPath,
        opts: &PutOptions,
    ) -> Result<Option<Entry>> {
        let Some(info) = src.head(s, dst_path.as_str()).await? else {
            return Ok(None);
        };
        let mut req = Req::new(Method::PUT, rest_path(d))
            .header("x-ms-copy-source", src.client.url(&rest_path(s), &[]));
        let given = opts
            .metadata
            .as_ref()
            .map(|_| BlobProps::for_put(dst_path, opts, props::Guess::Rclone));
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
            let mut req = Req::new(Method::PUT, rest_path(d)).query("comp", "properties");
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
                    &Req::new(Method::HEAD, rest_path(d)),
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
        let req = Req::new(Method::GET, rest_path(t)).query("comp", "tags");
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

/// Replaces the Content-MD5 recorded for a blob (`None` removes it). For repairing
/// a blob's recorded hash — and for tests that need a damaged one.
pub async fn set_stored_md5(b: &AzBackend, path: &RelPath, md5: Option<&str>) -> Result<()> {
    let t = b.target(path)?;
    let az = b.store();
    let Some(item) = az.head(&t, path.as_str()).await? else {
        return Err(Error::not_found(path.to_string()));
    };
    // Set Blob Properties clears the content headers it is not given.
    let mut req = Req::new(Method::PUT, rest_path(&t)).query("comp", "properties");
    if let Some(ct) = &item.content_type {
        req = req.header("x-ms-blob-content-type", ct);
    }
    if let Some(m) = md5 {
        let b64 = md5_b64(m)
            .ok_or_else(|| Error::new(ErrorKind::Refused, format!("{m:?} is not a hex MD5")))?;
        req = req.header("x-ms-blob-content-md5", b64);
    }
    az.send(&req, "failed to set properties", path.as_str())
        .await
        .map(|_| ())
}

#[async_trait]
impl ObjectStore for Azure {
    type Options = AzOptions;
    type Object = BlobItem;

    const ROOT_NAME: &'static str = "an Azure account";
    const OBJECT_NAME: &'static str = "a blob";
    const TYPE_NAME: &'static str = "azureblob";
    const BUCKET_NAME: &'static str = "container";

    fn connect(opts: AzOptions) -> Result<Self> {
        Ok(Azure {
            client: std::sync::Arc::new(Client::new(&opts)?),
            opts,
        })
    }

    fn options_from(
        options: &ferry_core::kind::Options,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<AzOptions> {
        AzOptions::from_options(options, env)
    }

    fn options(&self) -> &AzOptions {
        &self.opts
    }

    fn upload_metadata(&self) -> Option<&ferry_core::Metadata> {
        self.opts.upload_meta.as_ref()
    }

    fn encoding(&self) -> Encoding {
        self.opts.encoding
    }

    fn features(&self) -> Features {
        crate::az_features()
    }

    /// A SAS limited to one container roots the account there.
    fn default_bucket(&self) -> Option<String> {
        self.opts.sas_container.clone()
    }

    fn check_bucket_name(name: &str) -> Result<()> {
        crate::check_container_name(name)
    }

    fn check_root_bucket(&self, container: &str) -> Result<()> {
        self.check_sas_container(container)?;
        crate::check_container_name(container)
    }

    fn namespace(&self) -> String {
        format!("azureblob:{}", self.client.base())
    }

    fn describe(&self, container: Option<&str>, prefix: &str) -> String {
        match (container, prefix.is_empty()) {
            (None, _) => format!("Azure Blob account {}", self.opts.account()),
            // rclone's words, which its logs and `check` notices print.
            (Some(c), true) => format!("Azure container {c}"),
            (Some(c), false) => format!("Azure container {c} path {prefix}"),
        }
    }

    /// The same account with the same credentials (so a server-side copy can read its
    /// blobs).
    fn same_service(&self, other: &Azure) -> bool {
        self.client.base() == other.client.base()
            && format!("{:?}", self.opts.auth) == format!("{:?}", other.opts.auth)
    }

    fn list_chunk(&self) -> u32 {
        self.opts.list_chunk
    }

    fn key(o: &BlobItem) -> &str {
        &o.name
    }

    fn is_folder_marker(o: &BlobItem) -> bool {
        is_folder_marker(o)
    }

    fn entry(o: &BlobItem, path: RelPath) -> Entry {
        entry_of(path, o)
    }

    fn hash(o: &BlobItem, kind: HashKind) -> Option<String> {
        (kind == HashKind::Md5)
            .then(|| o.content_md5.as_deref().and_then(md5_hex))
            .flatten()
    }

    fn metadata(o: &BlobItem) -> Metadata {
        props::read(o)
    }

    fn user_metadata(o: &BlobItem) -> UserMeta {
        o.metadata.clone().into_iter().collect()
    }

    fn mtime_metadata(mtime: SystemTime) -> Vec<(String, String)> {
        vec![(META_MTIME.to_owned(), format_mtime(mtime))]
    }

    async fn head(&self, t: &Target, path: &str) -> Result<Option<BlobItem>> {
        Azure::head(self, t, path).await
    }

    async fn list(
        &self,
        container: &str,
        prefix: &str,
        delimited: bool,
        max: u32,
        marker: Option<String>,
        path: &str,
    ) -> Result<Page<BlobItem>> {
        let page = self
            .list_page(container, prefix, delimited, max, marker, path)
            .await?;
        Ok(Page {
            objects: page.blobs,
            prefixes: page.prefixes,
            skipped: Vec::new(),
            next: page.next_marker,
        })
    }

    async fn list_buckets(
        &self,
        marker: Option<String>,
    ) -> Result<Page<(String, Option<SystemTime>)>> {
        let mut req = Req::new(Method::GET, "/").query("comp", "list");
        if let Some(m) = marker {
            req = req.query("marker", m);
        }
        let r = self.send(&req, "failed to list containers", "").await?;
        let body = crate::client::body_text(r, "the listing").await?;
        let page = parse_page(&body).map_err(|e| Error::new(ErrorKind::Io, e))?;
        Ok(Page {
            objects: page.containers,
            prefixes: Vec::new(),
            skipped: Vec::new(),
            next: page.next_marker,
        })
    }

    async fn bucket_exists(&self, container: &str) -> Result<bool> {
        self.container_exists(container).await
    }

    async fn ready_bucket(&self, container: &str) -> Result<()> {
        self.ensure_container(container).await
    }

    async fn delete_bucket(&self, container: &str) -> Result<()> {
        let req = Req::new(Method::DELETE, format!("/{container}")).query("restype", "container");
        self.send(&req, "failed to remove container", container)
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
        let mut req = Req::new(Method::GET, rest_path(t));
        if let Some(range) = ferry_objstore::bucket::byte_range(offset, len) {
            req = req.header("x-ms-range", range);
        }
        for (name, value) in &self.opts.http.download_headers {
            req = req.header(name, value);
        }
        let r = match self.try_send(&req).await {
            Ok(r) => r,
            Err(f) if f.status == Some(416) => return Ok(Box::pin(tokio::io::empty())),
            Err(f) => return Err(self.fail(f, "failed to open for reading", path.as_str())),
        };
        let expected = r.content_length();
        let stream = r.bytes_stream().map_err(|e| {
            let cause = ferry_core::body::innermost(&e.without_url());
            std::io::Error::other(crate::error::redact(&cause))
        });
        let reader = tokio_util::io::StreamReader::new(stream);
        Ok(ferry_core::body::counted(reader, "the download", expected))
    }

    /// The MD5 of the bytes sent is compared with the source's own before the blob is
    /// committed (and each block carries its own Content-MD5).
    fn put_verifies(&self, _t: &Target, opts: &PutOptions) -> bool {
        upload::checks_source(&self.opts, opts)
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
        src: &Azure,
        s: &Target,
        d: &Target,
        _src_path: &RelPath,
        dst_path: &RelPath,
        opts: &PutOptions,
    ) -> Result<Option<Entry>> {
        self.server_copy(src, s, d, dst_path, opts).await
    }

    /// Set Blob Metadata: replaces the metadata, keeps the content and properties.
    async fn replace_metadata(
        &self,
        t: &Target,
        _o: &BlobItem,
        meta: UserMeta,
        path: &str,
    ) -> Result<()> {
        let mut req = Req::new(Method::PUT, rest_path(t)).query("comp", "metadata");
        for (k, v) in &meta {
            req = req.header(&format!("x-ms-meta-{k}"), v);
        }
        self.send(&req, "failed to set metadata", path)
            .await
            .map(|_| ())
    }

    /// Set Blob Tags: the tags replaced whole (none clears them).
    async fn set_tags(&self, t: &Target, path: &RelPath, tags: &[(String, String)]) -> Result<()> {
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        };
        let mut body = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><Tags><TagSet>");
        for (k, v) in tags {
            body.push_str(&format!(
                "<Tag><Key>{}</Key><Value>{}</Value></Tag>",
                esc(k),
                esc(v)
            ));
        }
        body.push_str("</TagSet></Tags>");
        let req = Req::new(Method::PUT, rest_path(t))
            .query("comp", "tags")
            .header("content-type", "application/xml; charset=utf-8")
            .body(bytes::Bytes::from(body));
        self.send(&req, "failed to set tags", path.as_str())
            .await
            .map(|_| ())
    }

    /// Set Blob Tier, with rclone's check of the name (any case; sent as Azure spells it).
    async fn set_tier(&self, t: &Target, path: &RelPath, tier: &str) -> Result<()> {
        let Some(tier) = ["Hot", "Cool", "Cold", "Archive"]
            .into_iter()
            .find(|known| known.eq_ignore_ascii_case(tier))
        else {
            return Err(Error::new(
                ErrorKind::Config,
                format!("tier {tier} not supported by Azure Blob Storage: use Hot, Cool, Cold or Archive"),
            ));
        };
        let req = Req::new(Method::PUT, rest_path(t))
            .query("comp", "tier")
            .header("x-ms-access-tier", tier);
        self.send(&req, "failed to set tier", path.as_str())
            .await
            .map(|_| ())
    }

    async fn delete(&self, t: &Target, path: &str) -> Result<()> {
        self.send(
            &Req::new(Method::DELETE, rest_path(t)),
            "failed to delete",
            path,
        )
        .await
        .map(|_| ())
    }
}

//! ferry's HTTP backend, as rclone's `http`: a read-only source that lists a web server's
//! directory pages (every `<a href>` to a direct child; a name ending in `/` is a
//! directory), stats files with HEAD (size from `Content-Length`, time from
//! `Last-Modified`, to the second) and reads them with ranged GETs. It stores nothing:
//! every write fails with one "read only" error naming the path.
//!
//! Names are stored as they are (rclone's http has no `encoding` option), but every listed
//! name still passes through [`Names`] and [`RelPath`] before it becomes an entry.

mod client;
pub mod index;
mod kind;
mod options;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use ferry_core::encoding::{Encoding, Names};
use ferry_core::{Backend, Capabilities, Location, Semantics};
use ferry_core::{
    ByteStream, Entry, Error, ErrorKind, Features, HashKind, ListPages, Listing, PutOptions,
    RelPath, Result,
};
use futures::StreamExt;
use reqwest::StatusCode;
use tokio::io::AsyncReadExt;

pub use kind::KIND;
pub use options::HttpOptions;

use client::{Client, Head};

/// HEAD requests in flight at once while listing one directory (rclone's `--checkers`).
const HEADS_AT_ONCE: usize = 8;

/// A web server's directory, read only.
pub struct HttpBackend {
    client: Client,
    /// The root below the endpoint, stored form, without slashes at either end.
    root: Vec<u8>,
    names: Names,
    no_slash: bool,
    features: Features,
}

impl HttpBackend {
    /// A backend rooted at `root` (ferry's names, `/`-separated) below the endpoint.
    pub fn new(root: &str, opts: HttpOptions) -> Result<Arc<HttpBackend>> {
        let names = Names::new(Encoding::NONE);
        let root = root.trim_matches('/');
        let mut stored = Vec::new();
        for seg in root.split('/').filter(|s| !s.is_empty()) {
            if !stored.is_empty() {
                stored.push(b'/');
            }
            stored.extend_from_slice(&names.stored_bytes(seg));
        }
        Ok(Arc::new(HttpBackend {
            client: Client::new(&opts)?,
            root: stored,
            names,
            no_slash: opts.no_slash,
            features: Features {
                caps: Capabilities {
                    parallel_reads: true,
                    read_only: true,
                    ..Capabilities::default()
                },
                semantics: Semantics {
                    // The server's times are whole seconds (Last-Modified); rclone assumes 1s.
                    modtime_precision: Some(Duration::from_secs(1)),
                    empty_dirs: true,
                    ..Semantics::default()
                },
            },
        }))
    }

    /// The stored path of `path` below the endpoint.
    fn stored(&self, path: &RelPath) -> Vec<u8> {
        let mut out = self.root.clone();
        for seg in path.segments() {
            if !out.is_empty() {
                out.push(b'/');
            }
            out.extend_from_slice(&self.names.stored_bytes(seg));
        }
        out
    }

    fn read_only(&self, what: &str, path: &RelPath) -> Error {
        Error::new(
            ErrorKind::Unsupported,
            format!(
                "can't {what}: http remotes are read only ({})",
                self.describe()
            ),
        )
        .with_path(shown(path))
        .retryable(false)
    }

    /// The entry a HEAD answer makes of the file at `path`.
    fn entry_of(&self, path: RelPath, head: Head) -> Result<Entry> {
        if self.no_slash && head.html {
            return Ok(Entry::dir(path, ferry_core::no_dir_time()));
        }
        let Some(size) = head.size else {
            return Err(Error::new(
                ErrorKind::Io,
                "the server gives no size for this file (no Content-Length); ferry can't read files of unknown size",
            )
            .with_path(path.as_str())
            .retryable(false));
        };
        let mut entry = Entry::file(path, size, head.mtime.unwrap_or(UNIX_EPOCH));
        entry.content_type = head.content_type;
        Ok(entry)
    }

    /// HEAD of one listed file: its entry, `None` to leave it out (rclone leaves out a
    /// link whose HEAD fails, with a debug line).
    async fn listed_file(&self, path: RelPath) -> Option<Result<Entry>> {
        let url = match self.client.url(&self.stored(&path), false) {
            Ok(u) => u,
            Err(e) => return Some(Err(e)),
        };
        match self.client.head(url, path.as_str()).await {
            Ok(Some(head)) => Some(self.entry_of(path, head)),
            Ok(None) => {
                tracing::debug!("{path}: skipping because of error: not found (HEAD answered 404)");
                None
            }
            Err(e) => {
                tracing::debug!("{path}: skipping because of error: {e}");
                None
            }
        }
    }
}

fn shown(path: &RelPath) -> String {
    path.as_str().to_owned()
}

impl HttpBackend {
    /// One directory, as the server gives it: whole.
    async fn list_whole(&self, dir: &RelPath) -> Result<Listing> {
        let url = self.client.url(&self.stored(dir), true)?;
        let page = self.client.page(url.clone(), dir.as_str()).await?;
        let mut listing = Listing::new();
        let mut files = Vec::new();
        for linked in index::children(&url, &page) {
            let path = match self
                .names
                .listed_bytes(&linked.name)
                .and_then(|n| dir.join(&n))
            {
                Ok(p) => p,
                Err(e) => {
                    listing.skip(e.with_path(dir.as_str()));
                    continue;
                }
            };
            if linked.dir {
                listing
                    .entries
                    .push(Entry::dir(path, ferry_core::no_dir_time()));
            } else {
                files.push(path);
            }
        }
        let heads: Vec<_> = futures::stream::iter(files)
            .map(|p| self.listed_file(p))
            .buffered(HEADS_AT_ONCE)
            .collect()
            .await;
        for found in heads.into_iter().flatten() {
            match found {
                Ok(e) => listing.entries.push(e),
                Err(e) => listing.skip(e),
            }
        }
        Ok(listing)
    }
}

#[async_trait]
impl Backend for HttpBackend {
    fn features(&self) -> &Features {
        &self.features
    }

    fn location(&self) -> Location {
        let base = self.client.base();
        let host = base.host_str().unwrap_or("");
        let port = base.port_or_known_default().unwrap_or(0);
        let path = format!("{}{}", base.path(), String::from_utf8_lossy(&self.root));
        Location {
            namespace: format!("{}://{host}:{port}", base.scheme()),
            path: path.trim_end_matches('/').to_owned(),
        }
    }

    fn describe(&self) -> String {
        format!(
            "HTTP directory {}{}",
            self.client.base(),
            String::from_utf8_lossy(&self.root)
        )
    }

    async fn stat(&self, path: &RelPath) -> Result<Option<Entry>> {
        let stored = self.stored(path);
        if stored.is_empty() {
            return Ok(Some(Entry::dir(path.clone(), ferry_core::no_dir_time())));
        }
        let file = self.client.url(&stored, false)?;
        match self.client.head_no_redirect(file, path.as_str()).await? {
            Probe::File(head) => self.entry_of(path.clone(), head).map(Some),
            Probe::Dir => Ok(Some(Entry::dir(path.clone(), ferry_core::no_dir_time()))),
            Probe::Missing => {
                // A server that doesn't redirect `dir` to `dir/` may still have `dir/`.
                let dir = self.client.url(&stored, true)?;
                let found = self.client.head(dir, path.as_str()).await?;
                Ok(found.map(|_| Entry::dir(path.clone(), ferry_core::no_dir_time())))
            }
        }
    }

    fn list_pages(&self, dir: RelPath) -> ListPages<'_> {
        // An index page is one response: one page.
        ferry_core::listing::one_page(async move { self.list_whole(&dir).await })
    }

    async fn open(&self, path: &RelPath, offset: u64, len: Option<u64>) -> Result<ByteStream> {
        let url = self.client.url(&self.stored(path), false)?;
        if len == Some(0) {
            return Ok(Box::pin(tokio::io::empty()));
        }
        let res = self.client.get(url, offset, len, path.as_str()).await?;
        if res.status() == StatusCode::RANGE_NOT_SATISFIABLE {
            return Ok(Box::pin(tokio::io::empty()));
        }
        let ranged = res.status() == StatusCode::PARTIAL_CONTENT;
        let mut reader = ferry_httpclient::download(res);
        if !ranged && offset > 0 {
            // The server ignored the range: skip to the offset.
            let skipped = tokio::io::copy(&mut (&mut reader).take(offset), &mut tokio::io::sink())
                .await
                .map_err(|e| Error::io(format!("{path}: reading"), e))?;
            if skipped < offset {
                return Ok(Box::pin(tokio::io::empty()));
            }
        }
        Ok(match len {
            Some(n) => Box::pin(reader.take(n)),
            None => Box::pin(reader),
        })
    }

    async fn put(&self, path: &RelPath, _data: ByteStream, _opts: &PutOptions) -> Result<Entry> {
        Err(self.read_only("upload", path))
    }

    async fn hash(&self, _path: &RelPath, _kind: HashKind) -> Result<Option<String>> {
        Ok(None)
    }

    async fn set_modtime(&self, path: &RelPath, _mtime: SystemTime) -> Result<()> {
        Err(self.read_only("set the modification time", path))
    }

    async fn delete_file(&self, path: &RelPath) -> Result<()> {
        Err(self.read_only("delete", path))
    }

    async fn mkdir(&self, dir: &RelPath) -> Result<()> {
        Err(self.read_only("make a directory", dir))
    }

    async fn rmdir(&self, dir: &RelPath) -> Result<()> {
        Err(self.read_only("remove a directory", dir))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// What a HEAD that follows no redirect says a path is.
pub(crate) enum Probe {
    File(Head),
    Dir,
    Missing,
}

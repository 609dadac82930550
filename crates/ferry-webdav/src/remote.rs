//! The `Backend` trait over WebDAV: PROPFIND for listings and stats, ranged GET, the
//! uploads of [`crate::upload`], DELETE, PROPPATCH for times, COPY and MOVE.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use ferry_core::{
    Backend, ByteStream, Entry, Error, ErrorKind, Features, HashKind, ListPages, Listing, Location,
    PutOptions, RelPath, Result,
};
use percent_encoding::percent_decode_str;
use tokio::io::AsyncReadExt;

use crate::client::Req;
use crate::propfind::{self, Item};
use crate::upload::unix_secs;
use crate::{parent_of, WebdavBackend};

/// A temporary upload older than this was left by a run that ended; a run writing here
/// removes it when listing.
const STALE_PARTIAL: Duration = Duration::from_secs(3600);

impl WebdavBackend {
    fn props_body(&self) -> &'static str {
        if self.vendor.oc_checksums() {
            propfind::OWNCLOUD_PROPS
        } else if self.vendor.standard_props {
            propfind::STANDARD_PROPS
        } else {
            // An empty PROPFIND asks for every property (`allprop`), as rclone sends it.
            ""
        }
    }

    /// PROPFIND of one URL: its items and the URL that answered (after redirects, which
    /// the items' hrefs are relative to); `Ok(None)` when nothing is there.
    async fn propfind(
        &self,
        url: &reqwest::Url,
        depth: &str,
        op: &str,
        shown: &RelPath,
    ) -> Result<Option<(Vec<Item>, reqwest::Url)>> {
        let mut req = Req::new("PROPFIND", url.clone())
            .header("depth", depth)
            .body(self.props_body());
        if !req.body.is_empty() {
            req = req.header("content-type", "application/xml; charset=utf-8");
        }
        let response = match self.client.send(&req).await {
            Ok(r) => r,
            Err(f) if f.is(404) || f.is(409) => return Ok(None),
            Err(f) => return Err(self.fail(f, op, shown)),
        };
        let answered = response.url().clone();
        let text = {
            let bytes = ferry_httpclient::read_body(response, &format!("the answer to {op}"))
                .await
                .map_err(|e| e.with_path(shown.to_string()))?;
            String::from_utf8_lossy(&bytes).into_owned()
        };
        propfind::parse(&text)
            .map(|items| Some((items, answered)))
            .map_err(|e| {
                Error::new(ErrorKind::Io, format!("{op}: {e}")).with_path(shown.to_string())
            })
    }

    /// The entry at `path` (stored as `stored`), if anything is there.
    pub(crate) async fn stat_stored(&self, path: &RelPath, stored: &str) -> Result<Option<Entry>> {
        let url = self.url(stored, path.is_root());
        let Some((items, _)) = self
            .propfind(&url, "0", "can't read properties", path)
            .await?
        else {
            return Ok(None);
        };
        let Some(item) = items.into_iter().find(|i| i.ok) else {
            return Ok(None);
        };
        Ok(Some(self.entry(path.clone(), &item)))
    }

    fn entry(&self, path: RelPath, item: &Item) -> Entry {
        let mtime = item.modified.unwrap_or(UNIX_EPOCH);
        if item.is_dir {
            return Entry::dir(path, mtime);
        }
        let mut e = Entry::file(path, item.size, mtime);
        for kind in self.features.semantics.hashes.iter() {
            let name = if kind == HashKind::Md5 { "md5" } else { "sha1" };
            if let Some(h) = item.checksum(name) {
                e.hashes.set(kind, h);
            }
        }
        e
    }

    /// Whether a listed item is hidden on purpose (the remote excludes shares or mounts).
    fn excluded(&self, item: &Item) -> bool {
        (self.exclude_shares && item.permissions.contains('S'))
            || (self.exclude_mounts && item.permissions.contains('M'))
    }

    /// A temporary upload: never listed; removed when stale in a run that writes here.
    async fn leftover(&self, dir_url: &reqwest::Url, name: &str, item: &Item) {
        let old = item
            .modified
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age > STALE_PARTIAL);
        if old && self.writing.load(Ordering::Relaxed) {
            let Ok(url) = dir_url
                .join(&percent_encoding::utf8_percent_encode(name, crate::SEGMENT).to_string())
            else {
                return;
            };
            if self.client.send(&Req::new("DELETE", url)).await.is_ok() {
                tracing::info!(
                    "{}: removed a partial file left by an interrupted run",
                    ferry_core::shown::name(name)
                );
            }
        }
    }

    fn peer<'a>(&self, src: &'a dyn Backend) -> Option<&'a WebdavBackend> {
        let peer = src.as_any().downcast_ref::<WebdavBackend>()?;
        (peer.client.identity() == self.client.identity()).then_some(peer)
    }
}

impl WebdavBackend {
    /// One directory, as the server gives it: whole.
    async fn list_whole(&self, dir: &RelPath) -> Result<Listing> {
        let stored = self.stored(dir)?;
        let asked = self.url(&stored, true);
        let Some((items, url)) = self
            .propfind(&asked, "1", "can't list the folder", dir)
            .await?
        else {
            return Err(Error::new(ErrorKind::DirNotFound, "directory not found")
                .with_path(dir.to_string()));
        };
        let mut out = Listing::new();
        for item in items {
            let name = match propfind::child_name(&url, &item.href) {
                Ok(Some(n)) => n,
                Ok(None) if !item.is_dir && item.ok => {
                    return Err(
                        Error::new(ErrorKind::DirNotFound, "is a file, not a folder")
                            .with_path(dir.to_string()),
                    );
                }
                Ok(None) => continue,
                Err(e) => {
                    out.skip(Error::new(ErrorKind::InvalidPath, e).with_path(dir.to_string()));
                    continue;
                }
            };
            if self.excluded(&item) {
                continue;
            }
            let text = String::from_utf8_lossy(&name);
            if ferry_core::partial::is_temp_name(&text) {
                self.leftover(&url, &text, &item).await;
                continue;
            }
            let path = match self.names.listed_bytes(&name).and_then(|n| dir.join(&n)) {
                Ok(p) => p,
                Err(e) => {
                    out.skip(e.with_path(dir.to_string()));
                    continue;
                }
            };
            if !item.ok {
                out.skip(
                    Error::new(ErrorKind::Io, "the server gave no properties for it")
                        .with_path(path.to_string()),
                );
                continue;
            }
            if item.is_dir {
                self.remember_dir(&self.stored(&path)?);
            }
            out.entries.push(self.entry(path, &item));
        }
        self.remember_dir(&stored);
        Ok(out)
    }
}

#[async_trait]
impl Backend for WebdavBackend {
    fn features(&self) -> &Features {
        &self.features
    }

    fn location(&self) -> Location {
        let base: Vec<u8> = percent_decode_str(self.client.base().path()).collect();
        let base = String::from_utf8_lossy(&base);
        let mut path = base.trim_end_matches('/').to_owned();
        if !self.root.is_empty() {
            path.push('/');
            path.push_str(&self.root);
        }
        Location {
            namespace: format!(
                "webdav+{}",
                self.client.base().origin().ascii_serialization()
            ),
            path,
        }
    }

    fn describe(&self) -> String {
        format!("WebDAV root '{}' at {}", self.root, self.client.base())
    }

    async fn stat(&self, path: &RelPath) -> Result<Option<Entry>> {
        let stored = self.stored(path)?;
        self.stat_stored(path, &stored).await
    }

    fn list_pages(&self, dir: RelPath) -> ListPages<'_> {
        // A PROPFIND answers with one body: one page.
        ferry_core::listing::one_page(async move { self.list_whole(&dir).await })
    }

    async fn open(&self, path: &RelPath, offset: u64, len: Option<u64>) -> Result<ByteStream> {
        if len == Some(0) {
            return Ok(Box::pin(std::io::Cursor::new(Vec::new())));
        }
        let url = self.url(&self.stored(path)?, false);
        let mut req = Req::new("GET", url);
        req.headers.extend(self.client.download_headers().clone());
        let ranged = offset > 0 || len.is_some();
        if ranged {
            let end = len
                .map(|l| (offset + l - 1).to_string())
                .unwrap_or_default();
            req = req.header("range", format!("bytes={offset}-{end}"));
        }
        let response = match self.client.send(&req).await {
            Ok(r) => r,
            // Asking from the end of the object: nothing to read.
            Err(f) if f.is(416) => return Ok(Box::pin(std::io::Cursor::new(Vec::new()))),
            Err(f) => return Err(self.fail(f, "can't read", path)),
        };
        let whole = response.status() != reqwest::StatusCode::PARTIAL_CONTENT;
        let mut reader = ferry_httpclient::download(response);
        if ranged && whole && offset > 0 {
            // The server ignored the range: skip to the offset here.
            let skipped = tokio::io::copy(&mut (&mut reader).take(offset), &mut tokio::io::sink())
                .await
                .map_err(|e| Error::io("can't read", e).with_path(path.to_string()))?;
            if skipped < offset {
                return Ok(Box::pin(std::io::Cursor::new(Vec::new())));
            }
        }
        Ok(match len {
            Some(l) => Box::pin(reader.take(l)),
            None => Box::pin(reader),
        })
    }

    async fn put(&self, path: &RelPath, data: ByteStream, opts: &PutOptions) -> Result<Entry> {
        self.upload(path, data, opts).await
    }

    async fn copy_from(
        &self,
        src: &dyn Backend,
        src_path: &RelPath,
        dst_path: &RelPath,
        opts: &PutOptions,
    ) -> Result<Option<Entry>> {
        let Some(peer) = self.peer(src) else {
            return Ok(None);
        };
        let from = peer.url(&peer.stored(src_path)?, false);
        let stored = self.stored(dst_path)?;
        let parent = parent_of(&stored);
        self.make_dirs(parent, &dst_path.parent().unwrap_or_default())
            .await?;
        // Copied beside the target first, so a copy cut short never has the final name.
        let leaf = stored.rsplit('/').next().unwrap_or(&stored);
        let temp = match ferry_core::partial::temp_name(leaf) {
            t if parent.is_empty() => t,
            t => format!("{parent}/{t}"),
        };
        let temp_url = self.url(&temp, false);
        match self
            .relocate("COPY", &from, &temp_url, Some(opts.mtime))
            .await
        {
            Ok(_) => {}
            // The server can't copy (or not between these two places): stream instead.
            Err(f) if f.is(501) || f.is(405) || f.is(502) => return Ok(None),
            Err(f) => return Err(self.fail(f, "server-side copy failed", src_path)),
        }
        let target = self.url(&stored, false);
        if let Err(f) = self
            .relocate("MOVE", &temp_url, &target, Some(opts.mtime))
            .await
        {
            self.discard(&temp_url).await;
            return Err(self.fail(f, "can't move the copy into place", dst_path));
        }
        self.finish_relocation(dst_path, &stored, Some(opts.mtime))
            .await
            .map(Some)
    }

    async fn move_from(
        &self,
        src: &dyn Backend,
        src_path: &RelPath,
        dst_path: &RelPath,
    ) -> Result<Option<Entry>> {
        let Some(peer) = self.peer(src) else {
            return Ok(None);
        };
        let from = peer.url(&peer.stored(src_path)?, false);
        let stored = self.stored(dst_path)?;
        self.make_dirs(parent_of(&stored), &dst_path.parent().unwrap_or_default())
            .await?;
        match self
            .relocate("MOVE", &from, &self.url(&stored, false), None)
            .await
        {
            Ok(_) => {}
            Err(f) if f.is(501) || f.is(405) || f.is(502) => return Ok(None),
            Err(f) => return Err(self.fail(f, "server-side move failed", src_path)),
        }
        self.finish_relocation(dst_path, &stored, None)
            .await
            .map(Some)
    }

    async fn prepare_write(&self) {
        self.writing.store(true, Ordering::Relaxed);
    }

    async fn hash(&self, path: &RelPath, kind: HashKind) -> Result<Option<String>> {
        if !self.features.semantics.hashes.contains(kind) {
            return Ok(None);
        }
        let Some(e) = self.stat(path).await? else {
            return Err(Error::not_found(path.to_string()));
        };
        Ok(e.hashes.get(kind).map(str::to_owned))
    }

    async fn set_modtime(&self, path: &RelPath, mtime: SystemTime) -> Result<()> {
        if !self.vendor.propset_mtime {
            return Err(Error::unsupported(format!(
                "this server (vendor {}) can't change a modification time",
                self.vendor.name
            ))
            .with_path(path.to_string()));
        }
        let url = self.url(&self.stored(path)?, false);
        let req = Req::new("PROPPATCH", url)
            .header("content-type", "application/xml; charset=utf-8")
            .body(propfind::set_mtime_body(unix_secs(mtime), None));
        let response = self
            .client
            .send(&req)
            .await
            .map_err(|f| self.fail(f, "can't set the modification time", path))?;
        let text = response.text().await.unwrap_or_default();
        let accepted = propfind::parse(&text).is_ok_and(|items| items.iter().all(|i| i.ok));
        if !accepted {
            return Err(Error::new(
                ErrorKind::Io,
                "the server did not take the modification time",
            )
            .with_path(path.to_string()));
        }
        Ok(())
    }

    async fn delete_file(&self, path: &RelPath) -> Result<()> {
        let url = self.url(&self.stored(path)?, false);
        self.client
            .send(&Req::new("DELETE", url))
            .await
            .map_err(|f| self.fail(f, "can't delete", path))?;
        Ok(())
    }

    async fn mkdir(&self, dir: &RelPath) -> Result<()> {
        let stored = self.stored(dir)?;
        self.make_dirs(&stored, dir).await
    }

    async fn rmdir(&self, dir: &RelPath) -> Result<()> {
        let stored = self.stored(dir)?;
        if stored.is_empty() {
            return Err(Error::new(
                ErrorKind::Refused,
                "refusing to remove the folder the remote's url names",
            ));
        }
        let url = self.url(&stored, true);
        // DELETE removes a folder with everything in it: look first, as rclone does.
        let Some((items, answered)) = self
            .propfind(&url, "1", "can't list the folder", dir)
            .await?
        else {
            return Err(Error::new(ErrorKind::DirNotFound, "directory not found")
                .with_path(dir.to_string()));
        };
        if items
            .iter()
            .any(|i| !matches!(propfind::child_name(&answered, &i.href), Ok(None)))
        {
            return Err(Error::new(ErrorKind::Io, "directory not empty").with_path(dir.to_string()));
        }
        self.client
            .send(&Req::new("DELETE", url))
            .await
            .map_err(|f| {
                let e = self.fail(f, "can't remove the folder", dir);
                if e.kind() == ErrorKind::NotFound {
                    e.with_kind(ErrorKind::DirNotFound)
                } else {
                    e
                }
            })?;
        self.forget_dirs();
        Ok(())
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl WebdavBackend {
    /// After a COPY or MOVE: the entry now there, with the time set where the server
    /// did not take it from the header but can be told.
    async fn finish_relocation(
        &self,
        path: &RelPath,
        stored: &str,
        mtime: Option<SystemTime>,
    ) -> Result<Entry> {
        let Some(entry) = self.stat_stored(path, stored).await? else {
            return Err(Error::new(
                ErrorKind::Io,
                "not there after the server copied or moved it",
            )
            .with_path(path.to_string()));
        };
        match mtime {
            Some(t) if self.vendor.propset_mtime && unix_secs(entry.mtime) != unix_secs(t) => {
                self.set_modtime(path, t).await?;
                Ok(Entry {
                    mtime: UNIX_EPOCH + Duration::from_secs(unix_secs(t).max(0) as u64),
                    ..entry
                })
            }
            _ => Ok(entry),
        }
    }
}

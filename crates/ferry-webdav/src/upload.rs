//! Writing: folders made with MKCOL (parents as needed), uploads PUT under a temporary
//! name and moved into place, and the MOVE/COPY requests server-side copies use.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ferry_core::{ByteStream, Entry, Error, ErrorKind, HashKind, PutOptions, RelPath, Result};
use futures::Stream;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::Url;
use tokio_util::io::ReaderStream;

use crate::client::Req;
use crate::error::Failure;
use crate::{parent_of, WebdavBackend};

/// What MKCOL found.
enum Made {
    Done,
    /// 409: the parent is missing.
    NoParent,
}

impl WebdavBackend {
    /// Makes the folder at `stored` and its missing parents (the URL's own folder is
    /// taken to exist, as rclone does).
    pub(crate) async fn make_dirs(&self, stored: &str, shown: &RelPath) -> Result<()> {
        let mut missing = Vec::new();
        let mut cur = stored;
        while !self.knows_dir(cur) {
            match self
                .mkcol(cur)
                .await
                .map_err(|f| self.fail(f, "can't make a folder", shown))?
            {
                Made::Done => break,
                Made::NoParent => {
                    missing.push(cur);
                    cur = parent_of(cur);
                }
            }
        }
        while let Some(dir) = missing.pop() {
            match self
                .mkcol(dir)
                .await
                .map_err(|f| self.fail(f, "can't make a folder", shown))?
            {
                Made::Done => {}
                Made::NoParent => return Err(self.no_parent(dir, shown)),
            }
        }
        Ok(())
    }

    async fn mkcol(&self, stored: &str) -> std::result::Result<Made, Failure> {
        let url = self.url(stored, true);
        match self.client.send(&Req::new("MKCOL", url.clone())).await {
            Ok(_) => {}
            Err(f) if f.is(409) => return Ok(Made::NoParent),
            // 405: something is there already (servers differ in how they say it).
            Err(f) if f.is(405) || f.is(406) || f.is(423) => {}
            Err(f) => {
                // Some servers answer oddly for a folder that exists: look before failing.
                if !self.is_dir_at(url).await {
                    return Err(f);
                }
            }
        }
        self.remember_dir(stored);
        Ok(Made::Done)
    }

    async fn is_dir_at(&self, url: Url) -> bool {
        let req = Req::new("PROPFIND", url).header("depth", "0");
        match self.client.send(&req).await {
            Ok(r) => crate::propfind::parse(&r.text().await.unwrap_or_default())
                .is_ok_and(|items| items.first().is_some_and(|i| i.is_dir)),
            Err(_) => false,
        }
    }

    /// `put`: the bytes go to a temporary name, checked to be `opts.size` long, and are
    /// then moved over the target.
    pub(crate) async fn upload(
        &self,
        path: &RelPath,
        data: ByteStream,
        opts: &PutOptions,
    ) -> Result<Entry> {
        let stored = self.stored(path)?;
        let parent = parent_of(&stored);
        self.make_dirs(parent, &path.parent().unwrap_or_default())
            .await?;
        let leaf = stored.rsplit('/').next().unwrap_or(&stored);
        let temp = if opts.inplace {
            stored.clone()
        } else {
            let t = ferry_core::partial::temp_name(leaf);
            if parent.is_empty() {
                t
            } else {
                format!("{parent}/{t}")
            }
        };
        let temp_url = self.url(&temp, false);
        let problem = Arc::new(Mutex::new(None));
        let body = Counted {
            inner: ReaderStream::new(data),
            seen: 0,
            want: opts.size,
            problem: problem.clone(),
            done: false,
        };
        let headers = self.put_headers(path, opts);
        let sent = self
            .client
            .send_stream(&temp_url, headers, reqwest::Body::wrap_stream(body))
            .await;
        let reason = problem.lock().expect("problem lock").take();
        if let Some(err) = reason.map(|why| why.with_path(path.to_string())) {
            self.discard(&temp_url).await;
            return Err(err);
        }
        if let Err(f) = sent {
            self.discard(&temp_url).await;
            if f.is(409) && parent.is_empty() {
                return Err(self.no_parent(&stored, path));
            }
            if f.is(409) {
                // A folder vanished since it was made: make it again on the next try.
                self.forget_dirs();
                return Err(self.fail(f, "upload failed", path).temporary(true));
            }
            return Err(self.fail(f, "upload failed", path));
        }
        if !opts.inplace {
            ferry_core::crash::point(ferry_core::crash::TEMP_WRITTEN);
            let target = self.url(&stored, false);
            if let Err(f) = self
                .relocate("MOVE", &temp_url, &target, Some(opts.mtime))
                .await
            {
                self.discard(&temp_url).await;
                return Err(self.fail(f, "can't move the upload into place", path));
            }
        }
        let entry = self.stat_stored(path, &stored).await?.ok_or_else(|| {
            Error::new(ErrorKind::Io, "the upload is not there after it was made")
                .with_path(path.to_string())
        })?;
        if entry.size != opts.size {
            return Err(Error::new(
                ErrorKind::Corrupted,
                format!(
                    "the server holds {} bytes after an upload of {}",
                    entry.size, opts.size
                ),
            )
            .with_path(path.to_string())
            .temporary(true));
        }
        Ok(entry)
    }

    /// The server says the parent of `stored` is missing although ferry made it, or
    /// although it is the folder the URL names (which ferry never makes).
    fn no_parent(&self, stored: &str, shown: &RelPath) -> Error {
        let message = if parent_of(stored).is_empty() {
            format!(
                "{} the folder the url names is not on the server (HTTP 409 Conflict): check url",
                self.client.remote()
            )
        } else {
            "can't make a folder: the server says its parent is missing, after making it".to_owned()
        };
        Error::new(ErrorKind::DirNotFound, message).with_path(shown.to_string())
    }

    fn put_headers(&self, path: &RelPath, opts: &PutOptions) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_LENGTH, HeaderValue::from(opts.size));
        if let Ok(v) = HeaderValue::from_str(ferry_core::mime::mime_type(path.name())) {
            h.insert(CONTENT_TYPE, v);
        }
        if self.vendor.oc_mtime {
            h.insert(
                HeaderName::from_static("x-oc-mtime"),
                HeaderValue::from(unix_secs(opts.mtime)),
            );
        }
        // One checksum for the server to check the upload by (and keep, as rclone sends it).
        let checksum = match (
            opts.hashes.get(HashKind::Sha1),
            opts.hashes.get(HashKind::Md5),
        ) {
            (Some(sha1), _) if self.vendor.oc_sha1 => Some(format!("SHA1:{sha1}")),
            (_, Some(md5)) if self.vendor.oc_md5 => Some(format!("MD5:{md5}")),
            _ => None,
        };
        if let Some(v) = checksum.and_then(|c| HeaderValue::from_str(&c).ok()) {
            h.insert(HeaderName::from_static("oc-checksum"), v);
        }
        // The user's --header-upload last: it wins, as rclone's upload options do.
        h.extend(self.client.upload_headers().clone());
        h
    }

    /// MOVE or COPY `from` to `to` (overwriting); vendors that keep times get `mtime`.
    pub(crate) async fn relocate(
        &self,
        method: &str,
        from: &Url,
        to: &Url,
        mtime: Option<SystemTime>,
    ) -> std::result::Result<reqwest::Response, Failure> {
        let mut req = Req::new(method, from.clone())
            .header("destination", to.as_str())
            .header("overwrite", "T");
        if let Some(t) = mtime.filter(|_| self.vendor.oc_mtime) {
            req = req.header("x-oc-mtime", unix_secs(t).to_string());
        }
        self.client.send(&req).await
    }

    /// Removes a temporary upload that failed (best effort: listings hide it anyway).
    pub(crate) async fn discard(&self, url: &Url) {
        if let Err(f) = self.client.send(&Req::new("DELETE", url.clone())).await {
            if !f.is(404) {
                tracing::debug!(
                    "webdav: can't remove a failed upload {}: {}",
                    url.path(),
                    f.message
                );
            }
        }
    }
}

/// Whole seconds since the epoch (X-OC-Mtime's unit).
pub(crate) fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs_f64().ceil() as i64),
    }
}

/// The upload body: the source's bytes, failing the request when they are more or fewer
/// than announced (and saying why, for the error).
struct Counted {
    inner: ReaderStream<ByteStream>,
    seen: u64,
    want: u64,
    problem: Arc<Mutex<Option<Error>>>,
    done: bool,
}

impl Counted {
    fn fail(&mut self, err: Error) -> Poll<Option<io::Result<Bytes>>> {
        let msg = err.message().to_owned();
        *self.problem.lock().expect("problem lock") = Some(err);
        self.done = true;
        Poll::Ready(Some(Err(io::Error::other(msg))))
    }
}

impl Stream for Counted {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(b))) => {
                self.seen += b.len() as u64;
                if self.seen > self.want {
                    let want = self.want;
                    return self.fail(size_error(format!(
                        "the source sent more than the {want} bytes expected"
                    )));
                }
                Poll::Ready(Some(Ok(b)))
            }
            Poll::Ready(Some(Err(e))) => self.fail(Error::io("reading the source failed", e)),
            Poll::Ready(None) if self.seen < self.want => {
                let (seen, want) = (self.seen, self.want);
                self.fail(size_error(format!(
                    "the source ended after {seen} of {want} bytes"
                )))
            }
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
        }
    }
}

fn size_error(msg: String) -> Error {
    Error::new(ErrorKind::Corrupted, format!("upload failed: {msg}")).temporary(true)
}

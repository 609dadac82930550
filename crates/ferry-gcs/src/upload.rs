//! Uploads. Up to `chunk_size`: one multipart request (the object resource and the
//! bytes), carrying the MD5 so GCS refuses damaged bytes. Bigger: a resumable upload
//! session, sent a chunk at a time (each a multiple of 256 KiB, held in memory); a chunk
//! that fails is resumed from what the session says it has. Either way nothing is
//! visible under the object's name until the last request succeeds. The MD5 and CRC32C
//! of the bytes read (hashed once, as they are read) go with the upload (the multipart
//! resource, or the last chunk's `X-Goog-Hash`), and GCS's answer is compared with them.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use ferry_core::md5::{Digest, Md5};
use ferry_core::{ByteStream, Entry, Error, ErrorKind, PutOptions, RelPath, Result};
use http::Method;
use ring::rand::SecureRandom;
use tokio::io::AsyncReadExt;

use crate::checksum::GoogHash;
use crate::client::{enc, json, Req};
use crate::object::{resource_for_put, Object};
use crate::resume::{Journal, Previous};
use ferry_objstore::Target;

use crate::Gcs;

/// Attempts at one chunk of a resumable upload.
const CHUNK_ATTEMPTS: u32 = 4;

pub(crate) async fn put(
    b: &Gcs,
    t: &Target,
    path: &RelPath,
    mut data: ByteStream,
    opts: &PutOptions,
) -> Result<Entry> {
    let (mut resource, mtime) = resource_for_put(path, opts, b.opts.storage_class.as_ref());
    resource.insert("name".into(), t.key.clone().into());
    let (object, sums) = if opts.size <= b.opts.chunk_size {
        multipart(b, t, path, &mut data, opts, resource).await?
    } else {
        resumable(b, t, path, &mut data, opts, resource).await?
    };
    if object.size != opts.size {
        return Err(Error::new(
            ErrorKind::Corrupted,
            format!(
                "upload stored {} bytes, {} were sent",
                object.size, opts.size
            ),
        )
        .with_path(path.to_string())
        .temporary(true));
    }
    let md5 = hex::encode(sums.md5);
    if let Some(stored) = object.md5_hex().filter(|m| *m != md5) {
        return Err(corrupted(path, "MD5", &stored, &md5));
    }
    let crc = crate::checksum::encode(sums.crc32c);
    if let Some(stored) = object.crc32c.as_deref().filter(|c| *c != crc) {
        return Err(corrupted(path, "CRC32C", stored, &crc));
    }
    let mut entry = object.entry(path.clone());
    entry.mtime = mtime;
    Ok(entry)
}

/// What an upload hashed of the bytes it sent, in one pass.
pub(crate) struct Sums {
    md5: [u8; 16],
    crc32c: u32,
}

/// MD5 and CRC32C, fed together as the bytes are read.
#[derive(Clone, Default)]
struct Hasher {
    md5: Md5,
    crc32c: u32,
}

impl Hasher {
    fn update(&mut self, data: &[u8]) {
        self.md5.update(data);
        self.crc32c = crc32c::crc32c_append(self.crc32c, data);
    }

    fn finish(self) -> Sums {
        Sums {
            md5: self.md5.finalize().into(),
            crc32c: self.crc32c,
        }
    }
}

fn corrupted(path: &RelPath, kind: &str, stored: &str, sent: &str) -> Error {
    Error::new(
        ErrorKind::Corrupted,
        format!("upload corrupted: GCS stored {kind} {stored}, the bytes sent had {sent}"),
    )
    .with_path(path.to_string())
    .temporary(true)
}

fn size_changed(path: &RelPath, want: u64, got: u64) -> Error {
    Error::new(
        ErrorKind::Corrupted,
        format!(
            "source changed during upload: expected {want} bytes, read {got}; nothing was stored"
        ),
    )
    .with_path(path.to_string())
    .temporary(true)
}

fn read_error(path: &RelPath, e: std::io::Error) -> Error {
    Error::io("failed to read source", e).with_path(path.to_string())
}

/// Reads up to `n` bytes (fewer only at the end of the stream).
async fn read_chunk(data: &mut ByteStream, n: u64, path: &RelPath) -> Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(n as usize);
    data.take(n)
        .read_to_end(&mut buf)
        .await
        .map_err(|e| read_error(path, e))?;
    Ok(buf)
}

fn boundary() -> String {
    let mut raw = [0u8; 16];
    let _ = ring::rand::SystemRandom::new().fill(&mut raw);
    format!("ferry-{}", hex::encode(raw))
}

async fn multipart(
    b: &Gcs,
    t: &Target,
    path: &RelPath,
    data: &mut ByteStream,
    opts: &PutOptions,
    mut resource: serde_json::Map<String, serde_json::Value>,
) -> Result<(Object, Sums)> {
    let buf = read_chunk(data, opts.size + 1, path).await?;
    if buf.len() as u64 != opts.size {
        return Err(size_changed(path, opts.size, buf.len() as u64));
    }
    let mut h = Hasher::default();
    h.update(&buf);
    let sums = h.finish();
    // GCS refuses the upload if the bytes it got don't have these.
    resource.insert("md5Hash".into(), STANDARD.encode(sums.md5).into());
    resource.insert("crc32c".into(), crate::checksum::encode(sums.crc32c).into());
    let content_type = resource
        .get("contentType")
        .and_then(|v| v.as_str())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let sep = boundary();
    let mut body = Vec::with_capacity(buf.len() + 1024);
    body.extend_from_slice(
        format!("--{sep}\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(serde_json::Value::Object(resource).to_string().as_bytes());
    body.extend_from_slice(
        format!("\r\n--{sep}\r\ncontent-type: {content_type}\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(&buf);
    body.extend_from_slice(format!("\r\n--{sep}--\r\n").as_bytes());
    let req = Req::new(
        Method::POST,
        b.client().upload(&format!("/b/{}/o", enc(&t.bucket))),
    )
    .query("uploadType", "multipart")
    .query_opt("predefinedAcl", b.opts.object_acl.as_ref())
    .header("content-type", format!("multipart/related; boundary={sep}"))
    .body(Bytes::from(body));
    let r = b.send(&req, "failed to upload", path.as_str()).await?;
    Ok((json(r, "upload answer", path.as_str()).await?, sums))
}

/// What one request to an upload session answered.
enum Session {
    /// Bytes `0..n` are stored; send from `n`.
    Has(u64),
    Done(Box<Object>),
}

async fn resumable(
    b: &Gcs,
    t: &Target,
    path: &RelPath,
    data: &mut ByteStream,
    opts: &PutOptions,
    resource: serde_json::Map<String, serde_json::Value>,
) -> Result<(Object, Sums)> {
    let total = opts.size;
    let mut journal = b
        .opts
        .resume
        .then(|| {
            Journal::new(
                b.client().endpoint(),
                &t.bucket,
                &t.key,
                total,
                opts.mtime,
                b.opts.chunk_size,
            )
        })
        .flatten();
    let mut md5 = Hasher::default();
    let (session, sent) = match continued(b, journal.as_ref(), path, total).await {
        Some((session, Session::Has(n))) => {
            skip(data, n, &mut md5, path).await?;
            (session, n)
        }
        Some((_, Session::Done(object))) => {
            skip(data, total, &mut md5, path).await?;
            if let Some(j) = &journal {
                j.discard();
            }
            return Ok((*object, md5.finish()));
        }
        None => (start_session(b, t, path, opts, resource).await?, 0),
    };
    if let Some(j) = journal.as_mut() {
        j.state.session = session.clone();
        j.record(sent);
    }
    let result = send_all(
        b,
        &session,
        path,
        data,
        total,
        sent,
        &mut md5,
        journal.as_mut(),
    )
    .await;
    match result {
        Ok(object) => {
            if let Some(j) = &journal {
                j.discard();
            }
            Ok((object, md5.finish()))
        }
        // Kept for the next run, unless the source changed.
        Err(e) if journal.is_some() && !e.message().contains("source changed") => {
            tracing::warn!(
                "{path}: resumable upload interrupted; run again with --resume to continue it"
            );
            Err(e)
        }
        Err(e) => {
            cancel(b, &session).await;
            if let Some(j) = &journal {
                j.discard();
            }
            Err(e)
        }
    }
}

/// The session an interrupted run left for this source, and what it holds.
async fn continued(
    b: &Gcs,
    journal: Option<&Journal>,
    path: &RelPath,
    total: u64,
) -> Option<(String, Session)> {
    match journal?.previous() {
        Previous::None => None,
        Previous::Changed(old) => {
            tracing::info!(
                "{path}: the source changed since the interrupted upload; starting over"
            );
            cancel(b, &old.session).await;
            None
        }
        Previous::Same(old) => match status(b, &old.session, path, total).await {
            Ok(s) => {
                let has = match &s {
                    Session::Has(n) => *n,
                    Session::Done(_) => total,
                };
                tracing::info!("{path}: resuming upload: {has} of {total} bytes already uploaded");
                Some((old.session, s))
            }
            Err(e) => {
                tracing::info!(
                    "{path}: the interrupted upload can't be continued ({e}); starting over"
                );
                None
            }
        },
    }
}

/// Reads (and hashes) the first `n` bytes the session already holds.
async fn skip(data: &mut ByteStream, n: u64, md5: &mut Hasher, path: &RelPath) -> Result<()> {
    let mut left = n;
    while left > 0 {
        let chunk = read_chunk(data, left.min(1 << 20), path).await?;
        if chunk.is_empty() {
            return Err(size_changed(path, n, n - left));
        }
        left -= chunk.len() as u64;
        md5.update(&chunk);
    }
    Ok(())
}

/// Sends the source from `sent` on, a chunk at a time, until the session has the object.
#[allow(clippy::too_many_arguments)]
async fn send_all(
    b: &Gcs,
    session: &str,
    path: &RelPath,
    data: &mut ByteStream,
    total: u64,
    mut sent: u64,
    md5: &mut Hasher,
    mut journal: Option<&mut Journal>,
) -> Result<Object> {
    loop {
        let want = b.opts.chunk_size.min(total - sent);
        let chunk = read_chunk(data, want, path).await?;
        if (chunk.len() as u64) < want {
            return Err(size_changed(path, total, sent + chunk.len() as u64));
        }
        md5.update(&chunk);
        // The last request carries the whole object's hashes: GCS refuses to finish an
        // object whose bytes don't have them.
        let last = sent + chunk.len() as u64 == total;
        let hashes = last.then(|| {
            let sums = md5.clone().finish();
            GoogHash::header(sums.crc32c, &sums.md5)
        });
        if last {
            // The last chunk's request finishes the object: nothing is visible before it.
            ferry_core::crash::point(ferry_core::crash::BEFORE_COMMIT);
        }
        let chunk = Bytes::from(chunk);
        match send_chunk(b, session, path, sent, chunk, total, hashes.as_deref()).await? {
            Session::Done(object) => {
                let mut extra = [0u8; 1];
                if data
                    .read(&mut extra)
                    .await
                    .map_err(|e| read_error(path, e))?
                    > 0
                {
                    return Err(size_changed(path, total, total + 1));
                }
                return Ok(*object);
            }
            Session::Has(n) => sent = n,
        }
        if let Some(j) = journal.as_deref_mut() {
            j.record(sent);
        }
        if sent < total {
            ferry_core::crash::point(ferry_core::crash::BETWEEN_PARTS);
        }
        if sent >= total {
            // Every byte is stored but the session did not finish: ask it to.
            if let Session::Done(object) = status(b, session, path, total).await? {
                return Ok(*object);
            }
            return Err(Error::new(
                ErrorKind::Io,
                "resumable upload: the server has every byte but did not finish the object",
            )
            .with_path(path.to_string())
            .temporary(true));
        }
    }
}

async fn start_session(
    b: &Gcs,
    t: &Target,
    path: &RelPath,
    opts: &PutOptions,
    resource: serde_json::Map<String, serde_json::Value>,
) -> Result<String> {
    let content_type = resource
        .get("contentType")
        .and_then(|v| v.as_str())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let req = Req::new(
        Method::POST,
        b.client().upload(&format!("/b/{}/o", enc(&t.bucket))),
    )
    .query("uploadType", "resumable")
    .query("name", t.key.clone())
    .query_opt("predefinedAcl", b.opts.object_acl.as_ref())
    .header("x-upload-content-type", content_type)
    .header("x-upload-content-length", opts.size.to_string())
    .json(&serde_json::Value::Object(resource));
    let r = b
        .send(&req, "failed to start a resumable upload", path.as_str())
        .await?;
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Io,
                "failed to start a resumable upload: the server gave no session URL",
            )
            .with_path(path.to_string())
        })
}

/// Sends `chunk` (bytes `start..` of `total`); after a failure, asks the session what it
/// has and sends the rest of the chunk from there.
async fn send_chunk(
    b: &Gcs,
    session: &str,
    path: &RelPath,
    start: u64,
    chunk: Bytes,
    total: u64,
    hashes: Option<&str>,
) -> Result<Session> {
    let end = start + chunk.len() as u64;
    let mut from = start;
    let mut attempt = 1;
    loop {
        let part = chunk.slice((from - start) as usize..);
        let mut req = Req::new(Method::PUT, session.to_owned())
            .header("content-range", format!("bytes {from}-{}/{total}", end - 1))
            .body(part);
        if let Some(h) = hashes {
            req = req.header("x-goog-hash", h);
        }
        match b.client().send_once(&req).await {
            Ok(r) => return answer(r, path).await,
            Err(f) if f.is_temporary() && attempt < CHUNK_ATTEMPTS => {
                let pause = ferry_core::retry::Backoff::DEFAULT.pause(attempt);
                tracing::debug!(
                    "{path}: resumable upload chunk failed ({}); resuming in {pause:?}",
                    f.message
                );
                tokio::time::sleep(pause).await;
                attempt += 1;
                match status(b, session, path, total).await? {
                    Session::Done(o) => return Ok(Session::Done(o)),
                    Session::Has(n) if (start..=end).contains(&n) => from = n,
                    Session::Has(n) => {
                        return Err(Error::new(
                            ErrorKind::Io,
                            format!("resumable upload: the server has {n} bytes, outside the chunk {start}-{end} being sent"),
                        )
                        .with_path(path.to_string())
                        .temporary(true))
                    }
                }
                if from == end {
                    return Ok(Session::Has(end));
                }
            }
            Err(f) => return Err(f.into_error("failed to upload", path.as_str())),
        }
    }
}

/// Asks the session how much it has (`Content-Range: bytes */TOTAL`, empty body).
async fn status(b: &Gcs, session: &str, path: &RelPath, total: u64) -> Result<Session> {
    let req = Req::new(Method::PUT, session.to_owned())
        .header("content-range", format!("bytes */{total}"));
    let r = b
        .send(&req, "failed to ask the upload session", path.as_str())
        .await?;
    answer(r, path).await
}

/// 308 and `Range: bytes=0-N` (none: nothing stored yet), or the finished object.
async fn answer(r: reqwest::Response, path: &RelPath) -> Result<Session> {
    let overridden = r
        .headers()
        .get("x-http-status-code-override")
        .and_then(|v| v.to_str().ok())
        == Some("308");
    if r.status().as_u16() == 308 || overridden {
        let has = r
            .headers()
            .get("range")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("bytes=0-"))
            .and_then(|n| n.parse::<u64>().ok())
            .map_or(0, |last| last + 1);
        return Ok(Session::Has(has));
    }
    Ok(Session::Done(
        json(r, "upload answer", path.as_str()).await?,
    ))
}

/// Ends a session that will not be finished (best effort: it expires anyway).
async fn cancel(b: &Gcs, session: &str) {
    let _ = b
        .client()
        .send_once(&Req::new(Method::DELETE, session.to_owned()))
        .await;
}

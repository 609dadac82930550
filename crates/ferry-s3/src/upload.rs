//! Uploads: one PutObject up to `upload_cutoff`, else a multipart upload whose parts go up
//! `upload_concurrency` at a time. Every ETag S3 answers with is checked against the bytes
//! sent, and every request whose MD5 is known beforehand carries it as Content-MD5.
//!
//! Memory per upload is bounded by a part, never by the file: a PutObject of up to one
//! part (`chunk_size`) is read into memory first (so it always goes with its Content-MD5
//! and the SDK can retry it), a larger one is streamed from the source as it is sent
//! (see [`crate::put_body`]); a multipart upload holds at most `upload_concurrency` parts.
//! So one transfer holds at most `upload_concurrency × part size` bytes of file data,
//! and a run `--transfers` times that (the bound rclone documents for its S3 backend).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream as SdkBody;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, ObjectCannedAcl, ServerSideEncryption, StorageClass,
};
use base64::Engine as _;
use bytes::Bytes;
use ferry_core::md5::{Digest, Md5};
use ferry_core::{ByteStream, Entry, Error, ErrorKind, HashKind, PutOptions, RelPath, Result};
use ferry_objstore::hasher::{block_md5, BlockMd5, UploadMd5};
use ferry_objstore::{ObjectStore, Target};
use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::error::sdk;
use crate::headers::Headers;
use crate::meta::{self, META_MD5};
use crate::options::S3Options;
use crate::put_body::{SourceFault, Streamed};
use crate::resume::Journal;
use crate::S3;

fn b64(d: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(d)
}

/// Reads until `want` bytes are in hand or the stream ends.
async fn read_up_to(data: &mut ByteStream, want: usize, path: &RelPath) -> Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(want);
    while buf.len() < want {
        let n = (&mut *data)
            .take((want - buf.len()) as u64)
            .read_to_end(&mut buf)
            .await
            .map_err(|e| Error::io("failed to read source", e).with_path(path.to_string()))?;
        if n == 0 {
            break;
        }
    }
    Ok(buf)
}

fn size_error(path: &RelPath, want: u64, got: u64) -> Error {
    Error::new(
        ErrorKind::Corrupted,
        format!("corrupted on transfer: sizes differ (source {want} vs transferred {got})"),
    )
    .with_path(path.to_string())
    .temporary(true)
}

fn corrupted(path: &RelPath, what: String) -> Error {
    Error::new(
        ErrorKind::Corrupted,
        format!("corrupted on transfer: {what}"),
    )
    .with_path(path.to_string())
    .temporary(true)
}

pub(crate) async fn put(
    b: &S3,
    t: &Target,
    path: &RelPath,
    data: ByteStream,
    opts: &PutOptions,
) -> Result<Entry> {
    if is_buffered(&b.opts, opts.size) {
        single(b, t, path, data, opts).await
    } else if opts.size <= b.opts.upload_cutoff {
        streamed(b, t, path, data, opts).await
    } else {
        multipart(b, t, path, data, opts).await
    }
}

/// Whether an upload of `size` bytes is one PutObject read into memory first: at most
/// one part, so no upload holds more than a multipart upload's part.
pub(crate) fn is_buffered(o: &S3Options, size: u64) -> bool {
    size <= o.upload_cutoff && size <= o.chunk_size
}

async fn single(
    b: &S3,
    t: &Target,
    path: &RelPath,
    mut data: ByteStream,
    opts: &PutOptions,
) -> Result<Entry> {
    let want = opts.size as usize;
    let buf = read_up_to(&mut data, want + 1, path).await?;
    if buf.len() as u64 != opts.size {
        return Err(size_error(path, opts.size, buf.len() as u64));
    }
    let digest: [u8; 16] = Md5::digest(&buf).into();
    let md5_hex = hex::encode(digest);
    let mut obj = Headers::for_put(path, opts);
    let mtime = obj.mtime.unwrap_or(opts.mtime);
    if !b.opts.etag_is_md5() && !b.opts.disable_checksum {
        obj.metadata.insert(META_MD5.into(), b64(&digest));
    }
    let mut req = b
        .client
        .put_object()
        .bucket(&t.bucket)
        .key(&t.key)
        .content_length(buf.len() as i64)
        .content_type(obj.content_type)
        .set_cache_control(obj.cache_control)
        .set_content_disposition(obj.content_disposition)
        .set_content_encoding(obj.content_encoding)
        .set_content_language(obj.content_language)
        .set_metadata(Some(obj.metadata));
    if !b.opts.disable_checksum {
        req = req.content_md5(b64(&digest));
    }
    req = with_object_options(b, req);
    // As for parts: the signed Content-MD5 covers the body, no SHA-256 of it as well.
    let mut op = req.body(SdkBody::from(Bytes::from(buf))).customize();
    if !b.opts.disable_checksum {
        op = op.disable_payload_signing();
    }
    let out = op
        .send()
        .await
        .map_err(|e| sdk("failed to upload", path.as_str(), e))?;
    let etag_md5 = out
        .e_tag()
        .filter(|_| b.opts.etag_is_md5())
        .and_then(meta::md5_from_etag);
    if let Some(stored) = &etag_md5 {
        if *stored != md5_hex {
            let _ = remove(b, t).await;
            return Err(corrupted(
                path,
                format!("md5 hashes differ (sent {md5_hex} vs stored {stored}); the bad copy was removed"),
            ));
        }
    }
    let mut e = Entry::file(path.clone(), opts.size, mtime);
    e.hashes.set(HashKind::Md5, etag_md5.unwrap_or(md5_hex));
    Ok(e)
}

/// The remote's `acl`, `storage_class`, `server_side_encryption` and `sse_kms_key_id`, for every request
/// that creates an object (a class set here wins over one set on `req` before).
macro_rules! object_options {
    ($name:ident, $ty:ty) => {
        pub(crate) fn $name(b: &S3, mut req: $ty) -> $ty {
            if let Some(acl) = &b.opts.acl {
                req = req.acl(ObjectCannedAcl::from(acl.as_str()));
            }
            if let Some(c) = &b.opts.storage_class {
                req = req.storage_class(StorageClass::from(c.as_str()));
            }
            if let Some(s) = &b.opts.server_side_encryption {
                req = req.server_side_encryption(ServerSideEncryption::from(s.as_str()));
            }
            if let Some(k) = &b.opts.sse_kms_key_id {
                req = req.ssekms_key_id(k);
            }
            req
        }
    };
}

object_options!(
    with_object_options,
    aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder
);
object_options!(
    with_upload_options,
    aws_sdk_s3::operation::create_multipart_upload::builders::CreateMultipartUploadFluentBuilder
);
object_options!(
    with_copy_options,
    aws_sdk_s3::operation::copy_object::builders::CopyObjectFluentBuilder
);

/// A PutObject streamed from the source (see [`crate::put_body`]). Its MD5 goes out as
/// Content-MD5 when known beforehand (the source's, or a local file's hashed first, as
/// rclone does), so S3 refuses damaged bytes; either way the MD5 of the bytes sent is
/// checked against the ETag, and a copy that doesn't match is removed.
async fn streamed(
    b: &S3,
    t: &Target,
    path: &RelPath,
    data: ByteStream,
    opts: &PutOptions,
) -> Result<Entry> {
    let known: Option<[u8; 16]> = opts
        .hashes
        .get(HashKind::Md5)
        .map(str::to_owned)
        .or_else(|| b.take_prehashed(t).map(|p| p.md5))
        .and_then(|h| hex::decode(h).ok())
        .and_then(|raw| raw.try_into().ok());
    let checksums = !b.opts.disable_checksum;
    let mut obj = Headers::for_put(path, opts);
    let mtime = obj.mtime.unwrap_or(opts.mtime);
    if let Some(k) = known.filter(|_| checksums && !b.opts.etag_is_md5()) {
        obj.metadata.insert(META_MD5.into(), b64(&k));
    }
    // With a Content-MD5, S3 checks the bytes itself: no need to hash them again here.
    let content_md5 = known.filter(|_| checksums);
    let (body, seen) = Streamed::new(data, opts.size, content_md5.is_none());
    let mut req = b
        .client
        .put_object()
        .bucket(&t.bucket)
        .key(&t.key)
        .content_length(opts.size as i64)
        .content_type(obj.content_type.clone())
        .set_cache_control(obj.cache_control.clone())
        .set_content_disposition(obj.content_disposition.clone())
        .set_content_encoding(obj.content_encoding.clone())
        .set_content_language(obj.content_language.clone())
        .set_metadata(Some(obj.metadata.clone()));
    req = req.set_content_md5(content_md5.map(|k| b64(&k)));
    let body = SdkBody::new(aws_smithy_types::body::SdkBody::from_body_1_x(body));
    let sent = with_object_options(b, req).body(body).send().await;
    let seen = std::mem::take(&mut *seen.lock().expect("lock"));
    let out = match (sent, seen.failure) {
        (Err(_), Some(fault)) => return Err(source_fault(path, opts.size, fault)),
        (Err(e), None) => return Err(sdk("failed to upload", path.as_str(), e)),
        (Ok(out), _) => out,
    };
    let Some(md5) = seen.md5.or(content_md5).filter(|_| seen.ended) else {
        // S3 took a body that never reached its end: never expected, never kept.
        let _ = remove(b, t).await;
        return Err(corrupted(
            path,
            "the request ended before the source did; the copy was removed".into(),
        ));
    };
    let md5_hex = hex::encode(md5);
    if let Some(k) = known.filter(|k| *k != md5) {
        let _ = remove(b, t).await;
        return Err(corrupted(
            path,
            format!(
                "md5 hashes differ (source {} vs transferred {md5_hex}); the bad copy was removed",
                hex::encode(k)
            ),
        ));
    }
    let etag_md5 = out
        .e_tag()
        .filter(|_| b.opts.etag_is_md5())
        .and_then(meta::md5_from_etag);
    if let Some(stored) = etag_md5.as_ref().filter(|s| **s != md5_hex) {
        // Not hashed here: the MD5 is the source's, sent as Content-MD5.
        let side = if seen.md5.is_some() { "sent" } else { "source" };
        let _ = remove(b, t).await;
        return Err(corrupted(
            path,
            format!(
                "md5 hashes differ ({side} {md5_hex} vs stored {stored}); the bad copy was removed"
            ),
        ));
    }
    if known.is_none() && checksums && !b.opts.etag_is_md5() {
        // The MD5 is known only now: store it as the buffered upload would have.
        obj.metadata.insert(META_MD5.into(), b64(&md5));
        obj.tier = b.opts.storage_class.clone();
        let info = obj.into_info(opts.size, Some(md5_hex.clone()));
        b.server_copy(t, t, path, Some(&info), opts.size).await?;
    }
    let mut e = Entry::file(path.clone(), opts.size, mtime);
    e.hashes.set(HashKind::Md5, etag_md5.unwrap_or(md5_hex));
    Ok(e)
}

/// A streamed source that did not have the size it announced (nothing was stored).
fn source_fault(path: &RelPath, want: u64, fault: SourceFault) -> Error {
    match fault {
        SourceFault::Short(got) => size_error(path, want, got),
        SourceFault::Long => corrupted(
            path,
            format!("sizes differ (source {want} vs transferred more); nothing was stored"),
        ),
    }
}

/// Removes a copy that failed its check (the result is ignored: the check's error is
/// what the caller reports).
async fn remove(b: &S3, t: &Target) -> Result<()> {
    b.delete(t, &t.key).await
}

/// One uploaded part: number, ETag, MD5 of its bytes.
type PartDone = (i32, String, [u8; 16]);
/// Parts an earlier run uploaded: number → (ETag, hex MD5).
type Parts = BTreeMap<i32, (String, String)>;

async fn multipart(
    b: &S3,
    t: &Target,
    path: &RelPath,
    data: ByteStream,
    opts: &PutOptions,
) -> Result<Entry> {
    let mut obj = Headers::for_put(path, opts);
    let mtime = obj.mtime.unwrap_or(opts.mtime);
    let prehashed = b.take_prehashed(t);
    let part_md5s = prehashed
        .as_ref()
        .and_then(|p| p.parts_for(b.opts.part_size(opts.size), opts.size))
        .map(<[_]>::to_vec);
    let known_hex = opts
        .hashes
        .get(HashKind::Md5)
        .map(str::to_owned)
        .or(prehashed.map(|p| p.md5));
    let known_md5 = known_hex
        .as_deref()
        .and_then(meta::md5_to_meta)
        .filter(|_| !b.opts.disable_checksum);
    if let Some(m) = &known_md5 {
        obj.metadata.insert(META_MD5.into(), m.clone());
    }
    let mut journal = b
        .opts
        .resume
        .then(|| {
            Journal::new(
                &b.endpoint_id,
                &t.bucket,
                &t.key,
                opts.size,
                opts.mtime,
                b.opts.part_size(opts.size),
            )
        })
        .flatten();
    let (upload_id, uploaded) = match &journal {
        Some(j) => resumable(b, t, path, j).await,
        None => (None, BTreeMap::new()),
    };
    let resumed = upload_id.is_some();
    // The `md5chksum` the upload was created with (by this run or the interrupted one).
    let (upload_id, md5_in_upload) = match upload_id {
        Some(resumed) => resumed,
        None => (create_upload(b, t, path, &obj).await?, known_md5.clone()),
    };
    if let Some(j) = journal.as_mut() {
        j.state.upload_id = upload_id.clone();
        j.state.md5_meta = md5_in_upload.clone();
        j.state.parts = uploaded.clone();
        if let Err(e) = j.save() {
            tracing::warn!(
                "{path}: can't write the resume journal {}: {e}",
                j.path().display()
            );
        }
    }
    // Without the parts' MD5s from before the upload, the whole stream's MD5 is what
    // checks the bytes against the source's own, so the caller needn't hash the stream
    // itself ([`S3::put_verifies`]); taken with the parts' in one pass.
    let need_whole = known_hex.is_none() || resumed || part_md5s.is_none();
    let job = PartsJob {
        upload_id: &upload_id,
        need_whole,
        part_md5s: part_md5s.as_deref(),
        uploaded: &uploaded,
        journal: journal.as_mut(),
    };
    let result = upload_parts(b, t, path, data, opts, job).await;
    let (parts, whole) = match result {
        Ok(done) => done,
        // Kept for the next run, unless the source changed or S3 dropped the upload.
        Err(e)
            if journal.is_some()
                && !e.message().contains("source changed")
                && !e.message().contains("NoSuchUpload") =>
        {
            tracing::warn!(
                "{path}: multipart upload interrupted; run again with --resume to continue it"
            );
            return Err(e);
        }
        Err(e) => {
            abort(b, t, path, &upload_id).await;
            if let Some(j) = &journal {
                j.discard();
            }
            return Err(e);
        }
    };
    ferry_core::crash::point(ferry_core::crash::BEFORE_COMMIT);
    let completed: Vec<CompletedPart> = parts
        .iter()
        .map(|(n, etag, _)| CompletedPart::builder().part_number(*n).e_tag(etag).build())
        .collect();
    let done = b
        .client
        .complete_multipart_upload()
        .bucket(&t.bucket)
        .key(&t.key)
        .upload_id(&upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await;
    let done = match done {
        Ok(d) => d,
        Err(e) => {
            let e = sdk("failed to complete multipart upload", path.as_str(), e);
            // Every part is on the server: with --resume a passing failure keeps them.
            if journal.is_some() && e.is_temporary() {
                return Err(e);
            }
            abort(b, t, path, &upload_id).await;
            if let Some(j) = &journal {
                j.discard();
            }
            return Err(e);
        }
    };
    if let Some(j) = &journal {
        j.discard();
    }
    // With the MD5 known in advance the stream was not hashed here: the caller checks the
    // bytes it streamed against the MD5 returned.
    let whole_hex = match (whole, &known_hex) {
        (Some(w), _) => hex::encode(w),
        (None, Some(k)) => k.clone(),
        (None, None) => unreachable!("the whole-file MD5 is computed when none is known"),
    };
    tracing::debug!(
        "{path}: multipart upload completed in {} parts of {} bytes",
        parts.len(),
        b.opts.part_size(opts.size)
    );
    // The ETag of a multipart object is the MD5 of the parts' MD5s: check it.
    if let Some(etag) = done.e_tag().filter(|_| b.opts.etag_is_md5()) {
        let etag = etag.trim_matches('"').to_ascii_lowercase();
        let part_md5s: Vec<[u8; 16]> = parts.iter().map(|p| p.2).collect();
        let expect = meta::multipart_etag(&part_md5s);
        if etag.contains('-') && etag != expect {
            let _ = remove(b, t).await;
            return Err(corrupted(
                path,
                format!("multipart ETag {etag} does not match the parts sent ({expect}); the bad copy was removed"),
            ));
        }
    }
    if let (Some(known), Some(whole)) = (&md5_in_upload, whole) {
        if *known != b64(&whole) {
            let _ = remove(b, t).await;
            return Err(corrupted(
                path,
                format!(
                    "md5 hashes differ (source {} vs transferred {whole_hex}); the bad copy was removed",
                    known_hex.as_deref().unwrap_or("")
                ),
            ));
        }
    } else if let Some(whole) = whole.filter(|_| {
        md5_in_upload.is_none() && !b.opts.disable_checksum && opts.size <= crate::options::MAX_COPY
    }) {
        // The whole-file MD5 is known only now: store it as rclone does, by rewriting the
        // object's metadata on the server.
        obj.metadata.insert(META_MD5.into(), b64(&whole));
        obj.tier = b.opts.storage_class.clone();
        let info = obj.clone().into_info(opts.size, Some(whole_hex.clone()));
        b.server_copy(t, t, path, Some(&info), opts.size).await?;
    }
    let mut e = Entry::file(path.clone(), opts.size, mtime);
    e.hashes.set(HashKind::Md5, whole_hex);
    Ok(e)
}

async fn create_upload(b: &S3, t: &Target, path: &RelPath, obj: &Headers) -> Result<String> {
    let req = b
        .client
        .create_multipart_upload()
        .bucket(&t.bucket)
        .key(&t.key)
        .content_type(obj.content_type.clone())
        .set_cache_control(obj.cache_control.clone())
        .set_content_disposition(obj.content_disposition.clone())
        .set_content_encoding(obj.content_encoding.clone())
        .set_content_language(obj.content_language.clone())
        .set_metadata(Some(obj.metadata.clone()));
    let created = with_upload_options(b, req)
        .send()
        .await
        .map_err(|e| sdk("failed to start multipart upload", path.as_str(), e))?;
    let Some(upload_id) = created.upload_id().map(str::to_owned) else {
        return Err(
            Error::new(ErrorKind::Io, "S3 returned no upload id").with_path(path.to_string())
        );
    };
    tracing::debug!("{path}: multipart upload {upload_id} started");
    Ok(upload_id)
}

/// The upload an earlier run left for this source, and its parts S3 still has (those
/// whose ETag matches the journal's). A stale upload for a changed source is aborted.
async fn resumable(
    b: &S3,
    t: &Target,
    path: &RelPath,
    j: &Journal,
) -> (Option<(String, Option<String>)>, Parts) {
    let old = match j.previous() {
        Ok(Some(old)) => old,
        Ok(None) => return (None, BTreeMap::new()),
        Err(stale) => {
            tracing::info!(
                "{path}: the source changed since the interrupted upload; starting again"
            );
            abort(b, t, path, &stale).await;
            return (None, BTreeMap::new());
        }
    };
    let kept: Parts = match list_parts(b, t, &old.upload_id).await {
        Listed::Gone => {
            tracing::info!(
                "{path}: the interrupted upload is gone from the server; starting again"
            );
            j.discard();
            return (None, BTreeMap::new());
        }
        Listed::Parts(on_server) => old
            .parts
            .into_iter()
            .filter(|(n, (etag, _))| on_server.get(n) == Some(etag))
            .collect(),
        // Parts enter the journal only once S3 acknowledged them; if the upload has
        // gone meanwhile, the next part or the completion fails with NoSuchUpload.
        Listed::Unknown => old.parts,
    };
    let total = old.size.div_ceil(old.part_size.max(1));
    tracing::info!(
        "{path}: resuming multipart upload: {} of {total} parts already uploaded",
        kept.len()
    );
    (Some((old.upload_id, old.md5_meta)), kept)
}

/// What S3 says of an upload's parts.
enum Listed {
    /// Part number → ETag.
    Parts(HashMap<i32, String>),
    /// S3 doesn't know the upload (aborted, expired or completed).
    Gone,
    /// The answer could not be had (some servers' ListParts replies don't parse).
    Unknown,
}

async fn list_parts(b: &S3, t: &Target, upload_id: &str) -> Listed {
    let mut parts = HashMap::new();
    let mut marker: Option<String> = None;
    loop {
        let out = b
            .client
            .list_parts()
            .bucket(&t.bucket)
            .key(&t.key)
            .upload_id(upload_id)
            .set_part_number_marker(marker.take())
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                let f = crate::error::Failure::of(&e);
                if f.is_not_found() {
                    return Listed::Gone;
                }
                tracing::debug!("{}: can't list the upload's parts: {}", t.key, f.message);
                return Listed::Unknown;
            }
        };
        for p in out.parts() {
            if let (Some(n), Some(e)) = (p.part_number(), p.e_tag()) {
                parts.insert(n, e.to_owned());
            }
        }
        match out.next_part_number_marker() {
            Some(m) if out.is_truncated().unwrap_or(false) => marker = Some(m.to_owned()),
            _ => return Listed::Parts(parts),
        }
    }
}

pub(crate) async fn abort(b: &S3, t: &Target, path: &RelPath, upload_id: &str) {
    let res = b
        .client
        .abort_multipart_upload()
        .bucket(&t.bucket)
        .key(&t.key)
        .upload_id(upload_id)
        .send()
        .await;
    match res {
        Ok(_) => tracing::debug!("{path}: multipart upload {upload_id} aborted"),
        Err(e) => tracing::error!(
            "{}",
            sdk("failed to abort multipart upload", path.as_str(), e)
        ),
    }
}

/// One multipart upload's parts to send.
struct PartsJob<'a> {
    upload_id: &'a str,
    /// Hash the whole stream (its MD5 is not known in advance).
    need_whole: bool,
    /// Each part's MD5, taken from the source before the upload: sent as Content-MD5
    /// and checked against the part's ETag instead of hashing the part again.
    part_md5s: Option<&'a [[u8; 16]]>,
    /// Parts an interrupted run already uploaded: read and checked, not sent.
    uploaded: &'a Parts,
    journal: Option<&'a mut Journal>,
}

/// Reads the stream part by part and uploads up to `upload_concurrency` parts at once
/// (so at most that many part buffers, plus the one being filled, are in memory).
async fn upload_parts(
    b: &S3,
    t: &Target,
    path: &RelPath,
    mut data: ByteStream,
    opts: &PutOptions,
    job: PartsJob<'_>,
) -> Result<(Vec<PartDone>, Option<[u8; 16]>)> {
    let PartsJob {
        upload_id,
        need_whole,
        part_md5s,
        uploaded,
        mut journal,
    } = job;
    let part_size = b.opts.part_size(opts.size) as usize;
    let slots = Arc::new(Semaphore::new(b.opts.upload_concurrency));
    let mut tasks: JoinSet<Result<PartDone>> = JoinSet::new();
    // The whole stream's MD5 and each part's are taken on one thread, in one pass.
    let whole = need_whole.then(UploadMd5::start);
    let mut total = 0u64;
    let mut done = Vec::new();
    let check_md5 = b.opts.etag_is_md5();
    let send_md5 = !b.opts.disable_checksum;
    let mut number: i32 = 0;
    let outcome: Result<()> = async {
        loop {
            let permit = slots.clone().acquire_owned().await.expect("semaphore open");
            // Collect finished parts, stopping at the first failure.
            while let Some(joined) = tasks.try_join_next() {
                let part = joined.map_err(join_error)??;
                finished(&mut done, journal.as_deref_mut(), part);
                ferry_core::crash::point(ferry_core::crash::BETWEEN_PARTS);
            }
            let buf = read_up_to(&mut data, part_size, path).await?;
            if buf.is_empty() && number > 0 {
                break;
            }
            number += 1;
            total += buf.len() as u64;
            if total > opts.size {
                return Err(size_error(path, opts.size, total));
            }
            let last = buf.len() < part_size;
            let buf = Bytes::from(buf);
            if let Some(part) = already_uploaded(uploaded, number, &buf, path)? {
                if let Some(w) = &whole {
                    w.update(buf).await?;
                }
                done.push(part);
                if last {
                    break;
                }
                continue;
            }
            let req = b
                .client
                .upload_part()
                .bucket(&t.bucket)
                .key(&t.key)
                .upload_id(upload_id)
                .part_number(number)
                .content_length(buf.len() as i64);
            let (n, shown) = (number, path.to_string());
            let known = part_md5s.and_then(|m| m.get(n as usize - 1)).copied();
            let own = match (known, &whole) {
                (Some(d), Some(w)) => {
                    w.update(buf.clone()).await?;
                    PartMd5::Known(d)
                }
                (Some(d), None) => PartMd5::Known(d),
                (None, Some(w)) => PartMd5::Hashing(w.block(buf.clone()).await?),
                (None, None) => PartMd5::Apart,
            };
            tasks.spawn(async move {
                let _permit = permit;
                // Parts not hashed beforehand are hashed off this task, in parallel with
                // reading the next and with other parts' requests.
                let digest = match own {
                    PartMd5::Known(d) => d,
                    PartMd5::Hashing(h) => h.get().await?,
                    PartMd5::Apart => block_md5(buf.clone()).await?,
                };
                let req = req
                    .set_content_md5(send_md5.then(|| b64(&digest)))
                    .body(SdkBody::from(buf));
                // The signed Content-MD5 binds the body to the request: S3 refuses a
                // body that doesn't match it, so signing the body's SHA-256 as well
                // only spends CPU on a second hash of every byte.
                let mut op = req.customize();
                if send_md5 {
                    op = op.disable_payload_signing();
                }
                let out = op
                    .send()
                    .await
                    .map_err(|e| sdk(&format!("failed to upload part {n}"), &shown, e))?;
                let etag = out.e_tag().unwrap_or_default().to_owned();
                if check_md5 {
                    if let Some(stored) = meta::md5_from_etag(&etag) {
                        if stored != hex::encode(digest) {
                            let cause = if known.is_some() {
                                " (as hashed before the upload: the source may have changed)"
                            } else {
                                ""
                            };
                            return Err(Error::new(
                                ErrorKind::Corrupted,
                                format!(
                                    "corrupted on transfer: part {n} stored with md5 {stored}, sent {}{cause}",
                                    hex::encode(digest)
                                ),
                            )
                            .with_path(shown)
                            .temporary(true));
                        }
                    }
                }
                Ok((n, etag, digest))
            });
            if last {
                break;
            }
        }
        while let Some(joined) = tasks.join_next().await {
            let part = joined.map_err(join_error)??;
            finished(&mut done, journal.as_deref_mut(), part);
        }
        Ok(())
    }
    .await;
    if let Err(e) = outcome {
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        return Err(e);
    }
    if total != opts.size {
        return Err(size_error(path, opts.size, total));
    }
    done.sort_by_key(|p| p.0);
    let whole = match whole {
        Some(w) => Some(w.finish().await?),
        None => None,
    };
    Ok((done, whole))
}

fn finished(done: &mut Vec<PartDone>, journal: Option<&mut Journal>, part: PartDone) {
    if let Some(j) = journal {
        j.record(part.0, &part.1, &part.2);
    }
    done.push(part);
}

/// A part an earlier run uploaded, if its bytes are still the same.
fn already_uploaded(
    uploaded: &Parts,
    number: i32,
    buf: &[u8],
    path: &RelPath,
) -> Result<Option<PartDone>> {
    let Some((etag, md5)) = uploaded.get(&number) else {
        return Ok(None);
    };
    let digest: [u8; 16] = Md5::digest(buf).into();
    if hex::encode(digest) != *md5 {
        return Err(Error::new(
            ErrorKind::Corrupted,
            format!("source changed since the interrupted upload (part {number} differs); starting again on the next try"),
        )
        .with_path(path.to_string())
        .temporary(true));
    }
    Ok(Some((number, etag.clone(), digest)))
}

/// Where a part's MD5 comes from.
enum PartMd5 {
    /// Taken from the source before the upload.
    Known([u8; 16]),
    /// Taken with the whole stream's, on the upload's hashing thread.
    Hashing(BlockMd5),
    /// On the blocking pool, by itself (no whole MD5 is wanted).
    Apart,
}

fn join_error(e: tokio::task::JoinError) -> Error {
    Error::new(ErrorKind::Io, format!("upload task failed: {e}"))
}

//! Block blob uploads: one Put Blob up to the cutoff, else blocks staged in parallel and
//! committed with Put Block List. Every request carries the Content-MD5 of its body, so
//! the service refuses damaged bytes; the whole blob's MD5 is stored for later checks.
//! Nothing is visible under the blob's name until the final request succeeds.
//!
//! Memory per upload is bounded by blocks, never by the file: a staged upload holds at
//! most `upload_concurrency` blocks, the one being read included, and a Put Blob (read
//! whole, for its Content-MD5) is used only up to that much, whatever `upload_cutoff`
//! says. So one transfer holds at most `upload_concurrency × block size` bytes of file
//! data, and a run `--transfers` times that (the bound rclone documents for its Azure
//! backend).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use ferry_core::md5::{Digest, Md5};
use ferry_core::{ByteStream, Entry, Error, ErrorKind, HashKind, PutOptions, RelPath, Result};
use http::Method;
use tokio::io::AsyncReadExt;

use std::sync::Arc;

use crate::client::{Client, Req};
use crate::hasher::WholeMd5;
use crate::options::{AzOptions, MAX_BLOCK, MAX_BLOCKS};
use crate::pool::Pool;
use crate::props::BlobProps;
use ferry_objstore::Target;

use crate::{rest_path, Azure};

pub(crate) async fn put(
    b: &Azure,
    t: &Target,
    path: &RelPath,
    mut data: ByteStream,
    opts: &PutOptions,
) -> Result<Entry> {
    let md5 = if opts.size <= put_blob_max(&b.opts) {
        Some(single(b, t, path, &mut data, opts).await?)
    } else {
        blocks(b, t, path, &mut data, opts).await?
    };
    let mtime = BlobProps::for_put(path, opts).mtime;
    let mut entry = Entry::file(path.clone(), opts.size, mtime);
    if let Some(md5) = md5 {
        entry.hashes.set(HashKind::Md5, md5);
    }
    Ok(entry)
}

/// The largest file sent with one Put Blob: `upload_cutoff`, but never more than a
/// block upload would hold in memory at once.
fn put_blob_max(o: &AzOptions) -> u64 {
    let blocks = o.chunk_size.saturating_mul(o.upload_concurrency as u64);
    o.upload_cutoff.min(blocks)
}

/// The headers every new blob gets: its metadata (`mtime` at least), content
/// properties (Content-Type at least), access tier and index tags.
fn blob_headers(b: &Azure, path: &RelPath, opts: &PutOptions, req: Req) -> Req {
    let mut req = BlobProps::for_put(path, opts).apply(req);
    if let Some(tier) = &b.opts.access_tier {
        req = req.header("x-ms-access-tier", tier);
    }
    if let Some(tags) = &b.opts.blob_tags {
        req = req.header("x-ms-tags", tags);
    }
    req
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

async fn single(
    b: &Azure,
    t: &Target,
    path: &RelPath,
    data: &mut ByteStream,
    opts: &PutOptions,
) -> Result<String> {
    let mut buf = Vec::with_capacity(opts.size as usize);
    data.take(opts.size + 1)
        .read_to_end(&mut buf)
        .await
        .map_err(|e| read_error(path, e))?;
    if buf.len() as u64 != opts.size {
        return Err(size_changed(path, opts.size, buf.len() as u64));
    }
    let md5 = Md5::digest(&buf);
    let req = Req::new(Method::PUT, rest_path(t))
        .header("x-ms-blob-type", "BlockBlob")
        .header("content-md5", STANDARD.encode(md5))
        .body(Bytes::from(buf));
    let req = blob_headers(b, path, opts, req);
    b.send(&req, "failed to upload", path.as_str()).await?;
    Ok(hex::encode(md5))
}

/// The block size for a file: the configured chunk size, grown when the file would
/// otherwise need more than Azure's 50,000 blocks.
fn block_size(chunk: u64, size: u64) -> u64 {
    let needed = size.div_ceil(MAX_BLOCKS);
    let mib = 1024 * 1024;
    chunk.max(needed.div_ceil(mib) * mib).min(MAX_BLOCK)
}

/// The whole blob's MD5, taken beside the reads (see [`WholeMd5`]), when it is to be
/// stored: with `disable_checksum` (azcopy without --put-md5) nothing would keep it, and
/// hashing every byte for nothing cost a quarter of a large upload's CPU time. Each block
/// is still checked by its own Content-MD5 when `block_md5` asks, and the size always.
fn whole_md5(o: &AzOptions) -> Option<WholeMd5> {
    (!o.disable_checksum).then(WholeMd5::start)
}

/// Block IDs: the block's number and a random tag, so retries and concurrent writers
/// never commit each other's blocks (the same layout rclone uses).
fn block_id(index: u64, tag: &[u8; 8]) -> String {
    let mut raw = [0u8; 16];
    raw[..8].copy_from_slice(&index.to_be_bytes());
    raw[8..].copy_from_slice(tag);
    STANDARD.encode(raw)
}

async fn blocks(
    b: &Azure,
    t: &Target,
    path: &RelPath,
    data: &mut ByteStream,
    opts: &PutOptions,
) -> Result<Option<String>> {
    let block = block_size(b.opts.chunk_size, opts.size) as usize;
    let tag: [u8; 8] = rand::random();
    let whole = whole_md5(&b.opts);
    let mut total = 0u64;
    let mut ids = Vec::new();
    let pool = Pool::new();
    // Dropped on an early return, which aborts the blocks still in flight.
    let mut inflight = tokio::task::JoinSet::new();
    loop {
        // A slot first, then the read: the block being filled counts among those in flight.
        while inflight.len() >= b.opts.upload_concurrency {
            joined(inflight.join_next().await.expect("non-empty"))?;
            ferry_core::crash::point(ferry_core::crash::BETWEEN_PARTS);
        }
        let buf = pool
            .fill(&mut *data, block)
            .await
            .map_err(|e| read_error(path, e))?;
        if buf.is_empty() {
            break;
        }
        total += buf.len() as u64;
        if total > opts.size {
            return Err(size_changed(path, opts.size, total));
        }
        if let Some(h) = &whole {
            h.update(buf.clone()).await?;
        }
        let id = block_id(ids.len() as u64, &tag);
        ids.push(id.clone());
        let last = buf.len() < block;
        // Each block is hashed and sent on its own task, in parallel with reading the next.
        let (client, rest, shown) = (b.client.clone(), rest_path(t), path.to_string());
        let check = b.opts.block_md5;
        inflight.spawn(stage(client, rest, shown, id, buf, check));
        if last {
            break;
        }
    }
    while let Some(done) = inflight.join_next().await {
        joined(done)?;
    }
    if total != opts.size {
        return Err(size_changed(path, opts.size, total));
    }
    ferry_core::crash::point(ferry_core::crash::BEFORE_COMMIT);
    let md5 = match whole {
        Some(h) => Some(h.finish().await?),
        None => None,
    };
    let mut list = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
    for id in &ids {
        list.push_str("<Latest>");
        list.push_str(id);
        list.push_str("</Latest>");
    }
    list.push_str("</BlockList>");
    let mut req = Req::new(Method::PUT, rest_path(t))
        .query("comp", "blocklist")
        .body(Bytes::from(list));
    if let Some(md5) = &md5 {
        req = req.header("x-ms-blob-content-md5", STANDARD.encode(md5));
    }
    let req = blob_headers(b, path, opts, req);
    b.send(&req, "failed to commit the uploaded blocks", path.as_str())
        .await?;
    Ok(md5.map(hex::encode))
}

async fn stage(
    client: Arc<Client>,
    rest: String,
    path: String,
    id: String,
    body: Bytes,
    check: bool,
) -> Result<()> {
    let mut req = Req::new(Method::PUT, rest)
        .query("comp", "block")
        .query("blockid", id);
    if check {
        // On the blocking pool: a runtime thread meanwhile keeps other blocks moving.
        let bytes = body.clone();
        let md5 = tokio::task::spawn_blocking(move || Md5::digest(&bytes))
            .await
            .map_err(|e| Error::new(ErrorKind::Io, format!("upload task failed: {e}")))?;
        req = req.header("content-md5", STANDARD.encode(md5));
    }
    let req = req.body(body);
    client
        .send(&req)
        .await
        .map(|_| ())
        .map_err(|f| f.into_error("failed to upload a block", &path, client.uses_sas()))
}

fn joined(r: std::result::Result<Result<()>, tokio::task::JoinError>) -> Result<()> {
    r.map_err(|e| Error::new(ErrorKind::Io, format!("upload task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_grow_past_fifty_thousand() {
        let mib = 1024 * 1024;
        assert_eq!(block_size(4 * mib, 10 * mib), 4 * mib);
        // 1 TiB in 4 MiB blocks would be 262,144 blocks.
        let b = block_size(4 * mib, 1024 * 1024 * mib);
        assert!(b > 4 * mib && (1024 * 1024 * mib).div_ceil(b) <= MAX_BLOCKS);
        assert_eq!(b % mib, 0);
    }

    #[test]
    fn put_blob_never_holds_more_than_the_blocks_would() {
        let mib = 1024 * 1024;
        let o = |cutoff: &str| {
            let cutoff = cutoff.to_owned();
            AzOptions::from_pairs(&[("use_emulator", "true"), ("upload_cutoff", &cutoff)]).unwrap()
        };
        // 4 MiB blocks, 16 at a time.
        assert_eq!(put_blob_max(&o("4Mi")), 4 * mib);
        assert_eq!(put_blob_max(&o("32Mi")), 32 * mib);
        assert_eq!(put_blob_max(&o("256Mi")), 64 * mib);
    }

    #[tokio::test]
    async fn the_whole_md5_is_taken_only_to_be_stored() {
        let o = |pairs: &[(&str, &str)]| {
            let mut all = vec![("use_emulator", "true")];
            all.extend_from_slice(pairs);
            AzOptions::from_pairs(&all).unwrap()
        };
        assert!(whole_md5(&o(&[])).is_some());
        // azcopy without --put-md5: nothing keeps it, so no byte is hashed for it.
        let bare = o(&[("disable_checksum", "true"), ("block_md5", "false")]);
        assert!(whole_md5(&bare).is_none());
    }

    #[test]
    fn block_ids_are_fixed_length_and_ordered() {
        let tag = [7u8; 8];
        let (a, z) = (block_id(0, &tag), block_id(49_999, &tag));
        assert_eq!(a.len(), z.len());
        assert_ne!(a, z);
        assert_eq!(STANDARD.decode(&z).unwrap()[..8], 49_999u64.to_be_bytes());
    }
}

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
use crate::options::{AzOptions, MAX_BLOCK, MAX_BLOCKS};
use crate::pool::Pool;
use crate::props::{BlobProps, Guess};
use ferry_core::mime::azcopy::SNIFF_LEN;
use ferry_objstore::hasher::{block_md5, BlockMd5, UploadMd5};
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
    let mtime = BlobProps::for_put(path, opts, Guess::Rclone).mtime;
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
/// `head`: the content's first bytes, for azcopy's guess of the Content-Type.
fn blob_headers(b: &Azure, path: &RelPath, opts: &PutOptions, head: &[u8], req: Req) -> Req {
    let guess = match b.opts.azcopy_content_type {
        true => Guess::Azcopy(head),
        false => Guess::Rclone,
    };
    let mut req = BlobProps::for_put(path, opts, guess).apply(req);
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
    let md5: [u8; 16] = Md5::digest(&buf).into();
    against_source(path, opts, &md5)?;
    let head = buf[..buf.len().min(SNIFF_LEN)].to_vec();
    let req = Req::new(Method::PUT, rest_path(t))
        .header("x-ms-blob-type", "BlockBlob")
        .header("content-md5", STANDARD.encode(md5))
        .body(Bytes::from(buf));
    let req = blob_headers(b, path, opts, &head, req);
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

/// The whole blob's MD5, taken beside the reads (see [`UploadMd5`]), when it is to be
/// stored: with `disable_checksum` (azcopy without --put-md5) nothing would keep it, and
/// hashing every byte for nothing cost a quarter of a large upload's CPU time. Each block
/// is still checked by its own Content-MD5 when `block_md5` asks, and the size always.
fn whole_md5(o: &AzOptions) -> Option<UploadMd5> {
    (!o.disable_checksum).then(UploadMd5::start)
}

/// The source's own MD5, when it lists one.
fn source_md5(opts: &PutOptions) -> Option<[u8; 16]> {
    let listed = hex::decode(opts.hashes.get(HashKind::Md5)?).ok()?;
    listed.try_into().ok()
}

/// Whether an upload of `opts` checks the MD5 of the bytes it sends against the
/// source's own (see [`against_source`]): a Put Blob always hashes its bytes, blocks
/// only when the whole MD5 is taken.
pub(crate) fn checks_source(o: &AzOptions, opts: &PutOptions) -> bool {
    source_md5(opts).is_some() && (!o.disable_checksum || opts.size <= put_blob_max(o))
}

/// The MD5 of the bytes read against the source's own, before anything is committed:
/// the bytes that go out are those the source listed (see [`checks_source`]).
fn against_source(path: &RelPath, opts: &PutOptions, sent: &[u8; 16]) -> Result<()> {
    match source_md5(opts) {
        Some(listed) if listed != *sent => Err(Error::new(
            ErrorKind::Corrupted,
            format!(
                "corrupted on transfer: md5 hashes differ (source {} vs transferred {}); nothing was stored",
                hex::encode(listed),
                hex::encode(sent)
            ),
        )
        .with_path(path.to_string())
        .temporary(true)),
        _ => Ok(()),
    }
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
    let mut head = Vec::new(); // the first bytes, for a Content-Type guessed from them
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
        if head.is_empty() {
            head = buf[..buf.len().min(SNIFF_LEN)].to_vec();
        }
        total += buf.len() as u64;
        if total > opts.size {
            return Err(size_changed(path, opts.size, total));
        }
        // A block's own MD5 is taken with the whole one where both are wanted.
        let check = match (&whole, b.opts.block_md5) {
            (Some(h), true) => Check::Hashing(h.block(buf.clone()).await?),
            (Some(h), false) => {
                h.update(buf.clone()).await?;
                Check::None
            }
            (None, true) => Check::Apart,
            (None, false) => Check::None,
        };
        let id = block_id(ids.len() as u64, &tag);
        ids.push(id.clone());
        let last = buf.len() < block;
        // Each block is sent on its own task, in parallel with reading the next.
        let (client, rest, shown) = (b.client.clone(), rest_path(t), path.to_string());
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
    if let Some(md5) = &md5 {
        against_source(path, opts, md5)?;
    }
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
    let req = blob_headers(b, path, opts, &head, req);
    b.send(&req, "failed to commit the uploaded blocks", path.as_str())
        .await?;
    Ok(md5.map(hex::encode))
}

/// Where a block's Content-MD5 comes from.
enum Check {
    /// None is sent (`block_md5` off).
    None,
    /// Taken with the whole blob's, on the upload's hashing thread.
    Hashing(BlockMd5),
    /// On the blocking pool, by itself (no whole MD5 is kept).
    Apart,
}

async fn stage(
    client: Arc<Client>,
    rest: String,
    path: String,
    id: String,
    body: Bytes,
    check: Check,
) -> Result<()> {
    let mut req = Req::new(Method::PUT, rest)
        .query("comp", "block")
        .query("blockid", id);
    let md5 = match check {
        Check::None => None,
        Check::Hashing(h) => Some(h.get().await?),
        Check::Apart => Some(block_md5(body.clone()).await?),
    };
    if let Some(md5) = md5 {
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
    fn the_source_md5_is_checked_whenever_the_bytes_are_hashed() {
        let o = |pairs: &[(&str, &str)]| {
            let mut all = vec![("use_emulator", "true")];
            all.extend_from_slice(pairs);
            AzOptions::from_pairs(&all).unwrap()
        };
        let abc = "900150983cd24fb0d6963f7d28e17f72";
        let put = |size: u64, md5: Option<&str>| {
            let mut p = PutOptions {
                size,
                mtime: std::time::SystemTime::UNIX_EPOCH,
                inplace: false,
                hashes: Default::default(),
                metadata: None,
            };
            if let Some(m) = md5 {
                p.hashes.set(HashKind::Md5, m.to_owned());
            }
            p
        };
        let big = 1 << 30;
        assert!(checks_source(&o(&[]), &put(3, Some(abc))));
        assert!(checks_source(&o(&[]), &put(big, Some(abc))));
        // Without a listed MD5 (or an unreadable one) there is nothing to check against.
        assert!(!checks_source(&o(&[]), &put(big, None)));
        assert!(!checks_source(&o(&[]), &put(big, Some("not-hex"))));
        // Blocks without a whole MD5 are not hashed whole; a Put Blob still is.
        let bare = o(&[("disable_checksum", "true")]);
        assert!(!checks_source(&bare, &put(big, Some(abc))));
        assert!(checks_source(&bare, &put(3, Some(abc))));

        let sent: [u8; 16] = Md5::digest(b"abc").into();
        let path = RelPath::new("d/f.bin").unwrap();
        assert!(against_source(&path, &put(3, Some(abc)), &sent).is_ok());
        assert!(against_source(&path, &put(3, None), &sent).is_ok());
        let other: [u8; 16] = Md5::digest(b"abd").into();
        let e = against_source(&path, &put(3, Some(abc)), &other).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupted);
        assert!(e.is_temporary());
        assert!(e.to_string().contains(abc), "{e}");
        assert!(e.to_string().contains("nothing was stored"), "{e}");
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

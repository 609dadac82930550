//! Multi-thread downloads (rclone's `--multi-thread-*`): a big file from a remote that
//! reads in parallel, into a destination that writes at offsets, as chunks of
//! `multi_thread_chunk_size` read `multi_thread_streams` at a time in the file's order.
//!
//! In order matters for the check: no stream sees the whole file, so the destination
//! hashes what was written, following the written bytes from the start. With one range
//! per stream, the start arrived at a quarter of the link's speed while the rest
//! arrived alongside, and most of the hashing waited for the last byte.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use ferry_core::{ByteStream, Entry, PutOptions, RelPath, Result};
use futures::future::BoxFuture;
use tokio::io::{AsyncRead, ReadBuf};

use crate::account::{Accounted, Overrun, StreamHashes};
use crate::stats::Flight;
use crate::sync::Ctx;
use crate::transfer::{compare_hash, open_for_copy, overrun_or};
use crate::Verify;

/// At most this many chunks per file, whatever `--multi-thread-chunk-size` asks: each
/// is an entry waiting in memory until its turn.
const MOST_CHUNKS: u64 = 4096;

/// Copies `src` in ranges when the file, the source and the destination allow it;
/// `Ok(None)` when they don't (the caller streams it instead).
pub(crate) async fn ranged_copy(
    ctx: &Arc<Ctx>,
    src: &Entry,
    dst_path: &RelPath,
    opts: &mut PutOptions,
    flight: &Option<Arc<Flight>>,
) -> Result<Option<Entry>> {
    let o = &ctx.job.opts;
    let (from, to) = (&ctx.job.src, &ctx.job.dst);
    if o.multi_thread_streams < 2
        || src.size_unknown
        || src.size < o.multi_thread_cutoff
        || !to.features().caps.ranged_put
        || !from.features().caps.parallel_reads
    {
        return Ok(None);
    }
    let spans = chunks(src.size, o.multi_thread_chunk_size);
    let streams = o.multi_thread_streams.min(spans.len());
    if streams < 2 {
        return Ok(None); // one chunk: a plain copy hashes it as it streams
    }
    // The first chunks are opened at once: opened one after the other, each waited for
    // the previous one's response headers. Only the first one's read may tell the exact
    // mtime, so only it gets `opts`; the others get copies, whose changes would be the
    // same or none. Later chunks are opened when their turn comes.
    let copies: Vec<PutOptions> = spans[1..streams].iter().map(|_| opts.clone()).collect();
    let rest = spans[1..streams]
        .iter()
        .zip(copies)
        .map(|(&(offset, len), mut mine)| async move {
            open_for_copy(ctx, src, offset, Some(len), &mut mine).await
        });
    let first = open_for_copy(ctx, src, 0, Some(spans[0].1), opts);
    let (first, rest) = futures::future::join(first, futures::future::try_join_all(rest)).await;
    let opened = std::iter::once(first?).chain(rest?);
    let later = spans[streams..].iter().map(|&(offset, len)| {
        let (ctx, src, mut mine) = (ctx.clone(), src.clone(), opts.clone());
        let open = async move { open_for_copy(&ctx, &src, offset, Some(len), &mut mine).await };
        Box::pin(Deferred::Opening(Box::pin(open))) as ByteStream
    });
    let overrun = Overrun::default();
    // One `--bwlimit-file` bucket for the file, whichever chunk the bytes are in.
    let own = ctx.limits.file_bucket();
    let ranges = spans
        .iter()
        .zip(opened.chain(later))
        .map(|(&(offset, len), reader)| {
            let counted = Accounted::new(
                reader,
                ctx.job.stats.clone(),
                ctx.limits.clone(),
                StreamHashes::default(),
            )
            .bounded(len, overrun.clone())
            .for_file(flight.clone())
            .per_file(own.clone());
            (offset, Box::pin(counted) as ByteStream)
        })
        .collect();
    tracing::debug!(
        "{}: downloading in {} chunks, {streams} at a time",
        src.path,
        spans.len()
    );
    // The one hash to check, as the source's hashes: a destination that hashes what it
    // writes as it arrives reports it on the stored entry, sparing a second read.
    let check = ctx
        .hash
        .filter(|_| o.verify != Verify::Off)
        .and_then(|kind| src.hashes.get(kind).map(|known| (kind, known.to_owned())));
    let mut ranged_opts = opts.clone();
    ranged_opts.hashes = Default::default();
    if let Some((kind, known)) = &check {
        ranged_opts.hashes.set(*kind, known.clone());
    }
    let stored = to
        .put_ranges(dst_path, ranges, streams, &ranged_opts)
        .await
        .map_err(|e| overrun_or(e, &overrun, src))?;
    let Some(stored) = stored else {
        return Ok(None);
    };
    if let Some((kind, known)) = check {
        let written = match stored.hashes.get(kind) {
            Some(h) => Some(h.to_owned()),
            None => to.hash(dst_path, kind).await?,
        };
        if let Some(written) = written {
            compare_hash(ctx, dst_path, kind, "source", &known, &written).await?;
        }
    }
    Ok(Some(stored))
}

/// `size` bytes cut into (offset, length) chunks of `chunk` bytes (the last one shorter),
/// at most [`MOST_CHUNKS`] of them.
fn chunks(size: u64, chunk: u64) -> Vec<(u64, u64)> {
    let chunk = chunk.max(size.div_ceil(MOST_CHUNKS)).max(1);
    (0..size.div_ceil(chunk))
        .map(|i| (i * chunk, chunk.min(size - i * chunk)))
        .collect()
}

/// A range opened on its first read.
enum Deferred {
    Opening(BoxFuture<'static, Result<ByteStream>>),
    Open(ByteStream),
    Failed,
}

impl AsyncRead for Deferred {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            match &mut *self {
                Deferred::Opening(open) => match ready!(open.as_mut().poll(cx)) {
                    Ok(stream) => *self = Deferred::Open(stream),
                    Err(e) => {
                        *self = Deferred::Failed;
                        // Error::io takes the error back out, kind and all.
                        return Poll::Ready(Err(io::Error::other(e)));
                    }
                },
                Deferred::Open(stream) => return stream.as_mut().poll_read(cx, buf),
                Deferred::Failed => {
                    return Poll::Ready(Err(io::Error::other("the range failed to open")))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_file_once_in_order() {
        assert_eq!(chunks(10, 4), [(0, 4), (4, 4), (8, 2)]);
        assert_eq!(chunks(8, 4), [(0, 4), (4, 4)]);
        assert_eq!(chunks(3, 64), [(0, 3)]);
        assert!(chunks(0, 4).is_empty());
        // A tiny chunk size on a big file: capped, and still the whole file.
        let many = chunks(1 << 40, 1);
        assert_eq!(many.len() as u64, MOST_CHUNKS);
        assert_eq!(many.iter().map(|c| c.1).sum::<u64>(), 1 << 40);
        assert!(many.windows(2).all(|w| w[0].0 + w[0].1 == w[1].0));
    }
}

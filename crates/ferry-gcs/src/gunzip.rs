//! `decompress`: an object stored with `Content-Encoding: gzip` is decompressed as it is
//! read, as rclone's Go transport does. GCS is always asked for the stored bytes
//! (`Accept-Encoding: gzip`) and ferry decompresses them itself, so what arrives is the
//! same whether or not the server would have transcoded. Several gzip members in a row
//! are read as one stream (Go's gzip reader does the same).

use std::io::Write;

use bytes::Bytes;
use ferry_core::ByteStream;
use flate2::write::MultiGzDecoder;
use futures::{Stream, TryStreamExt};

/// The decompressed bytes of `stored` from `offset`, at most `len` of them (a range of
/// the decompressed content has to be read from its start).
pub(crate) fn gunzip(stored: ByteStream, offset: u64, len: Option<u64>) -> ByteStream {
    let chunks = tokio_util::io::ReaderStream::new(stored);
    let plain = decode(chunks);
    let ranged = window(plain, offset, len);
    Box::pin(tokio_util::io::StreamReader::new(ranged))
}

fn bad_gzip(e: std::io::Error) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("can't decompress the object (stored with Content-Encoding: gzip): {e}; read it as stored without decompress"),
    )
}

/// Decompresses a stream of gzip chunks.
fn decode<S>(chunks: S) -> impl Stream<Item = std::io::Result<Bytes>> + Send
where
    S: Stream<Item = std::io::Result<Bytes>> + Send + Unpin + 'static,
{
    let state = Some((chunks, MultiGzDecoder::new(Vec::new())));
    futures::stream::try_unfold(state, |state| async move {
        let Some((mut chunks, mut dec)) = state else {
            return Ok(None);
        };
        loop {
            match chunks.try_next().await? {
                Some(chunk) => {
                    dec.write_all(&chunk).map_err(bad_gzip)?;
                    let out = std::mem::take(dec.get_mut());
                    if !out.is_empty() {
                        return Ok(Some((Bytes::from(out), Some((chunks, dec)))));
                    }
                }
                None => {
                    // The end of the stored bytes: a cut-off gzip stream fails here.
                    let out = dec.finish().map_err(bad_gzip)?;
                    return Ok((!out.is_empty()).then(|| (Bytes::from(out), None)));
                }
            }
        }
    })
}

/// The part of `body` from `offset`, at most `len` bytes; the rest is not read.
fn window<S>(
    body: S,
    offset: u64,
    len: Option<u64>,
) -> impl Stream<Item = std::io::Result<Bytes>> + Send
where
    S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
{
    let state = (Box::pin(body), offset, len);
    futures::stream::try_unfold(state, |(mut body, mut skip, mut left)| async move {
        loop {
            if left == Some(0) {
                return Ok(None);
            }
            let Some(mut chunk) = body.try_next().await? else {
                return Ok(None);
            };
            let drop = skip.min(chunk.len() as u64) as usize;
            skip -= drop as u64;
            chunk = chunk.slice(drop..);
            if let Some(l) = left.as_mut() {
                let keep = (*l).min(chunk.len() as u64) as usize;
                *l -= keep as u64;
                chunk = chunk.slice(..keep);
            }
            if !chunk.is_empty() {
                return Ok(Some((chunk, (body, skip, left))));
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use tokio::io::AsyncReadExt;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    async fn read(stored: Vec<u8>, offset: u64, len: Option<u64>) -> std::io::Result<Vec<u8>> {
        // Small reads, so the decoder sees the stored bytes in many pieces.
        let reader = tokio::io::BufReader::with_capacity(7, std::io::Cursor::new(stored));
        let mut out = Vec::new();
        gunzip(Box::pin(reader), offset, len)
            .read_to_end(&mut out)
            .await?;
        Ok(out)
    }

    #[tokio::test]
    async fn decompresses_whole_ranged_and_multi_member() {
        let plain: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
        assert_eq!(read(gz(&plain), 0, None).await.unwrap(), plain);
        assert_eq!(
            read(gz(&plain), 1000, Some(5000)).await.unwrap(),
            &plain[1000..6000]
        );
        assert_eq!(
            read(gz(&plain), 399_990, None).await.unwrap(),
            &plain[399_990..]
        );
        assert!(read(gz(&plain), 500_000, None).await.unwrap().is_empty());
        let two = [gz(b"hello "), gz(b"world")].concat();
        assert_eq!(read(two, 0, None).await.unwrap(), b"hello world");
        assert!(read(gz(b""), 0, None).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn bad_or_cut_gzip_fails() {
        let e = read(b"not gzip at all".to_vec(), 0, None)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        assert!(e.to_string().contains("decompress"), "{e}");
        let mut cut = gz(&[7u8; 10_000]);
        cut.truncate(cut.len() - 6);
        assert!(read(cut, 0, None).await.is_err());
    }
}

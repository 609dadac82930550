//! One stream read once and handed to several writers (a file written to several
//! upstreams at once), each through a small pipe: the slowest writer sets the pace, and
//! a writer that gave up (its upload failed) no longer holds the others back.

use ferry_core::{ByteStream, Error, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

const PIPE: usize = 256 * 1024;
const CHUNK: usize = 64 * 1024;

/// `n` streams of `data`'s bytes, and the task that feeds them (its error is the
/// source's: each writer sees its own failure through its upload).
pub fn tee(
    data: ByteStream,
    n: usize,
) -> (
    Vec<ByteStream>,
    impl std::future::Future<Output = Result<()>>,
) {
    let mut readers: Vec<ByteStream> = Vec::with_capacity(n);
    let mut writers: Vec<Option<DuplexStream>> = Vec::with_capacity(n);
    for _ in 0..n {
        let (w, r) = tokio::io::duplex(PIPE);
        readers.push(Box::pin(r));
        writers.push(Some(w));
    }
    (readers, pump(data, writers))
}

async fn pump(mut data: ByteStream, mut writers: Vec<Option<DuplexStream>>) -> Result<()> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match data.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            // Dropping the writers leaves each upload short: each fails on its size.
            Err(e) => return Err(Error::io("reading the source", e)),
        };
        for slot in writers.iter_mut() {
            if let Some(w) = slot {
                if w.write_all(&buf[..n]).await.is_err() {
                    *slot = None;
                }
            }
        }
        if writers.iter().all(Option::is_none) {
            return Ok(());
        }
    }
    for w in writers.iter_mut().flatten() {
        let _ = w.shutdown().await;
    }
    Ok(())
}

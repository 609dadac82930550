//! Block buffers reused across one upload's blocks.
//!
//! A block's bytes are shared by the request staging it (and its retries) and the
//! whole-blob hash, which finish in no fixed order; the buffer goes back to the pool when
//! the last of them lets go, so an upload allocates at most as many block buffers as it
//! ever has blocks in flight, instead of a fresh (page-faulted) 4 MiB per block.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt};

#[derive(Default)]
pub(crate) struct Pool {
    free: Mutex<Vec<Vec<u8>>>,
}

/// A buffer on loan: handed back to its pool when dropped.
struct Loan {
    buf: Vec<u8>,
    pool: Arc<Pool>,
}

impl AsRef<[u8]> for Loan {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Loan {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        if let Ok(mut free) = self.pool.free.lock() {
            free.push(buf);
        }
    }
}

impl Pool {
    pub fn new() -> Arc<Pool> {
        Arc::new(Pool::default())
    }

    /// How many buffers are waiting to be reused (for tests).
    #[cfg(test)]
    pub fn idle(&self) -> usize {
        self.free.lock().map(|f| f.len()).unwrap_or(0)
    }

    /// Reads up to `size` bytes of `data` into a pooled buffer (fewer only at the end of
    /// the stream). Nothing is zeroed: the reads fill the buffer's spare capacity.
    pub async fn fill<R: AsyncRead + Unpin + ?Sized>(
        self: &Arc<Pool>,
        data: &mut R,
        size: usize,
    ) -> std::io::Result<Bytes> {
        let reused = self.free.lock().ok().and_then(|mut f| f.pop());
        let mut buf = reused.unwrap_or_default();
        buf.clear();
        buf.reserve_exact(size);
        // Only `size` bytes are ever asked for, so the buffer never grows past it.
        let mut limited = data.take(size as u64);
        while buf.len() < size {
            if limited.read_buf(&mut buf).await? == 0 {
                break;
            }
        }
        Ok(Bytes::from_owner(Loan {
            buf,
            pool: self.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn buffers_come_back_and_are_reused() {
        let pool = Pool::new();
        let source: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut data = &source[..];
        let a = pool.fill(&mut data, 4096).await.unwrap();
        let b = pool.fill(&mut data, 4096).await.unwrap();
        assert_eq!((&a[..], &b[..]), (&source[..4096], &source[4096..8192]));
        let ptr = a.as_ptr();
        let shared = a.clone();
        drop(a);
        // Still held elsewhere (a request, the hash): not back yet.
        assert_eq!(pool.idle(), 0);
        drop(shared);
        assert_eq!(pool.idle(), 1);
        // The next block lands in the same memory; the last one is short.
        let c = pool.fill(&mut data, 4096).await.unwrap();
        assert_eq!(c.as_ptr(), ptr);
        assert_eq!(&c[..], &source[8192..]);
        let end = pool.fill(&mut data, 4096).await.unwrap();
        assert!(end.is_empty());
        drop((b, c, end));
        assert_eq!(pool.idle(), 3);
    }
}

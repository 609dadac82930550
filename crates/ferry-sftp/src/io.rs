//! Pipelined reads and writes: many SFTP requests in flight per file, as OpenSSH's
//! `sftp -R` does, so a transfer is limited by bandwidth, not by round trips.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::stream::{FuturesOrdered, StreamExt};
use russh_sftp::protocol::StatusCode;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::mpsc;

use crate::pool::Lease;

/// Most bytes of one file's requests in flight, whatever `concurrency` allows. OpenSSH's
/// sftp-server answers every read it has been sent and queues the replies the channel
/// can't take yet; 64 reads of 255 KiB (16 MiB queued per file) cost sshd 2-3× the CPU
/// of the transfer and doubled a 1 GiB download's time. 4 MiB keeps the link as busy,
/// and is still twice rclone's 64 requests of 32 KiB.
const IN_FLIGHT_BYTES: u64 = 4 << 20;

/// Requests in flight for one file: `concurrency` (rclone's option), fewer when that
/// many requests of `chunk` bytes would pass [`IN_FLIGHT_BYTES`], and never fewer than two.
pub(crate) fn depth(concurrency: usize, chunk: u32) -> usize {
    let by_bytes = (IN_FLIGHT_BYTES / u64::from(chunk.max(1))).max(2);
    concurrency
        .min(usize::try_from(by_bytes).unwrap_or(usize::MAX))
        .max(1)
}

/// The reading end handed to the engine: chunks come from a task that keeps reads in flight.
pub(crate) struct ChunkReader {
    /// Dropping it stops the task, which then closes the remote handle.
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    cur: Bytes,
    done: bool,
}

impl AsyncRead for ChunkReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        loop {
            if !self.cur.is_empty() {
                let n = self.cur.len().min(buf.remaining());
                buf.put_slice(&self.cur[..n]);
                let _ = self.cur.split_to(n);
                return Poll::Ready(Ok(()));
            }
            if self.done {
                return Poll::Ready(Ok(()));
            }
            match self.rx.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    self.done = true;
                }
                Poll::Ready(Some(Ok(b))) => self.cur = b,
                Poll::Ready(Some(Err(e))) => {
                    self.done = true;
                    return Poll::Ready(Err(e));
                }
            }
        }
    }
}

pub(crate) fn lost(e: &russh_sftp::client::error::Error) -> bool {
    use russh_sftp::client::error::Error as E;
    match e {
        E::Status(s) => matches!(
            s.status_code,
            StatusCode::NoConnection | StatusCode::ConnectionLost
        ),
        E::Timeout | E::IO(_) | E::UnexpectedBehavior(_) => true,
        E::Limited(_) | E::UnexpectedPacket => false,
    }
}

fn io_err(e: russh_sftp::client::error::Error) -> std::io::Error {
    let kind = if lost(&e) {
        std::io::ErrorKind::ConnectionReset
    } else {
        std::io::ErrorKind::Other
    };
    std::io::Error::new(kind, e.to_string())
}

/// Starts reading `handle` from `offset` (at most `len` bytes) with up to `depth` reads in
/// flight of `chunk` bytes each. The lease (and the handle, closed at the end) live in the task.
pub(crate) fn spawn_reader(
    mut lease: Lease,
    handle: String,
    offset: u64,
    len: Option<u64>,
    chunk: u32,
    depth: usize,
) -> ChunkReader {
    let (tx, rx) = mpsc::channel(depth.max(4));
    tokio::spawn(async move {
        let conn = lease.conn().clone();
        let end = len.map(|l| offset.saturating_add(l));
        let mut q = FuturesOrdered::new();
        let mut next = offset;
        // Slow start: small files cost one or two requests, big ones reach `depth`.
        let mut window = 2usize;
        let mut eof = false;
        let read = |off: u64, n: u32| {
            let conn = conn.clone();
            let h = handle.clone();
            async move { (off, n, conn.sftp.read(h, off, n).await) }
        };
        loop {
            while !eof && q.len() < window && end.is_none_or(|e| next < e) {
                let n = end.map_or(chunk as u64, |e| (e - next).min(chunk as u64)) as u32;
                q.push_back(read(next, n));
                next += n as u64;
            }
            let Some((off, want, res)) = q.next().await else {
                break;
            };
            if next - offset > crate::pool::SMALL_FILE {
                lease.grow();
            }
            match res {
                Ok(data) => {
                    let got = data.data.len() as u32;
                    if got == 0 {
                        eof = true;
                        q = FuturesOrdered::new();
                        continue;
                    }
                    if got < want {
                        // A short read: fetch the rest before anything queued after it.
                        q.push_front(read(off + got as u64, want - got));
                    } else if window < depth {
                        window = (window * 2).min(depth);
                    }
                    if tx.send(Ok(Bytes::from(data.data))).await.is_err() {
                        break; // the reader was dropped
                    }
                }
                Err(russh_sftp::client::error::Error::Status(s))
                    if s.status_code == StatusCode::Eof =>
                {
                    eof = true;
                    q = FuturesOrdered::new();
                }
                Err(e) => {
                    if lost(&e) {
                        lease.poison();
                    }
                    let _ = tx.send(Err(io_err(e))).await;
                    break;
                }
            }
        }
        drop(q);
        let _ = conn.sftp.close(handle).await;
        drop(lease);
    });
    ChunkReader {
        rx,
        cur: Bytes::new(),
        done: false,
    }
}

type SftpError = russh_sftp::client::error::Error;
type SftpResult = Result<(), SftpError>;
type Pending = Pin<Box<dyn std::future::Future<Output = SftpResult> + Send>>;

/// Sends a request now (its first poll writes the packet) and returns the rest of it.
/// Requests are sent in the order of these calls, which the server keeps.
async fn sent(mut f: Pending) -> Option<Pending> {
    match futures::poll!(f.as_mut()) {
        Poll::Ready(Err(e)) => Some(Box::pin(async move { Err(e) })),
        Poll::Ready(Ok(())) => None,
        Poll::Pending => Some(f),
    }
}

/// Writes issued without waiting for each acknowledgement; at most `depth` outstanding.
pub(crate) struct Writer {
    conn: Arc<crate::conn::Conn>,
    handle: String,
    depth: usize,
    inflight: futures::stream::FuturesUnordered<Pending>,
}

impl Writer {
    pub(crate) fn new(conn: Arc<crate::conn::Conn>, handle: String, depth: usize) -> Writer {
        Writer {
            conn,
            handle,
            depth,
            inflight: futures::stream::FuturesUnordered::new(),
        }
    }

    async fn push(&mut self, f: Pending) -> SftpResult {
        while self.inflight.len() >= self.depth {
            if let Some(r) = self.inflight.next().await {
                r?;
            }
        }
        if let Some(rest) = sent(f).await {
            self.inflight.push(rest);
        }
        Ok(())
    }

    pub(crate) async fn write(&mut self, offset: u64, data: Vec<u8>) -> SftpResult {
        let conn = self.conn.clone();
        let h = self.handle.clone();
        self.push(Box::pin(async move {
            conn.sftp.write(h, offset, data).await.map(|_| ())
        }))
        .await
    }

    /// Sets the modification time after the writes (sent right behind them).
    pub(crate) async fn set_times(
        &mut self,
        attrs: russh_sftp::protocol::FileAttributes,
    ) -> SftpResult {
        let conn = self.conn.clone();
        let h = self.handle.clone();
        self.push(Box::pin(async move {
            match conn.sftp.fsetstat(h, attrs).await {
                Ok(_) => Ok(()),
                Err(e) if lost(&e) => Err(e),
                // A server that refuses setstat: the file is still good.
                Err(e) => {
                    tracing::debug!("server did not set the modification time: {e}");
                    Ok(())
                }
            }
        }))
        .await
    }

    /// Sends a read of what was written (behind the writes), to be awaited after `close`.
    pub(crate) async fn read_back(
        &mut self,
        offset: u64,
        len: u32,
    ) -> Pin<Box<dyn std::future::Future<Output = Result<Vec<u8>, SftpError>> + Send>> {
        let conn = self.conn.clone();
        let h = self.handle.clone();
        let mut f: Pin<Box<dyn std::future::Future<Output = Result<Vec<u8>, SftpError>> + Send>> =
            Box::pin(async move {
                let mut data = conn.sftp.read(h, offset, len).await.map(|d| d.data);
                // An empty file reads as end-of-file.
                if let Err(russh_sftp::client::error::Error::Status(s)) = &data {
                    if s.status_code == StatusCode::Eof {
                        data = Ok(Vec::new());
                    }
                }
                data
            });
        match futures::poll!(f.as_mut()) {
            Poll::Ready(r) => Box::pin(async move { r }),
            Poll::Pending => f,
        }
    }

    /// Closes the handle behind everything sent, then waits for all of it.
    pub(crate) async fn close(mut self) -> SftpResult {
        let conn = self.conn.clone();
        let h = self.handle.clone();
        let close: Pending = Box::pin(async move { conn.sftp.close(h).await.map(|_| ()) });
        let close = sent(close).await;
        let mut first_err = None;
        while let Some(r) = self.inflight.next().await {
            if let Err(e) = r {
                first_err.get_or_insert(e);
            }
        }
        if let Some(c) = close {
            if let Err(e) = c.await {
                first_err.get_or_insert(e);
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::depth;

    #[test]
    fn big_requests_are_fewer_in_flight() {
        // OpenSSH's limits: 255 KiB reads, 16 of them make 4 MiB.
        assert_eq!(depth(64, 255 * 1024), 16);
        // rclone's 32 KiB requests stay at the asked 64 (2 MiB).
        assert_eq!(depth(64, 32 * 1024), 64);
        assert_eq!(depth(1024, 32 * 1024), 128);
    }

    #[test]
    fn the_asked_concurrency_is_a_ceiling_and_two_a_floor() {
        assert_eq!(depth(1, 4096), 1);
        assert_eq!(depth(8, 255 * 1024), 8);
        assert_eq!(depth(64, 16 << 20), 2);
        assert_eq!(depth(64, 0), 64);
    }
}

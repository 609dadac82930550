//! Transfers: a download runs as a task that owns its connection and hands the bytes to
//! the reader through a channel (so the transfer's closing reply is read, and the
//! connection reused, only once every byte arrived); an upload streams into `STOR`.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use ferry_core::{ByteStream, Error, Result};
use suppaftp::tokio::AsyncRustlsStream;
use suppaftp::{FtpError, FtpResult};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};
use tokio::sync::mpsc;

use crate::conn::Conn;
use crate::error::{describe, is_lost, op_error};
use crate::pool::{bounded, Lease, Pool};

type Transfer = suppaftp::tokio::TransferStream<AsyncRustlsStream>;

const CHUNK: usize = 64 * 1024;

/// Opens `stored` for reading from `offset`, at most `len` bytes; `shown` names it in
/// errors.
pub async fn download(
    pool: Arc<Pool>,
    stored: String,
    shown: String,
    offset: u64,
    len: Option<u64>,
) -> Result<ByteStream> {
    let mut lease = pool.get().await?;
    let idle = pool.opts.timeouts.idle;
    let transfer = match bounded(idle, retr(lease.conn(), &stored, offset)).await {
        Ok(t) => t,
        Err(e) if is_lost(&e) => {
            drop(lease);
            lease = pool.get().await?;
            bounded(idle, retr(lease.conn(), &stored, offset))
                .await
                .map_err(|e| op_error(e, "download", &shown))?
        }
        Err(e) => {
            let err = op_error(e, "download", &shown);
            pool.give_back(lease);
            return Err(err);
        }
    };
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(pump(pool, lease, transfer, tx, shown, len));
    Ok(Box::pin(ChannelReader {
        rx,
        buf: Vec::new(),
        pos: 0,
    }))
}

async fn retr(conn: &mut Conn, stored: &str, offset: u64) -> FtpResult<Transfer> {
    if offset > 0 {
        conn.ftp.resume_transfer(offset as usize).await?;
    }
    conn.ftp.retr_as_stream(stored).await
}

/// Moves the bytes of one download to its reader; gives the connection back when the
/// server confirmed the whole transfer.
async fn pump(
    pool: Arc<Pool>,
    lease: Lease,
    mut transfer: Transfer,
    tx: mpsc::Sender<io::Result<Vec<u8>>>,
    shown: String,
    len: Option<u64>,
) {
    let mut left = len.unwrap_or(u64::MAX);
    while left > 0 {
        let want = CHUNK.min(usize::try_from(left).unwrap_or(CHUNK));
        let mut buf = vec![0u8; want];
        let read = bounded(pool.opts.timeouts.idle, async {
            transfer
                .read(&mut buf)
                .await
                .map_err(FtpError::ConnectionError)
        })
        .await;
        match read {
            Ok(0) => break,
            Ok(n) => {
                buf.truncate(n);
                left -= n as u64;
                if tx.send(Ok(buf)).await.is_err() {
                    return; // the reader is gone: so is this connection (dropped here)
                }
            }
            Err(e) => {
                let msg = format!("{shown}: download: {}", describe(&e));
                let _ = tx
                    .send(Err(io::Error::new(io::ErrorKind::ConnectionAborted, msg)))
                    .await;
                return;
            }
        }
    }
    if left == 0 && len.is_some() {
        // Read what was asked before the server's end: the connection is mid-transfer,
        // so it is closed rather than reused.
        return;
    }
    match finish(transfer, pool.opts.close_timeout).await {
        Ok(()) => pool.give_back(lease),
        Err(e) => {
            let msg = format!("{shown}: download: {}", describe(&e));
            let _ = tx
                .send(Err(io::Error::new(io::ErrorKind::ConnectionAborted, msg)))
                .await;
        }
    }
}

/// Closes a transfer's data connection and reads the server's verdict on it.
pub async fn finish(transfer: Transfer, limit: Option<Duration>) -> FtpResult<()> {
    match limit {
        None => transfer.finish().await,
        Some(t) => tokio::time::timeout(t, transfer.finish())
            .await
            .unwrap_or_else(|_| {
                Err(FtpError::ConnectionError(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "timed out waiting for the server to confirm the transfer",
                )))
            }),
    }
}

/// Why an upload failed: the source could not be read, or the server side failed.
pub enum UploadFail {
    Source(Error),
    Server(FtpError),
}

/// Bytes sent per write of an upload: bigger than a download's chunk, as a large upload
/// is a read of the source and a write to the socket per chunk.
const UP_CHUNK: usize = 256 * 1024;

/// Streams `data` (`size` bytes expected) into an open `STOR`; the bytes sent, once the
/// server confirmed them. The next chunk is read from the source while the last one is
/// written, so neither side waits for the other.
pub async fn upload(
    mut transfer: Transfer,
    data: &mut ByteStream,
    size: u64,
    limit: Option<Duration>,
    idle: Option<Duration>,
) -> std::result::Result<u64, UploadFail> {
    // A small file gets a buffer of its size (plus the byte that finds its end).
    let len = usize::try_from(size.saturating_add(1)).map_or(UP_CHUNK, |n| n.min(UP_CHUNK));
    let (mut cur, mut next) = (vec![0u8; len], vec![0u8; len]);
    let source = |e| UploadFail::Source(Error::io("reading the source", e));
    let mut n = ferry_core::fill(data, &mut cur).await.map_err(source)?;
    let mut sent = 0u64;
    while n > 0 {
        let write = bounded(idle, async {
            transfer
                .write_all(&cur[..n])
                .await
                .map_err(FtpError::ConnectionError)
        });
        let (written, read) = tokio::join!(write, ferry_core::fill(data, &mut next));
        written.map_err(UploadFail::Server)?;
        sent += n as u64;
        n = read.map_err(source)?;
        std::mem::swap(&mut cur, &mut next);
    }
    finish(transfer, limit).await.map_err(UploadFail::Server)?;
    Ok(sent)
}

/// The reader's end of a download.
struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Vec<u8>>>,
    buf: Vec<u8>,
    pos: usize,
}

impl AsyncRead for ChannelReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            if self.pos < self.buf.len() {
                let n = out.remaining().min(self.buf.len() - self.pos);
                let from = self.pos;
                out.put_slice(&self.buf[from..from + n]);
                self.pos += n;
                return Poll::Ready(Ok(()));
            }
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    self.buf = chunk;
                    self.pos = 0;
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

//! Transfers: a download runs as a task that owns its connection and open file and hands
//! the bytes to the reader through a channel, reading ahead one block; an upload streams
//! the source into an open file block by block. Neither holds more than a few blocks.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use ferry_core::{ByteStream, Error, ErrorKind, Result};
use futures::stream::{FuturesOrdered, StreamExt};
use smb::{
    CreateDisposition, CreateOptions, File, FileAccessMask, FileAttributes, FileCreateArgs, GetLen,
    Resource,
};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::mpsc;

use crate::error::{describe, is_lost, op_error, op_error_not_missing};
use crate::ops::{open, set_time_on};
use crate::paths::Place;
use crate::pool::{bounded, Lease, Pool};

/// Opens `place` for reading from `offset`, at most `len` bytes; `shown` names it in
/// errors.
pub async fn download(
    pool: Arc<Pool>,
    place: Place,
    shown: String,
    offset: u64,
    len: Option<u64>,
) -> Result<ByteStream> {
    let read = FileCreateArgs::make_open_existing(
        FileAccessMask::new()
            .with_file_read_data(true)
            .with_file_read_attributes(true),
    );
    let mut lease = pool.get(&place.share).await?;
    let idle = pool.opts.timeouts.idle;
    let mut opened = bounded(idle, open(&lease.conn, &place.share, &place.path, &read)).await;
    if matches!(&opened, Err(e) if is_lost(e)) {
        drop(lease);
        lease = pool.dial(&place.share).await?;
        opened = bounded(idle, open(&lease.conn, &place.share, &place.path, &read)).await;
    }
    let file = match opened {
        Ok(Resource::File(f)) => f,
        Ok(other) => {
            close(other).await;
            pool.give_back(lease);
            return Err(Error::new(ErrorKind::Io, "download: it is a directory").with_path(shown));
        }
        Err(e) => {
            let lost = is_lost(&e);
            let err = op_error(e, "download", &shown);
            if !lost {
                pool.give_back(lease);
            }
            return Err(err);
        }
    };
    let (tx, rx) = mpsc::channel(2);
    tokio::spawn(pump(pool, lease, file, tx, shown, offset, len));
    Ok(Box::pin(ChannelReader {
        rx,
        buf: Vec::new(),
        pos: 0,
    }))
}

async fn close(r: Resource) {
    let _ = match &r {
        Resource::File(f) => f.close().await,
        Resource::Directory(d) => d.close().await,
        Resource::Pipe(p) => p.close().await,
    };
}

/// How many reads are in flight at once on a download: enough to keep the connection
/// busy while the previous block travels to the reader.
const READ_AHEAD: usize = 4;

/// Reads the file block by block into the channel, a few blocks ahead; gives the
/// connection back once the file is closed (or drops it when the transfer broke).
async fn pump(
    pool: Arc<Pool>,
    lease: Lease,
    file: File,
    tx: mpsc::Sender<io::Result<Vec<u8>>>,
    shown: String,
    offset: u64,
    len: Option<u64>,
) {
    let block = lease.conn.read_size as u64;
    let idle = pool.opts.timeouts.idle;
    // Reads stop at the size the open answered with (no request): a small file is then
    // one read of its size, not four blocks of `read_size` allocated, zeroed and sent
    // past its end (that made small downloads cost three times rclone's CPU).
    let size = file.get_len().await.unwrap_or(u64::MAX);
    let end = len.map_or(u64::MAX, |l| offset.saturating_add(l)).min(size);
    let mut next = offset; // where the next read to start begins
    let mut inflight = FuturesOrdered::new();
    loop {
        while next < end && inflight.len() < READ_AHEAD {
            let want = block.min(end - next) as usize;
            let pos = next;
            let file = &file;
            inflight.push_back(bounded(idle, async move {
                let mut buf = vec![0u8; want];
                let n = file
                    .read_block(&mut buf, pos, None, false)
                    .await
                    .map_err(smb::Error::IoError)?;
                buf.truncate(n);
                Ok((buf, want))
            }));
            next += want as u64;
        }
        let Some(read) = inflight.next().await else {
            break;
        };
        match read {
            Ok((buf, want)) => {
                let short = buf.len() < want;
                if !buf.is_empty() && tx.send(Ok(buf)).await.is_err() {
                    break; // the reader is gone: close the file, keep the connection
                }
                if short {
                    // The end of the file: reads queued after it find nothing.
                    while inflight.next().await.is_some() {}
                    break;
                }
            }
            Err(e) => {
                let msg = format!("{shown}: download: {}", describe(&e));
                let _ = tx
                    .send(Err(io::Error::new(io::ErrorKind::ConnectionAborted, msg)))
                    .await;
                return; // the connection is dropped with the lease
            }
        }
    }
    drop(inflight);
    if bounded(idle, file.close()).await.is_ok() {
        pool.give_back(lease);
    }
}

/// The reading end of a download.
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
                let n = (self.buf.len() - self.pos).min(out.remaining());
                let start = self.pos;
                out.put_slice(&self.buf[start..start + n]);
                self.pos += n;
                return Poll::Ready(Ok(()));
            }
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some(Ok(buf))) => {
                    self.buf = buf;
                    self.pos = 0;
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// Why an upload failed: reading the source, or the server.
pub enum UploadFail {
    Source(Error),
    Server(smb::Error),
}

/// Creates (or truncates) `place`, writes `data` into it and sets its time; returns the
/// bytes written. The file is closed in every case.
pub async fn upload(
    lease: &Lease,
    place: &Place,
    data: &mut ByteStream,
    mtime: SystemTime,
    idle: Option<std::time::Duration>,
) -> std::result::Result<u64, UploadFail> {
    let create = FileCreateArgs {
        disposition: CreateDisposition::OverwriteIf,
        attributes: FileAttributes::new(),
        options: CreateOptions::new().with_non_directory_file(true),
        desired_access: FileAccessMask::new()
            .with_file_write_data(true)
            .with_file_read_attributes(true)
            .with_file_write_attributes(true),
    };
    let r = bounded(idle, open(&lease.conn, &place.share, &place.path, &create))
        .await
        .map_err(UploadFail::Server)?;
    let Resource::File(file) = &r else {
        close(r).await;
        return Err(UploadFail::Server(smb::Error::UnexpectedMessageStatus(
            smb::Status::U32_FILE_IS_A_DIRECTORY,
        )));
    };
    let written = write_all(file, data, lease.conn.write_size, idle).await;
    let timed = match written {
        Ok(n) => bounded(idle, set_time_on(&r, mtime))
            .await
            .map(|()| n)
            .map_err(UploadFail::Server),
        Err(e) => Err(e),
    };
    let closed = bounded(idle, async { file.close().await }).await;
    let n = timed?;
    closed.map_err(UploadFail::Server)?;
    Ok(n)
}

async fn write_all(
    file: &File,
    data: &mut ByteStream,
    block: usize,
    idle: Option<std::time::Duration>,
) -> std::result::Result<u64, UploadFail> {
    let mut pos = 0u64;
    let mut buf = vec![0u8; block];
    loop {
        let filled = ferry_core::fill(data, &mut buf)
            .await
            .map_err(|e| UploadFail::Source(Error::io("reading the source", e)))?;
        if filled == 0 {
            return Ok(pos);
        }
        let mut sent = 0;
        while sent < filled {
            let n = bounded(idle, async {
                file.write_block(&buf[sent..filled], pos, None)
                    .await
                    .map_err(smb::Error::IoError)
            })
            .await
            .map_err(UploadFail::Server)?;
            if n == 0 {
                return Err(UploadFail::Server(smb::Error::IoError(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "the server accepted no bytes",
                ))));
            }
            sent += n;
            pos += n as u64;
        }
    }
}

/// The error for a failed upload of `shown`.
pub fn upload_error(fail: UploadFail, shown: &str) -> Error {
    match fail {
        UploadFail::Source(e) => e.with_path(shown.to_owned()),
        UploadFail::Server(e) => op_error_not_missing(e, "upload", shown),
    }
}

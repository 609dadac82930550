//! Writing a file: `STOR` to a hidden temporary name beside the target (its directory
//! made if missing), the size checked, the time set, then `RNFR`/`RNTO` into place. A
//! failure removes the temporary file, so no partial file is left under any name.

use std::time::SystemTime;

use ferry_core::{ByteStream, Entry, Error, ErrorKind, PutOptions, RelPath, Result};
use suppaftp::tokio::AsyncRustlsStream;
use suppaftp::FtpResult;

use crate::backend::FtpBackend;
use crate::conn::Conn;
use crate::error::{code, is_lost, op_error, op_error_not_missing};
use crate::io::{upload, UploadFail};
use crate::ops;
use crate::pool::{bounded, Lease};

type Transfer = suppaftp::tokio::TransferStream<AsyncRustlsStream>;

/// Stores `data` as `target` through `temp` (the same path under `--inplace`).
pub async fn store(
    b: &FtpBackend,
    path: &RelPath,
    target: &str,
    temp: &str,
    mut data: ByteStream,
    opts: &PutOptions,
) -> Result<Entry> {
    let o = b.opts();
    let (lease, transfer) = open_stor(b, path, temp).await?;
    let sent = match upload(
        transfer,
        &mut data,
        opts.size,
        o.shut_timeout,
        o.timeouts.idle,
    )
    .await
    {
        Ok(sent) => {
            b.pool.give_back(lease);
            sent
        }
        Err(fail) => {
            drop(lease);
            remove(b, temp).await;
            return Err(match fail {
                UploadFail::Source(e) => e.with_path(path.to_string()),
                UploadFail::Server(e) => op_error_not_missing(e, "upload", path.as_str()),
            });
        }
    };
    if sent != opts.size {
        remove(b, temp).await;
        return Err(Error::new(
            ErrorKind::Corrupted,
            format!(
                "upload: {sent} bytes arrived, {} expected (the source changed?)",
                opts.size
            ),
        )
        .with_path(path.to_string()));
    }
    if let Err(e) = finish(b, path, target, temp, opts.mtime).await {
        remove(b, temp).await;
        return Err(e);
    }
    if o.no_check_upload {
        let mut e = Entry::file(path.clone(), sent, opts.mtime);
        e.mtime_provisional = false;
        return Ok(e);
    }
    b.stat_stored(target, path).await?.ok_or_else(|| {
        Error::new(
            ErrorKind::Io,
            "upload: the file is not there after it was stored",
        )
        .with_path(path.to_string())
    })
}

/// Sets the time on the temporary file (a rename keeps it) and renames it into place.
async fn finish(
    b: &FtpBackend,
    path: &RelPath,
    target: &str,
    temp: &str,
    mtime: SystemTime,
) -> Result<()> {
    let caps = b.pool.caps_now().await?;
    if caps.can_set_time(b.opts()) {
        let t = temp.to_owned();
        b.pool
            .run(|c| {
                let t = t.clone();
                Box::pin(async move { ops::set_time(c, &t, mtime).await })
            })
            .await?
            .map_err(|e| op_error(e, "set modification time", path.as_str()))?;
    }
    if temp != target {
        ferry_core::crash::point(ferry_core::crash::TEMP_WRITTEN);
        rename(b, temp, target, path).await?;
    }
    Ok(())
}

/// `STOR temp` on a connection, making the directory on the way if it is missing.
async fn open_stor(b: &FtpBackend, path: &RelPath, temp: &str) -> Result<(Lease, Transfer)> {
    let mut lease = b.pool.get().await?;
    let (mut made_dir, mut redialled) = (false, false);
    let (parent, _) = ops::split(temp);
    loop {
        let idle = b.pool.opts.timeouts.idle;
        let seen = b.dirs.now();
        let err = match bounded(idle, lease.conn().ftp.put_with_stream(temp)).await {
            Ok(t) => {
                b.dirs.note(parent);
                return Ok((lease, t));
            }
            Err(e) => e,
        };
        if is_lost(&err) && !redialled {
            // A pooled connection the server had closed: nothing was sent yet.
            redialled = true;
            drop(lease);
            lease = b.pool.get().await?;
        } else if code(&err).is_some() && !made_dir && !parent.is_empty() && parent != "/" {
            made_dir = true;
            let o = b.pool.opts.clone();
            let made = b.dirs.make(lease.conn(), parent, &o, seen);
            if let Err(e) = bounded(idle, made).await {
                // The directory by its server path, so the error says what failed, where.
                let what = format!("mkdir {parent:?}");
                return Err(op_error_not_missing(e, &what, path.as_str()));
            }
        } else {
            if !is_lost(&err) {
                b.pool.give_back(lease);
            }
            return Err(op_error_not_missing(err, "upload", path.as_str()));
        }
    }
}

/// `RNFR from` / `RNTO to` (replacing `to`), making `to`'s directory if it is missing.
pub async fn rename(b: &FtpBackend, from: &str, to: &str, shown: &RelPath) -> Result<()> {
    let o = b.pool.opts.clone();
    let (from, to) = (from.to_owned(), to.to_owned());
    b.pool
        .run(|c| {
            let (from, to, o) = (from.clone(), to.clone(), o.clone());
            Box::pin(async move { rename_on(c, &from, &to, &o).await })
        })
        .await?
        .map_err(|e| op_error(e, "rename", shown.as_str()))
}

async fn rename_on(c: &mut Conn, from: &str, to: &str, o: &crate::FtpOptions) -> FtpResult<()> {
    match c.ftp.rename(from, to).await {
        Err(e) if code(&e).is_some() => {
            let (parent, _) = ops::split(to);
            if parent.is_empty() || parent == "/" {
                return Err(e);
            }
            ops::mkdir_all(c, parent, o, 0).await?;
            c.ftp.rename(from, to).await
        }
        other => other,
    }
}

/// Removes a file that must not stay (a failed upload's temporary file), best effort
/// and on a fresh connection if need be.
async fn remove(b: &FtpBackend, stored: &str) {
    let s = stored.to_owned();
    let _ = b
        .pool
        .run(|c| {
            let s = s.clone();
            Box::pin(async move { c.ftp.rm(&s).await })
        })
        .await;
}

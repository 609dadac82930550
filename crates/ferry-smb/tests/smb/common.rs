//! Shared by the SMB backend's tests: opening backends through the registration API,
//! streams, and reading what a backend stored.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferry_core::kind::{OpenContext, OpenRequest, Options};
use ferry_core::{Backend, ByteStream, PutOptions, RelPath, Result};
use tokio::io::AsyncReadExt;

/// Opens an `smb` backend from option pairs, as the binary will.
pub fn open(opts: &[(&str, String)], root: &str) -> Result<Arc<dyn Backend>> {
    let options = Options::from_pairs(&ferry_smb::KIND, opts.iter().map(|(k, v)| (*k, v.as_str())));
    options.check()?;
    (ferry_smb::KIND.open)(&OpenRequest {
        options: &options,
        root,
        context: &OpenContext::default(),
    })
}

/// `opts` with `key` set to `value` (replacing it).
pub fn with(
    opts: &[(&'static str, String)],
    key: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    let mut o: Vec<_> = opts.iter().filter(|(k, _)| *k != key).cloned().collect();
    o.push((key, value.to_owned()));
    o
}

pub fn p(s: &str) -> RelPath {
    RelPath::new(s).unwrap()
}

pub fn stream(bytes: Vec<u8>) -> ByteStream {
    Box::pin(std::io::Cursor::new(bytes))
}

/// A time with milliseconds and a sub-millisecond part rclone's precision drops.
pub fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(secs * 1_000_000_000 + 678_900_000)
}

pub fn put_opts(size: u64, mtime: SystemTime) -> PutOptions {
    PutOptions {
        size,
        mtime,
        inplace: false,
        hashes: Default::default(),
        metadata: None,
    }
}

pub async fn put(
    b: &dyn Backend,
    path: &str,
    bytes: &[u8],
    mtime: SystemTime,
) -> ferry_core::Entry {
    b.put(
        &p(path),
        stream(bytes.to_vec()),
        &put_opts(bytes.len() as u64, mtime),
    )
    .await
    .unwrap_or_else(|e| panic!("put {path}: {e}"))
}

pub async fn read(b: &dyn Backend, path: &str, offset: u64, len: Option<u64>) -> Vec<u8> {
    let mut s = b
        .open(&p(path), offset, len)
        .await
        .unwrap_or_else(|e| panic!("open {path}: {e}"));
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    out
}

/// Names in one directory of the server's file system, hidden ones included, sorted.
pub fn on_disk(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Listed names (sorted), with the errors of the listing.
pub async fn names(b: &dyn Backend, dir: &str) -> (Vec<String>, Vec<String>) {
    let l = b
        .list_dir(&p(dir))
        .await
        .unwrap_or_else(|e| panic!("list {dir}: {e}"));
    let mut v: Vec<String> = l.entries.iter().map(|e| e.name().to_owned()).collect();
    v.sort();
    (v, l.errors.iter().map(|e| e.to_string()).collect())
}

/// [`open`] with `--timeout` set to `idle`.
pub fn open_with_timeout(
    opts: &[(&str, String)],
    root: &str,
    idle: Duration,
) -> Result<Arc<dyn Backend>> {
    let options = Options::from_pairs(&ferry_smb::KIND, opts.iter().map(|(k, v)| (*k, v.as_str())));
    options.check()?;
    let context = OpenContext {
        timeouts: ferry_core::net::Timeouts::from_flags(None, Some(idle)),
        ..OpenContext::default()
    };
    (ferry_smb::KIND.open)(&OpenRequest {
        options: &options,
        root,
        context: &context,
    })
}

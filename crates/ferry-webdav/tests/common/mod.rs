//! Opening the backend on the testbed's WebDAV server, and small helpers.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferry_core::kind::Options;
use ferry_core::{Backend, ByteStream, Entry, PutOptions, RelPath};
use ferry_testbed::WebDav;
use ferry_webdav::{Settings, WebdavBackend, KIND};
use tokio::io::AsyncReadExt;

/// The backend rooted at `rel` in this test's folder, with `extra` options.
pub fn open(w: &WebDav, rel: &str, extra: &[(&str, &str)]) -> Arc<dyn Backend> {
    try_open(w, rel, extra).unwrap_or_else(|e| panic!("opening the test remote: {e}"))
}

pub fn try_open(
    w: &WebDav,
    rel: &str,
    extra: &[(&str, &str)],
) -> ferry_core::Result<Arc<dyn Backend>> {
    let pass = ferry_core::obscure::obscure(&w.password).unwrap();
    let mut pairs = vec![
        ("url", w.url.as_str()),
        ("user", w.user.as_str()),
        ("pass", pass.as_str()),
    ];
    pairs.extend_from_slice(extra);
    open_pairs(&pairs, &w.path(rel))
}

/// The backend from option pairs, as the binary opens it.
pub fn open_pairs(pairs: &[(&str, &str)], root: &str) -> ferry_core::Result<Arc<dyn Backend>> {
    let options = Options::from_pairs(&KIND, pairs.iter().copied());
    let req = ferry_core::kind::OpenRequest {
        options: &options,
        root,
        context: &Default::default(),
    };
    (KIND.open)(&req)
}

/// The concrete type, for the few checks that need it.
pub fn concrete(w: &WebDav, rel: &str) -> Arc<WebdavBackend> {
    let pass = ferry_core::obscure::obscure(&w.password).unwrap();
    let o = Options::from_pairs(
        &KIND,
        [
            ("url", w.url.as_str()),
            ("user", w.user.as_str()),
            ("pass", pass.as_str()),
        ],
    );
    WebdavBackend::new(Settings::from_options(&o).unwrap(), &w.path(rel)).unwrap()
}

pub fn rel(p: &str) -> RelPath {
    RelPath::new(p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

pub fn when() -> SystemTime {
    UNIX_EPOCH + Duration::new(1_600_000_000, 123_456_789)
}

pub fn opts(size: usize) -> PutOptions {
    PutOptions {
        size: size as u64,
        mtime: when(),
        inplace: false,
        hashes: Default::default(),
        metadata: None,
    }
}

pub fn stream(data: &[u8]) -> ByteStream {
    Box::pin(std::io::Cursor::new(data.to_vec()))
}

pub async fn put(b: &dyn Backend, path: &str, data: &[u8]) -> Entry {
    b.put(&rel(path), stream(data), &opts(data.len()))
        .await
        .unwrap_or_else(|e| panic!("put {path}: {e}"))
}

pub async fn read(b: &dyn Backend, path: &str, offset: u64, len: Option<u64>) -> Vec<u8> {
    let mut r = b
        .open(&rel(path), offset, len)
        .await
        .unwrap_or_else(|e| panic!("open {path}: {e}"));
    let mut out = Vec::new();
    r.read_to_end(&mut out)
        .await
        .unwrap_or_else(|e| panic!("read {path}: {e}"));
    out
}

pub fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

/// A local folder holding `files` (name, content), as a backend.
pub fn local(files: &[(&str, &[u8])]) -> (tempfile::TempDir, Arc<dyn Backend>) {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, content) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    let backend = ferry_local::LocalBackend::new(dir.path(), Default::default());
    (dir, backend)
}

/// One engine run of `mode` from `src` to `dst`; panics on errors.
pub async fn run(
    src: Arc<dyn Backend>,
    dst: Arc<dyn Backend>,
    mode: ferry_engine::Mode,
) -> ferry_engine::StatsSnapshot {
    let stats = Arc::new(ferry_engine::Stats::default());
    let job = ferry_engine::Job {
        src,
        dst,
        mode,
        opts: ferry_engine::SyncOptions {
            low_level_retries: 3,
            ..Default::default()
        },
        select: Arc::new(ferry_engine::AllowAll),
        src_file: None,
        backup: None,
        alt_dests: None,
        confirm: None,
        observer: Arc::new(()),
        stats: stats.clone(),
        approve_deletes: None,
    };
    let out = ferry_engine::run(job, 1, Duration::ZERO)
        .await
        .expect("the run starts");
    assert_eq!(out.errors, 0, "{:?}", out.last_error);
    stats.snapshot()
}

/// The engine's `check` of `src` against `dst`.
pub async fn check(
    src: Arc<dyn Backend>,
    dst: Arc<dyn Backend>,
    download: bool,
) -> ferry_engine::CheckReport {
    let opts = ferry_engine::CheckOptions {
        download,
        checkers: 4,
        ..Default::default()
    };
    let stats = Arc::new(ferry_engine::Stats::default());
    ferry_engine::check(src, dst, Arc::new(ferry_engine::AllowAll), &opts, stats)
        .await
        .expect("check runs")
}

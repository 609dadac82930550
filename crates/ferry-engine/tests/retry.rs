//! Whole-run retries: the final counters are those of the attempt that ended the run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use ferry_core::{
    Backend, ByteStream, Entry, Error, ErrorKind, Features, HashKind, Listing, Location,
    PutOptions, RelPath, Result,
};
use ferry_engine::{AllowAll, Job, Mode, Stats, SyncOptions};
use ferry_local::{LocalBackend, LocalOptions};

/// A local destination whose first write of `flaky.bin` fails after reading half of it.
struct FailsOnce {
    inner: Arc<LocalBackend>,
    failed: AtomicBool,
}

#[async_trait]
impl Backend for FailsOnce {
    fn features(&self) -> &Features {
        self.inner.features()
    }
    fn location(&self) -> Location {
        self.inner.location()
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
    async fn stat(&self, path: &RelPath) -> Result<Option<Entry>> {
        self.inner.stat(path).await
    }
    async fn list_dir(&self, dir: &RelPath) -> Result<Listing> {
        self.inner.list_dir(dir).await
    }
    async fn open(&self, path: &RelPath, offset: u64, len: Option<u64>) -> Result<ByteStream> {
        self.inner.open(path, offset, len).await
    }
    async fn put(&self, path: &RelPath, data: ByteStream, opts: &PutOptions) -> Result<Entry> {
        if path.as_str() == "flaky.bin" && !self.failed.swap(true, Ordering::SeqCst) {
            use tokio::io::AsyncReadExt;
            let mut half = vec![0u8; (opts.size / 2) as usize];
            let mut data = data;
            data.read_exact(&mut half).await.unwrap();
            return Err(Error::new(ErrorKind::Io, "injected failure").temporary(false));
        }
        self.inner.put(path, data, opts).await
    }
    async fn hash(&self, path: &RelPath, kind: HashKind) -> Result<Option<String>> {
        self.inner.hash(path, kind).await
    }
    async fn set_modtime(&self, path: &RelPath, mtime: std::time::SystemTime) -> Result<()> {
        self.inner.set_modtime(path, mtime).await
    }
    async fn delete_file(&self, path: &RelPath) -> Result<()> {
        self.inner.delete_file(path).await
    }
    async fn mkdir(&self, dir: &RelPath) -> Result<()> {
        self.inner.mkdir(dir).await
    }
    async fn rmdir(&self, dir: &RelPath) -> Result<()> {
        self.inner.rmdir(dir).await
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[tokio::test]
async fn a_retry_that_succeeds_reports_its_own_totals() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("flaky.bin"), vec![7u8; 1 << 20]).unwrap();
    std::fs::write(src.join("fine.txt"), b"fine").unwrap();
    let stats = Arc::new(Stats::default());
    let job = Job {
        src: LocalBackend::new(&src, LocalOptions::default()),
        dst: Arc::new(FailsOnce {
            inner: LocalBackend::new(&dst, LocalOptions::default()),
            failed: AtomicBool::new(false),
        }),
        mode: Mode::Copy,
        opts: SyncOptions::default(),
        select: Arc::new(AllowAll),
        renamed_from: None,
        src_file: None,
        backup: None,
        alt_dests: None,
        confirm: None,
        observer: Arc::new(()),
        stats: stats.clone(),
        approve_deletes: None,
    };
    let outcome = ferry_engine::run(job, 3, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(outcome.errors, 0);
    let s = stats.snapshot();
    // The second attempt sent the one file the first could not; the totals add up.
    assert_eq!((s.transfers, s.transfers_total), (1, 1), "{s:?}");
    assert_eq!((s.bytes, s.bytes_total), (1 << 20, 1 << 20), "{s:?}");
    assert_eq!(s.errors, 0);
    assert_eq!(std::fs::read(dst.join("flaky.bin")).unwrap().len(), 1 << 20);
}

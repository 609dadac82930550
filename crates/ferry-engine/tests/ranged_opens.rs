//! Multi-thread downloads open all their ranges at once: a source whose reads each wait
//! until every range has been asked for (as a slow server's would, for its answer) is
//! still copied, and intact.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use ferry_core::{
    Backend, ByteStream, Entry, Error, ErrorKind, Features, HashKind, ListPages, Location,
    PutOptions, RelPath, Result,
};
use ferry_engine::{AllowAll, Job, Mode, Stats, SyncOptions};
use ferry_local::{LocalBackend, LocalOptions};
use tokio::sync::Barrier;

const STREAMS: usize = 4;

/// A local directory posing as a remote that reads best in parallel; each ranged open
/// answers only once all `STREAMS` ranges have been opened.
struct SlowRemote {
    inner: Arc<dyn Backend>,
    features: Features,
    all_asked: Barrier,
}

#[async_trait]
impl Backend for SlowRemote {
    fn features(&self) -> &Features {
        &self.features
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
    fn list_pages(&self, dir: RelPath) -> ListPages<'_> {
        self.inner.list_pages(dir)
    }
    async fn open(&self, path: &RelPath, offset: u64, len: Option<u64>) -> Result<ByteStream> {
        if len.is_some() {
            tokio::time::timeout(Duration::from_secs(10), self.all_asked.wait())
                .await
                .map_err(|_| Error::new(ErrorKind::Io, "ranges were opened one at a time"))?;
        }
        self.inner.open(path, offset, len).await
    }
    async fn put(&self, path: &RelPath, data: ByteStream, opts: &PutOptions) -> Result<Entry> {
        self.inner.put(path, data, opts).await
    }
    async fn hash(&self, path: &RelPath, kind: HashKind) -> Result<Option<String>> {
        self.inner.hash(path, kind).await
    }
    async fn set_modtime(&self, path: &RelPath, mtime: SystemTime) -> Result<()> {
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
    fn local_path(&self, _path: &RelPath) -> Option<PathBuf> {
        None
    }
}

#[tokio::test]
async fn ranges_are_opened_together() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    std::fs::create_dir_all(&src).unwrap();
    let data: Vec<u8> = (0..1_000_003u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(src.join("big.bin"), &data).unwrap();
    let inner = LocalBackend::new(&src, LocalOptions::default());
    let mut features = inner.features().clone();
    features.caps.parallel_reads = true;
    let stats = Arc::new(Stats::default());
    let opts = SyncOptions {
        multi_thread_cutoff: 1 << 16,
        multi_thread_streams: STREAMS,
        ..Default::default()
    };
    let job = Job {
        src: Arc::new(SlowRemote {
            inner,
            features,
            all_asked: Barrier::new(STREAMS),
        }),
        dst: LocalBackend::new(&dst, LocalOptions::default()),
        mode: Mode::Copy,
        opts,
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
    let outcome = ferry_engine::run(job, 1, Duration::ZERO).await.unwrap();
    assert_eq!(outcome.errors, 0, "{:?}", stats.snapshot());
    assert_eq!(std::fs::read(dst.join("big.bin")).unwrap(), data);
}

//! Multi-thread downloads open their first round of chunks at once: a source whose reads
//! each wait until the whole round has been asked for (as a slow server's would, for its
//! answer) is still copied, and intact. Later chunks are opened as earlier ones end, never
//! more than `--multi-thread-streams` open at a time, in the file's order.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use ferry_core::{
    Backend, ByteStream, Entry, Error, ErrorKind, Features, HashKind, ListPages, Location,
    PutOptions, RelPath, Result,
};
use ferry_engine::{AllowAll, Job, Mode, Stats, SyncOptions};
use ferry_local::{LocalBackend, LocalOptions};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::Barrier;

const STREAMS: usize = 4;
const CHUNK: u64 = 100_000;

/// A local directory posing as a remote that reads best in parallel; each ranged open of
/// the first round answers only once all `STREAMS` of them have been asked for.
struct SlowRemote {
    inner: Arc<dyn Backend>,
    features: Features,
    all_asked: Barrier,
    /// Ranged reads open now, the most ever open at once, and the offsets asked for.
    open_now: Arc<AtomicUsize>,
    most_open: AtomicUsize,
    asked: Mutex<Vec<u64>>,
}

/// A ranged read, counted as open until it is dropped.
struct Counted {
    inner: ByteStream,
    open_now: Arc<AtomicUsize>,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.inner.as_mut().poll_read(cx, buf)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.open_now.fetch_sub(1, Ordering::SeqCst);
    }
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
        if len.is_none() {
            return self.inner.open(path, offset, len).await;
        }
        self.asked.lock().unwrap().push(offset);
        let now = self.open_now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_open.fetch_max(now, Ordering::SeqCst);
        if offset < STREAMS as u64 * CHUNK {
            tokio::time::timeout(Duration::from_secs(10), self.all_asked.wait())
                .await
                .map_err(|_| Error::new(ErrorKind::Io, "ranges were opened one at a time"))?;
        }
        let inner = self.inner.open(path, offset, len).await?;
        let open_now = self.open_now.clone();
        Ok(Box::pin(Counted { inner, open_now }))
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
async fn chunks_are_opened_a_round_together_then_in_order() {
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
        multi_thread_chunk_size: CHUNK,
        ..Default::default()
    };
    let remote = Arc::new(SlowRemote {
        inner,
        features,
        all_asked: Barrier::new(STREAMS),
        open_now: Arc::new(AtomicUsize::new(0)),
        most_open: AtomicUsize::new(0),
        asked: Mutex::new(Vec::new()),
    });
    let job = Job {
        src: remote.clone(),
        dst: LocalBackend::new(&dst, LocalOptions::default()),
        mode: Mode::Copy,
        opts,
        select: Arc::new(AllowAll),
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
    // 1,000,003 bytes in chunks of 100,000: eleven reads, each chunk once, the first four
    // together and never more than four at a time.
    let mut asked = remote.asked.lock().unwrap().clone();
    let first_round: Vec<u64> = {
        let mut r = asked[..STREAMS].to_vec();
        r.sort();
        r
    };
    assert_eq!(first_round, [0, CHUNK, 2 * CHUNK, 3 * CHUNK]);
    assert!(
        asked[STREAMS..].windows(2).all(|w| w[0] < w[1]),
        "{asked:?}"
    );
    asked.sort();
    let every: Vec<u64> = (0..11).map(|i| i * CHUNK).collect();
    assert_eq!(asked, every);
    assert_eq!(remote.most_open.load(Ordering::SeqCst), STREAMS);
}

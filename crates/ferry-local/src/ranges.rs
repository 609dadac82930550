//! One file written from several ranged streams at once (multi-thread downloads): each
//! stream at its own offset of one descriptor, the file's size reserved first, and the
//! hashes the caller will check computed in order while the ranges arrive, so checking
//! a big download costs no second pass once the last byte lands.

use std::fs::File;
use std::io;
use std::sync::Arc;

use ferry_core::{
    ByteStream, Entry, Error, ErrorKind, HashSet, Hashes, PutOptions, RelPath, Result,
};
use tokio::sync::watch;

use crate::beneath::Tree;
use crate::write::{read_into, write_failure, write_stream, Partial, Shared, BUFFER};

/// Each range's write buffer (two per range). Four ranges of two 1 MiB buffers no longer
/// fit the caches the kernel copies them out of: decrypting 1 GiB from crypt took 1.3-1.6 s
/// in three runs of four with them, against 0.55-0.65 s in three of four with 256 KiB
/// (smaller buffers cost more writes for no gain).
const RANGE_BUFFER: usize = 256 * 1024;

/// How far each range has been written: the end of its written bytes, and whether its
/// stream is over (a range that ended short stays short).
type Progress = Vec<(u64, bool)>;

/// Writes `ranges` (each from its offset up to the next one's) into a temporary file and
/// commits it, `parallel` ranges at a time in the file's order: the bytes just past the
/// hashing's position then arrive first. The returned entry carries the hashes of
/// `opts.hashes`' kinds, computed from the written bytes (not for `--inplace`, where the
/// caller hashes afterwards).
pub(crate) async fn put_ranges(
    tree: Tree,
    rel: RelPath,
    mut ranges: Vec<(u64, ByteStream)>,
    parallel: usize,
    opts: &PutOptions,
) -> Result<Entry> {
    let (inplace, rel2, size) = (opts.inplace, rel.clone(), opts.size);
    let partial = crate::blocking(move || {
        let partial = Partial::create(&tree, &rel2, inplace)?;
        reserve(partial.file(), size)
            .map_err(|e| write_failure("failed to reserve space", e).with_path(rel2.to_string()))?;
        Ok(partial)
    })
    .await?;
    let file = partial.shared(&rel)?;
    ranges.sort_by_key(|(offset, _)| *offset);
    let starts: Vec<u64> = ranges.iter().map(|(offset, _)| *offset).collect();
    let (progress, seen) = watch::channel::<Progress>(starts.iter().map(|&s| (s, false)).collect());
    let progress = Arc::new(progress);
    let kinds: HashSet = opts.hashes.iter().map(|(kind, _)| kind).collect();
    // Dropped on any failure, which stops the hashing with the writes.
    let mut hashing = tokio::task::JoinSet::new();
    if !inplace && !kinds.is_empty() && starts.first() == Some(&0) {
        hashing.spawn(follow(file.clone(), starts.clone(), size, seen, kinds));
    }
    let mut tasks = tokio::task::JoinSet::new();
    let mut waiting = ranges.into_iter().enumerate();
    let mut written = 0u64;
    loop {
        while tasks.len() < parallel.max(1) {
            let Some((i, (offset, data))) = waiting.next() else {
                break;
            };
            let (file, rel, progress) = (file.clone(), rel.clone(), progress.clone());
            tasks.spawn(write_range(file, rel, offset, data, move |end, over| {
                progress.send_modify(|p| p[i] = (end, over))
            }));
        }
        // A failed range drops the set (stopping the others) and the partial (removing
        // the file).
        match tasks.join_next().await {
            Some(done) => written += done.map_err(task_failed)??,
            None => break,
        }
    }
    let hashes = match hashing.join_next().await {
        Some(done) => done
            .map_err(task_failed)?
            .map_err(|e| e.with_path(rel.to_string()))?,
        None => None,
    };
    drop(file);
    let opts = opts.clone();
    let mut stored = crate::blocking(move || partial.commit(&opts, written, &rel)).await?;
    if let Some(h) = hashes {
        stored.hashes = h;
    }
    Ok(stored)
}

/// Writes one range from `offset`, telling `mark` how far it has got and when it is over.
async fn write_range(
    file: Arc<Shared>,
    rel: RelPath,
    offset: u64,
    mut data: ByteStream,
    mark: impl Fn(u64, bool) + Sync,
) -> Result<u64> {
    let mut buf = vec![0u8; RANGE_BUFFER];
    let n = read_into(&mut data, &mut buf, &rel).await?;
    let written = if n == 0 {
        0
    } else {
        write_stream(&mut data, file, offset, buf, n, &rel, &|end| {
            mark(end, false)
        })
        .await?
    };
    mark(offset + written, true);
    Ok(written)
}

fn task_failed(e: tokio::task::JoinError) -> Error {
    Error::new(ErrorKind::Io, format!("write task failed: {e}"))
}

/// Hashes `file` from its start as the ranges beginning at `starts` are written, reading
/// each part back from the page cache once it is there; `None` when a range ended short
/// (the size check then fails the file).
async fn follow(
    file: Arc<Shared>,
    starts: Vec<u64>,
    size: u64,
    mut seen: watch::Receiver<Progress>,
    kinds: HashSet,
) -> Result<Option<Hashes>> {
    let mut hasher = ferry_core::MultiHasher::new(kinds);
    let mut buf = vec![0u8; BUFFER];
    let mut at = 0u64;
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(size);
        debug_assert_eq!(at, start);
        while at < end {
            let ready = seen
                .wait_for(|p| p[i].0 > at || p[i].1)
                .await
                .map(|p| p[i].0)
                .unwrap_or(at);
            if ready <= at {
                return Ok(None);
            }
            let upto = ready.min(end);
            let f = file.clone();
            (hasher, buf) = crate::blocking(move || {
                hash_part(f.file(), at, upto, &mut hasher, &mut buf)
                    .map_err(|e| Error::io("failed to read back for hashing", e))?;
                Ok((hasher, buf))
            })
            .await?;
            at = upto;
        }
    }
    Ok(Some(hasher.finish()))
}

/// Feeds bytes `from..to` of `file` to `hasher`.
fn hash_part(
    file: &File,
    mut from: u64,
    to: u64,
    hasher: &mut ferry_core::MultiHasher,
    buf: &mut [u8],
) -> io::Result<()> {
    while from < to {
        let want = buf.len().min((to - from) as usize);
        let n = read_at(file, &mut buf[..want], from)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        hasher.update(&buf[..n]);
        from += n as u64;
    }
    Ok(())
}

fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    #[cfg(unix)]
    return std::os::unix::fs::FileExt::read_at(file, buf, offset);
    #[cfg(windows)]
    return std::os::windows::fs::FileExt::seek_read(file, buf, offset);
}

/// Gives `file` its final `size` before ranged writes fill it: allocated where the
/// filesystem can (`fallocate`: a disk without room fails before any byte is fetched, and
/// the streams' writes don't each extend the file), else only set.
fn reserve(file: &File, size: u64) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let len = libc::off_t::try_from(size).map_err(io::Error::other)?;
        // SAFETY: a valid open descriptor; mode 0 allocates and extends the file.
        if unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len) } == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EOPNOTSUPP) {
            return Err(e);
        }
    }
    file.set_len(size)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use ferry_core::{Backend, HashKind, PutOptions, RelPath};

    use crate::{LocalBackend, LocalOptions};

    /// A source that gives `good` bytes of 7s, then fails.
    struct Failing {
        good: usize,
    }

    impl tokio::io::AsyncRead for Failing {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            if self.good == 0 {
                let e = std::io::Error::other("connection reset mid-range");
                return std::task::Poll::Ready(Err(e));
            }
            let n = self.good.min(buf.remaining()).min(100_000);
            buf.put_slice(&vec![7u8; n]);
            self.good -= n;
            std::task::Poll::Ready(Ok(()))
        }
    }

    fn ranged_opts(size: u64) -> PutOptions {
        PutOptions {
            size,
            mtime: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            inplace: false,
            hashes: Default::default(),
            metadata: None,
        }
    }

    /// Every name in `dir`, sorted.
    fn names(dir: &std::path::Path) -> Vec<String> {
        let mut all: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        all.sort();
        all
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ranges_written_at_offsets_by_several_streams_leave_exactly_the_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let backend = LocalBackend::new(tmp.path(), LocalOptions::default());
        // Ranges of uneven sizes, several buffers each, handed over out of order.
        let data: Vec<u8> = (0..5_300_007u32).map(|i| (i * 31 % 253) as u8).collect();
        let cuts = [0, 1_000_000, 1_000_001, 3_500_000, data.len()];
        let mut ranges: Vec<(u64, ferry_core::ByteStream)> = cuts
            .windows(2)
            .map(|w| {
                let part = data[w[0]..w[1]].to_vec();
                (w[0] as u64, Box::pin(std::io::Cursor::new(part)) as _)
            })
            .collect();
        ranges.reverse();
        let rel = RelPath::new("d/ranged.bin").unwrap();
        let opts = ranged_opts(data.len() as u64);
        let stored = backend.put_ranges(&rel, ranges, 2, &opts).await.unwrap();
        assert_eq!(stored.unwrap().size, data.len() as u64);
        assert!(std::fs::read(tmp.path().join("d/ranged.bin")).unwrap() == data);
        assert_eq!(names(&tmp.path().join("d")), ["ranged.bin"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_range_leaves_nothing_under_any_name() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("old.bin"), b"the previous copy").unwrap();
        let backend = LocalBackend::new(tmp.path(), LocalOptions::default());
        let part = 3_000_000usize;
        let ranges: Vec<(u64, ferry_core::ByteStream)> = vec![
            (0, Box::pin(std::io::Cursor::new(vec![1u8; part]))),
            (part as u64, Box::pin(Failing { good: 2_500_000 })),
            (
                2 * part as u64,
                Box::pin(std::io::Cursor::new(vec![3u8; part])),
            ),
        ];
        let rel = RelPath::new("old.bin").unwrap();
        let e = backend
            .put_ranges(&rel, ranges, 3, &ranged_opts(3 * part as u64))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("connection reset"), "{e}");
        assert_eq!(names(tmp.path()), ["old.bin"]);
        assert_eq!(
            std::fs::read(tmp.path().join("old.bin")).unwrap(),
            b"the previous copy"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ranges_that_end_short_are_not_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let backend = LocalBackend::new(tmp.path(), LocalOptions::default());
        // The space is reserved for 4 MB; the streams bring 3.
        let ranges: Vec<(u64, ferry_core::ByteStream)> = vec![
            (0, Box::pin(std::io::Cursor::new(vec![1u8; 2_000_000]))),
            (
                2_000_000,
                Box::pin(std::io::Cursor::new(vec![2u8; 1_000_000])),
            ),
        ];
        let rel = RelPath::new("short.bin").unwrap();
        // With a hash asked for: the hashing stops at the short range instead of waiting.
        let mut opts = ranged_opts(4_000_000);
        opts.hashes.set(HashKind::Md5, "0".repeat(32));
        let e = backend
            .put_ranges(&rel, ranges, 2, &opts)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("sizes differ"), "{e}");
        assert!(names(tmp.path()).is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_written_bytes_are_hashed_as_the_ranges_arrive() {
        let tmp = tempfile::tempdir().unwrap();
        let backend = LocalBackend::new(tmp.path(), LocalOptions::default());
        let data: Vec<u8> = (0..4_200_000u32).map(|i| (i * 17 % 241) as u8).collect();
        let mut whole = ferry_core::MultiHasher::new([HashKind::Md5].into_iter().collect());
        whole.update(&data);
        let md5 = whole.finish().get(HashKind::Md5).unwrap().to_owned();
        let ranges = |data: &[u8]| -> Vec<(u64, ferry_core::ByteStream)> {
            data.chunks(1_100_000)
                .enumerate()
                .map(|(i, c)| {
                    (
                        (i * 1_100_000) as u64,
                        Box::pin(std::io::Cursor::new(c.to_vec())) as _,
                    )
                })
                .collect()
        };
        let mut opts = ranged_opts(data.len() as u64);
        // The source's hash says which kind to compute; the value reported is the file's.
        opts.hashes.set(HashKind::Md5, "0".repeat(32));
        let rel = RelPath::new("hashed.bin").unwrap();
        let stored = backend
            .put_ranges(&rel, ranges(&data), 2, &opts)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.hashes.get(HashKind::Md5), Some(md5.as_str()));
        assert!(std::fs::read(tmp.path().join("hashed.bin")).unwrap() == data);
        // Without a hash asked for, none is computed.
        let rel = RelPath::new("plain.bin").unwrap();
        let plain = ranged_opts(data.len() as u64);
        let stored = backend
            .put_ranges(&rel, ranges(&data), 4, &plain)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.hashes.get(HashKind::Md5), None);
    }
}

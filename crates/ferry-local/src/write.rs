//! Writing files: temporary name, verify, set mtime, rename into place, all relative to
//! the target's directory as [`beneath`] opened it (no link below the root is followed).

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

use ferry_core::{ByteStream, Entry, Error, ErrorKind, PutOptions, RelPath, Result};
use tokio::io::AsyncReadExt;

use crate::beneath::{self, Below, Dir, Op, Tree};
use crate::hashcache::{HashCache, Stamp};
use crate::{partial, LinkMode, LINK_SUFFIX};

/// Read/write buffer size: large enough that syscalls are not the cost.
pub(crate) const BUFFER: usize = 1 << 20;

/// A file being written, in the directory it goes to (opened without following links).
/// Dropped without `commit`, it removes its temporary file.
pub(crate) struct Partial {
    file: Option<File>,
    dir: Arc<Dir>,
    tmp: OsString,
    name: OsString,
    inplace: bool,
    /// `--fsync`: the data reaches the disk before the final name does.
    fsync: bool,
}

impl Partial {
    pub(crate) fn create(tree: &Tree, rel: &RelPath, inplace: bool) -> Result<Partial> {
        let (dir, name) = tree.parent(&Below::of(rel), true, Op::Write)?;
        let tmp = if inplace {
            name.clone()
        } else {
            temp_name(&name)
        };
        let file = dir.create_file(&tmp, inplace).map_err(|e| {
            if inplace && dir.is_link(&name) {
                beneath::refusal(rel.as_str(), rel.as_str(), &tree.display, Op::Write)
            } else {
                write_failure("failed to create file", e).with_path(rel.to_string())
            }
        })?;
        partial::lock(&file);
        Ok(Partial {
            file: Some(file),
            dir: Arc::new(dir),
            tmp,
            name,
            inplace,
            fsync: tree.fsync,
        })
    }

    pub(crate) fn file(&self) -> &File {
        self.file.as_ref().expect("file is open until commit")
    }

    /// A second descriptor of the file, for writes away from the blocking pool's hop
    /// that made it; dropped before `commit`.
    pub(crate) fn shared(&self, rel: &RelPath) -> Result<Arc<Shared>> {
        let file = self
            .file()
            .try_clone()
            .map_err(|e| Error::io("failed to open file", e).with_path(rel.to_string()))?;
        Ok(Arc::new(Shared {
            file,
            writing: std::sync::Mutex::new(()),
        }))
    }

    pub(crate) fn commit(
        mut self,
        opts: &PutOptions,
        written: u64,
        rel: &RelPath,
    ) -> Result<Entry> {
        if written != opts.size {
            return Err(Error::new(
                ErrorKind::Corrupted,
                format!(
                    "corrupted on transfer: sizes differ (expected {}, wrote {written}); the partial file was removed",
                    opts.size
                ),
            )
            .with_path(rel.to_string())
            // rclone retries a corrupted transfer: the source may have been mid-update.
            .temporary(true));
        }
        let mtime = filetime::FileTime::from_system_time(opts.mtime);
        let file = self.file.take().expect("committed once");
        filetime::set_file_handle_times(&file, None, Some(mtime)).map_err(|e| {
            write_failure("failed to set modification time", e).with_path(rel.to_string())
        })?;
        // Metadata goes onto the temporary file, so a failure leaves nothing behind.
        let mut stored_mtime = opts.mtime;
        if let Some(m) = &opts.metadata {
            if let Some(t) =
                crate::meta::apply(&file, m).map_err(|e| e.with_path(rel.to_string()))?
            {
                stored_mtime = t;
            }
        }
        if self.fsync {
            durable(Synced::File, rel, || file.sync_all())?;
        }
        drop(file);
        if !self.inplace {
            ferry_core::crash::point(ferry_core::crash::TEMP_WRITTEN);
            self.dir
                .rename(&self.tmp, &self.dir, &self.name)
                .map_err(|e| {
                    write_failure("failed to move file into place", e).with_path(rel.to_string())
                })?;
        }
        self.inplace = true; // nothing left to clean up
        if self.fsync {
            // After the rename, so the final name itself survives a power loss.
            durable(Synced::Dir, rel, || self.dir.sync())?;
        }
        Ok(Entry::file(rel.clone(), written, stored_mtime))
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.inplace {
            self.file.take();
            let _ = self.dir.unlink(&self.tmp);
        }
    }
}

/// What `--fsync` flushed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Synced {
    File,
    Dir,
}

/// Runs one `--fsync` flush of `rel` (or its directory), failing the file if it fails:
/// a file the user asked to have on disk is not reported copied when it may not be.
fn durable(what: Synced, rel: &RelPath, sync: impl FnOnce() -> io::Result<()>) -> Result<()> {
    #[cfg(test)]
    tests::note_sync(what, rel);
    let context = match what {
        Synced::File => "failed to sync file to disk (--fsync)",
        Synced::Dir => "failed to sync its directory to disk (--fsync)",
    };
    sync().map_err(|e| write_failure(context, e).with_path(rel.to_string()))
}

/// An I/O failure while writing, with what to do when the disk itself is the cause (full,
/// over quota, mounted read-only): it fails every file alike, and the system's text alone
/// doesn't say that the fix is outside ferry.
pub(crate) fn write_failure(context: impl Into<String>, e: io::Error) -> Error {
    let advice = match e.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
            "free space on the destination's disk and run again"
        }
        io::ErrorKind::ReadOnlyFilesystem => {
            "the destination is mounted read-only: remount it writable or choose another destination"
        }
        _ => return Error::io(context, e),
    };
    Error::new(ErrorKind::Io, format!("{}: {e}; {advice}", context.into()))
}

/// The temporary name beside `name` (see [`partial`]).
fn temp_name(name: &OsStr) -> OsString {
    partial::temp_path(Path::new(name))
        .file_name()
        .map(OsStr::to_owned)
        .unwrap_or_default()
}

pub(crate) async fn put_stream(
    tree: Tree,
    rel: RelPath,
    mut data: ByteStream,
    opts: &PutOptions,
) -> Result<Entry> {
    // One byte more than the size: a source that keeps to it ends short of a full buffer,
    // which tells it ended without another read.
    let len = opts.size.saturating_add(1).clamp(4096, BUFFER as u64) as usize;
    let mut buf = vec![0u8; len];
    let n = read_into(&mut data, &mut buf, &rel).await?;
    let (inplace, opts) = (opts.inplace, opts.clone());
    if n < buf.len() {
        // The whole file is in memory: created, written and committed in one trip to the
        // blocking pool (three before, for each small file).
        return crate::blocking(move || {
            let partial = Partial::create(&tree, &rel, inplace)?;
            let mut out = partial.file();
            out.write_all(&buf[..n])
                .map_err(|e| write_failure("failed to write", e).with_path(rel.to_string()))?;
            partial.commit(&opts, n as u64, &rel)
        })
        .await;
    }
    let rel2 = rel.clone();
    let partial = crate::blocking(move || Partial::create(&tree, &rel2, inplace)).await?;
    let file = partial.shared(&rel)?;
    let written = write_stream(&mut data, file, 0, buf, n, &rel, &|_| ()).await?;
    crate::blocking(move || partial.commit(&opts, written, &rel)).await
}

/// Fills `buf` from `data`; fewer bytes than it holds only at the stream's end.
pub(crate) async fn read_into(
    data: &mut ByteStream,
    buf: &mut [u8],
    rel: &RelPath,
) -> Result<usize> {
    ferry_core::fill(data, buf)
        .await
        .map_err(|e| Error::io("failed to read source", e).with_path(rel.to_string()))
}

/// A file being written at offsets by one stream or several (ranged downloads), one
/// write at a time. Buffered writes to one file serialize on its inode lock anyway, and
/// the kernel's waiters spin for that lock: with four streams decrypting 1 GiB, up to a
/// fifth of the CPU time went to spinning (perf). Waiting here sleeps instead.
pub(crate) struct Shared {
    file: File,
    writing: std::sync::Mutex<()>,
}

impl Shared {
    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// Writes all of `buf` at `offset`, leaving the file's own offset alone.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let _one = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        write_all_at(&self.file, buf, offset)
    }
}

/// A write of one buffer on the blocking pool; it gives back the buffer.
type Writing = tokio::task::JoinHandle<(Vec<u8>, io::Result<()>)>;

/// Writes the `n` bytes already read into `buf` and the rest of `data` to `file` at
/// `offset` onwards (positioned writes, so several streams share one descriptor); the
/// bytes written. Whole buffers are written from the blocking pool while the next fills:
/// a `tokio::fs::File` would copy each into a buffer of its own first, and writing every
/// chunk as the stream yields it (a crypt stream's blocks, a socket's reads) cost 33,000
/// trips to the pool and as many wake-ups per GiB.
pub(crate) async fn write_stream(
    data: &mut ByteStream,
    file: Arc<Shared>,
    mut offset: u64,
    mut buf: Vec<u8>,
    mut n: usize,
    rel: &RelPath,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<u64> {
    let mut spare = None;
    let mut written = 0u64;
    loop {
        let last = n < buf.len();
        let full = if last {
            std::mem::take(&mut buf)
        } else {
            let next = spare.take().unwrap_or_else(|| vec![0u8; buf.len()]);
            std::mem::replace(&mut buf, next)
        };
        let f = file.clone();
        let at = offset;
        let writing: Writing = tokio::task::spawn_blocking(move || {
            let done = f.write_all_at(&full[..n], at);
            (full, done)
        });
        written += n as u64;
        offset += n as u64;
        // The next buffer fills while this one is written, unless the stream has ended.
        let next = if last {
            0
        } else {
            read_into(data, &mut buf, rel).await?
        };
        let (done_buf, done) = writing
            .await
            .map_err(|e| Error::new(ErrorKind::Io, format!("write task failed: {e}")))?;
        done.map_err(|e| write_failure("failed to write", e).with_path(rel.to_string()))?;
        progress(offset);
        (spare, n) = (Some(done_buf), next);
        if n == 0 {
            return Ok(written);
        }
    }
}

/// Writes all of `buf` at `offset` of `file`, leaving its own offset alone.
fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    return std::os::unix::fs::FileExt::write_all_at(file, buf, offset);
    #[cfg(windows)]
    {
        let (mut buf, mut offset) = (buf, offset);
        while !buf.is_empty() {
            match std::os::windows::fs::FileExt::seek_write(file, buf, offset)? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => (buf, offset) = (&buf[n..], offset + n as u64),
            }
        }
        Ok(())
    }
}

/// Hashes a file in the calling (blocking) thread, with a buffer no larger than the file.
/// The `kinds` of hash of the file at `path` when `cache` kept every one of them for this
/// very file: one stat and a few lookups, cheap enough not to need a blocking thread.
pub(crate) fn cached_hashes(
    path: &Path,
    kinds: ferry_core::HashSet,
    cache: &HashCache,
) -> Option<ferry_core::Hashes> {
    let meta = std::fs::metadata(path).ok()?;
    let mut out = ferry_core::Hashes::default();
    for kind in kinds.iter() {
        out.set(kind, cache.get_for(path, &meta, kind)?);
        tracing::debug!("{}: {} from the hash cache", path.display(), kind.name());
    }
    Some(out)
}

/// The `kinds` of hash of the file at `path`, from one read of it; each is kept in `cache`
/// (looked up first by [`cached_hashes`]) under the open file's own identity, before and
/// after the read, so a path swapped meanwhile can't fool it.
pub(crate) fn hash_file(
    path: &Path,
    kinds: ferry_core::HashSet,
    cache: Option<&HashCache>,
) -> Result<ferry_core::Hashes> {
    use std::io::Read;
    let mut file = File::open(path).map_err(|e| Error::io("failed to open for hashing", e))?;
    // What is kept is identified by the open file itself, before and after the read.
    let stamp = |f: &File| f.metadata().ok().and_then(|m| Stamp::of(&m));
    let before = cache.and(stamp(&file));
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut buf = vec![0u8; (len.min(BUFFER as u64) as usize).max(4096)];
    let mut hasher = ferry_core::MultiHasher::new(kinds);
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io("failed to read for hashing", e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let computed = hasher.finish();
    // Kept only if the file did not change while it was read.
    if let (Some(cache), Some(s)) = (cache, before.filter(|s| stamp(&file) == Some(*s))) {
        let key = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        for (kind, hash) in computed.iter() {
            cache.put(&key, kind, &s, hash);
        }
    }
    Ok(computed)
}

/// A local-to-local copy done by the kernel: a reflink where the filesystem shares
/// blocks, else `copy_file_range` (which `io::copy` uses between two files on Linux).
pub(crate) fn copy_file(src: &Path, tree: &Tree, rel: RelPath, opts: &PutOptions) -> Result<Entry> {
    let input = File::open(src)
        .map_err(|e| Error::io("failed to open source", e).with_path(rel.to_string()))?;
    let partial = Partial::create(tree, &rel, opts.inplace)?;
    let written = if reflink(&input, partial.file()) {
        opts.size
    } else {
        let mut out = partial.file();
        // One byte past the size at most: a file that keeps growing fails as updated
        // below instead of being copied for as long as it grows.
        let mut bounded = io::Read::take(&input, opts.size.saturating_add(1));
        let n = io::copy(&mut bounded, &mut out)
            .map_err(|e| write_failure("failed to copy data", e).with_path(rel.to_string()))?;
        out.flush()
            .map_err(|e| write_failure("failed to write", e).with_path(rel.to_string()))?;
        n
    };
    let actual = input
        .metadata()
        .map(|m| m.len())
        .map_err(|e| Error::io("failed to read file info", e).with_path(rel.to_string()))?;
    if actual != opts.size {
        return Err(Error::new(
            ErrorKind::Io,
            format!(
                "can't copy - source file is being updated (size changed from {} to {actual})",
                opts.size
            ),
        )
        .with_path(rel.to_string())
        .temporary(true));
    }
    partial.commit(opts, written, &rel)
}

#[cfg(target_os = "linux")]
fn reflink(src: &File, dst: &File) -> bool {
    use std::os::fd::AsRawFd;
    // FICLONE = _IOW(0x94, 9, int)
    const FICLONE: libc::c_ulong = 0x4004_9409;
    // SAFETY: FICLONE takes the source descriptor as its argument; both are valid open files.
    unsafe { libc::ioctl(dst.as_raw_fd(), FICLONE as _, src.as_raw_fd()) == 0 }
}

#[cfg(not(target_os = "linux"))]
fn reflink(_src: &File, _dst: &File) -> bool {
    false
}

/// Where a rename comes from: a file below another local backend's root.
pub(crate) struct MoveSource {
    pub tree: Tree,
    pub below: Below,
}

/// Renames a local file into this tree; `Ok(None)` when it lives on another filesystem.
/// Neither side's directories are reached through a link below its root.
pub(crate) fn rename(
    from: &MoveSource,
    tree: &Tree,
    rel: RelPath,
    links: LinkMode,
) -> Result<Option<Entry>> {
    if links == LinkMode::Translate && rel.as_str().ends_with(LINK_SUFFIX) {
        return Ok(None);
    }
    let (src_dir, src_name) = from.tree.parent(&from.below, false, Op::Move)?;
    // Directories are made only for a file that is there to move, as before.
    if src_dir.stat(&src_name).ok().flatten().is_none() {
        return Err(
            Error::io("failed to move", io::Error::from(io::ErrorKind::NotFound))
                .with_path(rel.to_string()),
        );
    }
    // A link (listed as its target under -L) is copied from what it points to, not
    // moved as a link: the caller falls back to copy and delete.
    if src_dir.is_link(&src_name) {
        return Ok(None);
    }
    let (dir, name) = tree.parent(&Below::of(&rel), true, Op::Write)?;
    match src_dir.rename(&src_name, &dir, &name) {
        Ok(()) => {
            if tree.fsync {
                // Both directories changed: the name's new place and its old one.
                durable(Synced::Dir, &rel, || dir.sync())?;
                durable(Synced::Dir, &rel, || src_dir.sync())?;
            }
            let (size, mtime) = dir
                .stat(&name)
                .map_err(|e| Error::io("failed to read file info", e).with_path(rel.to_string()))?
                .ok_or_else(|| Error::not_found(rel.to_string()))?;
            Ok(Some(Entry::file(rel, size, mtime)))
        }
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => Ok(None),
        Err(e) => Err(write_failure("failed to move", e).with_path(rel.to_string())),
    }
}

/// `-l`: writes `NAME.rclonelink` content as a symbolic link `NAME` (`link` is `NAME`).
/// The longest link target made (Linux's PATH_MAX).
const LINK_TARGET_MAX: u64 = 4096;

pub(crate) async fn put_link(
    tree: Tree,
    link: RelPath,
    rel: RelPath,
    mut data: ByteStream,
    opts: &PutOptions,
) -> Result<Entry> {
    // A link target is a path: a "link file" of megabytes is not one, and is not read
    // into memory whole.
    let mut text = String::new();
    (&mut data)
        .take(LINK_TARGET_MAX + 1)
        .read_to_string(&mut text)
        .await
        .map_err(|e| Error::io("failed to read link target", e).with_path(rel.to_string()))?;
    if text.len() as u64 > LINK_TARGET_MAX {
        return Err(Error::new(
            ErrorKind::InvalidPath,
            format!("a link target longer than {LINK_TARGET_MAX} bytes is not a path; not made"),
        )
        .with_path(rel.to_string()));
    }
    let opts = opts.clone();
    crate::blocking(move || {
        let (dir, name) = tree
            .parent(&Below::of(&link), true, Op::Write)
            .map_err(|e| e.with_path(rel.to_string()))?;
        let tmp = temp_name(&name);
        dir.symlink(&text, &tmp)
            .map_err(|e| write_failure("failed to create link", e).with_path(rel.to_string()))?;
        let _ = dir.set_times(Some(&tmp), Some(opts.mtime), Some(opts.mtime));
        dir.rename(&tmp, &dir, &name).map_err(|e| {
            let _ = dir.unlink(&tmp);
            write_failure("failed to move link into place", e).with_path(rel.to_string())
        })?;
        if tree.fsync {
            durable(Synced::Dir, &rel, || dir.sync())?;
        }
        Ok(Entry::file(rel, text.len() as u64, opts.mtime))
    })
    .await
}

/// Renames the directory `from` to `to` when `from` is a real directory (not a link to
/// one), `to` doesn't exist, and both are on one filesystem; whether it did. Otherwise
/// the source is left as it was, for a move file by file to do (and to name its errors).
pub(crate) fn rename_tree(from: &Path, to: &Path) -> bool {
    let is_dir = std::fs::symlink_metadata(from).is_ok_and(|m| m.file_type().is_dir());
    if !is_dir || std::fs::symlink_metadata(to).is_ok() {
        return false;
    }
    if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
        if std::fs::create_dir_all(parent).is_err() {
            return false;
        }
    }
    std::fs::rename(from, to).is_ok()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::{Duration, UNIX_EPOCH};

    use ferry_core::{Backend, PutOptions, RelPath};

    use super::Synced;
    use crate::{LocalBackend, LocalOptions};

    /// Every `--fsync` flush made by this test binary, by relative path.
    static SYNCED: Mutex<Vec<(Synced, String)>> = Mutex::new(Vec::new());

    pub(super) fn note_sync(what: Synced, rel: &RelPath) {
        SYNCED.lock().unwrap().push((what, rel.to_string()));
    }

    fn syncs_of(rel: &str) -> Vec<Synced> {
        let all = SYNCED.lock().unwrap();
        all.iter()
            .filter(|(_, r)| r == rel)
            .map(|(w, _)| *w)
            .collect()
    }

    async fn put(fsync: bool, rel: &str, data: &'static [u8]) -> Vec<u8> {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let opts = LocalOptions {
            fsync,
            ..LocalOptions::default()
        };
        let backend = LocalBackend::new(dir, opts);
        let put = PutOptions {
            size: data.len() as u64,
            mtime: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            inplace: false,
            hashes: Default::default(),
            metadata: None,
        };
        let rel = RelPath::new(rel).unwrap();
        backend
            .put(&rel, Box::pin(std::io::Cursor::new(data)), &put)
            .await
            .unwrap();
        std::fs::read(dir.join(rel.as_str())).unwrap()
    }

    #[tokio::test]
    async fn fsync_flushes_the_file_then_its_directory() {
        assert_eq!(put(true, "sub/fsync-on.txt", b"durable").await, b"durable");
        assert_eq!(syncs_of("sub/fsync-on.txt"), [Synced::File, Synced::Dir]);
    }

    #[test]
    fn fsync_flushes_both_directories_of_a_move_by_rename() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("a")).unwrap();
        std::fs::write(tmp.path().join("a/moved.txt"), b"m").unwrap();
        let tree = |fsync| crate::beneath::Tree {
            root: tmp.path().to_path_buf(),
            display: "t".into(),
            names: ferry_core::encoding::Names::new(ferry_core::encoding::Encoding::LOCAL_DEFAULT),
            fsync,
        };
        let from = super::MoveSource {
            tree: tree(false),
            below: crate::beneath::Below::of(&RelPath::new("a/moved.txt").unwrap()),
        };
        let rel = RelPath::new("b/fsync-moved.txt").unwrap();
        let moved = super::rename(&from, &tree(true), rel, crate::LinkMode::Skip).unwrap();
        assert!(moved.is_some());
        assert_eq!(
            std::fs::read(tmp.path().join("b/fsync-moved.txt")).unwrap(),
            b"m"
        );
        assert_eq!(syncs_of("b/fsync-moved.txt"), [Synced::Dir, Synced::Dir]);
    }

    #[tokio::test]
    async fn without_fsync_nothing_is_flushed() {
        assert_eq!(put(false, "fsync-off.txt", b"fast").await, b"fast");
        assert!(syncs_of("fsync-off.txt").is_empty());
    }
}

//! Writing files: temporary name, verify, set mtime, rename into place.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use ferry_core::{ByteStream, Entry, Error, ErrorKind, PutOptions, RelPath, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{partial, LinkMode, LINK_SUFFIX};

/// Read/write buffer size: large enough that syscalls are not the cost.
pub(crate) const BUFFER: usize = 1 << 20;

/// A file being written. Dropped without `commit`, it removes its temporary file.
struct Partial {
    file: Option<File>,
    tmp: PathBuf,
    target: PathBuf,
    inplace: bool,
}

impl Partial {
    fn create(target: PathBuf, inplace: bool, rel: &RelPath) -> Result<Partial> {
        let tmp = if inplace {
            target.clone()
        } else {
            partial::temp_path(&target)
        };
        let open = |p: &Path| {
            let mut o = OpenOptions::new();
            o.write(true);
            if inplace {
                o.create(true).truncate(true);
            } else {
                o.create_new(true);
            }
            o.open(p)
        };
        let file = match open(&tmp) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent).map_err(|e| {
                        Error::io("failed to make directory", e).with_path(rel.to_string())
                    })?;
                }
                open(&tmp)
            }
            other => other,
        }
        .map_err(|e| Error::io("failed to create file", e).with_path(rel.to_string()))?;
        partial::lock(&file);
        Ok(Partial {
            file: Some(file),
            tmp,
            target,
            inplace,
        })
    }

    fn file(&self) -> &File {
        self.file.as_ref().expect("file is open until commit")
    }

    fn commit(mut self, opts: &PutOptions, written: u64, rel: &RelPath) -> Result<Entry> {
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
            Error::io("failed to set modification time", e).with_path(rel.to_string())
        })?;
        drop(file);
        // Metadata goes onto the temporary file, so a failure leaves nothing behind.
        let mut stored_mtime = opts.mtime;
        if let Some(m) = &opts.metadata {
            if let Some(t) =
                crate::meta::apply(&self.tmp, m).map_err(|e| e.with_path(rel.to_string()))?
            {
                stored_mtime = t;
            }
        }
        if !self.inplace {
            fs::rename(&self.tmp, &self.target).map_err(|e| {
                Error::io("failed to move file into place", e).with_path(rel.to_string())
            })?;
        }
        self.inplace = true; // nothing left to clean up
        Ok(Entry::file(rel.clone(), written, stored_mtime))
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.inplace {
            self.file.take();
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

pub(crate) async fn put_stream(
    target: PathBuf,
    rel: RelPath,
    mut data: ByteStream,
    opts: &PutOptions,
) -> Result<Entry> {
    let (inplace, rel2) = (opts.inplace, rel.clone());
    let partial = crate::blocking(move || Partial::create(target, inplace, &rel2)).await?;
    let std_file = partial
        .file()
        .try_clone()
        .map_err(|e| Error::io("failed to open file", e).with_path(rel.to_string()))?;
    let mut out = tokio::fs::File::from_std(std_file);
    let mut buf = vec![0u8; BUFFER.min(opts.size.max(4096) as usize)];
    let mut written = 0u64;
    loop {
        let n = data
            .read(&mut buf)
            .await
            .map_err(|e| Error::io("failed to read source", e).with_path(rel.to_string()))?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n])
            .await
            .map_err(|e| Error::io("failed to write", e).with_path(rel.to_string()))?;
        written += n as u64;
    }
    out.flush()
        .await
        .map_err(|e| Error::io("failed to write", e).with_path(rel.to_string()))?;
    drop(out);
    let opts = opts.clone();
    crate::blocking(move || partial.commit(&opts, written, &rel)).await
}

/// Writes one file from several ranged streams at once, each through a file description
/// of its own (so each has its own offset), into the same temporary file as `put_stream`.
pub(crate) async fn put_ranges(
    target: PathBuf,
    rel: RelPath,
    ranges: Vec<(u64, ByteStream)>,
    opts: &PutOptions,
) -> Result<Entry> {
    use tokio::io::AsyncSeekExt;
    let (inplace, rel2) = (opts.inplace, rel.clone());
    let partial = crate::blocking(move || Partial::create(target, inplace, &rel2)).await?;
    let mut tasks = tokio::task::JoinSet::new();
    for (offset, mut data) in ranges {
        let (tmp, rel) = (partial.tmp.clone(), rel.clone());
        tasks.spawn(async move {
            let failed = |what: &str, e: io::Error| Error::io(what, e).with_path(rel.to_string());
            let mut out = tokio::fs::OpenOptions::new()
                .write(true)
                .open(&tmp)
                .await
                .map_err(|e| failed("failed to open file", e))?;
            out.seek(io::SeekFrom::Start(offset))
                .await
                .map_err(|e| failed("failed to write", e))?;
            let mut buf = vec![0u8; BUFFER];
            let mut written = 0u64;
            loop {
                let n = data
                    .read(&mut buf)
                    .await
                    .map_err(|e| failed("failed to read source", e))?;
                if n == 0 {
                    break;
                }
                out.write_all(&buf[..n])
                    .await
                    .map_err(|e| failed("failed to write", e))?;
                written += n as u64;
            }
            out.flush()
                .await
                .map_err(|e| failed("failed to write", e))?;
            Ok::<u64, Error>(written)
        });
    }
    let mut written = 0u64;
    // A failed range drops the set (stopping the others) and the partial (removing the file).
    while let Some(done) = tasks.join_next().await {
        written +=
            done.map_err(|e| Error::new(ErrorKind::Io, format!("write task failed: {e}")))??;
    }
    let opts = opts.clone();
    crate::blocking(move || partial.commit(&opts, written, &rel)).await
}

/// Hashes a file in the calling (blocking) thread, with a buffer no larger than the file.
pub(crate) fn hash_file(path: &Path, kind: ferry_core::HashKind) -> Result<Option<String>> {
    use std::io::Read;
    let mut file = File::open(path).map_err(|e| Error::io("failed to open for hashing", e))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut buf = vec![0u8; (len.min(BUFFER as u64) as usize).max(4096)];
    let mut hasher = ferry_core::MultiHasher::new([kind].into_iter().collect());
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io("failed to read for hashing", e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finish().get(kind).map(str::to_owned))
}

/// A local-to-local copy done by the kernel: a reflink where the filesystem shares
/// blocks, else `copy_file_range` (which `io::copy` uses between two files on Linux).
pub(crate) fn copy_file(
    src: &Path,
    target: PathBuf,
    rel: RelPath,
    opts: &PutOptions,
) -> Result<Entry> {
    let mut input = File::open(src)
        .map_err(|e| Error::io("failed to open source", e).with_path(rel.to_string()))?;
    let partial = Partial::create(target, opts.inplace, &rel)?;
    let written = if reflink(&input, partial.file()) {
        opts.size
    } else {
        let mut out = partial.file();
        let n = io::copy(&mut input, &mut out)
            .map_err(|e| Error::io("failed to copy", e).with_path(rel.to_string()))?;
        out.flush()
            .map_err(|e| Error::io("failed to write", e).with_path(rel.to_string()))?;
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

/// Renames a local file into this tree; `Ok(None)` when it lives on another filesystem.
pub(crate) fn rename(
    src: &Path,
    target: &Path,
    rel: RelPath,
    links: LinkMode,
) -> Result<Option<Entry>> {
    if links == LinkMode::Translate && rel.as_str().ends_with(LINK_SUFFIX) {
        return Ok(None);
    }
    let attempt = fs::rename(src, target);
    let attempt = match attempt {
        Err(e) if e.kind() == io::ErrorKind::NotFound && src.exists() => {
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).map_err(|e| {
                    Error::io("failed to make directory", e).with_path(rel.to_string())
                })?;
            }
            fs::rename(src, target)
        }
        other => other,
    };
    match attempt {
        Ok(()) => {
            let meta = fs::metadata(target)
                .map_err(|e| Error::io("failed to read file info", e).with_path(rel.to_string()))?;
            let mtime = meta.modified().unwrap_or(std::time::SystemTime::UNIX_EPOCH);
            Ok(Some(Entry::file(rel, meta.len(), mtime)))
        }
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => Ok(None),
        Err(e) => Err(Error::io("failed to move", e).with_path(rel.to_string())),
    }
}

/// `-l`: writes `NAME.rclonelink` content as a symbolic link `NAME`.
pub(crate) async fn put_link(
    target: PathBuf,
    rel: RelPath,
    mut data: ByteStream,
    opts: &PutOptions,
) -> Result<Entry> {
    let mut text = String::new();
    data.read_to_string(&mut text)
        .await
        .map_err(|e| Error::io("failed to read link target", e).with_path(rel.to_string()))?;
    let opts = opts.clone();
    crate::blocking(move || {
        let name = target.to_string_lossy();
        let link = PathBuf::from(name.strip_suffix(LINK_SUFFIX).unwrap_or(&name));
        let tmp = partial::temp_path(&link);
        if let Some(parent) = link.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| Error::io("failed to make directory", e).with_path(rel.to_string()))?;
        }
        make_symlink(&text, &tmp)
            .map_err(|e| Error::io("failed to create link", e).with_path(rel.to_string()))?;
        let t = filetime::FileTime::from_system_time(opts.mtime);
        let _ = filetime::set_symlink_file_times(&tmp, t, t);
        fs::rename(&tmp, &link).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            Error::io("failed to move link into place", e).with_path(rel.to_string())
        })?;
        Ok(Entry::file(rel, text.len() as u64, opts.mtime))
    })
    .await
}

#[cfg(unix)]
fn make_symlink(target: &str, at: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, at)
}

#[cfg(not(unix))]
fn make_symlink(_target: &str, _at: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "symbolic links are not supported here",
    ))
}

use std::time::SystemTime;

use crate::{Backend, Error, Hashes, RelPath, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
}

/// One object or directory as a backend lists it.
#[derive(Clone, Debug)]
pub struct Entry {
    pub path: RelPath,
    pub kind: EntryKind,
    /// Size in bytes (0 for directories, and for a file of unknown size).
    pub size: u64,
    /// The file's size is not known until it is read (rclone's size -1: a GCS object
    /// stored gzip-compressed and read with `decompress`). `size` is then 0: no size is
    /// compared, a copy is spooled to learn it before it is written, and size filters
    /// see it as rclone's -1 (below any `--min-size`, within any `--max-size`).
    pub size_unknown: bool,
    pub mtime: SystemTime,
    /// `mtime` is only what the listing had at hand (e.g. S3's `LastModified`); the
    /// exact one costs a request per object ([`exact_mtime`]), so it is fetched only
    /// when something depends on it.
    pub mtime_provisional: bool,
    /// Hashes the backend already knows without reading the data (e.g. an S3 ETag).
    pub hashes: Hashes,
    /// A directory's size as its backend lists it, where it lists one (rclone's S3 lists
    /// a key prefix or a `dir/` marker as 0 bytes); `None`: unknown (shown as -1).
    pub dir_size: Option<u64>,
    /// The storage tier or class the listing gave (Azure's access tier, S3's storage
    /// class where the provider has classes), shown as rclone's `Tier`.
    pub tier: Option<String>,
    /// What the listing gives as this object's version (an S3 ETag): it changes whenever
    /// the object is rewritten, so a record made from an earlier listing can be trusted
    /// while it still matches.
    pub version: Option<String>,
    /// The media type the server gives the object (an HTTP `Content-Type`), shown as
    /// rclone's `MimeType`; `None`: guessed from the name where shown.
    pub content_type: Option<String>,
}

/// `--default-time`, set once before anything is listed.
static DEFAULT_TIME: std::sync::OnceLock<SystemTime> = std::sync::OnceLock::new();

/// Sets the time shown for what keeps none (`--default-time`) for the whole process.
pub fn set_default_time(t: SystemTime) {
    let _ = DEFAULT_TIME.set(t);
}

/// The time shown for a directory that keeps none of its own (an object store's key
/// prefix): `--default-time`, by default 2000-01-01T00:00:00Z, as rclone shows such
/// directories in `lsd` and `lsjson`.
pub fn no_dir_time() -> SystemTime {
    *DEFAULT_TIME
        .get()
        .unwrap_or(&(std::time::UNIX_EPOCH + std::time::Duration::from_secs(946_684_800)))
}

impl Entry {
    pub fn file(path: RelPath, size: u64, mtime: SystemTime) -> Self {
        Entry {
            path,
            kind: EntryKind::File,
            size,
            size_unknown: false,
            mtime,
            mtime_provisional: false,
            hashes: Hashes::default(),
            dir_size: None,
            tier: None,
            version: None,
            content_type: None,
        }
    }

    pub fn dir(path: RelPath, mtime: SystemTime) -> Self {
        Entry {
            path,
            kind: EntryKind::Dir,
            size: 0,
            size_unknown: false,
            mtime,
            mtime_provisional: false,
            hashes: Hashes::default(),
            dir_size: None,
            tier: None,
            version: None,
            content_type: None,
        }
    }

    /// A file whose size is learnt only by reading it (see [`Entry::size_unknown`]).
    pub fn file_of_unknown_size(path: RelPath, mtime: SystemTime) -> Self {
        Entry {
            size_unknown: true,
            ..Entry::file(path, 0, mtime)
        }
    }

    /// The size as rclone shows a file's: -1 when unknown.
    pub fn shown_size(&self) -> i64 {
        if self.size_unknown {
            -1
        } else {
            self.size as i64
        }
    }

    /// Whether two files' sizes are known and differ (rclone: an unknown size matches any).
    pub fn sizes_differ(&self, other: &Entry) -> bool {
        !self.size_unknown && !other.size_unknown && self.size != other.size
    }

    pub fn is_dir(&self) -> bool {
        self.kind == EntryKind::Dir
    }

    pub fn name(&self) -> &str {
        self.path.name()
    }
}

/// Makes `entry`'s mtime exact: a no-op when the listing gave the real one, else one
/// `stat` of the object (whose hashes also fill any the listing lacked).
pub async fn exact_mtime(backend: &dyn Backend, entry: &mut Entry) -> Result<()> {
    if !entry.mtime_provisional {
        return Ok(());
    }
    let Some(found) = backend.stat(&entry.path).await? else {
        return Err(Error::not_found(entry.path.to_string()));
    };
    entry.mtime = found.mtime;
    entry.mtime_provisional = found.mtime_provisional;
    for (kind, value) in found.hashes.iter() {
        if entry.hashes.get(kind).is_none() {
            entry.hashes.set(kind, value.to_owned());
        }
    }
    Ok(())
}

/// [`exact_mtime`] for every provisional entry of a listing, `width` requests at a time.
pub async fn exact_mtimes(backend: &dyn Backend, list: &mut [Entry], width: usize) -> Result<()> {
    use futures::stream::{self, StreamExt, TryStreamExt};
    stream::iter(list.iter_mut().filter(|e| e.mtime_provisional))
        .map(Ok::<_, Error>)
        .try_for_each_concurrent(width.max(1), |e| exact_mtime(backend, e))
        .await
}

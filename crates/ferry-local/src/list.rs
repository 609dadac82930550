//! Listing and stat, with rclone's treatment of links and odd names.

use std::fs::{self, Metadata};
use std::path::Path;
use std::time::SystemTime;

use std::sync::Arc;

use ferry_core::{Entry, Error, ErrorKind, HashKind, Listing, RelPath, Result};

use crate::beneath::{Below, Op, Tree};
use crate::hashcache::{DirHashes, HashCache};
use crate::{names, partial, LinkMode, LINK_SUFFIX};

pub(crate) struct ListContext {
    pub dir: RelPath,
    /// The root, for removing leftover partial files only where no link led.
    pub tree: Tree,
    pub links: LinkMode,
    pub quiet_links: bool,
    /// `--skip-specials`: pipes, sockets and devices passed over without a notice.
    pub quiet_specials: bool,
    pub root_dev: Option<u64>,
    /// This run writes here: leftovers of dead writers may be removed.
    pub clean_partials: bool,
    /// The hash cache and the kind to attach from it to each file listed.
    pub cached: Option<(Arc<HashCache>, HashKind)>,
}

/// Entries read from the file system per page: a huge directory is handed over a
/// page at a time (each page one trip to a blocking thread), never whole.
pub(crate) const PAGE: usize = 1024;

/// The hash cache's entries for a directory, once read (boxed: a reader is moved from
/// thread to thread with each page).
type DirLookups = Option<Option<Box<DirHashes>>>;

/// A directory being read, page by page.
pub(crate) struct DirReader {
    rd: fs::ReadDir,
    ctx: ListContext,
    /// Whether the directory lies inside the tree (known once a partial name is met).
    beneath: Option<bool>,
    /// The hash cache's entries for this directory, read when its first file is listed
    /// (`Some(None)`: not to be had, each file is looked up alone).
    hashes: DirLookups,
}

impl DirReader {
    pub(crate) fn open(full: &Path, ctx: ListContext) -> Result<Self> {
        let rd = fs::read_dir(full).map_err(|e| {
            // The full path: the root's relative one is empty.
            let err = Error::io(format!("error listing directory {full:?}"), e)
                .with_path(ctx.dir.to_string());
            if err.kind() == ErrorKind::NotFound {
                Error::new(ErrorKind::DirNotFound, "directory not found")
                    .with_path(ctx.dir.to_string())
            } else {
                err
            }
        })?;
        Ok(DirReader {
            rd,
            ctx,
            beneath: None,
            hashes: None,
        })
    }

    /// The next page of up to [`PAGE`] entries, and the reader if more may follow (a
    /// short page ends the directory, so a small one costs one trip, not two).
    pub(crate) fn next_page(mut self) -> Result<(Listing, Option<Self>)> {
        let mut out = Listing::new();
        let mut read = 0;
        while let Some(dirent) = self.rd.next() {
            let dirent = dirent.map_err(|e| {
                Error::io("error reading directory", e).with_path(self.ctx.dir.to_string())
            })?;
            read += 1;
            self.add(&dirent, &mut out);
            if read == PAGE {
                return Ok((out, Some(self)));
            }
        }
        Ok((out, None))
    }

    fn add(&mut self, dirent: &fs::DirEntry, out: &mut Listing) {
        let ctx = &self.ctx;
        let os_name = dirent.file_name();
        // Temp names are made from the on-disk name (see `partial::temp_path`).
        if partial::is_partial_name(&os_name.to_string_lossy()) {
            // Never shown as a file; removed only by a run that writes here, and (a
            // listing with -L may have come here through a link) only inside the tree.
            let below = ctx.clean_partials
                && *self.beneath.get_or_insert_with(|| {
                    ctx.tree
                        .dir(&Below::of(&ctx.dir), false, Op::Delete)
                        .is_ok()
                });
            if below {
                partial::remove_if_stale(&dirent.path());
            }
            return;
        }
        let (name, invalid) = match names::listed(&ctx.tree.names, &os_name) {
            Ok(listed) => listed,
            Err(e) => {
                out.skip(e.with_path(ctx.dir.to_string()));
                return;
            }
        };
        if invalid {
            tracing::warn!(
                "{}: invalid UTF-8 name carried as {:?}",
                ctx.dir
                    .join(&name)
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                name
            );
        }
        let path = match ctx.dir.join(&name) {
            Ok(path) => path,
            Err(_) => {
                out.skip(Error::new(
                    ErrorKind::InvalidPath,
                    format!("{name:?}: skipping a name that is not a safe relative path"),
                ));
                return;
            }
        };
        match entry_for(&dirent.path(), path, ctx, &mut self.hashes) {
            Ok(Some(e)) => out.entries.push(e),
            Ok(None) => {}
            Err(e) => out.skip(e),
        }
    }
}

fn entry_for(
    full: &Path,
    path: RelPath,
    ctx: &ListContext,
    dir: &mut DirLookups,
) -> Result<Option<Entry>> {
    let meta = fs::symlink_metadata(full)
        .map_err(|e| Error::io("failed to read file info", e).with_path(path.to_string()))?;
    if meta.file_type().is_symlink() {
        return link_entry(full, path, ctx, dir);
    }
    if meta.is_dir() && !same_device(&meta, ctx.root_dev) {
        tracing::info!("{path}: skipping directory on a different filesystem (--one-file-system)");
        return Ok(None);
    }
    Ok(regular_or_dir(path, &meta, ctx.quiet_specials)
        .map(|e| with_cached_hash(e, full, &meta, ctx, dir)))
}

/// A file's hash from the cache, kept for exactly the identity this listing saw (device,
/// inode, size, mtime, ctime): the later comparison then needs no stat or lookup of its
/// own. A file changed since it was listed is no different from one changed after a
/// stat taken at comparison time. The directory's entries are read from the cache once,
/// with its first file: a lookup per file from the top of the store cost several times
/// more.
fn with_cached_hash(
    mut e: Entry,
    full: &Path,
    meta: &Metadata,
    ctx: &ListContext,
    dir: &mut DirLookups,
) -> Entry {
    let Some((cache, kind)) = ctx.cached.as_ref().filter(|_| !e.is_dir()) else {
        return e;
    };
    let dir = dir.get_or_insert_with(|| {
        full.parent()
            .and_then(|d| cache.dir(d, *kind))
            .map(Box::new)
    });
    let hit = match dir {
        Some(dir) => cache.get_listed(dir, full, meta),
        None => cache.get_for(full, meta, *kind),
    };
    if let Some(hash) = hit {
        tracing::debug!("{}: {} from the hash cache, as listed", e.path, kind.name());
        e.hashes.set(*kind, hash);
    }
    e
}

/// Files and directories only: a FIFO, socket or device has no size to copy (reading
/// `/dev/zero` never ends), so it is passed over with rclone's notice.
fn regular_or_dir(path: RelPath, meta: &Metadata, quiet: bool) -> Option<Entry> {
    if meta.is_file() || meta.is_dir() {
        return Some(from_meta(path, meta));
    }
    if !quiet {
        tracing::warn!("{path}: Can't transfer non file/directory");
    }
    None
}

fn link_entry(
    full: &Path,
    path: RelPath,
    ctx: &ListContext,
    dir: &mut DirLookups,
) -> Result<Option<Entry>> {
    match ctx.links {
        LinkMode::Skip => {
            if !ctx.quiet_links {
                tracing::warn!("{path}: Can't follow symlink without -L/--copy-links");
            }
            Ok(None)
        }
        LinkMode::Follow => match fs::metadata(full) {
            Ok(meta) => Ok(regular_or_dir(path, &meta, ctx.quiet_specials)
                .map(|e| with_cached_hash(e, full, &meta, ctx, dir))),
            Err(e) => Err(Error::io("can't follow symlink", e).with_path(path.to_string())),
        },
        LinkMode::Translate => {
            let meta = fs::symlink_metadata(full)
                .map_err(|e| Error::io("failed to read link", e).with_path(path.to_string()))?;
            let target = read_link_text(full)?;
            let name = format!("{}{}", path.name(), LINK_SUFFIX);
            let path = path.parent().unwrap_or_default().join(&name)?;
            Ok(Some(Entry::file(
                path,
                target.len() as u64,
                mtime_of(&meta),
            )))
        }
    }
}

pub(crate) fn stat(
    full: &Path,
    link: Option<&Path>,
    path: RelPath,
    links: LinkMode,
) -> Result<Option<Entry>> {
    if let Some(link) = link {
        let meta = fs::symlink_metadata(link)
            .map_err(|e| Error::io("failed to read link", e).with_path(path.to_string()))?;
        let len = read_link_text(link)?.len() as u64;
        return Ok(Some(Entry::file(path, len, mtime_of(&meta))));
    }
    // The root is what the user named: a link there is followed, as rclone does.
    let meta = if links == LinkMode::Follow || path.is_root() {
        fs::metadata(full)
    } else {
        fs::symlink_metadata(full)
    };
    match meta {
        Ok(m) if m.file_type().is_symlink() => Ok(None),
        Ok(m) => Ok(regular_or_dir(path, &m, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.raw_os_error() == Some(libc_enotdir()) => Ok(None),
        Err(e) => Err(Error::io("failed to read file info", e).with_path(path.to_string())),
    }
}

fn libc_enotdir() -> i32 {
    #[cfg(unix)]
    {
        libc::ENOTDIR
    }
    #[cfg(not(unix))]
    {
        20
    }
}

pub(crate) fn read_link_text(full: &Path) -> Result<String> {
    let target = fs::read_link(full)
        .map_err(|e| Error::io("failed to read link", e).with_path(full.display().to_string()))?;
    Ok(target.to_string_lossy().into_owned())
}

fn from_meta(path: RelPath, meta: &Metadata) -> Entry {
    if meta.is_dir() {
        // A directory's own size, as rclone's local backend lists it.
        let mut e = Entry::dir(path, mtime_of(meta));
        e.dir_size = Some(meta.len());
        e
    } else {
        Entry::file(path, meta.len(), mtime_of(meta))
    }
}

fn mtime_of(meta: &Metadata) -> SystemTime {
    meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)
}

#[cfg(unix)]
fn same_device(meta: &Metadata, root_dev: Option<u64>) -> bool {
    use std::os::unix::fs::MetadataExt;
    root_dev.is_none_or(|dev| dev == meta.dev())
}

#[cfg(not(unix))]
fn same_device(_meta: &Metadata, _root_dev: Option<u64>) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::PAGE;
    use crate::LocalBackend;
    use ferry_core::{Backend, ErrorKind, RelPath};
    use futures::TryStreamExt;

    #[tokio::test]
    async fn a_big_directory_arrives_in_pages_of_bounded_size() {
        let dir = tempfile::tempdir().unwrap();
        let total = 2 * PAGE + 7;
        for i in 0..total {
            std::fs::write(dir.path().join(format!("f{i:05}")), b"x").unwrap();
        }
        let b = LocalBackend::new(dir.path(), Default::default());
        let root = RelPath::root();
        let pages: Vec<_> = b.list_pages(root.clone()).try_collect().await.unwrap();
        let sizes: Vec<usize> = pages.iter().map(|p| p.entries.len()).collect();
        assert_eq!(
            sizes,
            vec![PAGE, PAGE, 7],
            "a short page ends the directory"
        );
        let mut names: Vec<String> = pages
            .into_iter()
            .flat_map(|p| p.entries)
            .map(|e| e.path.to_string())
            .collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), total, "every file once");
        assert_eq!(b.list_dir(&root).await.unwrap().entries.len(), total);
    }

    #[tokio::test]
    async fn an_empty_directory_has_no_entries_and_a_missing_one_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("empty")).unwrap();
        let b = LocalBackend::new(dir.path(), Default::default());
        let empty = RelPath::new("empty").unwrap();
        assert!(b.list_dir(&empty).await.unwrap().entries.is_empty());
        let missing = RelPath::new("missing").unwrap();
        let err = b.list_dir(&missing).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DirNotFound);
    }
}

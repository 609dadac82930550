//! The local filesystem backend.
//!
//! Writes go to a hidden temporary name beside the target and are renamed into place,
//! so a crash never leaves a half-written file under its final name. Copies between
//! two local trees use the kernel (reflink, then `copy_file_range`) instead of a user
//! space loop.
//!
//! No change is ever made through a symbolic link below the root: every write, rename,
//! delete and time change opens its directory with [`beneath`], which refuses links.

mod beneath;
mod command;
mod hashcache;
mod kind;

pub use hashcache::HashCache;
pub use kind::KIND;
mod list;
mod meta;
mod names;
mod partial;
mod ranges;
mod read;
mod readahead;
mod usage;
mod write;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use ferry_core::encoding::{Encoding, Names};
use ferry_core::{
    Backend, ByteStream, Capabilities, CopyKind, Entry, Error, ErrorKind, Features, HashKind,
    HashSet, Hashes, ListPages, Location, Metadata, MetadataSupport, MultiHasher, PutOptions,
    RelPath, Result, Semantics,
};

/// How symbolic links are treated, as rclone's `-L`, `-l` and default do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LinkMode {
    /// Skip links with a notice (rclone's default).
    #[default]
    Skip,
    /// Follow links and copy what they point to (`-L/--copy-links`).
    Follow,
    /// Keep links as `NAME.rclonelink` files holding the target (`-l/--links`).
    Translate,
}

/// The suffix rclone gives a symlink carried as a file.
pub const LINK_SUFFIX: &str = ".rclonelink";

/// Files up to this size are hashed for [`Backend::cheap_hash`] when the hash cache has
/// no answer: reading 1 MiB from disk costs about what one request to a remote does.
const CHEAP_READ: u64 = 1 << 20;

#[derive(Clone, Debug, Default)]
pub struct LocalOptions {
    pub links: LinkMode,
    /// Don't log a notice for each skipped link (`--skip-links`).
    pub skip_links_quietly: bool,
    /// `skip_specials`: no notice for the pipes, sockets and devices passed over.
    pub skip_specials_quietly: bool,
    /// Don't cross filesystem boundaries (`-x/--one-file-system`).
    pub one_file_system: bool,
    /// Hashes computed before, still valid (`--hash-cache`); `None`: always read.
    pub hash_cache: Option<Arc<HashCache>>,
    /// How names are stored on disk (rclone's `encoding`); `None` is rclone's default.
    pub encoding: Option<Encoding>,
    /// Sync each file's data before it gets its final name, and its directory after
    /// (`--fsync`), so a power loss can't leave a final name on data never written.
    pub fsync: bool,
}

/// A directory tree on the local filesystem.
pub struct LocalBackend {
    root: PathBuf,
    display: String,
    /// The root for changes, which are made only below it.
    tree: beneath::Tree,
    opts: LocalOptions,
    features: Features,
    root_dev: Option<u64>,
    /// Set once a run is about to write here ([`Backend::prepare_write`]); only then do
    /// listings remove temporary files that dead writers left.
    writing: AtomicBool,
    /// The hash a run will compare every file by ([`Backend::expect_hashes`]): listings
    /// then attach it from the hash cache where the file is unchanged since it was kept.
    listed_hash: std::sync::OnceLock<HashKind>,
}

impl LocalBackend {
    /// Roots a backend at `root`, which need not exist yet.
    pub fn new(root: impl Into<PathBuf>, opts: LocalOptions) -> Arc<Self> {
        let root: PathBuf = root.into();
        // Shown as the user wrote it, as rclone does; used absolute.
        let display = root.display().to_string();
        let root = std::path::absolute(&root).unwrap_or(root);
        let root_dev = if opts.one_file_system {
            device_of(&root)
        } else {
            None
        };
        let tree = beneath::Tree {
            root: root.clone(),
            display: display.clone(),
            names: Names::new(opts.encoding.unwrap_or(Encoding::LOCAL_DEFAULT)),
            fsync: opts.fsync,
        };
        Arc::new(LocalBackend {
            root,
            display,
            tree,
            opts,
            features: local_features(),
            root_dev,
            writing: AtomicBool::new(false),
            listed_hash: std::sync::OnceLock::new(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// ferry's name for an on-disk name (a file the user named).
    pub fn name_of(&self, os: &std::ffi::OsStr) -> Result<String> {
        Ok(names::listed(&self.tree.names, os)?.0.into_owned())
    }

    /// The on-disk path of a relative path.
    fn full(&self, path: &RelPath) -> PathBuf {
        let mut out = self.root.clone();
        for segment in path.segments() {
            out.push(names::stored(&self.tree.names, segment));
        }
        out
    }

    /// For `-l`: the link a `NAME.rclonelink` path stands for, if that is what it is.
    /// A `-l` link's hash: of its target text, as rclone hashes a `.rclonelink` file.
    fn link_hash(&self, path: &RelPath, kind: HashKind) -> Result<Option<String>> {
        let Some(link) = self.link_target_path(path) else {
            return Ok(None);
        };
        let mut hasher = MultiHasher::new([kind].into_iter().collect());
        hasher.update(list::read_link_text(&link)?.as_bytes());
        Ok(hasher.finish().get(kind).map(str::to_owned))
    }

    fn link_target_path(&self, path: &RelPath) -> Option<PathBuf> {
        if self.opts.links != LinkMode::Translate {
            return None;
        }
        let base = path.as_str().strip_suffix(LINK_SUFFIX)?;
        let full = self.full(&RelPath::new(base).ok()?);
        full.symlink_metadata()
            .ok()
            .filter(|m| m.file_type().is_symlink())
            .map(|_| full)
    }

    /// The path a change to `path` is made at: the link itself for a `-l` link file.
    fn change_path(&self, path: &RelPath) -> RelPath {
        if self.link_target_path(path).is_some() {
            let base = path.as_str().strip_suffix(LINK_SUFFIX).unwrap_or_default();
            if let Ok(link) = RelPath::new(base) {
                return link;
            }
        }
        path.clone()
    }
}

fn local_features() -> Features {
    Features {
        caps: Capabilities {
            set_modtime: true,
            set_dir_modtime: true,
            listed_dir_modtime: true,
            atomic_put: true,
            ranged_put: true,
            metadata: MetadataSupport {
                read: true,
                write: true,
                user: cfg!(unix),
            },
            // Reflinks and the kernel's copy between local files; renames.
            copy: CopyKind::Local,
            moves: true,
            ..Capabilities::default()
        },
        semantics: Semantics {
            hashes: HashSet::all(),
            modtime_precision: Some(Duration::from_nanos(1)),
            empty_dirs: true,
            bucket_dirs: false,
            case_insensitive: cfg!(any(target_os = "macos", target_os = "windows")),
        },
    }
}

/// Where a local file to be renamed into this tree lives: below its own backend's root
/// (asked of the backend itself, so a view such as copyto's renaming one works too).
fn move_source(src: &dyn Backend, path: &RelPath) -> Option<write::MoveSource> {
    let full = src.local_path(path)?;
    let root = src.local_path(&RelPath::root())?;
    // The source's own encoding is not known here; its on-disk names are turned into
    // ferry's and straight back, which rclone's local default does without loss.
    let names = Names::new(Encoding::LOCAL_DEFAULT);
    let below = beneath::Below::of_path(&root, &full, &names)?;
    let display = root.display().to_string();
    Some(write::MoveSource {
        tree: beneath::Tree {
            root,
            display,
            names,
            fsync: false,
        },
        below,
    })
}

#[cfg(unix)]
fn device_of(path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| m.dev())
}

#[cfg(not(unix))]
fn device_of(_path: &Path) -> Option<u64> {
    None
}

/// Where a paged local listing stands.
enum Reading {
    Closed(Box<dyn FnOnce() -> Result<list::DirReader> + Send>),
    Open(list::DirReader),
    Done,
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::new(ErrorKind::Io, format!("worker thread failed: {e}")))?
}

#[async_trait]
impl Backend for LocalBackend {
    fn features(&self) -> &Features {
        &self.features
    }

    fn location(&self) -> Location {
        Location {
            namespace: "local".into(),
            path: lexical(&self.root).to_string_lossy().replace('\\', "/"),
        }
    }

    fn describe(&self) -> String {
        format!("Local file system at {}", self.display)
    }

    async fn stat(&self, path: &RelPath) -> Result<Option<Entry>> {
        let full = self.full(path);
        let link = self.link_target_path(path);
        let (path, links) = (path.clone(), self.opts.links);
        blocking(move || list::stat(&full, link.as_deref(), path, links)).await
    }

    fn list_pages(&self, dir: RelPath) -> ListPages<'_> {
        let full = self.full(&dir);
        let ctx = list::ListContext {
            dir,
            tree: self.tree.clone(),
            links: self.opts.links,
            quiet_links: self.opts.skip_links_quietly,
            quiet_specials: self.opts.skip_specials_quietly,
            root_dev: self.root_dev,
            clean_partials: self.writing.load(Ordering::Relaxed),
            cached: self
                .opts
                .hash_cache
                .clone()
                .zip(self.listed_hash.get().copied()),
        };
        // The first page opens the directory, so a missing one fails the listing itself.
        let start = move || list::DirReader::open(&full, ctx);
        ferry_core::listing::pages(Reading::Closed(Box::new(start)), |state| async move {
            let reader = match state {
                Reading::Done => return Ok(None),
                Reading::Closed(open) => Err(open),
                Reading::Open(reader) => Ok(reader),
            };
            let (page, more) = blocking(move || match reader {
                Err(open) => open()?.next_page(),
                Ok(reader) => reader.next_page(),
            })
            .await?;
            Ok(Some((page, more.map_or(Reading::Done, Reading::Open))))
        })
    }

    fn expect_hashes(&self, kind: HashKind) {
        let _ = self.listed_hash.set(kind);
    }

    async fn cheap_hash(&self, e: &Entry, kind: HashKind) -> Result<Option<String>> {
        if let Some(h) = e.hashes.get(kind) {
            return Ok(Some(h.to_owned()));
        }
        if e.size <= CHEAP_READ {
            // Hashed here, the answer is kept for the next run.
            return self.hash(&e.path, kind).await;
        }
        let Some(cache) = self.opts.hash_cache.clone() else {
            return Ok(None);
        };
        let full = self.full(&e.path);
        blocking(move || {
            let hit = write::cached_hashes(&full, [kind].into_iter().collect(), &cache);
            Ok(hit.and_then(|h| h.get(kind).map(str::to_owned)))
        })
        .await
    }

    fn commands(&self) -> &'static [ferry_core::command::CommandHelp] {
        &command::COMMANDS
    }

    async fn command(
        &self,
        call: &ferry_core::command::CommandCall,
    ) -> Result<ferry_core::command::CommandOutput> {
        command::run(call)
    }

    async fn usage(&self) -> Result<Option<ferry_core::Usage>> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || usage::of(&root))
            .await
            .map_err(|e| Error::new(ErrorKind::Io, format!("measuring free space: {e}")))?
    }

    async fn prepare_write(&self) {
        self.writing.store(true, Ordering::Relaxed);
    }

    async fn open(&self, path: &RelPath, offset: u64, len: Option<u64>) -> Result<ByteStream> {
        if let Some(link) = self.link_target_path(path) {
            let target = list::read_link_text(&link)?;
            let bytes = target.into_bytes();
            let start = (offset as usize).min(bytes.len());
            let end = len.map_or(bytes.len(), |l| (start + l as usize).min(bytes.len()));
            return Ok(Box::pin(std::io::Cursor::new(bytes[start..end].to_vec())));
        }
        read::open(self.full(path), path.to_string(), offset, len).await
    }

    async fn put(&self, path: &RelPath, data: ByteStream, opts: &PutOptions) -> Result<Entry> {
        if self.opts.links == LinkMode::Translate {
            if let Some(base) = path.as_str().strip_suffix(LINK_SUFFIX) {
                let link = RelPath::new(base)?;
                return write::put_link(self.tree.clone(), link, path.clone(), data, opts).await;
            }
        }
        write::put_stream(self.tree.clone(), path.clone(), data, opts).await
    }

    async fn put_ranges(
        &self,
        path: &RelPath,
        ranges: Vec<(u64, ByteStream)>,
        parallel: usize,
        opts: &PutOptions,
    ) -> Result<Option<Entry>> {
        if self.opts.links == LinkMode::Translate && path.as_str().ends_with(LINK_SUFFIX) {
            return Ok(None);
        }
        ranges::put_ranges(self.tree.clone(), path.clone(), ranges, parallel, opts)
            .await
            .map(Some)
    }

    async fn copy_from(
        &self,
        src: &dyn Backend,
        src_path: &RelPath,
        dst_path: &RelPath,
        opts: &PutOptions,
    ) -> Result<Option<Entry>> {
        let Some(src_full) = src.local_path(src_path) else {
            return Ok(None);
        };
        let is_link_file =
            self.opts.links == LinkMode::Translate && dst_path.as_str().ends_with(LINK_SUFFIX);
        if is_link_file {
            return Ok(None); // a link file is written as a link by `put`
        }
        let tree = self.tree.clone();
        let (dst_path, opts) = (dst_path.clone(), opts.clone());
        blocking(move || write::copy_file(&src_full, &tree, dst_path, &opts))
            .await
            .map(Some)
    }

    async fn move_from(
        &self,
        src: &dyn Backend,
        src_path: &RelPath,
        dst_path: &RelPath,
    ) -> Result<Option<Entry>> {
        let Some(from) = move_source(src, src_path) else {
            return Ok(None);
        };
        let tree = self.tree.clone();
        let dst_path = dst_path.clone();
        let links = self.opts.links;
        blocking(move || write::rename(&from, &tree, dst_path, links)).await
    }

    async fn move_tree_from(&self, src: &dyn Backend) -> Result<bool> {
        let Some(peer) = src.as_any().downcast_ref::<LocalBackend>() else {
            return Ok(false);
        };
        // Names are renamed as they are on disk: only between the same name encodings
        // and link handling is that what a move file by file would make, and never under
        // -L, which moves what links point to (a rename would keep the links).
        if peer.opts.encoding != self.opts.encoding
            || peer.opts.links != self.opts.links
            || self.opts.links == LinkMode::Follow
        {
            return Ok(false);
        }
        let (from, to) = (peer.root.clone(), self.root.clone());
        blocking(move || Ok(write::rename_tree(&from, &to))).await
    }

    async fn metadata(&self, path: &RelPath) -> Result<Option<Metadata>> {
        if self.link_target_path(path).is_some() {
            return Ok(None); // a link carried as a file has no metadata of its own
        }
        let full = self.full(path);
        let rel = path.to_string();
        blocking(move || meta::read(&full).map(Some).map_err(|e| e.with_path(rel))).await
    }

    async fn hash(&self, path: &RelPath, kind: HashKind) -> Result<Option<String>> {
        if self.link_target_path(path).is_some() {
            return self.link_hash(path, kind);
        }
        let hashes = self.hashes(path, [kind].into_iter().collect()).await?;
        Ok(hashes.get(kind).map(str::to_owned))
    }

    async fn hashes(&self, path: &RelPath, kinds: HashSet) -> Result<Hashes> {
        if self.link_target_path(path).is_some() {
            let mut out = Hashes::default();
            for kind in kinds.iter() {
                if let Some(h) = self.link_hash(path, kind)? {
                    out.set(kind, h);
                }
            }
            return Ok(out);
        }
        let full = self.full(path);
        if let Some(cache) = &self.opts.hash_cache {
            if let Some(hit) = write::cached_hashes(&full, kinds, cache) {
                return Ok(hit);
            }
        }
        let rel = path.to_string();
        let cache = self.opts.hash_cache.clone();
        blocking(move || {
            write::hash_file(&full, kinds, cache.as_deref()).map_err(|e| e.with_path(rel))
        })
        .await
    }

    async fn set_modtime(&self, path: &RelPath, mtime: SystemTime) -> Result<()> {
        let (tree, at) = (self.tree.clone(), self.change_path(path));
        // A `-l` link gets both times, as when it was written; a file keeps its atime.
        let atime = (&at != path).then_some(mtime);
        let rel = path.to_string();
        blocking(move || {
            let failed = |e| Error::io("failed to set modification time", e).with_path(&rel);
            let below = beneath::Below::of(&at);
            if below.is_root() {
                let dir = tree.dir(&below, false, beneath::Op::SetTime)?;
                return dir.set_times(None, None, Some(mtime)).map_err(failed);
            }
            let (dir, name) = tree.parent(&below, false, beneath::Op::SetTime)?;
            dir.set_times(Some(&name), atime, Some(mtime))
                .map_err(failed)
        })
        .await
    }

    async fn delete_file(&self, path: &RelPath) -> Result<()> {
        let (tree, at) = (self.tree.clone(), self.change_path(path));
        let rel = path.to_string();
        blocking(move || {
            let (dir, name) = tree
                .parent(&beneath::Below::of(&at), false, beneath::Op::Delete)
                .map_err(|e| e.with_path(&rel))?;
            dir.unlink(&name)
                .map_err(|e| Error::io("failed to delete", e).with_path(rel))
        })
        .await
    }

    async fn mkdir(&self, dir: &RelPath) -> Result<()> {
        let (tree, at) = (self.tree.clone(), dir.clone());
        blocking(move || {
            if at.is_root() {
                // The root is the user's to name, links and all.
                // Named by its full path: the root's relative path is empty.
                return std::fs::create_dir_all(&tree.root).map_err(|e| {
                    Error::io(format!("mkdir {:?} failed", tree.root), e).with_path(at.to_string())
                });
            }
            tree.dir(&beneath::Below::of(&at), true, beneath::Op::MakeDir)
                .map(drop)
        })
        .await
    }

    async fn rmdir(&self, dir: &RelPath) -> Result<()> {
        let (tree, at) = (self.tree.clone(), dir.clone());
        blocking(move || {
            let failed = |e| Error::io("failed to remove directory", e).with_path(at.to_string());
            if at.is_root() {
                return std::fs::remove_dir(&tree.root).map_err(failed);
            }
            let (parent, name) =
                tree.parent(&beneath::Below::of(&at), false, beneath::Op::RemoveDir)?;
            parent.rmdir(&name).map_err(failed)
        })
        .await
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn local_path(&self, path: &RelPath) -> Option<PathBuf> {
        if self.link_target_path(path).is_some() {
            return None;
        }
        Some(self.full(path))
    }
}

/// `path` with its `.` and `..` parts resolved by name, as rclone cleans a local root:
/// where a location lies (`dst/../bk` is beside `dst`, not inside it), not what the
/// kernel would open through a symbolic link.
fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                // `/..` is `/`; a relative path keeps its leading `..`.
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(part),
            },
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod lexical_tests {
    use super::*;

    #[test]
    fn dots_resolve_by_name() {
        let l = |p: &str| lexical(Path::new(p)).to_string_lossy().into_owned();
        assert_eq!(l("/a/dst/../bk"), "/a/bk");
        assert_eq!(l("/a/./b/c/../../d/"), "/a/d");
        assert_eq!(l("/../a"), "/a");
        assert_eq!(l("../x/../../y"), "../../y");
        assert_eq!(l("/a/b"), "/a/b");
    }
}

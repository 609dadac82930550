//! The one trait every storage system implements.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::io::AsyncRead;

use crate::{
    Entry, EntryStream, Error, Features, HashKind, HashSet, Hashes, ListPages, Listing, Metadata,
    RelPath, Result,
};

/// A stream of bytes read from or written to a backend.
pub type ByteStream = Pin<Box<dyn AsyncRead + Send>>;

/// Reads from `data` until `buf` is full or the stream ends; how many bytes arrived (0:
/// the end). A stream yields what it has at hand (one socket read, one decrypted block),
/// so a caller that works in whole buffers (a write, a part, a comparison) fills them here.
pub async fn fill(data: &mut ByteStream, buf: &mut [u8]) -> std::io::Result<usize> {
    use tokio::io::AsyncReadExt;
    let mut n = 0;
    while n < buf.len() {
        let got = data.read(&mut buf[n..]).await?;
        if got == 0 {
            break;
        }
        n += got;
    }
    Ok(n)
}

/// Where a backend's root is, for messages and for detecting overlapping paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// Identifies one namespace of paths: two locations overlap only within one namespace
    /// (e.g. `local`, or `sftp://user@host:22`).
    pub namespace: String,
    /// The root's absolute path within the namespace, `/`-separated, without a trailing slash.
    pub path: String,
}

impl Location {
    /// Whether one location contains the other (or they are the same).
    pub fn overlaps(&self, other: &Location) -> bool {
        self.namespace == other.namespace
            && (is_within(&self.path, &other.path) || is_within(&other.path, &self.path))
    }

    /// `other`'s path relative to `self`, when `other` lies inside `self`.
    pub fn relative(&self, other: &Location) -> Option<RelPath> {
        if self.namespace != other.namespace || !is_within(&other.path, &self.path) {
            return None;
        }
        let rest = other.path[self.path.len()..].trim_start_matches('/');
        RelPath::new(rest).ok()
    }
}

fn is_within(inner: &str, outer: &str) -> bool {
    let outer = outer.trim_end_matches('/');
    inner == outer
        || outer.is_empty()
        || (inner.starts_with(outer) && inner.as_bytes().get(outer.len()) == Some(&b'/'))
}

/// Space in a backend's store, as far as it can tell (rclone's `about` fields).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// The whole store's size.
    pub total: Option<u64>,
    /// Bytes in use.
    pub used: Option<u64>,
    /// Bytes a write may still take.
    pub free: Option<u64>,
    /// How many objects are stored.
    pub objects: Option<u64>,
}

/// What the writer knows about an object it is about to store.
#[derive(Clone, Debug)]
pub struct PutOptions {
    /// Expected size; a backend must fail the write if a different number of bytes arrived.
    pub size: u64,
    /// Modification time to store with the object.
    pub mtime: SystemTime,
    /// Write directly to the final name instead of a temporary name (`--inplace`).
    pub inplace: bool,
    /// Hashes of the source data, when known in advance (sent for server-side checks).
    pub hashes: Hashes,
    /// Metadata to store with the object (`--metadata`): system keys the backend knows
    /// are applied (`mode`, `mtime`, `content-type`, ...), others kept as user metadata
    /// where the backend can. `None`: only `mtime` (and a backend's default Content-Type).
    pub metadata: Option<Metadata>,
}

/// A storage system rooted at some path. All paths given to it are relative to that root.
///
/// Backends create parent directories as needed when writing, and must never write
/// a partially-transferred object under its final name unless `inplace` is asked for.
#[async_trait]
pub trait Backend: Send + Sync {
    fn features(&self) -> &Features;

    /// Where the root is.
    fn location(&self) -> Location;

    /// A human description for logs, e.g. `Local file system at /data`.
    fn describe(&self) -> String;

    /// Stats one path; `Ok(None)` if nothing is there.
    async fn stat(&self, path: &RelPath) -> Result<Option<Entry>>;

    /// Lists one directory's direct children, in any order, a page at a time as the
    /// server or file system gives them: no backend holds a whole directory. A missing
    /// directory is an error of kind `DirNotFound` (with
    /// [`bucket_dirs`](crate::Semantics::bucket_dirs) only a missing bucket is: a
    /// missing prefix lists as an empty directory). An entry that
    /// can't be read (or whose name is not a safe relative path) is left out and reported
    /// in its page's [`Listing::errors`], never silently dropped: the caller counts it as
    /// an error of the run.
    fn list_pages(&self, dir: RelPath) -> ListPages<'_>;

    /// One directory's whole listing: every page of [`list_pages`](Self::list_pages).
    async fn list_dir(&self, dir: &RelPath) -> Result<Listing> {
        crate::listing::collect(self.list_pages(dir.clone())).await
    }

    /// Everything below `dir` as one stream, when this backend can list recursively in
    /// one go (object stores list every key under a prefix, page by page): files, and each
    /// directory once, in key order. `None`: callers walk directory by directory. Takes
    /// the backend's `Arc` so the stream can own what it needs between pages.
    fn list_recursive(self: Arc<Self>, _dir: &RelPath) -> Option<EntryStream> {
        None
    }

    /// A hint: every directory below the root is about to be listed, one at a time (a
    /// sync's march, with no filter that prunes directories). A backend whose recursive
    /// listing costs far fewer requests may read a small tree at its next root listing
    /// and answer the directory listings from it. By default nothing changes.
    fn expect_tree_walk(&self) {}

    /// A hint: the run will compare the `kind` hash of every file it lists (`--checksum`).
    /// A backend that keeps hashes it can trust without reading the data (the local hash
    /// cache, checked against each file's identity as listed) may attach them to listed
    /// entries, saving a lookup per file later. By default nothing changes.
    fn expect_hashes(&self, _kind: HashKind) {}

    /// The `kind` hash of `e` (as listed here) when it costs no request and little
    /// reading: one the listing carried, or a cache's answer (a local backend may also hash
    /// a small file, which costs less than one request to a remote). `None`: it would cost
    /// more, or can't be had. By default, only a listed one.
    async fn cheap_hash(&self, e: &Entry, kind: HashKind) -> Result<Option<String>> {
        Ok(e.hashes.get(kind).map(str::to_owned))
    }

    /// Opens an object for reading from `offset`, for at most `len` bytes.
    async fn open(&self, path: &RelPath, offset: u64, len: Option<u64>) -> Result<ByteStream>;

    /// [`open`](Self::open), plus what the read itself told about the object (an S3 GET
    /// carries its metadata), so a listing's provisional mtime needn't cost a `stat`.
    /// `None`: nothing beyond the bytes.
    async fn open_entry(
        &self,
        path: &RelPath,
        offset: u64,
        len: Option<u64>,
    ) -> Result<(ByteStream, Option<Entry>)> {
        Ok((self.open(path, offset, len).await?, None))
    }

    /// Stores an object from a stream. Returns the stored entry.
    async fn put(&self, path: &RelPath, data: ByteStream, opts: &PutOptions) -> Result<Entry>;

    /// Stores an object from several streams, each holding the bytes from its offset up
    /// to the next one's (multi-thread downloads), at most `parallel` of them read at once,
    /// in the order given: a stream is first read once an earlier one has ended, so a
    /// caller may open its source lazily. The same guarantees as [`put`](Self::put).
    /// `Ok(None)`: this backend can't write at offsets; the caller streams instead.
    async fn put_ranges(
        &self,
        _path: &RelPath,
        _ranges: Vec<(u64, ByteStream)>,
        _parallel: usize,
        _opts: &PutOptions,
    ) -> Result<Option<Entry>> {
        Ok(None)
    }

    /// Copies without streaming through ferry (server-side copy, reflink, kernel copy),
    /// when this backend can reach `src`'s data directly. `Ok(None)` means "not possible
    /// here, stream it instead".
    async fn copy_from(
        &self,
        _src: &dyn Backend,
        _src_path: &RelPath,
        _dst_path: &RelPath,
        _opts: &PutOptions,
    ) -> Result<Option<Entry>> {
        Ok(None)
    }

    /// Moves `src`'s whole tree to become this backend's root in one step (a rename of
    /// the directory: rclone's DirMove), when this root doesn't exist yet and the
    /// backend reaches `src`'s tree directly. `Ok(false)` means "not possible here, move
    /// file by file instead"; nothing was changed then.
    async fn move_tree_from(&self, _src: &dyn Backend) -> Result<bool> {
        Ok(false)
    }

    /// Moves an object from `src` (a rename, or a server-side move). `Ok(None)` means
    /// "not possible here, copy and delete instead".
    async fn move_from(
        &self,
        _src: &dyn Backend,
        _src_path: &RelPath,
        _dst_path: &RelPath,
    ) -> Result<Option<Entry>> {
        Ok(None)
    }

    /// Called once before a run writes here, so a backend can find out what it can do
    /// before the first decision depends on it (e.g. whether a server keeps the
    /// modification times it is sent). Failures only leave it to find out later.
    async fn prepare_write(&self) {}

    /// rclone's `cleanup`: removes what the store keeps besides the files (S3: multipart
    /// uploads left unfinished for over a day). Called only where
    /// [`clean_up`](crate::Capabilities::clean_up) says there is something to clean.
    async fn clean_up(&self) -> Result<()> {
        Err(Error::unsupported(format!(
            "{} doesn't support cleanup",
            self.describe()
        )))
    }

    /// rclone's `link`: a URL anyone can read the file at `path` by, valid for `expire`
    /// (`None`: as long as the store allows). Called only where
    /// [`public_link`](crate::Capabilities::public_link) says it can.
    async fn public_link(&self, _path: &RelPath, _expire: Option<Duration>) -> Result<String> {
        Err(Error::unsupported(format!(
            "{} doesn't support public links",
            self.describe()
        )))
    }

    /// rclone's `settier`: moves the object at `path` to the storage tier `tier` (S3's
    /// storage class, Azure's access tier), keeping its data and metadata. Called only
    /// where [`set_tier`](crate::Capabilities::set_tier) says it can.
    async fn set_tier(&self, _path: &RelPath, _tier: &str) -> Result<()> {
        Err(Error::unsupported(format!(
            "{} doesn't support settier",
            self.describe()
        )))
    }

    /// Replaces the user metadata of the object at `path` with `meta`, keeping its data
    /// and content properties (azcopy's `set-properties --metadata`). By default: the
    /// backend can't.
    async fn replace_user_metadata(&self, _path: &RelPath, _meta: &Metadata) -> Result<()> {
        Err(Error::unsupported(format!(
            "{} can't replace an object's metadata",
            self.describe()
        )))
    }

    /// Replaces the index tags of the object at `path` with `tags` (pairs, as given:
    /// azcopy's `set-properties --blob-tags`; empty clears them). By default: the backend
    /// has no tags.
    async fn set_tags(&self, _path: &RelPath, _tags: &[(String, String)]) -> Result<()> {
        Err(Error::unsupported(format!(
            "{} has no index tags",
            self.describe()
        )))
    }

    /// The backend-specific commands this backend offers (rclone's `backend COMMAND`).
    fn commands(&self) -> &'static [crate::command::CommandHelp] {
        &[]
    }

    /// Runs one of [`commands`](Self::commands); the binary calls it only with a name
    /// from that list.
    async fn command(
        &self,
        call: &crate::command::CommandCall,
    ) -> Result<crate::command::CommandOutput> {
        Err(Error::unsupported(format!(
            "{}: doesn't support backend commands ({:?})",
            self.describe(),
            call.name
        )))
    }

    /// How much space the backend's store holds and has free (rclone's `about`), for
    /// union's space policies. `Ok(None)`: it can't say (each field is optional too).
    async fn usage(&self) -> Result<Option<Usage>> {
        Ok(None)
    }

    /// An object's metadata with rclone's key names (`--metadata`); `Ok(None)` where the
    /// backend keeps none ([`metadata`](crate::Capabilities::metadata) says which read it).
    async fn metadata(&self, _path: &RelPath) -> Result<Option<Metadata>> {
        Ok(None)
    }

    /// Computes or fetches a hash. `Ok(None)` if this kind is unavailable for this object.
    async fn hash(&self, path: &RelPath, kind: HashKind) -> Result<Option<String>>;

    /// Several kinds of hash of one object at once (a backend that reads the data reads it
    /// once); kinds unavailable for it are left out.
    async fn hashes(&self, path: &RelPath, kinds: HashSet) -> Result<Hashes> {
        let mut out = Hashes::default();
        for kind in kinds.iter() {
            if let Some(h) = self.hash(path, kind).await? {
                out.set(kind, h);
            }
        }
        Ok(out)
    }

    /// Changes an object's (or a directory's) modification time.
    async fn set_modtime(&self, path: &RelPath, mtime: SystemTime) -> Result<()>;

    async fn delete_file(&self, path: &RelPath) -> Result<()>;

    /// Creates a directory and its parents; succeeds if it exists.
    async fn mkdir(&self, dir: &RelPath) -> Result<()>;

    /// Removes an empty directory.
    async fn rmdir(&self, dir: &RelPath) -> Result<()>;

    /// For a backend to recognise a peer of its own kind (e.g. two S3 backends on one
    /// endpoint can copy server-side). The engine never uses it.
    fn as_any(&self) -> &dyn std::any::Any;

    /// For a view over another backend that shows its files under other names (copyto's
    /// renamed source): the backend and path `path` really is, so a destination can copy
    /// or move it on the server (which recognises only its own kind). `None`: no view.
    fn view_of(&self, _path: &RelPath) -> Option<(&dyn Backend, RelPath)> {
        None
    }

    /// The object's path on the local filesystem, for backends whose objects are local files.
    /// Lets another local backend use kernel copies and renames, and an overlay read the
    /// file itself on its worker threads (crypt).
    fn local_path(&self, _path: &RelPath) -> Option<PathBuf> {
        None
    }

    /// Whether the coming `put` of `path` with `opts` checks every byte it stores against
    /// the source's hashes: those in `opts.hashes`, or ones taken before the upload (S3's
    /// upload of a local file it hashed in `copy_from`, part by part), and fails on a
    /// mismatch. The caller then needs no hash of the stream to verify the transfer, and
    /// the bytes are not hashed twice.
    fn put_verifies(&self, _path: &RelPath, _opts: &PutOptions) -> bool {
        false
    }
}

/// The optional operations, called only where the backend declares them
/// ([`Capabilities`](crate::Capabilities)): callers never learn what a backend can do by
/// calling and getting `Ok(None)`. A declared operation may still decline one pair
/// (`Ok(None)`: another endpoint, another file system), and the caller falls back.
#[async_trait]
pub trait Declared: Backend {
    /// [`Backend::copy_from`] where a copy is declared.
    async fn copy_declared(
        &self,
        src: &dyn Backend,
        src_path: &RelPath,
        dst_path: &RelPath,
        opts: &PutOptions,
    ) -> Result<Option<Entry>> {
        if let Some((inner, real)) = src.view_of(src_path) {
            return self.copy_declared(inner, &real, dst_path, opts).await;
        }
        if self.features().caps.copy == crate::CopyKind::None {
            return Ok(None);
        }
        self.copy_from(src, src_path, dst_path, opts).await
    }

    /// [`Backend::move_from`] where moves are declared.
    async fn move_declared(
        &self,
        src: &dyn Backend,
        src_path: &RelPath,
        dst_path: &RelPath,
    ) -> Result<Option<Entry>> {
        if let Some((inner, real)) = src.view_of(src_path) {
            return self.move_declared(inner, &real, dst_path).await;
        }
        if !self.features().caps.moves {
            return Ok(None);
        }
        self.move_from(src, src_path, dst_path).await
    }

    /// [`Backend::list_recursive`] where a recursive listing is declared.
    fn list_recursive_declared(self: Arc<Self>, dir: &RelPath) -> Option<EntryStream> {
        if !self.features().caps.recursive_list {
            return None;
        }
        self.list_recursive(dir)
    }
}

impl<T: Backend + ?Sized> Declared for T {}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(p: &str) -> Location {
        Location {
            namespace: "local".into(),
            path: p.into(),
        }
    }

    #[test]
    fn overlap_is_by_segment() {
        assert!(loc("/a").overlaps(&loc("/a/b")));
        assert!(loc("/a/b").overlaps(&loc("/a")));
        assert!(loc("/a").overlaps(&loc("/a")));
        assert!(!loc("/a").overlaps(&loc("/ab")));
        assert!(loc("/").overlaps(&loc("/x")));
        let other = Location {
            namespace: "sftp://h".into(),
            path: "/a".into(),
        };
        assert!(!loc("/a").overlaps(&other));
        assert_eq!(loc("/a").relative(&loc("/a/b/c")).unwrap().as_str(), "b/c");
    }
}

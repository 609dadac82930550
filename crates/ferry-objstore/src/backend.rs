//! One [`Backend`] over any [`ObjectStore`]: what every object store does the same way
//! lives here once. Bucket and key mapping of a `bucket/prefix` root, directories that
//! are key prefixes or marker objects, delimited listings page by page (a directory
//! listed once even when it comes as a prefix and as a marker), the recursive listing
//! ([`flat`](crate::flat)), stat by HEAD then by prefix, hashes and metadata from HEAD,
//! the modification time kept in user metadata, buckets made before the first write and
//! removed only when empty, server-side copies within one service, and moves as a copy
//! and a delete where the store declares them.

use std::collections::{BTreeSet, HashMap, HashSet as StdHashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use ferry_core::encoding::Names;
use ferry_core::{
    Backend, ByteStream, Entry, EntryStream, Error, ErrorKind, Features, HashKind, ListPages,
    Listing, Location, Metadata, PutOptions, RelPath, Result,
};
use futures::StreamExt;

use crate::bucket::{split_stored_root, stored_key, unsafe_key};
use crate::flat::{dir_prefix, paged, Below, Pager};
use crate::store::{ObjectStore, Target};

/// A bucket (or the account's root), rooted at a prefix, of store `S`.
pub struct ObjectBackend<S: ObjectStore> {
    store: S,
    /// `None`: the root lists buckets and paths start with a bucket name.
    bucket: Option<String>,
    /// Key prefix of the root (stored form), without slashes at either end.
    prefix: String,
    /// How ferry's names are stored as keys: every key is built and read through it.
    names: Names,
    features: Features,
    /// Buckets known to exist (checked or created).
    buckets_ok: Mutex<StdHashSet<String>>,
    /// With directory markers: the marker keys known to exist (seen or written), so each
    /// directory's marker is looked for once per run, not once per upload.
    markers_ok: Mutex<StdHashSet<(String, String)>>,
    /// A small tree read in one recursive listing for a walk that lists every directory.
    tree: Mutex<Tree>,
}

/// Pages of a recursive listing a walk may read up front: a tree of up to this many
/// pages (1,000 objects each) costs that many requests instead of one or more per
/// directory; a bigger one wastes them and is walked directory by directory.
const TREE_PAGES: usize = 5;

/// The tree read up front ([`Backend::expect_tree_walk`]): each directory's entries,
/// handed out once, all dropped at this backend's first write or when a directory is
/// asked for again (a second walk, or a listing after the walk, asks the server).
#[derive(Default)]
struct Tree {
    wanted: bool,
    dirs: Option<HashMap<RelPath, Vec<Entry>>>,
    /// Directories already handed out (the root among them).
    served: StdHashSet<RelPath>,
}

impl<S: ObjectStore> ObjectBackend<S> {
    /// Opens `bucket/prefix` (or the account's root for an empty path) with `opts`.
    pub fn new(path: &str, opts: S::Options) -> Result<Arc<Self>> {
        let store = S::connect(opts)?;
        let names = Names::new(store.encoding());
        let (bucket, prefix) = match split_stored_root(&names, path)? {
            Some((b, p)) => (Some(b), p),
            None => (store.default_bucket(), String::new()),
        };
        if let Some(b) = &bucket {
            store.check_root_bucket(b)?;
        }
        Ok(Arc::new(ObjectBackend {
            features: store.features(),
            store,
            bucket,
            prefix,
            names,
            buckets_ok: Mutex::new(StdHashSet::new()),
            markers_ok: Mutex::new(StdHashSet::new()),
            tree: Mutex::new(Tree::default()),
        }))
    }

    /// Opens a backend from a remote's options and the environment.
    pub fn from_options(
        path: &str,
        options: &ferry_core::kind::Options,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Arc<Self>> {
        Self::new(path, S::options_from(options, &env)?)
    }

    pub fn options(&self) -> &S::Options {
        self.store.options()
    }

    /// The root's bucket; `None` at the account's root.
    pub fn bucket(&self) -> Option<&str> {
        self.bucket.as_deref()
    }

    /// The store's client, for what only this store can do.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Where `path` lives: under the root's bucket and prefix, or (at the account's
    /// root) in the bucket its first segment names.
    pub fn target(&self, path: &RelPath) -> Result<Target> {
        match &self.bucket {
            Some(b) => Ok(Target {
                bucket: b.clone(),
                key: stored_key(&self.names, &self.prefix, path)?,
            }),
            None => {
                let Some((bucket, key)) = split_stored_root(&self.names, path.as_str())? else {
                    return Err(Error::new(
                        ErrorKind::Unsupported,
                        format!(
                            "{}: this needs a {b} name in the path (remote:{b}/path)",
                            S::TYPE_NAME,
                            b = S::BUCKET_NAME
                        ),
                    ));
                };
                S::check_bucket_name(&bucket)?;
                Ok(Target { bucket, key })
            }
        }
    }

    /// Whether `dir` is the account's root (which lists buckets).
    fn is_account_root(&self, dir: &RelPath) -> bool {
        self.bucket.is_none() && dir.is_root()
    }

    /// HEAD of the object at `path`, or a not-found error.
    async fn head_existing(&self, path: &RelPath) -> Result<(Target, S::Object)> {
        let t = self.target(path)?;
        match self.head(&t, path.as_str()).await? {
            Some(o) => Ok((t, o)),
            None => Err(Error::not_found(path.to_string())),
        }
    }

    /// HEAD, except of a bucket itself (which is no object).
    async fn head(&self, t: &Target, path: &str) -> Result<Option<S::Object>> {
        if t.key.is_empty() {
            return Ok(None);
        }
        self.store.head(t, path).await
    }

    /// Makes sure the bucket exists before a write (asked once per bucket).
    async fn ensure_bucket(&self, bucket: &str) -> Result<()> {
        if self.buckets_ok.lock().expect("lock").contains(bucket) {
            return Ok(());
        }
        self.store.ready_bucket(bucket).await?;
        self.buckets_ok
            .lock()
            .expect("lock")
            .insert(bucket.to_owned());
        Ok(())
    }

    /// rclone's directory markers for `dir`: its `dir/` object and its parents' up to
    /// (not including) the root's, stopping at the first that exists. The root's own is
    /// made only when `dir` is the root, as rclone does.
    async fn make_markers(&self, dir: &RelPath) -> Result<()> {
        let mut dir = dir.clone();
        loop {
            let t = self.target(&dir)?;
            if t.key.is_empty() {
                return Ok(());
            }
            let marker = Target {
                key: format!("{}/", t.key),
                bucket: t.bucket,
            };
            let known = (marker.bucket.clone(), marker.key.clone());
            if self.markers_ok.lock().expect("lock").contains(&known) {
                return Ok(());
            }
            if self.store.head(&marker, dir.as_str()).await?.is_none() {
                tracing::debug!("{dir}: Creating directory marker");
                let opts = PutOptions {
                    size: 0,
                    mtime: SystemTime::now(),
                    inplace: false,
                    hashes: Default::default(),
                    metadata: None,
                };
                let empty: ByteStream = Box::pin(tokio::io::empty());
                self.store
                    .put(&marker, &dir, empty, &opts)
                    .await
                    .map_err(|e| {
                        Error::new(
                            e.kind(),
                            format!("creating directory marker failed: {}", e.message()),
                        )
                        .with_path(dir.to_string())
                        .temporary(e.is_temporary())
                    })?;
            }
            self.markers_ok.lock().expect("lock").insert(known);
            match dir.parent() {
                Some(p) if !p.is_root() && !dir.is_root() => dir = p,
                _ => return Ok(()),
            }
        }
    }

    /// Whether any object's key starts with `prefix`. A store may answer a page with no
    /// objects but a token, so the token is followed until an object or the end.
    async fn any_object(&self, bucket: &str, prefix: &str, path: &str) -> Result<bool> {
        let mut token = None;
        loop {
            let page = match self.store.list(bucket, prefix, false, 1, token, path).await {
                Ok(page) => page,
                Err(e) if e.kind() == ErrorKind::DirNotFound => return Ok(false),
                Err(e) => return Err(e),
            };
            if !page.objects.is_empty() {
                return Ok(true);
            }
            match page.next {
                Some(t) => token = Some(t),
                None => return Ok(false),
            }
        }
    }

    /// The account's buckets, as directories, a page at a time.
    fn list_buckets(&self) -> ListPages<'_> {
        ferry_core::listing::by_token(move |token| async move {
            let page = self.store.list_buckets(token).await?;
            let mut listing = Listing::new();
            for (name, created) in page.objects {
                match self.names.child(&RelPath::root(), &name) {
                    Ok(p) => listing.entries.push(Entry::dir(
                        p,
                        created.unwrap_or_else(ferry_core::no_dir_time),
                    )),
                    Err(e) => listing.skip(e),
                }
            }
            Ok((listing, page.next))
        })
    }

    /// Every bucket's stored name.
    async fn bucket_names(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut token = None;
        loop {
            let page = self.store.list_buckets(token).await?;
            names.extend(page.objects.into_iter().map(|(name, _)| name));
            match page.next {
                Some(t) => token = Some(t),
                None => return Ok(names),
            }
        }
    }

    /// The tree below the root in at most [`TREE_PAGES`] pages of a recursive listing,
    /// kept by directory; the root's entries are returned. `None` (walk directory by
    /// directory) for a bigger tree, a key ferry can't name, or any failure (the
    /// delimited listing then says what it is).
    async fn read_tree(&self) -> Option<Vec<Entry>> {
        let t = self.target(&RelPath::root()).ok()?;
        let prefix = dir_prefix(&t.key);
        let mut dirs: HashMap<RelPath, Vec<Entry>> = HashMap::new();
        let mut seen = StdHashSet::new();
        let mut token = None;
        for _ in 0..TREE_PAGES {
            let chunk = self.store.list_chunk();
            let page = (self.store)
                .list(&t.bucket, &prefix, false, chunk, token.take(), "")
                .await
                .ok()?;
            for o in &page.objects {
                self.place(o, &prefix, &mut dirs, &mut seen)?;
            }
            match page.next {
                Some(next) => token = Some(next),
                None => {
                    let root = dirs.remove(&RelPath::root()).unwrap_or_default();
                    let mut tree = self.tree.lock().expect("lock");
                    tree.dirs = Some(dirs);
                    tree.served = StdHashSet::from([RelPath::root()]);
                    return Some(root);
                }
            }
        }
        tracing::debug!("more than {TREE_PAGES} pages below the root: listing each directory");
        None
    }

    /// Files `o` in its directory's entries, and each directory on its path in its
    /// parent's (once), as the delimited listings would show them.
    fn place(
        &self,
        o: &S::Object,
        prefix: &str,
        dirs: &mut HashMap<RelPath, Vec<Entry>>,
        seen: &mut StdHashSet<RelPath>,
    ) -> Option<()> {
        let rest = S::key(o).strip_prefix(prefix)?;
        if rest.is_empty() {
            return Some(()); // the root's own marker
        }
        let (rest, slashed) = match rest.strip_suffix('/') {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let segments: Vec<&str> = rest.split('/').collect();
        let mut parent = RelPath::root();
        for (i, seg) in segments.iter().enumerate() {
            let child = self.names.child(&parent, seg).ok()?;
            let is_file = i + 1 == segments.len() && !slashed && !S::is_folder_marker(o);
            let listing = dirs.entry(parent).or_default();
            if is_file {
                listing.push(S::entry(o, child.clone()));
            } else if seen.insert(child.clone()) {
                listing.push(Entry::dir(child.clone(), ferry_core::no_dir_time()));
            }
            parent = child;
        }
        Some(())
    }

    /// `dir`'s entries from the tree read up front, if there is one (a directory it
    /// doesn't hold had nothing below it then).
    fn tree_listing(&self, dir: &RelPath) -> Option<Vec<Entry>> {
        let mut tree = self.tree.lock().expect("lock");
        tree.dirs.as_ref()?;
        if !tree.served.insert(dir.clone()) {
            // Asked again: what was read may be stale by now.
            tree.dirs = None;
            tree.served.clear();
            return None;
        }
        tree.dirs.as_mut()?.remove(dir).or(Some(Vec::new()))
    }

    /// A write makes the tree read up front stale.
    fn drop_tree(&self) {
        let mut tree = self.tree.lock().expect("lock");
        tree.dirs = None;
        tree.served.clear();
    }

    /// Lists `dir` page by page with the `/` delimiter; metadata (and so each object's
    /// mtime) comes with each page.
    fn list_objects(&self, dir: RelPath) -> ListPages<'_> {
        ferry_core::listing::by_token(move |cursor: Option<Cursor>| {
            let dir = dir.clone();
            async move {
                self.list_objects_page(&dir, cursor.unwrap_or_default())
                    .await
            }
        })
    }

    /// One page of `dir`'s objects and prefixes. A directory can show up twice (as a
    /// prefix and as a marker object, maybe on different pages): the cursor keeps the
    /// directories seen so each is listed once. It holds directories, never files.
    async fn list_objects_page(
        &self,
        dir: &RelPath,
        mut cursor: Cursor,
    ) -> Result<(Listing, Option<Cursor>)> {
        let t = self.target(dir)?;
        let prefix = dir_prefix(&t.key);
        let page = self
            .store
            .list(
                &t.bucket,
                &prefix,
                true,
                self.store.list_chunk(),
                cursor.token.take(),
                dir.as_str(),
            )
            .await?;
        let mut listing = Listing::new();
        listing.errors = page.skipped;
        let mut dir_entry = |p: RelPath, listing: &mut Listing| {
            if cursor.dirs.insert(p.clone()) {
                let mut d = Entry::dir(p, ferry_core::no_dir_time());
                d.dir_size = S::LISTED_DIR_SIZE;
                listing.entries.push(d);
            }
        };
        for full in &page.prefixes {
            let name = full.strip_prefix(&prefix).and_then(|n| n.strip_suffix('/'));
            match name.map(|n| self.names.child(dir, n)) {
                Some(Ok(p)) => dir_entry(p, &mut listing),
                _ => listing.skip(unsafe_key(&self.names, full)),
            }
        }
        for o in &page.objects {
            let key = S::key(o);
            let Some(name) = key.strip_prefix(&prefix) else {
                continue;
            };
            if name.is_empty() {
                continue; // the directory's own marker
            }
            // A `name/` marker is a directory, as rclone lists it.
            let (name, slashed) = match name.strip_suffix('/') {
                Some(n) => (n, true),
                None => (name, false),
            };
            match self.names.child(dir, name) {
                Ok(p) if slashed || S::is_folder_marker(o) => dir_entry(p, &mut listing),
                Ok(p) => listing.entries.push(S::entry(o, p)),
                Err(_) => listing.skip(unsafe_key(&self.names, key)),
            }
        }
        // A prefix with nothing under it is an empty directory (`bucket_dirs`); only a
        // missing bucket (in the store's `list`) is "directory not found".
        cursor.token = page.next;
        let more = cursor.token.is_some();
        Ok((listing, more.then_some(cursor)))
    }

    /// rmdir of the directory at `t` (below a bucket) for a store that keeps markers: a
    /// prefix holding nothing is gone already, one holding only its `dir/` marker loses
    /// it, one holding more is not empty. Two keys tell which.
    async fn remove_marker(&self, t: &Target, dir: &RelPath) -> Result<()> {
        let marker = dir_prefix(&t.key);
        let page = self
            .store
            .list(&t.bucket, &marker, false, 2, None, dir.as_str())
            .await?;
        let keys: Vec<&str> = page.objects.iter().map(S::key).collect();
        match keys.as_slice() {
            [] => Ok(()),
            [only] if *only == marker => {
                let m = Target {
                    bucket: t.bucket.clone(),
                    key: marker,
                };
                self.store.delete(&m, dir.as_str()).await
            }
            _ => Err(not_empty(dir)),
        }
    }
}

/// rmdir's refusal of a directory that holds objects.
fn not_empty(dir: &RelPath) -> Error {
    Error::new(ErrorKind::Io, "directory not empty").with_path(dir.to_string())
}

/// Where a paged, delimited listing stands: the next page's token, and the directories
/// already listed.
#[derive(Default)]
struct Cursor {
    token: Option<String>,
    dirs: BTreeSet<RelPath>,
}

/// The recursive listing: every key below a directory without a delimiter, in key
/// order, a page asked for only once the previous one was consumed (memory O(page)).
/// Directories come from key prefixes and marker objects ([`Below`]).
struct FlatPager<S: ObjectStore> {
    b: Arc<ObjectBackend<S>>,
    bucket: String,
    token: Option<String>,
    done: bool,
    below: Below,
}

impl<S: ObjectStore> FlatPager<S> {
    fn new(b: Arc<ObjectBackend<S>>, dir: &RelPath) -> Result<Self> {
        let t = b.target(dir)?;
        let below = Below::new(dir.clone(), &t.key, b.names);
        Ok(FlatPager {
            b,
            bucket: t.bucket,
            token: None,
            done: false,
            below,
        })
    }

    /// The directories `o` (at `rel`, `slashed` when its key ends in `/`) reports now.
    fn dirs_of(&mut self, o: &S::Object, rel: &RelPath, slashed: bool) -> Vec<Entry> {
        let dirs = &mut self.below.dirs;
        if slashed {
            let mut found = dirs.enter(rel, true);
            // The marker's own directory (the last one entered) is one the server names.
            if let Some(d) = found.last_mut().filter(|d| d.path == *rel) {
                d.dir_size = S::LISTED_DIR_SIZE;
            }
            return found;
        }
        if !S::is_folder_marker(o) {
            return dirs.enter(rel, false);
        }
        // A marker named without its slash sorts before `dir.txt`: held until the
        // listing reaches `dir/`.
        dirs.hold_marker(rel.clone());
        dirs.enter(rel, false)
            .into_iter()
            .filter(|d| d.path != *rel)
            .collect()
    }
}

#[async_trait]
impl<S: ObjectStore> Pager for FlatPager<S> {
    fn done(&self) -> bool {
        self.done
    }

    async fn next_page(&mut self) -> Result<Listing> {
        let page = self
            .b
            .store
            .list(
                &self.bucket,
                self.below.prefix(),
                false,
                self.b.store.list_chunk(),
                self.token.take(),
                self.below.dir().as_str(),
            )
            .await?;
        self.token = page.next;
        self.done = self.token.is_none();
        let mut listing = Listing::new();
        listing.errors = page.skipped;
        for o in &page.objects {
            let (rel, slashed) = match self.below.name(S::key(o)) {
                Ok(Some(named)) => named,
                Ok(None) => continue,
                Err(_) => {
                    listing.skip(unsafe_key(&self.b.names, S::key(o)));
                    continue;
                }
            };
            let found = self.dirs_of(o, &rel, slashed);
            self.below.push_dirs(found, &mut listing.entries);
            if !slashed && !S::is_folder_marker(o) {
                listing.entries.push(S::entry(o, self.below.path(&rel)));
            }
        }
        if self.done {
            self.below.finish(&mut listing.entries)?;
        }
        Ok(listing)
    }
}

#[async_trait]
impl<S: ObjectStore> Backend for ObjectBackend<S> {
    fn features(&self) -> &Features {
        &self.features
    }

    fn location(&self) -> Location {
        let mut path = String::new();
        if let Some(b) = &self.bucket {
            path = format!("/{b}");
            if !self.prefix.is_empty() {
                path.push('/');
                path.push_str(&self.prefix);
            }
        }
        Location {
            namespace: self.store.namespace(),
            path,
        }
    }

    fn describe(&self) -> String {
        self.store.describe(self.bucket.as_deref(), &self.prefix)
    }

    /// A bucket by its existence, an object by HEAD (a folder marker is no file), and a
    /// directory by any key under its prefix.
    async fn stat(&self, path: &RelPath) -> Result<Option<Entry>> {
        let dir = || Some(Entry::dir(path.clone(), ferry_core::no_dir_time()));
        if self.is_account_root(path) {
            return Ok(dir());
        }
        let t = self.target(path)?;
        if t.key.is_empty() {
            let exists = self.store.bucket_exists(&t.bucket).await?;
            return Ok(exists.then(dir).flatten());
        }
        if !path.is_root() {
            if let Some(o) = self.head(&t, path.as_str()).await? {
                if !S::is_folder_marker(&o) {
                    return Ok(Some(S::entry(&o, path.clone())));
                }
            }
        }
        let children = dir_prefix(&t.key);
        let any = self.any_object(&t.bucket, &children, path.as_str()).await?;
        Ok(any.then(dir).flatten())
    }

    fn list_pages(&self, dir: RelPath) -> ListPages<'_> {
        if self.is_account_root(&dir) {
            return self.list_buckets();
        }
        if let Some(entries) = self.tree_listing(&dir) {
            return ferry_core::listing::one_page(async move {
                Ok(Listing {
                    entries,
                    errors: Vec::new(),
                })
            });
        }
        let wanted = dir.is_root() && std::mem::take(&mut self.tree.lock().expect("lock").wanted);
        if !wanted {
            return self.list_objects(dir);
        }
        let tree = futures::stream::once(async move { self.read_tree().await });
        Box::pin(
            tree.map(move |root| match root {
                Some(entries) => ferry_core::listing::one_page(async move {
                    Ok(Listing {
                        entries,
                        errors: Vec::new(),
                    })
                }),
                None => self.list_objects(RelPath::root()),
            })
            .flatten(),
        )
    }

    fn expect_tree_walk(&self) {
        self.tree.lock().expect("lock").wanted = true;
    }

    fn list_recursive(self: Arc<Self>, dir: &RelPath) -> Option<EntryStream> {
        if self.is_account_root(dir) {
            return None;
        }
        Some(match FlatPager::new(self, dir) {
            Ok(p) => paged(p),
            Err(e) => Box::pin(futures::stream::once(async move { Err(e) })),
        })
    }

    async fn open(&self, path: &RelPath, offset: u64, len: Option<u64>) -> Result<ByteStream> {
        if len == Some(0) {
            return Ok(Box::pin(tokio::io::empty()));
        }
        let t = self.target(path)?;
        self.store.read(&t, offset, len, path).await
    }

    async fn open_entry(
        &self,
        path: &RelPath,
        offset: u64,
        len: Option<u64>,
    ) -> Result<(ByteStream, Option<Entry>)> {
        if len == Some(0) {
            return Ok((Box::pin(tokio::io::empty()), None));
        }
        let t = self.target(path)?;
        self.store.read_entry(&t, offset, len, path).await
    }

    async fn put(&self, path: &RelPath, data: ByteStream, opts: &PutOptions) -> Result<Entry> {
        self.drop_tree();
        let t = self.target(path)?;
        if t.key.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidPath,
                format!("can't write {} without a name", S::OBJECT_NAME),
            )
            .with_path(path.to_string()));
        }
        self.ensure_bucket(&t.bucket).await?;
        if self.store.directory_markers() {
            // rclone makes the file's directory (its marker) before each upload.
            self.make_markers(&path.parent().unwrap_or_else(RelPath::root))
                .await?;
        }
        match self.store.upload_metadata() {
            Some(extra) => {
                let mut opts = opts.clone();
                let mut m = opts.metadata.take().unwrap_or_default();
                m.merge(extra);
                opts.metadata = Some(m);
                self.store.put(&t, path, data, &opts).await
            }
            None => self.store.put(&t, path, data, opts).await,
        }
    }

    async fn copy_from(
        &self,
        src: &dyn Backend,
        src_path: &RelPath,
        dst_path: &RelPath,
        opts: &PutOptions,
    ) -> Result<Option<Entry>> {
        self.drop_tree();
        let Some(other) = src.as_any().downcast_ref::<ObjectBackend<S>>() else {
            // Streamed by the caller: the store may prepare the upload.
            let t = self.target(dst_path)?;
            self.store.prepare_upload(src, src_path, &t, opts).await?;
            return Ok(None);
        };
        if !self.store.same_service(&other.store) {
            return Ok(None);
        }
        let (s, d) = (other.target(src_path)?, self.target(dst_path)?);
        self.ensure_bucket(&d.bucket).await?;
        self.store
            .copy(&other.store, &s, &d, src_path, dst_path, opts)
            .await
    }

    fn put_verifies(&self, path: &RelPath, opts: &PutOptions) -> bool {
        self.target(path)
            .is_ok_and(|t| self.store.put_verifies(&t, opts))
    }

    async fn metadata(&self, path: &RelPath) -> Result<Option<Metadata>> {
        let (_, o) = self.head_existing(path).await?;
        Ok(Some(S::metadata(&o)))
    }

    async fn hash(&self, path: &RelPath, kind: HashKind) -> Result<Option<String>> {
        if !self.features.semantics.hashes.contains(kind) {
            return Ok(None);
        }
        let (_, o) = self.head_existing(path).await?;
        Ok(S::hash(&o, kind))
    }

    /// The object's user metadata with the new time in the store's keys, replacing the
    /// old (the object's content stays).
    async fn set_modtime(&self, path: &RelPath, mtime: SystemTime) -> Result<()> {
        self.drop_tree();
        let (t, o) = self.head_existing(path).await?;
        let mut meta = S::user_metadata(&o);
        meta.extend(S::mtime_metadata(mtime));
        self.store
            .replace_metadata(&t, &o, meta, path.as_str())
            .await
    }

    /// The user metadata replaced whole (the store's own time key goes with it, as with
    /// azcopy's `set-properties`).
    async fn replace_user_metadata(&self, path: &RelPath, meta: &Metadata) -> Result<()> {
        self.drop_tree();
        let (t, o) = self.head_existing(path).await?;
        let user = meta
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        self.store
            .replace_metadata(&t, &o, user, path.as_str())
            .await
    }

    async fn set_tags(&self, path: &RelPath, tags: &[(String, String)]) -> Result<()> {
        let t = self.target(path)?;
        self.store.set_tags(&t, path, tags).await
    }

    async fn delete_file(&self, path: &RelPath) -> Result<()> {
        self.drop_tree();
        let t = self.target(path)?;
        self.store.delete(&t, path.as_str()).await
    }

    async fn mkdir(&self, dir: &RelPath) -> Result<()> {
        self.drop_tree();
        if self.is_account_root(dir) {
            return Ok(());
        }
        let t = self.target(dir)?;
        self.ensure_bucket(&t.bucket).await?;
        if self.store.directory_markers() {
            self.make_markers(dir).await?;
        }
        Ok(())
    }

    /// A presigned URL of an existing object (rclone: "object not found" otherwise).
    async fn public_link(&self, path: &RelPath, expire: Option<Duration>) -> Result<String> {
        if !self.features.caps.public_link {
            return Err(Error::unsupported(format!(
                "{} doesn't support public links",
                self.describe()
            )));
        }
        match self.stat(path).await? {
            Some(e) if !e.is_dir() => {}
            _ => return Err(Error::new(ErrorKind::NotFound, "object not found")),
        }
        let t = self.target(path)?;
        self.store.presign_get(&t, expire, &self.describe()).await
    }

    /// rclone's settier on one object: a directory or a missing object is "object not
    /// found", as rclone's.
    async fn set_tier(&self, path: &RelPath, tier: &str) -> Result<()> {
        if !self.features.caps.set_tier {
            return Err(Error::unsupported(format!(
                "{} doesn't support settier",
                self.describe()
            )));
        }
        let t = self.target(path)?;
        self.store.set_tier(&t, path, tier).await
    }

    /// The root's bucket below its prefix, or at an account's root every bucket; a
    /// bucket that fails is reported and the others still cleaned.
    async fn clean_up(&self) -> Result<()> {
        if !self.features.caps.clean_up {
            return Err(Error::unsupported(format!(
                "{} doesn't support cleanup",
                self.describe()
            )));
        }
        if let Some(bucket) = &self.bucket {
            return self.store.clean_up(bucket, &self.prefix).await;
        }
        let mut failed = None;
        for bucket in self.bucket_names().await? {
            if let Err(e) = self.store.clean_up(&bucket, "").await {
                tracing::error!("{e}");
                failed = Some(e);
            }
        }
        failed.map_or(Ok(()), Err)
    }

    fn commands(&self) -> &'static [ferry_core::command::CommandHelp] {
        self.store.commands()
    }

    async fn command(
        &self,
        call: &ferry_core::command::CommandCall,
    ) -> Result<ferry_core::command::CommandOutput> {
        let buckets = match &self.bucket {
            Some(b) => vec![b.clone()],
            None => self.bucket_names().await?,
        };
        let scope = crate::store::Scope {
            buckets,
            prefix: self.prefix.clone(),
            account_root: self.bucket.is_none(),
            shown: self.describe(),
        };
        self.store.command(&scope, call).await
    }

    /// A directory below a bucket is a prefix, gone with its last object (or its marker,
    /// where the store says: [`ObjectStore::RMDIR_REMOVES_MARKER`]); a bucket is removed,
    /// as rclone does, only when empty.
    async fn rmdir(&self, dir: &RelPath) -> Result<()> {
        self.drop_tree();
        if self.is_account_root(dir) {
            return Err(Error::unsupported(format!(
                "can't remove the root of {}",
                S::ROOT_NAME
            )));
        }
        let t = self.target(dir)?;
        if self.store.directory_markers() && !dir.is_root() && !t.key.is_empty() {
            self.drop_marker(dir, &t).await?;
        }
        if !t.key.is_empty() {
            if S::RMDIR_REMOVES_MARKER {
                return self.remove_marker(&t, dir).await;
            }
            return Ok(());
        }
        if !S::BUCKET_DELETE_CHECKS_EMPTY && self.any_object(&t.bucket, "", dir.as_str()).await? {
            return Err(not_empty(dir));
        }
        self.store.delete_bucket(&t.bucket).await?;
        self.buckets_ok.lock().expect("lock").remove(&t.bucket);
        Ok(())
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl<S: ObjectStore> ObjectBackend<S> {
    /// Removes `dir`'s marker (rclone removes only the marker: objects below stay, and
    /// with them the directory). A directory that never had one is no error.
    async fn drop_marker(&self, dir: &RelPath, t: &Target) -> Result<()> {
        let marker = Target {
            bucket: t.bucket.clone(),
            key: format!("{}/", t.key),
        };
        tracing::debug!("{dir}: Removing directory marker");
        self.markers_ok
            .lock()
            .expect("lock")
            .remove(&(marker.bucket.clone(), marker.key.clone()));
        match self.store.delete(&marker, dir.as_str()).await {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(Error::new(
                e.kind(),
                format!("removing directory marker failed: {}", e.message()),
            )
            .with_path(dir.to_string())
            .temporary(e.is_temporary())),
            _ => Ok(()),
        }
    }
}

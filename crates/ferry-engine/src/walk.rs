//! A filtered walk of one backend, for the listing and housekeeping commands.
//!
//! It selects exactly what the march would take from a source: the same `Select`
//! calls on the same paths, the same `--exclude-if-present` pruning, the same
//! single-file rule. Directories are listed `width` at a time but reported in
//! breadth-first order, each directory's entries sorted by name, so output is
//! deterministic (rclone's order with one checker).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use ferry_core::EntryStream;
use ferry_core::{Backend, Declared, Entry, Error, ErrorKind, Listing, RelPath, Result};
use futures::stream::{FuturesOrdered, StreamExt, TryStreamExt};

use crate::Select;

/// How far and how wide to walk.
#[derive(Clone, Debug)]
pub struct WalkOptions {
    /// Levels to list: 1 is the root's direct children only; `None` is unlimited.
    pub max_depth: Option<usize>,
    /// Directories listed concurrently.
    pub width: usize,
    /// When the argument named a single file: only this name, at the root, is taken
    /// (filters don't apply to it, as for `copy`).
    pub only_name: Option<String>,
    /// Allow one recursive listing of the whole tree when the backend has one (object
    /// stores list every key under a prefix in pages): entries then come in key order, a
    /// batch at a time, not directory by directory, and memory stays O(page). Used only
    /// without a depth limit or directory filters, as rclone does.
    pub flat: bool,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            max_depth: None,
            width: 8,
            only_name: None,
            flat: false,
        }
    }
}

/// Errors met below the root (the walk goes on past them).
#[derive(Debug, Default)]
pub struct WalkReport {
    pub errors: u64,
    pub last_error: Option<Error>,
}

type Listed = Pin<Box<dyn Future<Output = (RelPath, Result<Listing>)> + Send>>;

/// Entries handed out at most at once from a recursive listing.
const FLAT_BATCH: usize = 1000;

/// Walks a backend from its root, one directory at a time: call
/// [`next_dir`](Walker::next_dir) until it returns `None`.
pub struct Walker {
    backend: Arc<dyn Backend>,
    select: Arc<dyn Select>,
    opts: WalkOptions,
    queue: VecDeque<RelPath>,
    running: FuturesOrdered<Listed>,
    report: WalkReport,
    /// The recursive listing, when the walk uses one.
    flat: Option<futures::stream::ReadyChunks<EntryStream>>,
    /// Whether the recursive listing has produced anything yet (a failure before is the
    /// root's).
    flat_started: bool,
}

impl Walker {
    pub fn new(backend: Arc<dyn Backend>, select: Arc<dyn Select>, opts: WalkOptions) -> Self {
        let flat_ok = opts.flat
            && opts.max_depth.is_none()
            && opts.only_name.is_none()
            && !(select.is_active() && select.uses_directory_filters());
        let flat = flat_ok
            .then(|| backend.clone().list_recursive_declared(&RelPath::root()))
            .flatten()
            .map(|s| s.ready_chunks(FLAT_BATCH));
        Walker {
            queue: if flat.is_some() {
                VecDeque::new()
            } else {
                VecDeque::from([RelPath::root()])
            },
            backend,
            select,
            opts,
            running: FuturesOrdered::new(),
            report: WalkReport::default(),
            flat,
            flat_started: false,
        }
    }

    /// Whether entries come from one recursive listing (key order, in batches).
    pub fn is_flat(&self) -> bool {
        self.flat.is_some()
    }

    /// The next batch of a recursive listing, selected; reported as the root's.
    async fn next_flat(&mut self) -> Result<Option<(RelPath, Vec<Entry>)>> {
        loop {
            let Some(stream) = self.flat.as_mut() else {
                return Ok(None);
            };
            let Some(batch) = stream.next().await else {
                self.flat = None;
                return Ok(None);
            };
            let mut entries = Vec::with_capacity(batch.len());
            for item in batch {
                match item {
                    Ok(e) => entries.push(e),
                    // One entry skipped; the listing goes on.
                    Err(e) if e.kind() == ErrorKind::InvalidPath => self.count(e),
                    Err(e) if !self.flat_started => {
                        self.flat = None;
                        return Err(root_error(e, &*self.backend));
                    }
                    Err(e) => {
                        // The listing can't go on past a failed page.
                        self.count(e);
                        self.flat = None;
                        break;
                    }
                }
            }
            self.flat_started = true;
            if let Err(e) =
                crate::select::exact_for_filters(&*self.select, &*self.backend, &mut entries).await
            {
                self.count(e);
                continue;
            }
            let entries = choose(&*self.select, &self.opts, &RelPath::root(), entries);
            if entries.is_empty() && self.flat.is_some() {
                continue;
            }
            return Ok(Some((RelPath::root(), entries)));
        }
    }

    /// The next listed directory with its selected entries (files and directories) in
    /// name order. Fails only if the root can't be listed (`DirNotFound` when it doesn't
    /// exist); errors below the root are logged, counted in the report, and skipped.
    ///
    /// A flat walk ([`WalkOptions::flat`]) hands out batches in key order instead, each
    /// reported as the root's.
    pub async fn next_dir(&mut self) -> Result<Option<(RelPath, Vec<Entry>)>> {
        if self.flat.is_some() {
            return self.next_flat().await;
        }
        loop {
            while self.running.len() < self.opts.width.max(1) {
                let Some(dir) = self.queue.pop_front() else {
                    break;
                };
                let (backend, select) = (self.backend.clone(), self.select.clone());
                let opts = self.opts.clone();
                self.running.push_back(Box::pin(async move {
                    let listed = list_chosen(&*backend, &*select, &opts, &dir).await;
                    (dir, listed)
                }));
            }
            let Some((dir, listed)) = self.running.next().await else {
                return Ok(None);
            };
            let mut entries = match listed {
                Ok(list) => {
                    for e in list.errors {
                        self.count(e);
                    }
                    list.entries
                }
                Err(e) if dir.is_root() => return Err(root_error(e, &*self.backend)),
                Err(e) => {
                    self.count(e);
                    continue;
                }
            };
            if self.opts.only_name.is_none() {
                entries = crate::select::by_metadata(&*self.select, &*self.backend, entries).await;
            }
            entries.sort_by(|a, b| a.path.as_str().cmp(b.path.as_str()));
            self.drop_marked_dirs(&mut entries).await;
            let depth = dir.depth() + 1;
            if self.opts.max_depth.is_none_or(|max| depth < max) {
                self.queue.extend(
                    entries
                        .iter()
                        .filter(|e| e.is_dir())
                        .map(|e| e.path.clone()),
                );
            }
            // Other directories may still be listing, or not yet begun.
            ferry_core::crash::point(ferry_core::crash::MID_LISTING);
            return Ok(Some((dir, entries)));
        }
    }

    /// `--exclude-if-present`: as rclone, a directory holding a marker file is left
    /// out itself (not only its contents), so each directory is checked before it is
    /// shown. A failed check keeps the directory (its listing will report the error).
    async fn drop_marked_dirs(&self, entries: &mut Vec<Entry>) {
        let markers = self.select.exclude_if_present();
        if markers.is_empty() || self.opts.only_name.is_some() {
            return;
        }
        let mut keep = Vec::with_capacity(entries.len());
        for e in entries.drain(..) {
            if e.is_dir() {
                let mut marked = false;
                for m in markers {
                    let Ok(p) = e.path.join(m) else { continue };
                    if matches!(self.backend.stat(&p).await, Ok(Some(f)) if !f.is_dir()) {
                        marked = true;
                        break;
                    }
                }
                if marked {
                    tracing::debug!("{}: Excluded by --exclude-if-present", e.path);
                    continue;
                }
            }
            keep.push(e);
        }
        *entries = keep;
    }

    /// Logs and counts an error met below the root (the walk goes on).
    fn count(&mut self, e: Error) {
        tracing::error!("{e}");
        self.report.errors += 1;
        self.report.last_error = Some(e);
    }

    /// Errors met below the root so far.
    pub fn report(&self) -> &WalkReport {
        &self.report
    }

    pub fn into_report(self) -> WalkReport {
        self.report
    }
}

/// Lists a directory; when the argument named a single file, its root "listing" is that
/// file alone, found with one stat, as rclone does: the siblings are never read (nor
/// reported, say, as symlinks that can't be followed).
pub(crate) async fn list_dir_or_file(
    backend: &dyn Backend,
    dir: &RelPath,
    only: Option<&str>,
) -> Result<Listing> {
    let Some(name) = only.filter(|_| dir.is_root()) else {
        return backend.list_dir(dir).await;
    };
    let path = RelPath::new(name).map_err(|e| Error::new(ErrorKind::Refused, e.to_string()))?;
    let found: Vec<Entry> = backend
        .stat(&path)
        .await?
        .into_iter()
        .filter(|e| !e.is_dir())
        .collect();
    Ok(found.into())
}

fn root_error(e: Error, backend: &dyn Backend) -> Error {
    match e.kind() {
        ErrorKind::DirNotFound | ErrorKind::NotFound => Error::new(
            ErrorKind::DirNotFound,
            format!("directory not found: {}", backend.describe()),
        ),
        _ => e,
    }
}

/// One directory's selected entries, filtered page by page as the listing arrives, so
/// a huge directory costs memory for what is kept, not for all it holds.
async fn list_chosen(
    backend: &dyn Backend,
    select: &dyn Select,
    opts: &WalkOptions,
    dir: &RelPath,
) -> Result<Listing> {
    if opts.only_name.is_some() && dir.is_root() {
        let mut list = list_dir_or_file(backend, dir, opts.only_name.as_deref()).await?;
        crate::select::exact_for_filters(select, backend, &mut list.entries).await?;
        list.entries = choose(select, opts, dir, list.entries);
        return Ok(list);
    }
    let mut pages = backend.list_pages(dir.clone());
    let mut out = Listing::new();
    let mut marked = false;
    while let Some(mut page) = pages.try_next().await? {
        out.errors.append(&mut page.errors);
        if marked {
            continue; // read on only for the errors: they still count
        }
        crate::select::exact_for_filters(select, backend, &mut page.entries).await?;
        if has_marker(select, &page.entries) {
            tracing::debug!("{dir}: Excluded by --exclude-if-present");
            marked = true;
            out.entries = Vec::new();
            continue;
        }
        out.entries.extend(choose(select, opts, dir, page.entries));
    }
    Ok(out)
}

/// Whether a directory holds an `--exclude-if-present` marker file: as in rclone the
/// whole directory is then left out, the root too (the listing is then empty).
fn has_marker(select: &dyn Select, list: &[Entry]) -> bool {
    let markers = select.exclude_if_present();
    !markers.is_empty()
        && list
            .iter()
            .any(|e| !e.is_dir() && markers.iter().any(|m| m == e.name()))
}

/// The march's selection among (one page of) a directory's listing.
fn choose(select: &dyn Select, opts: &WalkOptions, dir: &RelPath, list: Vec<Entry>) -> Vec<Entry> {
    if let Some(only) = &opts.only_name {
        if !dir.is_root() {
            return Vec::new();
        }
        return list
            .into_iter()
            .filter(|e| !e.is_dir() && e.name() == only)
            .collect();
    }
    if !select.is_active() {
        return list;
    }
    list.into_iter()
        .filter(|e| {
            if e.is_dir() {
                select.include_dir(e.path.as_str())
            } else {
                select.include_file(e.path.as_str(), e.size, e.mtime)
            }
        })
        .collect()
}

/// Every selected entry, in walk order (a convenience over [`Walker`]).
pub async fn walk_all(
    backend: Arc<dyn Backend>,
    select: Arc<dyn Select>,
    opts: &WalkOptions,
) -> Result<(Vec<Entry>, WalkReport)> {
    let mut walker = Walker::new(backend, select, opts.clone());
    let mut all = Vec::new();
    while let Some((_, entries)) = walker.next_dir().await? {
        all.extend(entries);
    }
    Ok((all, walker.into_report()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AllowAll;
    use ferry_local::{LocalBackend, LocalOptions};

    #[tokio::test]
    async fn breadth_first_sorted_and_depth_limited() {
        let dir = tempfile::tempdir().unwrap();
        for p in ["b/y.txt", "a/x.txt", "a/deep/z.txt", "c.txt"] {
            let full = dir.path().join(p);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, p).unwrap();
        }
        let backend = LocalBackend::new(dir.path(), LocalOptions::default());
        let (all, report) = walk_all(backend.clone(), Arc::new(AllowAll), &WalkOptions::default())
            .await
            .unwrap();
        let paths: Vec<_> = all.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "a",
                "b",
                "c.txt",
                "a/deep",
                "a/x.txt",
                "b/y.txt",
                "a/deep/z.txt"
            ]
        );
        assert_eq!(report.errors, 0);
        let opts = WalkOptions {
            max_depth: Some(1),
            ..Default::default()
        };
        let (top, _) = walk_all(backend.clone(), Arc::new(AllowAll), &opts)
            .await
            .unwrap();
        assert_eq!(top.len(), 3);
        let missing = LocalBackend::new(dir.path().join("nope"), LocalOptions::default());
        let err = walk_all(missing, Arc::new(AllowAll), &opts)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DirNotFound);
    }

    /// Features declaring a recursive listing.
    fn recursive() -> ferry_core::Features {
        let mut f = ferry_core::Features::default();
        f.caps.recursive_list = true;
        f
    }

    /// A backend whose only listing is a recursive one of `total` files, counting the
    /// entries pulled from it.
    struct Flat {
        total: usize,
        pulled: Arc<std::sync::atomic::AtomicUsize>,
        features: ferry_core::Features,
    }

    #[async_trait::async_trait]
    impl Backend for Flat {
        fn features(&self) -> &ferry_core::Features {
            &self.features
        }
        fn location(&self) -> ferry_core::Location {
            ferry_core::Location {
                namespace: "test".into(),
                path: String::new(),
            }
        }
        fn describe(&self) -> String {
            "flat test backend".into()
        }
        async fn stat(&self, _: &RelPath) -> Result<Option<Entry>> {
            unimplemented!()
        }
        fn list_pages(&self, _: RelPath) -> ferry_core::ListPages<'_> {
            panic!("a flat walk lists nothing directory by directory")
        }
        fn list_recursive(self: Arc<Self>, _: &RelPath) -> Option<EntryStream> {
            let pulled = self.pulled.clone();
            Some(Box::pin(futures::stream::iter((0..self.total).map(
                move |i| {
                    pulled.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let p = RelPath::new(&format!("d{}/f{i:05}", i / 100)).unwrap();
                    Ok(Entry::file(p, 1, std::time::UNIX_EPOCH))
                },
            ))))
        }
        async fn open(
            &self,
            _: &RelPath,
            _: u64,
            _: Option<u64>,
        ) -> Result<ferry_core::ByteStream> {
            unimplemented!()
        }
        async fn put(
            &self,
            _: &RelPath,
            _: ferry_core::ByteStream,
            _: &ferry_core::PutOptions,
        ) -> Result<Entry> {
            unimplemented!()
        }
        async fn hash(&self, _: &RelPath, _: ferry_core::HashKind) -> Result<Option<String>> {
            unimplemented!()
        }
        async fn set_modtime(&self, _: &RelPath, _: std::time::SystemTime) -> Result<()> {
            unimplemented!()
        }
        async fn delete_file(&self, _: &RelPath) -> Result<()> {
            unimplemented!()
        }
        async fn mkdir(&self, _: &RelPath) -> Result<()> {
            unimplemented!()
        }
        async fn rmdir(&self, _: &RelPath) -> Result<()> {
            unimplemented!()
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }

    #[tokio::test]
    async fn a_flat_walk_holds_one_batch_not_the_tree() {
        let pulled = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let backend = Arc::new(Flat {
            total: 10_000,
            pulled: pulled.clone(),
            features: recursive(),
        });
        let opts = WalkOptions {
            flat: true,
            ..Default::default()
        };
        let mut walker = Walker::new(backend.clone(), Arc::new(AllowAll), opts.clone());
        assert!(walker.is_flat());
        let (_, first) = walker.next_dir().await.unwrap().unwrap();
        assert_eq!(first.len(), FLAT_BATCH);
        assert!(pulled.load(std::sync::atomic::Ordering::SeqCst) <= FLAT_BATCH + 1);
        let mut n = first.len();
        while let Some((_, batch)) = walker.next_dir().await.unwrap() {
            n += batch.len();
        }
        assert_eq!(n, 10_000);
        // A depth limit needs the directory walk (which this backend refuses).
        let limited = WalkOptions {
            max_depth: Some(2),
            ..opts
        };
        assert!(!Walker::new(backend, Arc::new(AllowAll), limited).is_flat());
    }
}

//! rclone's `combine` remote: several remotes shown as the top-level directories of one
//! (`upstreams = "docs=drive:docs photos=s3:bucket"`). The top level lists the upstream
//! names as directories and holds nothing else; every path below one is that upstream's.
//! A copy or move between two paths of one upstream is that upstream's own (server-side,
//! or a rename); across upstreams the upstream declines and the caller streams, as it
//! would between any two remotes.

mod kind;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use futures::TryStreamExt;

use ferry_core::{
    Backend, ByteStream, Declared, Entry, EntryStream, Error, ErrorKind, Features, HashKind,
    HashSet, Hashes, ListPages, Listing, Location, Metadata, PutOptions, RelPath, Result, Usage,
};

pub use kind::KIND;

/// One upstream: the top-level directory it is shown as, and the remote behind it
/// (rooted at the remote's own root: the combine root is applied by routing).
pub struct Upstream {
    pub dir: String,
    pub backend: Arc<dyn Backend>,
}

/// Where a path of the combine remote lies.
enum Route<'a> {
    /// The top level, which only lists the upstreams.
    Top,
    /// Below one upstream, at this path of it.
    Below(&'a Upstream, RelPath),
    /// Below a top-level name no upstream has.
    Nowhere,
}

pub struct CombineBackend {
    upstreams: Vec<Upstream>,
    /// The root inside the combined tree (`""`, `docs`, `docs/sub`).
    root: RelPath,
    features: Features,
    remote: String,
    /// The time shown for the top-level directories, which keep none of their own.
    when: SystemTime,
}

impl CombineBackend {
    /// `root` is a path of the combined tree (its first segment names an upstream).
    pub fn new(upstreams: Vec<Upstream>, remote: &str, root: &str) -> Result<Self> {
        let root = RelPath::new(root.trim_matches('/'))
            .map_err(|e| Error::new(ErrorKind::Config, format!("{remote} combine remote: {e}")))?;
        let mut me = CombineBackend {
            features: Features::shared(upstreams.iter().map(|u| u.backend.features())),
            upstreams,
            root,
            remote: remote.to_owned(),
            when: SystemTime::now(),
        };
        // Rooted below one upstream, every path is that upstream's: so is every rule.
        if let Route::Below(u, _) = me.route(&RelPath::root()) {
            me.features = u.backend.features().clone();
        }
        Ok(me)
    }

    /// The upstreams, in the order the option names them.
    pub fn upstreams(&self) -> &[Upstream] {
        &self.upstreams
    }

    fn route(&self, path: &RelPath) -> Route<'_> {
        let abs = self.root.join_path(path);
        let mut segments = abs.as_str().splitn(2, '/');
        let Some(first) = segments.next().filter(|s| !s.is_empty()) else {
            return Route::Top;
        };
        let rest = RelPath::new(segments.next().unwrap_or("")).unwrap_or_else(|_| RelPath::root());
        match self.upstreams.iter().find(|u| u.dir == first) {
            Some(u) => Route::Below(u, rest),
            None => Route::Nowhere,
        }
    }

    /// The upstream and its path for an operation on one object; the top level holds
    /// no objects.
    fn object(&self, path: &RelPath) -> Result<(&Upstream, RelPath)> {
        match self.route(path) {
            Route::Below(u, rest) => Ok((u, rest)),
            Route::Top => Err(self.not_below(path)),
            Route::Nowhere => Err(self.not_below(path)),
        }
    }

    fn not_below(&self, path: &RelPath) -> Error {
        let dirs: Vec<&str> = self.upstreams.iter().map(|u| u.dir.as_str()).collect();
        Error::new(
            ErrorKind::DirNotFound,
            format!(
                "not below an upstream of combine remote {}: its top level holds only the directories {}",
                self.remote,
                dirs.join(", ")
            ),
        )
        .with_path(path.as_str().to_owned())
        .retryable(false)
    }

    /// An upstream's path as a path of this remote.
    fn ours(&self, u: &Upstream, upath: &RelPath) -> Result<RelPath> {
        let abs = RelPath::new(&u.dir)?.join_path(upath);
        abs.strip_prefix(&self.root).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidPath,
                format!(
                    "{} lies outside combine root '{}'",
                    abs.as_str(),
                    self.root.as_str()
                ),
            )
        })
    }

    fn entry(&self, u: &Upstream, mut e: Entry) -> Result<Entry> {
        e.path = self.ours(u, &e.path)?;
        Ok(e)
    }

    fn page(&self, u: &Upstream, page: Listing) -> Listing {
        let mut out = Listing {
            entries: Vec::with_capacity(page.entries.len()),
            errors: page.errors,
        };
        for e in page.entries {
            match self.entry(u, e) {
                Ok(e) => out.entries.push(e),
                Err(err) => out.skip(err),
            }
        }
        out
    }

    fn top_dir(&self, path: RelPath) -> Entry {
        Entry::dir(path, self.when)
    }

    fn top_listing(&self) -> Result<Listing> {
        let mut out = Listing::new();
        for u in &self.upstreams {
            out.entries
                .push(self.top_dir(RelPath::root().join(&u.dir)?));
        }
        Ok(out)
    }

    /// `src`'s upstream and path when it is a combine remote too.
    fn peer<'a>(src: &'a dyn Backend, path: &RelPath) -> Option<Result<(&'a Upstream, RelPath)>> {
        src.as_any()
            .downcast_ref::<CombineBackend>()
            .map(|c| c.object(path))
    }
}

#[async_trait]
impl Backend for CombineBackend {
    fn features(&self) -> &Features {
        &self.features
    }

    fn location(&self) -> Location {
        match self.route(&RelPath::root()) {
            Route::Below(u, rest) => {
                let mut l = u.backend.location();
                if !rest.is_root() {
                    l.path = format!("{}/{}", l.path.trim_end_matches('/'), rest.as_str());
                }
                l
            }
            _ => {
                let parts: Vec<String> = self
                    .upstreams
                    .iter()
                    .map(|u| {
                        let l = u.backend.location();
                        format!("{}={}:{}", u.dir, l.namespace, l.path)
                    })
                    .collect();
                Location {
                    namespace: format!("combine:{}", parts.join(" ")),
                    path: format!("/{}", self.root.as_str())
                        .trim_end_matches('/')
                        .to_owned(),
                }
            }
        }
    }

    fn describe(&self) -> String {
        format!("combine root '{}'", self.root.as_str())
    }

    async fn stat(&self, path: &RelPath) -> Result<Option<Entry>> {
        match self.route(path) {
            Route::Top => Ok(Some(self.top_dir(path.clone()))),
            Route::Nowhere => Ok(None),
            // An upstream's own directory is always there, as the top level lists it.
            Route::Below(u, rest) if rest.is_root() => match u.backend.stat(&rest).await? {
                Some(e) if e.is_dir() => self.entry(u, e).map(Some),
                _ => Ok(Some(self.top_dir(path.clone()))),
            },
            Route::Below(u, rest) => match u.backend.stat(&rest).await? {
                Some(e) => self.entry(u, e).map(Some),
                None => Ok(None),
            },
        }
    }

    fn list_pages(&self, dir: RelPath) -> ListPages<'_> {
        match self.route(&dir) {
            Route::Top => ferry_core::listing::one_page(async move { self.top_listing() }),
            Route::Nowhere => ferry_core::listing::one_page(async move {
                Err(Error::new(
                    ErrorKind::DirNotFound,
                    format!("directory not found in combine remote {}", self.remote),
                )
                .with_path(dir.as_str().to_owned()))
            }),
            Route::Below(u, rest) => Box::pin(
                u.backend
                    .list_pages(rest)
                    .map_ok(move |page| self.page(u, page)),
            ),
        }
    }

    fn list_recursive(self: Arc<Self>, dir: &RelPath) -> Option<EntryStream> {
        use futures::StreamExt;
        // Declared only where every upstream lists recursively: the walk covers the rest.
        if !self.features.caps.recursive_list {
            return None;
        }
        let (index, rest) = match self.route(dir) {
            Route::Below(u, rest) => (
                self.upstreams.iter().position(|x| std::ptr::eq(x, u))?,
                rest,
            ),
            _ => return None,
        };
        let inner = self.upstreams[index]
            .backend
            .clone()
            .list_recursive_declared(&rest)?;
        let me = self.clone();
        Some(Box::pin(inner.map(move |item| {
            item.and_then(|e| {
                me.entry(&me.upstreams[index], e)
                    .map_err(|err| err.with_kind(ErrorKind::InvalidPath))
            })
        })))
    }

    async fn open(&self, path: &RelPath, offset: u64, len: Option<u64>) -> Result<ByteStream> {
        let (u, rest) = self.object(path)?;
        u.backend.open(&rest, offset, len).await
    }

    async fn open_entry(
        &self,
        path: &RelPath,
        offset: u64,
        len: Option<u64>,
    ) -> Result<(ByteStream, Option<Entry>)> {
        let (u, rest) = self.object(path)?;
        let (s, e) = u.backend.open_entry(&rest, offset, len).await?;
        Ok((s, e.map(|e| self.entry(u, e)).transpose()?))
    }

    async fn put(&self, path: &RelPath, data: ByteStream, opts: &PutOptions) -> Result<Entry> {
        let (u, rest) = self.object(path)?;
        let e = u.backend.put(&rest, data, opts).await?;
        self.entry(u, e)
    }

    async fn put_ranges(
        &self,
        path: &RelPath,
        ranges: Vec<(u64, ByteStream)>,
        parallel: usize,
        opts: &PutOptions,
    ) -> Result<Option<Entry>> {
        let (u, rest) = self.object(path)?;
        match u.backend.put_ranges(&rest, ranges, parallel, opts).await? {
            Some(e) => self.entry(u, e).map(Some),
            None => Ok(None),
        }
    }

    async fn copy_from(
        &self,
        src: &dyn Backend,
        src_path: &RelPath,
        dst_path: &RelPath,
        opts: &PutOptions,
    ) -> Result<Option<Entry>> {
        let (du, drest) = self.object(dst_path)?;
        let got = match Self::peer(src, src_path) {
            Some(found) => {
                let (su, srest) = found?;
                du.backend
                    .copy_declared(&*su.backend, &srest, &drest, opts)
                    .await?
            }
            None => {
                du.backend
                    .copy_declared(src, src_path, &drest, opts)
                    .await?
            }
        };
        got.map(|e| self.entry(du, e)).transpose()
    }

    async fn move_from(
        &self,
        src: &dyn Backend,
        src_path: &RelPath,
        dst_path: &RelPath,
    ) -> Result<Option<Entry>> {
        let (du, drest) = self.object(dst_path)?;
        let got = match Self::peer(src, src_path) {
            Some(found) => {
                let (su, srest) = found?;
                du.backend
                    .move_declared(&*su.backend, &srest, &drest)
                    .await?
            }
            None => du.backend.move_declared(src, src_path, &drest).await?,
        };
        got.map(|e| self.entry(du, e)).transpose()
    }

    async fn prepare_write(&self) {
        for u in &self.upstreams {
            u.backend.prepare_write().await;
        }
    }

    async fn usage(&self) -> Result<Option<Usage>> {
        let mut parts = Vec::new();
        for u in &self.upstreams {
            parts.push(u.backend.usage().await?);
        }
        Ok(sum_usage(parts))
    }

    async fn metadata(&self, path: &RelPath) -> Result<Option<Metadata>> {
        let (u, rest) = self.object(path)?;
        u.backend.metadata(&rest).await
    }

    async fn hash(&self, path: &RelPath, kind: HashKind) -> Result<Option<String>> {
        if !self.features.semantics.hashes.contains(kind) {
            return Ok(None);
        }
        let (u, rest) = self.object(path)?;
        u.backend.hash(&rest, kind).await
    }

    async fn hashes(&self, path: &RelPath, kinds: HashSet) -> Result<Hashes> {
        let (u, rest) = self.object(path)?;
        u.backend
            .hashes(&rest, kinds.intersect(self.features.semantics.hashes))
            .await
    }

    async fn set_modtime(&self, path: &RelPath, mtime: SystemTime) -> Result<()> {
        let (u, rest) = self.object(path)?;
        u.backend.set_modtime(&rest, mtime).await
    }

    async fn delete_file(&self, path: &RelPath) -> Result<()> {
        let (u, rest) = self.object(path)?;
        u.backend.delete_file(&rest).await
    }

    async fn mkdir(&self, dir: &RelPath) -> Result<()> {
        match self.route(dir) {
            Route::Top => Ok(()),
            Route::Below(u, rest) => u.backend.mkdir(&rest).await,
            Route::Nowhere => Err(self.not_below(dir)),
        }
    }

    async fn rmdir(&self, dir: &RelPath) -> Result<()> {
        match self.route(dir) {
            Route::Top => Ok(()),
            Route::Below(u, rest) => u.backend.rmdir(&rest).await,
            Route::Nowhere => Err(self.not_below(dir)),
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn local_path(&self, path: &RelPath) -> Option<PathBuf> {
        match self.route(path) {
            Route::Below(u, rest) => u.backend.local_path(&rest),
            _ => None,
        }
    }
}

/// Several stores' usage as one (rclone's `about` of an overlay): a field is known only
/// where every store knows it.
pub fn sum_usage(parts: impl IntoIterator<Item = Option<Usage>>) -> Option<Usage> {
    let add = |a: Option<u64>, b: Option<u64>| Some(a?.saturating_add(b?));
    let mut total = Usage {
        total: Some(0),
        used: Some(0),
        free: Some(0),
        objects: Some(0),
    };
    for part in parts {
        let p = part?;
        total = Usage {
            total: add(total.total, p.total),
            used: add(total.used, p.used),
            free: add(total.free, p.free),
            objects: add(total.objects, p.objects),
        };
    }
    Some(total)
}

#[cfg(test)]
mod tests;

//! Layers: behaviour that wraps any backend the same way (fault injection for tests,
//! `--tpslimit`; retries and request dumps are meant to live here too). A
//! [`Layer`] says what happens around each call; [`Layered`] is the backend it makes, and
//! delegates everything else to the backend inside, so a layered backend keeps its
//! features, its name and its peers (server-side copies still recognise it).

pub mod disable;
pub mod fault;
pub mod tps;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use async_trait::async_trait;
use futures::stream::{self, TryStreamExt};

use crate::{
    Backend, ByteStream, Entry, EntryStream, Features, HashKind, HashSet, Hashes, ListPages,
    Listing, Location, Metadata, PutOptions, RelPath, Result,
};

/// The calls a layer sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Stat,
    List,
    Open,
    Put,
    Copy,
    Move,
    Metadata,
    Hash,
    SetModtime,
    Delete,
    Mkdir,
    Rmdir,
    /// `cleanup`, `link` and `settier`: calls about the store or an object's keeping.
    Admin,
    /// A whole directory moved at once (rclone's DirMove).
    DirMove,
}

/// What a layer adds around the calls of the backend it wraps.
#[async_trait]
pub trait Layer: Send + Sync + 'static {
    /// Before each call: an error fails the call without reaching the backend.
    async fn before(&self, _op: Op, _path: &RelPath) -> Result<()> {
        Ok(())
    }

    /// A stream read from the backend, as the layer hands it on.
    fn reading(&self, _path: &RelPath, stream: ByteStream) -> ByteStream {
        stream
    }

    /// A stream about to be written to the backend.
    fn writing(&self, _path: &RelPath, stream: ByteStream) -> ByteStream {
        stream
    }

    /// A directory's listing the layer already holds (read once before the run, so the
    /// run needn't ask the server again); `None`: the backend lists it.
    fn listing(&self, _dir: &RelPath) -> Option<Listing> {
        None
    }

    /// Whether every read must go through the layer. `false` for a layer that leaves data
    /// alone: the filesystem path of a local object is then given out, so local fast
    /// paths (kernel copies, a local file's MD5 for an upload) still work.
    fn sees_reads(&self) -> bool {
        true
    }

    /// Whether [`adjust_features`](Self::adjust_features) changes anything.
    fn adjusts_features(&self) -> bool {
        false
    }

    /// What the backend inside declares, as the layer has it declared (`--disable`).
    fn adjust_features(&self, _features: &mut Features) {}

    /// Whether the backend may do `op` itself (a server-side copy or move, a directory
    /// move): `false` makes the call answer "not here", so the caller does it the long
    /// way, as when the backend can't.
    fn allows(&self, _op: Op) -> bool {
        true
    }
}

/// A backend seen through a layer.
pub struct Layered<L> {
    inner: Arc<dyn Backend>,
    layer: L,
    /// The inner backend's features as the layer adjusts them, each keyed by the address
    /// of the inner's: a backend may answer with one of a few (FTP's, once it knows
    /// whether the server keeps times), each a field of its own that never changes.
    adjusted: [OnceLock<(usize, Features)>; 4],
}

impl<L: Layer> Layered<L> {
    pub fn new(inner: Arc<dyn Backend>, layer: L) -> Arc<Self> {
        Arc::new(Layered {
            inner,
            layer,
            adjusted: Default::default(),
        })
    }

    pub fn layer(&self) -> &L {
        &self.layer
    }
}

#[async_trait]
impl<L: Layer> Backend for Layered<L> {
    fn features(&self) -> &Features {
        let inner = self.inner.features();
        if !self.layer.adjusts_features() {
            return inner;
        }
        let key = inner as *const Features as usize;
        for slot in &self.adjusted {
            let (k, f) = slot.get_or_init(|| {
                let mut f = inner.clone();
                self.layer.adjust_features(&mut f);
                (key, f)
            });
            if *k == key {
                return f;
            }
        }
        // No backend has more than two sets; a fifth would only lose the adjustment.
        debug_assert!(false, "more feature sets than a layer keeps");
        inner
    }
    fn location(&self) -> Location {
        self.inner.location()
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
    async fn stat(&self, path: &RelPath) -> Result<Option<Entry>> {
        self.layer.before(Op::Stat, path).await?;
        self.inner.stat(path).await
    }
    fn list_pages(&self, dir: RelPath) -> ListPages<'_> {
        if let Some(held) = self.layer.listing(&dir) {
            return crate::listing::one_page(async move { Ok(held) });
        }
        let gate = stream::once(async move {
            self.layer.before(Op::List, &dir).await?;
            Ok(dir)
        });
        Box::pin(
            gate.map_ok(move |dir| self.inner.list_pages(dir))
                .try_flatten(),
        )
    }
    fn list_recursive(self: Arc<Self>, dir: &RelPath) -> Option<EntryStream> {
        self.inner.clone().list_recursive(dir)
    }
    fn expect_tree_walk(&self) {
        self.inner.expect_tree_walk()
    }
    fn expect_hashes(&self, kind: HashKind) {
        self.inner.expect_hashes(kind)
    }
    async fn cheap_hash(&self, e: &Entry, kind: HashKind) -> Result<Option<String>> {
        self.inner.cheap_hash(e, kind).await
    }
    async fn open(&self, path: &RelPath, offset: u64, len: Option<u64>) -> Result<ByteStream> {
        self.layer.before(Op::Open, path).await?;
        let stream = self.inner.open(path, offset, len).await?;
        Ok(self.layer.reading(path, stream))
    }
    async fn open_entry(
        &self,
        path: &RelPath,
        offset: u64,
        len: Option<u64>,
    ) -> Result<(ByteStream, Option<Entry>)> {
        self.layer.before(Op::Open, path).await?;
        let (stream, entry) = self.inner.open_entry(path, offset, len).await?;
        Ok((self.layer.reading(path, stream), entry))
    }
    async fn put(&self, path: &RelPath, data: ByteStream, opts: &PutOptions) -> Result<Entry> {
        self.layer.before(Op::Put, path).await?;
        let data = self.layer.writing(path, data);
        self.inner.put(path, data, opts).await
    }
    async fn put_ranges(
        &self,
        path: &RelPath,
        ranges: Vec<(u64, ByteStream)>,
        parallel: usize,
        opts: &PutOptions,
    ) -> Result<Option<Entry>> {
        self.layer.before(Op::Put, path).await?;
        let ranges = ranges
            .into_iter()
            .map(|(at, s)| (at, self.layer.writing(path, s)))
            .collect();
        self.inner.put_ranges(path, ranges, parallel, opts).await
    }
    async fn copy_from(
        &self,
        src: &dyn Backend,
        src_path: &RelPath,
        dst_path: &RelPath,
        opts: &PutOptions,
    ) -> Result<Option<Entry>> {
        if !self.layer.allows(Op::Copy) {
            return Ok(None);
        }
        self.layer.before(Op::Copy, dst_path).await?;
        self.inner.copy_from(src, src_path, dst_path, opts).await
    }
    async fn move_from(
        &self,
        src: &dyn Backend,
        src_path: &RelPath,
        dst_path: &RelPath,
    ) -> Result<Option<Entry>> {
        if !self.layer.allows(Op::Move) {
            return Ok(None);
        }
        self.layer.before(Op::Move, dst_path).await?;
        self.inner.move_from(src, src_path, dst_path).await
    }
    async fn move_tree_from(&self, src: &dyn Backend) -> Result<bool> {
        if !self.layer.allows(Op::DirMove) {
            return Ok(false);
        }
        self.layer.before(Op::DirMove, &RelPath::root()).await?;
        self.inner.move_tree_from(src).await
    }
    async fn prepare_write(&self) {
        self.inner.prepare_write().await
    }
    async fn clean_up(&self) -> Result<()> {
        self.layer.before(Op::Admin, &RelPath::root()).await?;
        self.inner.clean_up().await
    }
    async fn public_link(
        &self,
        path: &RelPath,
        expire: Option<std::time::Duration>,
    ) -> Result<String> {
        self.layer.before(Op::Admin, path).await?;
        self.inner.public_link(path, expire).await
    }
    async fn set_tier(&self, path: &RelPath, tier: &str) -> Result<()> {
        self.layer.before(Op::Admin, path).await?;
        self.inner.set_tier(path, tier).await
    }
    fn commands(&self) -> &'static [crate::command::CommandHelp] {
        self.inner.commands()
    }
    async fn command(
        &self,
        call: &crate::command::CommandCall,
    ) -> Result<crate::command::CommandOutput> {
        self.layer.before(Op::Admin, &RelPath::root()).await?;
        self.inner.command(call).await
    }
    async fn replace_user_metadata(&self, path: &RelPath, meta: &Metadata) -> Result<()> {
        self.layer.before(Op::Metadata, path).await?;
        self.inner.replace_user_metadata(path, meta).await
    }
    async fn set_tags(&self, path: &RelPath, tags: &[(String, String)]) -> Result<()> {
        self.layer.before(Op::Metadata, path).await?;
        self.inner.set_tags(path, tags).await
    }
    async fn usage(&self) -> Result<Option<crate::Usage>> {
        self.inner.usage().await
    }
    async fn metadata(&self, path: &RelPath) -> Result<Option<Metadata>> {
        self.layer.before(Op::Metadata, path).await?;
        self.inner.metadata(path).await
    }
    async fn hash(&self, path: &RelPath, kind: HashKind) -> Result<Option<String>> {
        self.layer.before(Op::Hash, path).await?;
        self.inner.hash(path, kind).await
    }
    async fn hashes(&self, path: &RelPath, kinds: HashSet) -> Result<Hashes> {
        self.layer.before(Op::Hash, path).await?;
        self.inner.hashes(path, kinds).await
    }
    async fn set_modtime(&self, path: &RelPath, mtime: SystemTime) -> Result<()> {
        self.layer.before(Op::SetModtime, path).await?;
        self.inner.set_modtime(path, mtime).await
    }
    async fn delete_file(&self, path: &RelPath) -> Result<()> {
        self.layer.before(Op::Delete, path).await?;
        self.inner.delete_file(path).await
    }
    async fn mkdir(&self, dir: &RelPath) -> Result<()> {
        self.layer.before(Op::Mkdir, dir).await?;
        self.inner.mkdir(dir).await
    }
    async fn rmdir(&self, dir: &RelPath) -> Result<()> {
        self.layer.before(Op::Rmdir, dir).await?;
        self.inner.rmdir(dir).await
    }
    /// The backend inside: a peer of its own kind still recognises it.
    fn as_any(&self) -> &dyn std::any::Any {
        self.inner.as_any()
    }
    /// None: every read goes through the layer, none around it by the filesystem (unless
    /// the layer leaves reads alone).
    fn local_path(&self, path: &RelPath) -> Option<PathBuf> {
        if self.layer.sees_reads() {
            return None;
        }
        self.inner.local_path(path)
    }
}

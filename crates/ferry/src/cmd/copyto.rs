//! `copyto` and `moveto`: a directory acts as `copy`/`move`; a single file is copied
//! (or moved) to a new name with the same compare and skip rules as `copy`.
//!
//! The file case runs the ordinary engine with the source seen through [`Renamed`],
//! a view of the source's directory that holds only the file, under its new name.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use ferry_core::{
    Backend, ByteStream, Entry, Features, HashKind, ListPages, Listing, Location, PutOptions,
    RelPath, Result,
};
use ferry_engine::{Job, Mode, Observer, Stats};

use crate::cmd::transfer::{self, TransferCall};
use crate::exit::{self, fail, USAGE};
use crate::{selection, Globals};

/// The source's directory showing one file, `real`, as `shown`.
pub struct Renamed {
    inner: Arc<dyn Backend>,
    real: RelPath,
    shown: RelPath,
}

impl Renamed {
    /// `inner`'s directory showing only `real`, under the name `shown`.
    pub fn new(inner: Arc<dyn Backend>, real: RelPath, shown: RelPath) -> Self {
        Renamed { inner, real, shown }
    }

    fn map(&self, path: &RelPath) -> RelPath {
        if path == &self.shown {
            self.real.clone()
        } else {
            path.clone()
        }
    }
}

impl Renamed {
    /// One directory, as the server gives it: whole.
    async fn list_whole(&self, dir: &RelPath) -> Result<Listing> {
        if !dir.is_root() {
            return Ok(Listing::new());
        }
        let found: Vec<Entry> = self
            .inner
            .stat(&self.real)
            .await?
            .filter(|e| !e.is_dir())
            .map(|mut e| {
                e.path = self.shown.clone();
                vec![e]
            })
            .unwrap_or_default();
        Ok(found.into())
    }
}

#[async_trait]
impl Backend for Renamed {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn features(&self) -> &Features {
        self.inner.features()
    }
    fn location(&self) -> Location {
        self.inner.location()
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
    async fn stat(&self, path: &RelPath) -> Result<Option<Entry>> {
        Ok(self.inner.stat(&self.map(path)).await?.map(|mut e| {
            e.path = path.clone();
            e
        }))
    }
    fn list_pages(&self, dir: RelPath) -> ListPages<'_> {
        // At most one file: one page.
        ferry_core::listing::one_page(async move { self.list_whole(&dir).await })
    }
    async fn open(&self, path: &RelPath, offset: u64, len: Option<u64>) -> Result<ByteStream> {
        self.inner.open(&self.map(path), offset, len).await
    }
    async fn put(&self, path: &RelPath, data: ByteStream, opts: &PutOptions) -> Result<Entry> {
        self.inner.put(&self.map(path), data, opts).await
    }
    async fn hash(&self, path: &RelPath, kind: HashKind) -> Result<Option<String>> {
        self.inner.hash(&self.map(path), kind).await
    }
    async fn set_modtime(&self, path: &RelPath, mtime: SystemTime) -> Result<()> {
        self.inner.set_modtime(&self.map(path), mtime).await
    }
    async fn delete_file(&self, path: &RelPath) -> Result<()> {
        self.inner.delete_file(&self.map(path)).await
    }
    async fn mkdir(&self, dir: &RelPath) -> Result<()> {
        self.inner.mkdir(dir).await
    }
    async fn rmdir(&self, dir: &RelPath) -> Result<()> {
        self.inner.rmdir(dir).await
    }
    fn local_path(&self, path: &RelPath) -> Option<PathBuf> {
        self.inner.local_path(&self.map(path))
    }
    /// The real file, so a destination of the source's kind copies or moves it on the
    /// server (`moveto s3:b/x s3:b/y` is one copy and a delete, no byte sent).
    fn view_of(&self, path: &RelPath) -> Option<(&dyn Backend, RelPath)> {
        Some((&*self.inner, self.map(path)))
    }
}

pub async fn run(call: TransferCall<'_>, g: &Globals) -> anyhow::Result<i32> {
    let name = if let Some(name) = call.name {
        name
    } else if call.mode == Mode::Move {
        "moveto"
    } else {
        "copyto"
    };
    let src = g.remotes.open_source(call.source).await?;
    let Some(file) = src.file else {
        // A directory: exactly copy / move.
        return transfer::run(call, g).await;
    };
    let Some((dst, mut new_name)) = g.remotes.open_parent(call.dest, true)? else {
        return Err(fail(
            USAGE,
            format!(
                "{} doesn't name a file: give the new file's path, e.g. dst/new-name.txt",
                ferry_config::redact(call.dest, crate::kinds::registry())
            ),
        ));
    };
    if let Some(rules) = &call.settings.name_transform {
        // As rclone: the rules rename the new name.
        new_name = rules
            .name(&new_name, false)
            .map_err(|e| fail(exit::ERROR, format!("{file}: Failed to transform: {e}")))?;
    }
    if src.backend.location() == dst.location() && file == new_name {
        // As rclone: the file is already where it is asked to go (a move must not delete it).
        tracing::debug!("don't need to {name} {new_name}, it is already at target location");
        return Ok(exit::SUCCESS);
    }
    let bad = |e: ferry_core::Error| fail(USAGE, e.to_string());
    let view: Arc<dyn Backend> = Arc::new(Renamed {
        inner: src.backend,
        real: RelPath::new(&file).map_err(bad)?,
        shown: RelPath::new(&new_name).map_err(bad)?,
    });
    let mut t = call.settings;
    let (select, _) = selection::build(call.f)?;
    let mode = call.az.apply(call.mode, &mut t.sync)?;
    let (backup, confirm) = transfer::safety(&t, &g.remotes)?;
    let observer: Arc<dyn Observer> = Arc::new(());
    let stats = Arc::new(Stats::default());
    let shown = |arg: &str| ferry_config::redact(arg, crate::kinds::registry()).text;
    stats.set_labels(shown(call.source), shown(call.dest));
    let mut opts = t.sync.clone();
    opts.check_first = g.output.check_first;
    let job = Job {
        src: view,
        dst,
        mode,
        opts,
        select,
        src_file: Some(new_name),
        backup,
        alt_dests: transfer::alt_dests(&t, &g.remotes)?,
        confirm,
        observer,
        stats: stats.clone(),
        approve_deletes: None,
    };
    let display = g.start_display(&stats, true);
    let result = ferry_engine::run(job, t.retries, t.retries_sleep).await;
    display.finish();
    let outcome = result.map_err(|e| exit::from_core_in(name, e))?;
    let snap = stats.snapshot();
    g.final_stats(&snap, t.sync.dry_run);
    let code = exit::code_for_outcome(&outcome, t.error_on_no_transfer);
    if code != exit::SUCCESS {
        let last = outcome.last_error.map(|e| e.2).unwrap_or_default();
        tracing::warn!("{}", exit::failed_with(name, outcome.errors, &last));
    }
    Ok(code)
}

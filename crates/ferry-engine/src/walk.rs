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

use ferry_core::{Backend, Entry, Error, ErrorKind, RelPath, Result};
use futures::stream::{FuturesOrdered, StreamExt};

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
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            max_depth: None,
            width: 8,
            only_name: None,
        }
    }
}

/// Errors met below the root (the walk goes on past them).
#[derive(Debug, Default)]
pub struct WalkReport {
    pub errors: u64,
    pub last_error: Option<Error>,
}

type Listing = Pin<Box<dyn Future<Output = (RelPath, Result<Vec<Entry>>)> + Send>>;

/// Walks a backend from its root, one directory at a time: call
/// [`next_dir`](Walker::next_dir) until it returns `None`.
pub struct Walker {
    backend: Arc<dyn Backend>,
    select: Arc<dyn Select>,
    opts: WalkOptions,
    queue: VecDeque<RelPath>,
    running: FuturesOrdered<Listing>,
    report: WalkReport,
}

impl Walker {
    pub fn new(backend: Arc<dyn Backend>, select: Arc<dyn Select>, opts: WalkOptions) -> Self {
        Walker {
            backend,
            select,
            opts,
            queue: VecDeque::from([RelPath::root()]),
            running: FuturesOrdered::new(),
            report: WalkReport::default(),
        }
    }

    /// The next listed directory with its selected entries (files and directories) in
    /// name order. Fails only if the root can't be listed (`DirNotFound` when it doesn't
    /// exist); errors below the root are logged, counted in the report, and skipped.
    pub async fn next_dir(&mut self) -> Result<Option<(RelPath, Vec<Entry>)>> {
        loop {
            while self.running.len() < self.opts.width.max(1) {
                let Some(dir) = self.queue.pop_front() else {
                    break;
                };
                let backend = self.backend.clone();
                let only = self.opts.only_name.clone();
                self.running.push_back(Box::pin(async move {
                    let listed = list_dir_or_file(&*backend, &dir, only.as_deref()).await;
                    (dir, listed)
                }));
            }
            let Some((dir, listed)) = self.running.next().await else {
                return Ok(None);
            };
            let entries = match listed {
                Ok(list) => list,
                Err(e) if dir.is_root() => return Err(root_error(e, &*self.backend)),
                Err(e) => {
                    tracing::error!("{e}");
                    self.report.errors += 1;
                    self.report.last_error = Some(e);
                    continue;
                }
            };
            let mut entries = choose(&*self.select, &self.opts, &dir, entries);
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
) -> Result<Vec<Entry>> {
    let Some(name) = only.filter(|_| dir.is_root()) else {
        return backend.list_dir(dir).await;
    };
    let path = RelPath::new(name).map_err(|e| Error::new(ErrorKind::Refused, e.to_string()))?;
    Ok(backend
        .stat(&path)
        .await?
        .into_iter()
        .filter(|e| !e.is_dir())
        .collect())
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

/// The march's selection for one directory's listing.
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
    let markers = select.exclude_if_present();
    if !dir.is_root()
        && !markers.is_empty()
        && list
            .iter()
            .any(|e| !e.is_dir() && markers.iter().any(|m| m == e.name()))
    {
        tracing::debug!("{dir}: Excluded by --exclude-if-present");
        return Vec::new();
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
}

//! `copy`/`sync --watch`: a transfer that keeps running as a service and follows its
//! source. The engine runs each pass as an ordinary run (filters, `--max-delete`,
//! `--backup-dir` and the no-delete-after-error rule apply per pass); this module only
//! decides when a pass runs and over what, and answers signals. A local source is
//! followed through notifications ([`events`]) and a pass covers the changed paths
//! ([`scope`]); a remote one is listed every `--watch-interval`; a full pass runs at
//! start, every `--watch-reconcile`, after notifications were lost and after SIGHUP.

pub mod bisync;
mod events;
mod scope;
mod signals;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferry_core::RelPath;
use tokio::time::Instant;

use crate::cmd::transfer::{PassScope, Prepared};
use crate::exit::{fail, USAGE};
use crate::{open, settings, Globals};
use events::{Batch, Follower, Pending};
use signals::{Ask, Signals};

/// How long a stop waits for the transfers under way before it lets them go (their
/// temporary files are removed; nothing is left under a final name).
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(5);

/// The longest wait before a failed pass is tried again.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What a pass covers.
enum Cover {
    All(&'static str),
    Paths(BTreeSet<String>),
}

/// How a pass ended, for the loop.
enum Ended {
    /// It did all it was asked.
    Done,
    /// It failed: to be tried again after a back-off (nothing was deleted after the error).
    Retry,
    /// It stopped at a limit meant to hold (`--max-delete`) or on a fatal error: not tried
    /// again until the next full pass (`--watch-reconcile`), which applies it afresh.
    Held,
    /// The service was asked to stop.
    Stop,
}

struct Service<'a> {
    p: Prepared<'a>,
    w: settings::Watch,
    g: &'a Globals,
    remotes: open::Remotes,
    signals: Signals,
    /// A SIGHUP came during a pass: the config is re-read before the next one.
    reload: bool,
    passes: u64,
}

/// Runs the watch until SIGINT/SIGTERM; exit 0 then.
pub async fn run(p: Prepared<'_>, w: settings::Watch, g: &Globals) -> anyhow::Result<i32> {
    let root = local_root(&g.remotes, p.source)?;
    let signals = Signals::new().map_err(|e| {
        fail(
            crate::exit::ERROR,
            format!("--watch: can't listen for signals: {e}"),
        )
    })?;
    let mut s = Service {
        p,
        w,
        g,
        remotes: g.remotes.clone(),
        signals,
        reload: false,
        passes: 0,
    };
    match root {
        Some(root) => s.follow_local(root).await,
        None => s.poll().await,
    }
}

/// The directory to follow when the source is a plain local path (`None`: polled).
pub(crate) fn local_root(remotes: &open::Remotes, source: &str) -> anyhow::Result<Option<PathBuf>> {
    let Some(path) = on_disk(remotes, source)? else {
        return Ok(None);
    };
    if path.is_file() {
        return Err(fail(
            USAGE,
            format!("--watch follows a directory, and {source} is a file: give its directory and --include the file"),
        ));
    }
    Ok(Some(path))
}

/// Where a remote's root lies on this machine's disk, as its backend declares
/// (`Backend::local_path`); `None` for anything reached through a server or an overlay
/// that changes names, which is then polled.
fn on_disk(remotes: &open::Remotes, arg: &str) -> anyhow::Result<Option<PathBuf>> {
    let path = remotes.open(arg)?.local_path(&RelPath::root());
    Ok(path.map(|p| {
        if p.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            p
        }
    }))
}

/// Waits before trying a failed pass again: the delay, doubled each failure in a row.
pub(crate) fn backoff(base: Duration, failures: u32) -> Duration {
    let base = base.max(Duration::from_secs(1));
    base.saturating_mul(1 << failures.min(16)).min(MAX_BACKOFF)
}

impl Service<'_> {
    /// A remote source: a full pass every `--watch-interval`.
    async fn poll(&mut self) -> anyhow::Result<i32> {
        let mut failures = 0;
        let mut why = "start";
        loop {
            match self.pass(Cover::All(why)).await? {
                Ended::Stop => return Ok(0),
                Ended::Retry => failures += 1,
                Ended::Done | Ended::Held => failures = 0,
            }
            let wait = if failures > 0 {
                backoff(self.w.delay, failures).min(self.w.interval)
            } else {
                self.w.interval
            };
            why = "interval";
            tokio::select! {
                ask = self.signals.next() => match ask {
                    Ask::Stop => return Ok(0),
                    Ask::Reload => { self.reload = true; why = "config re-read" }
                },
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// A local source: notifications, settled and batched; full passes now and then.
    async fn follow_local(&mut self, root: PathBuf) -> anyhow::Result<i32> {
        let mut pending = Pending::new(self.w.delay);
        // Following starts before the first pass, so nothing changed during it is missed.
        let mut follower = self.start_following(&root);
        let mut failures = 0;
        let mut full: Option<(&'static str, Instant)> = Some(("start", Instant::now()));
        let mut reconcile_at = self.w.reconcile.map(|r| Instant::now() + r);
        let mut passed = true;
        loop {
            if let Some(f) = follower.as_ref().filter(|_| std::mem::take(&mut passed)) {
                // Asked after each pass: the destination may only now exist.
                pending.ignore_below(self.dest_inside(&f.root));
            }
            let now = Instant::now();
            if let Some((why, at)) = full {
                if at <= now {
                    full = None;
                    if follower.is_none() {
                        follower = self.start_following(&root);
                    }
                    match self.pass(Cover::All(why)).await? {
                        Ended::Stop => return Ok(0),
                        Ended::Retry => {
                            failures += 1;
                            full = Some((why, Instant::now() + backoff(self.w.delay, failures)));
                        }
                        Ended::Done | Ended::Held => failures = 0,
                    }
                    reconcile_at = self.w.reconcile.map(|r| Instant::now() + r);
                    passed = true;
                    continue;
                }
            }
            if let Some(f) = &follower {
                match pending.take(&f.root, now.into_std()) {
                    Some(Batch::Full(why)) => {
                        full = Some((why, now));
                        // Notifications were lost (or the root replaced): what the
                        // watcher knows of the tree's directories may be stale too (a
                        // directory renamed unseen keeps reporting under its old name),
                        // so it is set up afresh, before the full pass.
                        follower = None;
                        continue;
                    }
                    Some(Batch::Paths(paths)) => {
                        let root = f.root.clone();
                        match self.pass(Cover::Paths(paths.clone())).await? {
                            Ended::Stop => return Ok(0),
                            Ended::Retry => {
                                failures += 1;
                                let at = Instant::now() + backoff(self.w.delay, failures);
                                pending.retry_at(paths, &root, at.into_std());
                            }
                            Ended::Done | Ended::Held => failures = 0,
                        }
                        passed = true;
                        continue;
                    }
                    None => {}
                }
            }
            if self.reload {
                full = Some(("config re-read", now));
                continue;
            }
            // Nothing to do now: sleep until the next thing is due (no polling of the tree).
            let wake = [
                pending.due().map(Instant::from_std),
                full.map(|f| f.1),
                reconcile_at,
                // Without notifications (the root is gone) the tree is looked at as a
                // remote one would be.
                follower.is_none().then(|| now + self.w.interval),
            ]
            .into_iter()
            .flatten()
            .min();
            let sleep = async {
                match wake {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                ask = self.signals.next() => match ask {
                    Ask::Stop => return Ok(0),
                    Ask::Reload => self.reload = true,
                },
                change = async { match follower.as_mut() {
                    Some(f) => f.changes.recv().await,
                    None => std::future::pending().await,
                }} => match (change, &follower) {
                    (Some(c), Some(f)) => {
                        let root = f.root.clone();
                        pending.note(c, &root, std::time::Instant::now());
                    }
                    _ => {
                        tracing::warn!("{}: notifications stopped; following again", root.display());
                        follower = None;
                        full = Some(("the notifications stopped", Instant::now()));
                    }
                },
                _ = sleep => {
                    let now = Instant::now();
                    if reconcile_at.is_some_and(|at| at <= now) {
                        full.get_or_insert(("reconcile", now));
                    }
                    if follower.is_none() {
                        full.get_or_insert(("the watched directory is missing", now));
                    }
                }
            }
        }
    }

    /// Where the destination lies inside the followed source `root`, relative to it
    /// (`copy` may write into a directory below its source).
    fn dest_inside(&self, root: &std::path::Path) -> Option<String> {
        let dst = std::fs::canonicalize(on_disk(&self.remotes, self.p.dest).ok()??).ok()?;
        events::slash_path(dst.strip_prefix(root).ok()?)
    }

    /// Starts notifications on `root`; `None` (with a warning) where they can't be had,
    /// and the tree is then looked at every `--watch-interval`.
    fn start_following(&self, root: &std::path::Path) -> Option<Follower> {
        match events::follow(root) {
            Ok(f) => {
                tracing::debug!("{}: following changes", f.root.display());
                Some(f)
            }
            Err(e) => {
                tracing::warn!(
                    "{}: can't follow changes ({e}); looking every {:?} instead",
                    root.display(),
                    self.w.interval
                );
                None
            }
        }
    }

    /// Runs one pass, answering signals while it runs: a stop lets the transfers under way
    /// finish (at most [`STOP_GRACE`]; a second stop doesn't wait), starts nothing new
    /// and deletes nothing more.
    async fn pass(&mut self, cover: Cover) -> anyhow::Result<Ended> {
        if std::mem::take(&mut self.reload) {
            tracing::warn!("Re-reading the config file (SIGHUP)");
            self.remotes = self.remotes.reloaded();
        }
        self.passes += 1;
        let select: Option<Arc<dyn ferry_engine::Select>> = match &cover {
            Cover::All(why) => {
                tracing::info!("watch: pass {}: everything ({why})", self.passes);
                None
            }
            Cover::Paths(paths) => {
                tracing::info!("watch: pass {}: {} changed paths", self.passes, paths.len());
                tracing::debug!(
                    "watch: changed: {}",
                    paths
                        .iter()
                        .take(20)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                Some(Arc::new(scope::Restricted::new(
                    self.p.select.clone(),
                    paths.clone(),
                )))
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        let scope = PassScope {
            select,
            stop: Some(stop.clone()),
            watch_pass: Some(self.passes),
        };
        let (g, remotes, p) = (self.g, &self.remotes, &self.p);
        let run = p.pass(g, remotes, scope);
        tokio::pin!(run);
        let mut grace: Option<Instant> = None;
        loop {
            let until_grace = async {
                match grace {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                result = &mut run => {
                    if grace.is_some() {
                        return Ok(Ended::Stop);
                    }
                    return self.judge(result);
                }
                ask = self.signals.next() => match (ask, grace) {
                    (Ask::Stop, None) => {
                        tracing::warn!("Stopping: finishing the transfers under way");
                        stop.store(true, Ordering::SeqCst);
                        grace = Some(Instant::now() + STOP_GRACE);
                    }
                    (Ask::Stop, Some(_)) => return Ok(Ended::Stop),
                    (Ask::Reload, _) => self.reload = true,
                },
                _ = until_grace => {
                    tracing::warn!("Stopping without waiting longer for the transfers under way");
                    return Ok(Ended::Stop);
                }
            }
        }
    }

    /// What follows a pass; the first pass's failure to even start (a remote that can't
    /// be opened) ends the service, as a plain run would.
    fn judge(&self, result: anyhow::Result<i32>) -> anyhow::Result<Ended> {
        let n = self.passes;
        match result {
            Ok(0) => Ok(Ended::Done),
            Ok(crate::exit::FATAL) => {
                tracing::error!("watch: pass {n} stopped short; what it left undone waits for the next full pass (--watch-reconcile)");
                Ok(Ended::Held)
            }
            Ok(_) => Ok(Ended::Retry),
            Err(e) if n == 1 => Err(e),
            Err(e) => {
                tracing::error!("watch: pass {n} failed: {e:#}; trying again");
                Ok(Ended::Retry)
            }
        }
    }
}

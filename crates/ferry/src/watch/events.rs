//! A local source followed through file system notifications (the `notify` crate), and
//! the changes it reports held back until they stay still for `--watch-delay`.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// What a notification says a pass must look at.
#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    /// Paths below the root (relative, `/`-separated) that changed.
    Paths(Vec<String>),
    /// Something may have been missed, or can't be named: only a full pass is sure.
    Rescan(&'static str),
    /// The watched directory itself went away or was replaced: a full pass, and the
    /// watch set up again.
    RootReplaced,
}

/// A local tree being followed; dropping it stops the notifications.
pub struct Follower {
    _watcher: RecommendedWatcher,
    pub changes: mpsc::UnboundedReceiver<Change>,
    pub root: PathBuf,
}

/// Starts following `root` and everything below it.
pub fn follow(root: &Path) -> notify::Result<Follower> {
    let root = std::fs::canonicalize(root)?;
    let (tx, changes) = mpsc::unbounded_channel();
    let at = root.clone();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<Event>| {
        let change = match res {
            Ok(event) => classify(&at, &event),
            Err(e) => {
                tracing::warn!("{}: file system notifications failed: {e}", at.display());
                Some(Change::Rescan("the notifications failed"))
            }
        };
        if let Some(change) = change {
            let _ = tx.send(change);
        }
    })?;
    watcher.watch(&root, RecursiveMode::Recursive)?;
    Ok(Follower {
        _watcher: watcher,
        changes,
        root,
    })
}

/// What one notification means for the next pass; `None`: nothing (a read, our own).
fn classify(root: &Path, event: &Event) -> Option<Change> {
    if event.need_rescan() {
        return Some(Change::Rescan("the notification queue overflowed"));
    }
    match event.kind {
        // A writer closing its file: worth a look (its data may have settled).
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
        // Reads, ours included, change nothing.
        EventKind::Access(_) => return None,
        _ => {}
    }
    tracing::trace!("notification: {event:?}");
    let mut paths = Vec::with_capacity(event.paths.len());
    for path in &event.paths {
        if path == root {
            if matches!(
                event.kind,
                EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_))
            ) {
                return Some(Change::RootReplaced);
            }
            continue;
        }
        let Ok(rel) = path.strip_prefix(root) else {
            continue;
        };
        match slash_path(rel) {
            Some(p) => paths.push(p),
            None => return Some(Change::Rescan("a changed name is not UTF-8")),
        }
    }
    (!paths.is_empty()).then_some(Change::Paths(paths))
}

/// `rel` as the engine names paths: `/`-separated UTF-8.
pub fn slash_path(rel: &Path) -> Option<String> {
    let parts = rel
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect::<Option<Vec<_>>>()?;
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Size and modification time, to tell a file still being written from a settled one
/// (`None`: gone).
type Shape = Option<(u64, Option<SystemTime>)>;

fn shape(root: &Path, rel: &str) -> Shape {
    std::fs::symlink_metadata(root.join(rel))
        .ok()
        .map(|m| (m.len(), m.modified().ok()))
}

/// A changed path waiting to settle.
struct Seen {
    /// The last notification about it (or when it was last seen still changing).
    last: Instant,
    /// Its shape then.
    shape: Shape,
}

/// Beyond this many waiting paths a full pass is cheaper than naming them all.
const MAX_PATHS: usize = 50_000;

/// What the next pass covers.
#[derive(Debug, PartialEq, Eq)]
pub enum Batch {
    Paths(BTreeSet<String>),
    Full(&'static str),
}

/// Changes noted and not yet sent, each sent once it stayed still for the delay. A burst
/// becomes one batch: paths are taken once the whole tree was quiet for the delay, or
/// once the oldest waited `MAX_WAIT_DELAYS` delays (so a file written without pause
/// forever doesn't hold back the others).
pub struct Pending {
    delay: Duration,
    paths: HashMap<String, Seen>,
    /// A full pass is owed, and why.
    full: Option<&'static str>,
    /// The last notification of all.
    last: Option<Instant>,
    /// Since when the oldest waiting change waits.
    since: Option<Instant>,
    /// Where the destination lies inside the source (a copy into a directory below its
    /// source): changes there are the passes' own writes, and noting them would set off
    /// pass after pass.
    ignore: Option<String>,
}

const MAX_WAIT_DELAYS: u32 = 5;

impl Pending {
    pub fn new(delay: Duration) -> Self {
        Pending {
            delay,
            paths: HashMap::new(),
            full: None,
            last: None,
            since: None,
            ignore: None,
        }
    }

    /// Leaves out changes at or below `rel` (`None`: none left out).
    pub fn ignore_below(&mut self, rel: Option<String>) {
        self.ignore = rel;
    }

    fn ignored(&self, path: &str) -> bool {
        self.ignore.as_deref().is_some_and(|ig| {
            path == ig || (path.starts_with(ig) && path.as_bytes().get(ig.len()) == Some(&b'/'))
        })
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty() && self.full.is_none()
    }

    /// Notes a change seen at `now` in the tree at `root`.
    pub fn note(&mut self, change: Change, root: &Path, now: Instant) {
        if let Change::Paths(paths) = &change {
            if paths.iter().all(|p| self.ignored(p)) {
                return;
            }
        }
        self.last = Some(now);
        self.since.get_or_insert(now);
        match change {
            Change::Paths(paths) => {
                for p in paths {
                    if self.ignored(&p) {
                        continue;
                    }
                    let shape = shape(root, &p);
                    self.paths.insert(p, Seen { last: now, shape });
                }
                if self.paths.len() > MAX_PATHS {
                    self.owe_full("too many changes to name them");
                }
            }
            Change::Rescan(why) => self.owe_full(why),
            Change::RootReplaced => self.owe_full("the watched directory was replaced"),
        }
    }

    /// Owes a full pass (which covers every waiting path).
    pub fn owe_full(&mut self, why: &'static str) {
        self.full.get_or_insert(why);
        self.paths.clear();
        self.since.get_or_insert_with(Instant::now);
    }

    /// Puts paths back to be tried again at `at` (a pass that failed).
    pub fn retry_at(&mut self, paths: BTreeSet<String>, root: &Path, at: Instant) {
        let last = at.checked_sub(self.delay).unwrap_or(at);
        for p in paths {
            let shape = shape(root, &p);
            self.paths.entry(p).or_insert(Seen { last, shape });
        }
        self.since = Some(self.since.map_or(last, |s| s.min(last)));
        self.last = Some(self.last.map_or(last, |l| l.max(last)));
    }

    /// When to look again (`None`: nothing waits).
    pub fn due(&self) -> Option<Instant> {
        if self.is_empty() {
            return None;
        }
        let quiet = self.last? + self.delay;
        let waited = self.since? + self.delay * MAX_WAIT_DELAYS;
        Some(quiet.min(waited))
    }

    /// What is ready to be sent at `now`; what still changes keeps waiting.
    pub fn take(&mut self, root: &Path, now: Instant) -> Option<Batch> {
        if self.due().is_none_or(|due| due > now) {
            return None;
        }
        if let Some(why) = self.full.take() {
            self.paths.clear();
            self.since = None;
            return Some(Batch::Full(why));
        }
        let mut ready = BTreeSet::new();
        for (path, seen) in self.paths.iter_mut() {
            if now.duration_since(seen.last) < self.delay {
                continue;
            }
            let now_shape = shape(root, path);
            if now_shape == seen.shape {
                ready.insert(path.clone());
            } else {
                // Still being written: wait until it stays still for the delay.
                seen.shape = now_shape;
                seen.last = now;
            }
        }
        for p in &ready {
            self.paths.remove(p);
        }
        self.since = self.paths.values().map(|s| s.last).min();
        self.last = self.paths.values().map(|s| s.last).max();
        (!ready.is_empty()).then_some(Batch::Paths(ready))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_taken_once_quiet_and_a_growing_file_waits() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("a"), "1").unwrap();
        std::fs::write(root.join("b"), "1").unwrap();
        let delay = Duration::from_millis(100);
        let mut p = Pending::new(delay);
        let t0 = Instant::now();
        p.note(Change::Paths(vec!["a".into(), "b".into()]), root, t0);
        assert_eq!(p.take(root, t0 + delay / 2), None);
        // b grows without a notification reaching us (a file system that sends none).
        std::fs::write(root.join("b"), "12").unwrap();
        let at = t0 + delay;
        assert_eq!(
            p.take(root, at),
            Some(Batch::Paths(["a".to_string()].into()))
        );
        assert_eq!(
            p.take(root, at + delay),
            Some(Batch::Paths(["b".to_string()].into()))
        );
        assert!(p.is_empty());
    }

    #[test]
    fn changes_below_the_destination_inside_the_source_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Pending::new(Duration::from_millis(10));
        p.ignore_below(Some("backup".into()));
        let t0 = Instant::now();
        p.note(
            Change::Paths(vec!["backup".into(), "backup/a".into()]),
            dir.path(),
            t0,
        );
        assert!(p.is_empty());
        p.note(Change::Paths(vec!["backups/a".into()]), dir.path(), t0);
        assert!(!p.is_empty());
    }

    #[test]
    fn an_overflow_owes_a_full_pass_that_covers_the_paths() {
        let dir = tempfile::tempdir().unwrap();
        let delay = Duration::from_millis(10);
        let mut p = Pending::new(delay);
        let t0 = Instant::now();
        p.note(Change::Paths(vec!["x".into()]), dir.path(), t0);
        p.note(Change::Rescan("overflow"), dir.path(), t0);
        assert_eq!(
            p.take(dir.path(), t0 + delay),
            Some(Batch::Full("overflow"))
        );
        assert!(p.is_empty());
    }

    #[test]
    fn reads_change_nothing_and_the_root_going_away_is_a_replacement() {
        let root = Path::new("/src");
        let read = Event::new(EventKind::Access(AccessKind::Open(AccessMode::Read)))
            .add_path(root.join("a"));
        assert_eq!(classify(root, &read), None);
        let gone = Event::new(EventKind::Remove(notify::event::RemoveKind::Folder))
            .add_path(root.to_path_buf());
        assert_eq!(classify(root, &gone), Some(Change::RootReplaced));
        let made = Event::new(EventKind::Create(notify::event::CreateKind::File))
            .add_path(root.join("d/e.txt"));
        assert_eq!(
            classify(root, &made),
            Some(Change::Paths(vec!["d/e.txt".into()]))
        );
    }
}

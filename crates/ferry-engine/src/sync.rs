//! Running a copy, sync or move: the pipeline from the march through checkers and
//! transfers to deletes, and the safety rules around them.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use ferry_core::units::size_suffix;
use ferry_core::{Backend, Entry, Error, ErrorKind, HashKind, RelPath, Result};
use tokio::sync::mpsc;

use crate::altdest::{self, Consulted};
use crate::compare::{modify_window, Comparer, Decision};
use crate::limits::{Limits, Tripped};
use crate::march::{march, Found, MarchConfig};
use crate::{
    backup, deletes, transfer, Action, ActionKind, Backup, Confirm, DeleteMode, Mode, Observer,
    Select, Stats, SyncOptions,
};

/// One copy, sync or move.
pub struct Job {
    pub src: Arc<dyn Backend>,
    pub dst: Arc<dyn Backend>,
    pub mode: Mode,
    pub opts: SyncOptions,
    pub select: Arc<dyn Select>,
    /// Set when the source argument named a single file (its name in `src`'s root).
    /// Where `src` is a view showing it under a new name (copyto's), the view gives its
    /// real name (`Backend::view_of`), and log lines say `REAL: Copied (new) to: NEW`.
    pub src_file: Option<String>,
    pub backup: Option<Backup>,
    /// `--compare-dest` / `--copy-dest` directories.
    pub alt_dests: Option<crate::AltDests>,
    pub confirm: Option<Arc<dyn Confirm>>,
    pub observer: Arc<dyn Observer>,
    pub stats: Arc<Stats>,
    /// Asked once, with the number of files, before a sync deletes any (azcopy's
    /// `--delete-destination=prompt`); `None` deletes without asking.
    pub approve_deletes: Option<Arc<dyn ApproveDeletes>>,
}

/// Approves a whole batch of deletes at once.
pub trait ApproveDeletes: Send + Sync {
    fn approve(&self, count: usize) -> bool;
}

/// Why a run stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    MaxDelete,
    MaxDeleteSize,
    MaxTransfer,
    MaxDuration,
    /// The user answered "q" to an interactive question.
    Quit,
    /// Asked to stop from outside the run (`SyncOptions::stop`); nothing was deleted
    /// after the stop.
    Stopped,
}

/// How a run ended (the caller maps it to an exit code).
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub errors: u64,
    pub transfers: u64,
    pub stop: Option<StopReason>,
    /// The kind and message of the last error, for the exit code and the final line.
    pub last_error: Option<(ErrorKind, bool, String)>,
}

/// A directory the march passed, with its mtime on each side where it exists.
pub(crate) struct DirRecord {
    pub path: RelPath,
    pub src_mtime: Option<SystemTime>,
    pub dst_mtime: Option<SystemTime>,
    /// The destination directory's own size, where its listing gives one (rclone's
    /// dry-run notice shows it).
    pub dst_size: Option<u64>,
}

/// State shared by the workers of one run.
pub(crate) struct Ctx {
    pub job: Job,
    pub limits: Arc<Limits>,
    pub window: Option<Duration>,
    pub hash: Option<HashKind>,
    pub last_error: Mutex<Option<(ErrorKind, bool, String)>>,
    /// Errors of this attempt that no retry of the run could mend.
    pub unretryable: AtomicU64,
    /// Destination files to delete after the transfers (`--delete-after`).
    pub to_delete: Mutex<Vec<Entry>>,
    /// Directories seen by the march.
    pub dirs: Mutex<Vec<DirRecord>>,
    /// Directories the march found an `--exclude-if-present` marker in, once listed.
    pub excluded_dirs: Mutex<HashSet<RelPath>>,
    /// Destination directories something was written into or deleted from.
    pub dirty: Mutex<HashSet<RelPath>>,
    pub deletes: Mutex<deletes::DeleteBudget>,
    /// Whether this attempt already counted its refusal to delete (once, as rclone).
    pub not_deleting: std::sync::atomic::AtomicBool,
    /// Set once the destination root exists (made before the first write into it).
    pub root_made: tokio::sync::OnceCell<()>,
    /// `--track-renames`: the files held back until the march is done.
    pub renames: Option<crate::renames::Pending>,
    /// Destination objects' real modification times, from earlier runs.
    pub journal: Option<crate::journal::Journal>,
}

impl Ctx {
    /// Records and logs a failure; it will stop deletes and set the exit code. The
    /// run's last error (rclone's closing line, stats) is its message, without the path.
    pub(crate) fn fail(&self, err: &Error) {
        self.record(err, err.message());
    }

    /// A failure of one step on `path`: logged with the step's words, as rclone's
    /// `a.txt: Failed to copy: mkdir ...`, while the run's last error is the error
    /// itself (`mkdir ...`), as rclone names it.
    pub(crate) fn fail_step(&self, step: &str, path: &str, err: &Error) {
        let logged = Error::new(err.kind(), format!("{step}: {}", err.message()))
            .with_path(path)
            .temporary(err.is_temporary())
            .retryable(err.is_retryable());
        self.record(&logged, err.message());
    }

    fn record(&self, err: &Error, cause: &str) {
        tracing::error!("{err}");
        self.job.stats.error();
        let cause = cause.to_owned();
        self.job.stats.last_error(cause.clone(), err.is_retryable());
        if !err.is_retryable() {
            self.unretryable.fetch_add(1, Ordering::Relaxed);
        }
        *self.last_error.lock().expect("lock") = Some((err.kind(), err.is_temporary(), cause));
        self.observe(
            err.path().unwrap_or(""),
            ActionKind::Error,
            0,
            Some(err.to_string()),
        );
    }

    /// The source's own name for `path`, where the source shows it under another
    /// (copyto's new name, `--name-transform`'s): rclone names a file by it in log lines.
    pub(crate) fn src_name(&self, path: &RelPath) -> String {
        match self.job.src.view_of(path) {
            Some((_, real)) => real.to_string(),
            None => path.to_string(),
        }
    }

    pub(crate) fn compared(&self, path: &RelPath, how: crate::Standing) {
        self.job.observer.compared(path.as_str(), how);
    }

    pub(crate) fn observe(&self, path: &str, kind: ActionKind, size: u64, error: Option<String>) {
        self.job.observer.action(&Action {
            path: path.to_owned(),
            kind,
            size,
            error,
        });
    }

    /// Makes the destination root before the first write into it: as rclone, a run that
    /// writes nothing (an empty source, nothing within `--max-depth`) leaves a missing
    /// destination missing.
    pub(crate) async fn dst_root_ready(&self) -> Result<()> {
        self.root_made
            .get_or_try_init(|| async { self.job.dst.mkdir(&RelPath::root()).await })
            .await
            .map(|_| ())
    }

    pub(crate) fn touched(&self, path: &RelPath) {
        if let Some(parent) = path.parent() {
            self.dirty.lock().expect("lock").insert(parent);
        }
    }

    /// Asks before a destructive step under `--interactive`; `true` means go ahead.
    pub(crate) fn confirm(&self, operation: &str, path: &RelPath) -> bool {
        let Some(confirm) = &self.job.confirm else {
            return true;
        };
        match confirm.confirm(operation, path.as_str()) {
            crate::Answer::Yes => true,
            crate::Answer::No => false,
            crate::Answer::Quit => {
                self.limits.trip(Tripped::Quit);
                false
            }
        }
    }

    fn comparer(&self) -> Comparer<'_> {
        let (src, dst) = (&*self.job.src, &*self.job.dst);
        Comparer {
            opts: &self.job.opts.compare,
            src,
            dst,
            // Asked afresh: a backend may learn mid-run that it keeps no times (SFTP gateways).
            window: modify_window(&self.job.opts.compare, src, dst),
            hash: self.hash,
            journal: self.journal.as_ref(),
        }
    }
}

/// Runs a job, retrying the whole run up to `retries` times while errors remain.
pub async fn run(job: Job, retries: u32, retries_sleep: Duration) -> Result<Outcome> {
    if !preflight(&job).await? || move_whole_tree(&job).await? {
        return Ok(Outcome::default());
    }
    if !job.opts.dry_run {
        job.dst.prepare_write().await;
    }
    let ctx = Arc::new(new_ctx(job));
    let _timetable = ctx.job.opts.bwlimit_schedule.clone().map(|s| {
        crate::limits::follow(
            ctx.limits.clone(),
            s,
            ctx.job.opts.bwlimit,
            Duration::from_secs(20),
        )
    });
    let attempts = retries.max(1);
    let mut outcome = Outcome::default();
    for attempt in 1..=attempts {
        outcome = run_once(&ctx).await?;
        if outcome.errors == 0 || outcome.stop.is_some() || attempt == attempts {
            break;
        }
        // The refusal to delete only follows from the other errors: it retries with them.
        let consequences = u64::from(ctx.not_deleting.load(Ordering::Relaxed));
        if ctx.unretryable.load(Ordering::Relaxed) >= outcome.errors - consequences {
            tracing::error!("Can't retry any of the errors - not attempting retries");
            break;
        }
        let last = outcome
            .last_error
            .as_ref()
            .map(|e| e.2.clone())
            .unwrap_or_default();
        tracing::error!(
            "Attempt {attempt}/{attempts} failed with {} errors and: {last}",
            outcome.errors
        );
        // The next attempt's counters are the run's: a retry that succeeds shows its own
        // totals, not 69% of two attempts' queues added up.
        ctx.job.stats.reset_for_retry();
        ctx.unretryable.store(0, Ordering::Relaxed);
        *ctx.last_error.lock().expect("lock") = None;
        ctx.not_deleting.store(false, Ordering::Relaxed);
        tokio::time::sleep(retries_sleep).await;
    }
    Ok(outcome)
}

/// Whether this run tracks renames, saying why not where the user asked.
fn track_renames(job: &Job, hash: Option<HashKind>) -> Option<crate::renames::Pending> {
    let strategy = job.opts.track_renames?;
    let dst = job.dst.describe();
    if job.mode != Mode::Sync {
        tracing::error!(
            "{dst}: Ignoring --track-renames as it doesn't work with copy or move, only sync"
        );
        return None;
    }
    if strategy.hash && hash.is_none() {
        tracing::error!("{dst}: Ignoring --track-renames as the source and destination have no hash in common (try --track-renames-strategy modtime or leaf)");
        return None;
    }
    Some(crate::renames::Pending {
        strategy,
        ..Default::default()
    })
}

fn new_ctx(job: Job) -> Ctx {
    let o = &job.opts;
    let limits = Limits::new(
        o.max_transfer,
        o.max_duration,
        o.cutoff_mode,
        o.bwlimit,
        o.bwlimit_schedule.is_some(),
    )
    .per_file(o.bwlimit_file)
    .stopped_by(o.stop.clone());
    let window = modify_window(&o.compare, &*job.src, &*job.dst);
    let hash = job
        .src
        .features()
        .semantics
        .hashes
        .intersect(job.dst.features().semantics.hashes)
        .preferred();
    let renames = track_renames(&job, hash);
    let journal = (o.journal.as_ref()).map(|file| {
        crate::journal::Journal::new(file, &job.src.location(), &job.dst.location())
            .settle(o.journal_settle)
    });
    if o.compare.checksum && hash.is_none() {
        tracing::warn!(
            "{}: --checksum is in use but the source and destination have no hashes in common; falling back to --size-only",
            job.dst.describe()
        );
    }
    Ctx {
        job,
        limits: Arc::new(limits),
        window,
        hash,
        last_error: Mutex::new(None),
        unretryable: AtomicU64::new(0),
        to_delete: Mutex::new(Vec::new()),
        dirs: Mutex::new(Vec::new()),
        excluded_dirs: Mutex::new(HashSet::new()),
        dirty: Mutex::new(HashSet::new()),
        deletes: Default::default(),
        not_deleting: Default::default(),
        root_made: tokio::sync::OnceCell::new(),
        renames,
        journal,
    }
}

/// rclone's server-side directory move: a move with no filter, no dry run, no
/// questions and no directories to keep (a shard's), to a destination that doesn't exist yet, is one rename where the
/// destination can make it; the source is then gone, as rclone's `move` documents.
async fn move_whole_tree(job: &Job) -> Result<bool> {
    // A source shown under other names (--name-transform) moves file by file, each to
    // its new name.
    if job.mode != Mode::Move
        || job.src_file.is_some()
        || job.src.view_of(&RelPath::root()).is_some()
        || job.select.is_active()
        || job.opts.keep_dirs
        || job.confirm.is_some()
    {
        return Ok(false);
    }
    if job.opts.dry_run {
        // Where the tree could go by one rename (both sides on this machine's file
        // system), rclone's dry run stops at saying so.
        let root = RelPath::root();
        let renamable = job.src.local_path(&root).is_some() && job.dst.local_path(&root).is_some();
        if renamable {
            tracing::warn!(
                "{}: Skipped server-side directory move as --dry-run is set",
                job.dst.describe()
            );
        }
        return Ok(renamable);
    }
    let moved = job.dst.move_tree_from(&*job.src).await?;
    let root = RelPath::root();
    if moved {
        tracing::info!(
            "{}: Server side directory move succeeded",
            job.dst.describe()
        );
    } else if job.src.local_path(&root).is_some()
        && job.dst.local_path(&root).is_some()
        && job.dst.stat(&root).await.ok().flatten().is_some()
    {
        // rclone tries the rename into an existing directory too, and says why it
        // moves file by file instead.
        tracing::info!(
            "{}: Server side directory move failed - fallback to file moves: can't copy directory - destination already exists",
            job.dst.describe()
        );
    }
    Ok(moved)
}

/// The checks that refuse a run before anything is touched. `Ok(false)`: nothing to do.
async fn preflight(job: &Job) -> Result<bool> {
    let (s, d) = (job.src.location(), job.dst.location());
    // A move into itself too (rclone's MoveDir); a sync into itself is an overlap below.
    // In place (`convmv`) the source is the destination, by design.
    let in_place = job.opts.in_place;
    if job.src_file.is_none() && job.mode != Mode::Sync && s == d && !in_place {
        // As rclone: said as an error, but the run succeeds (exit 0).
        tracing::error!(
            "{}: Nothing to do as source and destination are the same",
            job.dst.describe()
        );
        return Ok(false);
    }
    // A copy may overlap (rclone copies into a directory below its source); a sync or
    // move would delete or move what it is reading.
    if job.src_file.is_none() && job.mode != Mode::Copy && s.overlaps(&d) && !in_place {
        let excluded = s
            .relative(&d)
            .is_some_and(|rel| !rel.is_root() && !job.select.include_dir(rel.as_str()));
        if !excluded {
            return Err(Error::new(
                ErrorKind::Refused,
                "can't sync or move files on overlapping remotes (try excluding the destination with a filter rule)",
            ));
        }
    }
    if job.mode == Mode::Sync
        && job.opts.track_renames.is_some()
        && job.opts.delete_mode == DeleteMode::Before
    {
        return Err(Error::new(
            ErrorKind::Refused,
            "can't use --delete-before with --track-renames",
        ));
    }
    // --copy-dest copies on the server, as rclone's: a destination that can't (the local
    // disk among them) is refused, as rclone refuses it.
    let copy_dest = job.alt_dests.as_ref().map(|a| a.kind) == Some(crate::AltKind::Copy);
    if copy_dest && !job.dst.features().caps.server_side_copy() {
        return Err(Error::new(
            ErrorKind::Refused,
            "can't use --copy-dest on a remote which doesn't support server side copy",
        ));
    }
    if let Some(b) = &job.backup {
        backup::check_location(b, &*job.dst, &*job.src, &*job.select)?;
    }
    // A missing source must fail before anything (even the destination root) is created.
    // Where directories are key prefixes a missing one is empty: the march's listing of
    // the root fails only for a missing bucket, before anything is written.
    if job.src_file.is_none()
        && !job.src.features().semantics.bucket_dirs
        && job.src.stat(&RelPath::root()).await?.is_none()
    {
        // rclone's two lines: the root named at ERROR (shown under -q too), the cause in
        // the closing one.
        tracing::error!(
            "{}: error reading source root directory: directory not found",
            job.src.describe()
        );
        return Err(Error::new(ErrorKind::DirNotFound, "directory not found"));
    }
    Ok(true)
}

/// Whether the user let a batch of deletes go ahead (always, unless asked to approve).
fn approved(ctx: &Ctx, count: usize) -> bool {
    let Some(approve) = &ctx.job.approve_deletes else {
        return true;
    };
    if count == 0 || ctx.job.opts.dry_run || approve.approve(count) {
        return true;
    }
    tracing::warn!(
        "Not deleting {count} files from the destination: the deletion was not confirmed"
    );
    false
}

async fn run_once(ctx: &Arc<Ctx>) -> Result<Outcome> {
    let sync = ctx.job.mode == Mode::Sync;
    ctx.to_delete.lock().expect("lock").clear();
    ctx.dirs.lock().expect("lock").clear();
    if sync && ctx.job.opts.delete_mode == DeleteMode::Before {
        pass(ctx, Pass::DeletesOnly).await?;
    }
    pass(ctx, Pass::Main).await?;
    if let Some(pending) = &ctx.renames {
        crate::renames::resolve(ctx, pending).await;
        ctx.job.stats.set_totals_final();
    }
    if sync && ctx.job.opts.delete_mode == DeleteMode::After {
        let list = std::mem::take(&mut *ctx.to_delete.lock().expect("lock"));
        if deletes_allowed(ctx, "files") && approved(ctx, list.len()) {
            deletes::delete_files(ctx, list).await;
        }
    }
    finish_dirs(ctx).await;
    let tripped = ctx.limits.tripped();
    let mut stop = match tripped {
        Tripped::MaxTransfer => Some(StopReason::MaxTransfer),
        Tripped::MaxDuration => Some(StopReason::MaxDuration),
        Tripped::Quit => Some(StopReason::Quit),
        Tripped::Stopped => Some(StopReason::Stopped),
        Tripped::None => None,
    };
    if let Some(limit) = deletes::limit_reached(ctx) {
        stop = Some(limit);
    }
    Ok(Outcome {
        errors: ctx.job.stats.errors(),
        transfers: ctx.job.stats.transfers(),
        stop,
        last_error: ctx.last_error.lock().expect("lock").clone(),
    })
}

/// rclone's rule: no deletes at the destination once anything failed. The refusal is
/// itself an error of the run, counted once and reported last (exit 1, or 5 when the
/// failure before it was temporary), as rclone's.
pub(crate) fn deletes_allowed(ctx: &Ctx, what: &str) -> bool {
    if ctx.job.stats.errors() == 0 || ctx.job.opts.ignore_errors {
        // A stop asked from outside deletes nothing more: the run may not have seen
        // everything the source holds.
        ctx.limits.stopping();
        return !matches!(
            ctx.limits.tripped(),
            Tripped::Quit | Tripped::MaxTransfer | Tripped::Stopped
        );
    }
    let message = format!("not deleting {what} as there were IO errors");
    tracing::error!("{}: {message}", ctx.job.dst.describe());
    // After a refusal by a rule the user set (`--immutable`), rclone keeps that as the
    // run's error (exit 6), and the deletes withheld only follow from it.
    let refused = ctx
        .last_error
        .lock()
        .expect("lock")
        .as_ref()
        .is_some_and(|e| e.0 == ErrorKind::Refused);
    if refused {
        return false;
    }
    let first = !ctx
        .not_deleting
        .swap(true, std::sync::atomic::Ordering::Relaxed);
    if first {
        ctx.job.stats.error();
        ctx.job.stats.last_error(message.clone(), true);
        // The refusal only follows from the failures before it: after a temporary one
        // (a dropped connection, a server that stopped answering) the run is still a
        // temporary failure, exit 5 as rclone's, not an uncategorised one.
        let mut last = ctx.last_error.lock().expect("lock");
        let temporary = last.as_ref().is_some_and(|e| e.1);
        *last = Some((ErrorKind::Io, temporary, message));
    }
    false
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    Main,
    DeletesOnly,
}

/// One march over both trees, with checkers and transfer workers behind it.
async fn pass(ctx: &Arc<Ctx>, which: Pass) -> Result<()> {
    let o = &ctx.job.opts;
    let dst_ci = ctx.job.dst.features().semantics.case_insensitive;
    let cfg = Arc::new(MarchConfig {
        src: ctx.job.src.clone(),
        dst: ctx.job.dst.clone(),
        select: ctx.job.select.clone(),
        stats: ctx.job.stats.clone(),
        normalize: !o.no_unicode_normalization,
        ignore_case: o.ignore_case_sync || dst_ci,
        only_name: ctx.job.src_file.clone(),
        descend_dst_only: ctx.job.mode == Mode::Sync || o.list_dst_only,
        keep_excluded_dst: ctx.job.mode == Mode::Sync && o.delete_excluded,
        list_dst: !(o.no_check_dest && ctx.job.mode != Mode::Sync),
        width: o.checkers,
        fix_case: case_fixer(ctx).filter(|_| which == Pass::Main),
        hashes: ctx
            .hash
            .filter(|_| o.compare.checksum || o.compare.hash_required),
        list_tries: o.low_level_retries,
    });
    let check_first = o.check_first && which == Pass::Main;
    let (found_tx, found_rx) = mpsc::channel::<Found>(o.checkers * 64);
    // Under --check-first the queue holds the whole plan (up to PLAN_BOUND files) while
    // the transfers wait for the gate; otherwise a short queue keeps listing and checks
    // just ahead of the transfers.
    let depth = if check_first {
        PLAN_BOUND
    } else {
        o.transfers * 4
    };
    let (xfer_tx, xfer_rx) = mpsc::channel::<Queued>(depth);
    let (gate, _) = tokio::sync::watch::channel(!check_first);
    let gate = Arc::new(gate);
    if check_first {
        tracing::info!(
            "{}: Running all checks before starting transfers",
            ctx.job.dst.describe()
        );
    }
    let found_rx = Arc::new(tokio::sync::Mutex::new(found_rx));
    let xfer_rx = Arc::new(tokio::sync::Mutex::new(xfer_rx));
    let mut checkers = tokio::task::JoinSet::new();
    for _ in 0..o.checkers.max(1) {
        let (ctx, rx, tx, gate) = (ctx.clone(), found_rx.clone(), xfer_tx.clone(), gate.clone());
        checkers.spawn(async move {
            while let Some(item) = next(&rx).await {
                handle(
                    &ctx,
                    item,
                    &Sender {
                        tx: &tx,
                        gate: &gate,
                    },
                    which,
                )
                .await;
            }
        });
    }
    drop(xfer_tx);
    let mut transfers = tokio::task::JoinSet::new();
    for _ in 0..o.transfers.max(1) {
        let (ctx, rx, mut gate) = (ctx.clone(), xfer_rx.clone(), gate.subscribe());
        transfers.spawn(async move {
            // The gate never closes again once open; a dropped sender also lets them go.
            let _ = gate.wait_for(|open| *open).await;
            while let Some(q) = next(&rx).await {
                transfer::transfer(&ctx, q).await;
            }
        });
    }
    let marched = march(cfg, found_tx).await;
    if which == Pass::Main {
        ctx.job.stats.set_listing_done();
    }
    join_all(ctx, &mut checkers).await;
    // Every check is done: nothing more is queued in this pass (held-back renames are
    // decided after it, so their totals are final only then).
    if which == Pass::Main && ctx.renames.is_none() {
        ctx.job.stats.set_totals_final();
    }
    if check_first && !*gate.borrow() {
        tracing::info!(
            "{}: Checks finished, now starting transfers",
            ctx.job.dst.describe()
        );
    }
    gate.send_replace(true);
    join_all(ctx, &mut transfers).await;
    marched.map_err(|e| match e.kind() {
        ErrorKind::DirNotFound | ErrorKind::NotFound => Error::new(
            ErrorKind::DirNotFound,
            format!("directory not found: {}", ctx.job.src.describe()),
        ),
        _ => e,
    })
}

/// The most transfers `--check-first` plans before any starts: about a few hundred bytes
/// each (two entries), so a few hundred MB at most. Past it transfers start, and the
/// totals are no longer final from the first one.
pub(crate) const PLAN_BOUND: usize = 1_000_000;

/// Where checkers queue transfers, and the gate that holds them under `--check-first`.
pub(crate) struct Sender<'a> {
    pub tx: &'a mpsc::Sender<Queued>,
    pub gate: &'a tokio::sync::watch::Sender<bool>,
}

async fn join_all(ctx: &Arc<Ctx>, set: &mut tokio::task::JoinSet<()>) {
    while let Some(res) = set.join_next().await {
        if let Err(e) = res {
            ctx.fail(&Error::new(ErrorKind::Io, format!("worker failed: {e}")));
        }
    }
}

pub(crate) async fn next<T>(rx: &tokio::sync::Mutex<mpsc::Receiver<T>>) -> Option<T> {
    rx.lock().await.recv().await
}

/// What a checker does with one thing the march found.
async fn handle(ctx: &Arc<Ctx>, item: Found, xfer: &Sender<'_>, which: Pass) {
    let sync = ctx.job.mode == Mode::Sync;
    // --track-renames: files only one side has wait until the march is done.
    let item = match ctx.renames.as_ref().filter(|_| which == Pass::Main) {
        Some(pending) => match pending.hold(item) {
            Some(item) => item,
            None => return,
        },
        None => item,
    };
    match item {
        Found::Error(e) => ctx.fail(&e),
        Found::Dir { path, src, dst } => {
            if which == Pass::Main {
                on_dir(ctx, path, src, dst).await;
            }
        }
        // Excluded after all: its time is not the run's to set.
        Found::Excluded(path) => {
            ctx.excluded_dirs.lock().expect("lock").insert(path);
        }
        Found::File {
            src: None,
            dst: Some(dst),
        } if sync => {
            let mode = ctx.job.opts.delete_mode;
            // Reported by the pass that deletes it (a --delete-before run's main pass
            // no longer finds it).
            if which == Pass::DeletesOnly || mode != DeleteMode::Before {
                ctx.compared(&dst.path, crate::Standing::MissingOnSrc);
            }
            match (which, mode) {
                (Pass::DeletesOnly, _) | (Pass::Main, DeleteMode::During) => {
                    if deletes_allowed(ctx, "files") {
                        deletes::delete_files(ctx, vec![dst]).await;
                    }
                }
                (Pass::Main, DeleteMode::After) => ctx.to_delete.lock().expect("lock").push(dst),
                (Pass::Main, DeleteMode::Before) => {}
            }
        }
        Found::File {
            src: Some(src),
            dst,
        } if which == Pass::Main => {
            check_file(ctx, src, dst, xfer).await;
        }
        Found::File {
            src: None,
            dst: Some(dst),
        } if which == Pass::Main => ctx.compared(&dst.path, crate::Standing::MissingOnSrc),
        Found::File { .. } => {}
    }
}

async fn check_file(ctx: &Arc<Ctx>, mut src: Entry, dst: Option<Entry>, xfer: &Sender<'_>) {
    let Some(mut existing) = dst else {
        ctx.compared(&src.path, crate::Standing::MissingOnDst);
        return send(ctx, src, None, xfer).await;
    };
    if existing.path != src.path {
        if let Some(fixer) = case_fixer(ctx) {
            existing = match fixer.file(existing, &src.path).await {
                Ok(renamed) => renamed,
                Err(e) => return ctx.fail(&e),
            };
        }
    }
    // rclone copies a single named file without a check of its stats (no "Checks:" line).
    let counted = ctx.job.src_file.is_none();
    if counted {
        ctx.job.stats.queue_check();
    }
    let decision = ctx.comparer().decide(&mut src, &mut existing).await;
    if counted {
        ctx.job.stats.check_done();
    }
    let decision = match decision {
        Ok(d) => d,
        Err(e) => return ctx.fail(&e),
    };
    let how = match decision {
        Decision::Transfer => crate::Standing::Differ,
        Decision::FixModtime | Decision::Equal | Decision::Skip => crate::Standing::Match,
    };
    ctx.compared(&src.path, how);
    let immutable = ctx.job.opts.compare.immutable;
    match decision {
        Decision::Transfer | Decision::FixModtime if immutable => {
            // As rclone's: a retry would find the same files, so none is attempted.
            let refused = |msg: &str| Error::new(ErrorKind::Refused, msg).retryable(false);
            match decision {
                Decision::FixModtime => ctx.fail(
                    &refused("Timestamp mismatch between immutable objects")
                        .with_path(src.path.to_string()),
                ),
                _ => ctx.fail_step(
                    "Source and destination exist but do not match",
                    src.path.as_str(),
                    &refused("immutable file modified"),
                ),
            }
        }
        // A file can't be moved onto itself (`convmv` of a name that stays, asked to
        // transfer anyway by --ignore-times): a server-side copy over itself and a
        // delete would lose it.
        Decision::Transfer
            if ctx.job.mode == Mode::Move
                && transfer::is_destination_file(ctx, &src, &existing.path).unwrap_or(false) =>
        {
            transfer::after_equal(ctx, &src, &existing.path).await
        }
        Decision::Transfer => send(ctx, src, Some(existing), xfer).await,
        Decision::FixModtime => {
            transfer::fix_modtime(ctx, &src, &existing.path).await;
            transfer::after_equal(ctx, &src, &existing.path).await;
        }
        Decision::Equal => transfer::after_equal(ctx, &src, &existing.path).await,
        Decision::Skip => {
            if !ctx.job.opts.compare.ignore_existing {
                transfer::after_equal(ctx, &src, &existing.path).await;
            }
        }
    }
}

/// `--fix-case` (never with `--immutable`, which forbids changing the destination):
/// renames destination names that match the source's only with case ignored.
fn case_fixer(ctx: &Ctx) -> Option<crate::fixcase::CaseFixer> {
    let o = &ctx.job.opts;
    (o.fix_case && !o.compare.immutable).then(|| crate::fixcase::CaseFixer {
        dst: ctx.job.dst.clone(),
        dry_run: o.dry_run,
        stats: ctx.job.stats.clone(),
    })
}

/// A file to transfer: from the source, or from a `--copy-dest` directory.
pub(crate) struct Queued {
    pub src: Entry,
    pub dst: Option<Entry>,
    /// Where the bytes come from when not the source (`--copy-dest`).
    pub from: Option<Arc<dyn Backend>>,
}

/// Queues a transfer, unless a `--compare-dest` directory spares it.
pub(crate) async fn send(ctx: &Arc<Ctx>, mut src: Entry, dst: Option<Entry>, xfer: &Sender<'_>) {
    let from = match altdest::consult(ctx, &mut src).await {
        // As rclone: a move deletes the source only when the destination had the file.
        Consulted::Spared => {
            if let Some(d) = &dst {
                transfer::after_equal(ctx, &src, &d.path).await;
            }
            return;
        }
        Consulted::CopyFrom(dir) => Some(dir),
        Consulted::NotFound => None,
    };
    ctx.job.stats.queue_transfer(src.size);
    if xfer.tx.capacity() == 0 && !*xfer.gate.borrow() {
        tracing::warn!(
            "--check-first: more than {PLAN_BOUND} files to transfer; starting transfers before the checks end, so the totals are not final yet"
        );
        xfer.gate.send_replace(true);
    }
    let _ = xfer.tx.send(Queued { src, dst, from }).await;
}

async fn on_dir(ctx: &Arc<Ctx>, path: RelPath, src: Option<Entry>, dst: Option<Entry>) {
    let o = &ctx.job.opts;
    if src.is_some()
        && dst.is_none()
        && o.create_empty_src_dirs
        && ctx.job.dst.features().semantics.empty_dirs
    {
        if o.dry_run {
            tracing::warn!("{path}: Skipped make directory as --dry-run is set");
        } else if let Err(e) = ctx.dst_root_ready().await {
            ctx.fail(&e);
        } else if let Err(e) = ctx.job.dst.mkdir(&path).await {
            ctx.fail(&e);
        } else {
            ctx.touched(&path);
        }
    }
    ctx.dirs.lock().expect("lock").push(DirRecord {
        path,
        src_mtime: src.map(|e| e.mtime),
        dst_size: dst.as_ref().and_then(|e| e.dir_size),
        dst_mtime: dst.map(|e| e.mtime),
    });
}

/// After files: remove directories only the destination has (sync), empty source
/// directories (move with `--delete-empty-src-dirs`), and set directory mtimes.
async fn finish_dirs(ctx: &Arc<Ctx>) {
    let mut dirs = std::mem::take(&mut *ctx.dirs.lock().expect("lock"));
    let excluded = std::mem::take(&mut *ctx.excluded_dirs.lock().expect("lock"));
    dirs.retain(|d| !excluded.contains(&d.path));
    // Deepest first, so children go (or get their mtime) before their parents.
    dirs.sort_by(|a, b| {
        b.path
            .depth()
            .cmp(&a.path.depth())
            .then_with(|| b.path.cmp(&a.path))
    });
    let keep_dirs = ctx.job.opts.keep_dirs;
    if ctx.job.mode == Mode::Sync && !keep_dirs {
        let extra: Vec<RelPath> = dirs
            .iter()
            .filter(|d| d.src_mtime.is_none() && d.dst_mtime.is_some())
            .map(|d| d.path.clone())
            .collect();
        if !extra.is_empty() && deletes_allowed(ctx, "directories") {
            deletes::remove_dirs(ctx, &extra).await;
        }
    }
    if ctx.job.mode == Mode::Move
        && ctx.job.opts.delete_empty_src_dirs
        && !ctx.job.opts.dry_run
        && !keep_dirs
    {
        for d in dirs.iter().filter(|d| d.src_mtime.is_some()) {
            if ctx.job.src.rmdir(&d.path).await.is_ok() {
                tracing::info!("{}: Removing directory", ctx.src_name(&d.path));
                ctx.job.stats.deleted_dir();
            }
        }
        // The source root stays, as in rclone (only its server-side directory move,
        // `move_whole_tree`, takes the root along).
    }
    set_dir_modtimes(ctx, &dirs).await;
}

/// Gives destination directories their source mtimes, after their contents changed.
async fn set_dir_modtimes(ctx: &Arc<Ctx>, dirs: &[DirRecord]) {
    let o = &ctx.job.opts;
    let caps = &ctx.job.dst.features().caps;
    if o.no_update_dir_modtime || !caps.set_dir_modtime {
        return;
    }
    let mut dirty = std::mem::take(&mut *ctx.dirty.lock().expect("lock"));
    let window = ctx.window.unwrap_or(Duration::from_secs(1));
    // A directory created during the run changed its parent too (dirs run deepest first).
    for d in dirs {
        if d.dst_mtime.is_none() && d.src_mtime.is_some() {
            if let Some(parent) = d.path.parent() {
                dirty.insert(parent);
            }
        }
    }
    for d in dirs {
        let Some(mtime) = d.src_mtime else { continue };
        let differs = d.dst_mtime.is_none_or(|t| abs_diff(t, mtime) >= window);
        if !differs && !dirty.contains(&d.path) {
            continue;
        }
        // In place (`convmv`), a directory that was there already keeps the time the
        // renames into it give it, as rclone leaves it; only one the renames made gets
        // its source's.
        if o.in_place && d.dst_mtime.is_some() {
            continue;
        }
        if o.dry_run {
            let size = d
                .dst_size
                .map(|n| format!(" (size {})", size_suffix(n)))
                .unwrap_or_default();
            tracing::warn!(
                "{}: Skipped set directory modification time as --dry-run is set{size}",
                d.path
            );
            continue;
        }
        // rclone's words for how: through the listed directory, or by its path.
        let how = match d.dst_mtime.is_some() && caps.listed_dir_modtime {
            true => "SetModTime",
            false => "DirSetModTime",
        };
        match ctx.job.dst.set_modtime(&d.path, mtime).await {
            Ok(()) => tracing::info!("{}: Set directory modification time (using {how})", d.path),
            Err(e) => tracing::debug!("{}: directory modification time not set: {e}", d.path),
        }
    }
}

pub(crate) fn abs_diff(a: SystemTime, b: SystemTime) -> Duration {
    match a.duration_since(b) {
        Ok(d) => d,
        Err(e) => e.duration(),
    }
}

//! ferry's two-way sync (`ferry bisync`), compatible with rclone's bisync in flags and
//! outcomes, and built to recover by itself.
//!
//! A run lists both sides, compares each with the listing saved after the last
//! successful run, and propagates new, changed and deleted files both ways, settling
//! files changed on both sides as conflicts. Before it changes anything it writes its
//! plan to a journal; the state (both listings) is replaced atomically only at the end.
//! A run killed at any moment is completed by the next run: each planned step checks
//! what is actually there, so nothing is redone wrongly, resurrected, or lost.
//!
//! Nothing here knows about terminals or flags: the binary turns arguments into
//! [`Options`], backends and a filter selection, and prints the [`Report`].

mod ctx;
mod exec;
mod journal;
mod listing;
mod lock;
mod names;
mod plan;
mod rclone_lst;
mod state;
mod types;

#[cfg(test)]
mod fuzz_tests;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ferry_core::{Backend, ErrorKind, Location};
use ferry_engine::Select;
use serde::Serialize;

pub use names::{
    apply_time_globs, canonical, conflict_suffixes, session_for, session_name, suffix_name,
};
pub use plan::{Change, Decision};
pub use types::{CheckSync, CompareSpec, Loser, Options, Prefer, Rec, Side};

use crate::ctx::Ctx;
use crate::exec::{crash_point, Outcome};
use crate::journal::{Kind, Plan};
use crate::listing::{is_unknown, Listing, Scan, ScanConfig};
use crate::plan::{Inputs, Planned};
use crate::state::{LoadError, State};

/// How a run ended. The binary turns it into an exit code (rclone's bisync: 0, 1, 2, 7);
/// the library neither exits nor knows the numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    #[default]
    Success,
    /// A non-critical failure: some files were not synced; the next run retries them.
    Failed,
    /// The arguments or options can't work together.
    Usage,
    /// A critical abort: nothing (more) was changed, and a person should look.
    Critical,
}

/// The two paths.
pub struct Pair {
    pub path1: Arc<dyn Backend>,
    pub path2: Arc<dyn Backend>,
    /// The paths as the state names them (absolute for local paths, `remote:path` else),
    /// secret-free: they are logged, reported and saved in the state.
    pub name1: String,
    pub name2: String,
    /// True when either argument held a secret (its name then has it replaced by `***`):
    /// the pair's files get a hashed name (see [`session_for`]).
    pub secret: bool,
    /// The name an older ferry gave this pair's files when it differs (it held the
    /// secret): its state is moved to the new name.
    pub legacy_session: Option<String>,
    /// `--backup-dir1` and `--backup-dir2`.
    pub backup1: Option<Arc<dyn Backend>>,
    pub backup2: Option<Arc<dyn Backend>>,
}

/// What a run did: every decision, and how it ended.
#[derive(Serialize, Debug, Default)]
pub struct Report {
    pub path1: String,
    pub path2: String,
    pub session: String,
    /// `sync`, `resync` or `check-sync`.
    pub mode: String,
    pub dry_run: bool,
    /// Steps of an interrupted run that this run completed first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recovered: Vec<Decision>,
    pub decisions: Vec<Decision>,
    pub errors: Vec<String>,
    pub ending: Ending,
    /// The final word: why the run stopped, or that it succeeded.
    pub message: String,
}

impl Report {
    fn abort(mut self, ending: Ending, message: impl Into<String>) -> Report {
        self.ending = ending;
        self.message = message.into();
        self
    }
}

/// Runs one bisync.
pub async fn run(pair: &Pair, select: Arc<dyn Select>, opts: Options) -> Report {
    let session = session_for(&pair.name1, &pair.name2, pair.secret);
    let resync = opts.resync || opts.resync_mode != Prefer::None;
    let report = Report {
        path1: pair.name1.clone(),
        path2: pair.name2.clone(),
        session: session.clone(),
        mode: if opts.check_sync == CheckSync::Only {
            "check-sync"
        } else if resync {
            "resync"
        } else {
            "sync"
        }
        .into(),
        dry_run: opts.dry_run,
        ..Default::default()
    };
    let suffixes = match conflict_suffixes(&opts.conflict_suffix, chrono::Local::now()) {
        Ok(s) => s,
        Err(e) => return report.abort(Ending::Usage, e),
    };
    if let Err(e) = ferry_core::private::create_dir_all(&opts.workdir) {
        return report.abort(
            Ending::Critical,
            format!("failed to create workdir {}: {e}", opts.workdir.display()),
        );
    }
    if opts.workdir == default_workdir() {
        // ferry's own directories; an older ferry made them 0755.
        ferry_core::private::tighten_dir(&opts.workdir);
        if let Some(parent) = opts
            .workdir
            .parent()
            .filter(|_| !ferry_core::private::cache_dir_given())
        {
            ferry_core::private::tighten_dir(parent);
        }
    }
    let mut base = opts.workdir.join(&session);
    if let Some(old) = pair.legacy_session.as_deref().filter(|o| *o != session) {
        base = adopt_legacy_state(&opts.workdir.join(old), base, opts.dry_run);
    }
    let ctx = Ctx::new(
        pair.path1.clone(),
        pair.path2.clone(),
        pair.backup1.clone(),
        pair.backup2.clone(),
        opts,
        suffixes,
    );
    if let Err(msg) = overlap_check(&ctx, &*select) {
        return report.abort(Ending::Critical, msg);
    }
    let _lock = if ctx.opts.dry_run {
        None
    } else {
        match lock::acquire(
            &state::with_suffix(&base, ".lck"),
            &session,
            ctx.opts.max_lock,
        ) {
            Ok(l) => Some(l),
            Err(e) => return report.abort(Ending::Failed, e),
        }
    };
    // A pair rclone kept in sync (and ferry never saw) is taken over from rclone's
    // listings: in the work directory, or rclone's own. Names holding a secret are
    // never looked up (rclone would have written the secret into them).
    let rclone_bases = if pair.secret {
        Vec::new()
    } else {
        let name = names::session_name(&pair.name1, &pair.name2);
        let mut v = vec![ctx.opts.workdir.join(&name)];
        v.extend(rclone_lst::default_workdir().map(|d| d.join(&name)));
        v.dedup();
        v
    };
    let run = Run {
        ctx: &ctx,
        select,
        base,
        rclone_bases,
        report,
    };
    run.go(resync).await
}

/// State saved by an older ferry under a name that held a secret: moved to `base` (or,
/// in a dry run, read where it is). Returns the base to use.
fn adopt_legacy_state(old: &Path, base: PathBuf, dry_run: bool) -> PathBuf {
    const FILES: [&str; 3] = [".state.json", ".journal", ".journal-done"];
    let exists = |b: &Path, suffix: &str| state::with_suffix(b, suffix).exists();
    if FILES.iter().any(|f| exists(&base, f)) || !FILES.iter().any(|f| exists(old, f)) {
        return base;
    }
    if dry_run {
        return old.to_path_buf();
    }
    for f in FILES {
        let from = state::with_suffix(old, f);
        if from.exists() {
            if let Err(e) = std::fs::rename(&from, state::with_suffix(&base, f)) {
                tracing::warn!(
                    "can't move the saved state to its new name: {e}; using it where it is"
                );
                return old.to_path_buf();
            }
        }
    }
    let _ = std::fs::remove_file(state::with_suffix(old, ".lck"));
    state::sync_dir(&base);
    tracing::info!(
        "Moved this pair's saved state to {}: its old name held a secret",
        state::state_path(&base).display()
    );
    base
}

fn overlap_check(ctx: &Ctx, select: &dyn Select) -> Result<(), String> {
    let excluded = |outer: &Location, inner: &Location| {
        outer
            .relative(inner)
            .is_some_and(|rel| !rel.is_root() && !select.include_dir(rel.as_str()))
    };
    let (l1, l2) = (ctx.b1.location(), ctx.b2.location());
    if l1.overlaps(&l2) && !excluded(&l1, &l2) && !excluded(&l2, &l1) {
        return Err(
            "Overlapping paths detected. Cannot bisync between paths that overlap, unless excluded by filters.".into(),
        );
    }
    for side in [Side::One, Side::Two] {
        let Some(b) = ctx.backup(side) else { continue };
        let bl = b.location();
        let own = ctx.backend(side).location();
        if bl.overlaps(&own) && !excluded(&own, &bl) {
            return Err(format!(
                "--backup-dir{n} overlaps {}; choose a --backup-dir{n} outside it, or inside it and excluded by a filter",
                side.name(),
                n = side.num()
            ));
        }
        let other = ctx.backend(side.other()).location();
        if bl.overlaps(&other) && !excluded(&other, &bl) {
            return Err(format!(
                "--backup-dir{n} overlaps {}; choose a --backup-dir{n} outside both paths",
                side.other().name(),
                n = side.num()
            ));
        }
    }
    Ok(())
}

const RESYNC_HELP: &str = "--resync lists both paths, copies files found on only one side to the other, \
     and for files on both sides that differ keeps the --resync-mode winner (path1 by default); it deletes nothing";

struct Run<'a> {
    ctx: &'a Ctx,
    select: Arc<dyn Select>,
    base: PathBuf,
    /// Where rclone's listings of this pair may be (`DIR/SESSION`).
    rclone_bases: Vec<PathBuf>,
    report: Report,
}

impl Run<'_> {
    /// Temporary files of state or journal writes a killed run left behind (we hold the lock).
    fn remove_stale_temporaries(&self) {
        let (Some(dir), Some(stem)) = (self.base.parent(), self.base.file_name()) else {
            return;
        };
        let stem = stem.to_string_lossy().into_owned();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(rest) = name.strip_prefix(&stem) {
                if (rest.starts_with(".state.json.tmp-") || rest.starts_with(".journal.tmp-"))
                    && std::fs::remove_file(e.path()).is_ok()
                {
                    tracing::debug!("removed {name}, left by an interrupted run");
                }
            }
        }
    }

    fn state_path(&self) -> PathBuf {
        state::state_path(&self.base)
    }

    /// rclone bisync's listings of this pair, as the prior state of a first ferry run.
    fn rclone_state(&self) -> Result<Option<State>, String> {
        let (p1, p2) = (&self.report.path1, &self.report.path2);
        match rclone_lst::load(&self.rclone_bases, p1, p2) {
            Ok(Some((state, from))) => {
                tracing::warn!(
                    "No ferry state for these paths: taking over rclone bisync's listings ({} and .path2.lst); no --resync needed",
                    from.display()
                );
                Ok(Some(state))
            }
            Ok(None) => Ok(None),
            Err(why) => Err(format!(
                "Bisync critical error: rclone's listing {why}; nothing was changed. Run with --resync to start afresh: {RESYNC_HELP}"
            )),
        }
    }

    fn journal_path(&self) -> PathBuf {
        journal::journal_path(&self.base)
    }

    async fn go(mut self, resync: bool) -> Report {
        let opts = &self.ctx.opts;
        if opts.check_sync == CheckSync::Only {
            return self.check_sync_only();
        }
        if !opts.dry_run {
            self.remove_stale_temporaries();
        }
        let loaded = match journal::load(&self.journal_path()) {
            Ok(j) => j,
            Err(why) => {
                tracing::warn!(
                    "The journal {} can't be used ({why}); ignoring it: this run derives every change from the saved listings",
                    self.journal_path().display()
                );
                if !opts.dry_run {
                    let _ = journal::finish(&self.journal_path(), false);
                }
                None
            }
        };
        let state = state::load(&self.state_path());
        if resync {
            if loaded.is_some() && !opts.dry_run {
                tracing::warn!("--resync supersedes the journal of an interrupted run");
                let _ = journal::finish(&self.journal_path(), false);
            }
            let gen = state.as_ref().map(|s| s.generation).unwrap_or(0);
            let mode = match opts.resync_mode {
                Prefer::None => Prefer::Path1,
                m => m,
            };
            return self.resync(mode, gen).await;
        }
        if let Some(j) = &loaded {
            if j.header.kind == Kind::Resync {
                let gen = state.as_ref().map(|s| s.generation).unwrap_or(0);
                if j.header.base_generation == Some(gen) {
                    tracing::warn!(
                        "The last --resync (PID {}) was interrupted; completing it now",
                        j.header.pid
                    );
                    if opts.dry_run {
                        self.report.mode = "resync".into();
                    }
                    return self.resync(j.header.resync_mode, gen).await;
                }
            }
        }
        let state = match state {
            Err(LoadError::Missing) => match self.rclone_state() {
                Ok(Some(s)) => Ok(s),
                Ok(None) => Err(LoadError::Missing),
                Err(msg) => return self.report.abort(Ending::Critical, msg),
            },
            other => other,
        };
        let mut state = match state {
            Ok(s) => s,
            Err(LoadError::Missing) => {
                let msg = format!(
                    "Bisync critical error: cannot find the saved state of these paths ({}): this looks like the first run. \
                     Run with --resync first: {RESYNC_HELP}",
                    self.state_path().display()
                );
                return self.report.abort(Ending::Critical, msg);
            }
            Err(LoadError::Unusable(why)) => {
                let msg = format!(
                    "Bisync critical error: the saved state {} {why}, so changes since the last run can't be told apart. \
                     Nothing was changed. Run with --resync to rebuild it: {RESYNC_HELP}",
                    self.state_path().display()
                );
                return self.report.abort(Ending::Critical, msg);
            }
        };
        if let Some(j) = loaded {
            if j.header.kind == Kind::Sync && j.header.base_generation == Some(state.generation) {
                if opts.dry_run {
                    tracing::warn!(
                        "An interrupted run (PID {}) left a journal; the next real run completes it first. This dry run plans from the last saved state",
                        j.header.pid
                    );
                } else if let Err(r) = self.recover(&mut state, j).await {
                    return r;
                }
            } else if !opts.dry_run {
                tracing::info!("Removing a journal already applied to the saved state");
                let _ = journal::finish(&self.journal_path(), false);
            }
        }
        self.sync(state).await
    }

    async fn scan_both(&self) -> Result<(Scan, Scan), String> {
        let cfg = |side: Side| ScanConfig {
            backend: self.ctx.backend(side).clone(),
            select: self.select.clone(),
            dirs: self.ctx.opts.create_empty_src_dirs,
            hash: self.ctx.listing_hash(side),
            slow_hashes: !(self.ctx.opts.no_slow_hash || self.ctx.opts.slow_hash_sync_only),
            width: self.ctx.opts.checkers,
            normalize: self.ctx.normalize,
            ignore_case: self.ctx.ignore_case,
        };
        let (c1, c2) = (cfg(Side::One), cfg(Side::Two));
        if !self.ctx.opts.dry_run {
            // Both sides may be written: let each find out what it can do, and let its
            // listings clean up what interrupted runs left there.
            tokio::join!(
                self.ctx.backend(Side::One).prepare_write(),
                self.ctx.backend(Side::Two).prepare_write()
            );
        }
        let (s1, s2) = tokio::join!(listing::scan(&c1), listing::scan(&c2));
        let describe = |side: Side, e: ferry_core::Error| {
            let hint = if e.kind() == ErrorKind::DirNotFound {
                " (both paths must be existing directories)"
            } else {
                ""
            };
            format!(
                "Bisync critical error: can't list {} ({}): {e}{hint}. Nothing was changed; the next run retries (no --resync needed)",
                side.name(),
                self.ctx.backend(side).describe()
            )
        };
        let s1 = s1.map_err(|e| describe(Side::One, e))?;
        let s2 = s2.map_err(|e| describe(Side::Two, e))?;
        Ok((s1, s2))
    }

    /// A side that lists no files while the saved state had some is taken for a wiped or
    /// unmounted side, never for a user deleting everything: propagating it would empty
    /// the other side. As rclone, this holds even with `--force` (which only lifts the
    /// `--max-delete` percentage); only `--resync` starts over from what is there now.
    /// Files still there but not listed (hidden by a filter, unreadable) are `unknown`
    /// by now, so only a side whose every saved file is really gone counts as emptied.
    fn check_not_emptied(
        &self,
        prior: [&Listing; 2],
        now: [&Listing; 2],
        unknown: &BTreeSet<String>,
    ) -> Result<(), String> {
        let has_files = |l: &Listing| l.values().any(|r| !r.dir);
        for (side, prior, now) in [(Side::One, prior[0], now[0]), (Side::Two, prior[1], now[1])] {
            let all_gone = !prior.keys().any(|k| is_unknown(unknown, k));
            if has_files(prior) && !has_files(now) && all_gone {
                let path = if side == Side::One {
                    &self.report.path1
                } else {
                    &self.report.path2
                };
                return Err(format!(
                    "Bisync critical error: empty current {} listing {path:?}: the last run saw files there, so it is taken for a wiped or missing side, not deletions (--force does not override this). Nothing was changed. If the side was emptied on purpose, run with --resync",
                    side.name()
                ));
            }
        }
        Ok(())
    }

    fn check_access(&self, now1: &Listing, now2: &Listing) -> Result<(), String> {
        if !self.ctx.opts.check_access {
            return Ok(());
        }
        let name = &self.ctx.opts.check_filename;
        let pick = |l: &Listing| -> BTreeSet<String> {
            l.iter()
                .filter(|(_, r)| !r.dir && r.path.rsplit('/').next() == Some(name.as_str()))
                .map(|(k, _)| k.clone())
                .collect()
        };
        let (a, b) = (pick(now1), pick(now2));
        if a.is_empty() || a != b {
            for k in a.difference(&b) {
                tracing::error!(
                    "- ERROR    Access test failed: Path1 file not found in Path2 - {k}"
                );
            }
            for k in b.difference(&a) {
                tracing::error!(
                    "- ERROR    Access test failed: Path2 file not found in Path1 - {k}"
                );
            }
            return Err(format!(
                "Bisync critical error: check file check failed: Path1 count {}, Path2 count {} - {name}. \
                 Nothing was changed; the next run checks again once matching {name} files exist on both paths",
                a.len(),
                b.len()
            ));
        }
        tracing::info!("Found {} matching {name:?} files on both paths", a.len());
        Ok(())
    }

    /// Completes an interrupted run from its journal, then saves the state.
    async fn recover(&mut self, state: &mut State, j: journal::Loaded) -> Result<(), Report> {
        let ctx = self.ctx;
        tracing::warn!(
            "Completing the run interrupted at {} (PID {}): {} planned step(s), {} already done",
            j.header.created,
            j.header.pid,
            j.plan.steps.len(),
            j.done.iter().filter(|d| d.is_some()).count()
        );
        let mut outcomes: Vec<Option<Outcome>> = j
            .done
            .iter()
            .map(|d| d.clone().map(Outcome::Done))
            .collect();
        let writer = std::fs::OpenOptions::new()
            .append(true)
            .open(self.journal_path())
            .ok()
            .map(|file| Mutex::new(journal::Writer::from_file(self.journal_path(), file)));
        exec::execute(ctx, &j.plan, writer.as_ref(), &mut outcomes).await;
        let (mut l1, mut l2) = state.listings(ctx.normalize, ctx.ignore_case);
        let complete = exec::adopt(&j.plan, &outcomes, &mut l1, &mut l2);
        self.report.recovered = summarize(&j.plan, &outcomes, &complete);
        for (s, o) in j.plan.steps.iter().zip(&outcomes) {
            if let Some(Outcome::Failed(e)) = o {
                self.report.errors.push(format!("{}: {e}", s.op.describe()));
            }
        }
        state.set_listings(&l1, &l2);
        state.generation += 1;
        if let Err(e) = self.commit(state) {
            return Err(std::mem::take(&mut self.report).abort(
                Ending::Critical,
                format!("Bisync critical error: can't save the state: {e}. The journal is kept; the next run completes it"),
            ));
        }
        tracing::info!(
            "Interrupted run completed: {} of {} decision(s) finished",
            complete.iter().filter(|c| **c).count(),
            complete.len()
        );
        Ok(())
    }

    /// Saves the state atomically and retires the journal.
    fn commit(&self, state: &mut State) -> std::io::Result<()> {
        crash_point("bisync: before saving state");
        state::save(&self.state_path(), state)?;
        crash_point("bisync: state saved");
        journal::finish(&self.journal_path(), self.ctx.opts.no_cleanup)?;
        crash_point("bisync: journal retired");
        Ok(())
    }

    fn fill_state(&self, state: &mut State) {
        let ctx = self.ctx;
        state.path1 = self.report.path1.clone();
        state.path2 = self.report.path2.clone();
        state.compare = ctx.compare;
        state.hash1 = ctx.hash1.map(|h| h.name().to_owned());
        state.hash2 = ctx.hash2.map(|h| h.name().to_owned());
        state.empty_dirs = ctx.opts.create_empty_src_dirs;
        state.filters_md5 = ctx.opts.filters_md5.clone();
    }

    fn write_filters_md5(&self) {
        if let (Some(file), Some(md5)) = (&self.ctx.opts.filters_file, &self.ctx.opts.filters_md5) {
            let path = state::with_suffix(file, ".md5");
            if std::fs::read_to_string(&path).ok().as_deref() != Some(md5.as_str()) {
                tracing::info!("Storing filters file hash to {}", path.display());
                if let Err(e) = std::fs::write(&path, md5) {
                    tracing::warn!("can't write {}: {e}", path.display());
                }
            }
        }
    }

    async fn sync(mut self, state: State) -> Report {
        let ctx = self.ctx;
        let opts = &ctx.opts;
        tracing::info!(
            "Synching Path1 {:?} with Path2 {:?}",
            self.report.path1,
            self.report.path2
        );
        if state.filters_md5 != opts.filters_md5 {
            tracing::warn!(
                "The filters changed since the last run: files they no longer select are left alone on both sides, \
                 and files they now select are handled as new (identical ones are adopted, differing ones become conflicts); nothing is deleted because of the change"
            );
        }
        let (mut saved1, mut saved2) = state.listings(ctx.normalize, ctx.ignore_case);
        if !opts.create_empty_src_dirs {
            saved1.retain(|_, r| !r.dir);
            saved2.retain(|_, r| !r.dir);
        }
        // Each listing describes the pair: a key saved on one side only is forgotten,
        // so it is handled as new (copied, never deleted).
        let lonely: Vec<String> = saved1
            .keys()
            .filter(|k| !saved2.contains_key(*k))
            .chain(saved2.keys().filter(|k| !saved1.contains_key(*k)))
            .cloned()
            .collect();
        for k in &lonely {
            tracing::warn!("{k}: saved for one side only; handling it as new");
            saved1.remove(k);
            saved2.remove(k);
        }
        let (scan1, scan2) = match self.scan_both().await {
            Ok(s) => s,
            Err(msg) => return self.report.abort(Ending::Critical, msg),
        };
        self.report.errors.extend(scan1.errors.iter().cloned());
        self.report.errors.extend(scan2.errors.iter().cloned());
        let mut unknown: BTreeSet<String> = scan1.unknown.union(&scan2.unknown).cloned().collect();
        let prior1 = in_scope(&saved1, &*self.select);
        let prior2 = in_scope(&saved2, &*self.select);
        // A file missing from a listing is only deleted if it is really gone.
        for (side, prior, now) in [
            (Side::One, &prior1, &scan1.recs),
            (Side::Two, &prior2, &scan2.recs),
        ] {
            let gone: Vec<&Rec> = prior
                .iter()
                .filter(|(k, _)| !now.contains_key(*k) && !is_unknown(&unknown, k))
                .map(|(_, r)| r)
                .collect();
            let b = ctx.backend(side);
            let seen = futures::future::join_all(gone.iter().map(|r| async move {
                let p = ferry_core::RelPath::new(&r.path);
                match p {
                    Ok(p) => b.stat(&p).await,
                    Err(e) => Err(e),
                }
            }))
            .await;
            for (r, s) in gone.iter().zip(seen) {
                match s {
                    Ok(None) => {}
                    // Replaced by something of the other kind: the old one is gone.
                    Ok(Some(e)) if e.is_dir() != r.dir => {}
                    Ok(Some(_)) => {
                        tracing::info!(
                            "{}: on {} but not listed (excluded by a filter, or not visible yet): left alone this run",
                            r.path,
                            side.name()
                        );
                        unknown.insert(ctx.key(&r.path));
                    }
                    Err(e) => {
                        tracing::error!(
                            "{}: can't check {} for it: {e}; left alone this run",
                            r.path,
                            side.name()
                        );
                        self.report.errors.push(format!("{}: {e}", r.path));
                        unknown.insert(ctx.key(&r.path));
                    }
                }
            }
        }
        if let Err(msg) =
            self.check_not_emptied([&prior1, &prior2], [&scan1.recs, &scan2.recs], &unknown)
        {
            return self.report.abort(Ending::Critical, msg);
        }
        if let Err(msg) = self.check_access(&scan1.recs, &scan2.recs) {
            return self.report.abort(Ending::Critical, msg);
        }
        let inputs = Inputs {
            saved1: &saved1,
            saved2: &saved2,
            prior1: &prior1,
            prior2: &prior2,
            now1: &scan1.recs,
            now2: &scan2.recs,
            unknown: &unknown,
        };
        let counts = plan::counts(ctx, &inputs);
        tracing::info!(
            "Path1: {:4} changes, {:4} deleted",
            counts.changes1,
            counts.deleted1
        );
        tracing::info!(
            "Path2: {:4} changes, {:4} deleted",
            counts.changes2,
            counts.deleted2
        );
        if !opts.force {
            for (side, deleted, old) in [
                (Side::One, counts.deleted1, counts.old1),
                (Side::Two, counts.deleted2, counts.old2),
            ] {
                if old > 0 && deleted * 100 > opts.max_delete as usize * old {
                    let msg = format!(
                        "Safety abort: too many deletes (>{}%, {deleted} of {old}) on {} {:?}. Nothing was changed. Run with --force if desired",
                        opts.max_delete,
                        side.name(),
                        if side == Side::One { &self.report.path1 } else { &self.report.path2 }
                    );
                    return self.report.abort(Ending::Failed, msg);
                }
            }
            for (side, same, old) in [
                (Side::One, counts.same1, counts.old1),
                (Side::Two, counts.same2, counts.old2),
            ] {
                if old > 0 && !same {
                    let msg = format!(
                        "Safety abort: all files were changed on {} {:?}. Nothing was changed. Run with --force if desired",
                        side.name(),
                        if side == Side::One { &self.report.path1 } else { &self.report.path2 }
                    );
                    return self.report.abort(Ending::Failed, msg);
                }
            }
        }
        let planned = match plan::plan(ctx, &inputs).await {
            Ok(p) => p,
            Err(e) => {
                return self.report.abort(
                    Ending::Critical,
                    format!("Bisync critical error: can't compare files: {e}. Nothing was changed; the next run retries"),
                )
            }
        };
        if planned.plan.steps.is_empty() && planned.decisions.is_empty() {
            tracing::info!("No changes found");
        }
        self.finish(state, planned, Kind::Sync, Prefer::None).await
    }

    /// Writes the journal, runs the plan, saves the state and reports.
    async fn finish(
        mut self,
        mut state: State,
        planned: Planned,
        kind: Kind,
        mode: Prefer,
    ) -> Report {
        let ctx = self.ctx;
        let Planned {
            plan,
            mut decisions,
            mut next1,
            mut next2,
            errors,
        } = planned;
        self.report.errors.extend(errors);
        if ctx.opts.dry_run {
            for d in &mut decisions {
                if d.group.is_some() {
                    d.result = "dry-run".into();
                    tracing::warn!("{}: Skipped {} as --dry-run is set", d.path, d.action);
                }
            }
            self.report.decisions = decisions;
            let code = if self.report.errors.is_empty() {
                Ending::Success
            } else {
                Ending::Failed
            };
            return self
                .report
                .abort(code, "Bisync dry run complete: nothing was changed");
        }
        let base_gen = state.generation;
        let writer = if plan.steps.is_empty() && kind == Kind::Sync {
            None
        } else {
            let plan_to_write = if kind == Kind::Resync {
                Plan::default()
            } else {
                plan.clone()
            };
            let header = journal::header(kind.clone(), Some(base_gen), mode);
            match journal::Writer::create(&self.journal_path(), &header, &plan_to_write) {
                Ok(w) => Some(Mutex::new(w)),
                Err(e) => {
                    let msg = format!(
                        "Bisync critical error: can't write the journal {}: {e}. Nothing was changed",
                        self.journal_path().display()
                    );
                    return self.report.abort(Ending::Critical, msg);
                }
            }
        };
        crash_point("bisync: journal written");
        let mut outcomes: Vec<Option<Outcome>> = vec![None; plan.steps.len()];
        let journal_for_steps = if kind == Kind::Sync {
            writer.as_ref()
        } else {
            None
        };
        exec::execute(ctx, &plan, journal_for_steps, &mut outcomes).await;
        exec::remove_emptied_dirs(ctx, &plan, &outcomes).await;
        let complete = exec::adopt(&plan, &outcomes, &mut next1, &mut next2);
        for d in &mut decisions {
            let Some(g) = d.group else { continue };
            if complete[g] {
                d.result = "done".into();
                continue;
            }
            let mut failed = None;
            let mut diverged = None;
            for (s, o) in plan.steps.iter().zip(&outcomes) {
                if s.group != g {
                    continue;
                }
                match o {
                    Some(Outcome::Failed(e)) => failed = Some(format!("{}: {e}", s.op.describe())),
                    Some(Outcome::Diverged(w)) => diverged = Some(w.clone()),
                    _ => {}
                }
            }
            if let Some(e) = failed {
                d.result = "failed".into();
                self.report.errors.push(e.clone());
                d.error = Some(e);
            } else {
                d.result = "skipped".into();
                d.error = diverged;
            }
        }
        self.report.decisions = decisions;
        drop(writer);
        self.fill_state(&mut state);
        state.set_listings(&next1, &next2);
        state.generation = base_gen + 1;
        tracing::info!("Updating listings");
        if let Err(e) = self.commit(&mut state) {
            return self.report.abort(
                Ending::Critical,
                format!("Bisync critical error: can't save the state: {e}. The journal is kept; the next run completes it"),
            );
        }
        self.write_filters_md5();
        if ctx.opts.remove_empty_dirs {
            tracing::info!("Removing empty directories");
            for side in [Side::One, Side::Two] {
                if let Err(e) = exec::remove_empty_dirs(&**ctx.backend(side)).await {
                    self.report
                        .errors
                        .push(format!("{}: removing empty directories: {e}", side.name()));
                }
            }
        }
        if ctx.opts.check_sync == CheckSync::True {
            let bad = self.compare_listings(&next1, &next2);
            if !bad.is_empty() {
                // Heal: forget these keys, so the next run handles them as new on both
                // sides (identical ones are adopted; nothing is deleted).
                for k in &bad {
                    next1.remove(k);
                    next2.remove(k);
                }
                state.set_listings(&next1, &next2);
                let _ = state::save(&self.state_path(), &mut state);
                self.report.errors.push(format!(
                    "path1 and path2 are out of sync for {} path(s); they were forgotten, so the next run compares them afresh",
                    bad.len()
                ));
            }
        }
        if self.report.errors.is_empty() {
            self.report.abort(Ending::Success, "Bisync successful")
        } else {
            let n = self.report.errors.len();
            let last = self.report.errors.last().cloned().unwrap_or_default();
            self.report.abort(
                Ending::Failed,
                format!(
                    "Bisync finished with {n} error(s); the other changes were synced and the next run retries the rest (no --resync needed). Last error: {last}"
                ),
            )
        }
    }

    /// Keys whose saved records disagree between the sides (`--check-sync`).
    fn compare_listings(&self, l1: &Listing, l2: &Listing) -> Vec<String> {
        let ctx = self.ctx;
        let mut bad = Vec::new();
        for (k, a) in l1 {
            match l2.get(k) {
                None => {
                    tracing::error!("- ERROR    Path1 file not found in Path2       - {k}");
                    bad.push(k.clone());
                }
                Some(b) if a.dir != b.dir => bad.push(k.clone()),
                Some(_) if a.dir => {}
                Some(b) => {
                    let size = ctx.compare.size && a.size != b.size;
                    let time =
                        ctx.compare.modtime && Ctx::times_differ(a.mtime, b.mtime, ctx.window_x);
                    let hash = ctx.compare.checksum
                        && ctx.hash1 == ctx.hash2
                        && matches!((&a.hash, &b.hash), (Some(x), Some(y)) if x != y);
                    if size || time || hash {
                        tracing::error!("- ERROR    Listings differ (size {size}, time {time}, hash {hash}) - {k}");
                        bad.push(k.clone());
                    }
                }
            }
        }
        for k in l2.keys().filter(|k| !l1.contains_key(*k)) {
            tracing::error!("- ERROR    Path2 file not found in Path1       - {k}");
            bad.push(k.clone());
        }
        bad
    }

    fn check_sync_only(self) -> Report {
        let state = match state::load(&self.state_path()) {
            Ok(s) => s,
            Err(LoadError::Missing) => {
                let msg = format!(
                    "cannot find the saved state {}: run with --resync first",
                    self.state_path().display()
                );
                return self.report.abort(Ending::Critical, msg);
            }
            Err(LoadError::Unusable(why)) => {
                let msg = format!(
                    "the saved state {} {why}; {RESYNC_HELP}",
                    self.state_path().display()
                );
                return self.report.abort(Ending::Critical, msg);
            }
        };
        tracing::info!(
            "Validating listings for Path1 {:?} vs Path2 {:?}",
            self.report.path1,
            self.report.path2
        );
        let (l1, l2) = state.listings(self.ctx.normalize, self.ctx.ignore_case);
        let bad = self.compare_listings(&l1, &l2);
        if bad.is_empty() {
            self.report.abort(
                Ending::Success,
                "The saved listings of Path1 and Path2 match",
            )
        } else {
            let n = bad.len();
            self.report.abort(
                Ending::Failed,
                format!("path1 and path2 listings are out of sync for {n} path(s); a normal run will compare them afresh"),
            )
        }
    }

    async fn resync(mut self, mode: Prefer, gen: u64) -> Report {
        let ctx = self.ctx;
        self.report.mode = "resync".into();
        tracing::info!(
            "Resyncing Path1 {:?} with Path2 {:?} (--resync-mode {})",
            self.report.path1,
            self.report.path2,
            mode.as_str()
        );
        let (scan1, scan2) = match self.scan_both().await {
            Ok(s) => s,
            Err(msg) => return self.report.abort(Ending::Critical, msg),
        };
        self.report.errors.extend(scan1.errors.iter().cloned());
        self.report.errors.extend(scan2.errors.iter().cloned());
        if let Err(msg) = self.check_access(&scan1.recs, &scan2.recs) {
            return self.report.abort(Ending::Critical, msg);
        }
        let unknown: BTreeSet<String> = scan1.unknown.union(&scan2.unknown).cloned().collect();
        let empty = Listing::new();
        let inputs = Inputs {
            saved1: &empty,
            saved2: &empty,
            prior1: &empty,
            prior2: &empty,
            now1: &scan1.recs,
            now2: &scan2.recs,
            unknown: &unknown,
        };
        let planned = match plan::plan_resync(ctx, mode, &inputs).await {
            Ok(p) => p,
            Err(e) => {
                return self.report.abort(
                    Ending::Critical,
                    format!("Bisync critical error: can't compare files: {e}. Nothing was changed"),
                )
            }
        };
        let mut state = State::new(&self.report.path1, &self.report.path2);
        state.generation = gen;
        self.finish(state, planned, Kind::Resync, mode).await
    }
}

/// The saved records the filters select now (their directories included).
fn in_scope(saved: &Listing, select: &dyn Select) -> Listing {
    if !select.is_active() {
        return saved.clone();
    }
    let mut dirs: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
    let mut dir_ok = |path: &str| -> bool {
        let mut end = 0;
        while let Some(i) = path[end..].find('/') {
            let d = &path[..end + i];
            let ok = *dirs
                .entry(d.to_owned())
                .or_insert_with(|| select.include_dir(d));
            if !ok {
                return false;
            }
            end += i + 1;
        }
        true
    };
    saved
        .iter()
        .filter(|(_, r)| {
            dir_ok(&r.path)
                && if r.dir {
                    select.include_dir(&r.path)
                } else {
                    select.include_file(&r.path, r.size, types::from_ns(r.mtime))
                }
        })
        .map(|(k, r)| (k.clone(), r.clone()))
        .collect()
}

/// One line per decision a recovery completed.
fn summarize(plan: &Plan, outcomes: &[Option<Outcome>], complete: &[bool]) -> Vec<Decision> {
    plan.groups
        .iter()
        .enumerate()
        .map(|(g, group)| {
            let steps: Vec<String> = plan
                .steps
                .iter()
                .filter(|s| s.group == g)
                .map(|s| s.op.describe())
                .collect();
            let error = plan
                .steps
                .iter()
                .zip(outcomes)
                .filter(|(s, _)| s.group == g)
                .find_map(|(_, o)| match o {
                    Some(Outcome::Failed(e)) | Some(Outcome::Diverged(e)) => Some(e.clone()),
                    _ => None,
                });
            Decision {
                path: group.key.clone(),
                path1: Change::Unchanged,
                path2: Change::Unchanged,
                action: steps.join(", "),
                reason: "completing an interrupted run".into(),
                result: if complete[g] { "done" } else { "skipped" }.into(),
                error,
                group: Some(g),
            }
        })
        .collect()
}

/// The default work directory: `bisync` under the user's cache directory.
pub fn default_workdir() -> PathBuf {
    ferry_core::private::ferry_cache()
        .unwrap_or_else(|| std::env::temp_dir().join("ferry"))
        .join("bisync")
}

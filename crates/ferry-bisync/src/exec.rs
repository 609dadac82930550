//! Carrying out a plan. Every step first looks at the paths it touches: if its result is
//! already there it is done (a killed run did it), if the paths are as planned it runs,
//! and otherwise something changed them since they were listed, so the step is left for
//! the next run to re-derive (nothing is overwritten or deleted that wasn't seen).

use std::sync::Mutex;

use ferry_core::Declared;
use ferry_core::{Backend, Entry, Error, ErrorKind, PutOptions, RelPath, Result};
use futures::stream::{self, StreamExt};

use crate::ctx::Ctx;
use crate::journal::{Op, Plan, Step, Writer};
use crate::listing::Listing;
use crate::names::suffix_name;
use crate::plan::set;
use crate::types::{from_ns, to_ns, Rec, Side};

/// How one step ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Done (now or by an earlier run), with the record it produced on its side.
    Done(Option<Rec>),
    /// Left for the next run: a path it touches changed since it was listed.
    Diverged(String),
    /// Not attempted: an earlier step of its group did not complete.
    Skipped,
    Failed(String),
}

/// Names a crash point of bisync (journal written, each step recorded, state saved,
/// ...) through `ferry_core::crash`: nothing happens unless the binary's test hook
/// kills its own process there, to prove every point recoverable.
pub(crate) fn crash_point(what: &'static str) {
    ferry_core::crash::point(what);
}

fn rel(path: &str) -> Result<RelPath> {
    RelPath::new(path)
}

fn to_rec(e: &Entry) -> Rec {
    Rec {
        path: e.path.as_str().to_owned(),
        dir: e.is_dir(),
        size: if e.is_dir() { 0 } else { e.size },
        mtime: to_ns(e.mtime),
        hash: None,
    }
}

async fn observe(b: &dyn Backend, path: &str) -> Result<Option<Rec>> {
    Ok(b.stat(&rel(path)?).await?.map(|e| to_rec(&e)))
}

/// Whether what is there now is what was expected (size, type, time within `window`,
/// hash when both are known).
fn matches(seen: Option<&Rec>, want: Option<&Rec>, window: Option<i64>) -> bool {
    match (seen, want) {
        (None, None) => true,
        (Some(s), Some(w)) => {
            s.dir == w.dir
                && (s.dir
                    || (s.size == w.size
                        && !Ctx::times_differ(s.mtime, w.mtime, window)
                        && match (&s.hash, &w.hash) {
                            (Some(a), Some(b)) => a == b,
                            _ => true,
                        }))
        }
        _ => false,
    }
}

/// Moves `rec` on `side` into that side's backup directory (`--backup-dir1/2`).
async fn backup(ctx: &Ctx, side: Side, rec: &Rec) -> Result<()> {
    let Some(store) = ctx.backup(side) else {
        return Ok(());
    };
    let from = ctx.backend(side);
    let src = rel(&rec.path)?;
    let to = rel(&suffix_name(
        &rec.path,
        &ctx.opts.backup_suffix,
        ctx.opts.suffix_keep_extension,
    ))?;
    if store.move_declared(&**from, &src, &to).await?.is_none() {
        let opts = put_opts(ctx, rec);
        if store
            .copy_declared(&**from, &src, &to, &opts)
            .await?
            .is_none()
        {
            let data = from.open(&src, 0, None).await?;
            store.put(&to, data, &opts).await?;
        }
        from.delete_file(&src).await?;
    }
    tracing::info!("{}: Moved into backup dir as {to}", rec.path);
    Ok(())
}

fn put_opts(ctx: &Ctx, rec: &Rec) -> PutOptions {
    PutOptions {
        size: rec.size,
        mtime: from_ns(rec.mtime),
        inplace: ctx.opts.inplace,
        hashes: Default::default(),
        metadata: None,
    }
}

/// Copies one file between sides, retrying temporary errors.
async fn copy_file(ctx: &Ctx, from: Side, src: &Rec, dst_path: &str) -> Result<Entry> {
    let (s, d) = (ctx.backend(from), ctx.backend(from.other()));
    let (sp, dp) = (rel(&src.path)?, rel(dst_path)?);
    let opts = put_opts(ctx, src);
    let tries = ctx.opts.low_level_retries.max(1);
    let mut attempt = 1;
    loop {
        let result = async {
            if let Some(done) = d.copy_declared(&**s, &sp, &dp, &opts).await? {
                return Ok(done);
            }
            let data = s.open(&sp, 0, None).await?;
            d.put(&dp, data, &opts).await
        }
        .await;
        match result {
            Err(e) if e.is_temporary() && attempt < tries => {
                tracing::debug!("{}: {e} - low level retry {attempt}/{tries}", src.path);
                ferry_core::retry::Backoff::DEFAULT.wait(attempt).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// `--fix-case`: renames `old` on `side` to `new` (a name differing only in case) before
/// a copy lands on it; what is there now, under its new name.
async fn fix_case(ctx: &Ctx, side: Side, old: Rec, new: &str) -> Result<Rec> {
    let b = ctx.backend(side);
    let (from, to) = (rel(&old.path)?, rel(new)?);
    let renamed = ferry_engine::rename_to_case(&**b, &from, &to)
        .await
        .map_err(|e| Ctx::err(side, &old.path, e))?;
    if !renamed {
        let e = Error::new(
            ErrorKind::Unsupported,
            format!(
                "can't rename to {new} to fix its case: {} can't rename files",
                side.name()
            ),
        );
        return Err(Ctx::err(side, &old.path, e));
    }
    tracing::info!("{}: Fixed case by renaming to: {new}", old.path);
    Ok(old.with_path(new))
}

/// Runs one step (see the module documentation).
pub async fn run_step(ctx: &Ctx, op: &Op) -> Outcome {
    match step(ctx, op).await {
        Ok(o) => o,
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

async fn step(ctx: &Ctx, op: &Op) -> Result<Outcome> {
    let changed = |what: &str| {
        Outcome::Diverged(format!(
            "{what} changed since it was listed; the next run will sync it"
        ))
    };
    match op {
        Op::Copy {
            from,
            src,
            dst_path,
            dst_before,
            ..
        } => {
            let to = from.other();
            let (sb, db) = (ctx.backend(*from), ctx.backend(to));
            // Where the file is now: under another name when --fix-case renames it.
            let dst_now = dst_before.as_ref().map_or(dst_path, |b| &b.path);
            let (seen_src, seen_dst) =
                tokio::try_join!(observe(&**sb, &src.path), observe(&**db, dst_now))?;
            let want = ctx.expected_copy(*from, src, dst_path);
            // Already there, unless the old version looks the same (only a hash tells
            // them apart): then copy again, which is harmless.
            let ambiguous = dst_before.is_some()
                && matches(seen_dst.as_ref(), dst_before.as_ref(), ctx.window(to));
            let renaming = dst_now != dst_path;
            if !renaming && !ambiguous && matches(seen_dst.as_ref(), Some(&want), ctx.window_x) {
                let hash = want.hash.clone();
                return Ok(Outcome::Done(Some(Rec {
                    hash,
                    ..seen_dst.unwrap_or(want)
                })));
            }
            if !matches(seen_src.as_ref(), Some(src), ctx.window(*from)) {
                return Ok(changed(&format!("{} {}", from.name(), src.path)));
            }
            if !matches(seen_dst.as_ref(), dst_before.as_ref(), ctx.window(to)) {
                return Ok(changed(&format!("{} {}", to.name(), dst_now)));
            }
            let seen_dst = match seen_dst {
                Some(old) if renaming => {
                    let old = fix_case(ctx, to, old, dst_path).await?;
                    if matches(Some(&old), Some(&want), ctx.window_x) {
                        return Ok(Outcome::Done(Some(Rec {
                            hash: want.hash,
                            ..old
                        })));
                    }
                    Some(old)
                }
                other => other,
            };
            if let Some(old) = &seen_dst {
                backup(ctx, to, old)
                    .await
                    .map_err(|e| Ctx::err(to, dst_path, e))?;
            }
            let stored = copy_file(ctx, *from, src, dst_path)
                .await
                .map_err(|e| Ctx::err(to, dst_path, e))?;
            let verb = if seen_dst.is_some() {
                "Copied (replaced existing)"
            } else {
                "Copied (new)"
            };
            tracing::info!("{dst_path}: {verb} to {}", to.name());
            let mut rec = to_rec(&stored);
            rec.path = dst_path.clone();
            rec.hash = want.hash;
            Ok(Outcome::Done(Some(rec)))
        }
        Op::Delete { side, before, .. } => {
            let b = ctx.backend(*side);
            let seen = observe(&**b, &before.path).await?;
            if seen.is_none() {
                return Ok(Outcome::Done(None));
            }
            if !matches(seen.as_ref(), Some(before), ctx.window(*side)) {
                return Ok(changed(&format!("{} {}", side.name(), before.path)));
            }
            if ctx.backup(*side).is_some() {
                backup(ctx, *side, before)
                    .await
                    .map_err(|e| Ctx::err(*side, &before.path, e))?;
            } else {
                b.delete_file(&rel(&before.path)?)
                    .await
                    .map_err(|e| Ctx::err(*side, &before.path, e))?;
            }
            tracing::info!("{}: Deleted on {}", before.path, side.name());
            Ok(Outcome::Done(None))
        }
        Op::Rename {
            side,
            entry,
            to_path,
            to_before,
            ..
        } => {
            let b = ctx.backend(*side);
            let (seen_from, seen_to) =
                tokio::try_join!(observe(&**b, &entry.path), observe(&**b, to_path))?;
            let want = entry.with_path(to_path);
            let w = ctx.window(*side);
            if seen_from.is_none() && matches(seen_to.as_ref(), Some(&want), w) {
                return Ok(Outcome::Done(Some(want)));
            }
            if !matches(seen_from.as_ref(), Some(entry), w) {
                return Ok(changed(&format!("{} {}", side.name(), entry.path)));
            }
            if !matches(seen_to.as_ref(), to_before.as_ref(), w) {
                return Ok(changed(&format!("{} {}", side.name(), to_path)));
            }
            if let Some(old) = &seen_to {
                backup(ctx, *side, old)
                    .await
                    .map_err(|e| Ctx::err(*side, to_path, e))?;
            }
            let (fp, tp) = (rel(&entry.path)?, rel(to_path)?);
            let moved = b.move_declared(&**b, &fp, &tp).await;
            match moved {
                Ok(Some(_)) => {}
                Ok(None) => {
                    let opts = put_opts(ctx, entry);
                    if b.copy_declared(&**b, &fp, &tp, &opts).await?.is_none() {
                        let data = b.open(&fp, 0, None).await?;
                        b.put(&tp, data, &opts).await?;
                    }
                    b.delete_file(&fp).await?;
                }
                Err(e) => return Err(Ctx::err(*side, &entry.path, e)),
            }
            tracing::warn!(
                "- {:<8} Renamed {} copy to {to_path}",
                side.name(),
                side.name()
            );
            Ok(Outcome::Done(Some(want)))
        }
        Op::Touch {
            side,
            before,
            mtime,
            ..
        } => {
            let b = ctx.backend(*side);
            let seen = observe(&**b, &before.path).await?;
            let want = Rec {
                mtime: *mtime,
                ..before.clone()
            };
            let w = ctx.window(*side);
            if matches(seen.as_ref(), Some(&want), w) {
                return Ok(Outcome::Done(Some(want)));
            }
            if !matches(seen.as_ref(), Some(before), w) {
                return Ok(changed(&format!("{} {}", side.name(), before.path)));
            }
            let p = rel(&before.path)?;
            if b.features().caps.set_modtime {
                b.set_modtime(&p, from_ns(*mtime))
                    .await
                    .map_err(|e| Ctx::err(*side, &before.path, e))?;
            } else {
                // Identical content: copy the other side's file to carry its time.
                let src = want.clone();
                copy_file(ctx, side.other(), &src, &before.path)
                    .await
                    .map_err(|e| Ctx::err(*side, &before.path, e))?;
            }
            tracing::info!(
                "{}: Updated modification time on {}",
                before.path,
                side.name()
            );
            Ok(Outcome::Done(Some(want)))
        }
        Op::Mkdir { side, dir, .. } => {
            let b = ctx.backend(*side);
            match observe(&**b, &dir.path).await? {
                Some(r) if r.dir => Ok(Outcome::Done(Some(r))),
                Some(_) => Ok(changed(&format!("{} {}", side.name(), dir.path))),
                None => {
                    let p = rel(&dir.path)?;
                    b.mkdir(&p)
                        .await
                        .map_err(|e| Ctx::err(*side, &dir.path, e))?;
                    if b.features().caps.set_dir_modtime {
                        let _ = b.set_modtime(&p, from_ns(dir.mtime)).await;
                    }
                    tracing::info!("{}: Made directory on {}", dir.path, side.name());
                    let made = observe(&**b, &dir.path).await?.unwrap_or(dir.clone());
                    Ok(Outcome::Done(Some(made)))
                }
            }
        }
        Op::Rmdir { side, before, .. } => {
            let b = ctx.backend(*side);
            match observe(&**b, &before.path).await? {
                None => Ok(Outcome::Done(None)),
                Some(r) if r.dir => {
                    let p = rel(&before.path)?;
                    let listing = b.list_dir(&p).await?;
                    if !listing.entries.is_empty() || !listing.errors.is_empty() {
                        return Ok(Outcome::Diverged(format!(
                            "{} {}: directory is not empty; left in place",
                            side.name(),
                            before.path
                        )));
                    }
                    b.rmdir(&p)
                        .await
                        .map_err(|e| Ctx::err(*side, &before.path, e))?;
                    tracing::info!("{}: Removed directory on {}", before.path, side.name());
                    Ok(Outcome::Done(None))
                }
                Some(_) => Ok(changed(&format!("{} {}", side.name(), before.path))),
            }
        }
    }
}

/// Runs every step not yet done, phase by phase, recording each completion in the
/// journal. `outcomes` holds what is already known (from the journal, on recovery).
pub async fn execute(
    ctx: &Ctx,
    plan: &Plan,
    journal: Option<&Mutex<Writer>>,
    outcomes: &mut [Option<Outcome>],
) {
    let retries = ctx.opts.retries.max(1);
    for phase in 0..=3u8 {
        for attempt in 1..=retries {
            let mut todo = Vec::new();
            for (i, s) in plan.steps.iter().enumerate() {
                let pending = match &outcomes[i] {
                    None => true,
                    Some(Outcome::Failed(_)) => attempt > 1,
                    Some(_) => false,
                };
                if s.phase != phase || !pending {
                    continue;
                }
                // A group stops at its first step that did not complete.
                let blocked = plan.steps.iter().zip(outcomes.iter()).any(|(t, o)| {
                    t.group == s.group && t.phase < phase && !matches!(o, Some(Outcome::Done(_)))
                });
                if blocked {
                    outcomes[i] = Some(Outcome::Skipped);
                } else {
                    todo.push(i);
                }
            }
            if todo.is_empty() {
                break;
            }
            if attempt > 1 {
                tracing::warn!(
                    "Retrying {} failed step(s) (attempt {attempt}/{retries})",
                    todo.len()
                );
                if !ctx.opts.retries_sleep.is_zero() {
                    tokio::time::sleep(ctx.opts.retries_sleep).await;
                }
            }
            if phase == 3 {
                // Directories deepest first, one at a time.
                todo.sort_by_key(|&i| {
                    std::cmp::Reverse(step_path(&plan.steps[i]).matches('/').count())
                });
                for i in todo {
                    let o = run_step(ctx, &plan.steps[i].op).await;
                    record(plan, journal, i, &o);
                    outcomes[i] = Some(o);
                }
            } else {
                let width = if phase == 1 {
                    ctx.opts.transfers
                } else {
                    ctx.opts.checkers
                }
                .max(1);
                let results: Vec<(usize, Outcome)> = stream::iter(todo)
                    .map(|i| async move {
                        let o = run_step(ctx, &plan.steps[i].op).await;
                        record(plan, journal, i, &o);
                        (i, o)
                    })
                    .buffer_unordered(width)
                    .collect()
                    .await;
                for (i, o) in results {
                    outcomes[i] = Some(o);
                }
            }
            let failed = plan
                .steps
                .iter()
                .zip(outcomes.iter())
                .any(|(s, o)| s.phase == phase && matches!(o, Some(Outcome::Failed(_))));
            if !failed {
                break;
            }
        }
    }
}

fn step_path(s: &Step) -> &str {
    match &s.op {
        Op::Rmdir { before, .. } => &before.path,
        _ => "",
    }
}

fn record(plan: &Plan, journal: Option<&Mutex<Writer>>, i: usize, o: &Outcome) {
    match o {
        Outcome::Done(rec) => {
            crash_point("bisync: step done, not yet journaled");
            if let Some(j) = journal {
                if let Ok(mut w) = j.lock() {
                    if let Err(e) = w.done(i, rec.as_ref()) {
                        tracing::error!("can't write to the journal {}: {e}", w.path().display());
                    }
                }
            }
            crash_point("bisync: step journaled");
        }
        Outcome::Failed(e) => tracing::error!("{}: {e}", plan.steps[i].op.describe()),
        Outcome::Diverged(why) => tracing::warn!("{}: skipped: {why}", plan.steps[i].op.describe()),
        Outcome::Skipped => {}
    }
}

/// Applies every completed group's records to the listings to save.
pub fn adopt(
    plan: &Plan,
    outcomes: &[Option<Outcome>],
    next1: &mut Listing,
    next2: &mut Listing,
) -> Vec<bool> {
    let mut complete = vec![true; plan.groups.len()];
    for (s, o) in plan.steps.iter().zip(outcomes) {
        if !matches!(o, Some(Outcome::Done(_))) {
            complete[s.group] = false;
        }
    }
    for (g, group) in plan.groups.iter().enumerate() {
        if !complete[g] {
            continue;
        }
        for post in &group.post {
            let mut one = post.one.clone();
            let mut two = post.two.clone();
            // Prefer what the steps actually produced.
            for (s, o) in plan.steps.iter().zip(outcomes) {
                if s.group != g || s.op.target_key() != post.key {
                    continue;
                }
                if let Some(Outcome::Done(Some(rec))) = o {
                    match s.op.side() {
                        Side::One if one.is_some() => one = Some(rec.clone()),
                        Side::Two if two.is_some() => two = Some(rec.clone()),
                        _ => {}
                    }
                }
            }
            set(next1, &post.key, one);
            set(next2, &post.key, two);
        }
    }
    complete
}

/// Removes empty directories below the root (`--remove-empty-dirs`), deepest first.
pub async fn remove_empty_dirs(b: &dyn Backend) -> Result<u64> {
    let mut dirs = Vec::new();
    let mut pending = vec![RelPath::root()];
    while let Some(d) = pending.pop() {
        for e in b.list_dir(&d).await?.into_entries_logged() {
            if e.is_dir() {
                pending.push(e.path.clone());
                dirs.push(e.path);
            }
        }
    }
    dirs.sort_by_key(|d| std::cmp::Reverse(d.depth()));
    let mut removed = 0;
    for d in dirs {
        match b.list_dir(&d).await {
            Ok(list) if list.entries.is_empty() && list.errors.is_empty() => {
                match b.rmdir(&d).await {
                    Ok(()) => {
                        removed += 1;
                        tracing::info!("{d}: Removing directory");
                    }
                    Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::DirNotFound) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(_) => {}
            Err(e) => return Err(Error::new(e.kind(), e.to_string())),
        }
    }
    Ok(removed)
}

/// After deletes were propagated, the directories they emptied go too where the side
/// that deleted the files no longer has them (as rclone's bisync does): deepest first,
/// each only if it is empty now, so nothing but empty directories is ever removed.
pub async fn remove_emptied_dirs(ctx: &Ctx, plan: &Plan, outcomes: &[Option<Outcome>]) {
    let mut dirs: Vec<(Side, RelPath)> = Vec::new();
    for (step, outcome) in plan.steps.iter().zip(outcomes) {
        let (Op::Delete { side, before, .. }, Some(Outcome::Done(_))) = (&step.op, outcome) else {
            continue;
        };
        let Ok(mut path) = RelPath::new(&before.path) else {
            continue;
        };
        while let Some(parent) = path.parent().filter(|p| !p.is_root()) {
            dirs.push((*side, parent.clone()));
            path = parent;
        }
    }
    dirs.sort_by(|a, b| (b.1.depth(), b.0.num(), &b.1).cmp(&(a.1.depth(), a.0.num(), &a.1)));
    dirs.dedup();
    for (side, dir) in dirs {
        // Kept where the other side still has it, or can't tell.
        let other_has_it = !matches!(
            ctx.backend(side.other()).stat(&dir).await,
            Ok(None)
                | Ok(Some(Entry {
                    kind: ferry_core::EntryKind::File,
                    ..
                }))
        );
        if other_has_it {
            continue;
        }
        let b = ctx.backend(side);
        let empty =
            matches!(b.list_dir(&dir).await, Ok(l) if l.entries.is_empty() && l.errors.is_empty());
        if empty && b.rmdir(&dir).await.is_ok() {
            tracing::info!("{dir}: Removing directory");
        }
    }
}

//! Deleting at the destination, under `--max-delete`, `--backup-dir`, `--dry-run`
//! and `--interactive`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use ferry_core::units::size_suffix;
use ferry_core::{Entry, Error, ErrorKind, RelPath};
use futures::stream::{self, StreamExt};

use crate::sync::Ctx;
use crate::ActionKind;

/// Whether a delete was refused because `--max-delete` was reached.
pub(crate) fn max_delete_reached(ctx: &Ctx) -> bool {
    ctx.job
        .opts
        .max_delete
        .is_some_and(|max| ctx.deletes_done.load(Ordering::SeqCst) > max)
}

/// Takes one slot under `--max-delete`; `false` once the limit is used up.
fn take_slot(ctx: &Ctx) -> bool {
    let taken = ctx.deletes_done.fetch_add(1, Ordering::SeqCst);
    match ctx.job.opts.max_delete {
        Some(max) if taken >= max => {
            if taken == max {
                ctx.fail(&Error::new(
                    ErrorKind::Refused,
                    format!("--max-delete threshold reached ({max}): not deleting any more files"),
                ));
            }
            false
        }
        _ => true,
    }
}

pub(crate) async fn delete_files(ctx: &Arc<Ctx>, files: Vec<Entry>) {
    let width = ctx.job.opts.checkers.max(1);
    stream::iter(files)
        .for_each_concurrent(width, |entry| async move { delete_one(ctx, entry).await })
        .await;
}

async fn delete_one(ctx: &Arc<Ctx>, entry: Entry) {
    // rclone counts each extraneous file as a check.
    ctx.job.stats.queue_check();
    ctx.job.stats.check_done();
    if !take_slot(ctx) {
        return;
    }
    let path = &entry.path;
    let action = if ctx.job.backup.is_some() {
        "move into backup dir"
    } else {
        "delete"
    };
    if ctx.job.opts.dry_run {
        tracing::warn!(
            "{path}: Skipped {action} as --dry-run is set (size {})",
            size_suffix(entry.size)
        );
        ctx.job.stats.deleted(entry.size);
        ctx.observe(path.as_str(), ActionKind::SkippedDryRun, entry.size, None);
        return;
    }
    if !ctx.confirm(action, path) {
        return;
    }
    let result = match &ctx.job.backup {
        Some(b) => b.save(&ctx.job.dst, &entry).await.map(|_| ()),
        None => ctx.job.dst.delete_file(path).await,
    };
    match result {
        Ok(()) => {
            let done = if ctx.job.backup.is_some() {
                "Moved into backup dir"
            } else {
                "Deleted"
            };
            tracing::info!("{path}: {done}");
            ctx.job.stats.deleted(entry.size);
            ctx.observe(path.as_str(), ActionKind::Deleted, entry.size, None);
            ctx.touched(path);
        }
        Err(e) => ctx.fail(
            &Error::new(e.kind(), format!("Couldn't {action}: {}", e.message()))
                .with_path(path.to_string()),
        ),
    }
}

/// Removes directories that exist only at the destination, deepest first.
pub(crate) async fn remove_dirs(ctx: &Arc<Ctx>, dirs: &[RelPath]) {
    if !ctx.job.dst.features().empty_dirs {
        return;
    }
    for dir in dirs {
        if ctx.job.opts.dry_run {
            tracing::warn!("{dir}: Skipped remove directory as --dry-run is set");
            continue;
        }
        if ctx.limits.stopping() || !ctx.confirm("remove directory", dir) {
            continue;
        }
        match ctx.job.dst.rmdir(dir).await {
            Ok(()) => {
                tracing::info!("{dir}: Removing directory");
                ctx.job.stats.deleted_dir();
                ctx.observe(dir.as_str(), ActionKind::DeletedDir, 0, None);
                ctx.touched(dir);
            }
            // A directory kept non-empty (an excluded file, a failed delete) stays.
            Err(e) => tracing::debug!("{dir}: not removed: {e}"),
        }
    }
}

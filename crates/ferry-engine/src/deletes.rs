//! Deleting at the destination, under `--max-delete`, `--backup-dir`, `--dry-run`
//! and `--interactive`.

use std::sync::Arc;

use ferry_core::units::size_suffix;
use ferry_core::{Entry, Error, ErrorKind, RelPath};
use futures::stream::{self, StreamExt};

use crate::sync::{Ctx, StopReason};
use crate::ActionKind;

/// What has been deleted so far, against `--max-delete` and `--max-delete-size`: a
/// sync's deletes, and the files `delete`, `purge` and `deletefile` remove.
#[derive(Debug, Default)]
pub struct DeleteBudget {
    count: u64,
    bytes: u64,
    /// Set by the first delete refused: none follow, as in rclone (a fatal error there).
    refused: Option<StopReason>,
}

impl DeleteBudget {
    /// Takes room for deleting one file of `size` bytes under the limits (`None`: no
    /// limit). `Err` once a limit is reached, with the refusal's message the first time
    /// (`None` after: the rest are refused without a word).
    pub fn take(
        &mut self,
        max_count: Option<u64>,
        max_bytes: Option<u64>,
        size: u64,
    ) -> Result<(), Option<String>> {
        if self.refused.is_some() {
            return Err(None);
        }
        let refused = match (max_count, max_bytes) {
            (Some(max), _) if self.count >= max => Some((
                StopReason::MaxDelete,
                format!("--max-delete threshold reached ({max}): not deleting any more files"),
            )),
            (_, Some(max)) if self.bytes.saturating_add(size) > max => Some((
                StopReason::MaxDeleteSize,
                format!(
                    "--max-delete-size threshold reached ({}): not deleting any more files",
                    size_suffix(max)
                ),
            )),
            _ => None,
        };
        if let Some((why, msg)) = refused {
            self.refused = Some(why);
            return Err(Some(msg));
        }
        self.count += 1;
        self.bytes += size;
        Ok(())
    }

    /// Which limit refused a delete, if one did.
    pub fn refused(&self) -> Option<StopReason> {
        self.refused
    }
}

/// Which limit refused a delete, if one did.
pub(crate) fn limit_reached(ctx: &Ctx) -> Option<StopReason> {
    ctx.deletes.lock().expect("lock").refused()
}

/// Takes room for deleting `size` bytes; `false` once a limit is reached.
pub(crate) fn take_slot(ctx: &Ctx, size: u64) -> bool {
    let opts = &ctx.job.opts;
    let taken = ctx
        .deletes
        .lock()
        .expect("lock")
        .take(opts.max_delete, opts.max_delete_size, size);
    match taken {
        Ok(()) => true,
        Err(Some(msg)) => {
            ctx.fail(&Error::new(ErrorKind::Refused, msg));
            false
        }
        Err(None) => false,
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
    if !take_slot(ctx, entry.size) {
        return;
    }
    // A run stopped from outside starts no more deletes.
    if ctx.limits.stopping() && ctx.limits.tripped() == crate::limits::Tripped::Stopped {
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
        Some(b) => b
            .save(&ctx.job.dst, &entry)
            .await
            .map(|saved| saved.log(path, &ctx.job.stats, entry.size)),
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
    if !ctx.job.dst.features().semantics.empty_dirs {
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

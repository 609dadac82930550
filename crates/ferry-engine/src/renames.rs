//! `--track-renames`: a file that only moved at the source is moved at the destination
//! (a rename, or a server-side move) instead of being sent again and deleted.
//!
//! During the march, files only the source has and files only the destination has are
//! held back; once the march is done, each new file is matched to a vanished one of the
//! same size (and hash, time or name, by `--track-renames-strategy`), and moved. What
//! is left over is sent and deleted as usual. A destination that can copy server-side
//! but not move (Azure Blob) gets a server-side copy and a delete, as rclone's move falls
//! back to: no byte is sent again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_core::Declared;
use ferry_core::{Backend, Entry, HashKind, Result};
use tokio::sync::mpsc;

use crate::march::Found;
use crate::options::RenameStrategy;
use crate::sync::{abs_diff, Ctx, Queued};
use crate::{transfer, DeleteMode};

/// The files held back during the march.
#[derive(Default)]
pub(crate) struct Pending {
    pub strategy: RenameStrategy,
    pub src_new: Mutex<Vec<Entry>>,
    pub dst_gone: Mutex<Vec<Entry>>,
}

impl Pending {
    /// Holds back a file only one side has; anything else is handed back.
    pub(crate) fn hold(&self, item: Found) -> Option<Found> {
        match item {
            Found::File {
                src: None,
                dst: Some(d),
            } => self.dst_gone.lock().expect("lock").push(d),
            Found::File {
                src: Some(s),
                dst: None,
            } => self.src_new.lock().expect("lock").push(s),
            other => return Some(other),
        }
        None
    }
}

/// What a file is matched by, besides its time (compared within the modify window).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Key {
    size: u64,
    hash: Option<String>,
    leaf: Option<String>,
}

/// Matches, moves, then sends and deletes what is left.
pub(crate) async fn resolve(ctx: &Arc<Ctx>, pending: &Pending) {
    let gone = std::mem::take(&mut *pending.dst_gone.lock().expect("lock"));
    let new = std::mem::take(&mut *pending.src_new.lock().expect("lock"));
    let dst = ctx.job.dst.clone();
    tracing::info!("{}: Making map for --track-renames", dst.describe());
    let mut map: HashMap<Key, Vec<Entry>> = HashMap::new();
    let mut leftover = Vec::new();
    for d in gone {
        match key(ctx, &*dst, &d, pending.strategy).await {
            Ok(k) => map.entry(k).or_default().push(d),
            Err(e) => {
                ctx.fail(&e);
                leftover.push(d);
            }
        }
    }
    tracing::info!(
        "{}: Finished making map for --track-renames",
        dst.describe()
    );
    let window = ctx.window.unwrap_or(Duration::from_secs(1));
    let mut to_send = Vec::new();
    for s in new {
        let found = match key(ctx, &*ctx.job.src, &s, pending.strategy).await {
            Ok(k) => map
                .get_mut(&k)
                .and_then(|c| take_match(c, &s, pending.strategy, window)),
            Err(e) => {
                ctx.fail(&e);
                continue;
            }
        };
        match found {
            Some(old) if rename(ctx, &old, &s).await => {}
            Some(old) => {
                leftover.push(old);
                to_send.push(s);
            }
            None => to_send.push(s),
        }
    }
    leftover.extend(map.into_values().flatten());
    send_all(ctx, to_send).await;
    if ctx.job.opts.delete_mode == DeleteMode::During {
        if crate::sync::deletes_allowed(ctx, "files") {
            crate::deletes::delete_files(ctx, leftover).await;
        }
    } else {
        ctx.to_delete.lock().expect("lock").extend(leftover);
    }
}

async fn key(ctx: &Ctx, backend: &dyn Backend, e: &Entry, s: RenameStrategy) -> Result<Key> {
    let hash = match (s.hash, ctx.hash) {
        (true, Some(kind)) => hash_of(backend, e, kind).await?,
        _ => None,
    };
    Ok(Key {
        size: e.size,
        hash,
        leaf: s.leaf.then(|| e.name().to_owned()),
    })
}

async fn hash_of(backend: &dyn Backend, e: &Entry, kind: HashKind) -> Result<Option<String>> {
    crate::compare::known_or_compute(backend, e, kind)
        .await
        .map(|h| h.map(|h| h.to_ascii_lowercase()))
}

/// The first candidate that also matches in time, when the strategy compares times.
fn take_match(
    candidates: &mut Vec<Entry>,
    src: &Entry,
    s: RenameStrategy,
    window: Duration,
) -> Option<Entry> {
    let i = candidates
        .iter()
        .position(|d| !s.modtime || abs_diff(d.mtime, src.mtime) < window)?;
    Some(candidates.swap_remove(i))
}

/// Moves `old` to `new`'s path at the destination; `false` when the destination can
/// neither move nor copy server-side (the file is then sent, and `old` deleted, as without
/// `--track-renames`).
async fn rename(ctx: &Arc<Ctx>, old: &Entry, new: &Entry) -> bool {
    if ctx.job.opts.dry_run {
        tracing::warn!(
            "{}: Skipped move as --dry-run is set (size {})",
            old.path,
            ferry_core::units::size_suffix(old.size)
        );
        return true;
    }
    let dst = &ctx.job.dst;
    let moved = match dst.move_declared(&**dst, &old.path, &new.path).await {
        Ok(Some(_)) => {
            tracing::info!("{}: Moved (server-side) to: {}", old.path, new.path);
            ctx.job.stats.server_side_moved(old.size);
            true
        }
        Ok(None) => match copy_and_delete(ctx, old, new).await {
            Ok(done) => done,
            Err(e) => {
                ctx.fail(&e);
                return true;
            }
        },
        Err(e) => {
            ctx.fail(&e);
            return true;
        }
    };
    if !moved {
        return false;
    }
    tracing::info!("{}: Renamed from {:?}", new.path, old.path.as_str());
    ctx.job.stats.renamed();
    ctx.touched(&old.path);
    ctx.touched(&new.path);
    let window = ctx.window.unwrap_or(Duration::from_secs(1));
    let moved_time_differs = abs_diff(old.mtime, new.mtime) >= window;
    if moved_time_differs && ctx.window.is_some() && dst.features().caps.set_modtime {
        transfer::fix_modtime(ctx, new, &new.path).await;
    }
    true
}

/// rclone's move where the destination can't move: a server-side copy, then the old file
/// deleted; logged and counted as rclone does. `false` when the destination can't copy
/// server-side either.
async fn copy_and_delete(ctx: &Arc<Ctx>, old: &Entry, new: &Entry) -> Result<bool> {
    let dst = &ctx.job.dst;
    if !dst.features().caps.server_side_copy()
        || !crate::fixcase::copy_and_delete(&**dst, old, &new.path).await?
    {
        return Ok(false);
    }
    tracing::info!("{}: Copied (server-side copy) to: {}", old.path, new.path);
    tracing::info!("{}: Deleted", old.path);
    // A transfer in rclone's counts, whose bytes the server moved, and a delete.
    let stats = &ctx.job.stats;
    stats.queue_transfer(old.size);
    stats.add_bytes(old.size);
    stats.transfer_done();
    stats.server_side_done(old.size);
    stats.deleted(old.size);
    Ok(true)
}

/// Sends the new files that matched nothing, through transfer workers of their own.
async fn send_all(ctx: &Arc<Ctx>, files: Vec<Entry>) {
    if files.is_empty() {
        return;
    }
    let workers = ctx.job.opts.transfers.max(1);
    let (tx, rx) = mpsc::channel::<Queued>(workers * 4);
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (ctx, rx) = (ctx.clone(), rx.clone());
        set.spawn(async move {
            while let Some(q) = crate::sync::next(&rx).await {
                transfer::transfer(&ctx, q).await;
            }
        });
    }
    let (gate, _) = tokio::sync::watch::channel(true);
    let sender = crate::sync::Sender {
        tx: &tx,
        gate: &gate,
    };
    for f in files {
        crate::sync::send(ctx, f, None, &sender).await;
    }
    // The last of the run's transfers is queued.
    ctx.job.stats.set_totals_final();
    drop(tx);
    while set.join_next().await.is_some() {}
}

//! Transferring one file: server-side or kernel copy when possible, else a
//! streamed copy that is counted, throttled and hashed on the way.

use std::sync::Arc;

use ferry_core::units::size_suffix;
use ferry_core::Declared;
use ferry_core::{Backend, Entry, Error, ErrorKind, HashKind, PutOptions, RelPath, Result};

use crate::account::{Accounted, Overrun, StreamHashes};
use crate::sync::{Ctx, Queued};
use crate::{ActionKind, Mode, Verify};

/// Copies (or moves) `src` over `dst` (`None`: new file), from the source or from a
/// `--copy-dest` directory holding the same file. Failures are recorded in `ctx`.
pub(crate) async fn transfer(ctx: &Arc<Ctx>, q: Queued) {
    let Queued { src, dst, from } = q;
    // Where the copy goes: over the destination file that was matched (which may differ
    // in case or normalization, under --ignore-case-sync), else under the source's name.
    let to = dst
        .as_ref()
        .map_or_else(|| src.path.clone(), |d| d.path.clone());
    if !ctx.limits.may_start(src.size, &ctx.job.stats) {
        return;
    }
    let moving = ctx.job.mode == Mode::Move;
    let verb = if moving { "move" } else { "copy" };
    if ctx.job.opts.dry_run {
        if let (Some(old), Some(backup)) = (&dst, &ctx.job.backup) {
            // The file this copy would replace would go to the backup first.
            let onto = match backup.target(&old.path) {
                Ok(to) if to != old.path => format!(" to {to}"),
                _ => String::new(),
            };
            tracing::warn!(
                "{}: Skipped move{onto} as --dry-run is set (size {})",
                old.path,
                size_suffix(old.size)
            );
        }
        // copyto/moveto name the file by its real name, as rclone; a move says where to
        // when the name changes.
        let name = ctx.src_name(&src.path);
        let onto = if moving && name != src.path.as_str() {
            format!(" to {}", src.path)
        } else {
            String::new()
        };
        tracing::warn!(
            "{name}: Skipped {verb}{onto} as --dry-run is set (size {})",
            size_suffix(src.size)
        );
        ctx.job.stats.add_bytes(src.size);
        ctx.job.stats.transfer_done();
        ctx.observe(src.path.as_str(), ActionKind::SkippedDryRun, src.size, None);
        // The directory's time would change with it: rclone's dry run says so too.
        ctx.touched(&to);
        return;
    }
    if dst.is_some() && !ctx.confirm(verb, &src.path) {
        return;
    }
    // On the "transferring" list until this function returns.
    let _flight = ctx.job.stats.start_transfer(src.path.as_str(), src.size);
    if let Err(e) = ctx.dst_root_ready().await {
        // Named by the file that needed the root, as any other failure of its copy.
        return fail_transfer(ctx, &src, moving, &e);
    }
    // Once the old file is in the backup, the copy makes a new one, as rclone says.
    let mut replacing = dst.is_some();
    if let Some(old) = &dst {
        if let Some(backup) = &ctx.job.backup {
            match backup.save(&ctx.job.dst, old).await {
                Ok(saved) => {
                    saved.log(&old.path, &ctx.job.stats, old.size);
                    ctx.observe(old.path.as_str(), ActionKind::BackedUp, old.size, None);
                    replacing = false;
                }
                Err(e) => return ctx.fail(&e),
            }
        }
    }
    let result = match &from {
        // From a --copy-dest directory, any copy that sent no bytes is "server-side".
        Some(dir) => copy_with_retries(ctx, dir, &src, &to)
            .await
            .map(|(_, server_side)| Done::Copied { server_side }),
        None if moving => move_file(ctx, &src, &to).await,
        None => copy_with_retries(ctx, &ctx.job.src, &src, &to)
            .await
            .map(|(_, copied)| Done::Copied {
                server_side: copied && ctx.job.dst.features().caps.server_side_copy(),
            }),
    };
    match result {
        Ok(done) => {
            let renamed = done == Done::Renamed;
            if let Some(old) = dst.as_ref().filter(|_| renamed && replacing) {
                // The move took the old file's place; rclone deletes it first, and says so.
                tracing::info!("{}: Deleted", old.path);
                ctx.job.stats.deleted(old.size);
            }
            let (what, kind) = match (done, replacing) {
                (Done::Renamed, _) => ("Moved (server-side)", ActionKind::Moved),
                (Done::Copied { server_side: true }, false) => {
                    ("Copied (server-side copy)", ActionKind::CopiedNew)
                }
                (Done::Copied { server_side: true }, true) => {
                    ("Copied (server-side copy)", ActionKind::CopiedReplaced)
                }
                // rclone's words for a file of unknown size, which it streams (Rcat).
                (_, false) if src.size_unknown => ("Copied (Rcat, new)", ActionKind::CopiedNew),
                (_, true) if src.size_unknown => (
                    "Copied (Rcat, replaced existing)",
                    ActionKind::CopiedReplaced,
                ),
                (_, false) => ("Copied (new)", ActionKind::CopiedNew),
                (_, true) => ("Copied (replaced existing)", ActionKind::CopiedReplaced),
            };
            // A file the source shows under a new name is named by its real one, as rclone;
            // one matched under another case (--ignore-case-sync) by the name it keeps.
            match ctx.src_name(&src.path) {
                real if real != src.path.as_str() => tracing::info!("{real}: {what} to: {to}"),
                _ => tracing::info!("{to}: {what}"),
            }
            ctx.job.stats.transfer_done();
            ctx.observe(to.as_str(), kind, src.size, None);
            ctx.touched(&to);
            // As rclone, a move keeps a source whose copy came from a --copy-dest
            // directory into an empty place.
            // A move made of a copy and a delete counts as a rename too, as rclone's.
            if moving
                && !renamed
                && !(from.is_some() && dst.is_none())
                && delete_source(ctx, &src).await
            {
                ctx.job.stats.renamed();
            }
        }
        Err(e) => fail_transfer(ctx, &src, moving, &e),
    }
}

/// Records that copying (or moving) `src` failed with `e`: one error line naming the
/// file, the step and the cause.
fn fail_transfer(ctx: &Ctx, src: &Entry, moving: bool, e: &Error) {
    if ctx.limits.tripped() != crate::limits::Tripped::None {
        tracing::error!("{}: {}", src.path, e.message());
        return;
    }
    let verb = if moving { "move" } else { "copy" };
    ctx.fail_step(&format!("Failed to {verb}"), &ctx.src_name(&src.path), e);
}

/// How a transfer was done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Done {
    /// Copied by the server, or through this machine.
    Copied {
        server_side: bool,
    },
    Renamed,
}

/// A rename when both sides share a namespace, else a copy.
async fn move_file(ctx: &Arc<Ctx>, src: &Entry, to: &RelPath) -> Result<Done> {
    // A rename keeps the metadata as it is; keys to add need a copy that writes them.
    let o = &ctx.job.opts;
    let copy = || async {
        copy_with_retries(ctx, &ctx.job.src, src, to)
            .await
            .map(|(_, copied)| Done::Copied {
                server_side: copied && ctx.job.dst.features().caps.server_side_copy(),
            })
    };
    if (o.metadata && !o.metadata_set.is_empty()) || !o.metadata_upload.is_empty() {
        return copy().await;
    }
    if let Some(_moved) = ctx
        .job
        .dst
        .move_declared(&*ctx.job.src, &src.path, to)
        .await?
    {
        ctx.job.stats.renamed();
        ctx.job.stats.server_side_moved(src.size);
        ctx.job.stats.add_bytes(src.size);
        return Ok(Done::Renamed);
    }
    copy().await
}

/// Copies `src`'s path from `from` (the source, or a `--copy-dest` directory); the stored
/// entry, and whether the destination copied it itself (server-side, or a local fast path).
async fn copy_with_retries(
    ctx: &Arc<Ctx>,
    from: &Arc<dyn Backend>,
    src: &Entry,
    dst_path: &RelPath,
) -> Result<(Entry, bool)> {
    let tries = ctx.job.opts.low_level_retries.max(1);
    let mut attempt = 1;
    loop {
        match copy_once(ctx, from, src, dst_path).await {
            Err(e) if e.is_temporary() && attempt < tries && !ctx.limits.stopping() => {
                tracing::debug!(
                    "{}: Received error: {e} - low level retry {attempt}/{tries}",
                    src.path
                );
                ferry_core::retry::Backoff::DEFAULT.wait(attempt).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

async fn copy_once(
    ctx: &Arc<Ctx>,
    from: &Arc<dyn Backend>,
    src: &Entry,
    dst_path: &RelPath,
) -> Result<(Entry, bool)> {
    let to = &ctx.job.dst;
    fits(&**to, src)?;
    let flight = ctx.job.stats.flight(src.path.as_str());
    if let Some(f) = &flight {
        f.restart();
    }
    let mut opts = PutOptions {
        size: src.size,
        mtime: if ctx.job.opts.preserve_modtime {
            src.mtime
        } else {
            std::time::SystemTime::now()
        },
        inplace: ctx.job.opts.inplace,
        hashes: src.hashes.clone(),
        metadata: metadata_for(ctx, src).await?,
    };
    // A kernel or server-side copy can't be throttled or cut mid-file, so --bwlimit and
    // a hard --max-transfer stream the data instead.
    if !ctx.limits.needs_stream() {
        if let Some(done) = to
            .copy_declared(&**from, &src.path, dst_path, &opts)
            .await?
        {
            ctx.job.stats.add_bytes(src.size);
            if let Some(f) = &flight {
                f.complete();
            }
            // Counted when the server made it, not a local fast path (a kernel copy).
            if to.features().caps.server_side_copy() {
                ctx.job.stats.server_side_done(src.size);
            }
            return Ok((done, true));
        }
    }
    // From here the bytes come from the source: a `--copy-dest` file that can't be copied
    // server-side is the same file, so nothing is gained by reading it instead.
    // Whichever way the bytes are then read, a source without an MD5 is not read at all.
    if ctx.job.opts.verify == Verify::FailIfMissing {
        require_source_md5(ctx, src).await?;
    }
    if src.size_unknown {
        return spooled_copy(ctx, src, dst_path, &mut opts, flight).await;
    }
    if let Some(stored) = crate::ranged::ranged_copy(ctx, src, dst_path, &mut opts, &flight).await?
    {
        return Ok((stored, false));
    }
    // Hash the stream only when there is a known value to check it against: the
    // source's listed hash, or one the destination reports for what it stored; and not
    // when the destination checks what it stores against the source's own hashes
    // (unless a mismatch is only to be logged, which only this check does).
    let verifies = ctx.job.opts.verify != Verify::LogOnly && to.put_verifies(dst_path, &opts);
    let kinds = ctx
        .hash
        .filter(|_| ctx.job.opts.verify != Verify::Off && !verifies)
        .filter(|k| src.hashes.get(*k).is_some() || to.features().caps.put_returns_hashes)
        .into_iter()
        .collect();
    let hashes = StreamHashes::new(kinds);
    let reader = open_for_copy(ctx, src, 0, None, &mut opts).await?;
    let overrun = Overrun::default();
    let counted = Accounted::new(
        reader,
        ctx.job.stats.clone(),
        ctx.limits.clone(),
        hashes.clone(),
    )
    .bounded(src.size, overrun.clone())
    .for_file(flight)
    .per_file(ctx.limits.file_bucket());
    let stored = to
        .put(dst_path, Box::pin(counted), &opts)
        .await
        .map_err(|e| overrun_or(e, &overrun, src))?;
    verify(ctx, src, dst_path, &stored, &hashes).await?;
    Ok((stored, false))
}

/// A source of unknown size (see [`crate::spool`]): read whole first, counted and
/// hashed as it arrives, then written with the size it turned out to have. Only the
/// destination's own hash of what it stored can be checked (the source lists none).
async fn spooled_copy(
    ctx: &Arc<Ctx>,
    src: &Entry,
    dst_path: &RelPath,
    opts: &mut PutOptions,
    flight: Option<Arc<crate::stats::Flight>>,
) -> Result<(Entry, bool)> {
    let to = &ctx.job.dst;
    let kinds = ctx
        .hash
        .filter(|_| ctx.job.opts.verify != Verify::Off)
        .filter(|_| to.features().caps.put_returns_hashes)
        .into_iter()
        .collect();
    let hashes = StreamHashes::new(kinds);
    let reader = open_for_copy(ctx, src, 0, None, opts).await?;
    let counted = Accounted::new(
        reader,
        ctx.job.stats.clone(),
        ctx.limits.clone(),
        hashes.clone(),
    )
    .for_file(flight)
    .per_file(ctx.limits.file_bucket());
    let spooled = crate::spool::spool(counted, &src.path).await?;
    opts.size = spooled.len();
    tracing::debug!("{}: size unknown until read: {} bytes", src.path, opts.size);
    let known = Entry {
        size: opts.size,
        size_unknown: false,
        ..src.clone()
    };
    fits(&**to, &known)?;
    let stored = to.put(dst_path, spooled.into_stream(), opts).await?;
    verify(ctx, src, dst_path, &stored, &hashes).await?;
    Ok((stored, false))
}

/// A write that failed because the source overran its size fails as a size mismatch:
/// temporary (the source may be mid-update), so the file is retried, and the backend
/// kept nothing under the final name.
/// A file bigger than the destination can hold fails before any byte is sent (an
/// upload would fail only after sending the limit's worth).
fn fits(to: &dyn Backend, src: &Entry) -> Result<()> {
    match to.features().caps.max_object_size {
        Some(max) if src.size > max => Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "file too large for {}: {} bytes, the most it can store is {max}",
                to.describe(),
                src.size
            ),
        )
        .with_path(src.path.to_string())),
        _ => Ok(()),
    }
}

pub(crate) fn overrun_or(err: Error, overrun: &Overrun, src: &Entry) -> Error {
    if !overrun.happened() {
        return err;
    }
    Error::new(
        ErrorKind::Corrupted,
        format!(
            "corrupted on transfer: sizes differ (the source sent more than its listed {} bytes); nothing was kept",
            src.size
        ),
    )
    .with_path(src.path.to_string())
    .temporary(true)
}

/// What the destination is to store as metadata: with `--metadata`, the source's
/// metadata with the `--metadata-set` keys over it; the upload keys (azcopy's flags) over
/// either. `None` when there is nothing to store, or the destination can't write metadata
/// (then only the mtime travels, as without `-M`).
async fn metadata_for(ctx: &Ctx, src: &Entry) -> Result<Option<ferry_core::Metadata>> {
    let o = &ctx.job.opts;
    if !ctx.job.dst.features().caps.metadata.write || (!o.metadata && o.metadata_upload.is_empty())
    {
        return Ok(None);
    }
    let mut m = if o.metadata {
        let mut m = source_metadata(ctx, src).await?;
        m.merge(&o.metadata_set);
        m
    } else {
        ferry_core::Metadata::new()
    };
    m.merge(&o.metadata_upload);
    Ok(Some(m))
}

async fn source_metadata(ctx: &Ctx, src: &Entry) -> Result<ferry_core::Metadata> {
    if !ctx.job.src.features().caps.metadata.read {
        return Ok(ferry_core::Metadata::new());
    }
    let m = ctx.job.src.metadata(&src.path).await.map_err(|e| {
        Error::new(
            e.kind(),
            format!(
                "failed to read metadata from source object: {}",
                e.message()
            ),
        )
        .temporary(e.is_temporary())
        .retryable(e.is_retryable())
    })?;
    Ok(m.unwrap_or_default())
}

/// Opens the source for a copy. When the listing's mtime was provisional, the read's own
/// answer (an S3 GET's metadata) gives the exact one for the destination, sparing a `stat`.
pub(crate) async fn open_for_copy(
    ctx: &Ctx,
    src: &Entry,
    offset: u64,
    len: Option<u64>,
    opts: &mut PutOptions,
) -> Result<ferry_core::ByteStream> {
    if !src.mtime_provisional {
        return ctx.job.src.open(&src.path, offset, len).await;
    }
    let (reader, seen) = ctx.job.src.open_entry(&src.path, offset, len).await?;
    match seen {
        Some(e) if !e.mtime_provisional => opts.mtime = e.mtime,
        // The read told nothing: ask once (the first range only, for ranged copies).
        _ if offset == 0 => {
            let mut exact = src.clone();
            ferry_core::exact_mtime(&*ctx.job.src, &mut exact).await?;
            opts.mtime = exact.mtime;
        }
        _ => {}
    }
    Ok(reader)
}

/// `--check-md5 FailIfDifferentOrMissing`: a source without an MD5 is not transferred.
async fn require_source_md5(ctx: &Ctx, src: &Entry) -> Result<()> {
    let known = crate::compare::known_or_compute(&*ctx.job.src, src, HashKind::Md5).await?;
    if known.is_none() {
        return Err(Error::new(
            ErrorKind::Corrupted,
            "the source has no MD5 to check the transfer against (--check-md5 FailIfDifferentOrMissing); not copied",
        )
        .with_path(src.path.to_string()));
    }
    Ok(())
}

/// Compares the hash seen in the stream with what either side already knew.
async fn verify(
    ctx: &Ctx,
    src: &Entry,
    dst_path: &RelPath,
    stored: &Entry,
    seen: &StreamHashes,
) -> Result<()> {
    let Some(kind) = ctx.hash.filter(|_| ctx.job.opts.verify != Verify::Off) else {
        return Ok(());
    };
    let Some(streamed) = seen.finish().get(kind).map(str::to_owned) else {
        return Ok(());
    };
    for (side, known) in [
        ("source", src.hashes.get(kind)),
        ("destination", stored.hashes.get(kind)),
    ] {
        if let Some(known) = known {
            compare_hash(ctx, dst_path, kind, side, known, &streamed).await?;
        }
    }
    Ok(())
}

/// A known hash against the transferred bytes' one: a mismatch removes the copy and fails
/// the file (retried), or under `--check-md5 LogOnly` is reported and kept.
pub(crate) async fn compare_hash(
    ctx: &Ctx,
    dst_path: &RelPath,
    kind: HashKind,
    side: &str,
    known: &str,
    transferred: &str,
) -> Result<()> {
    if known.eq_ignore_ascii_case(transferred) {
        return Ok(());
    }
    if ctx.job.opts.verify == Verify::LogOnly {
        tracing::error!(
            "{dst_path}: {kind} hashes differ ({side} {known} vs transferred {transferred}); kept, as --check-md5 LogOnly asks"
        );
        return Ok(());
    }
    let _ = ctx.job.dst.delete_file(dst_path).await;
    Err(Error::new(
        ErrorKind::Corrupted,
        format!(
            "corrupted on transfer: {kind} hashes differ ({side} {known} vs transferred {transferred}); the bad copy was removed"
        ),
    )
    .temporary(true))
}

/// Sets the destination's mtime to the source's (content already matches).
pub(crate) async fn fix_modtime(ctx: &Arc<Ctx>, src: &Entry, to: &RelPath) {
    if ctx.job.opts.dry_run {
        tracing::warn!("{to}: Skipped update modification time as --dry-run is set");
        return;
    }
    if !ctx.confirm("update modification time", to) {
        return;
    }
    match ctx.job.dst.set_modtime(to, src.mtime).await {
        Ok(()) => {
            tracing::info!("{to}: Updated modification time in destination");
            // A file's new time leaves its directory's alone: rclone marks a directory
            // changed only by a transfer into it.
            ctx.observe(to.as_str(), ActionKind::ModtimeUpdated, src.size, None);
        }
        // Recorded by kind and words alone, as it always was (not as temporary).
        Err(e) => ctx.fail_step(
            "Failed to set modification time",
            to.as_str(),
            &Error::new(e.kind(), e.message()),
        ),
    }
}

/// A file that needed no transfer: under `move` its source copy goes, unless it is the
/// destination's file itself (a file moved onto its own name, or reached again through a
/// symlinked directory, a bind mount or a case-insensitive name): deleting it would
/// delete the only copy.
pub(crate) async fn after_equal(ctx: &Arc<Ctx>, src: &Entry, dst: &RelPath) {
    if ctx.job.mode != Mode::Move {
        return;
    }
    match is_destination_file(ctx, src, dst) {
        Ok(false) => {
            delete_source(ctx, src).await;
        }
        Ok(true) => tracing::debug!(
            "{}: Not deleting source as it is the destination file itself",
            src.path
        ),
        Err(e) => ctx.fail(
            &Error::new(
                ErrorKind::Io,
                format!("can't tell whether the source is the destination file ({e}): source not deleted"),
            )
            .with_path(src.path.to_string()),
        ),
    }
}

/// Whether `src` and the destination's entry it was matched with, `dst`, are one file:
/// the same name in the same place (the source's real name, where it shows another), or
/// on local disks the same file (device and inode).
pub(crate) fn is_destination_file(ctx: &Ctx, src: &Entry, dst: &RelPath) -> std::io::Result<bool> {
    if ctx.job.src.location() == ctx.job.dst.location() && ctx.src_name(&src.path) == dst.as_str() {
        return Ok(true);
    }
    match (
        ctx.job.src.local_path(&src.path),
        ctx.job.dst.local_path(dst),
    ) {
        (Some(a), Some(b)) => same_file::is_same_file(a, b),
        _ => Ok(false),
    }
}

/// Deletes a moved (or already present) file's source; whether it went. Counted as
/// rclone counts it: a check and a deleted file, under `--max-delete` and
/// `--max-delete-size` as any delete (a file moved on the server deletes nothing).
async fn delete_source(ctx: &Arc<Ctx>, src: &Entry) -> bool {
    let name = ctx.src_name(&src.path);
    if !crate::deletes::take_slot(ctx, src.size) {
        return false;
    }
    if ctx.job.opts.dry_run {
        tracing::warn!(
            "{name}: Skipped delete as --dry-run is set (size {})",
            size_suffix(src.size)
        );
        return false;
    }
    match ctx.job.src.delete_file(&src.path).await {
        Ok(()) => {
            tracing::info!("{name}: Deleted");
            ctx.job.stats.moved_away(src.size);
            true
        }
        Err(e) => {
            ctx.fail(&e);
            false
        }
    }
}

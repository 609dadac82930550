//! `--compare-dest` and `--copy-dest`: directories consulted before a file is sent.
//!
//! A source file about to be transferred is looked up, by its path, in each directory in
//! turn. Where one holds an identical copy (the same comparison as against the
//! destination, never updating a time), `--compare-dest` skips the file and
//! `--copy-dest` copies that copy into the destination, server-side where the backends
//! allow (else streamed, with the same bytes). As in rclone, a move then deletes its
//! source only where the destination already had a (different) file of that name.

use std::sync::Arc;

use ferry_core::{Backend, Entry, ErrorKind};

use crate::compare::{modify_window, Comparer};
use crate::sync::Ctx;

/// What the directories are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AltKind {
    /// `--compare-dest`: an identical file there means nothing to send.
    Compare,
    /// `--copy-dest`: an identical file there is copied into the destination.
    Copy,
}

/// The `--compare-dest` or `--copy-dest` directories, in the order given.
#[derive(Clone)]
pub struct AltDests {
    pub kind: AltKind,
    pub dirs: Vec<Arc<dyn Backend>>,
}

/// What the consultation found for one file.
pub(crate) enum Consulted {
    /// Nothing identical: transfer from the source as usual.
    NotFound,
    /// `--compare-dest` holds it: nothing to send.
    Spared,
    /// `--copy-dest` holds it: copy from there.
    CopyFrom(Arc<dyn Backend>),
}

/// Looks `src` up in the directories.
pub(crate) async fn consult(ctx: &Ctx, src: &mut Entry) -> Consulted {
    let Some(alt) = &ctx.job.alt_dests else {
        return Consulted::NotFound;
    };
    for dir in &alt.dirs {
        let mut found = match dir.stat(&src.path).await {
            Ok(Some(e)) if !e.is_dir() => e,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => {
                // As rclone: the error counts, and the file is sent anyway.
                ctx.fail(&e);
                return Consulted::NotFound;
            }
        };
        let o = &ctx.job.opts.compare;
        let comparer = Comparer {
            opts: o,
            src: &*ctx.job.src,
            dst: &**dir,
            window: modify_window(o, &*ctx.job.src, &**dir),
            hash: ctx
                .job
                .src
                .features()
                .semantics
                .hashes
                .intersect(dir.features().semantics.hashes)
                .preferred(),
            journal: None,
        };
        match comparer.same(src, &mut found).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                ctx.fail(&e);
                return Consulted::NotFound;
            }
        }
        return match alt.kind {
            AltKind::Compare => {
                tracing::debug!(
                    "{}: Destination found in --compare-dest, skipping",
                    src.path
                );
                Consulted::Spared
            }
            AltKind::Copy => {
                tracing::debug!("{}: Destination found in --copy-dest, copying", src.path);
                Consulted::CopyFrom(dir.clone())
            }
        };
    }
    Consulted::NotFound
}

//! The march: walks two backends side by side, directory by directory.
//!
//! Each directory is listed on both sides at once, both listings are sorted by the
//! matching key (NFC, case-folded where matching is case-insensitive) and merged, so
//! memory holds a handful of directory listings at a time, never the tree. Up to
//! `width` directory pairs are listed concurrently; the bounded channel to the
//! consumer applies back-pressure when checks or transfers fall behind.

use std::cmp::Ordering;
use std::sync::Arc;

use ferry_core::{match_key, Backend, Entry, Error, ErrorKind, HashKind, Listing, RelPath, Result};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::{Select, Stats};

/// One thing the march found.
#[derive(Debug)]
pub(crate) enum Found {
    /// A file on one side or both.
    File {
        src: Option<Entry>,
        dst: Option<Entry>,
    },
    /// A directory on one side or both (never the root).
    Dir {
        path: RelPath,
        src: Option<Entry>,
        dst: Option<Entry>,
    },
    /// A directory found to hold an `--exclude-if-present` marker once listed: it was
    /// announced as a [`Found::Dir`] by its parent, and is now to be left alone.
    Excluded(RelPath),
    /// A problem with one path; the march goes on.
    Error(Error),
}

pub(crate) struct MarchConfig {
    pub src: Arc<dyn Backend>,
    pub dst: Arc<dyn Backend>,
    pub select: Arc<dyn Select>,
    pub stats: Arc<Stats>,
    pub normalize: bool,
    pub ignore_case: bool,
    /// When the source is a single file: only this name, at the root, takes part.
    pub only_name: Option<String>,
    /// List directories that exist only at the destination (to delete or report them).
    pub descend_dst_only: bool,
    /// Keep destination entries the filters exclude (they are deleted: `--delete-excluded`).
    pub keep_excluded_dst: bool,
    /// List the destination at all (`--no-check-dest` turns it off).
    pub list_dst: bool,
    pub width: usize,
    /// `--fix-case`: destination directories whose names match the source's only when
    /// case is ignored are renamed before their contents are listed.
    pub fix_case: Option<crate::fixcase::CaseFixer>,
    /// The hash every listed file will be compared by (`--checksum`, `check`).
    pub hashes: Option<HashKind>,
    /// Tries of one directory's listing that fails temporarily (`--low-level-retries`).
    pub list_tries: u32,
}

struct DirJob {
    path: RelPath,
    /// Where the directory is at the destination: `path`, unless the names matched only
    /// with case ignored.
    dst_path: RelPath,
    src: bool,
    dst: bool,
}

/// Walks both trees, sending what it finds. Fails only if the source root can't be listed.
pub(crate) async fn march(cfg: Arc<MarchConfig>, tx: mpsc::Sender<Found>) -> Result<()> {
    // Every directory will be listed: a backend may list a small tree in one go.
    let whole_tree =
        cfg.only_name.is_none() && !(cfg.select.is_active() && cfg.select.uses_directory_filters());
    if let Some(kind) = cfg.hashes {
        cfg.src.expect_hashes(kind);
        if cfg.list_dst {
            cfg.dst.expect_hashes(kind);
        }
    }
    if whole_tree {
        cfg.src.expect_tree_walk();
        if cfg.list_dst {
            cfg.dst.expect_tree_walk();
        }
    }
    let mut pending = vec![DirJob {
        path: RelPath::root(),
        dst_path: RelPath::root(),
        src: true,
        dst: cfg.list_dst,
    }];
    let mut running = JoinSet::new();
    loop {
        while running.len() < cfg.width.max(1) {
            let Some(job) = pending.pop() else { break };
            let cfg = cfg.clone();
            running.spawn(async move { list_pair(&cfg, job).await });
        }
        let Some(joined) = running.join_next().await else {
            return Ok(());
        };
        let (found, subdirs) = match joined {
            Ok(Ok(listed)) => listed,
            Ok(Err(e)) => return Err(e),
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!("listing task failed: {e}"),
                ))
            }
        };
        pending.extend(subdirs.into_iter().rev());
        // One directory pair is listed; others may be listing, or not yet begun.
        ferry_core::crash::point(ferry_core::crash::MID_LISTING);
        for item in found {
            if tx.send(item).await.is_err() {
                return Ok(()); // the consumer stopped
            }
        }
    }
}

/// Lists one directory on both sides and merges the listings.
async fn list_pair(cfg: &MarchConfig, job: DirJob) -> Result<(Vec<Found>, Vec<DirJob>)> {
    let is_root = job.path.is_root();
    let (src, dst) = tokio::join!(
        list_side(cfg, &*cfg.src, &job.path, job.src),
        list_side(cfg, &*cfg.dst, &job.dst_path, job.dst)
    );
    let mut found = Vec::new();
    // Entries a side could not read are errors of the run: they stop all deletes.
    let (src, dst) = (
        src.map(|l| unread(l, &mut found)),
        dst.map(|l| unread(l, &mut found)),
    );
    let src = match src {
        Ok(list) => list,
        Err(e) if is_root => return Err(e),
        Err(e) => {
            found.push(Found::Error(e));
            return Ok((found, Vec::new()));
        }
    };
    let dst = match dst {
        Ok(list) => list,
        Err(e) if is_root && e.kind() == ErrorKind::DirNotFound => Vec::new(),
        Err(e) => {
            // Without the destination listing nothing can be compared safely.
            found.push(Found::Error(e));
            return Ok((found, Vec::new()));
        }
    };
    // A single named file is looked up, not listed (rclone counts no listing for it).
    if cfg.only_name.is_none() {
        cfg.stats.listed((src.len() + dst.len()) as u64);
    }
    let mut src = src;
    // A marked directory (the root too) is out of scope on both sides: unlike rclone,
    // whose sync deletes the destination's copy of a directory the source marks (its
    // issue #4523, a known bug), as for every other exclusion.
    if has_marker(cfg, &src, &dst) {
        tracing::debug!("{}: Excluded by --exclude-if-present", job.path);
        if !cfg.keep_excluded_dst {
            found.push(Found::Excluded(job.path.clone()));
            return Ok((found, Vec::new()));
        }
        // With --delete-excluded the destination's copy of an excluded directory goes.
        src.clear();
    }
    let src = select(cfg, src, false);
    let dst = select(cfg, dst, cfg.keep_excluded_dst);
    let (src, dst) = if cfg.only_name.is_none() {
        tokio::join!(
            crate::select::by_metadata(&*cfg.select, &*cfg.src, src),
            async {
                if cfg.keep_excluded_dst {
                    dst
                } else {
                    crate::select::by_metadata(&*cfg.select, &*cfg.dst, dst).await
                }
            }
        )
    } else {
        (src, dst)
    };
    let by_type = cfg.dst.features().semantics.bucket_dirs;
    let src = keyed(cfg, src, "source", by_type, &mut found);
    let dst = keyed(cfg, dst, "destination", by_type, &mut found);
    let mut subdirs = Vec::new();
    merge(src, dst, |s, d| pair(cfg, s, d, &mut found, &mut subdirs));
    if let Some(fixer) = &cfg.fix_case {
        fix_dir_case(fixer, &mut subdirs, &mut found).await;
    }
    Ok((found, subdirs))
}

/// `--fix-case`: renames each destination directory named differently from its source,
/// so that what lies below it is listed, and written, under the source's name.
async fn fix_dir_case(
    fixer: &crate::fixcase::CaseFixer,
    subdirs: &mut [DirJob],
    found: &mut Vec<Found>,
) {
    for job in subdirs.iter_mut() {
        if !(job.src && job.dst) || job.dst_path == job.path {
            continue;
        }
        match fixer.dir(&job.dst_path, &job.path).await {
            Ok(true) => job.dst_path = job.path.clone(),
            Ok(false) => {}
            Err(e) => found.push(Found::Error(e)),
        }
    }
}

async fn list_side(
    cfg: &MarchConfig,
    backend: &dyn Backend,
    dir: &RelPath,
    wanted: bool,
) -> Result<Listing> {
    if !wanted {
        return Ok(Listing::new());
    }
    // A directory's listing is whole or nothing here, so a listing cut by a dropped
    // connection is read again from its start, after ferry's growing pause: backends
    // without retries of their own (FTP, SMB) then ride out a server's restart, as
    // rclone's per-backend pacers do.
    let only = cfg.only_name.as_deref();
    let mut list = ferry_core::retry::Backoff::DEFAULT
        .retry(
            cfg.list_tries,
            |e: &ferry_core::Error| e.is_temporary(),
            || crate::walk::list_dir_or_file(backend, dir, only),
        )
        .await?;
    crate::select::exact_for_filters(&*cfg.select, backend, &mut list.entries).await?;
    Ok(list)
}

/// A listing's entries; each entry it could not read becomes a [`Found::Error`].
fn unread(list: Listing, found: &mut Vec<Found>) -> Vec<Entry> {
    found.extend(list.errors.into_iter().map(Found::Error));
    list.entries
}

fn has_marker(cfg: &MarchConfig, src: &[Entry], dst: &[Entry]) -> bool {
    let markers = cfg.select.exclude_if_present();
    cfg.only_name.is_none()
        && !markers.is_empty()
        && src
            .iter()
            .chain(dst)
            .any(|e| !e.is_dir() && markers.iter().any(|m| m == e.name()))
}

fn select(cfg: &MarchConfig, mut list: Vec<Entry>, keep_excluded: bool) -> Vec<Entry> {
    if let Some(only) = &cfg.only_name {
        list.retain(|e| !e.is_dir() && e.name() == only);
        return list;
    }
    if cfg.select.is_active() && !keep_excluded {
        list.retain(|e| {
            if e.is_dir() {
                cfg.select.include_dir(e.path.as_str())
            } else {
                cfg.select.include_file(e.path.as_str(), e.size, e.mtime)
            }
        });
    }
    list
}

/// The key entries are matched by: the name's match key, then — `by_type`, where the
/// destination's directories are key prefixes (`Semantics::bucket_dirs`) — files before
/// directories. There an object `thing` and objects below `thing/` coexist, so as in
/// rclone a file is matched with a file and a directory with a directory, each copied on
/// its own. Elsewhere one name is one thing, and a file facing a directory is an error.
type Key = (String, bool);

/// `list` sorted by key, each key once. A file and a directory of one name in one listing
/// (an object store's) that can't both be kept are an error of the run, not silently one.
fn keyed(
    cfg: &MarchConfig,
    list: Vec<Entry>,
    side: &str,
    by_type: bool,
    found: &mut Vec<Found>,
) -> Vec<(Key, Entry)> {
    let mut keyed: Vec<(Key, Entry)> = list
        .into_iter()
        .map(|e| {
            let key = match_key(e.name(), cfg.normalize, cfg.ignore_case);
            ((key, by_type && e.is_dir()), e)
        })
        .collect();
    // Of a file and a directory that can't both be kept the directory stays, as rclone
    // copies what lies below it.
    keyed.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.name().cmp(b.1.name()))
            .then_with(|| b.1.is_dir().cmp(&a.1.is_dir()))
    });
    keyed.dedup_by(|later, first| {
        let dup = later.0 == first.0;
        if dup && later.1.is_dir() != first.1.is_dir() {
            found.push(Found::Error(
                Error::new(
                    ErrorKind::Io,
                    format!("is both a file and a directory in the {side}, which can't both be at the destination"),
                )
                .with_path(later.1.path.to_string()),
            ));
        } else if dup {
            tracing::warn!(
                "{}: Duplicate object found in {side} - ignoring",
                later.1.path
            );
        }
        dup
    });
    keyed
}

/// Merges two key-sorted listings, calling `f` once per key.
fn merge(
    src: Vec<(Key, Entry)>,
    dst: Vec<(Key, Entry)>,
    mut f: impl FnMut(Option<Entry>, Option<Entry>),
) {
    let mut src = src.into_iter().peekable();
    let mut dst = dst.into_iter().peekable();
    loop {
        let order = match (src.peek(), dst.peek()) {
            (None, None) => return,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(s), Some(d)) => s.0.cmp(&d.0),
        };
        match order {
            Ordering::Less => f(src.next().map(|x| x.1), None),
            Ordering::Greater => f(None, dst.next().map(|x| x.1)),
            Ordering::Equal => f(src.next().map(|x| x.1), dst.next().map(|x| x.1)),
        }
    }
}

fn pair(
    cfg: &MarchConfig,
    src: Option<Entry>,
    dst: Option<Entry>,
    found: &mut Vec<Found>,
    subdirs: &mut Vec<DirJob>,
) {
    let src_dir = src.as_ref().map(Entry::is_dir);
    let dst_dir = dst.as_ref().map(Entry::is_dir);
    match (src_dir, dst_dir) {
        (Some(true), Some(false)) | (Some(false), Some(true)) => {
            let path = src.map(|e| e.path).unwrap_or_default();
            found.push(Found::Error(
                Error::new(
                    ErrorKind::Io,
                    "is a file on one side and a directory on the other; remove one of them to sync this path",
                )
                .with_path(path.to_string()),
            ));
        }
        (Some(true), _) | (None, Some(true)) => {
            let path = src
                .as_ref()
                .or(dst.as_ref())
                .map(|e| e.path.clone())
                .unwrap_or_default();
            // Beyond --max-depth a directory is not entered, except one only the
            // destination has under --delete-excluded: it goes whole, as in rclone.
            let enter = cfg.select.within_depth(path.as_str(), true)
                || (src.is_none() && cfg.keep_excluded_dst);
            if !enter {
                return;
            }
            let dst_path = dst
                .as_ref()
                .map_or_else(|| path.clone(), |e| e.path.clone());
            let job = DirJob {
                path: path.clone(),
                dst_path,
                src: src.is_some(),
                dst: dst.is_some(),
            };
            if job.src || cfg.descend_dst_only {
                subdirs.push(job);
            }
            found.push(Found::Dir { path, src, dst });
        }
        _ => found.push(Found::File { src, dst }),
    }
}

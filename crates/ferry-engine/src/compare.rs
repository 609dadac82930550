//! Deciding whether a file needs transferring (rclone's `NeedTransfer` and `equal`).

use std::time::{Duration, SystemTime};

use ferry_core::{Backend, Entry, HashKind, Result};

use crate::journal::{Known, Side};
use crate::CompareOptions;

/// What the checkers decided for one file present on both sides.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Identical: nothing to do.
    Equal,
    /// Content identical, mtime differs: set the destination's mtime.
    FixModtime,
    /// Copy the source over the destination.
    Transfer,
    /// Left alone on purpose (`--ignore-existing`, `--update`).
    Skip,
}

/// Everything the comparison needs besides the two entries.
pub(crate) struct Comparer<'a> {
    pub opts: &'a CompareOptions,
    pub src: &'a dyn Backend,
    pub dst: &'a dyn Backend,
    /// The modify window; `None` when either side keeps no modification times.
    pub window: Option<Duration>,
    pub hash: Option<HashKind>,
    /// Destination mtimes known from earlier runs.
    pub journal: Option<&'a crate::journal::Journal>,
}

/// The modify window: the coarser precision of the two sides, unless overridden.
pub(crate) fn modify_window(
    opts: &CompareOptions,
    src: &dyn Backend,
    dst: &dyn Backend,
) -> Option<Duration> {
    let a = src.features().semantics.modtime_precision?;
    let b = dst.features().semantics.modtime_precision?;
    Some(opts.modify_window.unwrap_or(a.max(b)))
}

fn signed_diff(a: SystemTime, b: SystemTime) -> (Duration, bool) {
    match a.duration_since(b) {
        Ok(d) => (d, true),
        Err(e) => (e.duration(), false),
    }
}

impl Comparer<'_> {
    /// Decides for `src` and `dst`; a provisional mtime that the decision turns on is
    /// made exact in place (so a later mtime fix or transfer uses the real one).
    pub(crate) async fn decide(&self, src: &mut Entry, dst: &mut Entry) -> Result<Decision> {
        let o = self.opts;
        if o.ignore_existing {
            tracing::debug!("{}: Destination exists, skipping", src.path);
            return Ok(Decision::Skip);
        }
        if o.ignore_times {
            tracing::debug!(
                "{}: Transferring unconditionally as --ignore-times is in use",
                src.path
            );
            return Ok(Decision::Transfer);
        }
        if o.hash_required {
            return self.strict_hashes(src, dst).await;
        }
        let mut size_only = o.size_only;
        if o.update {
            self.exact_mtimes(src, dst).await?;
            let window = self.window.unwrap_or(Duration::from_secs(1));
            let (dt, dst_newer) = signed_diff(dst.mtime, src.mtime);
            if dt >= window && dst_newer {
                tracing::debug!("{}: Destination is newer than source, skipping", src.path);
                return Ok(Decision::Skip);
            } else if dt >= window {
                return self.newer_source(src, dst).await;
            } else {
                size_only = !o.checksum;
            }
        }
        self.equal(src, dst, size_only, o.checksum, !o.no_update_modtime)
            .await
    }

    /// rclone's `equal` without updating times: whether `other` (in a `--compare-dest` or
    /// `--copy-dest` directory) holds the same file as `src`.
    pub(crate) async fn same(&self, src: &mut Entry, other: &mut Entry) -> Result<bool> {
        let o = self.opts;
        let decision = self
            .equal(src, other, o.size_only, o.checksum, false)
            .await?;
        Ok(decision == Decision::Equal)
    }

    /// Both sides' exact mtimes (one request each, at most, for provisional ones; none
    /// for an object the journal knows in this listed state).
    async fn exact_mtimes(&self, src: &mut Entry, dst: &mut Entry) -> Result<()> {
        // Each side's journal answer may need the other side's content as listed.
        let from_src = self.journaled(Side::Src, src, self.dst, dst).await;
        let from_dst = self.journaled(Side::Dst, dst, self.src, src).await;
        for (e, known) in [(&mut *src, from_src), (&mut *dst, from_dst)] {
            if let Some(mtime) = known {
                e.mtime = mtime;
                e.mtime_provisional = false;
            }
        }
        tokio::try_join!(
            self.exact_mtime(Side::Src, self.src, src),
            self.exact_mtime(Side::Dst, self.dst, dst)
        )?;
        Ok(())
    }

    /// What the journal can tell of `e`'s real mtime: exactly this listing, or the same
    /// object under another listed time when its content is provably `other`'s (its ETag
    /// a plain MD5 equal to `other`'s MD5, known without a request or a long read).
    async fn journaled(
        &self,
        side: Side,
        e: &Entry,
        other_side: &dyn Backend,
        other: &Entry,
    ) -> Option<SystemTime> {
        let journal = self.journal.filter(|_| e.mtime_provisional)?;
        let mtime = match journal.lookup(side, e)? {
            Known::Exactly(mtime) => return Some(mtime),
            Known::IfSameContent(mtime) => mtime,
        };
        let md5 = plain_md5(e)?;
        let theirs = match other_side.cheap_hash(other, HashKind::Md5).await {
            Ok(Some(h)) => h,
            _ => return None,
        };
        let same = theirs.eq_ignore_ascii_case(md5);
        tracing::debug!(
            "{}: journal: rewritten since recorded; content {} the other side's",
            e.path,
            if same { "is" } else { "is not" }
        );
        same.then_some(mtime)
    }

    /// One side's exact mtime, from the backend (and then journaled).
    async fn exact_mtime(&self, side: Side, backend: &dyn Backend, e: &mut Entry) -> Result<()> {
        let Some(journal) = self.journal.filter(|_| e.mtime_provisional) else {
            return ferry_core::exact_mtime(backend, e).await;
        };
        let listed = e.clone();
        ferry_core::exact_mtime(backend, e).await?;
        if !e.mtime_provisional {
            journal.record(side, &listed, e.mtime);
        }
        Ok(())
    }

    async fn equal(
        &self,
        src: &mut Entry,
        dst: &mut Entry,
        size_only: bool,
        checksum: bool,
        update_modtime: bool,
    ) -> Result<Decision> {
        if !self.opts.ignore_size && src.sizes_differ(dst) {
            tracing::debug!(
                "{}: Sizes differ (src {} vs dst {})",
                src.path,
                src.size,
                dst.size
            );
            return Ok(Decision::Transfer);
        }
        if size_only {
            return Ok(Decision::Equal);
        }
        if checksum {
            return Ok(match self.hashes_match(src, dst).await? {
                Some(false) => Decision::Transfer,
                _ => Decision::Equal,
            });
        }
        let Some(window) = self.window else {
            return Ok(Decision::Equal);
        };
        self.exact_mtimes(src, dst).await?;
        let (dt, _) = signed_diff(dst.mtime, src.mtime);
        if dt < window {
            return Ok(Decision::Equal);
        }
        tracing::debug!("{}: Modification times differ by {dt:?}", src.path);
        let matched = self.hashes_match(src, dst).await?;
        // Meanwhile the destination may have been found to keep no times at all (an SFTP
        // gateway): then, as for any backend without times, equal sizes decide.
        let dst = self.dst.features();
        let times_kept = dst.semantics.modtime_precision.is_some();
        match matched {
            Some(false) => Ok(Decision::Transfer),
            _ if !times_kept => Ok(Decision::Equal),
            Some(true) if update_modtime && dst.caps.set_modtime => Ok(Decision::FixModtime),
            Some(true) if update_modtime => Ok(Decision::Transfer),
            Some(true) => Ok(Decision::Equal),
            None if self.opts.refresh_times && dst.caps.set_modtime => Ok(Decision::FixModtime),
            None => Ok(Decision::Transfer),
        }
    }

    /// `--update` with a source newer than the destination: as rclone, the hashes decide,
    /// and when the contents are the same only the destination's time is brought forward.
    async fn newer_source(&self, src: &mut Entry, dst: &mut Entry) -> Result<Decision> {
        let o = self.opts;
        if !o.ignore_size && src.sizes_differ(dst) {
            return Ok(Decision::Transfer);
        }
        if o.size_only {
            return Ok(Decision::Equal);
        }
        let can_fix = !o.no_update_modtime && self.dst.features().caps.set_modtime;
        Ok(match self.hashes_match(src, dst).await? {
            Some(false) => Decision::Transfer,
            Some(true) if can_fix => Decision::FixModtime,
            // No hash in common: equal sizes decide, as under --checksum.
            _ => Decision::Equal,
        })
    }

    /// azcopy's `--compare-hash`: equal exactly when the hashes are; a missing hash is
    /// an error for this file, never a silent fallback to size.
    async fn strict_hashes(&self, src: &Entry, dst: &Entry) -> Result<Decision> {
        let Some(kind) = self.hash else {
            return Err(ferry_core::Error::new(
                ferry_core::ErrorKind::Refused,
                "--compare-hash needs a hash both sides have; these have none in common",
            ));
        };
        match self.both_hashes(src, dst, kind).await? {
            (Some(a), Some(b)) => Ok(if same_hash(src, kind, &a, &b) {
                Decision::Equal
            } else {
                Decision::Transfer
            }),
            (a, _) => Err(ferry_core::Error::new(
                ferry_core::ErrorKind::Corrupted,
                format!(
                    "the {} has no {kind} to compare (--compare-hash); left as it is",
                    if a.is_none() { "source" } else { "destination" }
                ),
            )
            .with_path(src.path.to_string())),
        }
    }

    /// `None` when no hash is common to both sides (or one side lacks a value).
    async fn hashes_match(&self, src: &Entry, dst: &Entry) -> Result<Option<bool>> {
        let Some(kind) = self.hash else {
            return Ok(None);
        };
        Ok(match self.both_hashes(src, dst, kind).await? {
            (Some(a), Some(b)) => Some(same_hash(src, kind, &a, &b)),
            _ => None,
        })
    }

    /// Both sides' `kind` hash, from the listing or computed, fetched at once.
    async fn both_hashes(
        &self,
        src: &Entry,
        dst: &Entry,
        kind: HashKind,
    ) -> Result<(Option<String>, Option<String>)> {
        tokio::try_join!(
            known_or_compute(self.src, src, kind),
            known_or_compute(self.dst, dst, kind)
        )
    }
}

/// The MD5 of `e`'s content when its version tag says so beyond doubt: a plain MD5 (32
/// hex digits, not a multipart `-N` ETag) that the backend also vouches for as the
/// content's MD5 (an S3 ETag under SSE-KMS is neither).
fn plain_md5(e: &Entry) -> Option<&str> {
    let version = e.version.as_deref()?.trim_matches('"');
    let listed = e.hashes.get(HashKind::Md5)?;
    let plain = version.len() == 32 && version.bytes().all(|b| b.is_ascii_hexdigit());
    (plain && listed.eq_ignore_ascii_case(version)).then_some(version)
}

fn same_hash(src: &Entry, kind: HashKind, a: &str, b: &str) -> bool {
    let same = a.eq_ignore_ascii_case(b);
    if !same {
        tracing::debug!("{}: {kind} differ", src.path);
    }
    same
}

pub(crate) async fn known_or_compute(
    backend: &dyn Backend,
    entry: &Entry,
    kind: HashKind,
) -> Result<Option<String>> {
    match entry.hashes.get(kind) {
        Some(h) => Ok(Some(h.to_owned())),
        None => backend.hash(&entry.path, kind).await,
    }
}

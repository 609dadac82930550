//! What every part of a run shares: both backends, the effective options, the hash
//! kinds and modify windows, and the comparison rules.

use std::sync::Arc;
use std::time::Duration;

use ferry_core::{Backend, Error, HashKind, RelPath, Result};

use crate::listing::key_of;
use crate::types::{CompareSpec, Options, Rec, Side};

pub struct Ctx {
    pub b1: Arc<dyn Backend>,
    pub b2: Arc<dyn Backend>,
    pub backup1: Option<Arc<dyn Backend>>,
    pub backup2: Option<Arc<dyn Backend>>,
    pub opts: Options,
    /// The compare rules in force after defaults and fallbacks.
    pub compare: CompareSpec,
    /// The hash each side's listing records (`None`: none).
    pub hash1: Option<HashKind>,
    pub hash2: Option<HashKind>,
    /// The hash both sides share, for comparing one side with the other.
    pub common_hash: Option<HashKind>,
    /// Modify windows in nanoseconds: each side against itself, and across (`None`: no
    /// modification times).
    pub window1: Option<i64>,
    pub window2: Option<i64>,
    pub window_x: Option<i64>,
    pub normalize: bool,
    pub ignore_case: bool,
    pub suffix1: String,
    pub suffix2: String,
}

fn ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX).max(1)
}

impl Ctx {
    pub fn new(
        b1: Arc<dyn Backend>,
        b2: Arc<dyn Backend>,
        backup1: Option<Arc<dyn Backend>>,
        backup2: Option<Arc<dyn Backend>>,
        opts: Options,
        suffixes: (String, String),
    ) -> Ctx {
        let (f1, f2) = (b1.features().clone(), b2.features().clone());
        let mut compare = opts.compare;
        let common_hash = f1
            .semantics
            .hashes
            .intersect(f2.semantics.hashes)
            .preferred();
        let (mut hash1, mut hash2) = (None, None);
        if compare.checksum {
            if common_hash.is_some() {
                hash1 = common_hash;
                hash2 = common_hash;
            } else {
                hash1 = f1.semantics.hashes.preferred();
                hash2 = f2.semantics.hashes.preferred();
                tracing::warn!(
                    "--checksum is in use but Path1 and Path2 have no hashes in common; also comparing size and modtime (hashes still detect changes on each side)"
                );
                compare.size = true;
                compare.modtime = true;
                if hash1.is_none() && hash2.is_none() {
                    tracing::warn!("Ignoring checksums as neither side supports them");
                    compare.checksum = false;
                }
            }
        }
        if opts.ignore_listing_checksum {
            hash1 = None;
            hash2 = None;
        }
        let side_window = |p: Option<Duration>| match (opts.modify_window, p) {
            (_, None) => None,
            (Some(w), Some(_)) => Some(ns(w)),
            (None, Some(p)) => Some(ns(p)),
        };
        let window1 = side_window(f1.semantics.modtime_precision);
        let window2 = side_window(f2.semantics.modtime_precision);
        let window_x = match (window1, window2) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
        if compare.modtime && window_x.is_none() {
            tracing::warn!(
                "Modtime compare was requested but at least one side does not support it; use --checksum or --size-only instead"
            );
        }
        Ctx {
            b1,
            b2,
            backup1,
            backup2,
            normalize: !opts.no_unicode_normalization,
            ignore_case: opts.ignore_case_sync
                || f1.semantics.case_insensitive
                || f2.semantics.case_insensitive,
            opts,
            compare,
            hash1,
            hash2,
            common_hash,
            window1,
            window2,
            window_x,
            suffix1: suffixes.0,
            suffix2: suffixes.1,
        }
    }

    pub fn backend(&self, side: Side) -> &Arc<dyn Backend> {
        match side {
            Side::One => &self.b1,
            Side::Two => &self.b2,
        }
    }

    pub fn backup(&self, side: Side) -> Option<&Arc<dyn Backend>> {
        match side {
            Side::One => self.backup1.as_ref(),
            Side::Two => self.backup2.as_ref(),
        }
    }

    pub fn window(&self, side: Side) -> Option<i64> {
        match side {
            Side::One => self.window1,
            Side::Two => self.window2,
        }
    }

    pub fn listing_hash(&self, side: Side) -> Option<HashKind> {
        match side {
            Side::One => self.hash1,
            Side::Two => self.hash2,
        }
    }

    pub fn key(&self, path: &str) -> String {
        key_of(path, self.normalize, self.ignore_case)
    }

    /// Whether modification times differ beyond `window` (never when either side keeps none).
    pub fn times_differ(a: i64, b: i64, window: Option<i64>) -> bool {
        window.is_some_and(|w| (a as i128 - b as i128).unsigned_abs() >= w as u128)
    }

    /// The record a copy of `src` to the other side is expected to produce there.
    pub fn expected_copy(&self, from: Side, src: &Rec, dst_path: &str) -> Rec {
        let same_kind = self.listing_hash(from) == self.listing_hash(from.other());
        Rec {
            path: dst_path.to_owned(),
            dir: src.dir,
            size: src.size,
            mtime: src.mtime,
            hash: if same_kind { src.hash.clone() } else { None },
        }
    }

    /// The hash of `rec` on `side` in kind `kind`: from the listing when it holds that
    /// kind, else read from the backend.
    async fn hash_of(&self, side: Side, rec: &Rec, kind: HashKind) -> Result<Option<String>> {
        if self.listing_hash(side) == Some(kind) {
            if let Some(h) = &rec.hash {
                return Ok(Some(h.clone()));
            }
        }
        let path = RelPath::new(&rec.path)?;
        Ok(self
            .backend(side)
            .hash(&path, kind)
            .await?
            .map(|h| h.to_ascii_lowercase()))
    }

    /// Whether two files on opposite sides hold the same bytes, by the hash both sides
    /// share; `None` when they share none (or a value is missing).
    pub async fn same_content(&self, r1: &Rec, r2: &Rec) -> Result<Option<bool>> {
        if r1.size != r2.size {
            return Ok(Some(false));
        }
        let Some(kind) = self.common_hash else {
            return Ok(None);
        };
        if self.opts.no_slow_hash {
            // Only hashes the listings carry.
            return Ok(match (&r1.hash, &r2.hash) {
                (Some(a), Some(b)) if self.hash1 == Some(kind) && self.hash2 == Some(kind) => {
                    Some(a == b)
                }
                _ => None,
            });
        }
        let (a, b) = tokio::try_join!(
            self.hash_of(Side::One, r1, kind),
            self.hash_of(Side::Two, r2, kind)
        )?;
        Ok(match (a, b) {
            (Some(a), Some(b)) => Some(a == b),
            _ => None,
        })
    }

    /// rclone's equality check for a file new or changed on both sides: the same bytes
    /// (by hash; by size and modification time when no hash is shared).
    pub async fn equal_for_conflict(&self, r1: &Rec, r2: &Rec) -> Result<bool> {
        if r1.dir || r2.dir {
            return Ok(r1.dir && r2.dir);
        }
        if self.compare.size && r1.size != r2.size {
            return Ok(false);
        }
        if self.compare.checksum {
            if let (Some(a), Some(b)) = (&r1.hash, &r2.hash) {
                if self.hash1 == self.hash2 && a != b {
                    return Ok(false);
                }
            }
        }
        Ok(match self.same_content(r1, r2).await? {
            Some(same) => same,
            None if self.compare.modtime => {
                r1.size == r2.size && !Self::times_differ(r1.mtime, r2.mtime, self.window_x)
            }
            None => r1.size == r2.size,
        })
    }

    /// The sync rules for two files on opposite sides (used by `--resync`): `Equal`,
    /// `SameContent` (only the modification time differs), or `Differ`.
    pub async fn sync_compare(&self, r1: &Rec, r2: &Rec) -> Result<Cmp> {
        if r1.size != r2.size && (self.compare.size || self.compare.checksum) {
            return Ok(Cmp::Differ);
        }
        if self.compare.checksum {
            return Ok(match self.same_content(r1, r2).await? {
                Some(false) => Cmp::Differ,
                _ => Cmp::Equal,
            });
        }
        if !self.compare.modtime || !Self::times_differ(r1.mtime, r2.mtime, self.window_x) {
            return Ok(Cmp::Equal);
        }
        Ok(match self.same_content(r1, r2).await? {
            Some(true) => Cmp::SameContent,
            _ => Cmp::Differ,
        })
    }

    /// A step's error with its path and side.
    pub fn err(side: Side, path: &str, e: Error) -> Error {
        let msg = format!("{}: {}", side.name(), e.message());
        Error::new(e.kind(), msg)
            .with_path(path.to_owned())
            .temporary(e.is_temporary())
            .retryable(e.is_retryable())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Equal,
    SameContent,
    Differ,
}

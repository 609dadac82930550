//! `check`: compares two trees without changing either.

use std::sync::Arc;

use ferry_core::{Backend, Entry, Error, ErrorKind, Result};
use tokio::sync::mpsc;

use crate::compare::known_or_compute;
use crate::march::{march, Found, MarchConfig};
use crate::{Select, Stats};

/// What a comparison other than a common hash found (`cryptcheck`'s encrypted hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Compared {
    Match,
    /// Why they differ.
    Differ(String),
    /// Nothing to compare with for this pair (no hash): counted as a match.
    Unchecked,
}

/// Compares one pair of files of the same size in its own way, instead of by a hash both
/// sides have (`cryptcheck` hashes the source's data encrypted like the destination's).
#[async_trait::async_trait]
pub trait Comparer: Send + Sync + std::fmt::Debug {
    async fn compare(&self, src: &dyn Backend, s: &Entry, d: &Entry) -> Result<Compared>;
}

#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    /// Compare each pair this way instead of by a common hash (or `download`).
    pub comparer: Option<Arc<dyn Comparer>>,
    pub size_only: bool,
    /// Compare the bytes themselves instead of hashes (`--download`).
    pub download: bool,
    /// Don't report files missing from the source (`--one-way`).
    pub one_way: bool,
    pub checkers: usize,
    pub no_unicode_normalization: bool,
    pub ignore_case_sync: bool,
}

/// What `check` found, path lists in rclone's categories.
#[derive(Clone, Debug, Default)]
pub struct CheckReport {
    pub matching: Vec<String>,
    pub differ: Vec<String>,
    pub missing_on_dst: Vec<String>,
    pub missing_on_src: Vec<String>,
    pub errors: Vec<String>,
    /// Set when no hash was common and sizes alone were compared.
    pub hash_unavailable: bool,
    /// Of the matching files, those whose hash one side lacked (a GCS object read with
    /// `decompress`, an S3 multipart upload): rclone's "hashes could not be checked".
    pub unhashed: usize,
}

impl CheckReport {
    pub fn differences(&self) -> usize {
        self.differ.len() + self.missing_on_dst.len() + self.missing_on_src.len()
    }
}

enum Verdict {
    Match,
    /// Equal as far as could be told: a side had no hash to compare.
    Unhashed,
    Differ(String),
    Error(Error),
}

pub async fn check(
    src: Arc<dyn Backend>,
    dst: Arc<dyn Backend>,
    select: Arc<dyn Select>,
    opts: &CheckOptions,
    stats: Arc<Stats>,
) -> Result<CheckReport> {
    let hash = src
        .features()
        .semantics
        .hashes
        .intersect(dst.features().semantics.hashes)
        .preferred();
    let cfg = Arc::new(MarchConfig {
        src: src.clone(),
        dst: dst.clone(),
        select,
        stats: stats.clone(),
        normalize: !opts.no_unicode_normalization,
        ignore_case: opts.ignore_case_sync || dst.features().semantics.case_insensitive,
        only_name: None,
        descend_dst_only: !opts.one_way,
        keep_excluded_dst: false,
        list_dst: true,
        width: opts.checkers.max(1),
        fix_case: None,
        hashes: hash.filter(|_| opts.comparer.is_none() && !opts.download),
        list_tries: ferry_core::retry::LOW_LEVEL_RETRIES,
    });
    let (tx, mut rx) = mpsc::channel(opts.checkers.max(1) * 64);
    let walker = tokio::spawn(march(cfg, tx));
    let own_way = opts.comparer.is_some() || opts.download;
    if hash.is_none() && !own_way {
        tracing::error!("No common hash found - not using a hash for checks");
    }
    let mut report = CheckReport {
        hash_unavailable: hash.is_none() && !opts.size_only && !own_way,
        ..Default::default()
    };
    let mut pending = futures::stream::FuturesUnordered::new();
    let width = opts.checkers.max(1);
    loop {
        use futures::StreamExt;
        tokio::select! {
            item = rx.recv(), if pending.len() < width => match item {
                None => {
                    // The march sent everything: every check is queued.
                    stats.set_listing_done();
                    stats.set_totals_final();
                    break;
                }
                Some(Found::File { src: Some(s), dst: Some(d) }) => {
                    stats.queue_check();
                    let (src, dst) = (src.clone(), dst.clone());
                    let opts = opts.clone();
                    pending.push(async move {
                        let v = compare(&*src, &*dst, &s, &d, hash, &opts).await;
                        (s.path.to_string(), v)
                    });
                }
                Some(Found::File { src: Some(s), dst: None }) => {
                    tracing::error!("{}: file not in {}", s.path, dst.describe());
                    report.missing_on_dst.push(s.path.to_string());
                }
                Some(Found::File { src: None, dst: Some(d) }) if !opts.one_way => {
                    tracing::error!("{}: file not in {}", d.path, src.describe());
                    report.missing_on_src.push(d.path.to_string());
                }
                Some(Found::Error(e)) => {
                    tracing::error!("{e}");
                    stats.error();
                    report.errors.push(e.path().unwrap_or("").to_owned());
                }
                Some(_) => {}
            },
            Some((path, verdict)) = pending.next(), if !pending.is_empty() => {
                record(&mut report, &stats, path, verdict);
            }
        }
    }
    while let Some((path, verdict)) = futures::StreamExt::next(&mut pending).await {
        record(&mut report, &stats, path, verdict);
    }
    match walker.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) if matches!(e.kind(), ErrorKind::DirNotFound | ErrorKind::NotFound) => {
            return Err(Error::new(
                ErrorKind::DirNotFound,
                format!("directory not found: {}", src.describe()),
            ))
        }
        Ok(Err(e)) => return Err(e),
        Err(e) => return Err(Error::new(ErrorKind::Io, format!("listing failed: {e}"))),
    }
    for list in [
        &mut report.matching,
        &mut report.differ,
        &mut report.missing_on_dst,
        &mut report.missing_on_src,
        &mut report.errors,
    ] {
        list.sort();
    }
    Ok(report)
}

fn record(report: &mut CheckReport, stats: &Stats, path: String, verdict: Verdict) {
    stats.check_done();
    match verdict {
        Verdict::Match => report.matching.push(path),
        Verdict::Unhashed => {
            tracing::debug!("{path}: OK - could not check hash");
            report.unhashed += 1;
            report.matching.push(path);
        }
        Verdict::Differ(why) => {
            tracing::error!("{path}: {why}");
            report.differ.push(path);
        }
        Verdict::Error(e) => {
            tracing::error!("{path}: {e}");
            stats.error();
            report.errors.push(path);
        }
    }
}

async fn compare(
    src: &dyn Backend,
    dst: &dyn Backend,
    s: &Entry,
    d: &Entry,
    hash: Option<ferry_core::HashKind>,
    opts: &CheckOptions,
) -> Verdict {
    if s.sizes_differ(d) {
        return Verdict::Differ("sizes differ".into());
    }
    if opts.size_only {
        return Verdict::Match;
    }
    if let Some(c) = &opts.comparer {
        return match c.compare(src, s, d).await {
            Ok(Compared::Match | Compared::Unchecked) => Verdict::Match,
            Ok(Compared::Differ(why)) => Verdict::Differ(why),
            Err(e) => Verdict::Error(e),
        };
    }
    if opts.download {
        return match same_bytes(src, dst, s, d).await {
            Ok(true) => Verdict::Match,
            Ok(false) => Verdict::Differ("contents differ".into()),
            Err(e) => Verdict::Error(e),
        };
    }
    let Some(kind) = hash else {
        return Verdict::Match;
    };
    let pair = tokio::try_join!(
        known_or_compute(src, s, kind),
        known_or_compute(dst, d, kind)
    );
    match pair {
        Ok((Some(a), Some(b))) if !a.eq_ignore_ascii_case(&b) => {
            Verdict::Differ(format!("{kind} differ"))
        }
        Ok((Some(_), Some(_))) => Verdict::Match,
        Ok(_) => Verdict::Unhashed,
        Err(e) => Verdict::Error(e),
    }
}

async fn same_bytes(src: &dyn Backend, dst: &dyn Backend, s: &Entry, d: &Entry) -> Result<bool> {
    let (mut a, mut b) = tokio::try_join!(src.open(&s.path, 0, None), dst.open(&d.path, 0, None))?;
    let (mut ba, mut bb) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let n = read_full(&mut a, &mut ba).await?;
        let m = read_full(&mut b, &mut bb).await?;
        if n != m || ba[..n] != bb[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

async fn read_full(r: &mut ferry_core::ByteStream, buf: &mut [u8]) -> Result<usize> {
    ferry_core::fill(r, buf)
        .await
        .map_err(|e| Error::io("failed to read", e))
}

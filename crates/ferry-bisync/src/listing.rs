//! Listing one side: a filtered, recursive walk into records keyed by normalised path.
//!
//! Unlike rclone, a directory that can't be listed (or a file whose hash can't be read)
//! doesn't abort the run: its paths are reported as unknown, and the run leaves them
//! alone on both sides until a later run can see them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ferry_core::{match_key, Backend, Entry, Error, ErrorKind, HashKind, RelPath};
use ferry_engine::Select;
use futures::stream::{self, StreamExt};
use tokio::task::JoinSet;

use crate::types::{to_ns, Rec};

/// Records keyed by their matching key.
pub type Listing = BTreeMap<String, Rec>;

/// How to list one side.
pub struct ScanConfig {
    pub backend: Arc<dyn Backend>,
    pub select: Arc<dyn Select>,
    /// Record directories too (`--create-empty-src-dirs`).
    pub dirs: bool,
    /// The hash to record, if any.
    pub hash: Option<HashKind>,
    /// Compute hashes the listing doesn't carry (reading the data).
    pub slow_hashes: bool,
    pub width: usize,
    pub normalize: bool,
    pub ignore_case: bool,
}

/// What a listing found.
#[derive(Default, Debug)]
pub struct Scan {
    pub recs: Listing,
    /// Keys of directories (everything below them) and files that could not be read.
    pub unknown: BTreeSet<String>,
    pub errors: Vec<String>,
}

impl ScanConfig {
    pub fn key(&self, path: &str) -> String {
        key_of(path, self.normalize, self.ignore_case)
    }
}

pub fn key_of(path: &str, normalize: bool, ignore_case: bool) -> String {
    match_key(path, normalize, ignore_case)
}

/// Whether `key` is one of `unknown` or lies below one of them.
pub fn is_unknown(unknown: &BTreeSet<String>, key: &str) -> bool {
    if unknown.is_empty() {
        return false;
    }
    if unknown.contains(key) {
        return true;
    }
    let mut at = key.len();
    while let Some(i) = key[..at].rfind('/') {
        if unknown.contains(&key[..i]) {
            return true;
        }
        at = i;
    }
    false
}

/// A listing's entries. Each entry that could not be read is left alone on both sides
/// this run (never taken for deleted): its own path where the error names one, else
/// its whole directory (a name that can't be decoded names no path to keep).
fn unreadable(
    cfg: &ScanConfig,
    dir: &RelPath,
    list: ferry_core::Listing,
    out: &mut Scan,
) -> Vec<Entry> {
    for e in list.errors {
        tracing::error!("{e}; leaving it alone this run");
        out.errors.push(e.to_string());
        let key = match e.path() {
            Some(p) if !p.is_empty() => cfg.key(p),
            _ => cfg.key(dir.as_str()),
        };
        out.unknown.insert(key);
    }
    list.entries
}

/// Lists everything the filters select. Fails only when the root can't be listed.
pub async fn scan(cfg: &ScanConfig) -> Result<Scan, Error> {
    let mut out = Scan::default();
    let mut pending = vec![RelPath::root()];
    let mut running: JoinSet<(RelPath, ferry_core::Result<ferry_core::Listing>)> = JoinSet::new();
    let mut entries: Vec<Entry> = Vec::new();
    let mut marked: Vec<String> = Vec::new();
    loop {
        while running.len() < cfg.width.max(1) {
            let Some(dir) = pending.pop() else { break };
            let backend = cfg.backend.clone();
            running.spawn(async move {
                // Bisync keeps and compares every mtime: a listing's provisional ones
                // (S3's LastModified) are made exact here.
                let listed = match backend.list_dir(&dir).await {
                    Ok(mut list) => ferry_core::exact_mtimes(&*backend, &mut list.entries, 16)
                        .await
                        .map(|()| list),
                    Err(e) => Err(e),
                };
                (dir, listed)
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (dir, listed) =
            joined.map_err(|e| Error::new(ErrorKind::Io, format!("listing task failed: {e}")))?;
        let list = match listed {
            Ok(list) => unreadable(cfg, &dir, list, &mut out),
            Err(e) if dir.is_root() => {
                return Err(match e.kind() {
                    ErrorKind::DirNotFound | ErrorKind::NotFound => Error::new(
                        ErrorKind::DirNotFound,
                        format!("directory not found: {}", cfg.backend.describe()),
                    ),
                    _ => e,
                })
            }
            Err(e) => {
                tracing::error!("{dir}: can't list this directory: {e}; leaving it alone this run");
                out.errors.push(format!("{dir}: {e}"));
                out.unknown.insert(cfg.key(dir.as_str()));
                continue;
            }
        };
        let markers = cfg.select.exclude_if_present();
        if !dir.is_root()
            && !markers.is_empty()
            && list
                .iter()
                .any(|e| !e.is_dir() && markers.iter().any(|m| m == e.name()))
        {
            tracing::debug!("{dir}: Excluded by --exclude-if-present");
            marked.push(cfg.key(dir.as_str()));
            continue;
        }
        for e in list {
            let wanted = !cfg.select.is_active()
                || if e.is_dir() {
                    cfg.select.include_dir(e.path.as_str())
                } else {
                    cfg.select.include_file(e.path.as_str(), e.size, e.mtime)
                };
            if !wanted {
                continue;
            }
            if e.is_dir() {
                pending.push(e.path.clone());
            }
            entries.push(e);
        }
    }
    let mut need_hash = Vec::new();
    for e in entries {
        if e.is_dir() && !cfg.dirs {
            continue;
        }
        if e.size_unknown {
            // Its listings record sizes, and a copy of it would be recorded under none:
            // refused before anything is changed rather than failed on every run.
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "{}: bisync can't track a file whose size is unknown until read (a GCS object read with decompress): bisync this remote without decompress, or copy from it",
                    e.path
                ),
            )
            .retryable(false));
        }
        let key = cfg.key(e.path.as_str());
        if marked
            .iter()
            .any(|m| key == *m || (key.starts_with(m.as_str()) && key.as_bytes()[m.len()] == b'/'))
        {
            continue;
        }
        let known_hash = cfg
            .hash
            .and_then(|k| e.hashes.get(k))
            .map(|h| h.to_ascii_lowercase());
        let rec = Rec {
            path: e.path.as_str().to_owned(),
            dir: e.is_dir(),
            size: if e.is_dir() { 0 } else { e.size },
            mtime: to_ns(e.mtime),
            hash: known_hash,
        };
        if let Some(old) = out.recs.get(&key) {
            tracing::warn!(
                "{}: Duplicate object found ({} has the same name after normalisation) - ignoring",
                rec.path,
                old.path
            );
            continue;
        }
        if !rec.dir && rec.hash.is_none() && cfg.hash.is_some() && cfg.slow_hashes {
            need_hash.push(key.clone());
        }
        out.recs.insert(key, rec);
    }
    if let Some(kind) = cfg.hash {
        let jobs = need_hash.into_iter().map(|key| {
            let path = out.recs[&key].path.clone();
            let backend = cfg.backend.clone();
            async move {
                let rel = RelPath::new(&path);
                let res = match rel {
                    Ok(rel) => backend.hash(&rel, kind).await,
                    Err(e) => Err(e),
                };
                (key, res)
            }
        });
        let results: Vec<_> = stream::iter(jobs)
            .buffer_unordered(cfg.width.max(1))
            .collect()
            .await;
        for (key, res) in results {
            match res {
                Ok(h) => {
                    if let Some(rec) = out.recs.get_mut(&key) {
                        rec.hash = h.map(|h| h.to_ascii_lowercase());
                    }
                }
                Err(e) => {
                    tracing::error!(
                        "{key}: can't read its {kind} hash: {e}; leaving it alone this run"
                    );
                    out.errors.push(format!("{key}: {e}"));
                    out.unknown.insert(key);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_prefixes_cover_descendants_only() {
        let set: BTreeSet<String> = ["a/b".to_string()].into_iter().collect();
        assert!(is_unknown(&set, "a/b"));
        assert!(is_unknown(&set, "a/b/c/d"));
        assert!(!is_unknown(&set, "a/bc"));
        assert!(!is_unknown(&set, "a"));
    }
}

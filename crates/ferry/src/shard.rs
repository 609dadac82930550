//! `--shard K/N`: one run split across N workers with no coordinator. Each file belongs
//! to exactly one shard, by a hash any other tool can compute (FNV-1a, 64-bit, over UTF-8
//! bytes, modulo N) of its *unit*: between two directory-walking backends the unit is the
//! file's relative path (the finest, best-balanced split; every shard walks the whole
//! tree); where a side is an object store (a recursive lister: S3, Azure Blob, GCS) it is
//! the file's subtree below the split directory, so each shard lists only its own subtrees
//! and N shards together list about what one run does. `--shard-summaries DIR` lets the
//! final unsharded sync delete only when every shard's `--summary-file` says it succeeded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use ferry_core::{Listing, RelPath};

use ferry_engine::{Mode, Select};

use crate::exit::{fail, FATAL, USAGE};

#[derive(clap::Args, Debug, Default)]
pub struct ShardArgs {
    /// Take part only for the files whose path hash (FNV-1a 64) modulo N is K, counting from 0; `auto`: K and N from Slurm's job array or a Kubernetes Indexed Job
    #[arg(long, value_name = "K/N|auto", env = "FERRY_SHARD")]
    pub shard: Option<String>,
    /// Delete nothing unless DIR holds a successful --summary-file of every shard (the final unsharded sync)
    #[arg(long, value_name = "DIR", env = "FERRY_SHARD_SUMMARIES")]
    pub shard_summaries: Option<PathBuf>,
}

/// Shard `index` of `count` (0 ≤ index < count).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

/// FNV-1a, 64-bit: tiny, stable across versions and platforms, and written in three
/// lines in any language, so other tools can reproduce the partition.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl Shard {
    /// Whether the file at this relative, `/`-separated path belongs to this shard.
    pub fn owns(&self, path: &str) -> bool {
        fnv1a64(path.as_bytes()) % self.count == self.index
    }

    /// Parses `K/N` or `auto` (reading the scheduler's variables through `env`).
    pub fn parse(value: &str, env: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let bad = |why: &str| format!("invalid argument {value:?} for --shard: {why}");
        if value == "auto" {
            return from_scheduler(&env).map_err(|why| format!("--shard auto: {why}"));
        }
        let Some((k, n)) = value.split_once('/') else {
            return Err(bad(
                "expected K/N (shard K of N, K counting from 0) or auto",
            ));
        };
        let number = |s: &str| s.trim().parse::<u64>().ok();
        let (Some(index), Some(count)) = (number(k), number(n)) else {
            return Err(bad(
                "K and N must be whole numbers (K/N, K counting from 0)",
            ));
        };
        Shard::new(index, count).map_err(|why| bad(&why))
    }

    fn new(index: u64, count: u64) -> Result<Shard, String> {
        if count == 0 {
            return Err("N must be at least 1".into());
        }
        if index >= count {
            return Err(format!(
                "K must be less than N (K counts from 0: shards 0/{count} to {}/{count})",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }
}

/// K and N from Slurm (`SLURM_ARRAY_TASK_ID` less `SLURM_ARRAY_TASK_MIN`, of
/// `SLURM_ARRAY_TASK_COUNT`) or else a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`
/// of `FERRY_SHARD_COUNT`, which the Job's manifest sets to its `completions`).
fn from_scheduler(env: &impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
    let number = |name: &str| -> Result<Option<u64>, String> {
        env(name)
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| format!("{name}={v:?} is not a whole number"))
            })
            .transpose()
    };
    let need = |name: &str, with: &str| -> Result<u64, String> {
        number(name)?.ok_or_else(|| format!("{with} is set but {name} is not"))
    };
    if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
        let count = need("SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_ID")?;
        let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let index = id
            .checked_sub(min)
            .ok_or("SLURM_ARRAY_TASK_ID < SLURM_ARRAY_TASK_MIN")?;
        return Shard::new(index, count)
            .map_err(|why| format!("from Slurm's variables: {why} (use a contiguous --array)"));
    }
    if let Some(index) = number("JOB_COMPLETION_INDEX")? {
        let count = need("FERRY_SHARD_COUNT", "JOB_COMPLETION_INDEX")?;
        return Shard::new(index, count)
            .map_err(|why| format!("from JOB_COMPLETION_INDEX and FERRY_SHARD_COUNT: {why}"));
    }
    Err("neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set; give --shard K/N".into())
}

/// What a shard's files are partitioned by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum By {
    /// Each file's own relative path: every shard walks every directory.
    Path,
    /// The subtree below the split directory a file is in. The split directory (`""`: the
    /// root) and its ancestors are walked by every shard; each entry directly below it —
    /// a directory with everything under it, or a file — is one unit, owned by one shard,
    /// and only that shard descends into it.
    Subtree(String),
}

impl By {
    /// The unit `path` (relative, `/`-separated) belongs to: itself, or (by subtree) its
    /// first segments down to one below the split directory. A path on the way to the
    /// split directory (or it) is its own unit, but is walked by every shard anyway.
    pub fn unit<'p>(&self, path: &'p str) -> &'p str {
        let By::Subtree(split) = self else {
            return path;
        };
        let below = match split.as_str() {
            "" => Some(path),
            dir => path
                .strip_prefix(dir)
                .and_then(|rest| rest.strip_prefix('/')),
        };
        let Some(rest) = below.filter(|r| !r.is_empty()) else {
            // Outside the split directory (a path that appeared after the split was
            // chosen): the first segment not on the way to it.
            return outside_unit(split, path);
        };
        let end = path.len() - rest.len() + rest.find('/').unwrap_or(rest.len());
        &path[..end]
    }

    /// Whether every shard walks this directory: the split directory and its ancestors.
    fn walked_by_all(&self, dir: &str) -> bool {
        match self {
            By::Path => true,
            By::Subtree(split) => {
                split == dir
                    || dir.is_empty()
                    || split
                        .strip_prefix(dir)
                        .is_some_and(|rest| rest.starts_with('/'))
            }
        }
    }

    /// For the summary: `"path"` or `"subtree:<split directory>"`.
    pub fn describe(&self) -> String {
        match self {
            By::Path => "path".into(),
            By::Subtree(split) => format!("subtree:{split}"),
        }
    }
}

/// A path not below `split`: its first segments as far as they agree with `split`, and
/// one more (so `old/x` with split `data/2024` is in unit `old`).
fn outside_unit<'p>(split: &str, path: &'p str) -> &'p str {
    let mut end = 0;
    let mut split_segs = split.split('/');
    for seg in path.split('/') {
        end += seg.len();
        if split_segs.next() != Some(seg) {
            break;
        }
        end += 1;
    }
    &path[..end.min(path.len())]
}

/// A selection narrowed to one shard's files. By path, directories stay visible in every
/// shard (a file's parents must be walked to reach it) and only files are split; by
/// subtree, a shard also skips the directories of other shards' units.
pub struct Sharded {
    pub inner: Arc<dyn Select>,
    pub shard: Shard,
    pub by: By,
}

impl Sharded {
    fn owns(&self, path: &str) -> bool {
        self.shard.owns(self.by.unit(path))
    }
}

impl Select for Sharded {
    fn include_file(&self, path: &str, size: u64, mtime: SystemTime) -> bool {
        self.owns(path) && (!self.inner.is_active() || self.inner.include_file(path, size, mtime))
    }
    fn include_dir(&self, path: &str) -> bool {
        (self.by.walked_by_all(path) || self.owns(path))
            && (!self.inner.is_active() || self.inner.include_dir(path))
    }
    fn within_depth(&self, path: &str, is_dir: bool) -> bool {
        self.inner.within_depth(path, is_dir)
    }
    fn exclude_if_present(&self) -> &[String] {
        self.inner.exclude_if_present()
    }
    fn is_active(&self) -> bool {
        true
    }
    fn uses_mtime(&self) -> bool {
        self.inner.is_active() && self.inner.uses_mtime()
    }
    fn uses_directory_filters(&self) -> bool {
        // By path the shard never excludes a directory, so a flat recursive listing stays
        // allowed.
        self.by != By::Path || (self.inner.is_active() && self.inner.uses_directory_filters())
    }
    fn uses_metadata(&self) -> bool {
        self.inner.uses_metadata()
    }
    fn include_metadata(&self, path: &str, metadata: &ferry_core::Metadata) -> bool {
        self.inner.include_metadata(path, metadata)
    }
}

/// What `--shard` and `--shard-summaries` ask of one transfer, checked.
#[derive(Default)]
pub struct Plan {
    pub shard: Option<Shard>,
    pub summaries: Option<PathBuf>,
}

impl Plan {
    /// Checks the flags against each other and the command; a conflict is a usage error.
    pub fn resolve(args: &ShardArgs, mode: Mode, delete_excluded: bool) -> anyhow::Result<Plan> {
        let shard = args.shard.as_deref().map(parse_flag).transpose()?;
        let summaries = args.shard_summaries.clone();
        if shard.is_some() && summaries.is_some() {
            return Err(fail(
                USAGE,
                "--shard-summaries is for the final unsharded sync: drop --shard",
            ));
        }
        if summaries.is_some() && mode != Mode::Sync {
            return Err(fail(
                USAGE,
                "--shard-summaries guards the deletes of sync; copy and move don't delete extraneous files",
            ));
        }
        if shard.is_some() && delete_excluded {
            // Another shard's files look excluded to this one.
            return Err(fail(
                USAGE,
                "--delete-excluded can't be used with --shard: use it in the final unsharded sync",
            ));
        }
        Ok(Plan { shard, summaries })
    }

    /// The command's selection, narrowed to the shard by path (see [`narrow`] for the
    /// split that depends on the remotes).
    pub fn select(&self, inner: Arc<dyn Select>) -> Arc<dyn Select> {
        match self.shard {
            Some(shard) => Arc::new(Sharded {
                inner,
                shard,
                by: By::Path,
            }),
            None => inner,
        }
    }

    /// Refuses the run (fatal, before anything is done) unless every shard's summary
    /// in the `--shard-summaries` directory says it succeeded.
    pub fn require_shards(&self) -> anyhow::Result<()> {
        let Some(dir) = &self.summaries else {
            return Ok(());
        };
        let found = read_summaries(dir).map_err(|e| fail(FATAL, e))?;
        verdict(&found).map_err(|why| {
            fail(
                FATAL,
                format!("--shard-summaries {}: {why}; refusing to run: nothing was transferred or deleted (re-run those shards, or use copy, which deletes nothing)", dir.display()),
            )
        })
    }
}

/// How deep the split directory may be looked for.
const MAX_SPLIT_DEPTH: usize = 8;

/// What a shard partitions by for this pair of remotes: by subtree where either side lists
/// recursively (an object store, where walking every directory in every shard is what
/// costs), else by path. The split directory is the deepest one reached from the source's
/// root through directories that hold nothing but one directory (`data/2024` when the
/// source holds only `data/2024/...`), so a tree under one top-level prefix still splits;
/// every shard finds the same one from the same source. The listings read to find it are
/// returned, for [`remember`] to hand to the run (so they cost no second request).
pub async fn split_for(
    src: &dyn ferry_core::Backend,
    src_is_file: bool,
    dst: &dyn ferry_core::Backend,
) -> (By, Vec<(RelPath, Listing)>) {
    let lists_recursively = |b: &dyn ferry_core::Backend| b.features().caps.recursive_list;
    if src_is_file || !(lists_recursively(src) || lists_recursively(dst)) {
        return (By::Path, Vec::new());
    }
    let mut dir = RelPath::root();
    let mut read = Vec::new();
    for _ in 0..MAX_SPLIT_DEPTH {
        let Ok(listing) = src.list_dir(&dir).await else {
            // The run itself lists it again and reports the failure.
            break;
        };
        let next = match listing.entries.as_slice() {
            [only] if only.is_dir() && listing.errors.is_empty() => Some(only.path.clone()),
            _ => None,
        };
        read.push((dir.clone(), listing));
        match next {
            Some(child) => dir = child,
            None => break,
        }
    }
    (By::Subtree(dir.as_str().to_string()), read)
}

/// `backend` answering the listings of `read` (each once) from memory.
pub fn remember(
    backend: Arc<dyn ferry_core::Backend>,
    read: Vec<(RelPath, Listing)>,
) -> Arc<dyn ferry_core::Backend> {
    if read.is_empty() {
        return backend;
    }
    let held = read
        .into_iter()
        .map(|(dir, l)| (dir.as_str().to_string(), l))
        .collect();
    ferry_core::layer::Layered::new(backend, Held(Mutex::new(held)))
}

/// Listings read before the run, given out once each.
struct Held(Mutex<HashMap<String, Listing>>);

impl ferry_core::layer::Layer for Held {
    fn listing(&self, dir: &RelPath) -> Option<Listing> {
        self.0.lock().ok()?.remove(dir.as_str())
    }
    fn sees_reads(&self) -> bool {
        false
    }
}

/// The command's own selection `base` (not sharded yet) narrowed to `shard` split `by`.
pub fn narrow(base: Arc<dyn Select>, shard: Shard, by: By) -> Arc<dyn Select> {
    Arc::new(Sharded {
        inner: base,
        shard,
        by,
    })
}

/// `--shard`'s value, with the scheduler's variables from this process's environment.
pub fn parse_flag(value: &str) -> anyhow::Result<Shard> {
    Shard::parse(value, |name| std::env::var(name).ok()).map_err(|e| fail(USAGE, e))
}

/// What one shard's summary says.
#[derive(Debug, PartialEq)]
pub struct ShardResult {
    pub shard: Shard,
    pub success: bool,
    pub exit_code: i64,
}

/// The shard summaries (`*.json` with a `shard` field) in `dir`; other JSON files (the
/// final pass's own summary) are ignored, one that isn't JSON is an error.
fn read_summaries(dir: &Path) -> Result<Vec<ShardResult>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        format!(
            "--shard-summaries {}: can't read the directory: {e}; refusing to run: nothing was transferred or deleted",
            dir.display()
        )
    })?;
    let mut found = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("--shard-summaries {}: {e}", dir.display()))?
            .path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let unreadable = |why: String| {
            format!(
                "{}: not a ferry summary ({why}); refusing to run: nothing was transferred or deleted",
                path.display()
            )
        };
        let text = std::fs::read_to_string(&path).map_err(|e| unreadable(e.to_string()))?;
        let doc: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| unreadable(e.to_string()))?;
        if let Some(r) = shard_result(&doc) {
            found.push(r);
        }
    }
    Ok(found)
}

fn shard_result(doc: &serde_json::Value) -> Option<ShardResult> {
    let s = doc.get("shard")?;
    Some(ShardResult {
        shard: Shard {
            index: s.get("index")?.as_u64()?,
            count: s.get("count")?.as_u64()?,
        },
        success: doc.get("success")?.as_bool()?,
        exit_code: doc.get("exit_code").and_then(|c| c.as_i64()).unwrap_or(-1),
    })
}

/// `Ok` when the summaries are of one split into N shards and each of 0..N has a
/// successful one (a shard run again after a failure counts once it succeeded).
pub fn verdict(found: &[ShardResult]) -> Result<(), String> {
    let Some(first) = found.first() else {
        return Err("no shard summaries there".into());
    };
    let count = first.shard.count;
    if let Some(other) = found.iter().find(|r| r.shard.count != count) {
        return Err(format!(
            "summaries of different splits ({count} and {} shards)",
            other.shard.count
        ));
    }
    let mut problems = Vec::new();
    for index in 0..count {
        let mine: Vec<_> = found.iter().filter(|r| r.shard.index == index).collect();
        if mine.is_empty() {
            problems.push(format!("shard {index}/{count} missing"));
        } else if !mine.iter().any(|r| r.success) {
            let code = mine.last().map_or(-1, |r| r.exit_code);
            problems.push(format!("shard {index}/{count} failed (exit code {code})"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn fnv1a64_matches_the_published_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn k_of_n_parses_and_bad_values_say_why() {
        let none = env(&[]);
        assert_eq!(Shard::parse("1/4", &none), Ok(Shard { index: 1, count: 4 }));
        for (bad, why) in [
            ("4/4", "K must be less than N"),
            ("a/b", "whole numbers"),
            ("3", "expected K/N"),
            ("0/0", "N must be at least 1"),
            ("-1/4", "whole numbers"),
        ] {
            let e = Shard::parse(bad, &none).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn auto_reads_slurm_then_kubernetes() {
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("JOB_COMPLETION_INDEX", "0"),
        ]);
        assert_eq!(
            Shard::parse("auto", slurm),
            Ok(Shard { index: 2, count: 4 })
        );
        let k8s = env(&[("JOB_COMPLETION_INDEX", "5"), ("FERRY_SHARD_COUNT", "8")]);
        assert_eq!(Shard::parse("auto", k8s), Ok(Shard { index: 5, count: 8 }));
        let half = env(&[("JOB_COMPLETION_INDEX", "5")]);
        assert!(Shard::parse("auto", half)
            .unwrap_err()
            .contains("FERRY_SHARD_COUNT is not"));
        assert!(Shard::parse("auto", env(&[]))
            .unwrap_err()
            .contains("give --shard K/N"));
    }

    #[test]
    fn every_path_has_exactly_one_shard() {
        let shards: Vec<_> = (0..4).map(|index| Shard { index, count: 4 }).collect();
        for i in 0..1000 {
            let path = format!("dir{}/file-{i}.txt", i % 7);
            assert_eq!(shards.iter().filter(|s| s.owns(&path)).count(), 1);
        }
    }

    #[test]
    fn units_are_the_subtrees_below_the_split_directory() {
        let top = By::Subtree(String::new());
        assert_eq!(top.unit("a/b/c.txt"), "a");
        assert_eq!(top.unit("f.txt"), "f.txt");
        let deep = By::Subtree("data/2024".into());
        assert_eq!(deep.unit("data/2024/jan/x/f"), "data/2024/jan");
        assert_eq!(deep.unit("data/2024/f"), "data/2024/f");
        // Outside the split directory: the first segment off the way to it.
        assert_eq!(deep.unit("old/x/y"), "old");
        assert_eq!(deep.unit("data/2023/f"), "data/2023");
        assert_eq!(deep.unit("data/2024x/f"), "data/2024x");
        assert_eq!(deep.unit("data"), "data");
        assert_eq!(By::Path.unit("a/b/c"), "a/b/c");
        for dir in ["", "data", "data/2024"] {
            assert!(deep.walked_by_all(dir), "{dir}");
        }
        for dir in ["data/2024/jan", "dat", "old", "data/2024x"] {
            assert!(!deep.walked_by_all(dir), "{dir}");
        }
    }

    /// Exactly one shard takes each file, and that shard walks every directory above it
    /// (otherwise it would never reach the file); other shards skip whole units.
    #[test]
    fn by_subtree_each_file_has_one_shard_that_reaches_it() {
        let all: Arc<dyn Select> = Arc::new(All);
        for by in [
            By::Path,
            By::Subtree(String::new()),
            By::Subtree("data/2024".into()),
        ] {
            let shards: Vec<Sharded> = (0..4)
                .map(|index| Sharded {
                    inner: all.clone(),
                    shard: Shard { index, count: 4 },
                    by: by.clone(),
                })
                .collect();
            for i in 0..2000 {
                let path = match i % 4 {
                    0 => format!("data/2024/m{}/d{}/f{i}", i % 13, i % 3),
                    1 => format!("data/2024/f{i}"),
                    2 => format!("old/s{}/f{i}", i % 7),
                    _ => format!("top{i}"),
                };
                let owners: Vec<&Sharded> = shards
                    .iter()
                    .filter(|s| s.include_file(&path, 1, SystemTime::UNIX_EPOCH))
                    .collect();
                assert_eq!(owners.len(), 1, "{path} under {by:?}");
                let mut dir = path.as_str();
                while let Some((parent, _)) = dir.rsplit_once('/') {
                    assert!(owners[0].include_dir(parent), "{parent} of {path}, {by:?}");
                    dir = parent;
                }
            }
        }
    }

    struct All;
    impl Select for All {
        fn include_file(&self, _: &str, _: u64, _: SystemTime) -> bool {
            true
        }
        fn include_dir(&self, _: &str) -> bool {
            true
        }
        fn is_active(&self) -> bool {
            false
        }
    }

    /// The listings read to find the split are the run's first listings of those
    /// directories (no second request), once; everything else still reaches the backend,
    /// a local one's file paths too (so its fast paths still work).
    #[tokio::test]
    async fn remembered_listings_are_given_once_and_paths_pass() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/f.txt"), "f").unwrap();
        let local: Arc<dyn ferry_core::Backend> =
            ferry_local::LocalBackend::new(dir.path(), Default::default());
        let mut held = local.list_dir(&RelPath::root()).await.unwrap();
        assert_eq!(held.entries.len(), 1);
        // Marked, so the test sees where the listing came from.
        held.entries.push(ferry_core::Entry::file(
            RelPath::new("only-in-memory").unwrap(),
            0,
            SystemTime::UNIX_EPOCH,
        ));
        let b = remember(local, vec![(RelPath::root(), held)]);
        let first = b.list_dir(&RelPath::root()).await.unwrap();
        assert_eq!(first.entries.len(), 2);
        let again = b.list_dir(&RelPath::root()).await.unwrap();
        assert_eq!(again.entries.len(), 1, "the second listing asks the disk");
        let f = RelPath::new("data/f.txt").unwrap();
        assert_eq!(b.local_path(&f), Some(dir.path().join("data/f.txt")));
    }

    #[test]
    fn the_verdict_wants_every_shard_succeeded() {
        let r = |index, success| ShardResult {
            shard: Shard { index, count: 3 },
            success,
            exit_code: if success { 0 } else { 5 },
        };
        assert!(verdict(&[r(0, true), r(1, true), r(2, true)]).is_ok());
        // A shard that failed, then succeeded when run again.
        assert!(verdict(&[r(0, true), r(1, false), r(1, true), r(2, true)]).is_ok());
        assert_eq!(
            verdict(&[r(0, true), r(1, false)]).unwrap_err(),
            "shard 1/3 failed (exit code 5), shard 2/3 missing"
        );
        assert!(verdict(&[]).is_err());
    }
}

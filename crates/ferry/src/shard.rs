//! `--shard K/N`: one run split across N workers with no coordinator. Each file belongs
//! to exactly one shard, by a hash of its relative path any other tool can compute
//! (FNV-1a, 64-bit, over the path's UTF-8 bytes, modulo N). `--shard-summaries DIR` lets
//! the final unsharded sync delete only when every shard's `--summary-file` says it
//! succeeded.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

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

/// A selection narrowed to one shard's files. Directories stay visible in every shard
/// (a file's parents must be walked to reach it); only files are split.
pub struct Sharded {
    pub inner: Arc<dyn Select>,
    pub shard: Shard,
}

impl Select for Sharded {
    fn include_file(&self, path: &str, size: u64, mtime: SystemTime) -> bool {
        self.shard.owns(path)
            && (!self.inner.is_active() || self.inner.include_file(path, size, mtime))
    }
    fn include_dir(&self, path: &str) -> bool {
        !self.inner.is_active() || self.inner.include_dir(path)
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
        // The shard never excludes a directory, so a flat recursive listing stays allowed.
        self.inner.is_active() && self.inner.uses_directory_filters()
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

    /// The command's selection, narrowed to the shard.
    pub fn select(&self, inner: Arc<dyn Select>) -> Arc<dyn Select> {
        match self.shard {
            Some(shard) => Arc::new(Sharded { inner, shard }),
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

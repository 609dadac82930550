//! azcopy's smaller commands: `make`, `remove` and `env`.

use std::sync::Arc;
use std::time::Instant;

use ferry_core::{Backend, Entry, RelPath};
use ferry_engine::{walk_all, WalkOptions};

use super::cli::{GlobalArgs, MakeArgs, RemoveArgs};
use super::dryrun::Planned;
use super::output::{job_id, Folders, Printer};
use super::paths::AzPath;
use super::run::remotes;
use super::summary::{Failure, Summary, Tally};
use super::{AzcopyArgs, CheckMd5};
use crate::args::FilterArgs;
use crate::selection;

pub(super) fn plain_args() -> AzcopyArgs {
    AzcopyArgs {
        delete_destination: None,
        mirror_mode: false,
        cap_mbps: None,
        output_type: None,
        from_to: None,
        put_md5: None,
        check_md5: CheckMd5::FailIfDifferent,
        compare_hash: None,
        block_size_mb: None,
        put_blob_size_mb: None,
        s2s_preserve_access_tier: None,
        s2s_preserve_blob_tags: None,
    }
}

/// azcopy's sizes: two decimals and binary units (decimal ones with `--mega-units`).
pub(super) fn size_text(n: u64, mega: bool) -> String {
    let (base, units) = if mega {
        (1000.0, ["B", "KB", "MB", "GB", "TB", "PB"])
    } else {
        (1024.0, ["B", "KiB", "MiB", "GiB", "TiB", "PiB"])
    };
    let mut v = n as f64;
    let mut i = 0;
    while v >= base && i + 1 < units.len() {
        v /= base;
        i += 1;
    }
    format!("{v:.2} {}", units[i])
}

/// `azcopy make URL`: creates the container.
pub async fn make(a: &MakeArgs, p: &Printer) -> anyhow::Result<i32> {
    let r = remotes(&plain_args())?;
    let backend = r.open(&AzPath::parse(&a.resource_url).arg())?;
    backend.mkdir(&RelPath::root()).await?;
    p.line("Successfully created the resource.");
    Ok(0)
}

/// `azcopy remove URL`: one blob, the blobs right under a virtual directory, or with
/// `--recursive` everything under it; a job summary as `copy` prints.
pub async fn remove(a: &RemoveArgs, _g: &GlobalArgs, p: &Printer) -> anyhow::Result<i32> {
    let r = remotes(&plain_args())?;
    let path = AzPath::parse(&a.url);
    let source = r.open_source(&path.arg()).await?;
    let folders = Folders::Remove {
        recursive: a.recursive.unwrap_or(false),
        file_filter: a.include_pattern.is_some() || a.exclude_pattern.is_some(),
    };
    p.notes(&[&path], (!a.dry_run.unwrap_or(false)).then_some(folders));
    let mut include = super::run::include_paths(&a.include_path);
    include.extend(super::run::list_of_files(&a.list_of_files)?);
    let f = FilterArgs {
        include_pattern: a.include_pattern.iter().cloned().collect(),
        exclude_pattern: a.exclude_pattern.iter().cloned().collect(),
        exclude_path: a.exclude_path.iter().cloned().collect(),
        include,
        max_age: a.include_after.clone(),
        min_age: a.include_before.clone(),
        recursive: a.recursive,
        max_depth: -1,
        ..FilterArgs::default()
    };
    let (select, _) = selection::build(&f)?;
    let backend: Arc<dyn Backend> = source.backend;
    let single = source.file.is_some();
    let listed: Vec<Entry> = match source.file {
        Some(name) => {
            let rel = RelPath::new(&name)?;
            let e = backend.stat(&rel).await.ok().flatten();
            vec![e.unwrap_or_else(|| Entry::file(rel, 0, std::time::UNIX_EPOCH))]
        }
        // A virtual directory: everything under it with --recursive, else only the blobs
        // right in it, as azcopy does; a name nothing is stored under removes nothing.
        None => {
            let deep = a.recursive.unwrap_or(false) || path.contents;
            let opts = WalkOptions {
                max_depth: (!deep).then_some(1),
                ..WalkOptions::default()
            };
            match walk_all(backend.clone(), select, &opts).await {
                Ok((entries, _)) => entries.into_iter().filter(|e| !e.is_dir()).collect(),
                Err(e) if e.kind() == ferry_core::ErrorKind::DirNotFound => Vec::new(),
                Err(e) => return Err(e.into()),
            }
        }
    };
    if a.dry_run.unwrap_or(false) {
        // A single blob is the URL itself; the others lie under it.
        let whats: Vec<AzPath> = match single {
            true => vec![path.clone()],
            false => listed.iter().map(|e| path.join(e.path.as_str())).collect(),
        };
        let plans: Vec<Planned> = whats
            .iter()
            .zip(&listed)
            .map(|(what, entry)| Planned::Remove { what, entry })
            .collect();
        super::dryrun::report(p, &plans, false);
        return Ok(0);
    }
    let names: Vec<String> = listed
        .into_iter()
        .map(|e| e.path.as_str().to_owned())
        .collect();
    let id = job_id();
    let started = Instant::now();
    p.started(&id);
    let mut tally = Tally::default();
    for n in names {
        match backend.delete_file(&RelPath::new(&n)?).await {
            Ok(()) => tally.completed += 1,
            Err(e) => {
                tally.failed += 1;
                tally.failures.push(Failure {
                    path: n,
                    size: 0,
                    error: e.to_string(),
                });
            }
        }
    }
    let summary = Summary {
        id,
        elapsed: started.elapsed(),
        sync: false,
        tally,
        skipped: 0,
        scanned_src: 0,
        scanned_dst: 0,
        shown: (AzPath::parse(""), path.clone()),
        resumed: false,
    };
    p.finished(&summary);
    Ok(summary.exit_code())
}

/// `azcopy env`: the environment variables ferry's azcopy reads, with their values
/// (secrets shown only as set or not).
pub fn env() {
    let vars: [(&str, &str, bool); 6] = [
        (
            "AZCOPY_CONCURRENCY_VALUE",
            "How many files are transferred at once (default 16).",
            false,
        ),
        (
            "AZURE_STORAGE_ACCOUNT_NAME",
            "The storage account, for URLs without a SAS.",
            false,
        ),
        (
            "AZURE_STORAGE_ACCOUNT_KEY",
            "The account key, for URLs without a SAS.",
            true,
        ),
        (
            "AZCOPY_LOG_LOCATION",
            "Where the job's log file is said to be (default ~/.azcopy).",
            false,
        ),
        (
            "AZCOPY_JOB_PLAN_LOCATION",
            "Where job plans are kept, for `jobs` (default ~/.azcopy/plans).",
            false,
        ),
        (
            "AZCOPY_DISABLE_SYSLOG",
            "Accepted; ferry writes nothing to syslog.",
            false,
        ),
    ];
    for (name, what, secret) in vars {
        let value = match std::env::var(name) {
            Ok(_) if secret => "(set)".to_owned(),
            Ok(v) => v,
            Err(_) => String::new(),
        };
        println!("Name: {name}\nCurrent Value: {value}\nDescription: {what}\n");
    }
}

//! azcopy's smaller commands: `make`, `remove`, `set-properties` and `env`.

use std::sync::Arc;
use std::time::Instant;

use ferry_core::{Backend, Entry, RelPath};
use ferry_engine::{walk_all, WalkOptions};

use super::cli::{BlobSelection, GlobalArgs, MakeArgs, RemoveArgs, SetPropertiesArgs};
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

/// The blobs a `remove` or `set-properties` acts on: one blob, the blobs right under a
/// virtual directory, or with `--recursive` everything under it (the filters choose).
struct Targets {
    backend: Arc<dyn Backend>,
    path: AzPath,
    /// The URL named one blob.
    single: bool,
    listed: Vec<Entry>,
}

async fn targets(url: &str, b: &BlobSelection, p: &Printer) -> anyhow::Result<Targets> {
    let r = remotes(&plain_args())?;
    let path = AzPath::parse(url);
    let source = r.open_source(&path.arg()).await?;
    let folders = Folders::Remove {
        recursive: b.recursive.unwrap_or(false),
        file_filter: b.include_pattern.is_some() || b.exclude_pattern.is_some(),
    };
    p.notes(&[&path], (!b.dry_run.unwrap_or(false)).then_some(folders));
    let mut include = super::run::include_paths(&b.include_path);
    include.extend(super::run::list_of_files(&b.list_of_files)?);
    let f = FilterArgs {
        include_pattern: b.include_pattern.iter().cloned().collect(),
        exclude_pattern: b.exclude_pattern.iter().cloned().collect(),
        exclude_path: b.exclude_path.iter().cloned().collect(),
        include,
        max_age: b.include_after.clone(),
        min_age: b.include_before.clone(),
        recursive: b.recursive,
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
        // right in it, as azcopy does; a name nothing is stored under gives nothing.
        None => {
            let deep = b.recursive.unwrap_or(false) || path.contents;
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
    Ok(Targets {
        backend,
        path,
        single,
        listed,
    })
}

impl Targets {
    /// Each blob's URL, for the dry-run lines: a single blob is the URL itself.
    fn urls(&self) -> Vec<AzPath> {
        match self.single {
            true => vec![self.path.clone()],
            false => self
                .listed
                .iter()
                .map(|e| self.path.join(e.path.as_str()))
                .collect(),
        }
    }

    /// The dry run's report: one planned operation per blob, made by `plan`.
    fn report_dry_run<'a>(
        &'a self,
        p: &Printer,
        plan: impl Fn(&'a AzPath, &'a Entry) -> Planned<'a>,
        urls: &'a [AzPath],
    ) {
        let plans: Vec<Planned> = urls
            .iter()
            .zip(&self.listed)
            .map(|(u, e)| plan(u, e))
            .collect();
        super::dryrun::report(p, &plans, false);
    }

    /// Runs `act` on each blob as one job, with azcopy's job lines and summary.
    async fn job<F, Fut>(self, p: &Printer, act: F) -> anyhow::Result<i32>
    where
        F: Fn(Arc<dyn Backend>, RelPath) -> Fut,
        Fut: std::future::Future<Output = ferry_core::Result<()>>,
    {
        let id = job_id();
        let started = Instant::now();
        p.started(&id);
        let mut tally = Tally::default();
        for e in &self.listed {
            match act(self.backend.clone(), e.path.clone()).await {
                Ok(()) => tally.completed += 1,
                Err(err) => {
                    tally.failed += 1;
                    tally.failures.push(Failure {
                        path: e.path.as_str().to_owned(),
                        size: 0,
                        error: err.to_string(),
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
            shown: (AzPath::parse(""), self.path.clone()),
            resumed: false,
        };
        p.finished(&summary);
        Ok(summary.exit_code())
    }
}

/// `azcopy remove URL`: the blobs [`targets`] finds, deleted; a job summary as `copy`
/// prints.
pub async fn remove(a: &RemoveArgs, _g: &GlobalArgs, p: &Printer) -> anyhow::Result<i32> {
    let t = targets(&a.url, &a.blobs, p).await?;
    if a.blobs.dry_run.unwrap_or(false) {
        let urls = t.urls();
        t.report_dry_run(p, |what, entry| Planned::Remove { what, entry }, &urls);
        return Ok(0);
    }
    t.job(p, |b, path| async move { b.delete_file(&path).await })
        .await
}

/// `azcopy set-properties URL`: the access tier (`--block-blob-tier`), the metadata
/// (`--metadata`) and the index tags (`--blob-tags`) of the blobs [`targets`] finds, in
/// one job, as azcopy does; metadata and tags replace what the blob has, `clear` empties
/// them.
pub async fn set_properties(
    a: &SetPropertiesArgs,
    _g: &GlobalArgs,
    p: &Printer,
) -> anyhow::Result<i32> {
    let tier = super::props::tier(a.block_blob_tier.as_deref())
        .map_err(|why| anyhow::anyhow!("failed to parse user input due to error: {why}"))?;
    let metadata = a
        .metadata
        .as_deref()
        .map(|m| match m.eq_ignore_ascii_case("clear") {
            true => ferry_core::Metadata::new(),
            false => super::props::metadata_pairs(m),
        });
    let tags = a
        .blob_tags
        .as_deref()
        .map(super::props::tag_pairs)
        .transpose()?;
    if tier == Some("Archive") && metadata.is_some() {
        anyhow::bail!("failed to parse user input due to error: metadata can't be set if blob is set to be archived");
    }
    let t = targets(&a.url, &a.blobs, p).await?;
    if a.blobs.dry_run.unwrap_or(false) {
        let urls = t.urls();
        let plan = |what, entry| Planned::SetProperties { what, entry, tier };
        t.report_dry_run(p, plan, &urls);
        return Ok(0);
    }
    let (metadata, tags) = (metadata.as_ref(), tags.as_deref());
    t.job(p, |b, path| async move {
        if let Some(tier) = tier {
            b.set_tier(&path, tier).await?;
        }
        if let Some(m) = metadata {
            b.replace_user_metadata(&path, m).await?;
        }
        if let Some(tags) = tags {
            b.set_tags(&path, tags).await?;
        }
        Ok(())
    })
    .await
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

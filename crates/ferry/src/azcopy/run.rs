//! Running the azcopy personality: argv dispatch, then `copy` and `sync` on ferry's
//! engine with azcopy's rules (see [`super::paths`] for where things land).

use std::collections::HashSet;
use std::ffi::OsString;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use ferry_core::{Backend, RelPath};
use ferry_engine::{Job, Mode, Select, Stats, SyncOptions};

use super::cli::{
    self, AzCli, AzCommand, Common, CopyArgs, GlobalArgs, JobsCommand, Overwrite, SyncArgs,
};
use super::dryrun::Planned;
use super::output::{job_id, Folders, Printer};
use super::paths::AzPath;
use super::plan::{Plan, Recorder, Skipping, Totals, Transfer};
use super::prompt::OverwritePrompt;
use super::summary::{Counts, Summary};
use super::{AzcopyArgs, DeleteDestination};
use crate::args::{FilterArgs, HashCacheMode, LocalArgs};
use crate::cmd::copyto::Renamed;
use crate::exit::Exit;
use crate::open::Remotes;
use crate::selection;

/// The version azcopy scripts see; ferry's own follows on the next line.
pub const AZCOPY_VERSION: &str = "10.32.2";

/// azcopy's arguments when ferry runs as azcopy: argv[0] named `azcopy`, or `ferry azcopy …`.
pub fn personality_args(argv: &[OsString]) -> Option<Vec<String>> {
    let text = |a: &OsString| a.to_string_lossy().into_owned();
    let prog = argv.first().map(|a| {
        std::path::Path::new(a)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    })?;
    if prog == "azcopy" {
        return Some(argv[1..].iter().map(text).collect());
    }
    (argv.get(1).map(text).as_deref() == Some("azcopy"))
        .then(|| argv[2..].iter().map(text).collect())
}

/// Runs an azcopy command line; the exit code (0 success, 1 anything else, as azcopy).
pub fn main(args: Vec<String>) -> i32 {
    let mut ctx = JobCtx::new(&args);
    if let Some(command) = cli::unimplemented_command(&args) {
        eprintln!("azcopy: the {command} command is not implemented by ferry's azcopy yet: use Microsoft's azcopy for it");
        return 1;
    }
    if let Some(flag) = cli::unimplemented_flag(&args) {
        eprintln!("azcopy: --{flag} is not implemented by ferry's azcopy: drop it, or use Microsoft's azcopy for this job");
        return 1;
    }
    let parsed = match AzCli::try_parse_from(std::iter::once("azcopy".to_owned()).chain(args)) {
        Ok(p) => p,
        Err(e) => {
            let _ = e.print();
            return i32::from(e.use_stderr());
        }
    };
    if parsed.version {
        println!("azcopy version {AZCOPY_VERSION}");
        println!(
            "(ferry {}: azcopy's command line on ferry's engine)",
            env!("CARGO_PKG_VERSION")
        );
        return 0;
    }
    let printer = Printer {
        kind: parsed.global.output_type,
        quiet: parsed.global.output_level.eq_ignore_ascii_case("quiet"),
    };
    let Some(command) = parsed.command else {
        let _ = <AzCli as clap::CommandFactory>::command().print_help();
        return 0;
    };
    let mut command = command;
    match &command {
        AzCommand::Jobs {
            command:
                JobsCommand::Resume {
                    job_id,
                    source_sas,
                    destination_sas,
                },
        } => match resume(job_id, source_sas.as_deref(), destination_sas.as_deref()) {
            Ok((resumed, c)) => {
                ctx = resumed;
                command = c;
            }
            Err(e) => {
                printer.error(&format!("{e:#}"));
                return 1;
            }
        },
        AzCommand::Jobs { command } => {
            return super::jobs::run(command, &printer).unwrap_or_else(|e| {
                printer.error(&format!("{e:#}"));
                1
            });
        }
        AzCommand::Login(_) | AzCommand::Logout(_) => {
            eprintln!("azcopy: Microsoft Entra ID sign-in (login/logout) is not supported by ferry's azcopy: give a SAS URL (https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH?SAS) or set AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY");
            return 1;
        }
        AzCommand::Env => {
            super::other::env();
            return 0;
        }
        _ => {}
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("azcopy: can't start the runtime: {e}");
            return 1;
        }
    };
    let result = runtime.block_on(dispatch(&command, &parsed.global, &printer, &mut ctx));
    match result {
        Ok(code) => code,
        Err(e) => {
            let msg = match e.downcast_ref::<Exit>() {
                Some(x) => x.message.clone(),
                None => format!("{e:#}"),
            };
            let verb = match command {
                AzCommand::Copy(_) => "copy",
                AzCommand::Sync(_) => "sync",
                AzCommand::List(_) => "list",
                AzCommand::Make(_) => "make",
                AzCommand::SetProperties(_) => {
                    // azcopy's own two forms for this command.
                    printer.error(&match msg.starts_with("failed to parse user input") {
                        true => msg,
                        false => {
                            format!("failed to perform set-properties command due to error: {msg}")
                        }
                    });
                    return 1;
                }
                _ => "remove",
            };
            printer.error(&format!("Cannot perform {verb} due to error: {msg}"));
            1
        }
    }
}

/// A job's plan while it runs: a new one, or the one a `jobs resume` continues (with
/// the paths already completed, which this run leaves out).
struct JobCtx {
    plan: Plan,
    skip: HashSet<String>,
    resumed: bool,
}

impl JobCtx {
    fn new(args: &[String]) -> JobCtx {
        JobCtx {
            plan: Plan::new(job_id(), args),
            skip: HashSet::new(),
            resumed: false,
        }
    }

    /// Notes which ends carried a SAS, for `jobs resume` to ask for it again.
    fn ends(&mut self, src: &str, dst: &str) {
        let signed = |a: &str| a.split_once('?').is_some_and(|(_, q)| q.contains("sig="));
        self.plan.source_sas = signed(src);
        self.plan.destination_sas = signed(dst);
    }
}

/// The job to continue and its command, parsed again with the SAS given.
fn resume(
    id: &str,
    source_sas: Option<&str>,
    destination_sas: Option<&str>,
) -> anyhow::Result<(JobCtx, AzCommand)> {
    let (mut plan, [src_sas, dst_sas]) = super::jobs::resume_plan(id, source_sas, destination_sas)?;
    let parsed = AzCli::try_parse_from(
        std::iter::once("azcopy").chain(plan.args.iter().map(String::as_str)),
    )
    .map_err(|e| anyhow::anyhow!("the command of job {id} no longer parses: {e}"))?;
    let mut command = parsed
        .command
        .ok_or_else(|| anyhow::anyhow!("job {id} has no command to resume"))?;
    // The SAS goes back on the parsed source and destination (URLs only).
    if let AzCommand::Copy(a) = &mut command {
        for (end, sas) in [(&mut a.source, src_sas), (&mut a.destination, dst_sas)] {
            if let Some(sas) = sas.filter(|_| super::paths::is_url(end)) {
                *end = format!("{end}?{sas}");
            }
        }
    }
    let done = plan.done();
    // What earlier runs finished, from the journal: a killed run never wrote its totals.
    plan.totals.completed = done.len() as u64;
    plan.totals.bytes = done.values().sum();
    let skip = done.into_keys().collect();
    plan.status = "InProgress".into();
    plan.transfers.retain(|t| t.status == "Success");
    let ctx = JobCtx {
        plan,
        skip,
        resumed: true,
    };
    Ok((ctx, command))
}

async fn dispatch(
    c: &AzCommand,
    g: &GlobalArgs,
    p: &Printer,
    ctx: &mut JobCtx,
) -> anyhow::Result<i32> {
    match c {
        AzCommand::Copy(a) => copy(a, g, p, ctx).await,
        AzCommand::Sync(a) => sync(a, g, p, ctx).await,
        AzCommand::List(a) => super::list::list(a, p).await,
        AzCommand::Make(a) => super::other::make(a, p).await,
        AzCommand::Remove(a) => super::other::remove(a, g, p).await,
        AzCommand::SetProperties(a) => super::other::set_properties(a, g, p).await,
        _ => Ok(0),
    }
}

/// azcopy's default block size for block blobs, in MiB (`DefaultBlockBlobBlockSize`).
const AZCOPY_BLOCK_MIB: f64 = 8.0;

/// The existing compatibility flags, reused for their mapping onto ferry's options.
fn compat(c: &Common, g: &GlobalArgs, delete: Option<DeleteDestination>) -> AzcopyArgs {
    AzcopyArgs {
        delete_destination: delete,
        mirror_mode: false,
        // azcopy's 0 means "no cap".
        cap_mbps: g.cap_mbps.filter(|m| *m != 0.0),
        output_type: None,
        from_to: c.from_to.clone(),
        put_md5: c.put_md5.filter(|v| *v),
        check_md5: c.check_md5,
        compare_hash: None,
        // azcopy's own default block (8 MiB, where rclone's is 4 MiB): the same blocks
        // azcopy would send, and half the requests for a large file.
        block_size_mb: c.block_size_mb.or(Some(AZCOPY_BLOCK_MIB)),
        put_blob_size_mb: c.put_blob_size_mb,
        s2s_preserve_access_tier: c.s2s_preserve_access_tier,
        s2s_preserve_blob_tags: c.s2s_preserve_blob_tags,
    }
}

pub fn remotes(az: &AzcopyArgs) -> anyhow::Result<Remotes> {
    Ok(Remotes::new(None, LocalArgs::default()).with_backend_flags(az.personality_flags()?))
}

/// azcopy stores and sends no MD5 unless `--put-md5` is given: no Content-MD5 on the
/// blob and none with each block (ferry still hashes the file to verify the upload).
fn without_md5(c: &Common, flags: &mut crate::backend_flags::BackendFlags) {
    if c.put_md5 != Some(true) {
        flags.insert("azureblob_disable_checksum".into(), "true".into());
        flags.insert("azureblob_block_md5".into(), "false".into());
    }
}

/// sync's `--local-hash-storage-mode` and `--hash-meta-dir` as ferry's hash cache: azcopy
/// keeps local hashes in extended attributes or hidden files, ferry in one store (in
/// the directory given, else its cache directory), with the same effect on re-runs.
fn hash_cache(a: &SyncArgs) -> anyhow::Result<HashCacheMode> {
    if let Some(mode) = &a.local_hash_storage_mode {
        let known = ["XAttr", "HiddenFiles"];
        if !known.iter().any(|k| k.eq_ignore_ascii_case(mode)) {
            anyhow::bail!("error parsing the input given by the user. Failed with error couldn't parse \"{mode}\" into a \"HashStorageMode\"");
        }
    }
    Ok(match &a.hash_meta_dir {
        Some(dir) => HashCacheMode::In(dir.clone()),
        None => HashCacheMode::On,
    })
}

/// `--list-of-files`: the relative paths a text file lists, one per line (files, or
/// folders with everything below them), as anchored include rules.
pub fn list_of_files(file: &Option<std::path::PathBuf>) -> anyhow::Result<Vec<String>> {
    let Some(file) = file else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(file).map_err(|e| {
        anyhow::anyhow!(
            "cannot read the --list-of-files file {}: {e}",
            file.display()
        )
    })?;
    let rules = path_rules(text.lines().map(str::trim));
    if rules.is_empty() {
        anyhow::bail!("the --list-of-files file {} lists no paths", file.display());
    }
    Ok(rules)
}

/// azcopy's `a;b` path prefixes as anchored rclone include rules.
pub fn include_paths(list: &Option<String>) -> Vec<String> {
    path_rules(list.iter().flat_map(|l| l.split(';')))
}

/// Literal relative paths (no wildcards, as azcopy takes them) as include rules for the
/// path and anything below it.
fn path_rules<'a>(paths: impl Iterator<Item = &'a str>) -> Vec<String> {
    paths
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty())
        .map(ferry_filter::escape_glob)
        .flat_map(|p| [format!("/{p}"), format!("/{p}/**")])
        .collect()
}

fn filters(c: &Common, recursive: bool) -> FilterArgs {
    let v = |o: &Option<String>| o.iter().cloned().collect::<Vec<_>>();
    FilterArgs {
        include: include_paths(&c.include_path),
        include_pattern: v(&c.include_pattern),
        exclude_pattern: v(&c.exclude_pattern),
        exclude_path: v(&c.exclude_path),
        include_regex: v(&c.include_regex),
        exclude_regex: v(&c.exclude_regex),
        recursive: Some(recursive),
        max_depth: -1,
        ..FilterArgs::default()
    }
}

/// Source and destination opened with azcopy's rules for where things land.
struct Ends {
    src: Arc<dyn Backend>,
    dst: Arc<dyn Backend>,
    src_file: Option<String>,
    renamed_from: Option<String>,
    /// How dry-run lines name the source and destination: the folders transferred (or
    /// the one file and where it goes), local ones absolute, as azcopy prints them.
    shown: (AzPath, AzPath),
}

/// A local path made absolute for display; URLs as they are (without their SAS).
fn shown(p: &AzPath) -> AzPath {
    let mut p = AzPath {
        query: String::new(),
        contents: false,
        ..p.clone()
    };
    if !p.is_url() {
        if let Ok(abs) = std::path::absolute(&p.base) {
            p.base = abs.to_string_lossy().into_owned();
        }
    }
    p
}

async fn open_ends(
    r: &Remotes,
    src: &AzPath,
    dst: &AzPath,
    subdir: bool,
    needs_recursive: bool,
) -> anyhow::Result<Ends> {
    // Only where ferry would refuse before starting the job anyway (a path without
    // --recursive or /*): with --recursive the job starts and its listing fails, as
    // azcopy's does; a missing folder's `/*` is a job with nothing to do.
    if needs_recursive && !src.is_url() {
        let at = shown(src).base;
        if let Err(e) = std::fs::symlink_metadata(&at) {
            if e.kind() == std::io::ErrorKind::NotFound {
                anyhow::bail!(
                    "failed to scan path {at} due to lstat {at}: no such file or directory"
                );
            }
        }
    }
    let source = if src.contents {
        crate::open::Source {
            backend: r.open(&src.arg())?,
            file: None,
        }
    } else {
        r.open_source(&src.arg()).await?
    };
    if let Some(name) = source.file {
        let parent = shown(src).base;
        let parent = parent.rsplit_once('/').map_or(parent.as_str(), |(d, _)| d);
        let src_dir = AzPath::parse(parent);
        if dst.holds_files() {
            return Ok(Ends {
                src: source.backend,
                dst: r.open(&dst.arg())?,
                shown: (src_dir, shown(dst)),
                src_file: Some(name),
                renamed_from: None,
            });
        }
        // A single file to a path that names it: it becomes that file (or blob).
        let Some((dir, new_name)) = r.open_parent(&dst.arg(), false)? else {
            anyhow::bail!("the destination {} doesn't name a file", dst.base);
        };
        let bad = |e: ferry_core::Error| anyhow::anyhow!("{e}");
        let view = Renamed::new(
            source.backend,
            RelPath::new(&name).map_err(bad)?,
            RelPath::new(&new_name).map_err(bad)?,
        );
        let dst_dir = shown(dst).base;
        let dst_dir = dst_dir
            .rsplit_once('/')
            .map_or(dst_dir.as_str(), |(d, _)| d);
        return Ok(Ends {
            src: Arc::new(view),
            dst: dir,
            shown: (src_dir, AzPath::parse(dst_dir)),
            src_file: Some(new_name),
            renamed_from: Some(name),
        });
    }
    if needs_recursive {
        anyhow::bail!(
            "cannot use directory as source without --recursive or a trailing wildcard (/*)"
        );
    }
    let dst = match (subdir && !src.contents, src.name()) {
        (true, Some(name)) => dst.join(&name),
        _ => dst.clone(),
    };
    Ok(Ends {
        src: source.backend,
        dst: r.open(&dst.arg())?,
        shown: (shown(src), shown(&dst)),
        src_file: None,
        renamed_from: None,
    })
}

fn check_from_to(r: &Remotes, az: &AzcopyArgs, src: &AzPath, dst: &AzPath) -> anyhow::Result<()> {
    if az.from_to.is_none() {
        return Ok(());
    }
    let (a, b) = (r.resolve(&src.arg())?, r.resolve(&dst.arg())?);
    az.check_from_to(&a.kind, &b.kind)
}

async fn copy(a: &CopyArgs, g: &GlobalArgs, p: &Printer, ctx: &mut JobCtx) -> anyhow::Result<i32> {
    ctx.ends(&a.source, &a.destination);
    let az = compat(&a.common, g, None);
    let (src, dst) = (AzPath::parse(&a.source), AzPath::parse(&a.destination));
    let mut opts = SyncOptions::default();
    let mut flags = az.personality_flags()?;
    without_md5(&a.common, &mut flags);
    super::props::apply(&a.props, dst.is_url(), &mut opts, &mut flags)?;
    let r = Remotes::new(None, LocalArgs::default()).with_backend_flags(flags);
    check_from_to(&r, &az, &src, &dst)?;
    let recursive = a.recursive.unwrap_or(false);
    match a.overwrite {
        Overwrite::True => opts.compare.ignore_times = true,
        Overwrite::False => opts.compare.ignore_existing = true,
        Overwrite::IfSourceNewer => opts.compare.update = true,
        // Every conflict is asked about (the engine confirms each overwrite).
        Overwrite::Prompt => opts.compare.ignore_times = true,
    }
    let mut f = filters(&a.common, recursive);
    f.include.extend(list_of_files(&a.list_of_files)?);
    f.max_age = a.include_after.clone();
    f.min_age = a.include_before.clone();
    let needs_recursive = !recursive && !src.contents;
    let ends = open_ends(&r, &src, &dst, a.as_subdir.unwrap_or(true), needs_recursive).await?;
    let dry_run = a.common.dry_run.unwrap_or(false);
    p.notes(&[&src, &dst], (!dry_run).then_some(Folders::NotAware));
    if !dry_run {
        p.info("Scanning...");
    }
    let confirm = match a.overwrite {
        Overwrite::Prompt => Some(Arc::new(OverwritePrompt::new(p, ends.shown.1.clone())?)),
        _ => None,
    };
    let job = JobSpec {
        mode: Mode::Copy,
        opts,
        az,
        filters: f,
        dry_run: a.common.dry_run.unwrap_or(false),
        sync: false,
        confirm,
    };
    run_job(job, ends, p, ctx).await
}

async fn sync(a: &SyncArgs, g: &GlobalArgs, p: &Printer, ctx: &mut JobCtx) -> anyhow::Result<i32> {
    ctx.ends(&a.source, &a.destination);
    let mut az = compat(&a.common, g, Some(a.delete_destination));
    az.compare_hash = a.compare_hash;
    az.mirror_mode = a.mirror_mode.unwrap_or(false);
    let local = LocalArgs {
        hash_cache: hash_cache(a)?,
        ..LocalArgs::default()
    };
    let mut flags = az.personality_flags()?;
    without_md5(&a.common, &mut flags);
    let r = Remotes::new(None, local).with_backend_flags(flags);
    let (src, dst) = (AzPath::parse(&a.source), AzPath::parse(&a.destination));
    check_from_to(&r, &az, &src, &dst)?;
    let mut opts = SyncOptions::default();
    // azcopy's rule: copy when the source is newer or missing there; a newer destination stays.
    opts.compare.update = true;
    // Downloaded files keep the time they were written (azcopy's sync has no flag for it).
    opts.preserve_modtime = dst.is_url();
    let ends = open_ends(&r, &src, &dst, false, false).await?;
    let dry_run = a.common.dry_run.unwrap_or(false);
    p.notes(&[&src, &dst], (!dry_run).then_some(Folders::NotAware));
    let job = JobSpec {
        mode: Mode::Sync,
        opts,
        az,
        filters: filters(&a.common, a.recursive.unwrap_or(true)),
        dry_run: a.common.dry_run.unwrap_or(false),
        sync: true,
        confirm: None,
    };
    run_job(job, ends, p, ctx).await
}

struct JobSpec {
    mode: Mode,
    opts: SyncOptions,
    az: AzcopyArgs,
    filters: FilterArgs,
    dry_run: bool,
    sync: bool,
    /// `--overwrite=prompt`'s questions.
    confirm: Option<Arc<OverwritePrompt>>,
}

async fn run_job(spec: JobSpec, ends: Ends, p: &Printer, ctx: &mut JobCtx) -> anyhow::Result<i32> {
    let mut opts = spec.opts;
    opts.dry_run = spec.dry_run;
    // azcopy's knob for parallel requests; ferry's transfers are whole files.
    opts.transfers = std::env::var("AZCOPY_CONCURRENCY_VALUE")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(16);
    opts.checkers = 16;
    let mode = spec.az.apply(spec.mode, &mut opts)?;
    let approve_deletes = spec.az.approver(mode, opts.dry_run)?;
    let (select, _) = selection::build(&spec.filters)?;
    let select: Arc<dyn Select> = if ctx.skip.is_empty() {
        select
    } else {
        Arc::new(Skipping {
            inner: select,
            done: std::mem::take(&mut ctx.skip),
        })
    };
    let id = ctx.plan.id.clone();
    let started = Instant::now();
    let counts = Arc::new(Counts::default());
    let observer: Arc<dyn ferry_engine::Observer> = if spec.dry_run {
        counts.clone()
    } else {
        // A job whose plan can't be written still runs; only `jobs` won't know it.
        let _ = ctx.plan.save();
        p.started(&id);
        Arc::new(Recorder::new(counts.clone(), &id))
    };
    let stats = Arc::new(Stats::default());
    let (src, dst) = ends.shown;
    let ends_renamed = ends.renamed_from;
    let src_backend = ends.src.clone();
    let job = Job {
        src: ends.src,
        dst: ends.dst,
        mode,
        opts,
        select,
        src_file: ends.src_file,
        backup: None,
        alt_dests: None,
        confirm: spec
            .confirm
            .clone()
            .map(|c| c as Arc<dyn ferry_engine::Confirm>),
        observer,
        stats: stats.clone(),
        approve_deletes,
    };
    // One attempt: azcopy retries requests, never a whole job (requests are retried below).
    let outcome = match ferry_engine::run(job, 1, Duration::ZERO).await {
        Ok(o) => o,
        Err(e) => {
            if !spec.dry_run {
                ctx.plan.status = "Failed".into();
                let _ = ctx.plan.save();
            }
            return Err(crate::exit::from_core(e));
        }
    };
    let snap = stats.snapshot();
    let tally = counts.tally();
    if spec.dry_run {
        dry_run_lines(
            &tally.would_copy,
            &*src_backend,
            (&src, &dst),
            ends_renamed,
            (p, !spec.sync),
        )
        .await;
        return Ok(0);
    }
    let replaced = tally.replaced;
    let scanned_src = tally.completed + tally.failed - replaced.min(tally.completed) + snap.checks;
    let mut summary = Summary {
        id,
        elapsed: started.elapsed(),
        sync: spec.sync,
        skipped: if spec.sync {
            0
        } else {
            snap.checks.saturating_sub(replaced)
        },
        scanned_src,
        scanned_dst: snap.checks + tally.deleted,
        tally,
        shown: (src, dst),
        resumed: ctx.resumed,
    };
    record_outcome(&mut ctx.plan, &mut summary, ends_renamed.as_deref());
    for path in &summary.tally.deleted_paths {
        p.info(&format!("Deleting extra object: {path}"));
    }
    if p.kind == cli::OutputType::Text {
        for f in &summary.tally.failures {
            eprintln!("azcopy: {}: {}", f.path, f.error);
        }
    }
    p.finished(&summary);
    Ok(summary.exit_code().max(i32::from(outcome.errors > 0)))
}

/// Adds what an earlier run of a resumed job completed to the summary, and writes the
/// job's final figures and transfers to its plan.
fn record_outcome(plan: &mut Plan, summary: &mut Summary, renamed: Option<&str>) {
    let before = plan.totals;
    summary.tally.completed += before.completed;
    summary.tally.bytes += before.bytes;
    plan.totals = Totals {
        completed: summary.tally.completed,
        failed: summary.tally.failed,
        skipped: summary.skipped,
        bytes: summary.tally.bytes,
    };
    plan.status = summary.status().into();
    let (src, dst) = &summary.shown;
    let transfer = |path: &str, status: &str| Transfer {
        source: src.join(renamed.unwrap_or(path)).base,
        destination: dst.join(path).base,
        status: status.into(),
    };
    plan.transfers = plan.done().keys().map(|p| transfer(p, "Success")).collect();
    plan.transfers.extend(
        summary
            .tally
            .failures
            .iter()
            .map(|f| transfer(&f.path, "Failed")),
    );
    let _ = plan.save();
}

/// azcopy's dry-run report: the removals (paths the source lacks) first, then the copies.
async fn dry_run_lines(
    paths: &[String],
    src_backend: &dyn Backend,
    (src, dst): (&AzPath, &AzPath),
    renamed: Option<String>,
    (p, copy): (&Printer, bool),
) {
    let mut removes = Vec::new();
    let mut copies = Vec::new();
    for path in paths {
        let found = match RelPath::new(path) {
            Ok(rel) => match src_backend.stat(&rel).await {
                Ok(Some(e)) => Some(Some(e)),
                _ => None,
            },
            Err(_) => Some(None),
        };
        match found {
            None => removes.push(dst.join(path)),
            // A renamed single file shows under its new name; its source keeps its own.
            Some(entry) => copies.push((
                src.join(renamed.as_deref().unwrap_or(path)),
                dst.join(path),
                entry,
            )),
        }
    }
    let plans: Vec<Planned> = removes
        .iter()
        .map(|what| Planned::SyncDelete { what })
        .chain(copies.iter().map(|(from, to, entry)| Planned::Copy {
            from,
            to,
            entry: entry.as_ref(),
        }))
        .collect();
    super::dryrun::report(p, &plans, copy);
}

//! `check`: report differences between two trees, or between a tree and a sum file
//! (`--checkfile`, which `md5sum -C` and friends share); exit 1 when they differ.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use ferry_core::{match_key, shown, Entry, HashKind};
use ferry_engine::{CheckOptions, CheckReport, Select, Stats};
use futures::stream::{self, StreamExt};

use crate::args::FilterArgs;
use crate::cmd::hashsum;
use crate::cmd::listing::{self, Listing};
use crate::exit::{self, fail};
use crate::{selection, Globals};

#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// Source path (with --checkfile, the sum file)
    pub source: String,
    /// Destination path
    pub dest: String,
    /// Treat source:path as a SUM file with hashes of given type
    #[arg(short = 'C', long, value_name = "HASH", env = "FERRY_CHECKFILE")]
    pub checkfile: Option<String>,
    /// Check one way only, source files must exist on remote
    #[arg(long, env = "FERRY_ONE_WAY")]
    pub one_way: bool,
    #[command(flatten)]
    pub reports: Reports,
    /// Check by downloading rather than with hash
    #[arg(long, env = "FERRY_DOWNLOAD")]
    pub download: bool,
    /// Skip based on size only, not modtime or checksum
    #[arg(long, env = "FERRY_SIZE_ONLY")]
    pub size_only: bool,
    /// Number of checkers to run in parallel
    #[arg(long, default_value_t = 8, allow_negative_numbers = true, value_parser = crate::args::count_u32(1, crate::args::MAX_PARALLEL), env = "FERRY_CHECKERS")]
    pub checkers: u32,
    /// Don't normalize unicode characters in filenames
    #[arg(long, env = "FERRY_NO_UNICODE_NORMALIZATION")]
    pub no_unicode_normalization: bool,
    /// Ignore case when synchronizing
    #[arg(long, env = "FERRY_IGNORE_CASE_SYNC")]
    pub ignore_case_sync: bool,
    /// Compare each source file with the destination file its renamed name (see convmv --help) gives, as sync sends it
    #[arg(long, value_name = "RULE")]
    pub name_transform: Vec<String>,
    #[command(flatten)]
    pub filters: FilterArgs,
    /// Check only the files whose path hash (FNV-1a 64) modulo N is K, counting from 0; `auto`: from Slurm's job array or a Kubernetes Indexed Job
    #[arg(long, value_name = "K/N|auto", env = "FERRY_SHARD")]
    pub shard: Option<String>,
}

/// Where each category of path goes: a file, standard output (`-`), or nowhere.
#[derive(Args, Debug, Default, Clone)]
pub struct Reports {
    /// Make a combined report of changes to this file
    #[arg(long, value_name = "FILE", env = "FERRY_COMBINED")]
    pub combined: Option<PathBuf>,
    /// Report all non-matching files to this file
    #[arg(long, value_name = "FILE", env = "FERRY_DIFFER")]
    pub differ: Option<PathBuf>,
    /// Report all files missing from the source to this file
    #[arg(long, value_name = "FILE", env = "FERRY_MISSING_ON_SRC")]
    pub missing_on_src: Option<PathBuf>,
    /// Report all files missing from the destination to this file
    #[arg(long, value_name = "FILE", env = "FERRY_MISSING_ON_DST")]
    pub missing_on_dst: Option<PathBuf>,
    /// Report all matching files to this file
    #[arg(long = "match", value_name = "FILE", env = "FERRY_MATCH")]
    pub match_file: Option<PathBuf>,
    /// Report all files with errors (hashing or reading) to this file
    #[arg(long, value_name = "FILE", env = "FERRY_ERROR")]
    pub error: Option<PathBuf>,
}

impl Reports {
    /// Only the combined report, on standard output: what `md5sum -C` prints.
    pub fn combined_to_stdout() -> Self {
        Reports {
            combined: Some(PathBuf::from("-")),
            ..Default::default()
        }
    }

    /// Creates (empties) the report files before the check runs, so a path that can't
    /// be written fails at once rather than after a long check.
    pub(crate) fn create(&self) -> anyhow::Result<()> {
        for path in self.paths().into_iter().flatten() {
            create_report(path)?;
        }
        Ok(())
    }

    /// Where each report goes, `None` for one not asked for.
    pub(crate) fn paths(&self) -> [&Option<PathBuf>; 6] {
        [
            &self.combined,
            &self.differ,
            &self.missing_on_src,
            &self.missing_on_dst,
            &self.match_file,
            &self.error,
        ]
    }

    /// Writes each list to its report, and every path with its sign (`=` match, `*`
    /// differ, `+` missing on the destination, `-` missing on the source, `!` error) to
    /// the combined report, in path order.
    pub(crate) fn write(&self, r: &CheckReport) -> anyhow::Result<()> {
        let lists = [
            ('=', &r.matching, &self.match_file),
            ('*', &r.differ, &self.differ),
            ('+', &r.missing_on_dst, &self.missing_on_dst),
            ('-', &r.missing_on_src, &self.missing_on_src),
            ('!', &r.errors, &self.error),
        ];
        for (_, list, out) in &lists {
            write_report(out, list.iter().map(|p| format!("{}\n", shown::name(p))))?;
        }
        let mut all: Vec<(&str, char)> = lists
            .iter()
            .flat_map(|(sign, list, _)| list.iter().map(|p| (p.as_str(), *sign)))
            .collect();
        all.sort();
        write_report(
            &self.combined,
            all.into_iter()
                .map(|(p, sign)| format!("{sign} {}\n", shown::name(p))),
        )
    }
}

fn report_error(path: &Path, e: std::io::Error) -> anyhow::Error {
    fail(
        exit::ERROR,
        format!(
            "can't write report file {}: {e}; give a writable path, or - for standard output",
            path.display()
        ),
    )
}

/// Creates (empties) one report file now; standard output (`-`) is only written at the end.
pub(crate) fn create_report(path: &Path) -> anyhow::Result<()> {
    if path.as_os_str() == "-" {
        return Ok(());
    }
    std::fs::write(path, "").map_err(|e| report_error(path, e))
}

pub(crate) fn write_report(
    path: &Option<PathBuf>,
    lines: impl Iterator<Item = String>,
) -> anyhow::Result<()> {
    let Some(path) = path else { return Ok(()) };
    let text: String = lines.collect();
    if path.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        return match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(fail(
                exit::ERROR,
                format!("can't write to standard output: {e}"),
            )),
            _ => Ok(()),
        };
    }
    std::fs::write(path, text).map_err(|e| report_error(path, e))
}

/// What a check found, counted as rclone counts it for its summary and exit code.
#[derive(Default)]
struct Outcome {
    report: CheckReport,
    /// Matches whose hashes could not be compared.
    unchecked: usize,
    differences: usize,
    /// Everything logged as an error: differences, missing files, failed reads.
    errors: usize,
    /// The last error that ends the run with its own exit code (a listing that failed,
    /// a file the sum file lists but the tree lacks); differences alone exit 1.
    failure: Option<(i32, String)>,
    last_error: Option<String>,
}

impl Outcome {
    fn error(&mut self, msg: String) {
        self.errors += 1;
        self.last_error = Some(msg);
    }

    fn fail(&mut self, code: i32, msg: String) {
        self.error(msg.clone());
        self.failure.get_or_insert((code, msg));
    }

    /// Logs rclone's summary (`src` is `None` for a sum file) and gives the exit code.
    fn finish(&self, cmd: &str, src: Option<&str>, dst: &str) -> anyhow::Result<i32> {
        let r = &self.report;
        if !r.missing_on_dst.is_empty() {
            tracing::warn!("{dst}: {} files missing", r.missing_on_dst.len());
        }
        if !r.missing_on_src.is_empty() {
            match src {
                Some(src) => tracing::warn!("{src}: {} files missing", r.missing_on_src.len()),
                None => tracing::warn!("{} hashes missing", r.missing_on_src.len()),
            }
        }
        tracing::warn!("{dst}: {} differences found", self.differences);
        if self.errors > 0 {
            tracing::warn!("{dst}: {} errors while checking", self.errors);
        }
        if self.unchecked > 0 {
            tracing::warn!("{dst}: {} hashes could not be checked", self.unchecked);
        }
        if !r.matching.is_empty() {
            tracing::warn!("{dst}: {} matching files", r.matching.len());
        }
        let errors = self.errors as u64;
        let failed = |code: i32, errors: u64, last: &str| {
            Err(fail(code, exit::failed_with(cmd, errors, last)))
        };
        if let Some((code, msg)) = &self.failure {
            // rclone counts the error that ends the run once more as it returns.
            return failed(*code, errors + 1, msg);
        }
        if self.differences > 0 {
            return failed(
                exit::ERROR,
                errors,
                &format!("{} differences found", self.differences),
            );
        }
        if let Some(last) = &self.last_error {
            return failed(exit::ERROR, errors, last);
        }
        Ok(exit::SUCCESS)
    }
}

pub async fn run(a: &CheckArgs, g: &Globals) -> anyhow::Result<i32> {
    if let Some(name) = &a.checkfile {
        if a.shard.is_some() {
            return Err(fail(
                exit::USAGE,
                "--shard splits a check of two trees; it can't be used with --checkfile",
            ));
        }
        return run_checkfile(name, a, g).await;
    }
    run_trees("check", a, g, |_| Ok(None)).await
}

/// `cryptcheck SRC CRYPT`: `check` with each pair compared through the encrypted hash
/// (the source's data encrypted with the destination file's nonce, hashed as the
/// remote under the crypt remote hashes it).
pub async fn run_crypt(a: &CheckArgs, g: &Globals) -> anyhow::Result<i32> {
    if a.checkfile.is_some() {
        return Err(fail(
            exit::USAGE,
            "cryptcheck compares two trees; --checkfile is check's",
        ));
    }
    run_trees("cryptcheck", a, g, |dst| {
        let crypt = dst
            .as_any()
            .downcast_ref::<ferry_crypt::CryptBackend>()
            .ok_or_else(|| fail(exit::ERROR, format!("{} is not a crypt remote", a.dest)))?;
        let under = crypt.underlying();
        let kind = under
            .features()
            .semantics
            .hashes
            .preferred()
            .ok_or_else(|| {
                fail(
                    exit::ERROR,
                    format!("{} does not support any hashes", under.describe()),
                )
            })?;
        tracing::info!("Using {kind} for hash comparisons");
        Ok(Some(Arc::new(crate::cmd::crypt::EncryptedHash {
            dst: dst.clone(),
            kind,
        }) as Arc<dyn ferry_engine::Comparer>))
    })
    .await
}

async fn run_trees(
    cmd: &str,
    a: &CheckArgs,
    g: &Globals,
    comparer: impl FnOnce(
        &Arc<dyn ferry_core::Backend>,
    ) -> anyhow::Result<Option<Arc<dyn ferry_engine::Comparer>>>,
) -> anyhow::Result<i32> {
    let (select, _) = selection::build(&a.filters)?;
    let shard = a
        .shard
        .as_deref()
        .map(crate::shard::parse_flag)
        .transpose()?;
    let rules = crate::settings::name_transform(&a.name_transform)?;
    let mut src = g.remotes.open_source(&a.source).await?;
    if src.file.is_some() {
        return Err(fail(exit::USAGE, format!("{cmd} needs two directories; to compare single files use their parent directories with --include NAME")));
    }
    if let Some(rules) = &rules {
        src = crate::cmd::transfer::transformed(src, rules, false)?;
    }
    let dst = g.remotes.open(&a.dest)?;
    // The same split as the transfers' shards: a check shard checks what its sync shard sent.
    let select = match shard {
        Some(k) => {
            let (by, read) = crate::shard::split_for(&*src.backend, false, &*dst).await;
            src.backend = crate::shard::remember(src.backend, read);
            crate::shard::narrow(select, k, by)
        }
        None => select,
    };
    let comparer = comparer(&dst)?;
    let reports = a.reports.clone();
    reports.create()?;
    let opts = CheckOptions {
        comparer,
        size_only: a.size_only,
        download: a.download,
        one_way: a.one_way,
        checkers: a.checkers as usize,
        no_unicode_normalization: a.no_unicode_normalization,
        ignore_case_sync: a.ignore_case_sync,
    };
    let stats = Arc::new(Stats::default());
    let display = g.start_display(&stats, true);
    let result = ferry_engine::check(
        src.backend.clone(),
        dst.clone(),
        select,
        &opts,
        stats.clone(),
    )
    .await;
    display.finish();
    let report = result.map_err(exit::from_core)?;
    reports.write(&report)?;
    let outcome = Outcome {
        unchecked: if report.hash_unavailable {
            report.matching.len()
        } else {
            report.unhashed
        },
        differences: report.differences(),
        errors: report.differences() + report.errors.len(),
        last_error: (!report.errors.is_empty()).then(|| "see the errors above".to_owned()),
        failure: None,
        report,
    };
    g.final_stats(&stats.snapshot(), false);
    outcome.finish(cmd, Some(&src.backend.describe()), &dst.describe())
}

/// `check --checkfile HASH SUMFILE DST`.
async fn run_checkfile(name: &str, a: &CheckArgs, g: &Globals) -> anyhow::Result<i32> {
    let kind = sum_kind(
        name,
        "--checkfile takes the type of the hashes in the sum file",
    )?;
    let opts = SumCheck {
        kind,
        download: a.download,
        one_way: a.one_way,
        checkers: a.checkers as usize,
        normalize: !a.no_unicode_normalization,
        ignore_case: a.ignore_case_sync,
    };
    let l = listing::open(g, &a.dest, &a.filters, true).await?;
    check_sum_file("check", g, &a.source, &l, &a.filters, &opts, &a.reports).await
}

/// rclone's `checksum HASH SUMFILE DST`: the files of DST checked against a sum file.
#[derive(Args, Debug)]
pub struct ChecksumArgs {
    /// The type of the hashes in the sum file (md5, sha1, …)
    pub hash: String,
    /// The sum file (lines of `HASH  path`, as md5sum writes them)
    pub sumfile: String,
    /// The tree to check
    pub dest: String,
    /// Check one way only, source files must exist on remote
    #[arg(long, env = "FERRY_ONE_WAY")]
    pub one_way: bool,
    #[command(flatten)]
    pub reports: Reports,
    /// Check by hashing the contents
    #[arg(long, env = "FERRY_DOWNLOAD")]
    pub download: bool,
    /// Number of checkers to run in parallel
    #[arg(long, default_value_t = 8, allow_negative_numbers = true, value_parser = crate::args::count_u32(1, crate::args::MAX_PARALLEL), env = "FERRY_CHECKERS")]
    pub checkers: u32,
    #[command(flatten)]
    pub filters: FilterArgs,
}

pub async fn run_checksum(a: &ChecksumArgs, g: &Globals) -> anyhow::Result<i32> {
    let kind = sum_kind(
        &a.hash,
        "checksum's first argument is the type of the hashes in the sum file",
    )?;
    let opts = SumCheck {
        kind,
        download: a.download,
        one_way: a.one_way,
        checkers: a.checkers as usize,
        normalize: true,
        ignore_case: false,
    };
    let l = listing::open(g, &a.dest, &a.filters, true).await?;
    check_sum_file("checksum", g, &a.sumfile, &l, &a.filters, &opts, &a.reports).await
}

/// A hash type named on the command line; the list of types, as rclone prints it, when
/// the name is none of them.
fn sum_kind(name: &str, hint: &str) -> anyhow::Result<HashKind> {
    name.parse().map_err(|e| {
        println!("{}", hashsum::help_list());
        fail(exit::USAGE, format!("{e}; {hint}"))
    })
}

/// How a tree is checked against a sum file.
pub struct SumCheck {
    pub kind: HashKind,
    /// Hash the data instead of asking the backend for its hashes.
    pub download: bool,
    /// Don't report files that have no line in the sum file.
    pub one_way: bool,
    pub checkers: usize,
    /// Match names NFC-normalised (unless `--no-unicode-normalization`).
    pub normalize: bool,
    /// Match names ignoring case (`--ignore-case-sync`).
    pub ignore_case: bool,
}

/// Checks the tree `l` against the sum file `sumfile` as rclone's `CheckSum` does: the
/// sum file plays the source, so a file without a line is missing on the source
/// (`-`, a difference) and a line without a file is missing on the destination (`+`,
/// an error but not a difference). `filters` decide, by name alone, which lines count.
pub async fn check_sum_file(
    cmd: &str,
    g: &Globals,
    sumfile: &str,
    l: &Listing,
    filters: &FilterArgs,
    opts: &SumCheck,
    reports: &Reports,
) -> anyhow::Result<i32> {
    let dst = l.backend.describe();
    if !opts.download && !l.backend.features().semantics.hashes.contains(opts.kind) {
        return Err(fail(
            exit::ERROR,
            format!(
                "Failed to {cmd}: {}: hash type is not supported by file system: {dst}; add --download to hash the data here",
                opts.kind
            ),
        ));
    }
    let key = |p: &str| match_key(p, opts.normalize, opts.ignore_case);
    let sums = hashsum::read_sums(g, cmd, sumfile, key).await?;
    reports.create()?;
    let listed = name_only(filters)?;
    let outcome = compare_with_sums(l, sums, &*listed, opts).await;
    reports.write(&outcome.report)?;
    outcome.finish(cmd, None, &dst)
}

/// The filters as rclone applies them to a sum file's lines: names only, so a line is
/// not dropped for a size or age its file, being absent, doesn't have.
fn name_only(filters: &FilterArgs) -> anyhow::Result<Arc<dyn Select>> {
    let mut f = filters.clone();
    (f.min_size, f.max_size, f.min_age, f.max_age) = (None, None, None, None);
    f.max_depth = -1;
    f.recursive = None;
    Ok(selection::build(&f)?.0)
}

/// What a file's check came to, once its hash is known.
enum Verdict {
    Match,
    Unchecked,
    Differ,
    Duplicate,
    Error(ferry_core::Error),
}

async fn compare_with_sums(
    l: &Listing,
    sums: hashsum::Sums,
    listed: &dyn Select,
    opts: &SumCheck,
) -> Outcome {
    let dst = l.backend.describe();
    // A line's hash is taken when a file claims it; a second file with the same match
    // key (differing only in normalisation or case) finds it gone: a duplicate.
    let mut sums: std::collections::HashMap<String, Option<String>> =
        sums.into_iter().map(|(k, v)| (k, Some(v))).collect();
    let mut o = Outcome::default();
    let mut walker = l.walker();
    loop {
        let entries = match walker.next_dir().await {
            Ok(Some((_, entries))) => entries,
            Ok(None) => break,
            Err(e) => {
                // Every line then counts as missing, as in rclone; the exit code is
                // the listing's (3 for a directory that isn't there).
                tracing::error!("error listing: {e}");
                o.fail(
                    exit::code_for_kind(e.kind(), e.is_temporary()),
                    e.to_string(),
                );
                break;
            }
        };
        let mut work = Vec::new();
        for e in entries.into_iter().filter(|e| !e.is_dir()) {
            match sums.get_mut(&match_key(
                e.path.as_str(),
                opts.normalize,
                opts.ignore_case,
            )) {
                Some(slot) => work.push((e, slot.take())),
                None if opts.one_way => {}
                None => {
                    tracing::error!("{}: sum not found", e.path);
                    o.differences += 1;
                    o.error("sum not found".into());
                    o.report.missing_on_src.push(e.path.to_string());
                }
            }
        }
        let backend = &*l.backend;
        let mut verdicts = stream::iter(work)
            .map(|(e, want)| async move {
                let v = match want {
                    None => Verdict::Duplicate,
                    Some(want) => verdict(backend, &e, &want, opts).await,
                };
                (e, v)
            })
            .buffered(opts.checkers.max(1));
        while let Some((e, v)) = verdicts.next().await {
            let path = e.path.to_string();
            match v {
                Verdict::Match => o.report.matching.push(path),
                Verdict::Unchecked => {
                    tracing::debug!("{path}: {} - could not check hash ({dst})", opts.kind);
                    o.unchecked += 1;
                    o.report.matching.push(path);
                }
                Verdict::Differ => {
                    tracing::error!("{path}: files differ");
                    o.differences += 1;
                    o.error("files differ".into());
                    o.report.differ.push(path);
                }
                Verdict::Duplicate => {
                    tracing::error!("{path}: duplicate file");
                    o.error("duplicate file".into());
                    o.report.errors.push(path);
                }
                Verdict::Error(err) => {
                    tracing::error!("{path}: Failed to calculate hash: {err}");
                    o.error(err.to_string());
                    o.report.errors.push(path);
                }
            }
        }
    }
    let below_root = walker.into_report();
    if let Some(e) = below_root.last_error {
        o.errors += below_root.errors as usize;
        o.failure.get_or_insert((
            exit::code_for_kind(e.kind(), e.is_temporary()),
            e.to_string(),
        ));
    }
    let mut unclaimed: Vec<String> = sums
        .into_iter()
        .filter(|(path, hash)| {
            hash.is_some() && listed.include_file(path, 0, std::time::UNIX_EPOCH)
        })
        .map(|(path, _)| path)
        .collect();
    unclaimed.sort();
    for path in unclaimed {
        let msg = format!("file not in {dst}");
        tracing::error!("{path}: {msg}");
        o.fail(exit::ERROR, msg);
        o.report.missing_on_dst.push(path);
    }
    for list in [
        &mut o.report.matching,
        &mut o.report.differ,
        &mut o.report.missing_on_src,
        &mut o.report.errors,
    ] {
        list.sort();
    }
    o
}

async fn verdict(
    backend: &dyn ferry_core::Backend,
    e: &Entry,
    want: &str,
    opts: &SumCheck,
) -> Verdict {
    match listing::hashes_of(backend, e, &[opts.kind], opts.download).await {
        Ok(h) => match h.get(opts.kind) {
            None | Some("") => Verdict::Unchecked,
            Some(got) if got.eq_ignore_ascii_case(want) => Verdict::Match,
            Some(_) => Verdict::Differ,
        },
        Err(err) => Verdict::Error(err),
    }
}

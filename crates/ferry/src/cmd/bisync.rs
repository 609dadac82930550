//! `bisync`: two-way sync with saved state (rclone's `bisync`, recovering by itself).

use std::path::PathBuf;

use clap::Args;
use ferry_bisync::{Ending, Options, Pair};
use ferry_core::{HashKind, HashSet, MultiHasher};

use crate::args::{FilterArgs, WatchArgs};
use crate::exit::{self, fail};
use crate::{selection, settings, Globals};

#[derive(Args, Debug)]
pub struct BisyncArgs {
    /// Path1: a local path or remote:path
    pub path1: String,
    /// Path2: a local path or remote:path
    pub path2: String,
    /// Performs the resync run. Equivalent to --resync-mode path1. Consider using --verbose or --dry-run first
    #[arg(short = '1', long)]
    pub resync: bool,
    /// During resync, prefer the version that is: path1, path2, newer, older, larger, smaller (default: path1 if --resync, otherwise none for no resync)
    #[arg(long, value_name = "MODE", default_value = "none")]
    pub resync_mode: String,
    /// Ensure expected check files (--check-filename) are found on both Path1 and Path2, else abort
    #[arg(long)]
    pub check_access: bool,
    /// Filename for --check-access
    #[arg(long, value_name = "NAME", default_value = "RCLONE_TEST")]
    pub check_filename: String,
    /// Controls comparison of final listings: true|false|only
    #[arg(long, value_name = "MODE", default_value = "true")]
    pub check_sync: String,
    /// Comma-separated list of compare options, e.g. size,modtime,checksum (default: size,modtime)
    #[arg(long, value_name = "LIST")]
    pub compare: Option<String>,
    /// Automatically resolve conflicts by preferring the version that is: none, path1, path2, newer, older, larger, smaller
    #[arg(long, value_name = "MODE", default_value = "none")]
    pub conflict_resolve: String,
    /// Action on the loser of a conflict (when there is a winner) or on both files (when there is none): num, pathname, delete
    #[arg(long, value_name = "ACTION", default_value = "num")]
    pub conflict_loser: String,
    /// Suffix for renamed conflict losers: one string, or two comma-separated strings for Path1/Path2; {DateOnly} and other date templates allowed
    #[arg(long, value_name = "SUFFIX", default_value = "conflict")]
    pub conflict_suffix: String,
    /// Sync creation and deletion of empty directories (not compatible with --remove-empty-dirs)
    #[arg(long)]
    pub create_empty_src_dirs: bool,
    /// Remove ALL empty directories at the final cleanup step
    #[arg(long)]
    pub remove_empty_dirs: bool,
    /// Safety check on the maximum percentage of deleted files allowed on either side (default 50)
    #[arg(long, value_name = "PERCENT", default_value_t = -1, allow_negative_numbers = true, value_parser = crate::args::count(-1, 100))]
    pub max_delete: i64,
    /// Bypass the --max-delete and all-files-changed safety checks
    #[arg(long)]
    pub force: bool,
    /// Read filtering patterns from a file (its MD5 is kept beside it in FILE.md5)
    #[arg(long, value_name = "FILE")]
    pub filters_file: Option<PathBuf>,
    /// Directory for the saved state, journal and lock (default: ~/.cache/ferry/bisync)
    #[arg(long, value_name = "DIR", env = "FERRY_BISYNC_WORKDIR")]
    pub workdir: Option<PathBuf>,
    /// --backup-dir for Path1
    #[arg(long, value_name = "DIR")]
    pub backup_dir1: Option<String>,
    /// --backup-dir for Path2
    #[arg(long, value_name = "DIR")]
    pub backup_dir2: Option<String>,
    /// Backup directory for both paths (overridden by --backup-dir1/--backup-dir2)
    #[arg(long, value_name = "DIR")]
    pub backup_dir: Option<String>,
    /// Suffix to add to files moved into a backup directory
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    pub suffix: String,
    /// Preserve the extension when adding --suffix or --conflict-suffix
    #[arg(long)]
    pub suffix_keep_extension: bool,
    /// Retain the finished journal (as SESSION.journal-done)
    #[arg(long)]
    pub no_cleanup: bool,
    /// Do not use checksums for listings
    #[arg(long)]
    pub ignore_listing_checksum: bool,
    /// Ignore checksums the listings don't carry (that would have to be computed)
    #[arg(long)]
    pub no_slow_hash: bool,
    /// Ignore computed checksums for listings and deltas, but still use them when comparing both sides
    #[arg(long)]
    pub slow_hash_sync_only: bool,
    /// Accepted for rclone compatibility (hashes are read from the data wherever a backend can)
    #[arg(long)]
    pub download_hash: bool,
    /// Accepted for rclone compatibility: ferry always lets the next run retry
    #[arg(long)]
    pub resilient: bool,
    /// Accepted for rclone compatibility: ferry always completes an interrupted run
    #[arg(long)]
    pub recover: bool,
    /// Consider lock files of running processes older than this expired (minimum 2m; 0: never)
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "DURATION",
        default_value = "0"
    )]
    pub max_lock: String,
    /// Do a trial run with no permanent changes
    #[arg(short = 'n', long, env = "FERRY_DRY_RUN")]
    pub dry_run: bool,
    /// Compare by size and checksum (as --compare size,checksum)
    #[arg(short = 'c', long, env = "FERRY_CHECKSUM")]
    pub checksum: bool,
    /// Compare by size only (as --compare size)
    #[arg(long, env = "FERRY_SIZE_ONLY")]
    pub size_only: bool,
    /// Ignore size when comparing
    #[arg(long, env = "FERRY_IGNORE_SIZE")]
    pub ignore_size: bool,
    /// Max time diff to be considered the same, e.g. 1s (default: the coarser precision of the two sides)
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "DURATION",
        env = "FERRY_MODIFY_WINDOW"
    )]
    pub modify_window: Option<String>,
    /// Number of file transfers to run in parallel
    #[arg(long, default_value_t = 4, allow_negative_numbers = true, value_parser = crate::args::count_u32(1, crate::args::MAX_PARALLEL), env = "FERRY_TRANSFERS")]
    pub transfers: u32,
    /// Number of checkers to run in parallel
    #[arg(long, default_value_t = 8, allow_negative_numbers = true, value_parser = crate::args::count_u32(1, crate::args::MAX_PARALLEL), env = "FERRY_CHECKERS")]
    pub checkers: u32,
    /// Retry failed copies and deletes this many times within the run
    #[arg(long, default_value_t = 3, allow_negative_numbers = true, value_parser = crate::args::count_u32(0, crate::args::MAX_RETRIES), env = "FERRY_RETRIES")]
    pub retries: u32,
    /// Interval between retries, e.g. 500ms, 60s, 5m (0 to disable)
    #[arg(
        long,
        allow_hyphen_values = true,
        default_value = "0",
        env = "FERRY_RETRIES_SLEEP"
    )]
    pub retries_sleep: String,
    /// Number of low level retries to do
    #[arg(long, default_value_t = 10, allow_negative_numbers = true, value_parser = crate::args::count_u32(0, crate::args::MAX_RETRIES), env = "FERRY_LOW_LEVEL_RETRIES")]
    pub low_level_retries: u32,
    /// Don't normalize unicode characters in filenames
    #[arg(long, env = "FERRY_NO_UNICODE_NORMALIZATION")]
    pub no_unicode_normalization: bool,
    /// Ignore case when matching names across the two paths
    #[arg(long, env = "FERRY_IGNORE_CASE_SYNC")]
    pub ignore_case_sync: bool,
    /// Force rename of case insensitive dest to match source
    #[arg(long, env = "FERRY_FIX_CASE")]
    pub fix_case: bool,
    /// Write directly to destination files instead of temporary files
    #[arg(long, env = "FERRY_INPLACE")]
    pub inplace: bool,
    /// Print a JSON summary of every decision (path, change on each side, action, reason, result) on standard output
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub filters: FilterArgs,
    #[command(flatten)]
    pub watch: WatchArgs,
}

/// The name the state uses for a path: absolute for local paths, as given for remotes
/// but with any secret (a password, a SAS) replaced by `***`; and the name an older ferry
/// used (the argument itself), which differs only when it held a secret.
fn state_name(g: &Globals, arg: &str) -> anyhow::Result<(ferry_config::Redacted, String)> {
    let r = g.remotes.resolve(arg)?;
    if !g.remotes.kind_of(&r)?.network {
        let p = if r.path.is_empty() {
            "."
        } else {
            r.path.as_str()
        };
        let abs = std::path::absolute(p).unwrap_or_else(|_| PathBuf::from(p));
        let s = abs.to_string_lossy().into_owned();
        let trimmed = s.trim_end_matches(['/', '\\']);
        let name = if trimmed.is_empty() { "/" } else { trimmed };
        let shown = ferry_config::Redacted {
            text: name.to_owned(),
            had_secret: false,
        };
        return Ok((shown, name.to_owned()));
    }
    let mut shown = ferry_config::redact(arg, crate::kinds::registry());
    shown.text = shown.text.trim_end_matches('/').to_owned();
    Ok((shown, arg.trim_end_matches('/').to_owned()))
}

fn md5_of(bytes: &[u8]) -> String {
    let mut h = MultiHasher::new([HashKind::Md5].into_iter().collect::<HashSet>());
    h.update(bytes);
    h.finish().get(HashKind::Md5).unwrap_or_default().to_owned()
}

pub async fn run(a: &BisyncArgs, flags: &settings::Bisync, g: &Globals) -> anyhow::Result<i32> {
    match settings::Watch::resolve(&a.watch)? {
        Some(watch) => crate::watch::bisync::run(a, flags, g, watch).await,
        None => run_once(a, flags, g, &g.remotes, true).await,
    }
}

/// One bisync run over the remotes as `remotes` opens them; `first`: the run `--resync`
/// applies to (a watch's later runs go on from the state it left).
pub async fn run_once(
    a: &BisyncArgs,
    flags: &settings::Bisync,
    g: &Globals,
    remotes: &crate::open::Remotes,
    first: bool,
) -> anyhow::Result<i32> {
    if a.create_empty_src_dirs && a.remove_empty_dirs {
        tracing::warn!("--create-empty-src-dirs and --remove-empty-dirs don't go together: empty directories are created, then removed");
    }
    if a.download_hash {
        tracing::info!(
            "--download-hash: hashes are read from the data wherever a backend has none"
        );
    }
    // --filters-file: read it first (it heads the filter rules) and hash it.
    let mut filters = a.filters.clone();
    let mut filters_md5 = None;
    if let Some(file) = &a.filters_file {
        let bytes = ferry_core::limited::read_limited(file, ferry_core::limited::LIST_LIMIT)
            .map_err(|e| {
                fail(
                    exit::FATAL,
                    format!(
                        "Bisync critical error: specified filters file does not exist: {}: {e}",
                        file.display()
                    ),
                )
            })?;
        tracing::info!("Using filters file {}", file.display());
        filters_md5 = Some(md5_of(&bytes));
        filters.filter_from.insert(0, file.clone());
    }
    let (select, _) = selection::build(&filters)?;
    let path1 = remotes.open(&a.path1)?;
    let path2 = remotes.open(&a.path2)?;
    let open_backup =
        |dir: &Option<String>| -> anyhow::Result<Option<std::sync::Arc<dyn ferry_core::Backend>>> {
            match dir.as_ref().or(a.backup_dir.as_ref()) {
                Some(d) => Ok(Some(remotes.open(d)?)),
                None => Ok(None),
            }
        };
    let backup1 = open_backup(&a.backup_dir1)?;
    let backup2 = open_backup(&a.backup_dir2)?;
    let workdir = match &a.workdir {
        Some(w) => std::path::absolute(w).unwrap_or_else(|_| w.clone()),
        None => ferry_bisync::default_workdir(),
    };
    let opts = Options {
        resync: a.resync && first,
        resync_mode: if first {
            flags.resync_mode
        } else {
            ferry_bisync::Prefer::None
        },
        check_access: a.check_access,
        check_filename: a.check_filename.clone(),
        check_sync: flags.check_sync,
        create_empty_src_dirs: a.create_empty_src_dirs,
        remove_empty_dirs: a.remove_empty_dirs,
        max_delete: flags.max_delete,
        force: a.force,
        workdir,
        dry_run: a.dry_run,
        no_cleanup: a.no_cleanup,
        compare: flags.compare,
        ignore_listing_checksum: a.ignore_listing_checksum,
        no_slow_hash: a.no_slow_hash,
        slow_hash_sync_only: a.slow_hash_sync_only,
        modify_window: flags.modify_window,
        max_lock: flags.max_lock,
        conflict_resolve: flags.conflict_resolve,
        conflict_loser: flags.conflict_loser,
        conflict_suffix: a.conflict_suffix.clone(),
        suffix_keep_extension: a.suffix_keep_extension,
        backup_suffix: a.suffix.clone(),
        transfers: a.transfers as usize,
        checkers: a.checkers as usize,
        retries: a.retries,
        retries_sleep: flags.retries_sleep,
        low_level_retries: a.low_level_retries,
        no_unicode_normalization: a.no_unicode_normalization,
        ignore_case_sync: a.ignore_case_sync,
        fix_case: a.fix_case,
        inplace: a.inplace,
        filters_md5,
        filters_file: a.filters_file.clone(),
    };
    let (name1, old1) = state_name(g, &a.path1)?;
    let (name2, old2) = state_name(g, &a.path2)?;
    let secret = name1.had_secret || name2.had_secret;
    let pair = Pair {
        name1: name1.text,
        name2: name2.text,
        secret,
        legacy_session: secret.then(|| ferry_bisync::session_name(&old1, &old2)),
        path1,
        path2,
        backup1,
        backup2,
    };
    let report = ferry_bisync::run(&pair, select, opts).await;
    let code = exit_code(report.ending);
    if a.json {
        let mut json = serde_json::to_value(&report)?;
        json["exit_code"] = code.into();
        println!("{}", serde_json::to_string_pretty(&json)?);
    }
    match report.ending {
        Ending::Success => tracing::info!("{}", report.message),
        Ending::Critical => {
            tracing::error!("{}", report.message);
            tracing::error!(
                "Bisync aborted. No --resync is needed unless the message above says so."
            );
        }
        Ending::Failed | Ending::Usage => tracing::error!("{}", report.message),
    }
    Ok(code)
}

/// rclone bisync's exit codes.
fn exit_code(ending: Ending) -> i32 {
    match ending {
        Ending::Success => exit::SUCCESS,
        Ending::Failed => exit::ERROR,
        Ending::Usage => exit::USAGE,
        Ending::Critical => exit::FATAL,
    }
}

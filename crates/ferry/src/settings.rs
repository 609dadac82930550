//! The settings step: the command line as clap parsed it ([`crate::cli`], plain data)
//! resolved once into the typed values the commands take, as uv's settings or ripgrep's
//! high-level arguments do. Each flag clap keeps as text (a duration, a size, a rate, a
//! strategy) is read here, by ferry-core's one parser of its kind; a bad one is one line
//! naming the flag and the value, exit 2. No command reads a flag's text again.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ferry_bisync::{CheckSync, CompareSpec, Loser, Prefer};
use ferry_core::units::{parse_duration, parse_size_flag, SIZE_OFF};
use ferry_engine::{
    BwSchedule, CompareOptions, CutoffMode, DeleteMode, RenameStrategy, SyncOptions, Verify,
};
use ferry_transform::NameTransform;

use crate::args::{CutoffArg, Level, LogArgs, TransferArgs};
use crate::backend_flags::BackendFlags;
use crate::bwlimit::{BwLimit, Direction};
use crate::cli::Cli;
use crate::cmd::bisync::BisyncArgs;
use crate::exit::{self, fail, USAGE};
use crate::logging::LogFormat;

/// A flag's value that doesn't parse: `invalid argument "1x" for --stats: …` (exit 2).
pub fn usage<T>(flag: &str, value: &str, parsed: Result<T, String>) -> anyhow::Result<T> {
    parsed.map_err(|e| fail(USAGE, format!("invalid argument {value:?} for {flag}: {e}")))
}

/// `--multi-thread-chunk-size`: a size of at least one byte.
fn chunk_size(value: &str) -> anyhow::Result<u64> {
    let parsed = parse_size_flag(value).and_then(|n| match n {
        0 => Err("a chunk must hold at least one byte".to_owned()),
        n => Ok(n),
    });
    usage("--multi-thread-chunk-size", value, parsed)
}

/// A duration flag where zero (rclone's "off") is `None`.
fn duration(flag: &str, value: &str) -> anyhow::Result<Option<Duration>> {
    let d = usage(flag, value, parse_duration(value))?;
    Ok((!d.is_zero()).then_some(d))
}

fn opt_duration(flag: &str, value: &Option<String>) -> anyhow::Result<Option<Duration>> {
    value.as_deref().map_or(Ok(None), |v| duration(flag, v))
}

/// `--watch` and its timings.
#[derive(Clone, Debug)]
pub struct Watch {
    /// How long a local change stays still before it is sent.
    pub delay: Duration,
    /// How often a remote source is listed.
    pub interval: Duration,
    /// How often a full pass runs whatever the notifications said (`None`: never).
    pub reconcile: Option<Duration>,
}

impl Watch {
    /// The watch settings, or `None` without `--watch`.
    pub fn resolve(a: &crate::args::WatchArgs) -> anyhow::Result<Option<Watch>> {
        let delay = usage(
            "--watch-delay",
            &a.watch_delay,
            parse_duration(&a.watch_delay),
        )?;
        let interval = usage(
            "--watch-interval",
            &a.watch_interval,
            parse_duration(&a.watch_interval),
        )?;
        if interval.is_zero() {
            return Err(fail(USAGE, "--watch-interval must be more than 0"));
        }
        let reconcile = duration("--watch-reconcile", &a.watch_reconcile)?;
        Ok(a.watch.then_some(Watch {
            delay,
            interval,
            reconcile,
        }))
    }
}

/// A size flag where `off` is `None`.
fn opt_size(flag: &str, value: &Option<String>) -> anyhow::Result<Option<u64>> {
    match value {
        None => Ok(None),
        Some(v) => usage(flag, v, parse_size_flag(v)).map(|n| (n != SIZE_OFF).then_some(n)),
    }
}

/// Where log lines go and how they look.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Log {
    pub level: Level,
    pub format: LogFormat,
    pub file: Option<PathBuf>,
    /// `--log-file-max-size` and its company: how the log file is rotated, if it is.
    pub rotation: Option<crate::logfile::Rotation>,
    /// `--dump` (which turns on DEBUG, as in rclone).
    pub dump: Option<crate::args::DumpArg>,
}

impl Log {
    /// `azcopy_json` (azcopy's `--output-type json`) makes the lines JSON and, as azcopy's
    /// output always ends with its summary, the level INFO unless one was asked for.
    pub fn resolve(a: &LogArgs, azcopy_json: bool) -> Log {
        let level = match (a.log_level, a.quiet, a.verbose) {
            (Some(level), _, _) => level,
            (None, true, _) => Level::Error,
            (None, false, 0) if azcopy_json => Level::Info,
            (None, false, 0) => Level::Notice,
            (None, false, 1) => Level::Info,
            _ => Level::Debug,
        };
        let mut format = a.log_format.unwrap_or_default();
        format.json |= a.use_json_log || azcopy_json;
        // rclone's older spellings, `--dump-headers` and `--dump-bodies`, add to `--dump`.
        let mut dump = a.dump.clone();
        if a.dump_headers || a.dump_bodies {
            let d = dump.get_or_insert_with(Default::default);
            d.dump.headers |= a.dump_headers;
            d.dump.bodies |= a.dump_bodies;
        }
        Log {
            level: if dump.is_some() { Level::Debug } else { level },
            format,
            file: a.log_file.clone(),
            rotation: crate::logfile::Rotation::from_flags(
                a.log_file_max_size,
                a.log_file_max_backups,
                a.log_file_max_age.unwrap_or_default(),
                a.log_file_compress,
            ),
            dump,
        }
    }
}

/// What a run shows while it runs and when it ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// `-P`: the progress display.
    pub progress: bool,
    /// `--progress-terminal-title`: the ETA in the terminal's title too (with `-P`).
    pub terminal_title: bool,
    /// `--stats`: how often the stats lines come (zero: never), and whether it was given.
    pub stats_interval: Duration,
    pub stats_given: bool,
    /// `--stats-one-line` (and its date options, which imply it).
    pub stats_one_line: Option<crate::report::OneLine>,
    pub summary_file: Option<PathBuf>,
    /// `--check-first`: plan every transfer before the first starts.
    pub check_first: bool,
    /// `--stats-log-level`: the level stats lines are logged at (INFO unless asked), so
    /// shown at that log level and above.
    pub stats_level: Level,
}

/// `--stats-one-line`, `--stats-one-line-date` and `--stats-one-line-date-format`: each
/// later one implies the ones before, as in rclone.
fn one_line(a: &LogArgs) -> Option<crate::report::OneLine> {
    let date = match (&a.stats_one_line_date_format, a.stats_one_line_date) {
        (Some(layout), _) => Some(layout.clone()),
        (None, true) => Some(crate::report::OneLine::DATE.to_owned()),
        (None, false) => None,
    };
    (a.stats_one_line || date.is_some()).then_some(crate::report::OneLine { date })
}

impl Output {
    pub fn resolve(a: &LogArgs) -> anyhow::Result<Output> {
        let stats_interval = match &a.stats {
            Some(s) => usage("--stats", s, parse_duration(s))?,
            None => Duration::from_secs(60),
        };
        Ok(Output {
            progress: a.progress,
            terminal_title: a.progress_terminal_title,
            stats_interval,
            stats_given: a.stats.is_some(),
            stats_one_line: one_line(a),
            summary_file: a.summary_file.clone(),
            check_first: false,
            stats_level: Level::Info,
        })
    }
}

/// Backend options that ferry's own flags set (`--resume`, `--use-server-modtime`, azcopy's
/// aliases), added to those given as `--<backend>-<option>` flags.
pub fn backend_flags(cli: &Cli, mut flags: BackendFlags) -> anyhow::Result<BackendFlags> {
    if cli.command.transfer_args().is_some_and(|t| t.resume) {
        flags.insert("s3_resume".into(), "true".into());
        flags.insert("gcs_resume".into(), "true".into());
    }
    if cli.use_server_modtime {
        flags.insert("s3_use_server_modtime".into(), "true".into());
    }
    if let Some(az) = cli.command.azcopy() {
        flags.extend(az.backend_flags()?);
    }
    Ok(flags)
}

/// What a transferring command (copy, sync, move, copyto, moveto) takes.
#[derive(Clone, Debug)]
pub struct Transfer {
    /// The engine's options, with `--bwlimit` as in force now both ways until the command
    /// knows which way the bytes go ([`Transfer::limit_direction`]).
    pub sync: SyncOptions,
    pub bwlimit: Option<BwLimit>,
    /// `--bwlimit-file`, as `--bwlimit` is read (the rate at the start).
    pub bwlimit_file: Option<BwLimit>,
    pub retries: u32,
    pub retries_sleep: Duration,
    pub interactive: bool,
    pub error_on_no_transfer: bool,
    pub backup_dir: Option<String>,
    pub suffix: String,
    pub suffix_keep_extension: bool,
    pub compare_dest: Vec<String>,
    pub copy_dest: Vec<String>,
    /// `--name-transform`: the rules the source is seen through; `None`: names as they are.
    pub name_transform: Option<Arc<NameTransform>>,
}

impl Transfer {
    pub fn resolve(
        t: &TransferArgs,
        delete_excluded: bool,
        delete_empty_src_dirs: bool,
    ) -> anyhow::Result<Transfer> {
        let bwlimit = t
            .bwlimit
            .as_deref()
            .map(|v| usage("--bwlimit", v, BwLimit::parse(v)))
            .transpose()?;
        let bwlimit_file = t
            .bwlimit_file
            .as_deref()
            .map(|v| usage("--bwlimit-file", v, BwLimit::parse(v)))
            .transpose()?;
        let mut sync = sync_options(t, delete_excluded, bwlimit.as_ref())?;
        sync.delete_empty_src_dirs = delete_empty_src_dirs;
        // Both ways until the command knows which way the bytes go (`limit_direction`).
        sync.bwlimit_file = bwlimit_file
            .as_ref()
            .and_then(|l| l.now().for_direction(Direction::Both));
        Ok(Transfer {
            sync,
            bwlimit,
            bwlimit_file,
            retries: t.retries,
            retries_sleep: usage(
                "--retries-sleep",
                &t.retries_sleep,
                parse_duration(&t.retries_sleep),
            )?,
            interactive: t.interactive,
            error_on_no_transfer: t.error_on_no_transfer,
            backup_dir: t.backup_dir.clone(),
            suffix: t.suffix.clone(),
            suffix_keep_extension: t.suffix_keep_extension,
            compare_dest: t.compare_dest.clone(),
            copy_dest: t.copy_dest.clone(),
            name_transform: name_transform(&t.name_transform)?,
        })
    }

    /// `--bwlimit UP:DOWN` for a run whose bytes go `dir`.
    pub fn limit_direction(&mut self, dir: Direction) {
        let (rate, schedule) = bw_for(self.bwlimit.as_ref(), dir);
        self.sync.bwlimit = rate;
        self.sync.bwlimit_schedule = schedule;
        self.sync.bwlimit_file = self
            .bwlimit_file
            .as_ref()
            .and_then(|l| l.now().for_direction(dir));
    }
}

/// `--name-transform` rules, checked before anything is listed (rclone finds a bad one
/// file by file, and exits 1); `None` when none is given.
pub fn name_transform(values: &[String]) -> anyhow::Result<Option<Arc<NameTransform>>> {
    if values.is_empty() {
        return Ok(None);
    }
    let now = crate::cmd::listing::local(std::time::SystemTime::now());
    NameTransform::parse(values, &now)
        .map(|rules| Some(Arc::new(rules)))
        .map_err(|e| fail(exit::ERROR, format!("Failed to parse transform flags: {e}")))
}

/// `--bwlimit` (any of rclone's forms) as the rate in force now for a run going `dir`, and
/// for a timetable the schedule the engine asks each minute.
fn bw_for(limit: Option<&BwLimit>, dir: Direction) -> (Option<u64>, Option<BwSchedule>) {
    let Some(limit) = limit else {
        return (None, None);
    };
    let schedule = limit.is_timetable().then(|| {
        let table = limit.clone();
        BwSchedule(Arc::new(move || table.now().for_direction(dir)))
    });
    (limit.now().for_direction(dir), schedule)
}

/// `--metadata-set KEY=VALUE` flags (a bad one is a usage error).
fn metadata_set(values: &[String]) -> anyhow::Result<ferry_core::Metadata> {
    let mut m = ferry_core::Metadata::new();
    for v in values {
        let (k, val) = usage(
            "--metadata-set",
            v,
            ferry_core::metadata::parse_assignment(v),
        )?;
        m.set(k, val);
    }
    Ok(m)
}

/// `FERRY_JOURNAL_SETTLE`: how old an object's listed time must be before the journal
/// trusts it (default 60s; a margin for clock skew with the server).
fn journal_settle() -> anyhow::Result<Duration> {
    match std::env::var("FERRY_JOURNAL_SETTLE") {
        Ok(v) => ferry_core::units::parse_duration(&v)
            .map_err(|e| fail(USAGE, format!("invalid FERRY_JOURNAL_SETTLE {v:?}: {e}"))),
        Err(_) => Ok(Duration::from_secs(60)),
    }
}

fn track_renames(t: &TransferArgs) -> anyhow::Result<Option<RenameStrategy>> {
    let strategy = RenameStrategy::parse(&t.track_renames_strategy).ok_or_else(|| {
        fail(
            USAGE,
            format!(
                "invalid value {:?} for --track-renames-strategy: use hash, modtime or leaf (comma-separated)",
                t.track_renames_strategy
            ),
        )
    })?;
    Ok(t.track_renames.then_some(strategy))
}

fn sync_options(
    t: &TransferArgs,
    delete_excluded: bool,
    bwlimit: Option<&BwLimit>,
) -> anyhow::Result<SyncOptions> {
    // A run-time error in rclone (exit 1), not a usage error.
    if [t.delete_before, t.delete_during, t.delete_after]
        .iter()
        .filter(|set| **set)
        .count()
        > 1
    {
        return Err(fail(
            exit::ERROR,
            "Only one of --delete-before, --delete-during or --delete-after can be used.",
        ));
    }
    let delete_mode = if t.delete_before {
        DeleteMode::Before
    } else if t.delete_during {
        DeleteMode::During
    } else {
        DeleteMode::After
    };
    let (bwlimit, bwlimit_schedule) = bw_for(bwlimit, Direction::Both);
    Ok(SyncOptions {
        compare: CompareOptions {
            checksum: t.checksum,
            size_only: t.size_only,
            ignore_times: t.ignore_times,
            ignore_size: t.ignore_size,
            ignore_existing: t.ignore_existing,
            update: t.update,
            immutable: t.immutable,
            modify_window: opt_duration("--modify-window", &t.modify_window)?,
            no_update_modtime: t.no_update_modtime,
            hash_required: false,
            refresh_times: t.refresh_times,
        },
        transfers: t.transfers as usize,
        checkers: t.checkers as usize,
        dry_run: t.dry_run,
        delete_mode,
        max_delete: u64::try_from(t.delete_limits.max_delete).ok(),
        max_delete_size: t.delete_limits.max_delete_size,
        no_check_dest: t.no_check_dest,
        ignore_errors: t.ignore_errors,
        create_empty_src_dirs: t.create_empty_src_dirs,
        delete_empty_src_dirs: false,
        in_place: false,
        keep_dirs: false,
        list_dst_only: false,
        inplace: t.inplace,
        low_level_retries: t.low_level_retries,
        max_transfer: opt_size("--max-transfer", &t.max_transfer)?,
        cutoff_mode: match t.cutoff_mode {
            CutoffArg::Hard => CutoffMode::Hard,
            CutoffArg::Soft => CutoffMode::Soft,
            CutoffArg::Cautious => CutoffMode::Cautious,
        },
        max_duration: opt_duration("--max-duration", &t.max_duration)?,
        bwlimit,
        bwlimit_schedule,
        bwlimit_file: None,
        no_unicode_normalization: t.no_unicode_normalization,
        ignore_case_sync: t.ignore_case_sync,
        fix_case: t.fix_case,
        delete_excluded,
        verify: if t.ignore_checksum {
            Verify::Off
        } else {
            Verify::Fail
        },
        multi_thread_cutoff: usage(
            "--multi-thread-cutoff",
            &t.multi_thread_cutoff,
            parse_size_flag(&t.multi_thread_cutoff),
        )?,
        multi_thread_streams: t.multi_thread_streams as usize,
        multi_thread_chunk_size: chunk_size(&t.multi_thread_chunk_size)?,
        metadata: t.metadata,
        metadata_set: metadata_set(&t.metadata_set)?,
        metadata_upload: ferry_core::Metadata::new(),
        preserve_modtime: true,
        no_update_dir_modtime: t.no_update_dir_modtime,
        track_renames: track_renames(t)?,
        // Destination objects' real mtimes, so a re-run needs no request per object.
        journal_settle: journal_settle()?,
        stop: None,
        // Set from the global flag by the command (`Output::check_first`).
        check_first: false,
        journal: (!t.no_journal)
            .then(ferry_core::private::ferry_cache)
            .flatten()
            .map(|d| d.join("mtimes.redb")),
    })
}

/// bisync's flags that are text: its modes, compare list and durations.
#[derive(Clone, Debug)]
pub struct Bisync {
    pub resync_mode: Prefer,
    pub conflict_resolve: Prefer,
    pub conflict_loser: Loser,
    pub check_sync: CheckSync,
    pub compare: CompareSpec,
    /// `--max-delete` as a percentage (50 unless given).
    pub max_delete: u8,
    pub retries_sleep: Duration,
    pub max_lock: Option<Duration>,
    pub modify_window: Option<Duration>,
}

impl Bisync {
    pub fn resolve(a: &BisyncArgs) -> anyhow::Result<Bisync> {
        let prefer = |flag: &str, v: &str| usage(flag, v, v.parse::<Prefer>());
        let resync_mode = prefer("--resync-mode", &a.resync_mode)?;
        let conflict_resolve = prefer("--conflict-resolve", &a.conflict_resolve)?;
        let conflict_loser = usage(
            "--conflict-loser",
            &a.conflict_loser,
            a.conflict_loser.parse::<Loser>(),
        )?;
        let check_sync = usage(
            "--check-sync",
            &a.check_sync,
            a.check_sync.parse::<CheckSync>(),
        )?;
        let compare = bisync_compare(a)?;
        ferry_bisync::conflict_suffixes(&a.conflict_suffix, chrono::Local::now())
            .map_err(|e| fail(USAGE, e))?;
        Ok(Bisync {
            resync_mode,
            conflict_resolve,
            conflict_loser,
            check_sync,
            compare,
            max_delete: if a.max_delete < 0 {
                50
            } else {
                a.max_delete.min(100) as u8
            },
            retries_sleep: duration("--retries-sleep", &a.retries_sleep)?.unwrap_or_default(),
            max_lock: duration("--max-lock", &a.max_lock)?,
            modify_window: opt_duration("--modify-window", &a.modify_window)?,
        })
    }
}

/// What bisync compares: `--compare`, else `--size-only` or `--checksum`, less the size with
/// `--ignore-size`; at least one of size, modtime and checksum.
fn bisync_compare(a: &BisyncArgs) -> anyhow::Result<CompareSpec> {
    let mut compare = CompareSpec::default();
    if a.size_only {
        compare = CompareSpec {
            size: true,
            modtime: false,
            checksum: false,
        };
    } else if a.checksum && !a.ignore_listing_checksum {
        compare = CompareSpec {
            size: true,
            modtime: false,
            checksum: true,
        };
    }
    if a.ignore_size {
        compare.size = false;
    }
    if let Some(c) = &a.compare {
        compare = usage("--compare", c, CompareSpec::parse(c))?;
    }
    if !(compare.size || compare.modtime || compare.checksum) {
        return Err(fail(
            USAGE,
            "must set a compare method (size, modtime and checksum can't all be false)",
        ));
    }
    Ok(compare)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Command, TransferCmd};
    use clap::FromArgMatches;

    /// Parses as `main` does (every boolean flag in rclone's form; no environment).
    fn cli(args: &[&str]) -> Cli {
        let argv = std::iter::once("ferry").chain(args.iter().copied());
        let matches = crate::cli::command()
            .try_get_matches_from(argv)
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        Cli::from_arg_matches(&matches).unwrap()
    }

    fn copy(extra: &[&str]) -> TransferCmd {
        let mut args = vec!["copy", "a", "b"];
        args.extend(extra);
        match cli(&args).command {
            Command::Copy(c) => c.inner,
            _ => unreachable!(),
        }
    }

    fn transfer(extra: &[&str]) -> anyhow::Result<Transfer> {
        let c = copy(extra);
        Transfer::resolve(&c.transfer, c.filters.delete_excluded, false)
    }

    /// The one line a bad value gives, and its exit code.
    fn failure(r: anyhow::Result<impl std::fmt::Debug>) -> (i32, String) {
        let e = r.expect_err("should fail");
        let exit = e.downcast_ref::<exit::Exit>().expect("an exit");
        (exit.code, exit.message.clone())
    }

    #[test]
    fn defaults_are_rclones() {
        let t = transfer(&[]).unwrap();
        assert_eq!(t.retries, 3);
        assert_eq!(t.retries_sleep, Duration::ZERO);
        assert_eq!(t.sync.transfers, 4);
        assert_eq!(t.sync.checkers, 8);
        assert_eq!(t.sync.multi_thread_cutoff, 256 << 20);
        assert_eq!(t.sync.multi_thread_streams, 4);
        assert_eq!(t.sync.multi_thread_chunk_size, 64 << 20);
        assert_eq!(t.sync.low_level_retries, 10);
        assert_eq!(t.sync.max_transfer, None);
        assert_eq!(t.sync.max_duration, None);
        assert_eq!(t.sync.bwlimit, None);
        assert!(t.sync.bwlimit_schedule.is_none());
        assert_eq!(t.sync.compare.modify_window, None);
        assert_eq!(t.sync.delete_mode, DeleteMode::After);
        assert!(t.sync.track_renames.is_none());
        assert!(!t.sync.dry_run && !t.sync.compare.checksum);
        let c = cli(&["ls", "x"]);
        let log = Log::resolve(&c.log, false);
        assert_eq!(log.level, Level::Notice);
        assert!(!log.format.json);
        let out = Output::resolve(&c.log).unwrap();
        assert_eq!(out.stats_interval, Duration::from_secs(60));
        assert!(!out.stats_given && !out.progress);
    }

    /// Environment variables are read as the flags are (only variables no other test here
    /// reads as a default, as tests run side by side).
    #[test]
    fn environment_variables_set_flags_and_flags_win() {
        std::env::set_var("FERRY_INPLACE", "yes");
        std::env::set_var("FERRY_MAX_DELETE_SIZE", "1M");
        std::env::set_var("FERRY_ERROR_ON_NO_TRANSFER", "1");
        let t = transfer(&["--error-on-no-transfer=false"]);
        std::env::remove_var("FERRY_INPLACE");
        std::env::remove_var("FERRY_MAX_DELETE_SIZE");
        std::env::remove_var("FERRY_ERROR_ON_NO_TRANSFER");
        let t = t.unwrap();
        assert!(t.sync.inplace);
        assert_eq!(t.sync.max_delete_size, Some(1 << 20));
        assert!(!t.error_on_no_transfer);
    }

    #[test]
    fn values_are_typed_once() {
        let t = transfer(&[
            "--max-transfer",
            "10M",
            "--max-duration",
            "1h30m",
            "--modify-window",
            "2s",
            "--multi-thread-cutoff",
            "1Gi",
            "--retries-sleep",
            "500ms",
            "--bwlimit",
            "1M:2M",
            "--track-renames",
            "--track-renames-strategy",
            "modtime",
            "--checksum=false",
            "--dry-run",
        ])
        .unwrap();
        assert_eq!(t.sync.max_transfer, Some(10 << 20));
        assert_eq!(t.sync.max_duration, Some(Duration::from_secs(5400)));
        assert_eq!(t.sync.compare.modify_window, Some(Duration::from_secs(2)));
        assert_eq!(t.sync.multi_thread_cutoff, 1 << 30);
        assert_eq!(t.retries_sleep, Duration::from_millis(500));
        // Both ways until the direction is known: the lower rate.
        assert_eq!(t.sync.bwlimit, Some(1 << 20));
        let mut up = t.clone();
        up.limit_direction(Direction::Download);
        assert_eq!(up.sync.bwlimit, Some(2 << 20));
        assert!(t.sync.track_renames.is_some());
        assert!(t.sync.dry_run && !t.sync.compare.checksum);
        // `off` and zero are "no limit".
        let t = transfer(&["--max-transfer", "off", "--max-duration", "0"]).unwrap();
        assert_eq!((t.sync.max_transfer, t.sync.max_duration), (None, None));
    }

    #[test]
    fn later_flags_override_earlier_ones() {
        let c = cli(&[
            "-v",
            "copy",
            "a",
            "b",
            "--checksum",
            "--checksum=false",
            "-q",
        ]);
        assert_eq!(Log::resolve(&c.log, false).level, Level::Error);
        let t = transfer(&[
            "--checksum",
            "--checksum=false",
            "--transfers",
            "2",
            "--transfers",
            "9",
        ])
        .unwrap();
        assert!(!t.sync.compare.checksum);
        assert_eq!(t.sync.transfers, 9);
        let c = cli(&["ls", "x", "-vv", "--log-level", "ERROR"]);
        assert_eq!(Log::resolve(&c.log, false).level, Level::Error);
    }

    #[test]
    fn azcopy_json_output_is_json_at_info() {
        let c = cli(&["ls", "x"]);
        let log = Log::resolve(&c.log, true);
        assert!(log.format.json);
        assert_eq!(log.level, Level::Info);
        let c = cli(&["ls", "x", "-q"]);
        assert_eq!(Log::resolve(&c.log, true).level, Level::Error);
    }

    #[test]
    fn a_bad_value_is_one_line_naming_flag_and_value_exit_2() {
        for (flag, value, reason) in [
            (
                "--max-transfer",
                "1x",
                "invalid size \"1x\": bad suffix 'x'",
            ),
            ("--max-duration", "1x", "invalid duration \"1x\""),
            ("--modify-window", "-1s", "can't be negative"),
            ("--multi-thread-cutoff", "1x", "bad suffix"),
            ("--multi-thread-chunk-size", "1x", "bad suffix"),
            ("--multi-thread-chunk-size", "0", "at least one byte"),
            ("--retries-sleep", "soon", "invalid duration \"soon\""),
            ("--bwlimit", "1x", "invalid size \"1x\""),
            ("--bwlimit", "25:00,1M", "invalid time \"25:00\""),
            ("--metadata-set", "novalue", "key=value"),
        ] {
            let (code, msg) = failure(transfer(&[flag, value]));
            assert_eq!(code, 2, "{flag} {value}: {msg}");
            let head = format!("invalid argument {value:?} for {flag}: ");
            assert!(msg.starts_with(&head) && msg.contains(reason), "{msg}");
            assert!(!msg.contains('\n'), "{msg}");
        }
        let (code, msg) = failure(transfer(&["--track-renames-strategy", "bogus"]));
        assert_eq!(code, 2);
        assert!(msg.contains("--track-renames-strategy"), "{msg}");
        let c = cli(&["ls", "x", "--stats", "1x"]);
        let (code, msg) = failure(Output::resolve(&c.log));
        assert_eq!(code, 2);
        assert!(
            msg.starts_with("invalid argument \"1x\" for --stats: "),
            "{msg}"
        );
    }

    #[test]
    fn conflicting_delete_modes_are_rclones_run_time_error() {
        let (code, msg) = failure(transfer(&["--delete-before", "--delete-during"]));
        assert_eq!(code, exit::ERROR);
        assert!(msg.contains("Only one of --delete-before"), "{msg}");
    }

    #[test]
    fn bisync_flags_resolve_once() {
        let bisync = |extra: &[&str]| {
            let mut args = vec!["bisync", "a", "b"];
            args.extend(extra);
            match cli(&args).command {
                Command::Bisync(a) => Bisync::resolve(&a),
                _ => unreachable!(),
            }
        };
        let b = bisync(&[]).unwrap();
        assert_eq!(b.max_delete, 50);
        assert_eq!((b.max_lock, b.modify_window), (None, None));
        let b = bisync(&["--max-lock", "5m", "--max-delete", "80", "--size-only"]).unwrap();
        assert_eq!(b.max_lock, Some(Duration::from_secs(300)));
        assert_eq!(b.max_delete, 80);
        assert!(b.compare.size && !b.compare.modtime);
        let (code, msg) = failure(bisync(&["--max-lock", "1x"]));
        assert_eq!(code, 2);
        assert!(
            msg.starts_with("invalid argument \"1x\" for --max-lock: "),
            "{msg}"
        );
        let (code, _) = failure(bisync(&["--conflict-resolve", "bigger"]));
        assert_eq!(code, 2);
    }

    #[test]
    fn ferrys_flags_set_backend_options() {
        let c = cli(&["--use-server-modtime", "copy", "a", "b", "--resume"]);
        let f = backend_flags(&c, BackendFlags::new()).unwrap();
        assert_eq!(f.get("s3_resume").map(String::as_str), Some("true"));
        assert_eq!(
            f.get("s3_use_server_modtime").map(String::as_str),
            Some("true")
        );
        let c = cli(&["ls", "x"]);
        assert!(backend_flags(&c, BackendFlags::new()).unwrap().is_empty());
    }
}

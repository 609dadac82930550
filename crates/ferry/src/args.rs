//! Flags shared by commands, with rclone's names, short forms and defaults.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use ferry_core::units::parse_size_flag;

/// The most transfers, checkers or streams at once: far more than any link needs, and few
/// enough that a typo can't ask for millions of tasks and buffers.
pub const MAX_PARALLEL: u32 = 10_000;
/// The most retries (and low-level retries) of one run.
pub const MAX_RETRIES: u32 = 10_000;
/// The deepest `--max-depth` (-1 is no limit).
pub const MAX_DEPTH: i64 = 1_000_000;

/// Logging and output flags, accepted before or after the command.
#[derive(Args, Debug, Clone, Default)]
pub struct LogArgs {
    /// Print lots more stuff (repeat for more)
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Print as little stuff as possible
    #[arg(short = 'q', long, global = true, env = "FERRY_QUIET")]
    pub quiet: bool,
    /// Log level DEBUG|INFO|NOTICE|ERROR
    #[arg(long, value_name = "LEVEL", global = true, value_parser = parse_level, env = "FERRY_LOG_LEVEL")]
    pub log_level: Option<Level>,
    /// Log everything to this file
    #[arg(long, value_name = "FILE", global = true, env = "FERRY_LOG_FILE")]
    pub log_file: Option<PathBuf>,
    /// Maximum size of the log file before it's rotated (eg "10M"; whole MiB; off when negative)
    #[arg(long, value_name = "SIZE", global = true, default_value = "-1", allow_hyphen_values = true, value_parser = parse_log_size)]
    pub log_file_max_size: i64,
    /// Maximum number of rotated log files to retain (0 keeps them all)
    #[arg(long, value_name = "INT", global = true, default_value_t = 0)]
    pub log_file_max_backups: usize,
    /// Maximum age of rotated log files (whole days; 0 keeps them)
    #[arg(long, value_name = "DURATION", global = true, value_parser = ferry_core::units::parse_duration)]
    pub log_file_max_age: Option<std::time::Duration>,
    /// Compress rotated log files (gzip)
    #[arg(long, global = true)]
    pub log_file_compress: bool,
    /// Use json log format
    #[arg(long, global = true, env = "FERRY_USE_JSON_LOG")]
    pub use_json_log: bool,
    /// Comma separated list of log format options: date, time, microseconds, UTC, longfile, shortfile, pid, nolevel, json
    #[arg(long, value_name = "LIST", global = true, env = "FERRY_LOG_FORMAT", value_parser = crate::logging::LogFormat::parse)]
    pub log_format: Option<crate::logging::LogFormat>,
    /// Interval between printing stats, e.g. 500ms, 60s, 5m (0 to disable)
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "DURATION",
        global = true,
        env = "FERRY_STATS"
    )]
    pub stats: Option<String>,
    /// Make the stats fit on one line
    #[arg(long, global = true, env = "FERRY_STATS_ONE_LINE")]
    pub stats_one_line: bool,
    /// Enable --stats-one-line and add current date/time prefix
    #[arg(long, global = true, env = "FERRY_STATS_ONE_LINE_DATE")]
    pub stats_one_line_date: bool,
    /// Enable --stats-one-line-date and use custom formatted date (a Go time layout)
    #[arg(
        long,
        value_name = "LAYOUT",
        global = true,
        env = "FERRY_STATS_ONE_LINE_DATE_FORMAT"
    )]
    pub stats_one_line_date_format: Option<String>,
    /// Command for supplying password for encrypted configuration (its output, no shell)
    #[arg(long, value_name = "SpaceSepList", global = true)]
    pub password_command: Option<String>,
    /// Allow prompt for password for encrypted configuration (accepted; ferry never
    /// prompts: give RCLONE_CONFIG_PASS or --password-command)
    #[arg(long, global = true)]
    pub ask_password: bool,
    /// Directory ferry will use for caching (ferry's state and caches; rclone's bisync
    /// listings are looked for there too)
    #[arg(long, value_name = "DIR", global = true, env = "FERRY_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Max file name length in stats (0 for no limit)
    #[arg(long, value_name = "INT", global = true, default_value_t = 45)]
    pub stats_file_name_length: usize,
    /// Show progress during transfer
    #[arg(short = 'P', long, global = true, env = "FERRY_PROGRESS")]
    pub progress: bool,
    /// Show progress on the terminal title (requires -P/--progress)
    #[arg(long, global = true)]
    pub progress_terminal_title: bool,
    /// Write a JSON summary of the run (counts, bytes, errors, per-file actions) to FILE
    #[arg(long, value_name = "FILE", global = true, env = "FERRY_SUMMARY_FILE")]
    pub summary_file: Option<PathBuf>,
    /// List of items to dump from: headers, bodies, requests, responses, auth, errors
    #[arg(long, value_name = "FLAGS", global = true, env = "FERRY_DUMP", value_parser = parse_dump)]
    pub dump: Option<DumpArg>,
    /// Dump HTTP headers - may contain sensitive info (`--dump headers`)
    #[arg(long, global = true, hide = true)]
    pub dump_headers: bool,
    /// Dump HTTP headers and bodies - may contain sensitive info (`--dump bodies`)
    #[arg(long, global = true, hide = true)]
    pub dump_bodies: bool,
}

/// `--dump`: what to dump, and rclone's words accepted without effect here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DumpArg {
    pub dump: ferry_core::dump::Dump,
    pub unused: Vec<String>,
}

fn parse_dump(s: &str) -> Result<DumpArg, String> {
    let (dump, unused) = ferry_core::dump::Dump::parse(s)?;
    Ok(DumpArg { dump, unused })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Notice,
    Info,
    Debug,
}

/// `--log-file-max-size`: a size, or below zero (or `off`) for no rotation.
fn parse_log_size(s: &str) -> Result<i64, String> {
    if s.trim().starts_with('-') {
        return s
            .trim()
            .parse::<i64>()
            .map(|_| -1)
            .map_err(|_| format!("{s:?} is not a size"));
    }
    match ferry_core::units::parse_size_flag(s)? {
        ferry_core::units::SIZE_OFF => Ok(-1),
        n => Ok(i64::try_from(n).unwrap_or(i64::MAX)),
    }
}

pub(crate) fn parse_level(s: &str) -> Result<Level, String> {
    match s.to_ascii_uppercase().as_str() {
        "ERROR" => Ok(Level::Error),
        "NOTICE" => Ok(Level::Notice),
        "INFO" => Ok(Level::Info),
        "DEBUG" => Ok(Level::Debug),
        // azcopy's levels, which azcopy scripts pass to sync too.
        "WARNING" => Ok(Level::Notice),
        "NONE" => Ok(Level::Error),
        _ => Err(format!(
            "unknown log level {s:?}: use DEBUG, INFO, NOTICE or ERROR (or azcopy's INFO, WARNING, ERROR, NONE)"
        )),
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum CutoffArg {
    #[default]
    Hard,
    Soft,
    Cautious,
}

/// `--watch` and its timings (copy and sync).
#[derive(Args, Debug, Clone)]
pub struct WatchArgs {
    /// Keep running after the first pass and follow changes (a local source through file system notifications, a remote one by polling)
    #[arg(long, env = "FERRY_WATCH")]
    pub watch: bool,
    /// With --watch: how long a local change must stay still before it is sent (a burst of changes becomes one pass)
    #[arg(long, default_value = "2s", env = "FERRY_WATCH_DELAY")]
    pub watch_delay: String,
    /// With --watch: how often a remote source is listed for changes
    #[arg(long, default_value = "1m", env = "FERRY_WATCH_INTERVAL")]
    pub watch_interval: String,
    /// With --watch: how often a full pass compares everything, whatever the notifications said (0 for never)
    #[arg(long, default_value = "1h", env = "FERRY_WATCH_RECONCILE")]
    pub watch_reconcile: String,
}

/// Flags of the commands that transfer (copy, sync, move).
#[derive(Args, Debug, Clone)]
pub struct TransferArgs {
    /// Do a trial run with no permanent changes
    #[arg(short = 'n', long, env = "FERRY_DRY_RUN")]
    pub dry_run: bool,
    /// Enable interactive mode: ask before each delete or overwrite
    #[arg(short = 'i', long, env = "FERRY_INTERACTIVE")]
    pub interactive: bool,
    /// Number of file transfers to run in parallel
    #[arg(long, default_value_t = 4, allow_negative_numbers = true, value_parser = count_u32(1, MAX_PARALLEL), env = "FERRY_TRANSFERS")]
    pub transfers: u32,
    /// Number of checkers to run in parallel
    #[arg(long, default_value_t = 8, allow_negative_numbers = true, value_parser = count_u32(1, MAX_PARALLEL), env = "FERRY_CHECKERS")]
    pub checkers: u32,
    /// Check for changes with size & checksum (if available, or fallback to size only)
    #[arg(short = 'c', long, env = "FERRY_CHECKSUM")]
    pub checksum: bool,
    /// Continue interrupted multipart uploads (S3) where they stopped, from a journal in ~/.cache/ferry
    #[arg(long, env = "FERRY_RESUME")]
    pub resume: bool,
    /// Skip post copy check of checksums
    #[arg(long, env = "FERRY_IGNORE_CHECKSUM")]
    pub ignore_checksum: bool,
    /// Skip based on size only, not modtime or checksum
    #[arg(long, env = "FERRY_SIZE_ONLY")]
    pub size_only: bool,
    /// Don't skip items that match size and time - transfer all unconditionally
    #[arg(short = 'I', long, env = "FERRY_IGNORE_TIMES")]
    pub ignore_times: bool,
    /// Ignore size when skipping, use modtime or checksum
    #[arg(long, env = "FERRY_IGNORE_SIZE")]
    pub ignore_size: bool,
    /// Skip all files that exist on destination
    #[arg(long, env = "FERRY_IGNORE_EXISTING")]
    pub ignore_existing: bool,
    /// Don't check the destination, copy regardless
    #[arg(long, env = "FERRY_NO_CHECK_DEST")]
    pub no_check_dest: bool,
    /// Skip files that are newer on the destination
    #[arg(short = 'u', long, env = "FERRY_UPDATE")]
    pub update: bool,
    /// Do not modify files, fail if existing files have been modified
    #[arg(long, env = "FERRY_IMMUTABLE")]
    pub immutable: bool,
    /// Max time diff to be considered the same, e.g. 1s, 2ms (default: the coarser precision of the two sides)
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "DURATION",
        env = "FERRY_MODIFY_WINDOW"
    )]
    pub modify_window: Option<String>,
    /// Don't update destination modtime if files identical
    #[arg(long, env = "FERRY_NO_UPDATE_MODTIME")]
    pub no_update_modtime: bool,
    /// Don't update directory modification times
    #[arg(long, env = "FERRY_NO_UPDATE_DIR_MODTIME")]
    pub no_update_dir_modtime: bool,
    /// When synchronizing, delete files on destination before transferring
    #[arg(long, env = "FERRY_DELETE_BEFORE")]
    pub delete_before: bool,
    /// When synchronizing, delete files during transfer
    #[arg(long, env = "FERRY_DELETE_DURING")]
    pub delete_during: bool,
    /// When synchronizing, delete files on destination after transferring (default)
    #[arg(long, env = "FERRY_DELETE_AFTER")]
    pub delete_after: bool,
    #[command(flatten)]
    pub delete_limits: DeleteLimitArgs,
    /// Include additional server-side paths during comparison (repeatable)
    #[arg(long, value_name = "DIR", conflicts_with = "copy_dest")]
    pub compare_dest: Vec<String>,
    /// Implies --compare-dest but also copies files from paths into destination (repeatable)
    #[arg(long, value_name = "DIR")]
    pub copy_dest: Vec<String>,
    /// Make backups into hierarchy based in DIR
    #[arg(long, value_name = "DIR", env = "FERRY_BACKUP_DIR")]
    pub backup_dir: Option<String>,
    /// Suffix to add to changed files
    #[arg(
        long,
        default_value = "",
        allow_hyphen_values = true,
        env = "FERRY_SUFFIX"
    )]
    pub suffix: String,
    /// Preserve the extension when using --suffix
    #[arg(long, env = "FERRY_SUFFIX_KEEP_EXTENSION")]
    pub suffix_keep_extension: bool,
    /// Delete even if there are I/O errors
    #[arg(long, env = "FERRY_IGNORE_ERRORS")]
    pub ignore_errors: bool,
    /// Create empty source dirs on destination after sync
    #[arg(long, env = "FERRY_CREATE_EMPTY_SRC_DIRS")]
    pub create_empty_src_dirs: bool,
    /// Rename files on their way, e.g. all,lowercase or file,prefix=old_ (can repeat; see convmv --help)
    #[arg(long, value_name = "RULE")]
    pub name_transform: Vec<String>,
    /// Download directly to destination file instead of atomic download to temp/rename
    #[arg(long, env = "FERRY_INPLACE")]
    pub inplace: bool,
    /// Retry operations this many times if they fail
    #[arg(long, default_value_t = 3, allow_negative_numbers = true, value_parser = count_u32(0, MAX_RETRIES), env = "FERRY_RETRIES")]
    pub retries: u32,
    /// Interval between retrying operations if they fail, e.g. 500ms, 60s, 5m (0 to disable)
    #[arg(
        long,
        allow_hyphen_values = true,
        default_value = "0",
        env = "FERRY_RETRIES_SLEEP"
    )]
    pub retries_sleep: String,
    /// Number of streams to use for multi-thread downloads (0 or 1 to disable)
    #[arg(long, default_value_t = 4, allow_negative_numbers = true, value_parser = count_u32(0, MAX_PARALLEL), env = "FERRY_MULTI_THREAD_STREAMS")]
    pub multi_thread_streams: u32,
    /// Use multi-thread downloads for files above this size
    #[arg(
        long,
        value_name = "SIZE",
        default_value = "256Mi",
        env = "FERRY_MULTI_THREAD_CUTOFF"
    )]
    pub multi_thread_cutoff: String,
    /// Chunk size for multi-thread downloads
    #[arg(
        long,
        value_name = "SIZE",
        default_value = "64Mi",
        env = "FERRY_MULTI_THREAD_CHUNK_SIZE"
    )]
    pub multi_thread_chunk_size: String,
    /// Number of low level retries to do
    #[arg(long, default_value_t = 10, allow_negative_numbers = true, value_parser = count_u32(0, MAX_RETRIES), env = "FERRY_LOW_LEVEL_RETRIES")]
    pub low_level_retries: u32,
    /// Maximum size of data to transfer, e.g. 10G (off by default)
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "SIZE",
        env = "FERRY_MAX_TRANSFER"
    )]
    pub max_transfer: Option<String>,
    /// Mode to stop transfers when reaching the max transfer limit
    #[arg(long, value_enum, default_value_t = CutoffArg::Hard, ignore_case = true, env = "FERRY_CUTOFF_MODE")]
    pub cutoff_mode: CutoffArg,
    /// Maximum duration rclone will transfer data for, e.g. 1h30m (off by default)
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "DURATION",
        env = "FERRY_MAX_DURATION"
    )]
    pub max_duration: Option<String>,
    /// Sets exit code 9 if no files are transferred, useful in scripts
    #[arg(long, env = "FERRY_ERROR_ON_NO_TRANSFER")]
    pub error_on_no_transfer: bool,
    /// Bandwidth limit in KiB/s, or use suffix B|K|M|G|T|P, e.g. 10M (off by default)
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "RATE",
        env = "FERRY_BWLIMIT"
    )]
    pub bwlimit: Option<String>,
    /// Bandwidth limit per file in KiB/s, or use suffix B|K|M|G|T|P (UP:DOWN and timetables as --bwlimit; the rate at the start holds for the run)
    #[arg(long, allow_hyphen_values = true, value_name = "RATE")]
    pub bwlimit_file: Option<String>,
    /// Don't normalize unicode characters in filenames
    #[arg(long, env = "FERRY_NO_UNICODE_NORMALIZATION")]
    pub no_unicode_normalization: bool,
    /// Ignore case when synchronizing
    #[arg(long, env = "FERRY_IGNORE_CASE_SYNC")]
    pub ignore_case_sync: bool,
    /// Don't keep destination objects' modification times between runs (each costs a request then)
    #[arg(long, env = "FERRY_NO_JOURNAL")]
    pub no_journal: bool,
    /// Force rename of case insensitive dest to match source
    #[arg(long, env = "FERRY_FIX_CASE")]
    pub fix_case: bool,
    /// If set, preserve metadata when copying objects
    #[arg(short = 'M', long, env = "FERRY_METADATA")]
    pub metadata: bool,
    /// Add metadata key=value when uploading (with -M)
    #[arg(long, value_name = "KEY=VALUE", env = "FERRY_METADATA_SET")]
    pub metadata_set: Vec<String>,
    /// Refresh the modtime of remote files (where no hash can tell whether they changed)
    #[arg(long, env = "FERRY_REFRESH_TIMES")]
    pub refresh_times: bool,
    /// When synchronizing, track file renames and do a server-side move if possible
    #[arg(long, env = "FERRY_TRACK_RENAMES")]
    pub track_renames: bool,
    /// Strategies to use when synchronizing using track-renames hash|modtime|leaf
    #[arg(
        long,
        value_name = "STRATEGY",
        default_value = "hash",
        env = "FERRY_TRACK_RENAMES_STRATEGY"
    )]
    pub track_renames_strategy: String,
}

/// The limits on deleting files: sync's deletes at the destination, and the files
/// `delete`, `purge` and `deletefile` remove (rclone applies them to every delete).
#[derive(Args, Debug, Clone)]
pub struct DeleteLimitArgs {
    /// When synchronizing, limit the number of deletes (-1 = off)
    #[arg(long, default_value_t = -1, allow_negative_numbers = true, value_parser = count(-1, i64::MAX), env = "FERRY_MAX_DELETE")]
    pub max_delete: i64,
    /// When synchronizing, limit the total size of deletes (default off)
    #[arg(long, allow_hyphen_values = true, value_name = "SIZE", value_parser = parse_size_flag, env = "FERRY_MAX_DELETE_SIZE")]
    pub max_delete_size: Option<u64>,
}

/// How the local backend treats symbolic links and mount points.
#[derive(Args, Debug, Clone, Default)]
pub struct LocalArgs {
    /// Follow symlinks and copy the pointed to item
    #[arg(
        short = 'L',
        long,
        global = true,
        conflicts_with = "links",
        env = "FERRY_COPY_LINKS"
    )]
    pub copy_links: bool,
    /// Translate symlinks to/from regular files with a '.rclonelink' extension
    #[arg(short = 'l', long, global = true, env = "FERRY_LINKS")]
    pub links: bool,
    /// Don't warn about skipped symlinks
    #[arg(long, global = true, env = "FERRY_SKIP_LINKS")]
    pub skip_links: bool,
    /// Don't warn about skipped pipes, sockets and device objects
    #[arg(long, global = true, env = "FERRY_SKIP_SPECIALS")]
    pub skip_specials: bool,
    /// Don't cross filesystem boundaries
    #[arg(short = 'x', long, global = true, env = "FERRY_ONE_FILE_SYSTEM")]
    pub one_file_system: bool,
    /// Sync each local file written (and its directory) to the disk before reporting it done
    #[arg(long, global = true, env = "FERRY_FSYNC")]
    pub fsync: bool,
    /// Keep local files' hashes between runs: on, off, or DIR to keep them in
    #[arg(long, global = true, value_name = "on|off|DIR", env = "FERRY_HASH_CACHE", default_value = "on", value_parser = parse_hash_cache)]
    pub hash_cache: HashCacheMode,
}

/// Where local files' hashes are kept between runs (`--hash-cache`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum HashCacheMode {
    Off,
    /// In ferry's cache directory.
    #[default]
    On,
    In(PathBuf),
}

fn parse_hash_cache(s: &str) -> Result<HashCacheMode, String> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "true" => Ok(HashCacheMode::On),
        "off" | "false" => Ok(HashCacheMode::Off),
        "" => Err("give on, off or a directory".into()),
        _ => Ok(HashCacheMode::In(PathBuf::from(s))),
    }
}

/// rclone's filter flags and azcopy's pattern flags.
#[derive(Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// Add a file filtering rule ("+ PATTERN" or "- PATTERN")
    #[arg(
        short = 'f',
        long = "filter",
        value_name = "RULE",
        env = "FERRY_FILTER",
        allow_hyphen_values = true
    )]
    pub filter: Vec<String>,
    /// Read file filtering patterns from a file (use - to read from stdin)
    #[arg(long, value_name = "FILE", env = "FERRY_FILTER_FROM")]
    pub filter_from: Vec<PathBuf>,
    /// Include files matching pattern
    #[arg(
        long,
        value_name = "PATTERN",
        env = "FERRY_INCLUDE",
        allow_hyphen_values = true
    )]
    pub include: Vec<String>,
    /// Read file include patterns from file
    #[arg(long, value_name = "FILE", env = "FERRY_INCLUDE_FROM")]
    pub include_from: Vec<PathBuf>,
    /// Exclude files matching pattern
    #[arg(
        long,
        value_name = "PATTERN",
        env = "FERRY_EXCLUDE",
        allow_hyphen_values = true
    )]
    pub exclude: Vec<String>,
    /// Read file exclude patterns from file
    #[arg(long, value_name = "FILE", env = "FERRY_EXCLUDE_FROM")]
    pub exclude_from: Vec<PathBuf>,
    /// Read list of source-file names from file
    #[arg(long, value_name = "FILE", env = "FERRY_FILES_FROM")]
    pub files_from: Vec<PathBuf>,
    /// Read list of source-file names from file without any processing of lines
    #[arg(long, value_name = "FILE", env = "FERRY_FILES_FROM_RAW")]
    pub files_from_raw: Vec<PathBuf>,
    /// Read list of source-file names from file using NUL as separator (use - to read from stdin)
    #[arg(long, value_name = "FILE", env = "FERRY_FILES_FROM0")]
    pub files_from0: Vec<PathBuf>,
    /// Exclude directories if filename is present
    #[arg(long, value_name = "NAME", env = "FERRY_EXCLUDE_IF_PRESENT")]
    pub exclude_if_present: Vec<String>,
    /// Partition filenames by hash k/n or randomly @/n
    #[arg(long, value_name = "K/N", env = "FERRY_HASH_FILTER")]
    pub hash_filter: Option<String>,
    /// Only transfer files bigger than this in KiB or suffix B|K|M|G|T|P
    #[arg(long, allow_hyphen_values = true, value_name = "SIZE", value_parser = parse_size_flag, env = "FERRY_MIN_SIZE")]
    pub min_size: Option<u64>,
    /// Only transfer files smaller than this in KiB or suffix B|K|M|G|T|P
    #[arg(long, allow_hyphen_values = true, value_name = "SIZE", value_parser = parse_size_flag, env = "FERRY_MAX_SIZE")]
    pub max_size: Option<u64>,
    /// Only transfer files older than this in s or suffix ms|s|m|h|d|w|M|y, or a date
    #[arg(long, value_name = "AGE", env = "FERRY_MIN_AGE")]
    pub min_age: Option<String>,
    /// Only transfer files younger than this in s or suffix ms|s|m|h|d|w|M|y, or a date
    #[arg(long, value_name = "AGE", env = "FERRY_MAX_AGE")]
    pub max_age: Option<String>,
    /// Delete files on dest excluded from sync
    #[arg(long, env = "FERRY_DELETE_EXCLUDED")]
    pub delete_excluded: bool,
    /// Include metadatas matching pattern (KEY=VALUE globs)
    #[arg(
        long,
        value_name = "PATTERN",
        env = "FERRY_METADATA_INCLUDE",
        allow_hyphen_values = true
    )]
    pub metadata_include: Vec<String>,
    /// Read metadata include patterns from file (use - to read from stdin)
    #[arg(long, value_name = "FILE", env = "FERRY_METADATA_INCLUDE_FROM")]
    pub metadata_include_from: Vec<PathBuf>,
    /// Exclude metadatas matching pattern
    #[arg(
        long,
        value_name = "PATTERN",
        env = "FERRY_METADATA_EXCLUDE",
        allow_hyphen_values = true
    )]
    pub metadata_exclude: Vec<String>,
    /// Read metadata exclude patterns from file (use - to read from stdin)
    #[arg(long, value_name = "FILE", env = "FERRY_METADATA_EXCLUDE_FROM")]
    pub metadata_exclude_from: Vec<PathBuf>,
    /// Add a metadata filtering rule ("+ KEY=VALUE" or "- KEY=VALUE")
    #[arg(
        long,
        value_name = "RULE",
        env = "FERRY_METADATA_FILTER",
        allow_hyphen_values = true
    )]
    pub metadata_filter: Vec<String>,
    /// Read metadata filtering patterns from a file (use - to read from stdin)
    #[arg(long, value_name = "FILE", env = "FERRY_METADATA_FILTER_FROM")]
    pub metadata_filter_from: Vec<PathBuf>,
    /// Ignore case in filters (case insensitive)
    #[arg(long, env = "FERRY_IGNORE_CASE")]
    pub ignore_case: bool,
    /// If set limits the recursion depth to this
    #[arg(long, default_value_t = -1, allow_negative_numbers = true, value_parser = count(-1, MAX_DEPTH), env = "FERRY_MAX_DEPTH")]
    pub max_depth: i64,
    /// azcopy: include only files whose name matches one of these ;-separated patterns
    #[arg(
        long,
        value_name = "PATTERNS",
        env = "FERRY_INCLUDE_PATTERN",
        allow_hyphen_values = true
    )]
    pub include_pattern: Vec<String>,
    /// azcopy: exclude files whose name matches one of these ;-separated patterns
    #[arg(
        long,
        value_name = "PATTERNS",
        env = "FERRY_EXCLUDE_PATTERN",
        allow_hyphen_values = true
    )]
    pub exclude_pattern: Vec<String>,
    /// azcopy: exclude these ;-separated relative paths (files or directories)
    #[arg(long, value_name = "PATHS", env = "FERRY_EXCLUDE_PATH")]
    pub exclude_path: Vec<String>,
    /// azcopy: include only paths matching one of these ;-separated regular expressions
    #[arg(
        long,
        value_name = "REGEXES",
        env = "FERRY_INCLUDE_REGEX",
        allow_hyphen_values = true
    )]
    pub include_regex: Vec<String>,
    /// azcopy: exclude paths matching one of these ;-separated regular expressions
    #[arg(
        long,
        value_name = "REGEXES",
        env = "FERRY_EXCLUDE_REGEX",
        allow_hyphen_values = true
    )]
    pub exclude_regex: Vec<String>,
    /// azcopy: false means only the top level (--max-depth 1)
    #[arg(long, value_name = "BOOL", env = "FERRY_RECURSIVE")]
    pub recursive: Option<bool>,
}

/// A count flag: a whole number in `min..=max`; where rclone's `-1` means "off" the range
/// starts at -1, and any other negative number is an error naming the range.
pub fn count(min: i64, max: i64) -> impl Fn(&str) -> Result<i64, String> + Clone + Send + Sync {
    move |s: &str| ferry_core::units::parse_count(s, min, max)
}

/// [`count`] for flags held as `u32` (never negative).
pub fn count_u32(min: u32, max: u32) -> impl Fn(&str) -> Result<u32, String> + Clone + Send + Sync {
    move |s: &str| ferry_core::units::parse_count(s, min.into(), max.into()).map(|n| n as u32)
}

//! rclone flags that tune how rclone works rather than what it does, accepted so that
//! scripts written for rclone run unchanged. Values are still checked, so a typo is an
//! error as it would be in rclone; what ferry does with each is in the README
//! ("Flags accepted for compatibility").

use clap::Args;

use ferry_core::units::{parse_duration, parse_size_flag};

#[derive(Args, Debug, Clone, Default)]
pub struct TuningArgs {
    /// Use recursive listing where available (listing commands already do; sync walks directory by directory)
    #[arg(long, global = true, env = "FERRY_FAST_LIST")]
    pub fast_list: bool,
    /// Don't traverse the destination (accepted; ferry lists it directory by directory)
    #[arg(long, global = true)]
    pub no_traverse: bool,
    /// Do all the checks before starting transfers
    #[arg(long, global = true)]
    pub check_first: bool,
    /// Order of transfers, e.g. size,desc (accepted; ferry transfers in listing order)
    #[arg(long, global = true, value_name = "STRING", value_parser = parse_order_by)]
    pub order_by: Option<String>,
    /// In-memory read-ahead buffer per file (accepted; ferry sizes its own buffers)
    #[arg(long, allow_hyphen_values = true, global = true, value_name = "SIZE", value_parser = parse_size_flag)]
    pub buffer_size: Option<u64>,
    /// Use mmap allocator (accepted; no effect)
    #[arg(long, global = true)]
    pub use_mmap: bool,
    /// IO idle timeout for network backends (0 for none; default 5m0s)
    #[arg(long, allow_hyphen_values = true, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<std::time::Duration>,
    /// Connect timeout for network backends (0 for none; default 1m0s)
    #[arg(long, allow_hyphen_values = true, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub contimeout: Option<std::time::Duration>,
    /// Log level to show --stats output DEBUG|INFO|NOTICE|ERROR
    #[arg(long, global = true, value_name = "LEVEL", value_parser = ["DEBUG", "INFO", "NOTICE", "ERROR"], ignore_case = true)]
    pub stats_log_level: Option<String>,
    /// Show data rate in stats as either 'bits' or 'bytes' per second
    #[arg(long, global = true, value_name = "UNIT", value_parser = ["bytes", "bits"])]
    pub stats_unit: Option<String>,
    /// Set the user-agent to a specified string (default ferry/VERSION)
    #[arg(long, global = true, value_name = "STRING")]
    pub user_agent: Option<String>,
    /// Don't ask servers to gzip (accepted; ferry never asks)
    #[arg(long, global = true)]
    pub no_gzip_encoding: bool,
    /// Limit HTTP transactions per second to this (0 or less for no limit)
    #[arg(long, global = true, value_name = "FLOAT", default_value_t = 0.0, allow_negative_numbers = true, value_parser = parse_tps)]
    pub tpslimit: f64,
    /// Max burst of transactions for --tpslimit
    #[arg(long, global = true, value_name = "INT", default_value_t = 1)]
    pub tpslimit_burst: u32,
    /// Maximum number of objects in sync or check backlog (accepted; ferry's queues are bounded already)
    #[arg(long, global = true, value_name = "INT", allow_negative_numbers = true)]
    pub max_backlog: Option<i64>,
    /// In-memory buffer for multi-thread writes (accepted; ferry sizes its own buffers)
    #[arg(long, allow_hyphen_values = true, global = true, value_name = "SIZE", value_parser = parse_size_flag)]
    pub multi_thread_write_buffer_size: Option<u64>,
    /// Allow server-side operations across different configs (accepted; ferry copies between two remotes through itself)
    #[arg(long, global = true)]
    pub server_side_across_configs: bool,
    /// Sort directories bigger than this on disk (accepted; ferry's walk needs no such sort)
    #[arg(long, global = true, value_name = "INT", allow_negative_numbers = true)]
    pub list_cutoff: Option<i64>,
    /// Cutoff for switching to chunked upload when the size is unknown (accepted; ferry spools such a file, see --temp-dir)
    #[arg(long, allow_hyphen_values = true, global = true, value_name = "SIZE", value_parser = parse_size_flag)]
    pub streaming_upload_cutoff: Option<u64>,
    /// Hide console window (Windows only in rclone too; no effect here)
    #[arg(long, global = true)]
    pub no_console: bool,
    /// When to show colors: AUTO|NEVER|ALWAYS (accepted; ferry's output has none)
    #[arg(long, global = true, value_name = "MODE", value_parser = ["AUTO", "NEVER", "ALWAYS"], ignore_case = true)]
    pub color: Option<String>,
    /// Time to show if modtime is unknown for files and directories (default 2000-01-01T00:00:00Z)
    #[arg(long, global = true, value_name = "TIME", value_parser = parse_default_time)]
    pub default_time: Option<std::time::SystemTime>,
    /// Suffix of the temporary name a file is written under before its rename (default .partial)
    #[arg(long, global = true, value_name = "SUFFIX", allow_hyphen_values = true)]
    pub partial_suffix: Option<String>,
    /// Directory for temporary files (default: $TMPDIR, else /tmp)
    #[arg(long, global = true, value_name = "DIR")]
    pub temp_dir: Option<std::path::PathBuf>,
    /// Disable a comma separated list of features (use --disable help to see a list)
    #[arg(long, global = true, value_name = "STRING")]
    pub disable: Option<String>,
    /// If enabled, do not request console confirmation (accepted; ferry's config commands never ask)
    #[arg(long, global = true)]
    pub auto_confirm: bool,
    /// Cache remotes for this long (accepted; a remote is opened once per run, as without rc or mount in rclone)
    #[arg(long, allow_hyphen_values = true, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub fs_cache_expire_duration: Option<std::time::Duration>,
    /// Interval to check for expired remotes (accepted; see --fs-cache-expire-duration)
    #[arg(long, allow_hyphen_values = true, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub fs_cache_expire_interval: Option<std::time::Duration>,
    /// Maximum number of stats groups to keep in memory (accepted; ferry keeps one per run)
    #[arg(long, global = true, value_name = "INT", allow_negative_numbers = true)]
    pub max_stats_groups: Option<i64>,
    /// Maximum time to keep key-value database locked by process (accepted; ferry's state files lock as they are written)
    #[arg(long, allow_hyphen_values = true, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub kv_lock_time: Option<std::time::Duration>,
    /// Timeout when using expect / 100-continue in HTTP (accepted; ferry never sends Expect: 100-continue)
    #[arg(long, allow_hyphen_values = true, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub expect_continue_timeout: Option<std::time::Duration>,
}

/// `--default-time`: a date (RFC 3339, `2006-01-02`, ...) or an age before now (`1d`), as
/// rclone reads a time flag.
fn parse_default_time(s: &str) -> Result<std::time::SystemTime, String> {
    let now = std::time::SystemTime::now();
    let age =
        ferry_filter::parse_age(s, now).map_err(|e| e.replace("invalid age", "invalid time"))?;
    Ok(now.checked_sub(age).unwrap_or(std::time::UNIX_EPOCH))
}

/// A rate for `--tpslimit`, as rclone reads it: any number (0 or less, or infinite, is no
/// limit).
fn parse_tps(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if !v.is_nan() => Ok(v),
        _ => Err(format!(
            "{s:?} is not a rate: give transactions per second, e.g. 10 or 0.5"
        )),
    }
}

impl TuningArgs {
    /// `--stats-log-level`, INFO unless given (clap has already checked the word).
    pub fn stats_level(&self) -> crate::args::Level {
        self.stats_log_level
            .as_deref()
            .and_then(|l| crate::args::parse_level(l).ok())
            .unwrap_or(crate::args::Level::Info)
    }

    /// The flags given that change nothing here, for one debug line.
    pub fn ignored(&self) -> Vec<&'static str> {
        let given = [
            (self.no_traverse, "--no-traverse"),
            (self.order_by.is_some(), "--order-by"),
            (self.buffer_size.is_some(), "--buffer-size"),
            (self.use_mmap, "--use-mmap"),
            (self.no_gzip_encoding, "--no-gzip-encoding"),
            (self.max_backlog.is_some(), "--max-backlog"),
            (
                self.multi_thread_write_buffer_size.is_some(),
                "--multi-thread-write-buffer-size",
            ),
            (
                self.server_side_across_configs,
                "--server-side-across-configs",
            ),
            (self.list_cutoff.is_some(), "--list-cutoff"),
            (
                self.streaming_upload_cutoff.is_some(),
                "--streaming-upload-cutoff",
            ),
            (self.no_console, "--no-console"),
            (self.color.is_some(), "--color"),
            (self.auto_confirm, "--auto-confirm"),
            (
                self.fs_cache_expire_duration.is_some(),
                "--fs-cache-expire-duration",
            ),
            (
                self.fs_cache_expire_interval.is_some(),
                "--fs-cache-expire-interval",
            ),
            (self.max_stats_groups.is_some(), "--max-stats-groups"),
            (self.kv_lock_time.is_some(), "--kv-lock-time"),
            (
                self.expect_continue_timeout.is_some(),
                "--expect-continue-timeout",
            ),
        ];
        given
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect()
    }
}

/// rclone's `--order-by`: `size|name|modtime[,ascending|descending|mixed[,N]]`.
fn parse_order_by(s: &str) -> Result<String, String> {
    let mut parts = s.split(',');
    let key = parts.next().unwrap_or_default().to_ascii_lowercase();
    if !["size", "name", "modtime"].contains(&key.as_str()) {
        return Err(format!(
            "unknown --order-by key {key:?}: use size, name or modtime"
        ));
    }
    if let Some(dir) = parts.next() {
        let dir = dir.to_ascii_lowercase();
        if !["ascending", "asc", "descending", "desc", "mixed"].contains(&dir.as_str()) {
            return Err(format!(
                "unknown --order-by direction {dir:?}: use ascending, descending or mixed"
            ));
        }
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_by_is_checked() {
        assert!(parse_order_by("size,desc").is_ok());
        assert!(parse_order_by("modtime,mixed,50").is_ok());
        assert!(parse_order_by("colour").is_err());
        assert!(parse_order_by("name,sideways").is_err());
    }
}

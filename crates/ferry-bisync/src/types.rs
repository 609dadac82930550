//! The vocabulary of a bisync run: sides, listing records, preferences and options.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// One of the two paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Side {
    #[serde(rename = "path1")]
    One,
    #[serde(rename = "path2")]
    Two,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::One => Side::Two,
            Side::Two => Side::One,
        }
    }
    pub fn num(self) -> u8 {
        match self {
            Side::One => 1,
            Side::Two => 2,
        }
    }
    /// `Path1` / `Path2`, as rclone's log lines name them.
    pub fn name(self) -> &'static str {
        match self {
            Side::One => "Path1",
            Side::Two => "Path2",
        }
    }
}

/// One file (or tracked directory) as a listing records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rec {
    /// The real relative path on its side (the listing key may be normalised).
    pub path: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub dir: bool,
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch.
    pub mtime: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Rec {
    pub fn with_path(&self, path: &str) -> Rec {
        Rec {
            path: path.to_owned(),
            ..self.clone()
        }
    }
}

pub fn to_ns(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

pub fn from_ns(ns: i64) -> SystemTime {
    if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    }
}

/// Which version wins: `--conflict-resolve` and `--resync-mode` choices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Prefer {
    #[default]
    None,
    Path1,
    Path2,
    Newer,
    Older,
    Larger,
    Smaller,
}

impl FromStr for Prefer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "none" | "" => Prefer::None,
            "path1" => Prefer::Path1,
            "path2" => Prefer::Path2,
            "newer" => Prefer::Newer,
            "older" => Prefer::Older,
            "larger" => Prefer::Larger,
            "smaller" => Prefer::Smaller,
            _ => {
                return Err(format!(
                    "invalid choice {s:?} from: none, path1, path2, newer, older, larger, smaller"
                ))
            }
        })
    }
}

impl Prefer {
    pub fn as_str(self) -> &'static str {
        match self {
            Prefer::None => "none",
            Prefer::Path1 => "path1",
            Prefer::Path2 => "path2",
            Prefer::Newer => "newer",
            Prefer::Older => "older",
            Prefer::Larger => "larger",
            Prefer::Smaller => "smaller",
        }
    }
}

/// `--conflict-loser`: what happens to the losing version of a conflict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Loser {
    /// Rename with the next free number after the suffix (`file.conflict1`).
    #[default]
    Num,
    /// Rename with a suffix naming the side (`file.conflict1` from Path1, `...2` from Path2).
    Pathname,
    /// Delete the loser (when there is a winner; otherwise as `num`).
    Delete,
}

impl FromStr for Loser {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "num" | "" => Ok(Loser::Num),
            "pathname" => Ok(Loser::Pathname),
            "delete" => Ok(Loser::Delete),
            _ => Err(format!("invalid choice {s:?} from: num, pathname, delete")),
        }
    }
}

/// `--check-sync`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CheckSync {
    #[default]
    True,
    False,
    Only,
}

impl FromStr for CheckSync {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "true" => Ok(CheckSync::True),
            "false" => Ok(CheckSync::False),
            "only" => Ok(CheckSync::Only),
            _ => Err(format!("unknown check-sync mode for bisync: {s:?}")),
        }
    }
}

/// Which attributes decide that a file changed (`--compare`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompareSpec {
    pub size: bool,
    pub modtime: bool,
    pub checksum: bool,
}

impl Default for CompareSpec {
    fn default() -> Self {
        CompareSpec {
            size: true,
            modtime: true,
            checksum: false,
        }
    }
}

impl CompareSpec {
    /// Parses `--compare size,modtime,checksum`.
    pub fn parse(s: &str) -> Result<CompareSpec, String> {
        let mut spec = CompareSpec {
            size: false,
            modtime: false,
            checksum: false,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.to_ascii_lowercase().as_str() {
                "size" => spec.size = true,
                "modtime" => spec.modtime = true,
                "checksum" => spec.checksum = true,
                other => {
                    return Err(format!(
                        "unknown compare option {other:?}: use a comma-separated list of size, modtime, checksum"
                    ))
                }
            }
        }
        if !(spec.size || spec.modtime || spec.checksum) {
            return Err(
                "must set a compare method (size, modtime and checksum can't all be false)".into(),
            );
        }
        Ok(spec)
    }
}

/// Everything a run needs besides the two backends and the filters.
#[derive(Clone, Debug)]
pub struct Options {
    pub resync: bool,
    /// `--resync-mode` (implies `--resync` unless `None`).
    pub resync_mode: Prefer,
    pub check_access: bool,
    pub check_filename: String,
    pub check_sync: CheckSync,
    pub create_empty_src_dirs: bool,
    pub remove_empty_dirs: bool,
    /// `--max-delete`: a percentage (0-100) of each side's files.
    pub max_delete: u8,
    pub force: bool,
    /// Where state, journal and lock live.
    pub workdir: PathBuf,
    pub dry_run: bool,
    pub no_cleanup: bool,
    pub compare: CompareSpec,
    pub ignore_listing_checksum: bool,
    pub no_slow_hash: bool,
    pub slow_hash_sync_only: bool,
    pub modify_window: Option<Duration>,
    pub max_lock: Option<Duration>,
    pub conflict_resolve: Prefer,
    pub conflict_loser: Loser,
    /// The raw `--conflict-suffix` (one value, or two separated by a comma).
    pub conflict_suffix: String,
    pub suffix_keep_extension: bool,
    /// `--suffix` for files moved into a backup directory.
    pub backup_suffix: String,
    pub transfers: usize,
    pub checkers: usize,
    pub retries: u32,
    pub retries_sleep: Duration,
    pub low_level_retries: u32,
    pub no_unicode_normalization: bool,
    pub ignore_case_sync: bool,
    /// `--fix-case`: a copy onto a name that differs only in case renames it to the
    /// copied name first, and identical files named differently take Path1's name.
    pub fix_case: bool,
    pub inplace: bool,
    /// MD5 of `--filters-file` (its content as read this run), if one is used.
    pub filters_md5: Option<String>,
    /// `--filters-file`, to keep rclone's `FILE.md5` beside it.
    pub filters_file: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            resync: false,
            resync_mode: Prefer::None,
            check_access: false,
            check_filename: "RCLONE_TEST".into(),
            check_sync: CheckSync::True,
            create_empty_src_dirs: false,
            remove_empty_dirs: false,
            max_delete: 50,
            force: false,
            workdir: PathBuf::from("."),
            dry_run: false,
            no_cleanup: false,
            compare: CompareSpec::default(),
            ignore_listing_checksum: false,
            no_slow_hash: false,
            slow_hash_sync_only: false,
            modify_window: None,
            max_lock: None,
            conflict_resolve: Prefer::None,
            conflict_loser: Loser::Num,
            conflict_suffix: "conflict".into(),
            suffix_keep_extension: false,
            backup_suffix: String::new(),
            transfers: 4,
            checkers: 8,
            retries: 3,
            retries_sleep: Duration::ZERO,
            low_level_retries: 10,
            no_unicode_normalization: false,
            ignore_case_sync: false,
            fix_case: false,
            inplace: false,
            filters_md5: None,
            filters_file: None,
        }
    }
}

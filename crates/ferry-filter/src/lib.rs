//! rclone's filter language (`--include`, `--exclude`, `--filter`, their
//! `-from` variants, `--files-from`, `--min/max-size`, `--min/max-age`,
//! `--ignore-case`, `--exclude-if-present`, `--hash-filter`) reproduced exactly, plus
//! azcopy's `--include-pattern`, `--exclude-pattern`, `--exclude-path`,
//! `--include-regex` and `--exclude-regex`.
//!
//! # How rclone's rules work (and so ours)
//!
//! * Rules are collected in a fixed order, whatever the command line order:
//!   `--include`, `--include-from`, `--exclude`, `--exclude-from`,
//!   `--filter`, `--filter-from`; then, if any `--include`/`--include-from`
//!   was given, an implicit `- /**`. A `!` rule (in `--filter` or a
//!   `--filter-from` file) clears everything collected so far.
//! * Every pattern becomes a regexp (see `glob.rs`). A pattern ending in `/`
//!   is a *directory* rule; otherwise it is a *file* rule; a pattern
//!   containing `**` is both; `- dir/` is read as `- dir/**` (so it also
//!   excludes the files below `dir`).
//! * Files ([`Filter::include_file`]) are tested against the file rules:
//!   the first rule that matches decides, no match means included.
//!   Size, age and `--files-from` are checked too.
//! * Directories ([`Filter::include_dir`]) are tested, as `path/`, against
//!   the directory rules. Besides explicit directory rules, every *include*
//!   file rule adds include rules for the directories its matches can live
//!   in (`+ a/b/*.jpg` adds `+ a/b/` and `+ a/`; `+ *.jpg` adds `+ /**`),
//!   and `- *` adds `- /**`.
//!
//! ## When is pruning a directory safe?
//!
//! rclone walks the tree and never lists a directory for which
//! `include_dir` is false, so a file is transferred only if `include_file`
//! is true **and** every ancestor directory passes `include_dir`
//! ([`Filter::include_file_and_parents`] checks both). Pruning loses no
//! file that the file rules would include when the directory is excluded
//!
//! * by a rule that excludes every file below it as well: `- dir/**`,
//!   `- dir/` (read as `- dir/**`), `- *` (which excludes all files anyway);
//! * by the implicit `- /**` that follows includes, after none of the
//!   derived `+ .../` rules matched: the derived rules are the directory
//!   prefixes of each include pattern, so for rooted patterns
//!   (`/a/b/*.jpg` → `/a/b/`, `/a/`) and patterns without `/` (`*.jpg` →
//!   `/**`, i.e. every directory) no matching file can be below a pruned
//!   directory.
//!
//! rclone also prunes where it is *not* safe, and we do the same to list
//! exactly what rclone lists:
//!
//! * explicit directory include rules (`--include /dir/` matches no file;
//!   it only limits the walk);
//! * unanchored include patterns containing `/`: `dir/**` derives
//!   `dir/**/` and `dir/`, which don't match `x/`, so `x/dir/file` (which
//!   matches `dir/**`) is never found because `x` is not listed.
//!
//! Two more rclone quirks kept on purpose: `[!a]` is a class of `!` and `a`
//! (rclone copies classes to the Go regexp, where only `^` negates), and a
//! trailing `\` escapes the final `$` (`a\` matches the name `a$`).
//!
//! # azcopy flags
//!
//! They are applied **after** rclone's rules, and only to files that
//! rclone's rules (and size/age) already included:
//!
//! 1. if `--include-pattern` is given, the file's *base name* must match one
//!    of its `;`-separated globs (Go `filepath.Match` syntax: `*`, `?`,
//!    `[^a-z]`, `\c`; `exact.txt` is an exact name);
//! 2. if `--include-regex` is given, one of its regexps must be found
//!    somewhere in the relative path (both includes must hold when both are
//!    given);
//! 3. then a file is removed if its base name matches an
//!    `--exclude-pattern` glob, if its path equals or lies below an
//!    `--exclude-path` entry (literal, on `/` boundaries), or if an
//!    `--exclude-regex` regexp is found in its path.
//!
//! Directories equal to or below an `--exclude-path` entry are pruned; the
//! other azcopy flags never prune directories. `--ignore-case` also
//! applies to `--include-pattern`, `--exclude-pattern` and
//! `--exclude-path` (use `(?i)` in regexps). `--files-from` can't be
//! combined with them, as with rclone's own filters.

mod azcopy;
mod collect;
mod glob;
mod goregex;
mod hashfilter;
mod meta;
mod parse;
mod rules;

pub use glob::escape as escape_glob;
pub use parse::{parse_age, AGE_OFF, SIZE_OFF};

use azcopy::{split_list, AzFilters, NameMatcher};
use rules::{Pattern, Rules};
use std::collections::HashSet;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Filter settings as given on the command line (plain data).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterOptions {
    /// `--filter`/`-f`: `"+ pattern"`, `"- pattern"` or `"!"`.
    pub filter: Vec<String>,
    /// `--filter-from`: files of `--filter` rules (`-` is stdin).
    pub filter_from: Vec<PathBuf>,
    /// `--include`: patterns.
    pub include: Vec<String>,
    /// `--include-from`: files of patterns.
    pub include_from: Vec<PathBuf>,
    /// `--exclude`: patterns.
    pub exclude: Vec<String>,
    /// `--exclude-from`: files of patterns.
    pub exclude_from: Vec<PathBuf>,
    /// `--files-from`: files listing the only files to consider.
    pub files_from: Vec<PathBuf>,
    /// `--files-from-raw`: as `files_from`, lines taken verbatim.
    pub files_from_raw: Vec<PathBuf>,
    /// `--files-from0`: as `files_from_raw`, names separated by NUL bytes.
    pub files_from0: Vec<PathBuf>,
    /// `--exclude-if-present`: file names whose presence excludes a directory.
    pub exclude_if_present: Vec<String>,
    /// `--hash-filter K/N` (or `@/N`): only the files in part K of N.
    pub hash_filter: Option<String>,
    /// `--min-size` in bytes ([`SIZE_OFF`] = none).
    pub min_size: Option<u64>,
    /// `--max-size` in bytes, inclusive ([`SIZE_OFF`] = none).
    pub max_size: Option<u64>,
    /// `--min-age` ([`AGE_OFF`] = none); see [`parse_age`] for dates.
    pub min_age: Option<Duration>,
    /// `--max-age` ([`AGE_OFF`] = none).
    pub max_age: Option<Duration>,
    /// `--ignore-case`.
    pub ignore_case: bool,
    /// `--delete-excluded` (carried for the engine).
    pub delete_excluded: bool,
    /// azcopy `--include-pattern` (each value may hold `a;b;c`).
    pub include_pattern: Vec<String>,
    /// azcopy `--exclude-pattern`.
    pub exclude_pattern: Vec<String>,
    /// azcopy `--exclude-path`.
    pub exclude_path: Vec<String>,
    /// azcopy `--include-regex`.
    pub include_regex: Vec<String>,
    /// azcopy `--exclude-regex`.
    pub exclude_regex: Vec<String>,
    /// `--metadata-include`: `key=value` patterns selecting files by their metadata.
    pub metadata_include: Vec<String>,
    /// `--metadata-include-from`.
    pub metadata_include_from: Vec<PathBuf>,
    /// `--metadata-exclude`.
    pub metadata_exclude: Vec<String>,
    /// `--metadata-exclude-from`.
    pub metadata_exclude_from: Vec<PathBuf>,
    /// `--metadata-filter`: `+ key=value`, `- key=value` or `!`.
    pub metadata_filter: Vec<String>,
    /// `--metadata-filter-from`.
    pub metadata_filter_from: Vec<PathBuf>,
}

/// Where a pattern or rule came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag such as `--include`.
    Flag(&'static str),
    /// A line of a file given to a `-from` flag (1-based line number).
    File { path: PathBuf, line: usize },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => f.write_str(flag),
            Origin::File { path, line } => write!(f, "{}:{}", path.display(), line),
        }
    }
}

/// Why a filter could not be built. Every message is a single line.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// A glob that doesn't parse or compile.
    #[error("{origin}: bad filter pattern {pattern:?}: {reason}")]
    BadPattern {
        origin: Origin,
        pattern: String,
        reason: String,
    },
    /// An azcopy regexp that doesn't compile.
    #[error("{origin}: bad regular expression {pattern:?}: {reason}")]
    BadRegex {
        origin: Origin,
        pattern: String,
        reason: String,
    },
    /// A `--filter` rule not of the form `+ pat`, `- pat` or `!`.
    #[error(
        "{origin}: malformed rule {rule:?}: a rule must start with \"+ \" or \"- \", or be \"!\""
    )]
    MalformedRule { origin: Origin, rule: String },
    /// A `-from` file that can't be read.
    #[error("{flag} {}: can't read file: {}", path.display(), one_line(source))]
    ReadFile {
        flag: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `--files-from` together with other filters.
    #[error(
        "the usage of {flag} overrides all other filters, it should be used alone or with {}",
        others(flag)
    )]
    FilesFromMixed { flag: &'static str },
    /// A `--hash-filter` that isn't `K/N` or `@/N`.
    #[error("--hash-filter: {0}")]
    HashFilter(String),
    /// `--min-age` larger than `--max-age`: nothing could ever match.
    #[error("--min-age {} can't be larger than --max-age {} (no file could match)", fmt_dur(*min_age), fmt_dur(*max_age))]
    EmptyAgeWindow {
        min_age: Duration,
        max_age: Duration,
    },
}

/// The `--files-from` flags other than `flag`, as rclone's error names them.
fn others(flag: &str) -> String {
    let all = ["--files-from", "--files-from-raw", "--files-from0"];
    let rest: Vec<&str> = all.into_iter().filter(|f| *f != flag).collect();
    rest.join(" or ")
}

fn one_line(e: &std::io::Error) -> String {
    e.to_string().replace('\n', " ")
}

fn fmt_dur(d: Duration) -> String {
    let s = d.as_secs_f64();
    for (unit, secs) in [
        ("y", 31_536_000.0),
        ("d", 86_400.0),
        ("h", 3600.0),
        ("m", 60.0),
    ] {
        if s >= secs {
            return format!("{}{unit}", (s / secs * 1000.0).round() / 1000.0);
        }
    }
    format!("{s}s")
}

/// A `-from` file's bytes (`-` is stdin), up to the list size limit.
fn read_whole(flag: &'static str, path: &Path) -> Result<Vec<u8>, FilterError> {
    let err = |source| FilterError::ReadFile {
        flag,
        path: path.to_path_buf(),
        source,
    };
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .take(ferry_core::limited::LIST_LIMIT)
            .read_to_end(&mut buf)
            .map_err(err)?;
        Ok(buf)
    } else {
        ferry_core::limited::read_limited(path, ferry_core::limited::LIST_LIMIT).map_err(err)
    }
}

/// A `--files-from` file's names: trimmed lines, comments and blank lines skipped.
fn read_names(flag: &'static str, path: &Path) -> Result<Vec<String>, FilterError> {
    Ok(read_lines(flag, path, false)?
        .into_iter()
        .map(|(_, l)| l)
        .collect())
}

/// A `--files-from-raw` file's names: every line as it is.
fn read_raw_names(flag: &'static str, path: &Path) -> Result<Vec<String>, FilterError> {
    Ok(read_lines(flag, path, true)?
        .into_iter()
        .map(|(_, l)| l)
        .collect())
}

/// A `--files-from0` file: names split on NUL bytes, each taken verbatim (what
/// `find -print0` writes, so names may hold newlines).
fn read_nul_separated(flag: &'static str, path: &Path) -> Result<Vec<String>, FilterError> {
    let bytes = read_whole(flag, path)?;
    Ok(bytes
        .split(|b| *b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .collect())
}

/// The `--files-from` list.
#[derive(Debug, Default)]
struct FilesFrom {
    list: Vec<String>,
    files: HashSet<String>,
    dirs: HashSet<String>,
}

impl FilesFrom {
    fn add(&mut self, line: &str) {
        let file = line.trim_matches('/');
        if file.is_empty() || !self.files.insert(file.to_string()) {
            return;
        }
        self.list.push(file.to_string());
        let mut dir = file;
        while let Some(i) = dir.rfind('/') {
            dir = dir[..i].trim_end_matches('/');
            if dir.is_empty() || !self.dirs.insert(dir.to_string()) {
                break;
            }
        }
    }
}

/// A compiled filter. Immutable, `Send + Sync`; share it in an `Arc`.
#[derive(Debug)]
pub struct Filter {
    file_rules: Rules,
    dir_rules: Rules,
    files_from: Option<FilesFrom>,
    /// Files modified before this are excluded (`--max-age`).
    mod_time_from: Option<SystemTime>,
    /// Files modified after this are excluded (`--min-age`).
    mod_time_to: Option<SystemTime>,
    /// `--min-age` so large that no time can be computed: exclude all.
    exclude_all_by_age: bool,
    min_size: Option<u64>,
    max_size: Option<u64>,
    exclude_if_present: Vec<String>,
    hash_filter: Option<hashfilter::HashFilter>,
    delete_excluded: bool,
    ignore_case: bool,
    az: AzFilters,
    meta: meta::MetaRules,
}

/// Read a `-from` file: lines split on `\n` (a trailing `\r` dropped, as
/// Go's line scanner does); unless `raw`, lines are trimmed and blank
/// lines and `#`/`;` comments are skipped. `-` reads stdin.
fn read_lines(
    flag: &'static str,
    path: &Path,
    raw: bool,
) -> Result<Vec<(usize, String)>, FilterError> {
    let bytes = read_whole(flag, path)?;
    let text = String::from_utf8_lossy(&bytes);
    let mut out = Vec::new();
    let mut lines: Vec<&str> = text.split('\n').collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }
    for (i, line) in lines.into_iter().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if raw {
            out.push((i + 1, line.to_string()));
            continue;
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        out.push((i + 1, line.to_string()));
    }
    Ok(out)
}

struct Builder {
    file_rules: Rules,
    dir_rules: Rules,
    ignore_case: bool,
}

impl Builder {
    fn compile(
        &self,
        glob: &str,
        origin: &Origin,
        shown: &str,
    ) -> Result<Arc<Pattern>, FilterError> {
        Pattern::compile(glob, self.ignore_case)
            .map(Arc::new)
            .map_err(|reason| FilterError::BadPattern {
                origin: origin.clone(),
                pattern: shown.to_string(),
                reason,
            })
    }
}

impl collect::RuleSink for Builder {
    /// rclone's `Filter.Add`.
    fn add(&mut self, include: bool, glob: &str, origin: &Origin) -> Result<(), FilterError> {
        let mut is_dir_rule = glob.ends_with('/');
        let mut is_file_rule = !is_dir_rule;
        let mut glob = glob.to_string();
        let shown = glob.clone();
        if is_dir_rule && !include {
            // `- dir/` means `- dir/**`
            glob.push_str("**");
        }
        if glob.contains("**") {
            is_dir_rule = true;
            is_file_rule = true;
        }
        let pattern = self.compile(&glob, origin, &shown)?;
        if is_file_rule {
            self.file_rules.add(include, pattern.clone());
            // An include rule tells which directories must be searched; an
            // exclude rule can't rule any directory out, except `*`, which
            // excludes every file anyway.
            if include || glob == "*" {
                for dir_glob in glob::glob_to_dir_globs(&glob) {
                    if dir_glob == "/" {
                        continue; // the root is always listed
                    }
                    let p = Pattern::compile(&dir_glob, self.ignore_case).map_err(|reason| {
                        FilterError::BadPattern {
                            origin: origin.clone(),
                            pattern: shown.clone(),
                            reason: format!("{reason} (in derived directory rule {dir_glob:?})"),
                        }
                    })?;
                    self.dir_rules.add(include, Arc::new(p));
                }
            }
        }
        if is_dir_rule {
            self.dir_rules.add(include, pattern);
        }
        Ok(())
    }

    fn clear(&mut self) {
        self.file_rules.clear();
        self.dir_rules.clear();
    }
}

fn off_size(v: Option<u64>) -> Option<u64> {
    v.filter(|&v| v != SIZE_OFF)
}

fn off_age(v: Option<Duration>) -> Option<Duration> {
    v.filter(|&v| v != AGE_OFF)
}

impl Filter {
    /// Compile `opts`. `now` is the reference time for `--min-age` and
    /// `--max-age`.
    pub fn new(opts: &FilterOptions, now: SystemTime) -> Result<Filter, FilterError> {
        let min_age = off_age(opts.min_age);
        let max_age = off_age(opts.max_age);
        if let (Some(min), Some(max)) = (min_age, max_age) {
            if min > max {
                return Err(FilterError::EmptyAgeWindow {
                    min_age: min,
                    max_age: max,
                });
            }
        }
        let mod_time_to = min_age.and_then(|d| now.checked_sub(d));
        let exclude_all_by_age = min_age.is_some() && mod_time_to.is_none();
        let mod_time_from = max_age.and_then(|d| now.checked_sub(d));

        let mut b = Builder {
            file_rules: Rules::default(),
            dir_rules: Rules::default(),
            ignore_case: opts.ignore_case,
        };
        collect::add_all(
            &mut b,
            &collect::RuleFlags {
                include: &opts.include,
                include_from: &opts.include_from,
                exclude: &opts.exclude,
                exclude_from: &opts.exclude_from,
                filter: &opts.filter,
                filter_from: &opts.filter_from,
                names: [
                    "--include",
                    "--include-from",
                    "--exclude",
                    "--exclude-from",
                    "--filter",
                    "--filter-from",
                ],
            },
        )?;

        let az = Self::compile_azcopy(opts)?;
        let meta = meta::MetaRules::new(opts)?;

        let mut filter = Filter {
            file_rules: b.file_rules,
            dir_rules: b.dir_rules,
            files_from: None,
            mod_time_from,
            mod_time_to,
            exclude_all_by_age,
            min_size: off_size(opts.min_size),
            max_size: off_size(opts.max_size),
            exclude_if_present: opts.exclude_if_present.clone(),
            hash_filter: opts
                .hash_filter
                .as_deref()
                .map(hashfilter::HashFilter::parse)
                .transpose()?,
            delete_excluded: opts.delete_excluded,
            ignore_case: opts.ignore_case,
            az,
            meta,
        };

        let inactive = filter.is_empty();
        type ReadNames = fn(&'static str, &Path) -> Result<Vec<String>, FilterError>;
        for (flag, paths, read) in [
            ("--files-from", &opts.files_from, read_names as ReadNames),
            ("--files-from-raw", &opts.files_from_raw, read_raw_names),
            ("--files-from0", &opts.files_from0, read_nul_separated),
        ] {
            for path in paths {
                if !inactive {
                    return Err(FilterError::FilesFromMixed { flag });
                }
                let names = read(flag, path)?;
                let ff = filter.files_from.get_or_insert_with(FilesFrom::default);
                for name in names {
                    ff.add(&name);
                }
            }
        }
        Ok(filter)
    }

    fn compile_azcopy(opts: &FilterOptions) -> Result<AzFilters, FilterError> {
        let ic = opts.ignore_case;
        let names = |values: &[String], flag: &'static str| {
            split_list(values)
                .map(|p| {
                    NameMatcher::compile(p, ic).map_err(|reason| FilterError::BadPattern {
                        origin: Origin::Flag(flag),
                        pattern: p.to_string(),
                        reason,
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let regexes = |values: &[String], flag: &'static str| {
            split_list(values)
                .map(|p| {
                    azcopy::compile_regex(p).map_err(|reason| FilterError::BadRegex {
                        origin: Origin::Flag(flag),
                        pattern: p.to_string(),
                        reason,
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(AzFilters {
            include_pattern: names(&opts.include_pattern, "--include-pattern")?,
            exclude_pattern: names(&opts.exclude_pattern, "--exclude-pattern")?,
            exclude_path: split_list(&opts.exclude_path)
                .map(|p| p.trim_matches('/'))
                .filter(|p| !p.is_empty())
                .map(|p| if ic { p.to_lowercase() } else { p.to_string() })
                .collect(),
            include_regex: regexes(&opts.include_regex, "--include-regex")?,
            exclude_regex: regexes(&opts.exclude_regex, "--exclude-regex")?,
            ignore_case: ic,
        })
    }

    /// No filtering at all (rclone's `InActive`): every file and directory
    /// is included, so the engine can skip all calls.
    pub fn is_empty(&self) -> bool {
        self.files_from.is_none()
            && self.mod_time_from.is_none()
            && self.mod_time_to.is_none()
            && !self.exclude_all_by_age
            && self.min_size.is_none()
            && self.max_size.is_none()
            && self.file_rules.len() == 0
            && self.dir_rules.len() == 0
            && self.exclude_if_present.is_empty()
            && self.hash_filter.is_none()
            && self.az.is_empty()
            && self.meta.is_empty()
    }

    /// Whether files are also selected by their metadata (the `--metadata-*` filters).
    pub fn uses_metadata(&self) -> bool {
        !self.meta.is_empty()
    }

    /// Whether a file with these metadata `key=value` pairs passes the metadata filters
    /// (the other rules are checked by [`Filter::include_file`]).
    pub fn include_metadata<'a>(&self, pairs: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
        self.meta.include(pairs)
    }

    /// Whether the file at `path` (relative, `/`-separated) is included by
    /// the file rules, size, age, `--files-from` and the azcopy flags.
    /// Ancestor directories are *not* checked (see
    /// [`Filter::include_file_and_parents`]).
    pub fn include_file(&self, path: &str, size: u64, modtime: SystemTime) -> bool {
        if let Some(ff) = &self.files_from {
            return ff.files.contains(path);
        }
        if self.exclude_all_by_age {
            return false;
        }
        if let Some(from) = self.mod_time_from {
            if modtime < from {
                return false;
            }
        }
        if let Some(to) = self.mod_time_to {
            if modtime > to {
                return false;
            }
        }
        if self.min_size.is_some_and(|min| size < min) {
            return false;
        }
        if self.max_size.is_some_and(|max| size > max) {
            return false;
        }
        if self.hash_filter.is_some_and(|h| !h.includes(path)) {
            return false;
        }
        if !self.file_rules.include(path) {
            return false;
        }
        self.az.include_file(path)
    }

    /// Whether the directory at `path` should be listed; `false` means it
    /// (and everything below it) may be pruned. The root `""` is always
    /// included. `--exclude-if-present` is not checked here: it needs a
    /// look into the directory (see [`Filter::exclude_if_present`]).
    pub fn include_dir(&self, path: &str) -> bool {
        if path.is_empty() {
            return true;
        }
        if let Some(ff) = &self.files_from {
            return ff.dirs.contains(path);
        }
        if !self.az.include_dir(path) {
            return false;
        }
        if self.dir_rules.len() == 0 {
            return true;
        }
        let mut with_slash = String::with_capacity(path.len() + 1);
        with_slash.push_str(path);
        with_slash.push('/');
        self.dir_rules.include(&with_slash)
    }

    /// [`Filter::include_file`] and [`Filter::include_dir`] for every
    /// ancestor directory: what rclone's directory walk ends up including.
    /// Use this when entries arrive from a flat (recursive) listing.
    pub fn include_file_and_parents(&self, path: &str, size: u64, modtime: SystemTime) -> bool {
        if !self.include_file(path, size, modtime) {
            return false;
        }
        let mut end = 0;
        while let Some(i) = path[end..].find('/') {
            end += i;
            if !self.include_dir(&path[..end]) {
                return false;
            }
            end += 1;
        }
        true
    }

    /// Whether `--min-age`/`--max-age` judge files by their modification time.
    pub fn uses_age(&self) -> bool {
        self.mod_time_from.is_some() || self.mod_time_to.is_some() || self.exclude_all_by_age
    }

    /// The `--files-from`/`--files-from-raw` entries (leading and trailing
    /// `/` removed, duplicates and empty lines dropped, in file order), or
    /// `None` when neither flag was given.
    pub fn files_from(&self) -> Option<&[String]> {
        self.files_from.as_ref().map(|ff| ff.list.as_slice())
    }

    /// `--exclude-if-present` names: a directory holding a file with one of
    /// these names is excluded with everything below it (the engine checks
    /// this when it lists a directory; it takes precedence over all rules).
    pub fn exclude_if_present(&self) -> &[String] {
        &self.exclude_if_present
    }

    /// `--delete-excluded`.
    pub fn delete_excluded(&self) -> bool {
        self.delete_excluded
    }

    /// `--ignore-case` was given.
    pub fn ignore_case(&self) -> bool {
        self.ignore_case
    }

    /// Whether the engine must walk directory by directory (calling
    /// [`Filter::include_dir`] and checking [`Filter::exclude_if_present`])
    /// rather than use a flat recursive listing: true when some directory
    /// can be excluded. Mirrors rclone's `UsesDirectoryFilters` (directory
    /// rules other than a leading `+ /**`) plus its other reasons to walk:
    /// `--files-from`, `--exclude-if-present`; and azcopy's `--exclude-path`.
    pub fn uses_directory_filters(&self) -> bool {
        let rclone_dir_filters = match self.dir_rules.rules.first() {
            None => false,
            Some(r) => !(r.include && r.pattern.go_regex == "^.*$"),
        };
        rclone_dir_filters
            || self.files_from.is_some()
            || !self.exclude_if_present.is_empty()
            || !self.az.exclude_path.is_empty()
    }

    /// The compiled rules in rclone's `--dump filters` format.
    pub fn dump(&self) -> String {
        let mut out = Vec::new();
        if let Some(from) = self.mod_time_from {
            out.push(format!(
                "Last-modified date must be equal or greater than: {from:?}"
            ));
        }
        if let Some(to) = self.mod_time_to {
            out.push(format!(
                "Last-modified date must be equal or less than: {to:?}"
            ));
        }
        if let Some(min) = self.min_size {
            out.push(format!("Minimum size is: {min} B"));
        }
        if let Some(max) = self.max_size {
            out.push(format!("Maximum size is: {max} B"));
        }
        out.push("--- File filter rules ---".into());
        self.file_rules.dump(&mut out);
        out.push("--- Directory filter rules ---".into());
        self.dir_rules.dump(&mut out);
        if !self.meta.is_empty() {
            out.push("--- Metadata filter rules ---".into());
            self.meta.dump(&mut out);
        }
        out.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn filter_is_send_sync() {
        assert_send_sync::<Filter>();
    }

    #[test]
    fn files_from_parents() {
        let mut ff = FilesFrom::default();
        ff.add("/a/b/c.txt/");
        ff.add("a/b/d.txt");
        ff.add("");
        assert_eq!(ff.list, ["a/b/c.txt", "a/b/d.txt"]);
        assert!(ff.dirs.contains("a") && ff.dirs.contains("a/b"));
        assert_eq!(ff.dirs.len(), 2);
    }
}

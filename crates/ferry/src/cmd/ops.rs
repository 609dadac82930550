//! `size`, `cat`, `rcat`, `touch`, `deletefile`, `delete`, `purge`, `mkdir`,
//! `rmdir` and `rmdirs`.

use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;
use std::time::SystemTime;

use clap::Args;
use ferry_core::units::{byte_unit, size_suffix};
use ferry_core::{Backend, Entry, ErrorKind, PutOptions, RelPath};
use ferry_engine::{AllowAll, WalkOptions, Walker};
use tokio::io::AsyncReadExt;

use crate::args::{DeleteLimitArgs, FilterArgs};
use crate::cmd::delete_limits::DeleteLimits;
use crate::cmd::listing::{self, count_suffix};
use crate::cmd::ls::Out;
use crate::exit::{self, fail, USAGE};
use crate::Globals;

/// A core error as a "Failed to CMD: ..." exit.
fn failed(cmd: &str, e: ferry_core::Error) -> anyhow::Error {
    fail(
        exit::code_for_kind(e.kind(), e.is_temporary()),
        format!("Failed to {cmd}: {e}"),
    )
}

#[derive(Args, Debug)]
pub struct SizeArgs {
    /// Path to measure
    pub path: String,
    /// Format output as JSON
    #[arg(long)]
    pub json: bool,
    /// Accepted as rclone accepts its global flag; size always prints both forms
    #[arg(long, env = "FERRY_HUMAN_READABLE")]
    pub human_readable: bool,
    #[command(flatten)]
    pub filters: FilterArgs,
}

pub async fn size(a: &SizeArgs, g: &Globals) -> anyhow::Result<i32> {
    let l = listing::open(g, &a.path, &a.filters, true).await?;
    let (mut count, mut bytes, mut sizeless) = (0u64, 0u64, 0u64);
    let mut walker = l.flat_walker();
    while let Some((_, entries)) = walker
        .next_dir()
        .await
        .map_err(|e| listing::walk_error("size", e))?
    {
        for e in entries.iter().filter(|e| !e.is_dir()) {
            count += 1;
            if e.size_unknown {
                sizeless += 1;
            } else {
                bytes += e.size;
            }
        }
    }
    let code = listing::finish("size", walker.report(), 0)?;
    if sizeless > 0 {
        tracing::warn!(
            "{}: Size may be underestimated due to {sizeless} objects with unknown size",
            l.backend.describe()
        );
    }
    let mut out = Out::new();
    if a.json {
        out.line(&format!(
            "{{\"count\":{count},\"bytes\":{bytes},\"sizeless\":{sizeless}}}"
        ));
    } else {
        let suffixed = count_suffix(count);
        if suffixed == count.to_string() {
            out.line(&format!("Total objects: {count}"));
        } else {
            out.line(&format!("Total objects: {suffixed} ({count})"));
        }
        out.line(&format!("Total size: {} ({bytes} Byte)", byte_unit(bytes)));
        if sizeless > 0 {
            // rclone's words, the count twice as it prints it.
            out.line(&format!(
                "Total objects with unknown size: {} ({sizeless})",
                count_suffix(sizeless)
            ));
        }
    }
    Ok(code)
}

#[derive(Args, Debug)]
pub struct CatArgs {
    /// File, or directory whose files are concatenated
    pub path: String,
    /// Only print the first N characters
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub head: i64,
    /// Only print the last N characters
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub tail: i64,
    /// Start printing at offset N (or from end if -ve)
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub offset: i64,
    /// Only print N characters
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub count: i64,
    /// Discard the output instead of printing
    #[arg(long)]
    pub discard: bool,
    /// Separator to use between objects when printing multiple files
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    pub separator: String,
    #[command(flatten)]
    pub filters: FilterArgs,
}

pub async fn cat(a: &CatArgs, g: &Globals) -> anyhow::Result<i32> {
    let (mut offset, mut count) = (a.offset, a.count);
    // As rclone: a --head or --tail of 0 (or less) is no limit, and both at once are a
    // runtime error (exit 1), its message included.
    if a.head > 0 && a.tail > 0 {
        return Err(fail(
            exit::ERROR,
            "Can only use one of  --head, --tail or --offset with --count",
        ));
    }
    if a.head > 0 {
        (offset, count) = (0, a.head);
    } else if a.tail > 0 {
        (offset, count) = (-a.tail, -1);
    }
    let sep = a.separator.as_bytes().to_vec();
    let l = listing::open(g, &a.path, &a.filters, true).await?;
    let mut stdout = std::io::stdout().lock();
    let mut walker = l.walker();
    let mut errors = 0u64;
    let mut last = None;
    while let Some((_, entries)) = walker
        .next_dir()
        .await
        .map_err(|e| listing::walk_error("cat", e))?
    {
        for e in entries.iter().filter(|e| !e.is_dir()) {
            if e.size_unknown && offset < 0 {
                // Its end is found only by reading all of it (rclone prints the whole file
                // here instead of its end).
                match tail_of_unknown_size(&*l.backend, e, offset.unsigned_abs(), count).await {
                    Ok(tail) if !a.discard => write_or_quit(&mut stdout, &tail),
                    Ok(_) => {}
                    Err(err) => {
                        tracing::error!("{err}");
                        errors += 1;
                        last = Some(err);
                    }
                }
                if !a.discard && !sep.is_empty() {
                    write_or_quit(&mut stdout, &sep);
                }
                continue;
            }
            let size = e.size as i64;
            let start = if offset < 0 {
                (offset + size).max(0)
            } else {
                offset
            };
            let len = (count >= 0).then_some(count as u64);
            if start > size && !e.size_unknown {
                continue;
            }
            let mut reader = match l.backend.open(&e.path, start as u64, len).await {
                Ok(r) => r,
                Err(err) => {
                    tracing::error!("{}: Failed to open: {err}", e.path);
                    errors += 1;
                    last = Some(err);
                    continue;
                }
            };
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = match reader.read(&mut buf).await {
                    Ok(n) => n,
                    Err(err) => {
                        let err = ferry_core::Error::io("failed to read", err)
                            .with_path(e.path.to_string());
                        tracing::error!("{err}");
                        errors += 1;
                        last = Some(err);
                        break;
                    }
                };
                if n == 0 {
                    break;
                }
                if !a.discard {
                    write_or_quit(&mut stdout, &buf[..n]);
                }
            }
            if !a.discard && !sep.is_empty() {
                write_or_quit(&mut stdout, &sep);
            }
        }
    }
    let _ = stdout.flush();
    let mut report = walker.into_report();
    if last.is_some() {
        report.last_error = last;
    }
    listing::finish("cat", &report, errors)
}

fn write_or_quit(w: &mut impl Write, data: &[u8]) {
    if let Err(e) = w.write_all(data) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(exit::SUCCESS);
        }
    }
}

/// The directory and name of a one-file argument (see `Remotes::open_parent`).
pub fn open_file_arg(
    g: &Globals,
    cmd: &str,
    arg: &str,
) -> anyhow::Result<(Arc<dyn Backend>, RelPath)> {
    let Some((backend, name)) = g.remotes.open_parent(arg, false)? else {
        return Err(fail(
            USAGE,
            format!(
                "{cmd}: {} doesn't name a file; give a path ending in a file name, e.g. dir/file.txt",
                ferry_config::redact(arg, crate::kinds::registry())
            ),
        ));
    };
    let path = RelPath::new(&name).map_err(|e| fail(USAGE, e.to_string()))?;
    Ok((backend, path))
}

/// The last `n` bytes of a file of unknown size (at most `count` of them, when not
/// negative), read to its end keeping only those.
async fn tail_of_unknown_size(
    backend: &dyn ferry_core::Backend,
    e: &ferry_core::Entry,
    n: u64,
    count: i64,
) -> ferry_core::Result<Vec<u8>> {
    let mut reader = backend.open(&e.path, 0, None).await?;
    let mut tail = std::collections::VecDeque::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let got = reader.read(&mut buf).await.map_err(|err| {
            ferry_core::Error::io("failed to read", err).with_path(e.path.to_string())
        })?;
        if got == 0 {
            break;
        }
        tail.extend(&buf[..got]);
        let excess = tail.len().saturating_sub(n as usize);
        tail.drain(..excess);
    }
    let mut tail: Vec<u8> = tail.into();
    if count >= 0 {
        tail.truncate(count as usize);
    }
    Ok(tail)
}

#[derive(Args, Debug)]
pub struct RcatArgs {
    /// Destination file
    pub path: String,
    /// File size hint to preallocate (ignored; the data is measured)
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub size: i64,
    /// Do a trial run with no permanent changes
    #[arg(short = 'n', long)]
    pub dry_run: bool,
}

pub async fn rcat(a: &RcatArgs, g: &Globals) -> anyhow::Result<i32> {
    let (backend, path) = open_file_arg(g, "rcat", &a.path)?;
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Err(fail(USAGE, "rcat reads the data from standard input, which is a terminal: pipe something in, e.g. `echo hi | ferry rcat dst:file`"));
    }
    if a.dry_run {
        tracing::warn!("{path}: Skipped upload from pipe as --dry-run is set");
        return Ok(exit::SUCCESS);
    }
    let spooled = ferry_engine::spool(tokio::io::stdin(), &path)
        .await
        .map_err(|e| failed("rcat", e))?;
    let (size, data) = (spooled.len(), spooled.into_stream());
    let opts = PutOptions {
        size,
        mtime: SystemTime::now(),
        inplace: false,
        hashes: Default::default(),
        metadata: None,
    };
    backend
        .put(&path, data, &opts)
        .await
        .map_err(|e| failed("rcat", e))?;
    tracing::info!("{path}: Copied (new)");
    Ok(exit::SUCCESS)
}

#[derive(Args, Debug)]
pub struct TouchArgs {
    /// File to touch (created empty unless -C)
    pub path: String,
    /// Do not create the file if it does not exist
    #[arg(short = 'C', long)]
    pub no_create: bool,
    /// Use specified time instead of the current time of day (2006-01-02T15:04:05, 2006-01-02T15:04:05.999999999, 2006-01-02 or 060102)
    #[arg(short = 't', long, value_name = "TIME")]
    pub timestamp: Option<String>,
    /// Use localtime for timestamp, not UTC
    #[arg(long)]
    pub localtime: bool,
    /// Recursively touch all files (also --recursive)
    #[arg(short = 'R')]
    pub recurse: bool,
    /// Do a trial run with no permanent changes
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub filters: FilterArgs,
}

/// rclone's `touch -t` formats, in UTC unless `local`.
pub fn parse_touch_time(s: &str, local: bool) -> Result<SystemTime, String> {
    use chrono::{NaiveDate, NaiveDateTime, TimeZone};
    let naive = match s.len() {
        6 => NaiveDate::parse_from_str(s, "%y%m%d")
            .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default()),
        10 => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default()),
        19 => NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"),
        _ => NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f"),
    }
    .map_err(|e| {
        format!("can't parse time {s:?} ({e}): use 2006-01-02T15:04:05, 2006-01-02T15:04:05.999999999, 2006-01-02 or 060102")
    })?;
    let t = if local {
        chrono::Local
            .from_local_datetime(&naive)
            .single()
            .ok_or_else(|| format!("{s:?} is not a valid local time"))?
            .into()
    } else {
        chrono::Utc.from_utc_datetime(&naive).into()
    };
    Ok(t)
}

pub async fn touch(a: &TouchArgs, g: &Globals) -> anyhow::Result<i32> {
    let mtime = match &a.timestamp {
        Some(t) => parse_touch_time(t, a.localtime)
            // A run-time failure in rclone (exit 1), not a usage error.
            .map_err(|e| {
                fail(
                    exit::ERROR,
                    format!("Failed to touch: failed to parse timestamp argument: {e}"),
                )
            })?,
        None => SystemTime::now(),
    };
    if a.recurse || a.filters.recursive == Some(true) {
        let l = listing::open(g, &a.path, &a.filters, true).await?;
        let mut walker = l.walker();
        let mut errors = 0;
        while let Some((_, entries)) = walker
            .next_dir()
            .await
            .map_err(|e| listing::walk_error("touch", e))?
        {
            for e in entries.iter().filter(|e| !e.is_dir()) {
                if a.dry_run {
                    tracing::warn!("{}: Skipped touch as --dry-run is set", e.path);
                } else if let Err(err) = l.backend.set_modtime(&e.path, mtime).await {
                    tracing::error!("{err}");
                    errors += 1;
                }
            }
        }
        return listing::finish("touch", walker.report(), errors);
    }
    let (backend, path) = open_file_arg(g, "touch", &a.path)?;
    match backend.stat(&path).await.map_err(|e| failed("touch", e))? {
        Some(e) if e.is_dir() => Err(fail(
            exit::ERROR,
            format!(
                "Failed to touch: {} is a directory; use -R to touch the files in it",
                ferry_config::redact(&a.path, crate::kinds::registry())
            ),
        )),
        Some(_) if a.dry_run => {
            tracing::warn!("{path}: Skipped touch as --dry-run is set");
            Ok(exit::SUCCESS)
        }
        Some(_) => {
            backend
                .set_modtime(&path, mtime)
                .await
                .map_err(|e| failed("touch", e))?;
            Ok(exit::SUCCESS)
        }
        None if a.no_create => {
            tracing::warn!(
                "{}: Not touching nonexistent file due to --no-create",
                backend.describe()
            );
            Ok(exit::SUCCESS)
        }
        None if a.dry_run => {
            tracing::warn!("{path}: Skipped create as --dry-run is set");
            Ok(exit::SUCCESS)
        }
        None => {
            let opts = PutOptions {
                size: 0,
                mtime,
                inplace: false,
                hashes: Default::default(),
                metadata: None,
            };
            backend
                .put(&path, Box::pin(std::io::Cursor::new(Vec::new())), &opts)
                .await
                .map_err(|e| failed("touch", e))?;
            Ok(exit::SUCCESS)
        }
    }
}

#[derive(Args, Debug)]
pub struct DeletefileArgs {
    /// The file to delete
    pub path: String,
    /// Do a trial run with no permanent changes
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub limits: DeleteLimitArgs,
}

pub async fn deletefile(a: &DeletefileArgs, g: &Globals) -> anyhow::Result<i32> {
    let src = g.remotes.open_source(&a.path).await?;
    let Some(name) = src.file else {
        return Err(fail(
            exit::FILE_NOT_FOUND,
            format!(
                "Failed to deletefile: {} is a directory or doesn't exist: object not found",
                ferry_config::redact(&a.path, crate::kinds::registry())
            ),
        ));
    };
    let path = RelPath::new(&name).map_err(|e| fail(USAGE, e.to_string()))?;
    // The size only where something needs it (a request less otherwise).
    let size = if a.dry_run || a.limits.max_delete_size.is_some() {
        match src.backend.stat(&path).await {
            Ok(Some(e)) => e.size,
            _ => 0,
        }
    } else {
        0
    };
    let mut budget = DeleteLimits::new(&a.limits);
    budget.take(size);
    budget.check("deletefile")?;
    if a.dry_run {
        tracing::warn!(
            "{path}: Skipped delete as --dry-run is set (size {})",
            size_suffix(size)
        );
        return Ok(exit::SUCCESS);
    }
    src.backend
        .delete_file(&path)
        .await
        .map_err(|e| failed("deletefile", e))?;
    tracing::info!("{path}: Deleted");
    Ok(exit::SUCCESS)
}

/// Deletes one listed file with rclone's lines: NOTICE in a dry run (which deletes
/// nothing), INFO once deleted, ERROR when it can't be (the error returned, to count).
pub(crate) async fn delete_listed(
    backend: &dyn Backend,
    e: &Entry,
    dry_run: bool,
) -> Result<(), ferry_core::Error> {
    if dry_run {
        tracing::warn!(
            "{}: Skipped delete as --dry-run is set (size {})",
            e.path,
            size_suffix(e.size)
        );
        return Ok(());
    }
    match backend.delete_file(&e.path).await {
        Ok(()) => {
            tracing::info!("{}: Deleted", e.path);
            Ok(())
        }
        Err(err) => {
            tracing::error!("{}: Couldn't delete: {}", e.path, err.message());
            Err(err)
        }
    }
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// Path whose files are deleted (filters select which)
    pub path: String,
    /// Remove empty directories too (but not the root)
    #[arg(long)]
    pub rmdirs: bool,
    /// Do a trial run with no permanent changes
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub filters: FilterArgs,
    #[command(flatten)]
    pub limits: DeleteLimitArgs,
}

pub async fn delete(a: &DeleteArgs, g: &Globals) -> anyhow::Result<i32> {
    let l = listing::open(g, &a.path, &a.filters, true).await?;
    let mut walker = l.flat_walker();
    let mut errors = 0u64;
    let mut last = None;
    let mut dirs = Vec::new();
    let mut budget = DeleteLimits::new(&a.limits);
    'walk: while let Some((_, entries)) = walker
        .next_dir()
        .await
        .map_err(|e| listing::walk_error("delete", e))?
    {
        for e in entries {
            if e.is_dir() {
                dirs.push(e.path);
                continue;
            }
            if !budget.take(e.size) {
                break 'walk;
            }
            if let Err(err) = delete_listed(&*l.backend, &e, a.dry_run).await {
                errors += 1;
                last = Some(err);
            }
        }
    }
    budget.check("delete")?;
    if a.rmdirs && l.file.is_none() {
        errors += remove_empty_dirs(&*l.backend, dirs, true, a.dry_run).await;
    }
    let mut report = walker.into_report();
    if last.is_some() {
        report.last_error = last;
    }
    listing::finish("delete", &report, errors)
}

/// Removes the directories in `dirs` (and the root unless `leave_root`) that hold
/// no files, deepest first. Returns the number of failures. A dry run removes nothing
/// but counts a directory as empty once all it holds would have gone, as rclone does.
async fn remove_empty_dirs(
    backend: &dyn Backend,
    dirs: Vec<RelPath>,
    leave_root: bool,
    dry_run: bool,
) -> u64 {
    let mut dirs = dirs;
    // Deepest first; within a depth in name order, as rclone removes them.
    dirs.sort_by(|a, b| b.depth().cmp(&a.depth()).then_with(|| a.cmp(b)));
    if !leave_root {
        dirs.push(RelPath::root());
    }
    let mut errors = 0;
    let mut gone: HashSet<RelPath> = HashSet::new();
    for d in dirs {
        // Only directories that are empty now: listing again keeps files the
        // filters hid, and directories that failed to go, safe.
        match backend.list_dir(&d).await {
            Ok(list)
                if list.errors.is_empty()
                    && list
                        .entries
                        .iter()
                        .all(|e| e.is_dir() && gone.contains(&e.path)) => {}
            _ => continue,
        }
        let shown = dir_shown(backend, &d);
        if dry_run {
            tracing::warn!("{shown}: Skipped remove directory as --dry-run is set");
            gone.insert(d);
            continue;
        }
        match backend.rmdir(&d).await {
            Ok(()) => tracing::info!("{shown}: Removing directory"),
            Err(e) => {
                tracing::error!("Failed to rmdir: {e}");
                errors += 1;
            }
        }
    }
    errors
}

/// A directory as rclone's messages name it: its path, or for the root the remote.
fn dir_shown(backend: &dyn Backend, d: &RelPath) -> String {
    if d.is_root() {
        backend.describe()
    } else {
        d.to_string()
    }
}

#[derive(Args, Debug)]
pub struct PathArgs {
    /// The directory
    pub path: String,
    /// Do a trial run with no permanent changes
    #[arg(short = 'n', long)]
    pub dry_run: bool,
}

pub async fn mkdir(a: &PathArgs, g: &Globals) -> anyhow::Result<i32> {
    let backend = g.remotes.open_dir(&a.path)?;
    let shown = backend.describe();
    if a.dry_run {
        tracing::warn!("{shown}: Skipped make directory as --dry-run is set");
        return Ok(exit::SUCCESS);
    }
    tracing::info!("{shown}: Making directory");
    backend
        .mkdir(&RelPath::root())
        .await
        .map_err(|e| failed("mkdir", e))?;
    Ok(exit::SUCCESS)
}

pub async fn rmdir(a: &PathArgs, g: &Globals) -> anyhow::Result<i32> {
    let backend = g.remotes.open_dir(&a.path)?;
    let shown = backend.describe();
    if a.dry_run {
        tracing::warn!("{shown}: Skipped remove directory as --dry-run is set");
        return Ok(exit::SUCCESS);
    }
    tracing::info!("{shown}: Removing directory");
    backend.rmdir(&RelPath::root()).await.map_err(|e| {
        let msg = if e.kind() == ErrorKind::NotFound {
            format!(
                "Failed to rmdir: {}: directory not found",
                ferry_config::redact(&a.path, crate::kinds::registry())
            )
        } else {
            format!("Failed to rmdir: {e}")
        };
        fail(rmdir_code(&*backend, &e), msg)
    })?;
    Ok(exit::SUCCESS)
}

#[derive(Args, Debug)]
pub struct RmdirsArgs {
    /// The directory to clean up
    pub path: String,
    /// Do not remove root directory if empty
    #[arg(long)]
    pub leave_root: bool,
    /// Do a trial run with no permanent changes
    #[arg(short = 'n', long)]
    pub dry_run: bool,
}

/// Every entry below the root (no filters: housekeeping sees the whole tree).
async fn all_dirs(
    cmd: &str,
    backend: Arc<dyn Backend>,
    dry_run: bool,
) -> anyhow::Result<Vec<Entry>> {
    let mut walker = Walker::new(backend.clone(), Arc::new(AllowAll), WalkOptions::default());
    let mut all = Vec::new();
    loop {
        match walker.next_dir().await {
            Ok(Some((_, entries))) => all.extend(entries),
            Ok(None) => return Ok(all),
            Err(e) => return Err(walk_fail(cmd, &*backend, e, dry_run).await),
        }
    }
}

/// The exit code of a failed `rmdir`: "directory not found" (3) only where the backend
/// says so for a real directory, as rclone's SFTP does; a local directory's is a plain
/// error (1), and so is a bucket's (rclone passes the service's error on).
fn rmdir_code(backend: &dyn Backend, e: &ferry_core::Error) -> i32 {
    if e.kind() == ErrorKind::DirNotFound && !backend.features().semantics.bucket_dirs {
        exit::DIR_NOT_FOUND
    } else {
        exit::ERROR
    }
}

/// A whole-tree walk's failure. For a missing root rclone's last error, which sets the
/// exit code, is that of removing the root at the end — or, for a bucket's `purge`, the
/// listing's "directory not found".
async fn walk_fail(
    cmd: &str,
    backend: &dyn Backend,
    e: ferry_core::Error,
    dry_run: bool,
) -> anyhow::Error {
    let code = if e.kind() != ErrorKind::DirNotFound {
        exit::code_for_kind(e.kind(), e.is_temporary())
    } else if backend.features().semantics.bucket_dirs {
        if cmd == "purge" {
            exit::DIR_NOT_FOUND
        } else {
            exit::ERROR
        }
    } else if dry_run {
        exit::ERROR
    } else {
        match backend.rmdir(&RelPath::root()).await {
            Err(rm) => rmdir_code(backend, &rm),
            Ok(()) => exit::ERROR,
        }
    };
    fail(code, format!("Failed to {cmd}: {e}"))
}

pub async fn rmdirs(a: &RmdirsArgs, g: &Globals) -> anyhow::Result<i32> {
    let backend = g.remotes.open(&a.path)?;
    let all = all_dirs("rmdirs", backend.clone(), a.dry_run).await?;
    // A directory is removable when nothing but removable directories lie below it.
    let mut has_file: HashSet<RelPath> = HashSet::new();
    for e in all.iter().filter(|e| !e.is_dir()) {
        let mut p = e.path.parent();
        while let Some(dir) = p {
            if !has_file.insert(dir.clone()) {
                break;
            }
            p = dir.parent();
        }
    }
    let dirs: Vec<RelPath> = all
        .iter()
        .filter(|e| e.is_dir() && !has_file.contains(&e.path))
        .map(|e| e.path.clone())
        .collect();
    let errors = remove_empty_dirs(&*backend, dirs, a.leave_root, a.dry_run).await;
    if errors > 0 {
        return Err(fail(
            exit::ERROR,
            format!("Failed to rmdirs with {errors} errors"),
        ));
    }
    Ok(exit::SUCCESS)
}

#[derive(Args, Debug)]
pub struct PurgeArgs {
    /// The directory to remove with all its contents
    pub path: String,
    /// Do a trial run with no permanent changes
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub limits: DeleteLimitArgs,
}

pub async fn purge(a: &PurgeArgs, g: &Globals) -> anyhow::Result<i32> {
    let src = g.remotes.open_source(&a.path).await?;
    if src.file.is_some() {
        return Err(fail(
            exit::ERROR,
            format!(
                "Failed to purge: {} is a file not a directory; use deletefile",
                ferry_config::redact(&a.path, crate::kinds::registry())
            ),
        ));
    }
    let backend = src.backend;
    if a.dry_run && backend.features().semantics.bucket_dirs {
        // A store that removes a prefix at once (rclone's Purge) skips it whole.
        tracing::warn!(
            "{}: Skipped purge directory as --dry-run is set",
            backend.describe()
        );
        return Ok(exit::SUCCESS);
    }
    // Files are enumerated from one recursive listing where there is one and deleted as
    // they come; only the directories are kept (an object store's are few, or none).
    let mut walker = Walker::new(
        backend.clone(),
        Arc::new(AllowAll),
        WalkOptions {
            flat: true,
            ..WalkOptions::default()
        },
    );
    let mut errors = 0u64;
    let mut dirs = Vec::new();
    let mut budget = DeleteLimits::new(&a.limits);
    'walk: loop {
        let entries = match walker.next_dir().await {
            Ok(Some((_, entries))) => entries,
            Ok(None) => break,
            Err(e) => return Err(walk_fail("purge", &*backend, e, a.dry_run).await),
        };
        for e in entries {
            if e.is_dir() {
                dirs.push(e.path);
            } else if !budget.take(e.size) {
                break 'walk;
            } else if delete_listed(&*backend, &e, a.dry_run).await.is_err() {
                errors += 1;
            }
        }
    }
    // What is left stays, directories included.
    budget.check("purge")?;
    errors += remove_empty_dirs(&*backend, dirs, false, a.dry_run).await;
    if errors > 0 {
        return Err(fail(
            exit::ERROR,
            format!("Failed to purge with {errors} errors"),
        ));
    }
    Ok(exit::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touch_times() {
        let t = parse_touch_time("2020-01-02T03:04:05", false).unwrap();
        let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(secs, 1_577_934_245);
        assert!(parse_touch_time("200102", false).is_ok());
        assert!(parse_touch_time("2020-01-02", false).is_ok());
        assert!(parse_touch_time("2020-01-02T03:04:05.5", false).is_ok());
        assert!(parse_touch_time("20200102", false).is_err());
        assert!(parse_touch_time("bad", false).is_err());
    }
}

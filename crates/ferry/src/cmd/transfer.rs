//! `copy`, `sync` and `move`.

use std::sync::Arc;
use std::time::Duration;

use ferry_engine::{
    AltDests, AltKind, Backup, BwSchedule, CompareOptions, Confirm, CutoffMode, DeleteMode, Job,
    Mode, Observer, RenameStrategy, Stats, StopReason, SyncOptions, Verify,
};

use crate::args::{CutoffArg, FilterArgs, TransferArgs};
use crate::azcopy::AzcopyArgs;
use crate::bwlimit::{BwLimit, Direction};
use crate::exit::{self, fail, USAGE};
use crate::interactive::TerminalConfirm;
use crate::report::Summary;
use crate::{selection, Globals};
use ferry_core::units::{parse_duration, parse_size_flag};

fn usage<T>(flag: &str, value: &str, parsed: Result<T, String>) -> anyhow::Result<T> {
    parsed.map_err(|e| fail(USAGE, format!("invalid argument {value:?} for {flag}: {e}")))
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

fn opt_size(flag: &str, value: &Option<String>) -> anyhow::Result<Option<u64>> {
    match value {
        None => Ok(None),
        Some(v) => usage(flag, v, parse_size_flag(v)).map(|n| (n != u64::MAX).then_some(n)),
    }
}

/// `--bwlimit` (any of rclone's forms) as one rate for a run going `dir`, as in force now.
fn bwlimit(t: &TransferArgs, dir: Direction) -> anyhow::Result<Option<u64>> {
    match &t.bwlimit {
        None => Ok(None),
        Some(v) => Ok(usage("--bwlimit", v, BwLimit::parse(v))?
            .now()
            .for_direction(dir)),
    }
}

/// A `--bwlimit` timetable, followed through the run (the engine asks it each minute).
fn bwlimit_schedule(t: &TransferArgs, dir: Direction) -> anyhow::Result<Option<BwSchedule>> {
    let Some(v) = &t.bwlimit else {
        return Ok(None);
    };
    let table = usage("--bwlimit", v, BwLimit::parse(v))?;
    Ok(table
        .is_timetable()
        .then(|| BwSchedule(Arc::new(move || table.now().for_direction(dir)))))
}

/// Which way a run's bytes go, for `--bwlimit UP:DOWN`: up from a local source to a
/// remote, down from a remote to a local destination, both ways otherwise.
fn direction(g: &Globals, source: &str, dest: &str) -> anyhow::Result<Direction> {
    let local = |arg: &str| -> anyhow::Result<bool> {
        Ok(matches!(
            g.remotes.resolve(arg)?.kind.as_str(),
            "local" | "alias"
        ))
    };
    Ok(match (local(source)?, local(dest)?) {
        (true, false) => Direction::Upload,
        (false, true) => Direction::Download,
        _ => Direction::Both,
    })
}

fn opt_duration(flag: &str, value: &Option<String>) -> anyhow::Result<Option<Duration>> {
    match value {
        None => Ok(None),
        Some(v) => usage(flag, v, parse_duration(v)).map(|d| (!d.is_zero()).then_some(d)),
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

pub fn sync_options(t: &TransferArgs, delete_excluded: bool) -> anyhow::Result<SyncOptions> {
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
        max_delete: u64::try_from(t.max_delete).ok(),
        max_delete_size: t.max_delete_size,
        no_check_dest: t.no_check_dest,
        ignore_errors: t.ignore_errors,
        create_empty_src_dirs: t.create_empty_src_dirs,
        delete_empty_src_dirs: false,
        inplace: t.inplace,
        low_level_retries: t.low_level_retries,
        max_transfer: opt_size("--max-transfer", &t.max_transfer)?,
        cutoff_mode: match t.cutoff_mode {
            CutoffArg::Hard => CutoffMode::Hard,
            CutoffArg::Soft => CutoffMode::Soft,
            CutoffArg::Cautious => CutoffMode::Cautious,
        },
        max_duration: opt_duration("--max-duration", &t.max_duration)?,
        bwlimit: bwlimit(t, Direction::Both)?,
        bwlimit_schedule: bwlimit_schedule(t, Direction::Both)?,
        no_unicode_normalization: t.no_unicode_normalization,
        ignore_case_sync: t.ignore_case_sync,
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
        metadata: t.metadata,
        metadata_set: metadata_set(&t.metadata_set)?,
        no_update_dir_modtime: t.no_update_dir_modtime,
        track_renames: track_renames(t)?,
    })
}

pub struct TransferCall<'a> {
    pub mode: Mode,
    pub source: &'a str,
    pub dest: &'a str,
    pub t: &'a TransferArgs,
    pub f: &'a FilterArgs,
    pub az: &'a AzcopyArgs,
    pub delete_empty_src_dirs: bool,
}

pub async fn run(call: TransferCall<'_>, g: &Globals) -> anyhow::Result<i32> {
    let mut opts = {
        let (_, delete_excluded) = selection::build(call.f)?;
        let mut opts = sync_options(call.t, delete_excluded)?;
        if call.t.bwlimit.is_some() {
            let dir = direction(g, call.source, call.dest)?;
            opts.bwlimit = bwlimit(call.t, dir)?;
            opts.bwlimit_schedule = bwlimit_schedule(call.t, dir)?;
        }
        opts
    };
    let mode = call.az.apply(call.mode, &mut opts)?;
    let call = TransferCall { mode, ..call };
    let name = match call.mode {
        Mode::Copy => "copy",
        Mode::Sync => "sync",
        Mode::Move => "move",
    };
    let t = call.t;
    if t.no_check_dest && call.mode == Mode::Sync {
        // rclone's words and exit code.
        return Err(fail(
            exit::ERROR,
            "can't use --no-check-dest with sync: use copy instead",
        ));
    }
    let (select, _) = selection::build(call.f)?;
    opts.delete_empty_src_dirs = call.delete_empty_src_dirs;
    let retries_sleep = usage(
        "--retries-sleep",
        &t.retries_sleep,
        parse_duration(&t.retries_sleep),
    )?;
    if call.az.from_to.is_some() {
        let (s, d) = (
            g.remotes.resolve(call.source)?,
            g.remotes.resolve(call.dest)?,
        );
        call.az.check_from_to(&s.kind, &d.kind)?;
    }
    let src = g.remotes.open_source(call.source).await?;
    let dst = g.remotes.open(call.dest)?;
    let approve_deletes = call.az.approver(call.mode, t.dry_run)?;
    let (backup, confirm) = safety(t, g)?;
    let summary = Arc::new(Summary::default());
    let observer: Arc<dyn Observer> = if g.log.summary_file.is_some() {
        summary.clone()
    } else {
        Arc::new(())
    };
    let stats = Arc::new(Stats::default());
    let renames_dirs =
        !dst.features().bucket_dirs && src.backend.location().namespace == dst.location().namespace;
    let job = Job {
        src: src.backend,
        dst,
        mode: call.mode,
        opts,
        select,
        src_file: src.file,
        backup,
        alt_dests: alt_dests(t, g)?,
        confirm,
        observer,
        stats: stats.clone(),
        approve_deletes,
    };
    let display = g.start_display(&stats)?;
    let result = ferry_engine::run(job, t.retries, retries_sleep).await;
    display.finish();
    let outcome = match result {
        Ok(o) => o,
        // rclone moves a whole directory within one file system by renaming it, and that
        // rename's error (a plain one) sets the exit code; elsewhere it is the listing's.
        Err(e)
            if call.mode == Mode::Move
                && e.kind() == ferry_core::ErrorKind::DirNotFound
                && renames_dirs =>
        {
            return Err(fail(exit::ERROR, e.to_string()));
        }
        Err(e) => return Err(exit::from_core(e)),
    };
    let snap = stats.snapshot();
    if snap.transfers == 0 && snap.errors == 0 {
        tracing::info!("There was nothing to transfer");
    }
    g.final_stats(&snap, t.dry_run);
    let code = exit::code_for_outcome(&outcome, t.error_on_no_transfer);
    let last = outcome.last_error.as_ref().map(|e| e.2.clone());
    match (outcome.stop, code) {
        (Some(StopReason::MaxTransfer), _) => {
            tracing::error!("Failed to {name}: max transfer limit reached as set by --max-transfer")
        }
        (Some(StopReason::MaxDuration), _) => {
            tracing::error!(
                "Failed to {name}: max transfer duration reached as set by --max-duration"
            )
        }
        (Some(StopReason::MaxDelete), _) => {
            tracing::error!(
                "Failed to {name}: --max-delete threshold reached; not all deletes were done"
            )
        }
        (Some(StopReason::MaxDeleteSize), _) => {
            tracing::error!(
                "Failed to {name}: --max-delete-size threshold reached; not all deletes were done"
            )
        }
        (Some(StopReason::Quit), _) => {
            tracing::error!("Failed to {name}: stopped at the user's request")
        }
        (None, exit::NO_TRANSFER) => {
            tracing::error!("Failed to {name}: no files were transferred (--error-on-no-transfer)")
        }
        (None, c) if c != 0 => tracing::error!(
            "Failed to {name} with {} errors: last error was: {}",
            outcome.errors,
            last.as_deref().unwrap_or("unknown")
        ),
        _ => {}
    }
    if let Some(path) = &g.log.summary_file {
        summary.write(path, name, &snap, code, last.as_deref())?;
    }
    Ok(code)
}

/// What keeps a transfer from losing data: where replaced files go, and who is asked first.
pub type Safety = (Option<Backup>, Option<Arc<dyn Confirm>>);

/// `--backup-dir`/`--suffix` and `--interactive`, as every transferring command sets them up.
/// The `--compare-dest` or `--copy-dest` directories, opened.
pub fn alt_dests(t: &TransferArgs, g: &Globals) -> anyhow::Result<Option<AltDests>> {
    let (kind, dirs) = match (&t.compare_dest[..], &t.copy_dest[..]) {
        ([], []) => return Ok(None),
        (dirs, []) => (AltKind::Compare, dirs),
        (_, dirs) => (AltKind::Copy, dirs),
    };
    let dirs = dirs
        .iter()
        .map(|d| g.remotes.open(d))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Some(AltDests { kind, dirs }))
}

pub fn safety(t: &TransferArgs, g: &Globals) -> anyhow::Result<Safety> {
    let backup = match (&t.backup_dir, t.suffix.is_empty()) {
        (None, true) => None,
        (dir, _) => Some(Backup {
            dir: dir.as_deref().map(|d| g.remotes.open(d)).transpose()?,
            suffix: t.suffix.clone(),
            keep_extension: t.suffix_keep_extension,
        }),
    };
    let confirm: Option<Arc<dyn Confirm>> = if t.interactive && !t.dry_run {
        Some(Arc::new(TerminalConfirm::new()?))
    } else {
        None
    };
    Ok((backup, confirm))
}

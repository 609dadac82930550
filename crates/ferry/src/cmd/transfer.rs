//! `copy`, `sync` and `move`.

use std::sync::Arc;

use ferry_engine::{AltDests, AltKind, Backup, Confirm, Job, Mode, Observer, Stats, StopReason};

use crate::args::FilterArgs;
use crate::azcopy::AzcopyArgs;
use crate::bwlimit::Direction;
use crate::cli::{TransferCmd, WatchableCmd};
use crate::cmd::sync_reports::SyncReportArgs;
use crate::exit::{self, fail};
use crate::interactive::TerminalConfirm;
use crate::report::Summary;
use crate::settings;
use crate::shard::{self, Shard, ShardArgs};
use crate::{open, selection, Globals};

/// Which way a run's bytes go, for `--bwlimit UP:DOWN`: up from a local source to a
/// remote, down from a remote to a local destination, both ways otherwise.
fn direction(g: &Globals, source: &str, dest: &str) -> anyhow::Result<Direction> {
    let local = |arg: &str| g.remotes.is_on_this_machine(arg);
    Ok(match (local(source)?, local(dest)?) {
        (true, false) => Direction::Upload,
        (false, true) => Direction::Download,
        _ => Direction::Both,
    })
}

/// A transferring command: its paths and flags, with the transfer flags resolved.
pub struct TransferCall<'a> {
    pub mode: Mode,
    pub source: &'a str,
    pub dest: &'a str,
    pub settings: settings::Transfer,
    pub f: &'a FilterArgs,
    pub az: &'a AzcopyArgs,
    /// `--shard` and `--shard-summaries` (copy, sync, move); `None`: a command without them.
    pub shard: Option<&'a ShardArgs>,
    /// `--combined` and the other reports.
    pub reports: &'a SyncReportArgs,
    /// The command's name in its closing lines, when not its mode's (`convmv`).
    pub name: Option<&'static str>,
}

impl<'a> TransferCall<'a> {
    pub fn resolve(
        mode: Mode,
        c: &'a TransferCmd,
        delete_empty_src_dirs: bool,
    ) -> anyhow::Result<Self> {
        let settings = settings::Transfer::resolve(
            &c.transfer,
            c.filters.delete_excluded,
            delete_empty_src_dirs,
        )?;
        Ok(TransferCall {
            mode,
            source: &c.source,
            dest: &c.dest,
            settings,
            f: &c.filters,
            az: &c.azcopy,
            shard: None,
            reports: &c.reports,
            name: None,
        })
    }

    /// The same call, split or guarded as `--shard` and `--shard-summaries` ask.
    pub fn sharded(self, shard: &'a ShardArgs) -> Self {
        TransferCall {
            shard: Some(shard),
            ..self
        }
    }
}

/// A transfer checked and ready to run, once or (`--watch`) pass after pass.
pub struct Prepared<'a> {
    pub mode: Mode,
    /// The command's name, for its closing lines (`copy`, `sync`, `move`).
    pub name: &'static str,
    pub source: &'a str,
    pub dest: &'a str,
    pub settings: settings::Transfer,
    pub select: Arc<dyn ferry_engine::Select>,
    /// The command's selection before `--shard` narrowed it (re-split once the remotes
    /// are open: see `shard::split_for`).
    base_select: Arc<dyn ferry_engine::Select>,
    az: &'a AzcopyArgs,
    /// This run's shard, recorded in its `--summary-file`.
    shard: Option<Shard>,
    reports: &'a SyncReportArgs,
}

/// What a pass of a watched transfer adds to a plain run.
#[derive(Default)]
pub struct PassScope {
    /// The selection this pass uses instead of the command's (a watch pass restricted to
    /// the changed paths); `None`: the command's own.
    pub select: Option<Arc<dyn ferry_engine::Select>>,
    /// Set from outside to stop the pass cleanly.
    pub stop: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// A watch pass's number: its stats line is always shown (at NOTICE) and names the
    /// pass, one line or one JSON object; `None`: a plain run.
    pub watch_pass: Option<u64>,
}

impl<'a> Prepared<'a> {
    /// Resolves and checks what every pass shares; a usage error ends the command here.
    pub fn new(call: TransferCall<'a>, g: &Globals) -> anyhow::Result<Self> {
        let mut s = call.settings;
        let (select, _) = selection::build(call.f)?;
        if s.bwlimit.is_some() {
            s.limit_direction(direction(g, call.source, call.dest)?);
        }
        let mode = call.az.apply(call.mode, &mut s.sync)?;
        let name = call.name.unwrap_or(match mode {
            Mode::Copy => "copy",
            Mode::Sync => "sync",
            Mode::Move => "move",
        });
        if s.sync.no_check_dest && mode == Mode::Sync {
            // rclone's words and exit code.
            return Err(fail(
                exit::ERROR,
                "can't use --no-check-dest with sync: use copy instead",
            ));
        }
        let plan = match call.shard {
            Some(args) => shard::Plan::resolve(args, mode, call.f.delete_excluded)?,
            None => shard::Plan::default(),
        };
        // A shard sees only its files: a directory may look empty to it and not be.
        s.sync.keep_dirs |= plan.shard.is_some();
        let base_select = select.clone();
        let select = plan.select(select);
        if call.az.from_to.is_some() {
            let (from, to) = (
                g.remotes.resolve(call.source)?,
                g.remotes.resolve(call.dest)?,
            );
            call.az.check_from_to(&from.kind, &to.kind)?;
        }
        plan.require_shards()?;
        Ok(Prepared {
            mode,
            name,
            source: call.source,
            dest: call.dest,
            settings: s,
            select,
            base_select,
            az: call.az,
            shard: plan.shard,
            reports: call.reports,
        })
    }

    /// One run of the engine over the remotes as `remotes` opens them: stats, closing
    /// lines and `--summary-file` as a plain run has them.
    pub async fn pass(
        &self,
        g: &Globals,
        remotes: &open::Remotes,
        scope: PassScope,
    ) -> anyhow::Result<i32> {
        let (s, mode, name) = (&self.settings, self.mode, self.name);
        let mut src = remotes.open_source(self.source).await?;
        if let Some(rules) = &s.name_transform {
            src = transformed(src, rules, s.sync.in_place)?;
        }
        let dst = remotes.open_dir(self.dest)?;
        let approve_deletes = self.az.approver(mode, s.sync.dry_run)?;
        let (backup, confirm) = safety(s, remotes)?;
        let summary = Arc::new(Summary::default());
        let mut observer: Arc<dyn Observer> = if g.output.summary_file.is_some() {
            summary.clone()
        } else {
            Arc::new(())
        };
        let recorder = self.reports.recorder(observer.clone())?;
        if let Some(r) = &recorder {
            observer = r.clone();
        }
        let stats = Arc::new(Stats::default());
        let shown = |arg: &str| ferry_config::redact(arg, crate::kinds::registry()).text;
        stats.set_labels(shown(self.source), shown(self.dest));
        // A shard over an object store splits by subtree, so it lists only its own.
        let mut split = None;
        let restricted = scope.select.is_some();
        let select = match (scope.select, self.shard) {
            (Some(restricted), _) => restricted,
            (None, Some(k)) => {
                let (by, read) = shard::split_for(&*src.backend, src.file.is_some(), &*dst).await;
                src.backend = shard::remember(src.backend, read);
                tracing::debug!(
                    "--shard {}/{}: split by {}",
                    k.index,
                    k.count,
                    by.describe()
                );
                let narrowed = shard::narrow(self.base_select.clone(), k, by.clone());
                split = Some(by);
                narrowed
            }
            (None, None) => self.select.clone(),
        };
        // rclone tries its whole-directory rename only into a destination that doesn't
        // exist yet, and that rename's error is a plain one (exit 1); into one that
        // exists it lists the source, and a missing one is "directory not found" (3).
        let renames_tree = mode == Mode::Move
            && !dst.features().semantics.bucket_dirs
            && src.backend.location().namespace == dst.location().namespace
            && matches!(dst.stat(&ferry_core::RelPath::root()).await, Ok(None));
        let mut opts = s.sync.clone();
        opts.list_dst_only = recorder.is_some();
        opts.stop = scope.stop.clone();
        opts.check_first = g.output.check_first;
        if restricted {
            // A pass over some paths must not take everything else for excluded.
            opts.delete_excluded = false;
            // A directory renamed in a watched source arrives as its old and new names in
            // one such pass: moved at the destination (by hash, rclone's --track-renames)
            // rather than sent again and deleted, where the two sides share a hash.
            let common = src
                .backend
                .features()
                .semantics
                .hashes
                .intersect(dst.features().semantics.hashes);
            if mode == Mode::Sync && opts.track_renames.is_none() && common.preferred().is_some() {
                opts.track_renames = ferry_engine::RenameStrategy::parse("hash");
            }
        }
        let job = Job {
            src: src.backend,
            dst,
            mode,
            opts,
            select,
            src_file: src.file,
            backup,
            alt_dests: alt_dests(s, remotes)?,
            confirm,
            observer,
            stats: stats.clone(),
            approve_deletes,
        };
        let display = g.start_display(&stats, scope.watch_pass.is_none());
        let result = ferry_engine::run(job, s.retries, s.retries_sleep).await;
        display.finish();
        let outcome = match result {
            Ok(o) => o,
            // A move rclone makes as one rename: that rename's error (a plain one) sets
            // the exit code; elsewhere it is the listing's (see `renames_tree`).
            Err(e) if renames_tree && e.kind() == ferry_core::ErrorKind::DirNotFound => {
                return Err(fail(exit::ERROR, e.to_string()));
            }
            Err(e) => return Err(exit::from_core_in(name, e)),
        };
        let snap = stats.snapshot();
        let watching = scope.watch_pass.is_some();
        if snap.transfers == 0 && snap.errors == 0 && !watching {
            tracing::info!("There was nothing to transfer");
        }
        if let Some(n) = scope.watch_pass {
            g.pass_stats(n, &snap);
        } else {
            g.final_stats(&snap, s.sync.dry_run);
        }
        let code = exit::code_for_outcome(&outcome, s.error_on_no_transfer && !watching);
        let last = outcome.last_error.as_ref().map(|e| e.2.clone());
        closing_line(name, &outcome, code, last.as_deref());
        if let Some(r) = &recorder {
            r.write(self.reports, s.sync.dry_run)?;
        }
        if let Some(path) = &g.output.summary_file {
            let by = split
                .as_ref()
                .map_or_else(|| "path".into(), shard::By::describe);
            let shard = self.shard.map(|k| (k, by));
            summary.write(path, name, &snap, code, last.as_deref(), shard)?;
        }
        Ok(code)
    }
}

pub async fn run(call: TransferCall<'_>, g: &Globals) -> anyhow::Result<i32> {
    let prepared = Prepared::new(call, g)?;
    prepared.pass(g, &g.remotes, PassScope::default()).await
}

/// `copy` or `sync`, once or (`--watch`) following the source.
pub async fn run_watchable(mode: Mode, c: &WatchableCmd, g: &Globals) -> anyhow::Result<i32> {
    let call = TransferCall::resolve(mode, &c.inner, false)?.sharded(&c.shard);
    match settings::Watch::resolve(&c.watch)? {
        None => run(call, g).await,
        Some(watch) => crate::watch::run(Prepared::new(call, g)?, watch, g).await,
    }
}

/// The line that closes a run that did not do all it was asked: NOTICE, as rclone's
/// closing "Failed to X" (the errors themselves were logged as they happened).
fn closing_line(name: &str, outcome: &ferry_engine::Outcome, code: i32, last: Option<&str>) {
    let why = match (outcome.stop, code) {
        (Some(StopReason::MaxTransfer), _) => "max transfer limit reached as set by --max-transfer",
        (Some(StopReason::MaxDuration), _) => {
            "max transfer duration reached as set by --max-duration"
        }
        (Some(StopReason::MaxDelete), _) => {
            "--max-delete threshold reached; not all deletes were done"
        }
        (Some(StopReason::MaxDeleteSize), _) => {
            "--max-delete-size threshold reached; not all deletes were done"
        }
        (Some(StopReason::Quit), _) => "stopped at the user's request",
        (Some(StopReason::Stopped), _) => {
            tracing::warn!("{name}: stopped; transfers under way were finished");
            return;
        }
        (None, exit::NO_TRANSFER) => "no files were transferred (--error-on-no-transfer)",
        (None, c) if c != 0 => {
            let last = last.unwrap_or("unknown");
            tracing::warn!("{}", exit::failed_with(name, outcome.errors, last));
            return;
        }
        _ => return,
    };
    tracing::warn!("Failed to {name}: {why}");
}

/// What keeps a transfer from losing data: where replaced files go, and who is asked first.
pub type Safety = (Option<Backup>, Option<Arc<dyn Confirm>>);

/// The `--compare-dest` or `--copy-dest` directories, opened.
pub fn alt_dests(
    t: &settings::Transfer,
    remotes: &open::Remotes,
) -> anyhow::Result<Option<AltDests>> {
    let (kind, dirs) = match (&t.compare_dest[..], &t.copy_dest[..]) {
        ([], []) => return Ok(None),
        (dirs, []) => (AltKind::Compare, dirs),
        (_, dirs) => (AltKind::Copy, dirs),
    };
    let dirs = dirs
        .iter()
        .map(|d| remotes.open(d))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Some(AltDests { kind, dirs }))
}

/// `--backup-dir`/`--suffix` and `--interactive`, as every transferring command sets them up.
pub fn safety(t: &settings::Transfer, remotes: &open::Remotes) -> anyhow::Result<Safety> {
    let backup = match (&t.backup_dir, t.suffix.is_empty()) {
        (None, true) => None,
        (dir, _) => Some(Backup {
            dir: dir.as_deref().map(|d| remotes.open(d)).transpose()?,
            suffix: t.suffix.clone(),
            keep_extension: t.suffix_keep_extension,
        }),
    };
    let confirm: Option<Arc<dyn Confirm>> = if t.interactive && !t.sync.dry_run {
        Some(Arc::new(TerminalConfirm::new()?))
    } else {
        None
    };
    Ok((backup, confirm))
}

/// The source as `--name-transform` names it (a single named file under its new name);
/// `in_place`: the source is also the destination (`convmv`).
pub fn transformed(
    src: open::Source,
    rules: &Arc<ferry_transform::NameTransform>,
    in_place: bool,
) -> anyhow::Result<open::Source> {
    let file = match src.file {
        Some(name) => Some(
            rules
                .name(&name, false)
                .map_err(|e| fail(exit::ERROR, format!("{name}: Failed to transform: {e}")))?,
        ),
        None => None,
    };
    let view = ferry_transform::Transformed::new(src.backend, rules.clone(), in_place);
    Ok(open::Source {
        backend: Arc::new(view),
        file,
    })
}
